//! Quality and speed harness for the fingerprint + dedup index.
//!
//! Reads the Reuters-21578 SGML files at run time (never copied into the
//! crate), builds seeded edited wire copies, mixes them with distractor
//! originals, streams everything through `Index::find` + `Index::insert`
//! and reports pairwise precision / recall of the fold decisions; then
//! measures fold decisions per second with ~1M fingerprints in the index.
//!
//! ```text
//! cargo run --release --example eval -- [CORPUS_DIR] [--no-bench | --only-bench] [-v]
//! # env overrides: MIN_SIM MIN_CONT SHORT_SIM TINY_SIM ONE_SEED=1
//! ```

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use wirefold::dedup::{DedupParams, Index};
use wirefold::fingerprint::{fingerprint, Fingerprint, FingerprintInput, Script};

struct Doc {
    title: String,
    paras: Vec<String>,
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(j) = tail.find(';').filter(|&j| j <= 6) {
            match &tail[..=j] {
                "&lt;" => out.push('<'),
                "&gt;" => out.push('>'),
                "&amp;" => out.push('&'),
                _ => out.push(' '),
            }
            rest = &tail[j + 1..];
        } else {
            out.push('&');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let i = s.find(open)? + open.len();
    let j = s[i..].find(close)? + i;
    Some(&s[i..j])
}

/// Stand-in for the real normalisation: lowercase, punctuation to spaces
/// (keeping `.`/`,` inside numbers and `-` inside words), single spaces.
fn normalize(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let keep = c.is_alphanumeric()
            || ((c == '.' || c == ',') && prev.is_ascii_digit() && next.is_ascii_digit())
            || (c == '-' && prev.is_alphanumeric() && next.is_alphanumeric());
        if keep {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim().to_string()
}

fn load(dir: &str) -> Vec<Doc> {
    let mut docs = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sgm"))
        .collect();
    files.sort();
    for f in files {
        let bytes = std::fs::read(&f).expect("read");
        let s = String::from_utf8_lossy(&bytes);
        for rec in s.split("<REUTERS").skip(1) {
            let title = between(rec, "<TITLE>", "</TITLE>").unwrap_or("");
            let Some(body) = between(rec, "<BODY>", "</BODY>") else {
                continue;
            };
            let body = decode_entities(body);
            let mut paras: Vec<String> = Vec::new();
            let mut cur = String::new();
            for line in body.lines() {
                if line.trim().is_empty() {
                    continue;
                }
                if line.starts_with(' ') && !cur.is_empty() {
                    paras.push(std::mem::take(&mut cur));
                }
                cur.push_str(line.trim());
                cur.push(' ');
            }
            if !cur.is_empty() {
                paras.push(cur);
            }
            let paras: Vec<String> = paras
                .iter()
                .map(|p| normalize(p))
                .filter(|p| !p.is_empty() && p != "reuter")
                .map(|p| p.trim_end_matches(" reuter").to_string())
                .collect();
            if paras.is_empty() {
                continue;
            }
            docs.push(Doc {
                title: normalize(&decode_entities(title)),
                paras,
            });
        }
    }
    docs
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// Exact shingle set used to drop near-duplicates already in the corpus.
fn exact_set(text: &str, n: usize) -> HashSet<u64> {
    use std::hash::{Hash, Hasher};
    let w = words(text);
    let mut set = HashSet::new();
    for k in 1..=n {
        if n == 3 && k < 3 {
            continue;
        }
        for win in w.windows(k) {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            win.hash(&mut h);
            set.insert(h.finish());
        }
    }
    set
}

/// Greedy corpus de-duplication: keep a text unless it shares more than
/// `max_cont` of the smaller shingle set with an already kept one.
fn dedup_corpus(texts: &[String], n: usize, max_cont: f64) -> Vec<usize> {
    let mut post: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut sizes: Vec<usize> = Vec::new();
    let mut kept = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let set = exact_set(t, n);
        if set.is_empty() {
            continue;
        }
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for h in &set {
            if let Some(p) = post.get(h) {
                for &k in p {
                    *counts.entry(k).or_default() += 1;
                }
            }
        }
        let dup = counts
            .iter()
            .any(|(&k, &c)| c as f64 / set.len().min(sizes[k as usize]) as f64 > max_cont);
        if dup {
            continue;
        }
        let k = sizes.len() as u32;
        sizes.push(set.len());
        for h in set {
            post.entry(h).or_default().push(k);
        }
        kept.push(i);
    }
    kept
}

const NAMES: &[&str] = &[
    "john smith",
    "maria garcia",
    "li wei",
    "ahmed hassan",
    "anna ivanova",
    "peter jones",
];
const CITIES: &[&str] = &[
    "london",
    "new york",
    "tokyo",
    "paris",
    "frankfurt",
    "singapore",
    "washington",
];
const MONTHS: &[&str] = &["january", "march", "june", "september", "october"];
const BOILER: &[&str] = &[
    "copyright thomson reuters all rights reserved",
    "this story has not been edited by our staff and is published from a syndicated feed",
    "follow us on twitter and facebook for the latest business news",
    "additional reporting by newsroom staff editing by the business desk",
    "for more news visit our markets section",
];

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

/// A wire-style edited copy of a long story.
fn long_copy(d: &Doc, vocab: &[String], rng: &mut StdRng) -> String {
    let mut units: Vec<String> = if d.paras.len() >= 3 {
        d.paras.clone()
    } else {
        // split sentences roughly: normalised text has no periods left, so
        // cut into ~20-word pieces
        let w = words(&d.paras.join(" "))
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>();
        w.chunks(20).map(|c| c.join(" ")).collect()
    };
    let drop: f64 = rng.random_range(0.0..0.6);
    let keep = ((units.len() as f64 * (1.0 - drop)).ceil() as usize).max(1);
    units.truncate(keep);
    let rate = rng.random_range(0.03..0.05);
    let mut paras: Vec<String> = units
        .iter()
        .map(|p| edit_words(p, rate, vocab, rng))
        .collect();
    let city = CITIES[rng.random_range(0..CITIES.len())];
    let lead = if rng.random_bool(0.5) {
        format!(
            "{} {} {} reuters",
            city,
            MONTHS[rng.random_range(0..MONTHS.len())],
            rng.random_range(1..29)
        )
    } else {
        format!("by {} in {}", NAMES[rng.random_range(0..NAMES.len())], city)
    };
    paras.insert(0, lead);
    if rng.random_bool(0.7) {
        paras.push(BOILER[rng.random_range(0..BOILER.len())].to_string());
    }
    paras.join("\n")
}

/// A lightly edited copy of a short item (title + summary).
fn short_copy(title: &str, summary: &str, vocab: &[String], rng: &mut StdRng) -> (String, String) {
    let mut tw: Vec<String> = words(title).iter().map(|s| s.to_string()).collect();
    match rng.random_range(0..4) {
        0 => {}
        1 if tw.len() > 3 => {
            let i = rng.random_range(0..tw.len());
            tw.remove(i);
        }
        2 => {
            let i = rng.random_range(0..tw.len().max(1));
            if i < tw.len() {
                tw[i] = vocab[rng.random_range(0..vocab.len())].clone();
            }
        }
        _ => tw.insert(
            0,
            ["update", "exclusive", "breaking", "wrapup"][rng.random_range(0..4)].to_string(),
        ),
    }
    let mut sw: Vec<&str> = words(summary);
    if sw.len() > 15 && rng.random_bool(0.3) {
        let cut = rng.random_range(0..4);
        sw.truncate(sw.len() - cut);
    }
    let s = edit_words(&sw.join(" "), 0.03, vocab, rng);
    (tw.join(" "), s)
}

struct Item {
    title: String,
    text: String,
    group: usize,
}

fn run_stream(name: &str, items: &[Item], params: DedupParams, verbose: bool) {
    let mut idx = Index::new(params);
    let fps: Vec<Fingerprint> = items
        .iter()
        .map(|it| {
            fingerprint(&FingerprintInput {
                title: &it.title,
                text: &it.text,
                script: Script::Words,
            })
        })
        .collect();
    let mut seen_groups: HashMap<usize, usize> = HashMap::new();
    let (mut folds, mut correct, mut expected, mut found, mut exact) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut shown = 0;
    let mut shown_miss = 0;
    let mut first: HashMap<usize, usize> = HashMap::new();
    let mut miss: HashMap<&str, usize> = HashMap::new();
    for (i, (it, fp)) in items.iter().zip(&fps).enumerate() {
        let m = idx.find(fp, i as i64);
        let has_pred = seen_groups.contains_key(&it.group);
        if has_pred {
            expected += 1;
        }
        let story = match m {
            Some(m) => {
                folds += 1;
                let g = items[m.article as usize].group;
                if matches!(m.kind, wirefold::dedup::MatchKind::Exact) {
                    exact += 1;
                }
                if g == it.group {
                    correct += 1;
                    if has_pred {
                        found += 1;
                    }
                } else if verbose && shown < 5 {
                    shown += 1;
                    let o = &items[m.article as usize];
                    eprintln!(
                        "FP sim={:.2} shingles {} vs {}\n  A: {} | {}\n  B: {} | {}",
                        m.similarity,
                        fp.shingles,
                        fps[m.article as usize].shingles,
                        it.title,
                        &it.text.chars().take(300).collect::<String>(),
                        o.title,
                        &o.text.chars().take(300).collect::<String>()
                    );
                }
                m.story
            }
            None => i as u64,
        };
        if has_pred && m.is_none_or(|m| items[m.article as usize].group != it.group) {
            // classify the miss against the group's first item
            if let Some(&p) = first.get(&it.group) {
                let o: &Fingerprint = &fps[p];
                let shared = fp
                    .sketch
                    .anchors()
                    .iter()
                    .filter(|a| o.sketch.anchors().contains(a))
                    .count();
                let j = wirefold::fingerprint::jaccard(&fp.sketch, &o.sketch);
                let c = wirefold::fingerprint::containment(j, fp.shingles, o.shingles);
                let (sm, lg) = if fp.shingles <= o.shingles {
                    (fp.sketch.numbers, o.sketch.numbers)
                } else {
                    (o.sketch.numbers, fp.sketch.numbers)
                };
                let extra = (sm & !lg).count_ones();
                let key = if shared == 0 {
                    "no-anchor"
                } else if extra > 0 {
                    "numbers"
                } else {
                    "threshold"
                };
                *miss.entry(key).or_default() += 1;
                if verbose && key != "numbers" && shown_miss < 12 {
                    shown_miss += 1;
                    eprintln!("MISS {key} j={j:.2} c={c:.2} shared={shared} n={} vs {} short={} extra={extra}", fp.shingles, o.shingles, fp.short);
                }
            }
        }
        idx.insert(i as u64, story, fp, i as i64);
        first.entry(it.group).or_insert(i);
        *seen_groups.entry(it.group).or_default() += 1;
    }
    println!(
        "{name}: items={} folds={} (exact {}) precision={:.4} recall={:.4} ({} of {} expected)  bytes/article={:.0}",
        items.len(),
        folds,
        exact,
        correct as f64 / folds.max(1) as f64,
        found as f64 / expected.max(1) as f64,
        found,
        expected,
        idx.approx_bytes() as f64 / idx.len().max(1) as f64
    );
    println!("  misses vs first item of group: {miss:?}");
}

fn build_long(docs: &[Doc], vocab: &[String], seed: u64) -> Vec<Item> {
    let mut rng = StdRng::seed_from_u64(seed);
    let texts: Vec<String> = docs.iter().map(|d| d.paras.join("\n")).collect();
    let long: Vec<usize> = (0..docs.len())
        .filter(|&i| words(&texts[i]).len() >= 80)
        .collect();
    let sub: Vec<String> = long.iter().map(|&i| texts[i].clone()).collect();
    let kept: Vec<usize> = dedup_corpus(&sub, 3, 0.2)
        .into_iter()
        .map(|k| long[k])
        .collect();
    eprintln!(
        "long originals: {} of {} with >=80 words",
        kept.len(),
        long.len()
    );
    let mut items = Vec::new();
    for (g, &i) in kept.iter().enumerate() {
        let d = &docs[i];
        items.push(Item {
            title: d.title.clone(),
            text: texts[i].clone(),
            group: g,
        });
        // first 2000 originals get 1-3 edited copies, the rest are distractors
        if g < 2000 {
            for _ in 0..rng.random_range(1..4) {
                items.push(Item {
                    title: d.title.clone(),
                    text: long_copy(d, vocab, &mut rng),
                    group: g,
                });
            }
        }
    }
    shuffle(&mut items, &mut rng);
    items
}

fn build_short(docs: &[Doc], vocab: &[String], seed: u64) -> Vec<Item> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut base: Vec<(String, String)> = Vec::new();
    for d in docs {
        if d.title.is_empty() {
            continue;
        }
        let w = words(&d.paras[0]);
        let n = w.len().min(rng.random_range(18..40));
        let summary = if rng.random_bool(0.03) {
            String::new()
        } else {
            w[..n].join(" ")
        };
        base.push((d.title.clone(), summary));
    }
    let texts: Vec<String> = base.iter().map(|(t, s)| format!("{t} {s}")).collect();
    let kept = dedup_corpus(&texts, 2, 0.5);
    eprintln!("short originals: {} of {}", kept.len(), base.len());
    let mut items = Vec::new();
    for (g, &i) in kept.iter().enumerate() {
        let (t, s) = &base[i];
        items.push(Item {
            title: t.clone(),
            text: s.clone(),
            group: g,
        });
        if g % 3 == 0 {
            for _ in 0..rng.random_range(1..4) {
                let (ct, cs) = short_copy(t, s, vocab, &mut rng);
                items.push(Item {
                    title: ct,
                    text: cs,
                    group: g,
                });
            }
        }
    }
    shuffle(&mut items, &mut rng);
    items
}

fn shuffle<T>(v: &mut [T], rng: &mut StdRng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_else(|| "/work/shared/corpus/reuters21578".to_string());
    let verbose = args.iter().any(|a| a == "-v");
    let docs = load(&dir);
    let mut vocab: Vec<String> = Vec::new();
    for d in docs.iter().take(3000) {
        for w in words(&d.paras[0]) {
            // edits replace words, they do not invent figures
            if w.bytes().any(|b| b.is_ascii_digit()) {
                continue;
            }
            vocab.push(w.to_string());
        }
    }
    eprintln!("loaded {} docs", docs.len());
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
    let seeds: Vec<u64> = if std::env::var("ONE_SEED").is_ok() {
        vec![1]
    } else {
        vec![1, 2]
    };
    let only_bench = args.iter().any(|a| a == "--only-bench");
    for &seed in seeds.iter().filter(|_| !only_bench) {
        let long = build_long(&docs, &vocab, seed);
        run_stream(
            &format!("long  seed={seed}"),
            &long,
            params.clone(),
            verbose,
        );
        let short = build_short(&docs, &vocab, seed + 100);
        run_stream(
            &format!("short seed={seed}"),
            &short,
            params.clone(),
            verbose,
        );
    }
    if !args.iter().any(|a| a == "--no-bench") {
        bench(params);
    }
}
