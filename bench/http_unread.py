#!/usr/bin/env python3
"""Clients that send requests and never read the answers, while wirefold ingests.

    python3 bench/http_unread.py [--connections 580] [--pipelined 10]
                                 [--path '/stories?limit=1000'] [--seconds 45]
                                 [--wirefold BIN ...]

Starts the feedfarm (300 sources gaining items every 5 s, half of them wire copies) and, for
each binary given (default: the one built here), in turn on a fresh store: wirefold at a
1-minute interval; once every source was polled, opens --connections connections (past the
512 slots, into the reserve), each with a 4 KiB receive buffer, sends --pipelined requests
for --path in one write and never reads. Every 4 s it samples the daemon's RSS
(/proc/PID/status), its open descriptors (the held connections among them), the time
/healthz takes on a new connection, and the articles stored (/status). Prints a Markdown
table per binary and a JSON line.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingest  # noqa: E402  (shares the farm and process helpers)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def healthz_s(http):
    t0 = time.monotonic()
    try:
        urllib.request.urlopen(f"http://{http}/healthz", timeout=30).read()
    except OSError:
        return float("inf")
    return time.monotonic() - t0


def articles(http):
    try:
        st = json.load(urllib.request.urlopen(f"http://{http}/status?sources=none", timeout=30))
        return st["counts"]["articles"]
    except OSError:
        return None


def flood(http, n, pipelined, path):
    host, port = http.rsplit(":", 1)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() * pipelined
    held = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        try:
            s.connect((host, int(port)))
        except BlockingIOError:
            pass
        held.append(s)
    time.sleep(0.5)
    for s in held:
        try:
            s.send(request)
        except OSError:
            pass
    return held


def run_one(binary, addr, a):
    work = tempfile.mkdtemp(prefix="wirefold-unread-")
    p, held, rows = None, [], []
    try:
        cfg = os.path.join(work, "wirefold.toml")
        ingest.write_config(cfg, os.path.join(work, "store"), addr, 300, interval="1m",
                            schedule_extra="adaptive = false")
        p = subprocess.Popen([binary, "run", "--config", cfg],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        http = ingest.wait_ready(p)
        ingest.drain(p)
        while ingest.get_json(f"http://{http}/status?sources=none")["health"]["waiting"] > 0:
            time.sleep(1)
        rows.append((0, rss_mb(p.pid), fds(p.pid), healthz_s(http), articles(http)))
        held = flood(http, a.connections, a.pipelined, a.path)
        t0 = time.monotonic()
        while time.monotonic() - t0 < a.seconds:
            time.sleep(4)
            rows.append((time.monotonic() - t0, rss_mb(p.pid), fds(p.pid), healthz_s(http),
                         articles(http)))
        p.send_signal(signal.SIGTERM)
        p.wait(60)
    finally:
        for s in held:
            s.close()
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=580)
    ap.add_argument("--pipelined", type=int, default=10)
    ap.add_argument("--path", default="/stories?limit=1000")
    ap.add_argument("--seconds", type=int, default=45)
    ap.add_argument("--wirefold", action="append",
                    help="a binary to measure (repeatable; default: the one built here)")
    a = ap.parse_args()
    if not a.wirefold:
        ingest.build()
        a.wirefold = [os.path.join(ingest.BIN, "wirefold")]
    farm, addr = ingest.start_farm("--sources", 300, "--new-every", 5, "--wire-share", 0.5,
                                   "--items-min", 10, "--items-max", 20, "--item-bytes", 800)
    results = {}
    try:
        for binary in a.wirefold:
            results[binary] = run_one(binary, addr, a)
    finally:
        ingest.stop(farm)
    for binary, rows in results.items():
        print(f"\n{binary}: {a.connections} connections, each {a.pipelined} × GET {a.path} "
              f"unread (t = 0: before the flood)\n")
        print("| t (s) | RSS MB | descriptors | /healthz | articles stored |")
        print("|---|---|---|---|---|")
        for t, rss, n, hz, arts in rows:
            print(f"| {t:.0f} | {rss:.0f} | {n} | {hz * 1000:.1f} ms | {arts} |")
    print(json.dumps({"bench": "http_unread", "connections": a.connections,
                      "pipelined": a.pipelined, "path": a.path, "results": results}))


if __name__ == "__main__":
    main()
