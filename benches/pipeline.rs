//! normalize + fingerprint of one 400-word HTML article (our own text; the feed declares its
//! language, as most feeds do), and side by side in
//! the same run Python datasketch MinHash (128 permutations, word 3-grams) on the same text.
//!
//! ```text
//! scripts/install-peers.sh          # once, for the datasketch side (skipped when missing)
//! cargo bench --bench pipeline
//! ```

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use criterion::{criterion_group, Criterion, Throughput};
use wirefold::fold::fingerprint_article;
use wirefold::normalize::{normalize, NormalizeOptions};

#[path = "common/article.rs"]
mod article;
use article::article;

fn bench(c: &mut Criterion) {
    let raw = article();
    let opts = NormalizeOptions::new(chrono::Utc::now());
    let words = normalize(&raw, &opts).text.split_whitespace().count();
    let mut g = c.benchmark_group(format!("pipeline {words} words"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("normalize", |b| {
        b.iter(|| normalize(black_box(&raw), &opts))
    });
    let a = normalize(&raw, &opts);
    g.bench_function("fingerprint", |b| {
        b.iter(|| fingerprint_article(black_box(&a)))
    });
    g.bench_function("normalize+fingerprint", |b| {
        b.iter(|| fingerprint_article(&normalize(black_box(&raw), &opts)))
    });
    g.finish();
}

/// Median per-article time of normalize + fingerprint, measured plainly (for the ratio).
fn ours_secs() -> f64 {
    let raw = article();
    let opts = NormalizeOptions::new(chrono::Utc::now());
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..2000 {
            black_box(fingerprint_article(&normalize(black_box(&raw), &opts)));
        }
        runs.push(t.elapsed().as_secs_f64() / 2000.0);
    }
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn datasketch() {
    let raw = article();
    let opts = NormalizeOptions::new(chrono::Utc::now());
    let a = normalize(&raw, &opts);
    // datasketch gets the clean text (it has no HTML stage): the comparison favours it.
    let path = std::env::temp_dir().join(format!("wirefold-bench-{}.txt", std::process::id()));
    if std::fs::write(&path, format!("{}\n{}", a.title, a.text)).is_err() {
        return;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/datasketch_bench.py");
    let out = Command::new(python).arg(script).arg(&path).output();
    let _ = std::fs::remove_file(&path);
    let theirs = match out {
        Ok(o) if o.status.success() => serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .ok()
            .and_then(|v| v["secs_per_doc"].as_f64()),
        _ => None,
    };
    let ours = ours_secs();
    println!(
        "wirefold normalize+fingerprint: {:.2} us/article = {:.0} articles/s (median of 5 x 2000)",
        ours * 1e6,
        1.0 / ours
    );
    match theirs {
        Some(t) => println!(
            "datasketch MinHash(128) word 3-grams: {:.2} us/article = {:.0} articles/s; ratio {:.1}x",
            t * 1e6,
            1.0 / t,
            t / ours
        ),
        None => println!("datasketch: not available (scripts/install-peers.sh)"),
    }
}

criterion_group!(benches, bench);

fn main() {
    datasketch();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
