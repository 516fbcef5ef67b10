#!/bin/bash
# Instructions of one cold `wirefold once` under callgrind: deterministic within ~0.2 %, unlike
# anything timed on the shared 2-core VM (BENCHMARKS.md, issue 8).
#
#   bench/callgrind_once.sh [WIREFOLD_BINARY] [OUT_FILE] [SOURCES]
#
# Defaults: target/release/wirefold, callgrind.out.wirefold, 200 sources. The farm serves
# SOURCES feeds x 30 items, RSS and Atom, prerendered (as `bench/ingest.py cold`), on loopback;
# the configuration is the one `bench/ingest.py` writes. Prints the articles stored and the
# instruction total; read the profile with `callgrind_annotate --inclusive=yes OUT_FILE`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/target/release/wirefold}
out=${2:-callgrind.out.wirefold}
sources=${3:-200}
work=$(mktemp -d)
farm_pid=
cleanup() {
    if [ -n "$farm_pid" ]; then kill -INT "$farm_pid" 2>/dev/null || true; wait "$farm_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
"$root/target/release/feedfarm" --listen 127.0.0.1:0 --sources "$sources" \
    --items-min 30 --items-max 30 --formats rss,atom --prerender >"$work/farm.out" &
farm_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$work/farm.out" && break; sleep 0.1; done
addr=$(grep -o 'listening on [^ ]*' "$work/farm.out" | awk '{print $3}')
python3 - "$root/bench" "$work" "$addr" "$sources" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import ingest
work, addr, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
ingest.write_config(f"{work}/wirefold.toml", f"{work}/store", addr, n)
PY
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" once --config "$work/wirefold.toml" \
    >"$work/once.out" 2>"$work/valgrind.err"
stored=$(grep -oE ' (new|copies)=[0-9]+' "$work/once.out" | awk -F= '{s += $2} END {print s + 0}')
echo "articles stored: $stored"
grep -E 'Collected' "$work/valgrind.err"
