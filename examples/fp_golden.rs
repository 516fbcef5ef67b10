//! Golden digest of normalize + fingerprint over the Reuters-21578 corpus: proves that a
//! speed change leaves the output bit-identical (issue 4).
//!
//! Every document goes through three variants (HTML paragraphs with a declared language,
//! plain paragraphs, the first paragraph as a summary only), and the `Debug` form of each
//! `Article` and its fingerprint is hashed with xxh3-128. A second digest covers the lead
//! fingerprints of the long items (rule 3b's view of an article) as the fold makes them, from
//! the article's own scan (`fold::fingerprint_article_and_lead`); each is also checked against
//! `fold::lead_fingerprint`, which fingerprints the lead's text on its own.
//!
//! ```text
//! cargo run --release --example fp_golden [-- /path/to/reuters21578]
//! ```
//!
//! The directory defaults to `reuters21578` of the shared corpus the eval finds. Compare the
//! printed digest before and after a change (`BENCHMARKS.md`, issue 4, gives the current one).

use std::path::PathBuf;

use anyhow::Context;
use wirefold::normalize::{normalize, NormalizeOptions, RawEntry};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| wirefold::eval::command::default_corpus().map(|c| c.join("reuters21578")))
        .context("no shared corpus found: pass the reuters21578 directory")?;
    let docs = wirefold::eval::reuters::load(&dir)
        .with_context(|| format!("loading the Reuters corpus from {}", dir.display()))?;
    anyhow::ensure!(!docs.is_empty(), "no documents in {}", dir.display());
    // A fixed clock: the digest must not depend on when it runs.
    let opts = NormalizeOptions::new(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut leads = xxhash_rust::xxh3::Xxh3::new();
    let mut items = 0usize;
    let mut differ = 0usize;
    let started = std::time::Instant::now();
    for doc in &docs {
        for variant in 0..3 {
            let body: String = match variant {
                0 => doc
                    .paras
                    .iter()
                    .map(|p| format!("<p>{}</p>\n", html_escape::encode_text(p)))
                    .collect(),
                1 => doc.paras.join("\n\n"),
                _ => doc.paras.first().cloned().unwrap_or_default(),
            };
            let (content, summary) = if variant == 2 {
                (None, Some(body))
            } else {
                (Some(body), None)
            };
            let raw = RawEntry {
                title: Some(format!("{} - Reuters", doc.title)),
                content,
                summary,
                language: (variant == 0).then(|| "en".to_owned()),
                ..RawEntry::default()
            };
            let article = normalize(&raw, &opts);
            let fp = wirefold::fold::fingerprint_article(&article);
            hasher.update(format!("{article:?}{fp:?}").as_bytes());
            let (fp_too, lead) = wirefold::fold::fingerprint_article_and_lead(&article);
            let reference = wirefold::fold::lead_fingerprint(&article, &fp);
            if fp_too != fp || lead != reference {
                differ += 1;
            }
            leads.update(format!("{lead:?}").as_bytes());
            items += 1;
        }
    }
    println!(
        "{items} items digest {:032x} leads {:032x} in {:.2}s",
        hasher.digest128(),
        leads.digest128(),
        started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(
        differ == 0,
        "{differ} items whose fingerprint or lead differs between the one-scan and the separate computation"
    );
    Ok(())
}
