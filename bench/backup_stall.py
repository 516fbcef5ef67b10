#!/usr/bin/env python3
"""How the daemon answers while an online backup has its store closed.

    python3 bench/backup_stall.py [--articles 1000000] [--live 2000] [--runs 3] \\
        [--wirefold BIN] [--also OTHER_BIN]

Fills a store with --articles articles (feedfarm feeds of 50 items, `wirefold once`), then
runs the daemon on it with --live of those sources polled every minute, so that polls finish
throughout (mostly 304s: each one reads and writes its source's state). Once every live
source was polled, each run probes GET /healthz every 10 ms on one connection for 5 s,
POSTs /store/backup, keeps probing until the backup answered, and reports the slowest
/healthz answer before and during the backup and how long the store was closed. With
--also, a second binary is run on the same store after the first, side by side.

    python3 bench/backup_stall.py --rss 20 --articles 100000 [--also OTHER_BIN]

measures resident memory instead: each daemon runs on the filled store with no sources,
waits 70 s (past the start's read-through and the first minute's heap trim), then takes
20 backups (POST /store/backup) 3 s apart and reads VmRSS 1 s after each.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingest  # noqa: E402  (shares the farm and process helpers)


class Prober:
    """GET /healthz every 10 ms on one kept-alive connection; (start, latency) per answer."""

    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.samples = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            self.conn.request("GET", "/healthz")
            r = self.conn.getresponse()
            r.read()
            self.samples.append((t0, time.monotonic() - t0, r.status))
            time.sleep(0.01)

    def finish(self):
        self.stop.set()
        self.thread.join()
        self.conn.close()

    def slowest(self, t0, t1):
        inside = [s for s in self.samples if t0 <= s[0] < t1]
        return max((s[1] for s in inside), default=float("nan")), len(inside)


def post(http, path):
    req = urllib.request.Request(f"http://{http}{path}", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


def measure(binary, cfg, live, runs):
    p = subprocess.Popen([binary, "run", "--config", cfg],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    http = ingest.wait_ready(p, timeout=300)
    ingest.drain(p)
    # Every live source polled once (the first polls are spread over 60 s), then steady.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        st = json.load(urllib.request.urlopen(f"http://{http}/status?sources=none"))
        if st["health"]["waiting"] == 0:
            break
        time.sleep(1)
    time.sleep(5)
    out = []
    try:
        for _ in range(runs):
            probe = Prober(http)
            time.sleep(5)
            t_backup = time.monotonic()
            r = post(http, "/store/backup")
            t_done = time.monotonic()
            time.sleep(1)
            probe.finish()
            before, n_before = probe.slowest(t_backup - 5, t_backup)
            during, n_during = probe.slowest(t_backup, t_done)
            out.append({"closed_s": r["closed_for_ms"] / 1000, "backup_s": t_done - t_backup,
                        "healthz_before_s": before, "healthz_during_s": during,
                        "answers_during": n_during, "answers_before": n_before,
                        "load": os.getloadavg()[0]})
            time.sleep(5)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(120)
    return out


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmRSS"))


def measure_rss(binary, cfg, backups):
    p = subprocess.Popen([binary, "run", "--config", cfg],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    http = ingest.wait_ready(p, timeout=300)
    ingest.drain(p)
    try:
        time.sleep(70)
        before = rss_mb(p.pid)
        after = []
        for _ in range(backups):
            post(http, "/store/backup")
            time.sleep(1)
            after.append(rss_mb(p.pid))
            time.sleep(2)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(120)
    return {"rss_before_mb": before, "rss_after_each_backup_mb": after}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--live", type=int, default=2000, help="sources polled every minute")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--wirefold", default=os.path.join(ingest.BIN, "wirefold"))
    ap.add_argument("--also", default=None, help="a second binary, run on the same store after")
    ap.add_argument("--rss", type=int, default=0, metavar="N",
                    help="measure resident memory around N backups instead (no live sources)")
    ap.add_argument("--store", default=None,
                    help="keep the filled store in this directory, and reuse it when it is there")
    a = ap.parse_args()
    ingest.build()
    farm, addr, sources = ingest.start_store_farm(a.articles)
    work = tempfile.mkdtemp(prefix="wirefold-backup-")
    try:
        store = os.path.abspath(a.store) if a.store else os.path.join(work, "store")
        if not os.path.exists(store):
            fill = os.path.join(work, "fill.toml")
            ingest.write_config(fill, store, addr, sources, interval="1m")
            t0 = time.monotonic()
            subprocess.run([a.wirefold, "once", "--config", fill], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"filled a store of {a.articles} articles in {time.monotonic() - t0:.0f} s "
                  f"({ingest.du(store) / 1e9:.2f} GB)")
        # The live sources' last polls lie in the past (the fill's, or an earlier run's, at a
        # one-minute interval): each is due at the daemon's start.
        binaries = [a.wirefold] + ([a.also] if a.also else [])
        if a.rss:
            cfg = os.path.join(work, "quiet.toml")
            ingest.write_config(cfg, store, addr, 0,
                                store_extra=f'backup_dir = "{os.path.join(work, "backups")}"\n'
                                            "backups_kept = 1")
            rss = {b: measure_rss(b, cfg, a.rss) for b in binaries}
            print(f"\nresident memory of the daemon on a store of {a.articles} articles, "
                  f"{a.rss} backups 3 s apart, read 1 s after each\n")
            print("| binary | RSS before the backups, MB | RSS after each backup, MB |")
            print("|---|---|---|")
            for b, r in rss.items():
                print(f"| {b} | {r['rss_before_mb']} | "
                      f"{', '.join(map(str, r['rss_after_each_backup_mb']))} |")
            print(json.dumps({"bench": "backup_rss", "articles": a.articles, "results": rss}))
            return
        cfg = os.path.join(work, "live.toml")
        ingest.write_config(cfg, store, addr, min(a.live, sources), interval="1m",
                            schedule_extra="adaptive = false",
                            store_extra=f'backup_dir = "{os.path.join(work, "backups")}"\n'
                                        "backups_kept = 1")
        results = {b: measure(b, cfg, a.live, a.runs) for b in binaries}
    finally:
        ingest.stop(farm)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n/healthz while a backup has a store of {a.articles} articles closed, "
          f"{min(a.live, sources)} sources polled every minute\n")
    print("| binary | run | store closed s | backup answered s | slowest /healthz before s "
          "| slowest /healthz during s | /healthz answers during | load |")
    print("|---|---|---|---|---|---|---|---|")
    for b, rs in results.items():
        for i, r in enumerate(rs, 1):
            print(f"| {b} | {i} | {r['closed_s']:.2f} | {r['backup_s']:.2f} | "
                  f"{r['healthz_before_s']:.3f} | {r['healthz_during_s']:.3f} | "
                  f"{r['answers_during']} | {r['load']:.1f} |")
    print(json.dumps({"bench": "backup_stall", "articles": a.articles, "live": a.live,
                      "results": results}))


if __name__ == "__main__":
    main()
