#!/usr/bin/env python3
"""datasketch side of `cargo bench --bench pipeline`: MinHash (128 permutations) over the word
3-grams of one text, repeated; prints the median seconds per text over 5 runs as JSON.

    python3 scripts/datasketch_bench.py TEXT_FILE [REPEAT]
"""
import json
import statistics
import sys
import time

from datasketch import MinHash


def one(text):
    words = text.lower().split()
    m = MinHash(num_perm=128)
    m.update_batch([" ".join(words[i:i + 3]).encode("utf-8") for i in range(len(words) - 2)])
    return m


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            one(text)
        runs.append((time.perf_counter() - t0) / n)
    print(json.dumps({"secs_per_doc": statistics.median(runs), "runs": runs}))


if __name__ == "__main__":
    main()
