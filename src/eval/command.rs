//! `wirefold eval`: runs the labeled sets and prints a Markdown table (and, for `feeds`, the
//! replay totals and the labeled-pair scores).

use std::path::{Path, PathBuf};

use super::peer::PeerConfig;
use super::{evaluate, feeds, fixtures, reuters, EvalOptions, HEADER};
use crate::dedup::DedupParams;

/// Which sets to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SetName {
    /// Reuters-21578 with seeded wire-style edits (long and short items).
    ReutersEdits,
    /// Reuters-21578 as it is, natural near-duplicates labeled by rule.
    ReutersNatural,
    /// The shared wire story and our own fixtures.
    Wire,
    /// Replay of the captured real feeds, scored on labeled pairs.
    Feeds,
    /// All of the above.
    All,
}

/// Arguments of `wirefold eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The shared corpus directory (default: ../shared/corpus or ../../shared/corpus next to
    /// the source tree).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// Sets to run.
    #[arg(long, value_enum, default_value = "all")]
    pub set: SetName,
    /// Seeds of the edit generator (one run per seed).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub seed: Vec<u64>,
    /// Skip the datasketch side-by-side run.
    #[arg(long)]
    pub no_peer: bool,
    /// The peer's script.
    #[arg(long, default_value = "scripts/datasketch_eval.py")]
    pub peer_script: PathBuf,
    /// Labeled cross-feed pairs.
    #[arg(long, default_value = "eval/gesab001-pairs.tsv")]
    pub labels: PathBuf,
    /// Print cross-feed stories (for labeling) after the feed replay.
    #[arg(long)]
    pub list_cross: bool,
    /// Write every replayed article as JSON Lines here (outlet, key, story, title, text,
    /// first seen), for finding pairs to label.
    #[arg(long, value_name = "PATH")]
    pub dump_articles: Option<PathBuf>,
}

/// The shared corpus without `--corpus`: `../shared/corpus` from the working directory `cwd`
/// (the README runs the eval from the repository root), else next to the source tree the
/// binary was built from (`../shared/corpus`, or `../../shared/corpus` from a checkout one
/// level deeper), so that a binary built in another checkout finds the corpus too. The error
/// names every place looked at.
fn find_corpus(cwd: Option<&Path>) -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut looked: Vec<PathBuf> = cwd
        .map(|d| d.join("../shared/corpus"))
        .into_iter()
        .collect();
    looked.push(root.join("../shared/corpus"));
    looked.push(root.join("../../shared/corpus"));
    if let Some(found) = looked.iter().find(|p| p.is_dir()) {
        return Ok(found.clone());
    }
    let looked: Vec<_> = looked.iter().map(|p| p.display().to_string()).collect();
    anyhow::bail!(
        "no corpus directory at {}: pass --corpus DIR",
        looked.join(", ")
    )
}

/// The shared corpus [`run`] would read without `--corpus`, if there is one.
pub fn default_corpus() -> Option<PathBuf> {
    find_corpus(std::env::current_dir().ok().as_deref()).ok()
}

/// Runs the command; returns an error message for the exit path.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let corpus = match args.corpus.clone() {
        Some(dir) => dir,
        None => find_corpus(std::env::current_dir().ok().as_deref())?,
    };
    let opts = EvalOptions {
        params: DedupParams::default(),
        peer: (!args.no_peer).then(|| PeerConfig {
            script: args.peer_script.clone(),
            ..PeerConfig::default()
        }),
    };
    let want = |s: SetName| args.set == s || args.set == SetName::All;
    let mut rows = Vec::new();
    if want(SetName::Wire) {
        rows.extend(evaluate(fixtures::set(&corpus), &opts));
    }
    if want(SetName::ReutersEdits) || want(SetName::ReutersNatural) {
        let t = std::time::Instant::now();
        let docs = reuters::load(&corpus.join("reuters21578"))?;
        let labels = reuters::natural_labels(&docs);
        let stories = labels.iter().enumerate().filter(|(i, l)| i == *l).count();
        crate::cli::note(format_args!(
            "reuters: {} records, {} natural stories ({} records are re-sends/corrections), labeled in {:.1}s",
            docs.len(),
            stories,
            docs.len() - stories,
            t.elapsed().as_secs_f64()
        ));
        if want(SetName::ReutersEdits) {
            for &seed in &args.seed {
                let (long, short) = reuters::edits(&docs, &labels, seed);
                rows.extend(evaluate(long, &opts));
                rows.extend(evaluate(short, &opts));
            }
        }
        if want(SetName::ReutersNatural) {
            rows.extend(evaluate(reuters::natural(&docs), &opts));
        }
    }
    if !rows.is_empty() {
        crate::cli::say(format_args!("{HEADER}"))?;
        for r in &rows {
            crate::cli::say(format_args!("{r}"))?;
        }
    }
    if want(SetName::Feeds) {
        run_feeds(&corpus, &args, &opts.params)?;
    }
    Ok(())
}

fn run_feeds(corpus: &Path, args: &EvalArgs, params: &DedupParams) -> anyhow::Result<()> {
    let dir = corpus.join("news/gesab001-headlines");
    let caps = feeds::captures(&dir)?;
    let store_dir =
        std::env::temp_dir().join(format!("wirefold-eval-feeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store_dir);
    let result = (|| -> anyhow::Result<()> {
        let (folder, store, r) = feeds::replay(&caps, &store_dir, params)?;
        drop(folder);
        crate::cli::say(format_args!(
            "\nfeeds replay: {} captures ({} not a feed, {} with the entries already folded), {} entries seen: {} new stories, {} copies, {} updated, {} unchanged; {:.1}s",
            r.captures, r.parse_errors, r.skipped, r.seen, r.new, r.copies, r.updated, r.unchanged, r.secs
        ))?;
        let arts = feeds::all_articles(&store)?;
        let cross = feeds::cross_feed_stories(&arts);
        crate::cli::say(format_args!(
            "stored articles: {}, cross-feed stories: {}",
            arts.len(),
            cross.len()
        ))?;
        if args.list_cross {
            let mut v: Vec<_> = cross.iter().collect();
            v.sort_by_key(|(id, _)| **id);
            for (id, items) in v {
                crate::cli::say(format_args!("story {id}"))?;
                for s in items {
                    crate::cli::say(format_args!(
                        "  {}\t{}\t{}\t{}",
                        s.outlet,
                        s.key,
                        s.at.format("%Y-%m-%d %H:%M"),
                        s.title
                    ))?;
                }
            }
        }
        if let Some(path) = &args.dump_articles {
            use std::io::Write;
            let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
            for a in store.articles_from(0) {
                let a = a?;
                let line = serde_json::json!({"outlet": a.source, "key": a.key, "story": a.story,
                    "title": a.title, "text": a.text, "first_seen": a.first_seen});
                writeln!(f, "{line}")?;
            }
        }
        match feeds::read_pairs(&args.labels) {
            Ok(pairs) => {
                let s = feeds::score_pairs(&store, &pairs)?;
                crate::cli::say(format_args!(
                    "labeled pairs ({}): copy recall {}/{} = {:.3}; false merges {}/{} = {:.3}; {} pairs not found",
                    args.labels.display(),
                    s.same_folded,
                    s.same,
                    s.same_folded as f64 / s.same.max(1) as f64,
                    s.diff_merged,
                    s.diff,
                    s.diff_merged as f64 / s.diff.max(1) as f64,
                    s.missing
                ))?;
                for w in &s.wrong {
                    crate::cli::say(format_args!("  {w}"))?;
                }
            }
            Err(e) => crate::cli::note(format_args!("{}: {e}", args.labels.display())),
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&store_dir);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run from a repository root with the corpus beside it, the eval finds that corpus
    /// first, wherever the binary was built.
    #[test]
    fn the_corpus_beside_the_working_directory_is_found_first() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, corpus) = (dir.path().join("repo"), dir.path().join("shared/corpus"));
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::create_dir_all(&corpus).unwrap();
        let found = find_corpus(Some(&repo)).unwrap();
        assert_eq!(
            found.canonicalize().unwrap(),
            corpus.canonicalize().unwrap()
        );
        // Nowhere near the working directory: the one next to the source tree, if any; the
        // error, if none, names where it looked.
        let elsewhere = dir.path().join("shared/corpus");
        match find_corpus(Some(&elsewhere)) {
            Ok(p) => assert!(p.starts_with(env!("CARGO_MANIFEST_DIR")), "{p:?}"),
            Err(e) => assert!(
                e.to_string().contains("shared/corpus/../shared/corpus"),
                "{e}"
            ),
        }
    }
}
