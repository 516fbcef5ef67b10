//! Per-stage loops over the bench article of `benches/pipeline.rs`, for callgrind (issue 4).
//!
//! `ONLY` picks the stage (`normalize`, `fingerprint`, `both`, or the fold's view of the
//! article with its lead: `lead-apart`, the two computed one after the other, or `lead`, both
//! from one scan as the fold makes them), `ITERS` the number of
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
//!
//! `ONLY=reuters` runs normalize + fingerprint as the eval's edit sets do, over the first
//! `ITERS` Reuters-21578 documents of `CORPUS` (default: `reuters21578` of the shared corpus
//! the eval finds): plain paragraphs, no declared language, detected once per poll of
//! `eval::POLL_ITEMS` items (`normalize::FeedLanguage`); `ONLY=reuters-short` the same with
//! the headline and the first paragraph only (the eval's short items). The whole corpus is
//! loaded in both runs, so the difference of two runs is the cost of the documents between
//! them.

use std::hint::black_box;

use wirefold::fold::{fingerprint_article, fingerprint_article_and_lead, lead_fingerprint};
use wirefold::normalize::{normalize, FeedLanguage, NormalizeOptions, RawEntry};

#[path = "../benches/common/article.rs"]
mod article;

/// `ITERS`, or `default` when it is unset or not a number.
fn iters(default: usize) -> usize {
    std::env::var("ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `f` `ITERS` times when `ONLY` names this stage.
fn stage<F: FnMut()>(name: &str, mut f: F) {
    if std::env::var("ONLY").ok().as_deref() != Some(name) {
        return;
    }
    let iters = iters(100_000);
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
    stage("lead-apart", || {
        let fp = fingerprint_article(black_box(&normalized));
        black_box(lead_fingerprint(&normalized, &fp));
        black_box(fp);
    });
    stage("lead", || {
        black_box(fingerprint_article_and_lead(black_box(&normalized)));
    });
    stage("both", || {
        black_box(fingerprint_article(&normalize(black_box(&raw), &opts)));
    });
    match std::env::var("ONLY").ok().as_deref() {
        Some("reuters") => reuters(&opts, false),
        Some("reuters-short") => reuters(&opts, true),
        _ => {}
    }
}

/// `ONLY=reuters[-short]`: the eval's path over the first `ITERS` Reuters documents, whole
/// or (`short`) the headline and first paragraph.
fn reuters(opts: &NormalizeOptions, short: bool) {
    let Some(dir) = std::env::var_os("CORPUS")
        .map(std::path::PathBuf::from)
        .or_else(|| wirefold::eval::command::default_corpus().map(|c| c.join("reuters21578")))
    else {
        eprintln!("no shared corpus found: set CORPUS=DIR (the reuters21578 directory)");
        std::process::exit(1);
    };
    let docs = match wirefold::eval::reuters::load(&dir) {
        Ok(docs) => docs,
        Err(e) => {
            eprintln!("loading {}: {e}", dir.display());
            std::process::exit(1);
        }
    };
    let iters = iters(docs.len());
    let mut language = FeedLanguage::default();
    for (n, doc) in docs.iter().take(iters).enumerate() {
        if n % wirefold::eval::POLL_ITEMS == 0 {
            language = FeedLanguage::default();
        }
        let mut raw = RawEntry {
            title: Some(doc.title.clone()),
            content: Some(if short {
                doc.paras.first().cloned().unwrap_or_default()
            } else {
                doc.paras.join("\n\n")
            }),
            ..RawEntry::default()
        };
        let article = language.normalize(&mut raw, opts);
        black_box(fingerprint_article(black_box(&article)));
    }
}
