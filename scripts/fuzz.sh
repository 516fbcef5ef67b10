#!/usr/bin/env bash
# Fuzz campaign: runs each target for SECONDS (default 1800) in turn and prints libFuzzer's
# final stats. Crashes land in fuzz/artifacts/TARGET/ and fail the script; turn each into a
# regression test.
#
#   cargo install cargo-fuzz                 # once (.ci/run does it when missing)
#   scripts/fuzz.sh 1800                     # 30 minutes per target
#   scripts/fuzz.sh 60 feed config           # chosen targets only
#
# Targets: feed (bytes -> parse), feed_pipeline (bytes -> parse -> normalize -> fingerprint,
# plus the text stages on the raw bytes) and config (TOML -> validated configuration).
# The machine has only a stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its
# -Zsanitizer=address flags to stable rustc (the sanitizer runtime ships with the standard
# library).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-1800}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(feed feed_pipeline config)
fi
export RUSTC_BOOTSTRAP=1
# libFuzzer ends the process with exit(), so a target's own clean-up never runs: the config
# target's file goes to a temporary directory of this run's, removed on the way out.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/wirefold-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"
for t in "${targets[@]}"; do
  case "$t" in
    feed | feed_pipeline)
      seeds=seeds/feed
      opts=(-dict=feed.dict -max_len=200000)
      ;;
    config)
      seeds=seeds/config
      opts=(-max_len=20000)
      ;;
    *)
      echo "unknown fuzz target: $t (feed, feed_pipeline, config)" >&2
      exit 2
      ;;
  esac
  mkdir -p "corpus/$t"
  echo "== fuzz $t for ${secs}s"
  cargo fuzz run -O "$t" "corpus/$t" "$seeds" -- "${opts[@]}" -max_total_time="$secs" \
    -rss_limit_mb=2048 -timeout=10 -print_funcs=0 -print_final_stats=1
done
