//! What the store keeps: the records of articles, stories and sources.
//!
//! Records are serialized with postcard (compact, not self-describing); any change of a
//! record's shape bumps [`super::SCHEMA_VERSION`] and gets a migration in `storage::schema`.
//! Times are Unix milliseconds (UTC) so that records stay small and keys sort by time.

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;

/// Unix milliseconds, UTC.
pub type Millis = i64;

/// How an article's date was chosen (see `normalize::date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateOrigin {
    /// The feed's published date.
    Published,
    /// The feed's updated date (no published date given).
    Updated,
    /// No usable date: the time wirefold first saw it.
    FirstSeen,
    /// The feed claimed a date too far in the future; clamped to first seen.
    ClampedFuture,
}

impl DateOrigin {
    /// Whether the feed gave the date (as [`crate::normalize::DateSource::from_feed`]).
    pub fn from_feed(self) -> bool {
        matches!(self, DateOrigin::Published | DateOrigin::Updated)
    }

    /// Its name in the API and `export` (as [`crate::normalize::DateSource::name`]):
    /// `published`, `updated`, `first_seen` (the feed gave no usable date) or
    /// `clamped_future` (the feed's date lay too far ahead).
    pub fn name(self) -> &'static str {
        match self {
            DateOrigin::Published => "published",
            DateOrigin::Updated => "updated",
            DateOrigin::FirstSeen => "first_seen",
            DateOrigin::ClampedFuture => "clamped_future",
        }
    }
}

/// One stored article: one entry of one source, however many times it was polled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleRecord {
    /// Monotonic id (also the change-feed cursor).
    pub id: u64,
    /// Name of the source it came from.
    pub source: String,
    /// Stable entry key within the source (`g:` GUID, `u:` URL or `h:` content hash).
    pub key: String,
    /// Canonical URL.
    pub url: Option<String>,
    /// Display title.
    pub title: String,
    /// Display text, paragraphs separated by blank lines.
    pub text: String,
    /// Chosen publication date.
    pub published: Millis,
    /// Where `published` came from.
    pub date_origin: DateOrigin,
    /// When wirefold first stored it.
    pub first_seen: Millis,
    /// When its content last changed (equals `first_seen` until an update).
    pub updated: Millis,
    /// How many times its content changed after the first sighting.
    pub revisions: u32,
    /// Detected or declared language code.
    pub language: Option<String>,
    /// The story it belongs to.
    pub story: u64,
    /// Similarity to the story's copy it was matched with (1.0 for the story's first copy and
    /// for exact copies).
    pub similarity: f32,
    /// Fingerprints of its content.
    pub fingerprint: Fingerprint,
}

/// The part of an article the near-duplicate index needs, kept in its own tree so that
/// rebuilding the index at start reads a few dozen bytes per article, not the whole text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexRecord {
    /// Story the article belongs to.
    pub story: u64,
    /// Time used for the index window (first seen).
    pub at: Millis,
    /// Its fingerprints.
    pub fingerprint: Fingerprint,
}

/// How a copy joined its story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CopyKind {
    /// The story's first article.
    Origin,
    /// Identical fingerprint text to an earlier copy.
    Exact,
    /// Near-duplicate of an earlier copy, verified.
    Near,
}

/// One copy of a story: in the story's record while it has room ([`INLINE_COPIES`]), else
/// under (story id, article id) in `storyarticle_copy` (schema 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyRecord {
    /// Article id.
    pub article: u64,
    /// Source name.
    pub source: String,
    /// Canonical URL of this copy.
    pub url: Option<String>,
    /// When wirefold first saw this copy.
    pub first_seen: Millis,
    /// Similarity to the copy it was matched with.
    pub similarity: f32,
    /// How it joined.
    pub kind: CopyKind,
}

/// Most headline variants kept per story.
pub const MAX_HEADLINES: usize = 16;

/// Most copies a story record holds inside it; further copies are records of their own in
/// `storyarticle_copy`. Most stories have a few copies and cost one record write each, as
/// before schema 6; a story republished by hundreds of outlets no longer rewrites (and the
/// fold no longer reads) a record that grows with every copy.
pub const INLINE_COPIES: usize = 16;

/// One story: a wire item and every copy of it wirefold has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryRecord {
    /// Monotonic id.
    pub id: u64,
    /// When the story was created (its first copy's first sighting).
    pub created: Millis,
    /// Last time a copy joined or changed, or retention deleted one.
    pub updated: Millis,
    /// The canonical copy: the earliest one.
    pub canonical: u64,
    /// Its copies held here (at most [`INLINE_COPIES`]); the others are in the copy tree.
    /// Every copy: [`Store::copies`](super::Store::copies).
    pub copies: Vec<CopyRecord>,
    /// Distinct headlines of its copies (at most [`MAX_HEADLINES`]).
    pub headlines: Vec<String>,
    /// Stories found later to be this one and merged into it (their copies moved here, their
    /// records deleted), oldest merge first. Schema 3.
    pub merged_from: Vec<u64>,
    /// How many copies it has, here and in the copy tree. Schema 6.
    pub copy_count: u32,
}

impl ArticleRecord {
    /// A close upper bound of its encoded size, to size the encoding buffer once.
    pub(super) fn encoded_size_hint(&self) -> usize {
        let strings = self.source.len()
            + self.key.len()
            + self.url.as_ref().map_or(0, String::len)
            + self.title.len()
            + self.text.len()
            + self.language.as_ref().map_or(0, String::len);
        // lengths and fixed fields (~60 bytes) plus a fingerprint (~150 bytes)
        strings + 256
    }
}

impl StoryRecord {
    /// A close upper bound of its encoded size, to size the encoding buffer once.
    pub(super) fn encoded_size_hint(&self) -> usize {
        let copies: usize = self.copies.iter().map(CopyRecord::encoded_size_hint).sum();
        let headlines: usize = self.headlines.iter().map(|h| h.len() + 4).sum();
        copies + headlines + 10 * self.merged_from.len() + 48
    }

    /// Adds `copy`: kept here while there is room, else handed back for the copy tree.
    pub fn push_copy(&mut self, copy: CopyRecord) -> Option<CopyRecord> {
        self.copy_count = self.copy_count.saturating_add(1);
        if self.copies.len() < INLINE_COPIES {
            self.copies.push(copy);
            None
        } else {
            Some(copy)
        }
    }

    /// Adds a headline variant if new and there is room.
    pub fn add_headline(&mut self, title: &str) {
        if !title.is_empty()
            && self.headlines.len() < MAX_HEADLINES
            && !self.headlines.iter().any(|h| h == title)
        {
            self.headlines.push(title.to_owned());
        }
    }
}

impl CopyRecord {
    /// A close upper bound of its encoded size, to size the encoding buffer once.
    pub(super) fn encoded_size_hint(&self) -> usize {
        self.source.len() + self.url.as_ref().map_or(0, String::len) + 48
    }
}

/// Number of distinct sources among `copies`.
pub fn source_count(copies: &[CopyRecord]) -> usize {
    let mut names: Vec<&str> = copies.iter().map(|c| c.source.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.len()
}

/// The last error a source hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// Error class (`timeout`, `http_status`, `malformed_feed`, …).
    pub class: String,
    /// Human-readable message.
    pub message: String,
    /// When it happened.
    pub at: Millis,
    /// The HTTP status, for class `http_status`.
    pub status: Option<u16>,
}

/// Everything wirefold remembers about polling one source; survives restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    /// `ETag` of the last successful response.
    pub etag: Option<String>,
    /// `Last-Modified` of the last successful response.
    pub last_modified: Option<String>,
    /// Start of the last poll.
    pub last_poll: Option<Millis>,
    /// End of the last successful poll (including 304).
    pub last_success: Option<Millis>,
    /// The last error, kept until the next success.
    pub last_error: Option<ErrorRecord>,
    /// When the next poll is due.
    pub next_poll: Option<Millis>,
    /// Failures in a row.
    pub failures: u32,
    /// Polls made.
    pub polls: u64,
    /// Entries seen in feeds, all polls together.
    pub items_seen: u64,
    /// Articles that started a new story.
    pub items_new: u64,
    /// Articles whose content changed.
    pub items_updated: u64,
    /// Articles folded into an existing story.
    pub items_copies: u64,
    /// The feed's own title.
    pub feed_title: Option<String>,
    /// The configured URL this state belongs to: when the configuration names another URL,
    /// the URL-bound parts (validators, effective URL, gone) are reset.
    pub configured_url: Option<String>,
    /// Where the source is polled now, when permanent redirects moved it away from the
    /// configured URL.
    pub effective_url: Option<String>,
    /// A permanent redirect target seen on the last polls, not adopted yet.
    pub moved_candidate: Option<String>,
    /// Consecutive polls that saw `moved_candidate`.
    pub moved_polls: u32,
    /// Set when the server answered 410 Gone: the source is not polled any more.
    pub gone_since: Option<Millis>,
    /// Polls answered "not modified" (304, or an unchanged file).
    pub not_modified: u64,
    /// RSS `<ttl>` of the last parsed body, in seconds.
    pub ttl_s: Option<u32>,
    /// RSS `<skipHours>` of the last parsed body: bit `h` = hour `h` UTC.
    pub skip_hours: u32,
    /// RSS `<skipDays>` of the last parsed body: bit `d` = day `d` from Monday.
    pub skip_days: u8,
    /// Mean time between entries, from the last parsed body's dates (adaptive interval).
    pub entry_gap_s: Option<u64>,
    /// The character encoding the last body was read as.
    pub encoding: Option<String>,
    /// Polls whose body held the very entries the source's last folded poll held (a server
    /// without working validators): parsed, not normalized or folded again. Schema 7.
    pub unchanged_bodies: u64,
    /// When a poll last stored an article this source had not sent before (a new story or a
    /// copy; not an update): a feed that answers every poll but has stopped publishing shows
    /// here. `None` until then, and for a state of an older schema. Schema 8.
    pub last_new: Option<Millis>,
    /// The pause the server that answered the source's last poll asked for (`Retry-After`
    /// on a 429 or 503), for its whole host: resumed at a start, so that a restart neither
    /// forgets it nor stretches it to the source's own back-off. `None` after a poll
    /// without one, and for a state of an older schema. Schema 9.
    pub host_pause: Option<HostPause>,
    /// The other host (`host:port`) a temporary redirect (a CDN, a feed proxy) took the
    /// source's last answered poll to, whatever its request there ended with (an answer, a
    /// stalled body, a timeout): the host whose slots, spacing and pauses bind the
    /// source's polls: resumed at a start, so that the first round after a restart does not
    /// send every source redirected to one host there at once. `None` when the polled host
    /// answered itself, and for a state of an older schema. Schema 10.
    pub redirect_host: Option<String>,
    /// When a poll of the source last had its entries folded in full (not a 304, not a body
    /// holding the entries already folded): the entries retention deleted that its feed
    /// still lists were seen then, and their tombstones refreshed. A source with tombstones
    /// is polled without validators once this is [`crate::fold::polls::RECHECK`] old, so
    /// that its body is folded in full (`ingest::poll`). `None` until then, and for a state
    /// of an older schema. Schema 11.
    pub last_full_poll: Option<Millis>,
}

/// What the stored source states hold for the host limits ([`super::Store::host_limits`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredHostLimits {
    /// The host pauses (`Retry-After`) of every stored state, configured or not: a source
    /// disabled or removed since its server asked for a pause still had it asked of the host
    /// that its neighbours poll. Each with the last poll of the source that learnt it (when
    /// the server asked), by the same wall clock.
    pub pauses: Vec<(HostPause, Option<Millis>)>,
    /// The other hosts temporary redirects took the sources' last polls to: (source name,
    /// the configured URL the redirect was learnt for, `host:port`).
    pub redirects: Vec<(String, String, String)>,
}

/// A host's pause, as one source's poll learnt it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPause {
    /// The host (`host:port`) that asked: the source's own, its adopted move's, or a
    /// temporary redirect's target.
    pub host: String,
    /// Until when (Unix milliseconds), as capped by `schedule.max_retry_after`.
    pub until: Millis,
}

/// Store-wide counters, updated in the same transaction as the records they count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Stored articles.
    pub articles: u64,
    /// Stored stories.
    pub stories: u64,
    /// Articles that joined an existing story.
    pub copies: u64,
}

/// What a change-log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// A new story, with its first article.
    NewStory,
    /// An article joined an existing story.
    NewCopy,
    /// An article's content changed in place.
    Updated,
    /// The article's story was merged into another (`story` is the one it is in now): a new
    /// copy matched both stories, so they are one (see `crate::fold`, rule 5). Schema 3.
    Merged,
    /// Retention deleted the article (`story` is the story it was in, deleted with it when
    /// this was its last copy). Schema 5.
    Deleted,
}

/// One entry of the change log: what the change feed and the event stream replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// Position in the log; the consumers' cursor.
    pub seq: u64,
    /// What happened.
    pub kind: ChangeKind,
    /// The article concerned.
    pub article: u64,
    /// Its story.
    pub story: u64,
    /// When.
    pub at: Millis,
}
