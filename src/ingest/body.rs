//! What a fetched body becomes: parsed ([`ingest_body`]), its entries normalized (titles cut,
//! repeated GUIDs made unique) and folded in one go ([`fold_entries`]) unless they are the
//! ones the source's last poll folded, and the feed's publishing rate ([`entry_gap`]).
//! Blocking work, run on the CPU threads.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::warn;

use super::{FeedInfo, IngestContext, PollError, PollSummary};
use crate::fold::polls::entries_digest;
use crate::fold::{Decision, Folder};
use crate::normalize::{Article, FeedLanguage, NormalizeOptions, RawEntry, Rules};
use crate::parse::parse_feed;
use crate::storage::StoreError;

/// Longest title kept, in characters (longer ones are cut, with `…`).
pub const MAX_TITLE_CHARS: usize = 1000;

/// Longest article text kept, in bytes (cut on a character boundary, with `…`): a long read
/// is a few tens of KiB; a hostile or broken feed's megabytes would be stored, indexed by
/// nothing and served whole. The fingerprints are taken from the whole text before.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// Most entries one poll folds. A news feed lists tens to hundreds; an archive feed a few
/// thousand. A broken or hostile one can list 100,000 small items within
/// `fetch.max_body_bytes`, and folding them all took seconds of a CPU thread and hundreds of
/// MB at each poll. The newest are kept ([`keep_newest`]).
pub const MAX_ENTRIES_PER_POLL: usize = 5_000;

/// Keeps the `max` newest of `entries`, in their document order, and says how many were
/// left out. Newest by published (else updated) date; an undated entry counts as newest, as
/// the ingest dates it when it first sees it (so does one dated by a placeholder such as
/// 1 January 1970, which the ingest reads as no date); equal dates keep the feed's order.
pub fn keep_newest(entries: &mut Vec<RawEntry>, max: usize) -> usize {
    let total = entries.len();
    if total <= max {
        return 0;
    }
    let real = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.filter(|d| !crate::normalize::date::is_placeholder(*d))
    };
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| {
        let e = &entries[i];
        (
            std::cmp::Reverse(
                real(e.published)
                    .or(real(e.updated))
                    .map_or(i64::MAX, |d| d.timestamp_millis()),
            ),
            i,
        )
    });
    let mut keep = vec![false; total];
    for &i in &order[..max] {
        keep[i] = true;
    }
    let mut at = 0;
    entries.retain(|_| {
        at += 1;
        keep[at - 1]
    });
    total - max
}

fn cut_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        s.truncate(crate::normalize::boilerplate::floor_boundary(s, max));
        s.push('…');
    }
}

/// The longest feed title kept, in characters.
const FEED_TITLE_CHARS: usize = 200;

/// A feed's own title as it is kept with the source's state and shown beside it (/status,
/// the page, the log): as the feed gave it, escaped there, but without what a source name
/// may not hold either (a direction override reversed its cell on the page, an escape
/// reached a terminal), and cut at [`FEED_TITLE_CHARS`]: a 50 KB title was stored with
/// every poll's state and served whole in every /status (observability audit, session 66).
fn feed_title(raw: String) -> Option<String> {
    let mut title = raw.replace(crate::config::unprintable, "");
    cut_chars(&mut title, FEED_TITLE_CHARS);
    (!title.trim().is_empty()).then_some(title)
}

fn cut_chars(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
        s.push('…');
    }
}

/// Parses, normalizes and folds a fetched body. Blocking.
pub fn ingest_body(
    ctx: &IngestContext,
    source: &str,
    body: &[u8],
    url: &str,
    content_type: Option<&str>,
) -> Result<(PollSummary, FeedInfo), PollError> {
    // Links are read against the feed's URL without its credentials: a link that is only a
    // fragment, or empty, is the feed's own URL, and would be stored with them.
    let base = crate::config::without_credentials(url);
    let mut feed = parse_feed(body, &base, content_type)?;
    let left_out = keep_newest(&mut feed.entries, MAX_ENTRIES_PER_POLL);
    if left_out > 0 {
        warn!(
            source,
            entries = feed.entries.len() + left_out,
            left_out,
            "the feed lists more entries than one poll folds; the oldest are left out"
        );
    }
    if feed.replaced_bytes {
        warn!(
            source,
            encoding = feed.encoding,
            "bytes invalid in the feed's encoding were replaced (U+FFFD; in UTF-8, read as windows-1252)"
        );
    }
    let now = Utc::now();
    let info = FeedInfo {
        entry_gap: entry_gap(&feed.entries, now),
        title: feed.title.and_then(feed_title),
        ttl_minutes: feed.ttl_minutes,
        skip_hours: feed.skip_hours,
        skip_days: feed.skip_days,
        encoding: feed.encoding,
    };
    let folded = fold_entries(&ctx.folder, source, &mut feed.entries, now, || {
        NormalizeOptions {
            now,
            max_future: crate::normalize::MAX_FUTURE,
            rules: ctx.rules.clone().unwrap_or_else(Rules::shared_default),
            detect_language: true,
        }
    })?;
    let summary = folded.unwrap_or_else(|| {
        crate::metrics::unchanged_body();
        let seen = feed.entries.len() as u64;
        PollSummary {
            seen,
            unchanged: seen,
            body_unchanged: true,
            ..PollSummary::default()
        }
    });
    Ok((summary, info))
}

/// Normalizes and folds the entries of one poll of `source`, unless they are the ones its
/// last poll folded (`fold/polls.rs`): then `None`, and nothing is normalized (`opts` is not
/// called) or folded. Otherwise the poll's counts (every entry is new, a copy, updated or
/// unchanged). A feed without working validators sends the same entries again and
/// again. The daemon and the eval's feed replay both fold a poll through here.
pub fn fold_entries(
    folder: &Folder,
    source: &str,
    entries: &mut [RawEntry],
    now: DateTime<Utc>,
    opts: impl FnOnce() -> NormalizeOptions,
) -> Result<Option<PollSummary>, StoreError> {
    let digest = entries_digest(entries, now);
    let at = now.timestamp_millis();
    if folder.poll_unchanged(source, digest, at) {
        return Ok(None);
    }
    let articles = normalize_entries(entries, &opts());
    let mut counts = PollSummary {
        seen: entries.len() as u64,
        ..PollSummary::default()
    };
    // One lock and one store transaction for the whole poll: per-article transactions made
    // folding the bottleneck of ingestion.
    for d in folder.fold_poll(source, digest, articles, at)? {
        match d {
            Decision::Unchanged => counts.unchanged += 1,
            Decision::Updated { .. } => counts.updated += 1,
            Decision::New { .. } => counts.new += 1,
            Decision::Copy { .. } => counts.copies += 1,
        }
    }
    Ok(Some(counts))
}

/// Normalizes the entries of one poll, in order, as the ingest folds them: the language
/// detected once for the feed ([`FeedLanguage`]), titles cut at [`MAX_TITLE_CHARS`] and texts
/// at [`MAX_TEXT_BYTES`], an entry
/// repeated whole (same key, link, title and text) left out, and the items of a key that
/// several different items share told apart by their own link and title (`shared_key`).
pub fn normalize_entries(entries: &mut [RawEntry], opts: &NormalizeOptions) -> Vec<Article> {
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    let mut language = FeedLanguage::default();
    let mut articles = Vec::with_capacity(entries.len());
    for raw in entries {
        let mut article = language.normalize(raw, opts);
        // A hostile feed can send a title of megabytes; it would be copied into the story's
        // headline variants on every copy. Headlines are short: keep the first characters.
        cut_chars(&mut article.title, MAX_TITLE_CHARS);
        cut_chars(&mut article.fp_title, MAX_TITLE_CHARS);
        cut_bytes(&mut article.text, MAX_TEXT_BYTES);
        // The same item listed twice is one article: kept twice, its copy became a second
        // article of the source that never followed the item's edits.
        if seen.insert((article.key.clone(), item_digest(&article))) {
            articles.push(article);
        }
    }
    let mut per_key: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(articles.len());
    for a in &articles {
        *per_key.entry(a.key.as_str()).or_default() += 1;
    }
    let shared: std::collections::HashSet<String> = per_key
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(k, _)| k.to_owned())
        .collect();
    if !shared.is_empty() {
        shared_key(&mut articles, &shared);
    }
    articles
}

/// A feed that gives several different items one GUID (it happens: the channel's link, a
/// constant, a counter reset): each of them is keyed by the shared key and a hash of its
/// own link and title, `key#1f2e3d4c`, so that they neither overwrite each other nor trade
/// keys when the feed's order changes (a new item on top would have taken the key of the
/// item that was first, and every item would have been "updated" with its neighbour's
/// text). Items alike in link and title too (a "Daily briefing" feed without GUIDs, one
/// landing page, one headline) are each told apart by something of its own after that hash,
/// whatever the others are: its published date, else its text (and both when another item
/// has the same date). Only items alike in all of that are numbered in feed order. Numbered
/// by position, a new briefing on top took the key of yesterday's, which took the key of the
/// day before's: each was "updated" with its neighbour's text. An edit that changes what
/// tells an item apart (the text of an undated one, the date of a dated one) changes its
/// key: it is then a copy of itself rather than an update.
fn shared_key(articles: &mut [Article], shared: &std::collections::HashSet<String>) {
    let mut groups: std::collections::HashMap<String, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, a) in articles.iter().enumerate() {
        if !shared.contains(&a.key) {
            continue;
        }
        // The page without a route the canonical URL keeps (`#!/…`): the keys made before
        // it kept them stay the same.
        let page = a
            .url
            .as_deref()
            .map_or("", |u| u.split_once('#').map_or(u, |(p, _)| p));
        let base = format!("{}#{:08x}", a.key, hash_parts(&[page, &a.title]) as u32);
        groups.entry(base).or_default().push(i);
    }
    let mut given = std::collections::HashSet::new();
    let mut groups: Vec<(String, Vec<usize>)> = groups.into_iter().collect();
    // Feed order, so that the numbered last resort is too.
    groups.sort_unstable_by_key(|(_, members)| members[0]);
    for (base, members) in groups {
        if let [only] = members[..] {
            given.insert(base.clone());
            articles[only].key = base;
            continue;
        }
        // Each item by what is its own, whatever the others are: its published date, else
        // its text; an item sharing its date with another, by both.
        let own: Vec<String> = members.iter().map(|&i| own_part(&articles[i])).collect();
        for (n, &i) in members.iter().enumerate() {
            let alone = own.iter().filter(|o| **o == own[n]).count() == 1;
            let text = format!("t{}", articles[i].text);
            let parts: &[&str] = if alone { &[&own[n]] } else { &[&own[n], &text] };
            let mut key = format!("{base}#{:08x}", hash_parts(parts) as u32);
            // Alike in all of that (links apart by their anchors only), or two hashes alike:
            // numbered in feed order.
            let mut extra = 2;
            while !given.insert(key.clone()) {
                key = format!("{base}#{extra}");
                extra += 1;
            }
            articles[i].key = key;
        }
    }
}

/// What tells an item apart from others alike in key, link and title: its published date,
/// else its text.
fn own_part(a: &Article) -> String {
    if a.date_source == crate::normalize::DateSource::Published {
        format!("d{}", a.published.timestamp_millis())
    } else {
        format!("t{}", a.text)
    }
}

/// xxh3 of `parts`, each ended by a NUL.
fn hash_parts(parts: &[&str]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    h.digest()
}

/// What tells an item listed twice in one feed from two items under one key.
fn item_digest(a: &Article) -> u64 {
    hash_parts(&[a.url.as_deref().unwrap_or(""), &a.title, &a.text])
}

/// The feed's publishing rate as a mean time between entries: the span from its oldest entry
/// of the last 30 days until now, divided by the number of those entries (with only one
/// recent entry, the same over all dated entries, at most 30 days). A feed whose recent
/// entries stopped long ago therefore looks slow, as it is. `None` when no entry has a date,
/// when only one has, or when every date is the same instant (feeds that stamp every entry with the time of the
/// request say nothing about their rate); 30 days when no entry is recent. A feed whose
/// entries lie ahead of `now`, half of them or more (local time labelled as UTC, hours
/// ahead), has its dates taken back by the newest one's lead: counted from `now` as they
/// were, its span was nothing and the source was polled at a quarter of its interval.
pub fn entry_gap(entries: &[RawEntry], now: DateTime<Utc>) -> Option<Duration> {
    const WINDOW: Duration = Duration::from_secs(30 * 86_400);
    let mut dates: Vec<DateTime<Utc>> = entries
        .iter()
        .filter_map(|e| e.published.or(e.updated))
        // the epoch is a placeholder, not a date (as `normalize::date::choose_date` reads it)
        .filter(|d| {
            !crate::normalize::date::is_placeholder(*d) && *d <= now + chrono::Duration::days(1)
        })
        .collect();
    let ahead = *dates.iter().max()? - now;
    // Only a feed ahead as a whole (half its entries or more) writes local time as UTC; one
    // event's or embargoed item's date ahead says nothing of the others.
    dates.sort_unstable();
    let feed_ahead = dates[(dates.len() - 1) / 2] > now;
    if ahead > chrono::Duration::zero() && feed_ahead {
        for d in &mut dates {
            *d -= ahead;
        }
    }
    let oldest = dates.iter().min()?;
    let newest = dates.iter().max()?;
    if dates.len() > 1 && (*newest - *oldest) < chrono::Duration::minutes(1) {
        return None;
    }
    let since = now - chrono::Duration::from_std(WINDOW).ok()?;
    let recent: Vec<&DateTime<Utc>> = dates.iter().filter(|d| **d >= since).collect();
    let Some(oldest_recent) = recent.iter().min() else {
        return Some(WINDOW);
    };
    if recent.len() >= 2 {
        let span = (now - **oldest_recent).to_std().unwrap_or(Duration::ZERO);
        return Some(span / recent.len() as u32);
    }
    // One recent entry is no rate: counted alone, an item posted a minute ago made the feed
    // look as if it published every minute. With older entries beside it, the rate over
    // all of them; alone, none.
    if dates.len() < 2 {
        return None;
    }
    let span = (now - *oldest).to_std().unwrap_or(Duration::ZERO);
    Some((span / dates.len() as u32).min(WINDOW))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feeds_title_is_kept_without_what_a_name_may_not_hold_and_cut() {
        assert_eq!(
            feed_title("Lo\u{202E}cal\u{1b}[31m feed".into()).as_deref(),
            Some("Local[31m feed")
        );
        assert_eq!(feed_title(" \u{202E} ".into()), None);
        let long = feed_title("é".repeat(50_000)).unwrap();
        assert_eq!(long.chars().count(), FEED_TITLE_CHARS + 1);
        assert!(long.ends_with("é…"), "{long}");
    }

    #[test]
    fn long_titles_are_cut_on_a_character_boundary() {
        let mut s = "é".repeat(MAX_TITLE_CHARS + 5);
        cut_chars(&mut s, MAX_TITLE_CHARS);
        assert_eq!(s.chars().count(), MAX_TITLE_CHARS + 1);
        assert!(s.ends_with('…'));
        let mut short = "short".to_owned();
        cut_chars(&mut short, MAX_TITLE_CHARS);
        assert_eq!(short, "short");
        let mut text = format!("a{}", "é".repeat(MAX_TEXT_BYTES));
        cut_bytes(&mut text, MAX_TEXT_BYTES);
        assert!(
            text.len() <= MAX_TEXT_BYTES + '…'.len_utf8(),
            "{}",
            text.len()
        );
        assert!(text.ends_with("é…"));
        let mut fits = "é".repeat(MAX_TEXT_BYTES / 2);
        cut_bytes(&mut fits, MAX_TEXT_BYTES);
        assert_eq!(fits.len(), MAX_TEXT_BYTES);
    }

    #[test]
    fn a_poll_keeps_the_newest_entries_in_the_feeds_order() {
        let now = Utc::now();
        let titled = |t: &str, e: RawEntry| RawEntry {
            title: Some(t.into()),
            ..e
        };
        let undated = RawEntry {
            published: None,
            ..entry(0, now)
        };
        let mut entries = vec![
            titled("old", entry(300, now)),
            titled("newest", entry(1, now)),
            titled("undated", undated.clone()),
            titled("oldest", entry(900, now)),
            titled("tie-a", entry(60, now)),
            titled(
                "updated-only",
                RawEntry {
                    published: None,
                    updated: Some(now - chrono::Duration::minutes(5)),
                    ..entry(0, now)
                },
            ),
            titled("tie-b", entry(60, now)),
        ];
        let titles = |es: &[RawEntry]| -> Vec<String> {
            es.iter().filter_map(|e| e.title.clone()).collect()
        };
        let mut all = entries.clone();
        assert_eq!(keep_newest(&mut all, 7), 0);
        assert_eq!(titles(&all).len(), 7);
        assert_eq!(keep_newest(&mut entries, 4), 3);
        assert_eq!(
            titles(&entries),
            ["newest", "undated", "tie-a", "updated-only"],
            "the newest four, undated first, ties in the feed's order, kept in the feed's order"
        );
        let mut none = vec![undated.clone(), undated.clone(), undated];
        assert_eq!(keep_newest(&mut none, 1), 2);
        assert_eq!(none.len(), 1);
        // A placeholder date (1970) is no date: such an item counts as undated, and a
        // placeholder published date does not hide a real updated one.
        let epoch = chrono::DateTime::<Utc>::UNIX_EPOCH;
        let mut entries = vec![
            titled("old", entry(300, now)),
            titled(
                "placeholder",
                RawEntry {
                    published: Some(epoch),
                    ..entry(0, now)
                },
            ),
            titled(
                "placeholder-then-updated",
                RawEntry {
                    published: Some(epoch),
                    updated: Some(now - chrono::Duration::minutes(5)),
                    ..entry(0, now)
                },
            ),
            titled("older", entry(400, now)),
        ];
        assert_eq!(keep_newest(&mut entries, 2), 2);
        assert_eq!(
            titles(&entries),
            ["placeholder", "placeholder-then-updated"]
        );
    }

    fn entry(age_min: i64, now: DateTime<Utc>) -> RawEntry {
        RawEntry {
            guid: None,
            link: None,
            title: None,
            summary: None,
            content: None,
            published: Some(now - chrono::Duration::minutes(age_min)),
            ..RawEntry::default()
        }
    }

    #[test]
    fn an_item_listed_twice_is_one_article_and_two_items_under_one_key_are_two() {
        let now = Utc::now();
        let item = |guid: &str, text: &str| RawEntry {
            guid: Some(guid.into()),
            link: Some("https://news.example/a".into()),
            title: Some("Harbour reopens".into()),
            summary: Some(text.into()),
            ..entry(10, now)
        };
        let mut entries = vec![
            item("g1", "The harbour reopened on Monday after repairs."),
            item("g1", "The harbour reopened on Monday after repairs."),
            item("g1", "A second story that reuses the first one's guid."),
            item("g2", "The harbour reopened on Monday after repairs."),
        ];
        let keys: Vec<String> = normalize_entries(&mut entries, &NormalizeOptions::new(now))
            .into_iter()
            .map(|a| a.key)
            .collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(
            keys[0].contains("g1#") && keys[1].contains("g1#") && keys[0] != keys[1],
            "{keys:?}"
        );
        assert!(keys[2].ends_with("g2"), "{keys:?}");
    }

    #[test]
    fn items_of_one_page_told_apart_by_long_routes_have_keys_of_their_own() {
        // Routes too long to be an anchor (or holding `=`) are each article's own key, as
        // the canonical URL keeps them (`#!/…`): alone in a poll, such an item had the
        // page's key, and each new article overwrote the last. Articles stored under the
        // page's key (told apart by a hash) are found again by rule 2a, at the same URL.
        let now = Utc::now();
        let keys = |links: [&str; 2]| -> Vec<String> {
            let mut entries: Vec<RawEntry> = links
                .iter()
                .zip(["Harbour reopens", "Bridge closes"])
                .map(|(link, title)| RawEntry {
                    link: Some((*link).into()),
                    title: Some(title.into()),
                    summary: Some(format!("{title}: the story in one line.")),
                    ..entry(10, now)
                })
                .collect();
            normalize_entries(&mut entries, &NormalizeOptions::new(now))
                .into_iter()
                .map(|a| a.key)
                .collect()
        };
        let links = [
            "https://spa.example/#!/news/2024/12/06/harbour-reopens-after-a-long-winter-of-repairs-to-the-quay",
            "https://spa.example/#!/article?id=100",
        ];
        assert_eq!(keys(links), links.map(|l| format!("u:{l}")));
    }

    #[test]
    fn items_sharing_a_guid_keep_their_keys_when_the_feed_reorders() {
        let now = Utc::now();
        let item = |title: &str, link: &str| RawEntry {
            guid: Some("https://news.example/".into()),
            link: Some(link.into()),
            title: Some(title.into()),
            summary: Some(format!("{title}: the story in one line.")),
            ..entry(10, now)
        };
        let keyed = |mut entries: Vec<RawEntry>| -> Vec<(String, String)> {
            normalize_entries(&mut entries, &NormalizeOptions::new(now))
                .into_iter()
                .map(|a| (a.title, a.key))
                .collect()
        };
        let a = item("Harbour reopens", "https://news.example/a");
        let b = item("Bridge closes", "https://news.example/b");
        let c = item("Ferry delayed", "https://news.example/c");
        // The same title and link twice, with other texts: numbered after the hash.
        let c2 = RawEntry {
            summary: Some("Another text under the same headline.".into()),
            ..c.clone()
        };
        let before = keyed(vec![a.clone(), b.clone(), c.clone(), c2.clone()]);
        let after = keyed(vec![
            item("Tram strike", "https://news.example/t"),
            c,
            c2,
            b,
            a,
        ]);
        for (title, key) in &before {
            let again = after.iter().filter(|(t, k)| t == title && k == key).count();
            assert!(again >= 1, "{title} lost its key {key}: {after:?}");
        }
        let keys: std::collections::HashSet<&String> = after.iter().map(|(_, k)| k).collect();
        assert_eq!(keys.len(), after.len(), "{after:?}");
        // The same title and link twice: told apart by their texts after that hash.
        let (k, k2) = (&before[2].1, &before[3].1);
        assert_ne!(k, k2);
        assert_eq!(
            k.rsplit_once('#').map(|p| p.0),
            k2.rsplit_once('#').map(|p| p.0)
        );
    }

    /// A daily briefing without GUIDs: one landing page, one headline, a new text each day.
    /// A new day on top leaves every other day its key (numbered in feed order, each day took
    /// its predecessor's key and was "updated" with its text).
    #[test]
    fn items_alike_in_link_and_title_keep_their_keys_when_one_comes_on_top() {
        let now = Utc::now();
        let day = |d: i64, text: &str| RawEntry {
            link: Some("https://news.example/briefing".into()),
            title: Some("Daily briefing".into()),
            summary: Some(text.into()),
            ..entry(d * 1440, now)
        };
        let keyed = |mut entries: Vec<RawEntry>| -> Vec<(String, String)> {
            normalize_entries(&mut entries, &NormalizeOptions::new(now))
                .into_iter()
                .map(|a| (a.text, a.key))
                .collect()
        };
        let one = day(3, "Snow closes the pass.");
        let two = day(2, "The harbour budget passes.");
        let three = day(1, "The airline adds a route.");
        let before = keyed(vec![two.clone(), one.clone()]);
        let after = keyed(vec![three.clone(), two.clone(), one.clone()]);
        for kept in &before {
            assert!(after.contains(kept), "{kept:?} lost its key: {after:?}");
        }
        // A newcomer dated as day two (a correction, a second edition) leaves the other days
        // their keys, whatever its own and day two's become.
        let second = RawEntry {
            summary: Some("The harbour budget passes: the figures.".into()),
            ..two.clone()
        };
        let crowded = keyed(vec![three.clone(), second, two.clone(), one.clone()]);
        assert_eq!((&crowded[0], &crowded[3]), (&after[0], &after[2]));
        assert_ne!(crowded[1].1, crowded[2].1);
        // A text edited in place keeps its key: the dates tell the days apart.
        let edited = RawEntry {
            summary: Some("The harbour budget passes, narrowly.".into()),
            ..two.clone()
        };
        let again = keyed(vec![three.clone(), edited, one.clone()]);
        assert_eq!(again[1].1, after[1].1);
        // Undated (or stamped alike): the texts tell them apart, whatever the order.
        let undated = |e: &RawEntry| RawEntry {
            published: Some(now),
            ..e.clone()
        };
        let before = keyed(vec![undated(&two), undated(&one)]);
        let after = keyed(vec![undated(&three), undated(&two), undated(&one)]);
        for kept in &before {
            assert!(after.contains(kept), "{kept:?} lost its key: {after:?}");
        }
        // Alike in everything they are told by (links apart by their anchors only):
        // numbered, and each key is one item's.
        let anchored = |anchor: &str| RawEntry {
            link: Some(format!("https://news.example/briefing#{anchor}")),
            ..one.clone()
        };
        let keys: std::collections::HashSet<String> = keyed(vec![anchored("a"), anchored("b")])
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn entry_gap_follows_the_publishing_rate() {
        let now = Utc::now();
        // Ten entries over the last 100 minutes: one every ten minutes.
        let busy: Vec<RawEntry> = (0..10).map(|i| entry(10 + i * 10, now)).collect();
        assert_eq!(entry_gap(&busy, now), Some(Duration::from_secs(600)));
        // Stopped two months ago: as slow as it gets.
        let dormant: Vec<RawEntry> = (0..5).map(|i| entry(86_400 + i, now)).collect();
        assert_eq!(
            entry_gap(&dormant, now),
            Some(Duration::from_secs(30 * 86_400))
        );
        // Every entry stamped with one instant: no information.
        let stamped: Vec<RawEntry> = (0..5).map(|_| entry(0, now)).collect();
        assert_eq!(entry_gap(&stamped, now), None);
        assert_eq!(entry_gap(&[], now), None);
        // One item, posted two minutes ago: no rate, not one item every two minutes.
        assert_eq!(entry_gap(&[entry(2, now)], now), None);
        // The first item in a month, after items ten days apart: their rate, not the new
        // one's age.
        let mut slow: Vec<RawEntry> = (4..=7).map(|d| entry(d * 10 * 1440, now)).collect();
        slow.push(entry(2, now));
        assert_eq!(
            entry_gap(&slow, now),
            Some(Duration::from_secs(70 * 86_400 / 5))
        );
        // Dated three hours ahead (local time labelled as UTC): the same rate as the same
        // entries dated right, not a gap of nothing.
        let ahead: Vec<RawEntry> = (0..10).map(|i| entry(-180 + i * 10, now)).collect();
        let right: Vec<RawEntry> = (0..10).map(|i| entry(i * 10, now)).collect();
        assert_eq!(entry_gap(&ahead, now), entry_gap(&right, now));
        assert!(entry_gap(&ahead, now).unwrap() >= Duration::from_secs(540));
        // One entry dated 20 h ahead (an event, an embargo) among entries dated right: they
        // keep their dates, and the rate is theirs and its.
        let mut one_ahead = busy.clone();
        one_ahead.push(entry(-20 * 60, now));
        assert_eq!(
            entry_gap(&one_ahead, now),
            Some(Duration::from_secs(100 * 60) / 11)
        );
    }
}
