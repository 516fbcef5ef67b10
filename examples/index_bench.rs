//! Speed and memory of the near-duplicate index (issue 5): fingerprints of
//! random Zipf-like texts, an index of 1,000,000 articles (5 % long, the rest
//! headline + summary), then 100,000 fold decisions against it (half of them
//! edited copies of indexed articles).
//!
//! ```text
//! cargo run --release --example index_bench
//! # env overrides of the dedup parameters: MIN_SIM MIN_CONT SHORT_SIM TINY_SIM
//! ```
//!
//! Fold quality is measured by `wirefold eval` (real Reuters-21578 stories with
//! seeded wire edits), not here.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use wirefold::dedup::{DedupParams, Index};
use wirefold::fingerprint::{fingerprint, FingerprintInput, Script};

fn edit_words(text: &str, rate: f64, vocab: &[String], rng: &mut StdRng) -> String {
    let mut out: Vec<String> = Vec::new();
    for w in text.split(' ') {
        if rng.random_bool(rate) {
            match rng.random_range(0..3) {
                0 => out.push(vocab[rng.random_range(0..vocab.len())].clone()),
                1 => {}
                _ => {
                    out.push(w.to_string());
                    out.push(vocab[rng.random_range(0..vocab.len())].clone());
                }
            }
        } else {
            out.push(w.to_string());
        }
    }
    out.join(" ")
}

fn random_text(n: usize, vocab: &[String], rng: &mut StdRng) -> String {
    let mut s = String::with_capacity(n * 8);
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        // log-uniform rank ~ Zipf(1) word frequencies
        let u: f64 = rng.random_range(0.0..1.0);
        let r = ((vocab.len() as f64).powf(u) as usize).saturating_sub(1);
        s.push_str(&vocab[r.min(vocab.len() - 1)]);
    }
    s
}

fn bench(params: DedupParams) {
    let mut rng = StdRng::seed_from_u64(7);
    let vocab: Vec<String> = (0..200_000)
        .map(|_| {
            let l = rng.random_range(3..10);
            (0..l)
                .map(|_| (b'a' + rng.random_range(0..26u8)) as char)
                .collect()
        })
        .collect();
    // fingerprint speed on 400-word texts
    let texts: Vec<String> = (0..2000)
        .map(|_| random_text(400, &vocab, &mut rng))
        .collect();
    let t0 = Instant::now();
    let mut x = 0u64;
    for _ in 0..5 {
        for t in &texts {
            x ^= fingerprint(&FingerprintInput {
                title: "",
                text: t,
                script: Script::Words,
            })
            .simhash;
        }
    }
    let us = t0.elapsed().as_secs_f64() * 1e6 / 10_000.0;
    println!("fingerprint 400 words: {us:.2} us/doc ({x:x})");

    let n = 1_000_000usize;
    let t0 = Instant::now();
    let mut idx = Index::new(params);
    let mut kept: Vec<(String, String)> = Vec::new();
    for i in 0..n {
        let long = rng.random_bool(0.05);
        let title = random_text(8, &vocab, &mut rng);
        let text = random_text(
            if long { 400 } else { rng.random_range(10..40) },
            &vocab,
            &mut rng,
        );
        let fp = fingerprint(&FingerprintInput {
            title: &title,
            text: &text,
            script: Script::Words,
        });
        idx.insert(i as u64, i as u64, &fp, (i / 20) as i64);
        if i % 100 == 0 {
            kept.push((title, text));
        }
    }
    println!(
        "built index of {} articles in {:.1}s, approx_bytes/len = {:.1}",
        idx.len(),
        t0.elapsed().as_secs_f64(),
        idx.approx_bytes() as f64 / idx.len() as f64
    );
    // The daemon's maintenance tick gives back the room a growth left in the tables once it
    // stops: the state the decisions below are made in, as a daemon holding 1M articles.
    let t0 = Instant::now();
    let compacted = idx.compact();
    println!(
        "compacted {compacted} tables in {:.2}s, approx_bytes/len = {:.1}",
        t0.elapsed().as_secs_f64(),
        idx.approx_bytes() as f64 / idx.len() as f64
    );
    let mut queries = Vec::new();
    for i in 0..100_000 {
        let (title, text) = if i % 2 == 0 {
            let (t, x) = &kept[rng.random_range(0..kept.len())];
            (t.clone(), edit_words(x, 0.03, &vocab, &mut rng))
        } else {
            let long = rng.random_bool(0.05);
            (
                random_text(8, &vocab, &mut rng),
                random_text(if long { 400 } else { 26 }, &vocab, &mut rng),
            )
        };
        queries.push(fingerprint(&FingerprintInput {
            title: &title,
            text: &text,
            script: Script::Words,
        }));
    }
    let t0 = Instant::now();
    let mut hits = 0;
    for q in &queries {
        if idx.find(q, (n / 20) as i64).is_some() {
            hits += 1;
        }
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "find: {:.0} decisions/s ({} queries, {} folds, half are edited copies)",
        queries.len() as f64 / dt,
        queries.len(),
        hits
    );
}

fn main() {
    let mut params = DedupParams::default();
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f32>().ok());
    if let Some(v) = env("MIN_SIM") {
        params.min_similarity = v;
    }
    if let Some(v) = env("MIN_CONT") {
        params.min_containment = v;
    }
    if let Some(v) = env("SHORT_SIM") {
        params.short_min_similarity = v;
    }
    if let Some(v) = env("TINY_SIM") {
        params.tiny_min_similarity = v;
    }
    bench(params);
}
