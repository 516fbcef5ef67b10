#!/usr/bin/env python3
"""Side-by-side peer for `wirefold eval`: datasketch MinHashLSH over word 3-grams.

Input: a JSON Lines file, one {"text": ...} per item, in time order (the same normalized text
wirefold fingerprints: headline, newline, fingerprint text).
For each threshold: streaming clustering like wirefold's - query the LSH with the item's
MinHash (128 permutations, word 3-grams; items under 3 words use their words), join the story
of the candidate with the highest estimated Jaccard if that is at least the threshold
(LSH candidates verified with datasketch's own estimate), else start a new story; then insert.
Output: one JSON line per threshold: {"threshold", "secs", "labels"}; "secs" counts MinHash
construction plus the LSH queries and inserts of that threshold.

    python3 scripts/datasketch_eval.py ITEMS.jsonl 0.3 0.4 0.5 ...
"""
import json
import sys
import time

from datasketch import MinHash, MinHashLSH

NUM_PERM = 128


def shingles(text):
    words = text.split()
    if len(words) < 3:
        return [" ".join(words)] if words else [""]
    return [" ".join(words[i:i + 3]) for i in range(len(words) - 2)]


def main():
    path = sys.argv[1]
    thresholds = [float(t) for t in sys.argv[2:]] or [0.5]
    with open(path, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    t0 = time.perf_counter()
    sketches = []
    for text in texts:
        m = MinHash(num_perm=NUM_PERM)
        m.update_batch([s.encode("utf-8") for s in shingles(text)])
        sketches.append(m)
    sketch_secs = time.perf_counter() - t0
    for t in thresholds:
        t1 = time.perf_counter()
        lsh = MinHashLSH(threshold=t, num_perm=NUM_PERM)
        labels = []
        for i, m in enumerate(sketches):
            best, best_j = None, -1.0
            for key in lsh.query(m):
                j = m.jaccard(sketches[key])
                if j >= t and j > best_j:
                    best, best_j = key, j
            labels.append(labels[best] if best is not None else i)
            lsh.insert(i, m)
        secs = sketch_secs + time.perf_counter() - t1
        print(json.dumps({"threshold": t, "secs": secs, "labels": labels}), flush=True)


if __name__ == "__main__":
    main()
