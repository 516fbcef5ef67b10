#!/usr/bin/env python3
"""Soak: the real daemon against a loopback farm of feeds with churn and faults.

Starts a feed server on 127.0.0.1 (this script), writes a config with N sources, runs the
release binary on a fresh store and samples it every minute: RSS (VmRSS, VmHWM from
/proc/PID/status), open file descriptors, threads, /status counts and health, and the
poll counters of /metrics. Stops by itself after --minutes and prints the curve and a verdict
(RSS growth after warm-up, fd growth, error-rate growth).

    cargo build --release
    python3 scripts/soak.py --minutes 60 --sources 2000 --out soak-out

The farm: every source serves its last 20 items (RSS 2.0, ETag honoured, so an unchanged
feed costs a 304). Churn: new items arrive at --rate per second over random sources; a third
of them are wire copies of another source's recent item (new dateline, other headline,
trimmed last paragraph), some existing items are edited in place. Faults, per request: 3%
HTTP 500, 2% HTTP 429 with Retry-After, 2% slow (2-8 s, past the 5 s fetch timeout
sometimes), 1% cut-off XML, 1% connection closed without an answer, 1% an HTML page.
Only 127.0.0.1 is used; every loop is bounded by the run's duration.
"""

import argparse
import collections
import hashlib
import http.server
import json
import os
import random
import re
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

WORDS = (
    "harbour council budget school storm market price team coach league river bridge "
    "election vote minister police court trial hospital doctor nurse farmer harvest frost "
    "train station airport flight pilot strike union wage factory mine energy power grid "
    "solar wind coal oil gas tax bank loan rate inflation museum artist festival film "
    "theatre library student teacher exam science study research climate flood drought fire "
    "forest park road traffic accident bus tram cycle lane housing rent mayor protest march "
    "treaty border trade export import shipping port channel dredge vessel cargo container"
).split()


def paragraph(rng, n=40):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


class Farm:
    def __init__(self, n, seed):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.items = [collections.deque(maxlen=20) for _ in range(n)]
        self.bodies = [None] * n
        self.counter = 0
        for i in range(n):
            for _ in range(5):
                self._new_item(i)

    def _new_item(self, i, copy_of=None):
        self.counter += 1
        rng = self.rng
        if copy_of is not None:
            title, paras = copy_of
            title = "%s - %s" % (rng.choice(["Report", "Wire", "Update"]), title)
            paras = ["CITY%d (Wire) - %s" % (rng.randrange(99), paras[0])] + paras[1:-1]
        else:
            title = " ".join(rng.choice(WORDS) for _ in range(7)).capitalize()
            paras = [paragraph(rng) for _ in range(rng.randrange(3, 7))]
        self.items[i].append(
            {"guid": "s%d-%d" % (i, self.counter), "title": title, "paras": paras}
        )
        self.bodies[i] = None

    def churn(self, rate):
        with self.lock:
            for _ in range(rate):
                i = self.rng.randrange(len(self.items))
                r = self.rng.random()
                if r < 0.33:
                    j = self.rng.randrange(len(self.items))
                    if self.items[j]:
                        it = self.items[j][-1]
                        self._new_item(i, (it["title"], list(it["paras"])))
                        continue
                if r < 0.38 and self.items[i]:
                    it = self.items[i][self.rng.randrange(len(self.items[i]))]
                    it["title"] = it["title"] + " (updated)"
                    self.bodies[i] = None
                    continue
                self._new_item(i)

    def body(self, i):
        with self.lock:
            if self.bodies[i] is None:
                out = [
                    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
                    "<title>Source %d</title><link>http://s%d.test/</link>"
                    "<description>soak</description>\n" % (i, i)
                ]
                for it in self.items[i]:
                    desc = "".join("&lt;p&gt;%s&lt;/p&gt;" % p for p in it["paras"])
                    out.append(
                        "<item><guid isPermaLink=\"false\">%s</guid><title>%s</title>"
                        "<link>http://s%d.test/%s</link><description>%s</description></item>\n"
                        % (it["guid"], it["title"], i, it["guid"], desc)
                    )
                out.append("</channel></rss>\n")
                b = "".join(out).encode()
                self.bodies[i] = (b, '"%s"' % hashlib.sha1(b).hexdigest()[:16])
            return self.bodies[i]


def make_handler(farm, fault_rng, stats):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            m = re.match(r"^/f/(\d+)\.xml$", self.path)
            if not m or int(m.group(1)) >= len(farm.items):
                self.send_error(404)
                return
            i = int(m.group(1))
            r = fault_rng.random()
            stats[0] += 1
            if r < 0.03:
                return self._send(500, b"oops", "text/plain")
            if r < 0.05:
                return self._send(429, b"slow down", "text/plain", {"Retry-After": "30"})
            if r < 0.07:
                time.sleep(fault_rng.uniform(2, 8))
            elif r < 0.08:
                body, _ = farm.body(i)
                return self._send(200, body[: len(body) // 2], "application/rss+xml")
            elif r < 0.09:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            elif r < 0.10:
                return self._send(200, b"<!DOCTYPE html><html><body>503</body></html>", "text/html")
            body, etag = farm.body(i)
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", None, {"ETag": etag})
            self._send(200, body, "application/rss+xml", {"ETag": etag})

        def _send(self, code, body, ctype, extra=None):
            try:
                self.send_response(code)
                if ctype:
                    self.send_header("Content-Type", ctype)
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)
            except OSError:
                pass

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out


def polls(metrics):
    ok = err = nm = 0
    for line in metrics.splitlines():
        if line.startswith("wirefold_polls_total{"):
            v = float(line.rsplit(" ", 1)[1])
            if 'outcome="error"' in line:
                err += v
            elif 'outcome="not_modified"' in line:
                nm += v
            else:
                ok += v
    return ok, nm, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--sources", type=int, default=2000)
    ap.add_argument("--rate", type=int, default=2, help="new or changed items per second")
    ap.add_argument("--interval", default="60s")
    ap.add_argument("--window", default="72h", help="dedup.window (the index's time span)")
    ap.add_argument("--sample", type=int, default=60, help="seconds between samples")
    ap.add_argument("--warmup", type=int, default=10, help="minutes before RSS is judged")
    ap.add_argument("--bin", default="target/release/wirefold")
    ap.add_argument("--out", default="soak-out")
    ap.add_argument("--seed", type=int, default=9)
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    farm = Farm(a.sources, a.seed)
    stats = [0]
    srv = Server(("127.0.0.1", 0), make_handler(farm, random.Random(a.seed + 1), stats))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]

    work = tempfile.mkdtemp(prefix="wirefold-soak-")
    cfg = os.path.join(work, "wirefold.toml")
    with open(cfg, "w") as f:
        f.write(
            '[store]\npath = "%s/store"\n[http]\nlisten = "127.0.0.1:0"\n'
            '[fetch]\ntimeout = "5s"\nconnect_timeout = "2s"\nconcurrency = 32\n'
            '[schedule]\nmin_interval = "10s"\ndefault_interval = "%s"\nstartup_spread = "60s"\n'
            '[dedup]\nwindow = "%s"\n[log]\nlevel = "warn"\n' % (work, a.interval, a.window)
        )
        for i in range(a.sources):
            f.write('[[sources]]\nname = "s%d"\nurl = "http://127.0.0.1:%d/f/%d.xml"\n' % (i, port, i))
    log = open(os.path.join(a.out, "daemon.log"), "w")
    env = dict(os.environ, RUST_LOG="warn,wirefold=info")
    d = subprocess.Popen([a.bin, "run", "--config", cfg], stderr=subprocess.PIPE, env=env, text=True)
    addr = None
    for line in d.stderr:
        log.write(line)
        m = re.search(r"addr=(\S+)", line)
        if "wirefold ready" in line and m:
            addr = m.group(1)
            break
    if not addr:
        sys.exit("daemon did not start")
    threading.Thread(target=lambda: [log.write(l) for l in d.stderr], daemon=True).start()
    print("daemon pid %d on %s, farm on 127.0.0.1:%d, store in %s" % (d.pid, addr, port, work), flush=True)

    stop = threading.Event()

    def churner():
        while not stop.wait(1.0):
            farm.churn(a.rate)

    threading.Thread(target=churner, daemon=True).start()

    rows = []
    start = time.time()
    prev = None
    csv = open(os.path.join(a.out, "samples.csv"), "w")
    csv.write("minute,rss_kib,hwm_kib,fds,threads,articles,stories,copies,ok,failing,down,"
              "polls_ok,polls_304,polls_err,err_per_min,store_writable,requests\n")
    try:
        for k in range(0, a.minutes * 60 // a.sample + 1):
            target = start + k * a.sample
            time.sleep(max(0, target - time.time()))
            if d.poll() is not None:
                sys.exit("daemon exited with %s" % d.returncode)
            p = proc_status(d.pid)
            st = json.loads(get("http://%s/status?sources=none" % addr))
            ok, nm, err = polls(get("http://%s/metrics" % addr))
            epm = (err - prev[2]) / (a.sample / 60) if prev else 0
            prev = (ok, nm, err)
            row = dict(
                minute=round(k * a.sample / 60, 2), rss_kib=p["VmRSS"], hwm_kib=p["VmHWM"],
                fds=p["fds"], threads=p["Threads"], articles=st["counts"]["articles"],
                stories=st["counts"]["stories"], copies=st["counts"]["copies"],
                ok=st["health"]["ok"], failing=st["health"]["failing"], down=st["health"]["down"],
                polls_ok=int(ok), polls_304=int(nm), polls_err=int(err), err_per_min=int(epm),
                store_writable=st.get("store", {}).get("writable", True), requests=stats[0],
            )
            rows.append(row)
            csv.write(",".join(str(row[c]) for c in row) + "\n")
            csv.flush()
            print(" ".join("%s=%s" % kv for kv in row.items()), flush=True)
    finally:
        stop.set()
        d.send_signal(signal.SIGTERM)
        try:
            rc = d.wait(30)
        except subprocess.TimeoutExpired:
            d.kill()
            rc = "killed"
        srv.shutdown()
        print("daemon exit: %s" % rc)

    warm = [r for r in rows if r["minute"] >= a.warmup]
    if len(warm) >= 2:
        base = warm[0]["rss_kib"]
        peak = max(r["rss_kib"] for r in warm)
        last = warm[-1]["rss_kib"]
        fds = [r["fds"] for r in warm]
        epm = [r["err_per_min"] for r in warm[1:]]
        half = len(epm) // 2
        e1 = sum(epm[:half]) / max(1, half)
        e2 = sum(epm[half:]) / max(1, len(epm) - half)
        verdict = {
            "rss_after_warmup_kib": base, "rss_peak_kib": peak, "rss_last_kib": last,
            "rss_growth_pct": round(100.0 * (peak - base) / base, 1),
            "fds_min": min(fds), "fds_max": max(fds),
            "errors_per_min_first_half": round(e1, 1), "errors_per_min_second_half": round(e2, 1),
            "articles": rows[-1]["articles"], "stories": rows[-1]["stories"],
            "requests": rows[-1]["requests"],
        }
        print(json.dumps(verdict, indent=1))
        with open(os.path.join(a.out, "verdict.json"), "w") as f:
            json.dump(verdict, f, indent=1)


if __name__ == "__main__":
    main()
