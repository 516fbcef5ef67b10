//! Real feeds: the shared captures (`news/gesab001-headlines/`) replayed in capture order as
//! successive polls of each outlet through parse → normalize → [`Folder::fold`] on a real
//! store (a temporary directory), then scored on hand-labeled cross-feed pairs.
//!
//! # Labels
//! `eval/gesab001-pairs.tsv` (our own file): `outlet_a key_a outlet_b key_b label rule`,
//! keys being wirefold's entry keys (`g:GUID` or `u:URL`). The rules we labeled by:
//! - **same** — `copy`: one outlet reposts another's item (same text, maybe another
//!   headline); `agency`: one agency report under two mastheads, headlines rewritten;
//!   `feed`: the same item in two feeds of one outlet;
//! - **different** — `date`: a daily template that differs only by a date ("live updates for
//!   17 September" / "15 September"); `number`: a template that differs by a figure
//!   ("20 new cases" / "11 new cases"); `followup`: a follow-up with a new main fact;
//!   `topic`: the same topic, different reports.
//!
//! Copy recall = same pairs folded into one story / same pairs; false merges = different
//! pairs in one story / different pairs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::dedup::DedupParams;
use crate::fold::Folder;
use crate::ingest::fold_entries;
use crate::normalize::NormalizeOptions;
use crate::parse::parse_feed_at;
use crate::storage::{Store, StoreError};

/// One capture of `index.tsv`.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Outlet (feed) name.
    pub outlet: String,
    /// File under the captures directory.
    pub file: PathBuf,
    /// Capture time.
    pub at: DateTime<Utc>,
    /// The feed's URL.
    pub url: String,
}

/// Reads `index.tsv` of `dir`, sorted by capture time.
pub fn captures(dir: &Path) -> std::io::Result<Vec<Capture>> {
    let index = std::fs::read_to_string(dir.join("index.tsv"))?;
    let mut out: Vec<Capture> = index
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let at = DateTime::parse_from_rfc3339(f.get(3)?).ok()?;
            Some(Capture {
                outlet: (*f.first()?).to_owned(),
                file: dir.join(f.get(1)?),
                at: at.with_timezone(&Utc),
                url: (*f.get(6)?).to_owned(),
            })
        })
        .collect();
    out.sort_by_key(|c| c.at);
    Ok(out)
}

/// Where one entry ended up.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Outlet.
    pub outlet: String,
    /// Entry key.
    pub key: String,
    /// Display title.
    pub title: String,
    /// First sighting.
    pub at: DateTime<Utc>,
}

/// Totals of a replay.
#[derive(Debug, Default, Clone)]
pub struct Replay {
    /// Captures read.
    pub captures: usize,
    /// Captures that were not a readable feed.
    pub parse_errors: usize,
    /// Entries seen over all polls.
    pub seen: usize,
    /// New stories.
    pub new: usize,
    /// Copies folded into an existing story.
    pub copies: usize,
    /// Updated in place.
    pub updated: usize,
    /// Unchanged.
    pub unchanged: usize,
    /// Captures whose entries were those their outlet's last folded capture held: counted
    /// unchanged without being normalized or folded, as the daemon does (`fold/polls.rs`).
    pub skipped: usize,
    /// Wall time.
    pub secs: f64,
}

/// Replays `caps` into a fresh store at `store_dir`; returns the folder (for lookups) and the
/// totals.
pub fn replay(
    caps: &[Capture],
    store_dir: &Path,
    params: &DedupParams,
) -> Result<(Folder, Store, Replay), StoreError> {
    let store = Store::open(store_dir, std::time::Duration::from_secs(60))?;
    let start = caps.first().map_or(0, |c| c.at.timestamp_millis());
    let folder = Folder::open(store.clone(), params.clone(), start)?;
    let mut r = Replay::default();
    let t0 = Instant::now();
    let mut last_evict = start;
    for c in caps {
        r.captures += 1;
        let Ok(bytes) = std::fs::read(&c.file) else {
            r.parse_errors += 1;
            continue;
        };
        let Ok(mut feed) = parse_feed_at(&bytes, &c.url, None, c.at) else {
            r.parse_errors += 1;
            continue;
        };
        let now = c.at.timestamp_millis();
        if now - last_evict > 3_600_000 {
            folder.evict(now);
            last_evict = now;
        }
        // as the ingest folds a poll (`ingest::fold_entries`): entries the outlet's last
        // capture folded skipped, language once per feed, titles cut, repeated keys
        // suffixed, the poll's articles folded in one go
        r.seen += feed.entries.len();
        match fold_entries(&folder, &c.outlet, &mut feed.entries, c.at, || {
            NormalizeOptions::new(c.at)
        })? {
            None => {
                r.skipped += 1;
                r.unchanged += feed.entries.len();
            }
            Some(counts) => {
                r.new += counts.new as usize;
                r.copies += counts.copies as usize;
                r.updated += counts.updated as usize;
                r.unchanged += counts.unchanged as usize;
            }
        }
    }
    r.secs = t0.elapsed().as_secs_f64();
    Ok((folder, store, r))
}

/// One labeled pair.
#[derive(Debug, Clone)]
pub struct Pair {
    /// First item: outlet and key.
    pub a: (String, String),
    /// Second item.
    pub b: (String, String),
    /// Labeled the same story.
    pub same: bool,
    /// The rule it was labeled by.
    pub rule: String,
}

/// Reads a labels file (see the module docs); `#` starts a comment line.
pub fn read_pairs(path: &Path) -> std::io::Result<Vec<Pair>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some(Pair {
                a: ((*f.first()?).to_owned(), (*f.get(1)?).to_owned()),
                b: ((*f.get(2)?).to_owned(), (*f.get(3)?).to_owned()),
                same: *f.get(4)? == "same",
                rule: f.get(5).copied().unwrap_or("").to_owned(),
            })
        })
        .collect())
}

/// Story of a stored entry.
pub fn story_of(store: &Store, outlet: &str, key: &str) -> Result<Option<u64>, StoreError> {
    let Some(id) = store.article_id_by_key(outlet, key)? else {
        return Ok(None);
    };
    Ok(store.article(id)?.map(|a| a.story))
}

/// Scores of the labeled pairs.
#[derive(Debug, Default, Clone)]
pub struct PairScores {
    /// Same pairs found in one story.
    pub same_folded: usize,
    /// Same pairs.
    pub same: usize,
    /// Different pairs found in one story.
    pub diff_merged: usize,
    /// Different pairs.
    pub diff: usize,
    /// Pairs whose items were not in the store.
    pub missing: usize,
    /// The pairs that went wrong, for the report.
    pub wrong: Vec<String>,
}

/// Scores `pairs` against the replayed store.
pub fn score_pairs(store: &Store, pairs: &[Pair]) -> Result<PairScores, StoreError> {
    let mut s = PairScores::default();
    for p in pairs {
        let (Some(x), Some(y)) = (
            story_of(store, &p.a.0, &p.a.1)?,
            story_of(store, &p.b.0, &p.b.1)?,
        ) else {
            s.missing += 1;
            continue;
        };
        let together = x == y;
        if p.same {
            s.same += 1;
            s.same_folded += usize::from(together);
        } else {
            s.diff += 1;
            s.diff_merged += usize::from(together);
        }
        if together != p.same {
            s.wrong.push(format!(
                "{} {} {} / {} {}",
                if p.same { "missed" } else { "merged" },
                p.a.0,
                p.a.1,
                p.b.0,
                p.b.1
            ));
        }
    }
    Ok(s)
}

/// Every stored article: outlet, key, story, title, first sighting (for labeling).
pub fn all_articles(store: &Store) -> Result<Vec<(Seen, u64)>, StoreError> {
    let mut out = Vec::new();
    for a in store.articles_from(0) {
        let a = a?;
        let at = DateTime::<Utc>::from_timestamp_millis(a.first_seen).unwrap_or_default();
        out.push((
            Seen {
                outlet: a.source,
                key: a.key,
                title: a.title,
                at,
            },
            a.story,
        ));
    }
    Ok(out)
}

/// Stories holding items of more than one outlet: story → its items.
pub fn cross_feed_stories(arts: &[(Seen, u64)]) -> HashMap<u64, Vec<&Seen>> {
    let mut m: HashMap<u64, Vec<&Seen>> = HashMap::new();
    for (s, story) in arts {
        m.entry(*story).or_default().push(s);
    }
    m.retain(|_, v| {
        let first = &v[0].outlet;
        v.iter().any(|s| &s.outlet != first)
    });
    m
}
