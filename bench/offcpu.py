#!/usr/bin/env python3
"""Where wirefold's ingest threads wait: an off-CPU breakdown of one command.

    python3 bench/offcpu.py [--threads wirefold-cpu] -- ./target/release/wirefold once --config F

Records every scheduler switch of the command with its call stack (`perf record -e
sched:sched_switch --call-graph dwarf`, as root or with perf_event_paranoid <= 1), then sums,
for the named threads, the time from each switch out to the thread's next switch in, by what
it was doing when it left the CPU:

- fold lock wait: blocked on the fold lock (`Folder::fold_batch`'s mutex);
- in-lock ...: left the CPU while holding the fold lock (inside `fold_batch`, after the
  fingerprints), so the other ingest thread may be waiting for it;
- sled make_stable: waiting for sled to write its log up to a page it reads back;
- glibc arena lock: waiting for another thread's `malloc`/`free` in the same arena;
- preempted: runnable, but another thread got the core;
- idle: waiting for a job (nothing fetched to parse).

Recording stacks at every switch slows the command down; the shares are what to read, not the
absolute times. Only for profiling by hand: nothing in the tests or CI runs it.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

HEADER = re.compile(
    r"\s*(?P<comm>\S.*?)\s+(?P<tid>\d+)\s+(?P<t>[\d.]+):\s+.*prev_pid=(?P<prev>\d+)"
    r".*prev_state=(?P<state>\S+).*next_pid=(?P<next>\d+)"
)


def category(stack, state):
    if "lock_contended" in stack and "fold_batch" in stack:
        return "fold lock wait"
    held = "fold_batch" in stack and "fingerprint" not in stack
    pre = "in-lock " if held else ""
    if "__lll_lock_wait_private" in stack:
        return pre + "glibc arena lock"
    if "make_stable_inner" in stack:
        return pre + "sled make_stable (log write)"
    if state.startswith("R"):
        return pre + "preempted"
    if "ingest::cpu" in stack and "recv" in stack:
        return "idle: waiting for a job"
    if "Queue::send" in stack:
        return pre + "sled threadpool send"
    return pre + "other"


def breakdown(data, threads):
    out = subprocess.run(
        ["perf", "script", "-i", data, "-F", "comm,tid,time,trace,ip,sym"],
        capture_output=True, text=True, check=True,
    ).stdout
    left = {}  # tid -> (time it left the CPU, category)
    total = collections.defaultdict(float)
    count = collections.Counter()
    span = {}
    for block in out.split("\n\n"):
        lines = block.strip("\n").split("\n")
        m = HEADER.match(lines[0]) if lines and lines[0].strip() else None
        if not m:
            continue
        t = float(m["t"])
        prev, nxt = int(m["prev"]), int(m["next"])
        if m["comm"].startswith(threads):
            left[prev] = (t, category("\n".join(lines[1:]), m["state"]))
            first, _ = span.get(prev, (t, t))
            span[prev] = (first, t)
        if nxt in left:
            t0, cat = left.pop(nxt)
            total[cat] += t - t0
            count[cat] += 1
    return total, count, span


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="wirefold-cpu", help="thread name prefix")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command given")
    with tempfile.TemporaryDirectory(prefix="wirefold-offcpu-") as work:
        data = os.path.join(work, "perf.data")
        log = os.path.join(work, "output")
        with open(log, "w") as out:
            rec = subprocess.run(
                ["perf", "record", "-q", "-e", "sched:sched_switch", "--call-graph", "dwarf,8192",
                 "-o", data, "--", *cmd],
                stdout=out, stderr=subprocess.STDOUT,
            )
        if rec.returncode != 0:
            with open(log) as f:
                sys.exit(f"perf record of the command failed ({rec.returncode}):\n{f.read()[-2000:]}")
        total, count, span = breakdown(data, a.threads)
    alive = sum(last - first for first, last in span.values())
    print(f"{len(span)} threads named {a.threads}*, {alive:.2f} thread-s from first to last switch")
    print("| off-CPU s | share of thread-s | switches | while |")
    print("|---|---|---|---|")
    for cat, secs in sorted(total.items(), key=lambda kv: -kv[1]):
        share = secs / alive if alive else 0.0
        print(f"| {secs:.2f} | {share:.1%} | {count[cat]} | {cat} |")


if __name__ == "__main__":
    main()
