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
use wirefold::normalize::{normalize, NormalizeOptions, RawEntry};

const PARAS: &[&str] = &[
    "LINDHOLM, March 3 (Reuters) - The regional transport board approved on Tuesday a plan to replace the four oldest ferries on the Lindholm crossing with battery-electric vessels, cutting the route's fuel use by an estimated nine tenths and ending the diesel era on one of the busiest short-sea links in the north, board officials told reporters after a meeting that ran late into the evening.",
    "The contract, worth 212 million crowns, went to a shipyard in Tromsvik that has already delivered two similar vessels to a neighbouring county. The first of the new ferries is due in service in the autumn of next year, and the remaining three will follow at intervals of about five months, according to the timetable the board published alongside its decision.",
    "Charging stations will be installed at both piers during the summer closure, when the crossing is served by a smaller chartered vessel. Board chairwoman Ragna Holt said the crossing carries almost a million passengers and three hundred thousand vehicles a year and had become the county's largest single source of greenhouse gas emissions from transport.",
    "Unions representing the crews welcomed the decision but asked for a proper training programme before the new vessels enter service, saying the switch to battery propulsion changes routines on the bridge and in the engine room. The board said the shipyard would train the first crews on its own test vessel during the winter months.",
    "Local businesses on the island side of the crossing had lobbied for more frequent departures, and the board said the faster charging cycle of the new ferries would allow two extra round trips on weekdays. Fares will stay unchanged until at least the end of the decade, the chairwoman added.",
    "Environmental groups broadly welcomed the plan but said the county should also look at the freight traffic on the crossing, where heavy lorries still make up a large share of the vehicles carried. A spokesman for the regional nature council said the group would ask the board to publish annual figures on energy use, noise and the condition of the seabed near the piers, which has suffered from the wash of the old diesel vessels for many years.",
    "The old ferries, built in the early nineteen-nineties, will be offered for sale to operators abroad. (Reporting by Jonas Berg; Editing by Mia Lund)",
];

/// The article; `lang` is the feed's declared language (most feeds declare one: then the
/// language detector is skipped).
fn article_in(lang: Option<&str>) -> RawEntry {
    let html: String = PARAS
        .iter()
        .map(|p| format!("<p>{}</p>\n", html_escape::encode_text(p)))
        .collect();
    RawEntry {
        guid: Some("bench-1".into()),
        link: Some("https://news.example/2026/03/03/ferries?utm_source=rss".into()),
        title: Some("Lindholm crossing to get electric ferries - Daily Courier".into()),
        content: Some(format!(
            "<div class=\"story\"><script>var ad = 1;</script>{html}<p>Follow us on Twitter for the latest news.</p></div>"
        )),
        published: None,
        language: lang.map(str::to_owned),
        ..RawEntry::default()
    }
}

fn article() -> RawEntry {
    article_in(Some("en"))
}

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
