//! What each source's last folded poll held, so that a body whose entries did not change is
//! not normalized, fingerprinted and folded again.
//!
//! Many feeds send neither `ETag` nor `Last-Modified`, or change them on every request (a
//! `lastBuildDate` stamped at render time): every poll then returns a whole body, and before
//! this every entry of it went through normalization, fingerprinting and the fold lock only to
//! be found unchanged. The parse stage's entries are hashed instead ([`entries_digest`]); when
//! the digest is the one the source's last *folded* poll had, the poll folds nothing.
//!
//! Skipping is safe because a fold of the same entries against the same store decides
//! "unchanged" for every entry: each was stored by that poll (or was already), or is
//! tombstoned. What can change that in between:
//! - retention deletes an article still in the feed: its tombstone must be seen again
//!   before it expires ([`crate::storage::Store::tombstoned`] refreshes it). So an entry is
//!   skipped only within [`RECHECK`] of the source's last full fold, far below the shortest
//!   tombstone life (one day, `retention::tombstone_ttl`); and a source with tombstones
//!   that has answered only 304s (or the same entries) for [`RECHECK`] is asked without
//!   validators (`ingest::poll`, by the time kept in its state), so that its body is
//!   folded in full;
//! - the store drops unflushed writes when it reopens after a failure
//!   ([`super::Folder::reload`]): every digest is forgotten then, and a fold that overlapped
//!   the reload records nothing;
//! - a restart: digests live in memory only, so the first poll after a start folds in full.
//!
//! The normalization rules cannot change while a `Folder` lives (they are set once, see
//! `Folder::use_rules`). Dates an entry lacks are taken from the clock, but the fold compares
//! an existing article's content hash, title and URL only, so they do not matter here; a
//! date too far ahead, clamped, is replaced once in range, and [`entries_digest`] hashes
//! which side of that line each date lies on.
//!
//! Memory: one entry per source polled with a body, ~20 bytes (10,000 sources: ~0.3 MB).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::normalize::RawEntry;
use crate::storage::Millis;

/// How long after a source's last full fold an identical body is skipped: a quarter of the
/// shortest tombstone life, so that an entry deleted by retention while still in its feed
/// is seen again (and its tombstone kept) long before the tombstone could expire.
pub const RECHECK: Millis = 6 * 60 * 60 * 1000;

/// A digest of everything normalization reads of a poll's entries, in order. Bumping
/// `VERSION` (or the fields hashed) only costs one full fold per source.
///
/// Normalization also reads the clock, for one thing the fold keeps: whether a date lies too
/// far ahead to be taken ([`crate::normalize::MAX_FUTURE`]; clamped to first seen, and
/// replaced by the feed's date once in range). Which side of that line each date lies on
/// at `now` is hashed too, so a date coming within range folds the poll in full.
pub fn entries_digest(entries: &[RawEntry], now: chrono::DateTime<chrono::Utc>) -> u64 {
    let limit = now.checked_add_signed(crate::normalize::MAX_FUTURE);
    let ahead =
        |d: &Option<chrono::DateTime<chrono::Utc>>| d.is_some_and(|d| limit.is_some_and(|l| d > l));
    const VERSION: u64 = 2;
    let mut h = Xxh3::new();
    h.update(&VERSION.to_le_bytes());
    h.update(&(entries.len() as u64).to_le_bytes());
    let text = |h: &mut Xxh3, s: Option<&str>| match s {
        None => h.update(&[0]),
        Some(s) => {
            h.update(&[1]);
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
    };
    let date = |h: &mut Xxh3, d: Option<chrono::DateTime<chrono::Utc>>| match d {
        None => h.update(&[0]),
        Some(d) => {
            h.update(&[1]);
            h.update(&d.timestamp().to_le_bytes());
            h.update(&d.timestamp_subsec_nanos().to_le_bytes());
        }
    };
    for e in entries {
        // Every field, named: one added to `RawEntry` does not compile here until it is
        // hashed (the plain-text marks were not, and an Atom title changed from
        // `type="text"` to `type="html"` kept its escaped tags until the recheck).
        let RawEntry {
            guid,
            link,
            title,
            summary,
            content,
            published,
            updated,
            authors,
            language,
            plain:
                crate::normalize::PlainText {
                    title: plain_title,
                    summary: plain_summary,
                    content: plain_content,
                },
        } = e;
        text(&mut h, guid.as_deref());
        text(&mut h, link.as_deref());
        text(&mut h, title.as_deref());
        text(&mut h, summary.as_deref());
        text(&mut h, content.as_deref());
        date(&mut h, *published);
        date(&mut h, *updated);
        h.update(&(authors.len() as u64).to_le_bytes());
        for a in authors {
            text(&mut h, Some(a));
        }
        text(&mut h, language.as_deref());
        h.update(&[
            u8::from(*plain_title),
            u8::from(*plain_summary),
            u8::from(*plain_content),
        ]);
        h.update(&[u8::from(ahead(published)), u8::from(ahead(updated))]);
    }
    h.digest()
}

#[derive(Debug, Clone, Copy)]
struct Folded {
    digest: u64,
    /// When the entries were last folded in full.
    at: Millis,
}

#[derive(Debug, Default)]
struct Inner {
    /// By the xxh3 of the source name (a source's name is its identity in the store).
    by_source: HashMap<u64, Folded>,
    /// Bumped by [`FoldedPolls::forget_all`]: a fold that started before cannot be recorded.
    generation: u64,
}

/// The digest of each source's last fully folded poll (see the module docs).
#[derive(Debug, Default)]
pub struct FoldedPolls(Mutex<Inner>);

/// Taken before a fold, handed to [`FoldedPolls::record`] after it.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl FoldedPolls {
    /// Makes every fold remembered `by` older (tests: six hours in a moment).
    #[cfg(test)]
    pub fn age(&self, by: Millis) {
        let mut inner = self.inner();
        for f in inner.by_source.values_mut() {
            f.at -= by;
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Plain data, consistent after every statement: a panic elsewhere cannot tear it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `source`'s entries with `digest` were folded in full at most [`RECHECK`]
    /// before `now` (and not after it: a clock stepped back folds again).
    pub fn unchanged(&self, source: &str, digest: u64, now: Millis) -> bool {
        self.inner()
            .by_source
            .get(&xxh3_64(source.as_bytes()))
            .is_some_and(|f| f.digest == digest && (0..RECHECK).contains(&(now - f.at)))
    }

    /// Before folding a poll's entries.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.inner().generation)
    }

    /// After every entry of `source`'s poll with `digest` was folded at `now` (and written):
    /// remembered unless [`FoldedPolls::forget_all`] ran since `ticket` was taken.
    pub fn record(&self, ticket: Ticket, source: &str, digest: u64, now: Millis) {
        let mut inner = self.inner();
        if inner.generation == ticket.0 {
            inner
                .by_source
                .insert(xxh3_64(source.as_bytes()), Folded { digest, at: now });
        }
    }

    /// Forgets every digest: the store no longer holds what they describe.
    pub fn forget_all(&self) {
        let mut inner = self.inner();
        inner.generation += 1;
        inner.by_source.clear();
    }

    /// Sources remembered.
    pub fn len(&self) -> usize {
        self.inner().by_source.len()
    }

    /// Whether no source is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(title: &str) -> RawEntry {
        RawEntry {
            guid: Some("g1".into()),
            title: Some(title.into()),
            summary: Some("<p>Text</p>".into()),
            ..RawEntry::default()
        }
    }

    #[test]
    fn the_digest_sees_every_field_normalization_reads() {
        let now = chrono::Utc::now();
        let base = entry("Storm");
        let d = entries_digest(std::slice::from_ref(&base), now);
        assert_eq!(d, entries_digest(&[entry("Storm")], now));
        let variants: Vec<RawEntry> = vec![
            RawEntry {
                guid: None,
                ..base.clone()
            },
            RawEntry {
                link: Some("https://example.test/a".into()),
                ..base.clone()
            },
            entry("Storm!"),
            RawEntry {
                summary: Some("<p>Text.</p>".into()),
                ..base.clone()
            },
            RawEntry {
                content: Some(String::new()),
                ..base.clone()
            },
            RawEntry {
                published: chrono::DateTime::from_timestamp(1, 0),
                ..base.clone()
            },
            RawEntry {
                updated: chrono::DateTime::from_timestamp(0, 1),
                ..base.clone()
            },
            RawEntry {
                authors: vec!["A. Writer".into()],
                ..base.clone()
            },
            RawEntry {
                language: Some("en".into()),
                ..base.clone()
            },
        ];
        let plain = |title, summary, content| RawEntry {
            plain: crate::normalize::PlainText {
                title,
                summary,
                content,
            },
            ..base.clone()
        };
        let variants: Vec<RawEntry> = variants
            .into_iter()
            .chain([
                plain(true, false, false),
                plain(false, true, false),
                plain(false, false, true),
            ])
            .collect();
        for v in &variants {
            assert_ne!(entries_digest(std::slice::from_ref(v), now), d, "{v:?}");
        }
        // Order and boundaries count: the same entries in another order, or text moved from
        // one field to the next, are other bodies.
        let (a, b) = (entry("A"), entry("B"));
        assert_ne!(
            entries_digest(&[a.clone(), b.clone()], now),
            entries_digest(&[b, a], now)
        );
        let split = |t: &str, s: &str| RawEntry {
            title: Some(t.into()),
            summary: Some(s.into()),
            ..RawEntry::default()
        };
        assert_ne!(
            entries_digest(&[split("ab", "c")], now),
            entries_digest(&[split("a", "bc")], now)
        );
        assert_ne!(
            entries_digest(&[], now),
            entries_digest(&[RawEntry::default()], now)
        );
        // The clock, only where a date crosses the line past which it is clamped: a date
        // coming within range folds in full (its stand-in gives way), else the same.
        let dated = RawEntry {
            published: Some(now + chrono::Duration::hours(30)),
            ..base.clone()
        };
        let at = |h: i64| {
            entries_digest(
                std::slice::from_ref(&dated),
                now + chrono::Duration::hours(h),
            )
        };
        assert_eq!(at(0), at(5));
        assert_ne!(at(5), at(7));
        assert_eq!(at(7), at(12));
    }

    #[test]
    fn a_digest_holds_for_its_source_until_the_recheck_and_not_across_a_forget() {
        let polls = FoldedPolls::default();
        assert!(!polls.unchanged("a", 7, 1_000));
        let t = polls.ticket();
        polls.record(t, "a", 7, 1_000);
        assert!(polls.unchanged("a", 7, 1_000));
        assert!(polls.unchanged("a", 7, 1_000 + RECHECK - 1));
        assert!(!polls.unchanged("a", 7, 1_000 + RECHECK), "recheck due");
        assert!(!polls.unchanged("a", 7, 999), "clock stepped back");
        assert!(!polls.unchanged("a", 8, 1_000), "other entries");
        assert!(!polls.unchanged("b", 7, 1_000), "other source");

        // A fold that overlapped a forget (a store reopened after a failure) is not recorded.
        let t = polls.ticket();
        polls.forget_all();
        assert!(!polls.unchanged("a", 7, 1_000));
        polls.record(t, "b", 7, 1_000);
        assert!(polls.is_empty());
        polls.record(polls.ticket(), "b", 7, 1_000);
        assert_eq!(polls.len(), 1);
    }

    /// An entry deleted by retention while still in its feed keeps its tombstone only if a
    /// full fold sees it before the tombstone expires: the longest a tombstone then goes
    /// unseen (a recheck, one poll interval below the recheck, the refresh's own granularity)
    /// stays under the shortest tombstone life.
    #[test]
    fn the_recheck_comes_well_before_a_tombstone_could_expire() {
        let shortest = crate::retention::tombstone_ttl(Duration::ZERO).as_millis() as Millis;
        assert!(2 * RECHECK + crate::storage::TOMBSTONE_TOUCH_MS < shortest);
    }
}
