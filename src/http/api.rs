//! The consumers' API: articles and stories, browsable and as a change feed.
//!
//! - `GET /articles?after=CURSOR&limit=N`, `GET /stories?after=CURSOR&limit=N`: without
//!   `after`, the newest first (browsing), with `next` set to the current end of the change
//!   log so a consumer can start following from now; with `after`, the changes after that
//!   cursor, oldest first. Each response carries `next`: pass it as `after` to resume exactly
//!   where you stopped. Cursors are change-log positions: stable, monotonic, never reused.
//!   A story appears in the story feed when it is created and whenever a copy joins it or a
//!   copy changes; an article appears when it is stored and whenever it is updated.
//! - `GET /stories/{id}`: one story with every copy (title, source, URL, first seen,
//!   similarity); `GET /articles/{id}`: one article with its text.
//!
//! Bad parameters (unknown, given twice, malformed or out of range) get
//! `400 {"error":"bad_parameter","parameter":…,"message":…}`.

use std::collections::{HashMap, HashSet};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use super::{rfc3339, AppState};
use crate::fold::likely_origin;
use crate::storage::{source_count, ArticleRecord, CopyKind, Store, StoreError, StoryRecord};

/// Default and largest page size.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
pub const MAX_LIMIT: usize = 1000;

/// The largest `limit` of `GET /articles` with `text=true`: a page of articles with their
/// texts (up to [`crate::ingest::MAX_TEXT_BYTES`] each) is built in memory whole.
pub const MAX_LIMIT_WITH_TEXT: usize = 100;

/// A rejected request parameter.
#[derive(Debug)]
pub struct BadParam {
    /// Parameter name.
    pub name: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl IntoResponse for BadParam {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "bad_parameter", "parameter": self.name, "message": self.message}),
            ),
        )
            .into_response()
    }
}

/// The one segment of a path such as `/stories/{id}`, percent-decoded, named `name` in the
/// error: a segment that does not decode to UTF-8 (`%FF`) gets the same JSON `400` as any
/// bad parameter, not axum's plain-text one.
pub(super) fn segment(
    got: Result<Path<String>, PathRejection>,
    name: &str,
) -> Result<String, BadParam> {
    got.map(|Path(s)| s).map_err(|_| BadParam {
        name: name.into(),
        message: "not UTF-8 once percent-decoded".into(),
    })
}

/// Query parameters checked against the ones an endpoint accepts.
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses the raw query string (`RawQuery`; percent-decoded, invalid UTF-8 replaced) and
    /// rejects a parameter not in `allowed` or one given more than once: `limit=1&limit=500`
    /// would otherwise be answered with one of the two, and the client would not know which.
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Params, BadParam> {
        let mut params = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                return Err(BadParam {
                    name: k.into_owned(),
                    message: if allowed.is_empty() {
                        "unknown parameter; this path takes none".into()
                    } else {
                        format!("unknown parameter; allowed: {}", allowed.join(", "))
                    },
                });
            }
            if params.contains_key(k.as_ref()) {
                return Err(BadParam {
                    name: k.into_owned(),
                    message: "given more than once; give it once".into(),
                });
            }
            params.insert(k.into_owned(), v.into_owned());
        }
        Ok(Params(params))
    }

    /// An optional unsigned integer parameter.
    pub fn u64(&self, name: &str) -> Result<Option<u64>, BadParam> {
        self.0
            .get(name)
            .map(|v| {
                // Digits, with ASCII spaces around them at most (`limit=+7`: a `+` is a
                // space in a query); not other whitespace (`%C2%A0`), which no client adds.
                let digits = v.trim_ascii();
                unsigned(digits).ok_or_else(|| BadParam {
                    name: name.into(),
                    message: if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                        format!("{digits} is too large; at most {}", u64::MAX)
                    } else {
                        format!("\"{v}\" is not a non-negative integer")
                    },
                })
            })
            .transpose()
    }

    /// An optional boolean parameter (`true`/`1`, `false`/`0`), false when absent.
    pub fn bool(&self, name: &str) -> Result<bool, BadParam> {
        match self.get(name) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(v) => Err(BadParam {
                name: name.into(),
                message: format!("\"{v}\" is not a boolean; allowed: true, false, 1, 0"),
            }),
        }
    }

    /// A raw parameter value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `limit`, between 1 and [`MAX_LIMIT`].
    pub fn limit(&self) -> Result<usize, BadParam> {
        self.limit_up_to(MAX_LIMIT)
    }

    /// `limit`, between 1 and `max` (default [`DEFAULT_LIMIT`]).
    pub fn limit_up_to(&self, max: usize) -> Result<usize, BadParam> {
        match self.u64("limit")? {
            None => Ok(DEFAULT_LIMIT.min(max)),
            Some(n) if (1..=max as u64).contains(&n) => Ok(n as usize),
            Some(n) => Err(BadParam {
                name: "limit".into(),
                message: format!("{n} is out of range; allowed: 1 to {max}"),
            }),
        }
    }
}

/// An article as the API shows it.
#[derive(Debug, Serialize)]
pub struct ArticleView {
    /// Article id.
    pub id: u64,
    /// Source name.
    pub source: String,
    /// Entry key within the source.
    pub key: String,
    /// Canonical URL.
    pub url: Option<String>,
    /// Title.
    pub title: String,
    /// Publication date.
    pub published: Option<String>,
    /// Where `published` comes from: `published` or `updated` (the feed's dates), else
    /// `first_seen` or `clamped_future` (a stand-in: the time of the first sighting).
    pub date_source: &'static str,
    /// First seen by wirefold.
    pub first_seen: Option<String>,
    /// Last content change.
    pub updated: Option<String>,
    /// Content changes after the first sighting.
    pub revisions: u32,
    /// Story id.
    pub story: u64,
    /// Similarity to the copy it was matched with.
    pub similarity: f32,
    /// Language.
    pub language: Option<String>,
    /// Display text (omitted in lists unless asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl ArticleView {
    fn new(a: ArticleRecord, with_text: bool) -> Self {
        Self {
            id: a.id,
            published: rfc3339(a.published),
            date_source: a.date_origin.name(),
            first_seen: rfc3339(a.first_seen),
            updated: rfc3339(a.updated),
            revisions: a.revisions,
            story: a.story,
            similarity: a.similarity,
            text: with_text.then_some(a.text),
            source: a.source,
            key: a.key,
            url: a.url,
            title: a.title,
            language: a.language,
        }
    }
}

/// One copy in a story view.
#[derive(Debug, Serialize)]
pub struct CopyView {
    /// Article id.
    pub article: u64,
    /// Source name.
    pub source: String,
    /// Canonical URL.
    pub url: Option<String>,
    /// The copy's own headline (only in single-story views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// First seen.
    pub first_seen: Option<String>,
    /// Similarity to the copy it was matched with.
    pub similarity: f32,
    /// `origin`, `exact` or `near`.
    pub kind: &'static str,
}

/// A story as the API shows it.
#[derive(Debug, Serialize)]
pub struct StoryView {
    /// Story id.
    pub id: u64,
    /// Created (first copy first seen).
    pub created: Option<String>,
    /// Last change.
    pub updated: Option<String>,
    /// Canonical (earliest) copy's article id.
    pub canonical: u64,
    /// The likely origin: the earliest copy's source among those configured as wire agencies
    /// (`agency = true`), else the canonical copy's.
    pub origin: Option<String>,
    /// Canonical copy's title.
    pub title: String,
    /// Canonical copy's URL.
    pub url: Option<String>,
    /// Number of copies.
    pub copy_count: usize,
    /// Number of distinct sources.
    pub source_count: usize,
    /// Headline variants.
    pub headlines: Vec<String>,
    /// Every copy.
    pub copies: Vec<CopyView>,
    /// Stories found later to be this one and merged into it (`GET /stories/{id}` of one of
    /// them redirects here).
    pub merged_from: Vec<u64>,
}

fn copy_kind(k: CopyKind) -> &'static str {
    match k {
        CopyKind::Origin => "origin",
        CopyKind::Exact => "exact",
        CopyKind::Near => "near",
    }
}

/// Builds a story view; with `titles`, looks up each copy's own headline. `agencies` are the
/// sources configured as wire agencies, whose copy is the story's likely origin.
pub fn story_view(
    store: &Store,
    agencies: &HashSet<String>,
    s: StoryRecord,
    titles: bool,
) -> Result<StoryView, StoreError> {
    let canonical = store.article(s.canonical)?;
    let stored = store.copies(&s)?;
    let mut copies = Vec::with_capacity(stored.len());
    for c in &stored {
        let title = if titles {
            store.article(c.article)?.map(|a| a.title)
        } else {
            None
        };
        copies.push(CopyView {
            article: c.article,
            source: c.source.clone(),
            url: c.url.clone(),
            title,
            first_seen: rfc3339(c.first_seen),
            similarity: c.similarity,
            kind: copy_kind(c.kind),
        });
    }
    Ok(StoryView {
        id: s.id,
        created: rfc3339(s.created),
        updated: rfc3339(s.updated),
        canonical: s.canonical,
        origin: likely_origin(&stored, s.canonical, |name| agencies.contains(name))
            .map(|c| c.source.clone()),
        title: canonical
            .as_ref()
            .map(|a| a.title.clone())
            .or_else(|| s.headlines.first().cloned())
            .unwrap_or_default(),
        url: canonical.and_then(|a| a.url),
        copy_count: stored.len(),
        source_count: source_count(&stored),
        headlines: s.headlines.clone(),
        copies,
        merged_from: s.merged_from.clone(),
    })
}

/// Why a request failed, as the JSON error it becomes.
#[derive(Debug)]
pub enum ApiError {
    /// A bad request parameter (400).
    Bad(BadParam),
    /// The store failed (500).
    Store(StoreError),
    /// A blocking task failed (500).
    Internal(String),
}

impl From<BadParam> for ApiError {
    fn from(e: BadParam) -> Self {
        ApiError::Bad(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Bad(b) => b.into_response(),
            ApiError::Store(e) => {
                super::error(StatusCode::INTERNAL_SERVER_ERROR, "store", &e.to_string())
            }
            ApiError::Internal(m) => {
                super::error(StatusCode::INTERNAL_SERVER_ERROR, "internal", &m)
            }
        }
    }
}

/// HTTP store reads on tokio's blocking threads at once. Those threads also run the polls'
/// ingest jobs and the store's flushes: a few hundred clients pipelining
/// `/stories?limit=1000` took every one of them, and the polls queued behind the reads
/// (twelve feeds fetched in a minute instead of seventy). Past this many, a read waits for a
/// turn without holding a thread.
pub const READS_AT_ONCE: usize = 2;

/// Turns of the API's reads ([`READS_AT_ONCE`]): the lists, a story or article, the feeds,
/// an event stream's replay and its events.
pub static READ_TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(READS_AT_ONCE);

/// The one turn of `/status`, the page, `/metrics` and an operator's poll-now, which read
/// sources' states: apart from the API's, so that a flood of API reads does not keep a
/// scrape, a health page or a poll-now waiting (nor the other way round), and one only, so
/// that with the API's two, HTTP holds at most three of the four blocking threads a 2-core
/// machine has (`max_blocking_threads` is twice the cores). A default `/status` built by
/// the request before is served from its one-second cache without waiting.
pub static STATUS_TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Runs `f` on a blocking thread once one of `turns` is free; the thread is not taken while
/// it waits. The semaphore is never closed, so a turn always comes. `f` keeps it to its
/// end, also when the request times out and drops this future: a blocking job cannot be
/// cancelled, and its thread stays taken.
pub async fn in_turn<T: Send + 'static>(
    turns: &'static tokio::sync::Semaphore,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let turn = turns.acquire().await.ok();
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        f()
    })
    .await
}

/// Runs store reads on a blocking thread, at most [`READS_AT_ONCE`] at a time.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    blocking_with(&READ_TURNS, f).await
}

/// Runs store reads on a blocking thread once one of `turns` is free ([`in_turn`]).
pub async fn blocking_with<T: Send + 'static>(
    turns: &'static tokio::sync::Semaphore,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    match in_turn(turns, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ApiError::Store(e)),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

/// Refuses a cursor (`?after=`, `Last-Event-ID`) past the change log's end: no page or event
/// ever gave it, and with it a client waited for ever, each page echoing it back as `next`
/// (one kept from before a restore, or made up). `410 cursor_expired` for one older than the
/// changes retention pruned: its holder missed changes nobody can replay (the change-feed
/// pages ask that after reading their changes instead: [`pruned_past`]); and for one in the
/// ids a restore skipped ([`Store::restored_gap`]): the store the restore replaced gave it,
/// and what its holder saw there is not in this store, deleted or not.
pub(super) async fn check_cursor(
    store: &Store,
    after: Option<u64>,
    name: &str,
) -> Result<(), Response> {
    cursor_in_log(store, after, name, true).await
}

/// [`check_cursor`]; `expired` false leaves out the test for a pruned cursor, which a
/// change-feed page makes after reading its changes.
async fn cursor_in_log(
    store: &Store,
    after: Option<u64>,
    name: &str,
    expired: bool,
) -> Result<(), Response> {
    let Some(after) = after else {
        return Ok(());
    };
    let s = store.clone();
    let (last, pruned, restored) = blocking(move || {
        let pruned = match expired {
            true => pruned_past(&s, Some(after))?,
            false => None,
        };
        Ok((s.last_change()?, pruned, s.restored_gap(after)?))
    })
    .await
    .map_err(IntoResponse::into_response)?;
    if let Some((from, _)) = restored {
        return Err((
            StatusCode::GONE,
            Json(json!({
                "error": "cursor_expired",
                "parameter": name,
                "message": format!(
                    "{after} is a cursor of the store a restore replaced (this store's changes \
                     after {from} are others): what it saw there may be gone here; start again \
                     without {name} and resume from that page's next"
                ),
            })),
        )
            .into_response());
    }
    if let Some(pruned) = pruned {
        return Err(cursor_expired(after, pruned, name));
    }
    let last = last.unwrap_or(0);
    if after > last {
        return Err(BadParam {
            name: name.into(),
            message: format!(
                "{after} is past the newest change ({last}): not a cursor this store gave (one from before a restore?); start again without it"
            ),
        }
        .into_response());
    }
    Ok(())
}

/// The line through which retention pruned the change log, when it lies past `after`: the
/// changes after `after` are not all kept. 0 is "from the start": its holder saw nothing,
/// so nothing it holds went stale; what is still stored was written after the pruned
/// changes. Read *after* a page's changes, it also catches a prune between the cursor's
/// check and the page (the line is written before the entries go): the page missed the
/// changes pruned under it, and its `next` would have skipped them unsaid.
fn pruned_past(store: &Store, after: Option<u64>) -> Result<Option<u64>, StoreError> {
    match after.filter(|&a| a > 0) {
        Some(after) => Ok(store.changes_pruned_through()?.filter(|&p| after < p)),
        None => Ok(None),
    }
}

/// `410 cursor_expired`: the changes after `after` up to `pruned` are gone.
fn cursor_expired(after: u64, pruned: u64, name: &str) -> Response {
    (
        StatusCode::GONE,
        Json(json!({
            "error": "cursor_expired",
            "parameter": name,
            "message": format!(
                "the changes after {after} up to {pruned} are no longer kept (store.retention \
                 deleted them): the records they named may have changed or gone; start again \
                 without {name} and resume from that page's next"
            ),
        })),
    )
        .into_response()
}

/// Which records a change-feed page walks.
#[derive(Clone, Copy)]
enum Feed {
    Articles,
    Stories,
}

/// Walks the change log after `after`, handing `place` each id (articles or stories) the
/// first time it comes, until `limit` of them took a place on the page (`place` says whether
/// it did: a story merged into another, which the page lists with its Merged changes, takes
/// none, so that a run of them cannot make an empty page before the end of the log, which a
/// reader takes for "caught up"). Returns the cursor to resume from.
fn walk_changes(
    store: &Store,
    feed: Feed,
    after: u64,
    limit: usize,
    mut place: impl FnMut(u64) -> Result<bool, StoreError>,
) -> Result<u64, StoreError> {
    let mut seen = HashSet::new();
    let (mut placed, mut next) = (0, after);
    for c in store.changes_after(Some(after)) {
        let c = c?;
        let id = match feed {
            Feed::Articles => c.article,
            Feed::Stories => c.story,
        };
        if !seen.contains(&id) && placed == limit {
            break;
        }
        next = c.seq;
        if seen.insert(id) && place(id)? {
            placed += 1;
        }
    }
    Ok(next)
}

pub(super) async fn articles(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let p = match Params::parse(q.as_deref(), &["after", "limit", "text"]) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let with_text = match p.bool("text") {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let max = if with_text {
        MAX_LIMIT_WITH_TEXT
    } else {
        MAX_LIMIT
    };
    let limit = p.limit_up_to(max).map_err(|mut e| {
        if with_text {
            e.message
                .push_str(" with text=true (each article carries its text)");
        }
        e
    });
    let (after, limit) = match (p.u64("after"), limit) {
        (Ok(a), Ok(l)) => (a, l),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    // expired or not is asked after the page's changes are read (`pruned_past`)
    if let Err(refused) = cursor_in_log(&state.store, after, "after", false).await {
        return refused;
    }
    let store = state.store.clone();
    let page = blocking(move || {
        let mut deleted = Vec::new();
        let (records, next) = match after {
            None => {
                let next = store.last_change()?.unwrap_or(0);
                let list: Vec<ArticleRecord> = store
                    .articles_newest()
                    .take(limit)
                    .collect::<Result<_, _>>()?;
                (list, next)
            }
            Some(after) => {
                let mut list = Vec::new();
                let next = walk_changes(&store, Feed::Articles, after, limit, |id| {
                    match store.article(id)? {
                        Some(a) => list.push(a),
                        // gone from the store: retention deleted it
                        None => deleted.push(id),
                    }
                    Ok(true)
                })?;
                (list, next)
            }
        };
        if let Some(pruned) = pruned_past(&store, after)? {
            return Ok(Err(pruned));
        }
        let views: Vec<ArticleView> = records
            .into_iter()
            .map(|a| ArticleView::new(a, with_text))
            .collect();
        Ok(Ok(
            json!({"articles": views, "deleted": deleted, "next": next.to_string()}),
        ))
    })
    .await;
    match page {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(pruned)) => cursor_expired(after.unwrap_or(0), pruned, "after"),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn stories(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let p = match Params::parse(q.as_deref(), &["after", "limit", "copies"]) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    // `copies=false`: each story without its list of copies (`copy_count` stays), for a
    // reader of the change feed, where a story comes again with all its copies each time one
    // joins it.
    let with_copies = match p.get("copies").map(|_| p.bool("copies")) {
        None => Ok(true),
        Some(b) => b,
    };
    let (after, limit, with_copies) = match (p.u64("after"), p.limit(), with_copies) {
        (Ok(a), Ok(l), Ok(c)) => (a, l, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e.into_response(),
    };
    // expired or not is asked after the page's changes are read (`pruned_past`)
    if let Err(refused) = cursor_in_log(&state.store, after, "after", false).await {
        return refused;
    }
    let (store, live) = (state.store.clone(), state.sources.get());
    let page = blocking(move || {
        let mut deleted = Vec::new();
        let (records, next) = match after {
            None => {
                let next = store.last_change()?.unwrap_or(0);
                let list: Vec<StoryRecord> = store
                    .stories_before(None)
                    .take(limit)
                    .collect::<Result<_, _>>()?;
                (list, next)
            }
            Some(after) => {
                let mut list = Vec::new();
                let next = walk_changes(&store, Feed::Stories, after, limit, |id| {
                    match store.story(id)? {
                        Some(s) => list.push(s),
                        // merged into another: no place on the page
                        None if store.merged_into(id)?.is_some() => return Ok(false),
                        // retention deleted its last copy
                        None => deleted.push(id),
                    }
                    Ok(true)
                })?;
                (list, next)
            }
        };
        if let Some(pruned) = pruned_past(&store, after)? {
            return Ok(Err(pruned));
        }
        let views = records
            .into_iter()
            .map(|s| story_view(&store, &live.agencies, s, false))
            .collect::<Result<Vec<_>, _>>()?;
        let mut page = json!({"stories": views, "deleted": deleted, "next": next.to_string()});
        if !with_copies {
            if let Some(list) = page["stories"].as_array_mut() {
                for story in list.iter_mut().filter_map(|s| s.as_object_mut()) {
                    story.remove("copies");
                }
            }
        }
        Ok(Ok(page))
    })
    .await;
    match page {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(pruned)) => cursor_expired(after.unwrap_or(0), pruned, "after"),
        Err(e) => e.into_response(),
    }
}

/// Decimal digits only, as an integer: Rust's parse also takes a leading `+`, so that
/// `/stories/+1` was story 1.
pub(super) fn unsigned(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_id(raw: &str) -> Result<u64, BadParam> {
    unsigned(raw).ok_or_else(|| BadParam {
        name: "id".into(),
        message: if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            format!("{raw} is too large for an id; at most {}", u64::MAX)
        } else {
            format!("\"{raw}\" is not a numeric id")
        },
    })
}

/// The id of `/stories/{id}` or `/articles/{id}`, which take no query parameter (an unknown
/// one is refused, as on the lists).
fn record_id(
    raw: Result<Path<String>, PathRejection>,
    query: Option<&str>,
) -> Result<u64, BadParam> {
    Params::parse(query, &[])?;
    segment(raw, "id").and_then(|raw| parse_id(&raw))
}

pub(super) async fn story(
    State(state): State<AppState>,
    raw: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let id = match record_id(raw, q.as_deref()) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let (store, live) = (state.store.clone(), state.sources.get());
    let found = blocking(move || match store.story(id)? {
        Some(s) => {
            story_view(&store, &live.agencies, s, true).map(|v| StoryLookup::Found(Box::new(v)))
        }
        None => Ok(match store.merged_into(id)? {
            Some(into) => StoryLookup::Merged(into),
            None => StoryLookup::Missing,
        }),
    })
    .await;
    match found {
        Ok(StoryLookup::Found(v)) => Json(v).into_response(),
        // A story found later to be part of another: its id stays a valid link. Relative
        // (`/stories/7` → `9`, read as `/stories/9`): behind a proxy that serves wirefold
        // under a path, `/stories/9` left that path.
        Ok(StoryLookup::Merged(into)) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, into.to_string())],
            Json(json!({
                "error": "merged",
                "message": format!("story {id} was merged into story {into}"),
                "merged_into": into,
            })),
        )
            .into_response(),
        Ok(StoryLookup::Missing) => {
            super::error(StatusCode::NOT_FOUND, "not_found", "no such story")
        }
        Err(e) => e.into_response(),
    }
}

/// What `GET /stories/{id}` found.
enum StoryLookup {
    Found(Box<StoryView>),
    Merged(u64),
    Missing,
}

pub(super) async fn article(
    State(state): State<AppState>,
    raw: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let id = match record_id(raw, q.as_deref()) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let store = state.store.clone();
    match blocking(move || store.article(id)).await {
        Ok(Some(a)) => Json(ArticleView::new(a, true)).into_response(),
        Ok(None) => super::error(StatusCode::NOT_FOUND, "not_found", "no such article"),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// However many requests read at once, no more than [`READS_AT_ONCE`] of them hold a
    /// blocking thread; the rest wait, and every one is answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn store_reads_take_turns_on_the_blocking_threads() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        static NOW: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        // A request that timed out while its read ran: the read keeps its turn to its end.
        let slow = blocking(|| {
            let n = NOW.fetch_add(1, SeqCst) + 1;
            MOST.fetch_max(n, SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(300));
            NOW.fetch_sub(1, SeqCst);
            Ok(0)
        });
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(30), slow).await;
        assert!(timed_out.is_err());
        let reads = (0..12).map(|i| {
            tokio::spawn(blocking(move || {
                let n = NOW.fetch_add(1, SeqCst) + 1;
                MOST.fetch_max(n, SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(30));
                NOW.fetch_sub(1, SeqCst);
                Ok(i)
            }))
        });
        let mut answered = 0;
        for r in reads.collect::<Vec<_>>() {
            assert!(r.await.ok().and_then(|r| r.ok()).is_some());
            answered += 1;
        }
        assert_eq!(answered, 12);
        let most = MOST.load(SeqCst);
        assert!((1..=READS_AT_ONCE).contains(&most), "{most} reads at once");
    }

    fn rejected(query: &str, allowed: &[&str]) -> BadParam {
        match Params::parse(Some(query), allowed) {
            Ok(_) => panic!("{query} was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn parameters_are_decoded_and_each_allowed_once() {
        let p = match Params::parse(
            Some("after=12&text=tr%75e&limit=+7"),
            &["after", "limit", "text"],
        ) {
            Ok(p) => p,
            Err(e) => panic!("{}: {}", e.name, e.message),
        };
        assert_eq!(p.u64("after").ok(), Some(Some(12)));
        assert_eq!(p.get("text"), Some("true"));
        // `+` is a space in a query string, and integers are trimmed
        assert_eq!(p.limit().ok(), Some(7));
        assert!(matches!(Params::parse(None, &["after"]), Ok(p) if p.get("after").is_none()));

        let e = rejected("limit=1&limit=500", &["limit"]);
        assert_eq!(e.name, "limit");
        assert!(e.message.contains("more than once"), "{}", e.message);
        // the same name, once percent-encoded, is the same parameter
        assert_eq!(rejected("after=1&%61fter=2", &["after"]).name, "after");
        let e = rejected("after=1&colour=red", &["after", "limit"]);
        assert_eq!(e.name, "colour");
        assert!(e.message.contains("allowed: after, limit"), "{}", e.message);
    }

    #[test]
    fn integer_errors_say_what_is_wrong() {
        let p = |q: &str| {
            Params::parse(Some(q), &["after"])
                .ok()
                .unwrap_or_else(|| panic!("{q}"))
        };
        let message = |q: &str| p(q).u64("after").err().map(|e| e.message);
        assert_eq!(
            message("after=99999999999999999999").as_deref(),
            Some("99999999999999999999 is too large; at most 18446744073709551615")
        );
        assert_eq!(
            message("after=-1").as_deref(),
            Some("\"-1\" is not a non-negative integer")
        );
        assert_eq!(
            message("after=").as_deref(),
            Some("\"\" is not a non-negative integer")
        );
        assert_eq!(
            message("after=%2B5").as_deref(),
            Some("\"+5\" is not a non-negative integer")
        );
        // ASCII spaces around the digits at most: no other whitespace.
        assert_eq!(p("after=%205%20").u64("after").ok(), Some(Some(5)));
        for q in ["after=%C2%A05", "after=5%E2%80%83", "after=%E3%80%805"] {
            assert!(
                message(q).is_some_and(|m| m.ends_with("is not a non-negative integer")),
                "{q}: {:?}",
                message(q)
            );
        }
        assert!(matches!(parse_id("+1"), Err(e) if e.name == "id"));
        assert!(matches!(parse_id("1"), Ok(1)));
        // All digits, past u64: said so, not called "not numeric".
        let big = parse_id("99999999999999999999999").map_err(|e| e.message);
        assert_eq!(
            big,
            Err(
                "99999999999999999999999 is too large for an id; at most 18446744073709551615"
                    .into()
            )
        );
        assert_eq!(
            p("after=18446744073709551615").u64("after").ok(),
            Some(Some(u64::MAX))
        );
    }

    /// A reader from the start pages through the log with the `next` each page gives,
    /// also past changes stamped while the wall clock ran ahead, which retention passed
    /// over and pruned older ones after.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reader_from_the_start_goes_on_with_its_own_next_past_entries_stamped_ahead() {
        use crate::storage::tests::commit_at;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("db"),
            std::time::Duration::from_millis(100),
        )
        .unwrap();
        let year = 365 * 86_400_000;
        commit_at(&store, "g:ahead1", year);
        commit_at(&store, "g:ahead2", year + 1);
        commit_at(&store, "g:old", 2_000);
        commit_at(&store, "g:young", 9_000);
        store.flush().unwrap();
        assert_eq!(store.prune_changes_before(5_000, 10_000, 10).unwrap(), 1);
        store.flush().unwrap();
        let mut after = 0;
        let mut read = 0;
        loop {
            assert!(
                check_cursor(&store, Some(after), "after").await.is_ok(),
                "{after} refused (line {:?})",
                store.changes_pruned_through().unwrap()
            );
            let next = walk_changes(&store, Feed::Articles, after, 1, |_| Ok(true)).unwrap();
            if next == after {
                break;
            }
            read += 1;
            after = next;
        }
        assert_eq!(read, 3);
    }

    /// After a restore, a follower's cursor from the store it replaced is refused as expired,
    /// also once the restored store's new changes passed it; one from before the backup
    /// reads on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cursor_from_the_store_a_restore_replaced_has_expired() {
        use crate::storage::tests::{commit_at, replaced_by_its_backup};
        let dir = tempfile::tempdir().unwrap();
        let r = replaced_by_its_backup(dir.path());
        let store = Store::open(&r.path, std::time::Duration::from_millis(100)).unwrap();
        for round in 0..2 {
            let refused = check_cursor(&store, Some(r.cursor), "after")
                .await
                .unwrap_err();
            assert_eq!(refused.status(), StatusCode::GONE, "round {round}");
            let body = axum::body::to_bytes(refused.into_body(), 1 << 16)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"], "cursor_expired");
            assert_eq!(body["parameter"], "after");
            assert!(check_cursor(&store, Some(r.in_backup), "after")
                .await
                .is_ok());
            commit_at(&store, "g:new", 5_000);
            store.flush().unwrap();
        }
        assert!(store.last_change().unwrap().unwrap() > r.cursor);
    }
}
