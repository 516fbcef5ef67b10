#!/usr/bin/env python3
"""Where the false pairs of a `wirefold eval` run come from.

Reads one file written by `WIREFOLD_EVAL_DUMP=DIR wirefold eval ...` (one JSON line per item:
label, predicted story, time `at`, title, and the fingerprint text "headline\\nsummary"), and
prints:
- the false pairs (two items in one predicted story with other labels) by cause, with examples;
- the predicted stories that hold most of them (a merge of stories of sizes a and b makes a*b
  false pairs, so a few large impure stories dominate pairwise precision).

    python3 scripts/eval_false_pairs.py DIR/reuters-edits-short_seed=1.jsonl [TOP] [--corpus C]

With `--corpus C` (the shared corpus directory), the false pairs of the Reuters sets are also
counted by what the two labels' *original records* share, before any edit: the headline words
(without `UPDATE n`/`CORRECTED`/`REPEAT`) and the first 18 words of the body. Labels are record
positions in the order `reuters::load` reads them (records with a body, files sorted).

Causes (first that applies): identical headline + summary; the same summary (word Jaccard
>= 0.8) under an edited headline (headline Jaccard >= 0.8); the same *thin* summary (< 12 words,
rule 3a of `crate::fold`) under another headline; the same longer summary under another
headline; another thin pair; other. "> 18h" marks pairs further apart than `short_window`.
"""

import collections
import glob
import html
import itertools
import json
import os
import re
import sys

THIN = 12


def tokens(s):
    return re.findall(r"[a-z0-9][a-z0-9.,'/-]*", s.lower())


def jaccard(a, b):
    return len(a & b) / max(1, len(a | b))


def cause(a, b):
    thin = min(len(a["sw"]), len(b["sw"])) < THIN
    sj = jaccard(a["ss"], b["ss"])
    tj = jaccard(a["tw"], b["tw"])
    if a["fp"] == b["fp"]:
        c = "identical headline + summary"
    elif sj >= 0.8 and tj >= 0.8:
        c = "same summary, edited headline"
    elif sj >= 0.8 and thin:
        c = "same thin summary, other headline"
    elif sj >= 0.8:
        c = "same longer summary, other headline"
    elif thin:
        c = "thin, other"
    else:
        c = "other"
    if abs(a.get("at", 0) - b.get("at", 0)) > 18 * 3600:
        c += " (> 18h apart)"
    return c


def originals(corpus):
    """(headline words, first 18 body words) of every record, in `reuters::load`'s order."""
    out = []
    for f in sorted(glob.glob(os.path.join(corpus, "reuters21578", "*.sgm"))):
        text = open(f, encoding="utf-8", errors="replace").read()
        for rec in text.split("<REUTERS")[1:]:
            m = re.search(r"<BODY>(.*?)</BODY>", rec, re.S)
            if not m:
                continue
            t = re.search(r"<TITLE>(.*?)</TITLE>", rec, re.S)
            title = html.unescape(t.group(1)) if t else ""
            head = [w for w in tokens(title) if w not in ("update", "1-", "corrected", "repeat")]
            out.append((head, tokens(html.unescape(m.group(1)))[:18]))
    return out


def by_original(items, stories, corpus):
    docs = originals(corpus)
    kinds = collections.Counter()
    examples = collections.defaultdict(list)
    for members in stories.values():
        labels = collections.Counter(items[i]["label"] for i in members)
        for a, b in itertools.combinations(sorted(labels), 2):
            (ha, la), (hb, lb) = docs[a], docs[b]
            kind = ("same" if ha == hb else "other") + " headline, " + (
                "same" if la == lb else "other"
            ) + " first 18 words"
            kinds[kind] += labels[a] * labels[b]
            examples[kind].append((labels[a] * labels[b], " ".join(ha), " ".join(hb)))
    print("false pairs by what the original records share:")
    for k, n in kinds.most_common():
        print(f"{n:6d}  {k}")
        for e in sorted(examples[k], reverse=True)[:3]:
            print(f"          {e[0]}: {e[1]!r} ~ {e[2]!r}")


def main():
    args = sys.argv[1:]
    corpus = None
    if "--corpus" in args:
        k = args.index("--corpus")
        corpus = args[k + 1]
        del args[k : k + 2]
    path = args[0]
    top = int(args[1]) if len(args) > 1 else 10
    items = [json.loads(line) for line in open(path, encoding="utf-8")]
    for it in items:
        title, _, summary = it["fp"].partition("\n")
        it["tw"] = set(tokens(title))
        it["sw"] = tokens(summary)
        it["ss"] = set(it["sw"])
    stories = collections.defaultdict(list)
    for i, it in enumerate(items):
        stories[it["story"]].append(i)

    causes = collections.Counter()
    examples = collections.defaultdict(list)
    impure = []
    for story, members in stories.items():
        labels = collections.Counter(items[i]["label"] for i in members)
        n = len(members)
        false = n * (n - 1) // 2 - sum(k * (k - 1) // 2 for k in labels.values())
        if false:
            impure.append((false, story, members, labels))
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                a, b = items[i], items[j]
                if a["label"] != b["label"]:
                    c = cause(a, b)
                    causes[c] += 1
                    examples[c].append((a["title"][:60], b["title"][:60]))

    print(f"false pairs: {sum(causes.values())} in {len(impure)} predicted stories")
    for c, n in causes.most_common():
        print(f"{n:6d}  {c}")
        for e in examples[c][:3]:
            print(f"          {e[0]!r} ~ {e[1]!r}")
    if corpus:
        by_original(items, stories, corpus)
    impure.sort(key=lambda r: -r[0])
    for false, story, members, labels in impure[:top]:
        print(f"--- story {story}: {false} false pairs, {len(members)} items, labels {dict(labels)}")
        for i in members[:10]:
            it = items[i]
            summary = it["fp"].partition("\n")[2]
            print(f"    [{it['label']}] {it['title'][:60]!r} | {summary[:80]!r}")


if __name__ == "__main__":
    main()
