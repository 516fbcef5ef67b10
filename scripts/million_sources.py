#!/usr/bin/env python3
"""Startup time and memory of the daemon with a very large config (default 1,000,000 sources).

    cargo build --release
    python3 scripts/million_sources.py [--sources 1000000] [--bin target/release/wirefold]

Writes the config to a temp directory (sources point at 127.0.0.1:9, nothing listens there;
`startup_spread` is long so that only a trickle of polls starts), then measures:
`check-config` (wall time, peak RSS via /usr/bin/time when present), and `run` up to
"wirefold ready" (wall time, VmHWM), plus /status?sources=none latency and SIGTERM exit.
Only 127.0.0.1 is used.
"""

import argparse
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request


def hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=int, default=1_000_000)
    ap.add_argument("--bin", default="target/release/wirefold")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="wirefold-million-")
    cfg = os.path.join(work, "wirefold.toml")
    with open(cfg, "w") as f:
        f.write('[store]\npath = "%s/store"\n[http]\nlisten = "127.0.0.1:0"\n'
                '[schedule]\nstartup_spread = "6h"\nmax_interval = "6h"\n'
                '[log]\nlevel = "warn"\n' % work)
        for i in range(a.sources):
            f.write('[[sources]]\nname = "s%d"\nurl = "http://127.0.0.1:9/f/%d.xml"\n' % (i, i))
    size = os.path.getsize(cfg)
    print("config: %d sources, %.1f MB" % (a.sources, size / 1e6))

    t = time.time()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", a.bin, "check-config", "--config", cfg],
                       capture_output=True, text=True)
    peak = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "?"
    print("check-config: exit %d, %.1f s, peak RSS %s KiB" % (r.returncode, time.time() - t, peak))

    t = time.time()
    d = subprocess.Popen([a.bin, "run", "--config", cfg], stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, RUST_LOG="info"))
    addr = None
    for line in d.stderr:
        m = re.search(r"addr=(\S+)", line)
        if "wirefold ready" in line and m:
            addr = m.group(1)
            break
    ready = time.time() - t
    threading.Thread(target=lambda: [None for _ in d.stderr], daemon=True).start()
    print("run: ready in %.1f s, VmHWM %d KiB" % (ready, hwm(d.pid)))
    t = time.time()
    with urllib.request.urlopen("http://%s/status?sources=none" % addr, timeout=120) as resp:
        resp.read()
    print("/status?sources=none: %.2f s (first, uncached)" % (time.time() - t))
    time.sleep(10)
    print("run: VmHWM after 10 s more %d KiB" % hwm(d.pid))
    t = time.time()
    d.send_signal(signal.SIGTERM)
    d.wait(120)
    print("SIGTERM: exit %s in %.1f s" % (d.returncode, time.time() - t))


if __name__ == "__main__":
    main()
