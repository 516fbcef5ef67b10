#!/usr/bin/env bash
# Fuzz campaign: runs each target for SECONDS (default 1800) in turn and prints libFuzzer's
# final stats. Crashes land in fuzz/artifacts/TARGET/; turn each into a regression test.
#
#   cargo install cargo-fuzz          # once
#   scripts/fuzz.sh 1800              # 30 minutes per target
#
# The machine has only a stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its
# -Zsanitizer=address flags to stable rustc (it works here; the sanitizer runtime ships with
# the standard library).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-1800}"
mkdir -p corpus/feed corpus/config
export RUSTC_BOOTSTRAP=1
cargo fuzz run -O feed corpus/feed seeds/feed -- -dict=feed.dict -max_total_time="$secs" \
  -rss_limit_mb=2048 -timeout=10 -max_len=200000 -print_final_stats=1
cargo fuzz run -O config corpus/config seeds/config -- -max_total_time="$secs" \
  -rss_limit_mb=2048 -timeout=10 -max_len=20000 -print_final_stats=1
