#!/usr/bin/env python3
"""HTTP load on the status server while wirefold ingests, side by side with no load.

    python3 bench/http_load.py [--sources 10000] [--seconds 20] [--connections 32]

Starts the feedfarm (10,000 sources whose feeds gain an item every 30 s) and wirefold
(every source at a 1-minute interval, so ingestion never stops), waits for the cold phase,
then measures in turn, each for --seconds:
  1. ingestion alone (articles stored per second, from /status counts);
  2. wrk on /healthz, 3. wrk on /status (the default document: health counts plus the
     failing sources), each while ingestion goes on, with the articles/s stored meanwhile.
Needs wrk (Debian package `wrk`). Prints a Markdown table and a JSON line.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingest  # noqa: E402  (shares the farm and process helpers)


def articles(http):
    st = json.load(urllib.request.urlopen(f"http://{http}/status?sources=none"))
    return st["counts"]["articles"], st["health"]["waiting"]


def ingest_rate(http, seconds, during=None):
    a0, _ = articles(http)
    t0 = time.monotonic()
    out = during() if during else time.sleep(seconds)
    dt = time.monotonic() - t0
    a1, _ = articles(http)
    return (a1 - a0) / dt, out


def wrk(url, seconds, connections):
    r = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    )
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.stdout).group(1))
    p99 = re.search(r"99%\s+(\S+)", r.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    return {"rps": rps, "p99": p99.group(1) if p99 else None,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=32)
    a = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    ingest.build()
    farm, addr = ingest.start_farm("--sources", a.sources, "--new-every", 30, "--items-min", 20,
                                   "--items-max", 20)
    work = tempfile.mkdtemp(prefix="wirefold-http-")
    try:
        cfg = os.path.join(work, "wirefold.toml")
        # A steady flow: every poll finds the item or two added since the last one (the
        # adaptive interval would otherwise stretch the polls of these regular feeds).
        ingest.write_config(cfg, os.path.join(work, "store"), addr, a.sources, interval="1m",
                            schedule_extra="adaptive = false")
        p = subprocess.Popen([os.path.join(ingest.BIN, "wirefold"), "run", "--config", cfg],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        http = ingest.wait_ready(p)
        ingest.drain(p)
        while articles(http)[1] > 0:  # cold phase: every source polled once
            time.sleep(2)
        base, _ = ingest_rate(http, a.seconds)
        hz_rate, hz = ingest_rate(http, a.seconds,
                                  lambda: wrk(f"http://{http}/healthz", a.seconds, a.connections))
        st_rate, st = ingest_rate(http, a.seconds,
                                  lambda: wrk(f"http://{http}/status", a.seconds, a.connections))
        p.send_signal(signal.SIGTERM)
        p.wait(30)
    finally:
        ingest.stop(farm)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nHTTP load with {a.sources} sources configured, ingestion running "
          f"(wrk -t2 -c{a.connections}, {a.seconds} s each)\n")
    print("| phase | requests/s | p99 latency | non-2xx | articles stored/s | ingestion vs alone |")
    print("|---|---|---|---|---|---|")
    print(f"| ingestion alone | – | – | – | {base:.0f} | 100 % |")
    for name, w, r in [("GET /healthz", hz, hz_rate), ("GET /status", st, st_rate)]:
        print(f"| {name} | {w['rps']:.0f} | {w['p99']} | {w['non_2xx']} | {r:.0f} | "
              f"{(r / base * 100 if base else float('nan')):.0f} % |")
    print(json.dumps({"bench": "http_load", "sources": a.sources, "ingest_alone": base,
                      "healthz": hz, "healthz_ingest": hz_rate, "status": st, "status_ingest": st_rate}))


if __name__ == "__main__":
    main()
