//! Per-stage loops over the bench article of `benches/pipeline.rs`, for callgrind (issue 4).
//!
//! `ONLY` picks the stage (`normalize`, `fingerprint` or `both`), `ITERS` the number of
//! iterations (default 100,000); without `ONLY` nothing runs. Instruction counts are
//! deterministic where wall-clock time on a shared machine is not, so count the instructions
//! of two runs and take the difference per iteration (that cancels start-up and the one-off
//! setup):
//!
//! ```text
//! cargo build --release --example fp_stages
//! ir() { ONLY=$1 ITERS=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!          target/release/examples/fp_stages 2>&1 | awk '/Collected/ {print $4}'; }
//! echo $(( ($(ir both 300) - $(ir both 100)) / 200 ))   # instructions per article
//! ```
//!
//! For a per-function split, write the two profiles to files and subtract the
//! `callgrind_annotate --show-percs=no` lines of the two runs (see `BENCHMARKS.md`, issue 4).

use std::hint::black_box;

use wirefold::fold::fingerprint_article;
use wirefold::normalize::{normalize, NormalizeOptions};

#[path = "../benches/common/article.rs"]
mod article;

/// Runs `f` `ITERS` times when `ONLY` names this stage.
fn stage<F: FnMut()>(name: &str, mut f: F) {
    if std::env::var("ONLY").ok().as_deref() != Some(name) {
        return;
    }
    let iters: usize = std::env::var("ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    for _ in 0..iters {
        f();
    }
}

fn main() {
    let raw = article::article();
    let opts = NormalizeOptions::new(chrono::Utc::now());
    stage("normalize", || {
        black_box(normalize(black_box(&raw), &opts));
    });
    let normalized = normalize(&raw, &opts);
    stage("fingerprint", || {
        black_box(fingerprint_article(black_box(&normalized)));
    });
    stage("both", || {
        black_box(fingerprint_article(&normalize(black_box(&raw), &opts)));
    });
}
