//! Records as schema 2 wrote them, read when a record has not been rewritten since the
//! upgrade to schema 3; and story records as schemas 2 to 5 wrote them.
//!
//! Schema 3 appended a field to [`Fingerprint`] (`entities`, the last field of both
//! [`ArticleRecord`] and [`IndexRecord`]) and to [`StoryRecord`] (`merged_from`). postcard is
//! not self-describing, so a record of schema 2 fails to decode in the new layout (it ends one
//! field early); it is then read in the old layout here, with the new fields at their
//! defaults: no entity mask (0, which the index treats as "unknown" and does not check) and no
//! merged stories. The migration to schema 3 rewrites every index record (with the mask
//! recomputed from the article's text); article records are rewritten in the new layout the
//! next time they change. Schema 6 keeps at most [`INLINE_COPIES`](super::INLINE_COPIES)
//! copies in a story record (the others in a tree of their own) and appends the copy count:
//! an older story record is read with the count of its list, whatever its length, and is
//! rewritten in the new layout the next time it changes (nothing is rewritten by the upgrade).
//! Schema 7 appends `unchanged_bodies` to [`SourceState`], schema 8 `last_new`, schema 9
//! `host_pause`, schema 10 `redirect_host`, schema 11 `last_full_poll`: an older state reads
//! with the count at 0, the times unknown, no pause and no redirect, and is written in the
//! new layout after the source's next poll.

use serde::Deserialize;

use super::records::{
    ArticleRecord, CopyRecord, DateOrigin, IndexRecord, SourceState, StoryRecord,
};
use crate::fingerprint::{Fingerprint, Sketch};

/// A stored record type, and how bytes of its older layouts are read.
pub(super) trait Record: serde::de::DeserializeOwned {
    /// The record from bytes in an older layout; `None` when the type did not change or
    /// the bytes are not a whole record of that layout either.
    fn legacy(_bytes: &[u8]) -> Option<Self> {
        None
    }
}

/// Decodes `bytes` as exactly one `T` (no trailing bytes).
fn exactly<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((v, [])) => Some(v),
        _ => None,
    }
}

#[derive(Deserialize)]
struct FingerprintV2 {
    content: u128,
    simhash: u64,
    sketch: Sketch,
    shingles: u32,
    short: bool,
}

impl From<FingerprintV2> for Fingerprint {
    fn from(f: FingerprintV2) -> Self {
        Fingerprint {
            content: f.content,
            simhash: f.simhash,
            sketch: f.sketch,
            shingles: f.shingles,
            short: f.short,
            entities: 0,
        }
    }
}

#[derive(Deserialize)]
struct ArticleRecordV2 {
    id: u64,
    source: String,
    key: String,
    url: Option<String>,
    title: String,
    text: String,
    published: i64,
    date_origin: DateOrigin,
    first_seen: i64,
    updated: i64,
    revisions: u32,
    language: Option<String>,
    story: u64,
    similarity: f32,
    fingerprint: FingerprintV2,
}

#[derive(Deserialize)]
struct IndexRecordV2 {
    story: u64,
    at: i64,
    fingerprint: FingerprintV2,
}

#[derive(Deserialize)]
struct StoryRecordV2 {
    id: u64,
    created: i64,
    updated: i64,
    canonical: u64,
    copies: Vec<CopyRecord>,
    headlines: Vec<String>,
}

impl Record for ArticleRecord {
    fn legacy(bytes: &[u8]) -> Option<Self> {
        let a: ArticleRecordV2 = exactly(bytes)?;
        Some(ArticleRecord {
            id: a.id,
            source: a.source,
            key: a.key,
            url: a.url,
            title: a.title,
            text: a.text,
            published: a.published,
            date_origin: a.date_origin,
            first_seen: a.first_seen,
            updated: a.updated,
            revisions: a.revisions,
            language: a.language,
            story: a.story,
            similarity: a.similarity,
            fingerprint: a.fingerprint.into(),
        })
    }
}

impl Record for IndexRecord {
    fn legacy(bytes: &[u8]) -> Option<Self> {
        let r: IndexRecordV2 = exactly(bytes)?;
        Some(IndexRecord {
            story: r.story,
            at: r.at,
            fingerprint: r.fingerprint.into(),
        })
    }
}

impl Record for StoryRecord {
    fn legacy(bytes: &[u8]) -> Option<Self> {
        story_before_6(bytes)
    }
}

impl Record for CopyRecord {}

/// A story record as schemas 2 to 5 wrote it (every copy inside; schemas 3 to 5 appended
/// `merged_from`), read as one of schema 6 whose copies all fit in it: the count is the
/// list's length, and copies that join it from now on go to the copy tree once it holds
/// [`INLINE_COPIES`](super::INLINE_COPIES). `None` when the bytes are neither layout.
fn story_before_6(bytes: &[u8]) -> Option<StoryRecord> {
    let (s, rest) = postcard::take_from_bytes::<StoryRecordV2>(bytes).ok()?;
    let merged_from = match rest {
        [] => Vec::new(),
        rest => exactly::<Vec<u64>>(rest)?,
    };
    Some(StoryRecord {
        id: s.id,
        created: s.created,
        updated: s.updated,
        canonical: s.canonical,
        copy_count: u32::try_from(s.copies.len()).unwrap_or(u32::MAX),
        copies: s.copies,
        headlines: s.headlines,
        merged_from,
    })
}

impl Record for SourceState {
    fn legacy(bytes: &[u8]) -> Option<Self> {
        (1..=5).find_map(|zeros| state_padded(bytes, zeros))
    }
}

/// A source state as an older schema wrote it: the current layout without its last `zeros`
/// fields (schema 10: without `last_full_poll`; schema 9: also without `redirect_host`;
/// schema 8: also without `host_pause`; schema 7:
/// also without `last_new`; schemas 1 to 6: also without `unchanged_bodies`).
/// postcard writes a struct's fields one after the other, and both a count of 0 and `None`
/// as the single byte 0, so the old bytes with that many zeros appended are the new record
/// with the count at 0 and the time unknown. `None` when they are not a whole record of
/// that layout either.
fn state_padded(bytes: &[u8], zeros: usize) -> Option<SourceState> {
    let mut padded = Vec::with_capacity(bytes.len() + zeros);
    padded.extend_from_slice(bytes);
    padded.resize(bytes.len() + zeros, 0);
    exactly(&padded)
}

impl Record for super::records::Counts {}
impl Record for super::records::ChangeRecord {}

/// Older encodings of records (schema 2's and later), for tests of the upgrade path.
#[cfg(test)]
pub(super) mod write {
    use serde::Serialize;

    use super::super::records::{ArticleRecord, CopyRecord, DateOrigin, SourceState, StoryRecord};
    use crate::fingerprint::Sketch;

    #[derive(Serialize)]
    struct FingerprintV2<'a> {
        content: u128,
        simhash: u64,
        sketch: &'a Sketch,
        shingles: u32,
        short: bool,
    }

    #[derive(Serialize)]
    struct ArticleRecordV2<'a> {
        id: u64,
        source: &'a str,
        key: &'a str,
        url: &'a Option<String>,
        title: &'a str,
        text: &'a str,
        published: i64,
        date_origin: DateOrigin,
        first_seen: i64,
        updated: i64,
        revisions: u32,
        language: &'a Option<String>,
        story: u64,
        similarity: f32,
        fingerprint: FingerprintV2<'a>,
    }

    #[derive(Serialize)]
    struct IndexRecordV2<'a> {
        story: u64,
        at: i64,
        fingerprint: FingerprintV2<'a>,
    }

    #[derive(Serialize)]
    struct StoryRecordV2<'a> {
        id: u64,
        created: i64,
        updated: i64,
        canonical: u64,
        copies: &'a [CopyRecord],
        headlines: &'a [String],
    }

    fn fp(a: &ArticleRecord) -> FingerprintV2<'_> {
        let f = &a.fingerprint;
        FingerprintV2 {
            content: f.content,
            simhash: f.simhash,
            sketch: &f.sketch,
            shingles: f.shingles,
            short: f.short,
        }
    }

    /// `a` as schema 2 wrote it.
    pub fn article(a: &ArticleRecord) -> Vec<u8> {
        postcard::to_allocvec(&ArticleRecordV2 {
            id: a.id,
            source: &a.source,
            key: &a.key,
            url: &a.url,
            title: &a.title,
            text: &a.text,
            published: a.published,
            date_origin: a.date_origin,
            first_seen: a.first_seen,
            updated: a.updated,
            revisions: a.revisions,
            language: &a.language,
            story: a.story,
            similarity: a.similarity,
            fingerprint: fp(a),
        })
        .unwrap_or_default()
    }

    /// The index record of `a` as schema 2 wrote it.
    pub fn index(a: &ArticleRecord) -> Vec<u8> {
        postcard::to_allocvec(&IndexRecordV2 {
            story: a.story,
            at: a.first_seen,
            fingerprint: fp(a),
        })
        .unwrap_or_default()
    }

    /// `s` with `copies` as schema 2 wrote it.
    pub fn story(s: &StoryRecord, copies: &[CopyRecord]) -> Vec<u8> {
        postcard::to_allocvec(&StoryRecordV2 {
            id: s.id,
            created: s.created,
            updated: s.updated,
            canonical: s.canonical,
            copies,
            headlines: &s.headlines,
        })
        .unwrap_or_default()
    }

    /// `s` as the schema before `newer`'s wrote it: `newer`'s bytes of `s` with `clear`
    /// applied, less their last byte (the cleared field, the last of `newer`'s layout, whose
    /// 0 or `None` postcard writes as one byte).
    fn one_field_less(
        s: &SourceState,
        clear: fn(&mut SourceState),
        newer: fn(&SourceState) -> Vec<u8>,
    ) -> Vec<u8> {
        let mut s = s.clone();
        clear(&mut s);
        let mut bytes = newer(&s);
        assert_eq!(bytes.pop(), Some(0), "the cleared field is the last byte");
        bytes
    }

    /// `s` as schemas 1 to 6 wrote it: schema 7's record without `unchanged_bodies`.
    pub fn source_state_v6(s: &SourceState) -> Vec<u8> {
        one_field_less(s, |s| s.unchanged_bodies = 0, source_state_v7)
    }

    /// `s` as schema 7 wrote it: schema 8's record without `last_new`.
    pub fn source_state_v7(s: &SourceState) -> Vec<u8> {
        one_field_less(s, |s| s.last_new = None, source_state_v8)
    }

    /// `s` as schema 8 wrote it: schema 9's record without `host_pause`.
    pub fn source_state_v8(s: &SourceState) -> Vec<u8> {
        one_field_less(s, |s| s.host_pause = None, source_state_v9)
    }

    /// `s` as schema 9 wrote it: schema 10's record without `redirect_host`.
    pub fn source_state_v9(s: &SourceState) -> Vec<u8> {
        one_field_less(s, |s| s.redirect_host = None, source_state_v10)
    }

    /// `s` as schema 10 wrote it: schema 11's record without `last_full_poll`.
    pub fn source_state_v10(s: &SourceState) -> Vec<u8> {
        one_field_less(
            s,
            |s| s.last_full_poll = None,
            |s| postcard::to_allocvec(s).unwrap_or_default(),
        )
    }

    /// `s` with `copies` as schemas 3 to 5 wrote it: schema 2's record, then `merged_from`.
    pub fn story_v5(s: &StoryRecord, copies: &[CopyRecord]) -> Vec<u8> {
        let mut bytes = story(s, copies);
        bytes.extend(postcard::to_allocvec(&s.merged_from).unwrap_or_default());
        bytes
    }
}
