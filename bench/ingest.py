#!/usr/bin/env python3
"""Ingestion benchmarks: wirefold against the feedfarm, side by side with newsboat and sfeed.

    python3 bench/ingest.py cold    [--sources 1000] [--items 30] [--runs 3] [--no-newsboat] [--no-sfeed]
    python3 bench/ingest.py steady  [--sources 10000] [--minutes 20] [--interval 15m] [--no-adaptive]
                                    [--no-validators SHARE] [--wirefold BIN] [--cache-bytes N]
    python3 bench/ingest.py restart [--articles 1000000] [--runs 3] [--rebuild]
    python3 bench/ingest.py crash   [--articles 1000000]

Builds the release binaries first. Every number comes from this machine in this run:
wall time, CPU time (user+sys) and peak RSS of each child from wait4(2), store size from the
file system, scheduler lag from wirefold's /metrics. Prints a Markdown table and a JSON line.
`steady` measures for 20 minutes after the cold phase by default, so that the window holds
the second poll of most sources at the 15-minute interval (with `--no-adaptive`, ~85 % of
them: the daemon spreads the polls over the interval by each source's phase on the wall
clock; its adaptive interval polls the farm's hourly-publishing sources less often).
`crash` fills a store with the daemon, kills it (SIGKILL) and starts it again with a
NOTIFY_SOCKET bound by this script: it prints every service-manager datagram of the start
and of the stop that follows, with its time.
The peers are Debian's packages (`scripts/install-peers.sh` installs them as root): newsboat
(`newsboat -x reload`, 16 reload threads) and sfeed (`sfeed_update`, 16 jobs: curl fetches,
`sfeed` parses to TSV files, one set of processes per feed). Both read RSS and Atom, so the
cold run serves only those two formats to every program. sfeed is many short processes: its
peak memory is the largest sum of Pss over its process tree, sampled every 20 ms.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where `cargo build` puts the binaries: CARGO_TARGET_DIR when set, as cargo does.
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release")


def build():
    subprocess.run(["cargo", "build", "--release", "--locked", "--bins"], cwd=ROOT, check=True)


def start_farm(*args):
    p = subprocess.Popen(
        [os.path.join(BIN, "feedfarm"), "--listen", "127.0.0.1:0", *map(str, args)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = p.stdout.readline()
    m = re.search(r"listening on (\S+)", line)
    if not m:
        p.kill()
        sys.exit(f"feedfarm did not start: {line!r}")
    return p, m.group(1)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def tree_rss_mb(root):
    """Memory of `root` and all its descendants now, in MB: the sum of their proportional set
    sizes (Pss: a page shared by k of them counts 1/k to each), so that shared libraries and
    the shell's copy-on-write pages are not counted once per process."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, IndexError, ValueError):
            pass
    return total / 1024 / 1024


def run_measured(cmd, tree=False, **kw):
    """Runs cmd; returns (wall s, cpu s, peak RSS MB, stdout). With `tree`, the peak RSS is
    the largest sum over the child's process tree, sampled every 20 ms."""
    import threading

    # Output goes to files, not pipes: a full pipe would stall the child being measured.
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True, **kw)
        peak, done = [0.0], threading.Event()

        def sample():
            while not done.wait(0.02):
                peak[0] = max(peak[0], tree_rss_mb(p.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        if tree:
            sampler.start()
        # wait4 gives this child's own rusage (ru_maxrss in KB on Linux), its waited-for
        # descendants included in the CPU times.
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        done.set()
        if tree:
            sampler.join()
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{cmd[0]} failed ({code}): {err[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, max(ru.ru_maxrss / 1024.0, peak[0]), out


def du(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(d, f))
            except OSError:
                pass
    return total


def write_config(path, store, addr, n, interval="15m", extra="", schedule_extra="", store_extra=""):
    lines = [
        "[store]",
        f'path = "{store}"',
        store_extra,
        "[http]",
        'listen = "127.0.0.1:0"',
        "[fetch]",
        "concurrency = 32",
        "[schedule]",
        'min_interval = "1m"',
        'startup_spread = "60s"',
        schedule_extra,
        "[log]",
        'level = "warn,wirefold=info"',
        extra,
    ]
    for i in range(n):
        lines += ["[[sources]]", f'name = "s{i}"', f'url = "http://{addr}/feed/{i}"', f'interval = "{interval}"']
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def cold(a):
    # A peer that is missing is said, not silently left out of the table.
    for wanted, program in ((a.newsboat, "newsboat"), (a.sfeed, "sfeed_update")):
        if wanted and not shutil.which(program):
            print(
                f"{program} is not installed: its row is left out "
                "(scripts/install-peers.sh installs it as root)",
                file=sys.stderr,
            )
    farm, addr = start_farm(
        "--sources", a.sources, "--items-min", a.items, "--items-max", a.items,
        "--formats", "rss,atom", "--prerender",
    )
    work = tempfile.mkdtemp(prefix="wirefold-bench-")
    rows = {"wirefold": [], "newsboat": [], "sfeed": []}
    try:
        urls = urllib.request.urlopen(f"http://{addr}/urls").read().decode()
        with open(os.path.join(work, "urls"), "w") as f:
            f.write(urls)
        with open(os.path.join(work, "newsboat.conf"), "w") as f:
            f.write("reload-threads 16\n")
        sfeedrc = os.path.join(work, "sfeedrc")
        with open(sfeedrc, "w") as f:
            f.write(f'sfeedpath="{work}/sfeed"\nmaxjobs=16\nfeeds() {{\n')
            for i, u in enumerate(urls.split()):
                f.write(f'\tfeed "s{i}" "{u}"\n')
            f.write("}\n")
        cfg = os.path.join(work, "wirefold.toml")
        for run in range(a.runs):
            store = os.path.join(work, f"store{run}")
            write_config(cfg, store, addr, a.sources)
            wall, cpu, rss, out = run_measured([os.path.join(BIN, "wirefold"), "once", "--config", cfg])
            stored = sum(int(m) for m in re.findall(r" new=(\d+)", out)) + sum(
                int(m) for m in re.findall(r" copies=(\d+)", out))
            rows["wirefold"].append(dict(wall=wall, cpu=cpu, rss=rss, items=stored, store=du(store)))
            shutil.rmtree(store, ignore_errors=True)
            if a.newsboat and shutil.which("newsboat"):
                cache = os.path.join(work, f"cache{run}.db")
                wall, cpu, rss, _ = run_measured([
                    "newsboat", "-x", "reload", "-u", os.path.join(work, "urls"),
                    "-c", cache, "-C", os.path.join(work, "newsboat.conf"),
                ], env={**os.environ, "HOME": work})
                import sqlite3
                n = sqlite3.connect(cache).execute("select count(*) from rss_item").fetchone()[0]
                rows["newsboat"].append(dict(wall=wall, cpu=cpu, rss=rss, items=n, store=os.path.getsize(cache)))
                os.remove(cache)
            if a.sfeed and shutil.which("sfeed_update"):
                out_dir = os.path.join(work, "sfeed")
                wall, cpu, rss, _ = run_measured(["sfeed_update", sfeedrc], tree=True)
                n = 0
                for name in os.listdir(out_dir):
                    with open(os.path.join(out_dir, name), "rb") as f:
                        n += sum(1 for _ in f)
                rows["sfeed"].append(dict(wall=wall, cpu=cpu, rss=rss, items=n, store=du(out_dir)))
                shutil.rmtree(out_dir, ignore_errors=True)
        farm_stats = json.load(urllib.request.urlopen(f"http://{addr}/stats"))
    finally:
        stop(farm)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\ncold ingest: {a.sources} feeds x {a.items} items (RSS + Atom), {a.runs} runs, medians\n")
    print("| program | wall s | CPU s | peak RSS MB | items stored | items/s | store MB |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for name, rs in rows.items():
        if not rs:
            continue
        s = {k: med([r[k] for r in rs]) for k in rs[0]}
        s["items_per_s"] = s["items"] / s["wall"]
        summary[name] = s
        print(f"| {name} | {s['wall']:.2f} | {s['cpu']:.2f} | {s['rss']:.0f} | {s['items']:.0f} | "
              f"{s['items_per_s']:.0f} | {s['store'] / 1e6:.1f} |")
    for peer in ("newsboat", "sfeed"):
        if peer in summary:
            w, n = summary["wirefold"], summary[peer]
            print(f"\nwirefold is {n['wall'] / w['wall']:.1f}x faster than {peer} (wall), "
                  f"peak RSS {w['rss']:.0f} MB vs {n['rss']:.0f} MB")
    print(f"farm served {farm_stats['requests']} requests, {farm_stats['bytes'] / 1e6:.0f} MB")
    print(json.dumps({"bench": "cold", "sources": a.sources, "items": a.items, "runs": rows}))


def proc_sample(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024.0
    return cpu, rss


def io_counters(pid):
    """The process's I/O counters (/proc/PID/io): `wchar` is what it handed to write() and
    pwrite(); `write_bytes` is the kernel's accounting of what it caused to reach storage,
    which for sled's small synced writes counts many times over what reaches the device
    (BENCHMARKS.md, issue 8, "Session 32")."""
    counters = {}
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            key, _, value = line.partition(":")
            counters[key] = int(value)
    return counters


def device_written(path):
    """Bytes written so far to the block device that holds `path` (every process's writes,
    journal included): /sys/dev/block/MAJOR:MINOR/stat, sectors of 512 bytes."""
    dev = os.stat(path).st_dev
    try:
        with open(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}/stat") as f:
            return int(f.read().split()[6]) * 512
    except (OSError, IndexError, ValueError):
        return 0


def wait_ready(p, timeout=60):
    """Reads the daemon's stderr until it logs its address; returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        m = re.search(r"wirefold ready addr=(\S+)", line)
        if m:
            return m.group(1)
    p.kill()
    sys.exit("wirefold did not become ready")


def drain(p):
    """Keeps reading a child's stderr in the background so it never blocks on a full pipe."""
    import threading

    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()


def histogram_quantiles(metrics_text, name, qs):
    buckets = []
    for m in re.finditer(rf'^{name}_bucket{{le="([^"]+)"}} (\S+)$', metrics_text, re.M):
        le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
        buckets.append((le, float(m.group(2))))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return {q: None for q in qs}
    total = buckets[-1][1]
    out = {}
    for q in qs:
        for le, c in buckets:
            if c >= q * total:
                out[q] = le
                break
    return out


def get_json(url, tries=5):
    """GET a JSON document; an HTTP error is printed with its body (the daemon's JSON error
    names the cause) and retried, so one failed answer is recorded, not fatal."""
    for attempt in range(tries):
        try:
            return json.load(urllib.request.urlopen(url))
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors="replace")
            print(f"GET {url}: HTTP {e.code}: {body}", file=sys.stderr)
            if attempt + 1 == tries:
                raise
            time.sleep(2)


def steady(a):
    farm, addr = start_farm("--sources", a.sources, "--new-every", 3600,
                            "--no-validators", a.no_validators)
    work = tempfile.mkdtemp(prefix="wirefold-steady-")
    p = None
    try:
        cfg = os.path.join(work, "wirefold.toml")
        store_extra = f"cache_bytes = {a.cache_bytes}" if a.cache_bytes else ""
        write_config(cfg, os.path.join(work, "store"), addr, a.sources, interval=a.interval,
                     store_extra=store_extra,
                     schedule_extra="" if a.adaptive else "adaptive = false")
        p = subprocess.Popen([a.wirefold, "run", "--config", cfg],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        http = wait_ready(p)
        drain(p)
        # Cold phase: every source's first poll (spread over startup_spread).
        t0 = time.monotonic()
        while True:
            st = get_json(f"http://{http}/status?sources=none")
            h = st["health"]
            if h["waiting"] == 0:
                break
            time.sleep(2)
        cold_s = time.monotonic() - t0
        articles = st["counts"]["articles"]
        print(f"cold phase: {a.sources} sources, {articles} articles in {cold_s:.0f} s")
        # Steady phase.
        samples = []
        cpu0, _ = proc_sample(p.pid)
        io0, device0 = io_counters(p.pid), device_written(work)
        t_start = time.monotonic()
        while time.monotonic() - t_start < a.minutes * 60:
            time.sleep(10)
            cpu, rss = proc_sample(p.pid)
            samples.append((time.monotonic() - t_start, cpu - cpu0, rss))
        elapsed = samples[-1][0]
        cpu_share = samples[-1][1] / elapsed * 100
        io1, device1 = io_counters(p.pid), device_written(work)
        wchar_mb = (io1["wchar"] - io0["wchar"]) / 1e6
        write_bytes_mb = (io1["write_bytes"] - io0["write_bytes"]) / 1e6
        device_mb = (device1 - device0) / 1e6
        metrics = urllib.request.urlopen(f"http://{http}/metrics").read().decode()
        lag = histogram_quantiles(metrics, "wirefold_scheduler_lag_seconds", [0.5, 0.99])
        # a started poll's wait for its fetch slots (None from a wirefold without the metric)
        queue = histogram_quantiles(metrics, "wirefold_poll_queue_seconds", [0.5, 0.99])
        polls = sum(float(v) for v in re.findall(r'^wirefold_polls_total{[^}]*} (\S+)$', metrics, re.M))
        unchanged = sum(float(v) for v in
                        re.findall(r'^wirefold_unchanged_bodies_total (\S+)$', metrics, re.M))
        farm_stats = json.load(urllib.request.urlopen(f"http://{addr}/stats"))
        p.send_signal(signal.SIGTERM)
        p.wait(30)
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        stop(farm)
        shutil.rmtree(work, ignore_errors=True)
    rss = [s[2] for s in samples]
    print(f"\nsteady state: {a.sources} sources at {a.interval}"
          f"{'' if a.adaptive else ' (not adaptive)'}, {elapsed / 60:.1f} min measured after the cold phase\n")
    print("| CPU % of one core | RSS MB min / median / max | scheduler lag p50 / p99 (s, bucket bound) | wait for a fetch slot p50 / p99 | polls | farm 304s | bodies not folded again | MB handed to write() | MB written by the device (all processes) |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {cpu_share:.2f} | {min(rss):.0f} / {med(rss):.0f} / {max(rss):.0f} | {lag[0.5]} / {lag[0.99]} | "
          f"{queue[0.5]} / {queue[0.99]} | "
          f"{polls:.0f} | {farm_stats['not_modified']} | {unchanged:.0f} | {wchar_mb:.0f} | {device_mb:.0f} |")
    print(json.dumps({"bench": "steady", "sources": a.sources, "no_validators": a.no_validators,
                      "unchanged_bodies": unchanged, "cpu_pct": cpu_share, "rss": rss,
                      "lag": lag, "queue": queue, "cold_s": cold_s, "articles": articles,
                      "wchar_mb": wchar_mb, "device_mb": device_mb,
                      "write_bytes_mb": write_bytes_mb}))


def start_store_farm(articles):
    """A farm of 50-item feeds without wire copies, enough of them for `articles`; returns
    it, its address and the number of sources."""
    per_feed = 50
    sources = max(1, articles // per_feed)
    farm, addr = start_farm("--sources", sources, "--items-min", per_feed, "--items-max", per_feed,
                            "--wire-share", "0")
    return farm, addr, sources


def restart(a):
    farm, addr, sources = start_store_farm(a.articles)
    work = tempfile.mkdtemp(prefix="wirefold-restart-")
    try:
        cfg = os.path.join(work, "wirefold.toml")
        store = os.path.join(work, "store")
        write_config(cfg, store, addr, sources)
        t0 = time.monotonic()
        wall, cpu, rss, out = run_measured([os.path.join(BIN, "wirefold"), "once", "--config", cfg])
        n = sum(int(m) for m in re.findall(r" new=(\d+)", out))
        print(f"filled a store with {n} articles in {wall:.0f} s ({du(store) / 1e9:.2f} GB)")
        results = []
        binaries = [a.wirefold] + ([a.also] if a.also else [])
        for rebuild in [False] + ([True] if a.rebuild else []):
            for b in binaries:
                results.append({"bin": b, "rebuild": rebuild, "ready": [], "stop": [], "load": []})
            for _ in range(a.runs):
                # With --also the two binaries alternate on the same store.
                for r in results[-len(binaries):]:
                    if rebuild:
                        # Without the index snapshot the daemon rebuilds the index from the store.
                        try:
                            os.remove(os.path.join(store, "index.snapshot"))
                        except FileNotFoundError:
                            pass
                    r["load"].append(os.getloadavg()[0])
                    t0 = time.monotonic()
                    p = subprocess.Popen([r["bin"], "run", "--config", cfg],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                    http = wait_ready(p, timeout=300)
                    drain(p)
                    while True:
                        try:
                            if urllib.request.urlopen(f"http://{http}/readyz").status == 200:
                                break
                        except OSError:
                            pass
                        time.sleep(0.01)
                    r["ready"].append(time.monotonic() - t0)
                    # Nothing new on the farm: the stop is the flush (and, before the
                    # snapshot was saved only when changed, a whole snapshot write).
                    t0 = time.monotonic()
                    p.send_signal(signal.SIGTERM)
                    p.wait(60)
                    r["stop"].append(time.monotonic() - t0)
    finally:
        stop(farm)
        shutil.rmtree(work, ignore_errors=True)
    for r in results:
        how = "rebuilding the index from the store" if r["rebuild"] else "from the index snapshot"
        fmt = lambda xs: ", ".join(f"{t:.2f}" for t in xs)
        print(f"\n{r['bin']}: restart with {n} stored articles, {how}: ready in "
              f"{med(r['ready']):.2f} s (median of {len(r['ready'])}: {fmt(r['ready'])}), "
              f"stopped in {med(r['stop']):.2f} s ({fmt(r['stop'])}); load average "
              f"{', '.join(f'{l:.1f}' for l in r['load'])}")
        print(json.dumps({"bench": "restart", "wirefold": r["bin"], "articles": n,
                          "rebuild": r["rebuild"], "ready_s": r["ready"], "stop_s": r["stop"],
                          "load": r["load"]}))


def crash(a):
    import socket

    farm, addr, sources = start_store_farm(a.articles)
    work = tempfile.mkdtemp(prefix="wirefold-crash-")
    daemon = [os.path.join(BIN, "wirefold"), "run", "--config", os.path.join(work, "wirefold.toml")]
    try:
        store = os.path.join(work, "store")
        write_config(daemon[-1], store, addr, sources)
        t0 = time.monotonic()
        p = subprocess.Popen(daemon, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        http = wait_ready(p)
        snapshots = []  # the daemon's "index snapshot saved" lines
        import threading
        threading.Thread(target=lambda: snapshots.extend(
            line.strip() for line in p.stderr if "index snapshot saved" in line), daemon=True).start()
        while True:
            n = get_json(f"http://{http}/status?sources=none")["counts"]["articles"]
            if n >= 0.97 * a.articles or time.monotonic() - t0 > a.fill_timeout:
                break
            time.sleep(2)
        time.sleep(3)  # past the next flush (store.flush_every)
        p.kill()
        p.wait()
        print(f"killed the daemon (SIGKILL) at {n} articles after {time.monotonic() - t0:.0f} s; "
              f"store {du(store) / 1e9:.2f} GB; its last snapshot: {snapshots[-1:] or 'none'}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(os.path.join(work, "notify.sock"))
        sock.settimeout(600)
        env = dict(os.environ, NOTIFY_SOCKET=os.path.join(work, "notify.sock"))
        t0 = time.monotonic()
        log = open(os.path.join(work, "start.log"), "w+")
        p = subprocess.Popen(daemon, stdout=subprocess.DEVNULL, stderr=log, env=env)
        print("| s after exec | datagram |\n|---|---|")
        while True:
            m = sock.recv(4096).decode()
            print(f"| {time.monotonic() - t0:.2f} | `{m!r}` |")
            if "READY=1" in m:
                break
        p.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        sock.settimeout(1)
        while p.poll() is None:
            try:
                m = sock.recv(4096).decode()
                print(f"| stop + {time.monotonic() - t0:.2f} | `{m!r}` |")
            except socket.timeout:
                pass
        print(f"stopped in {time.monotonic() - t0:.2f} s, exit status {p.returncode}")
        log.seek(0)
        for line in log:
            if re.search(r"index snapshot|index ready|store open", line):
                print(line.strip())
    finally:
        stop(farm)
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cold")
    c.add_argument("--sources", type=int, default=1000)
    c.add_argument("--items", type=int, default=30)
    c.add_argument("--runs", type=int, default=3)
    c.add_argument("--no-newsboat", dest="newsboat", action="store_false")
    c.add_argument("--no-sfeed", dest="sfeed", action="store_false")
    s = sub.add_parser("steady")
    s.add_argument("--sources", type=int, default=10000)
    # Measured after the cold phase. The first re-polls come one interval after the first
    # polls (later with the adaptive interval): a window shorter than the interval measures
    # an idle daemon, not a steady state of 304s.
    s.add_argument("--minutes", type=float, default=20)
    s.add_argument("--interval", default="15m", help="every source's polling interval")
    s.add_argument("--no-adaptive", dest="adaptive", action="store_false",
                   help="poll at the interval, not at the feed's own publishing rate")
    s.add_argument("--no-validators", type=float, default=0.0,
                   help="share of the farm's sources that send no ETag/Last-Modified (0 to 1)")
    s.add_argument("--wirefold", default=os.path.join(BIN, "wirefold"),
                   help="the daemon binary (default: the release build)")
    s.add_argument("--cache-bytes", type=int, default=0,
                   help="store.cache_bytes for the daemon (default: the daemon's own default)")
    r = sub.add_parser("restart")
    r.add_argument("--articles", type=int, default=1_000_000)
    r.add_argument("--runs", type=int, default=3)
    r.add_argument("--wirefold", default=os.path.join(BIN, "wirefold"),
                   help="the binary to restart (the store is filled by the one built here)")
    r.add_argument("--also", default=None,
                   help="a second binary whose starts alternate with the first's on the same store")
    r.add_argument("--rebuild", action="store_true",
                   help="then also time starts without the index snapshot (the fallback)")
    k = sub.add_parser("crash")
    k.add_argument("--articles", type=int, default=1_000_000)
    k.add_argument("--fill-timeout", type=float, default=600,
                   help="kill the daemon after this many seconds even if the store is not full")
    a = ap.parse_args()
    build()
    {"cold": cold, "steady": steady, "restart": restart, "crash": crash}[a.cmd](a)


if __name__ == "__main__":
    main()
