//! The folded stream as feeds any reader can subscribe to: `GET /feeds/stories.atom` (Atom
//! 1.0, written by `atom_syndication`) and `GET /feeds/stories.json` (JSON Feed 1.1). One
//! entry per story, newest first: the canonical copy's title and link, the other copies
//! listed in the content.

use std::collections::HashSet;

use axum::extract::{RawQuery, State};
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde_json::json;

use super::api::{blocking, story_view, ApiError, Params, StoryView};
use super::AppState;
use crate::cli::counted;
use crate::config::HttpConfig;
use crate::storage::{Store, StoreError};

/// Stories per feed document unless `?limit=` says otherwise.
const FEED_LIMIT: usize = 50;

fn newest(
    store: &Store,
    agencies: &HashSet<String>,
    limit: usize,
) -> Result<Vec<StoryView>, StoreError> {
    // The records first, their iterator let go (see `page::load`).
    let records = store
        .stories_before(None)
        .take(limit)
        .collect::<Result<Vec<_>, _>>()?;
    records
        .into_iter()
        .map(|s| story_view(store, agencies, s, true))
        .collect()
}

/// A story's time; the epoch when it has none: a stand-in of "now" changed the document,
/// and so its `ETag`, every second, and a reader never got a 304.
fn when(s: &Option<String>) -> DateTime<FixedOffset> {
    s.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .unwrap_or_else(|| DateTime::<Utc>::UNIX_EPOCH.fixed_offset())
}

/// The copies of a story as an HTML list (escaped).
fn copies_html(s: &StoryView) -> String {
    let mut out = format!(
        "<p>{} from {}.</p><ul>",
        counted(s.copy_count as u64, "copy", "copies"),
        counted(s.source_count as u64, "source", "sources")
    );
    for c in &s.copies {
        let title = text(c.title.as_deref().unwrap_or(""));
        let source = text(&c.source);
        match &c.url {
            Some(u) => out.push_str(&format!(
                "<li>{source}: <a href=\"{}\">{title}</a></li>",
                attr(u)
            )),
            None => out.push_str(&format!("<li>{source}: {title}</li>")),
        }
    }
    out.push_str("</ul>");
    out
}

/// The name the reader asked for, as the check against DNS rebinding reads it
/// ([`super::control::asked_host`]: the request target's authority in absolute form, else
/// the `Host` header); none when it is no such name.
fn asked(headers: &HeaderMap, uri: &Uri) -> Option<Authority> {
    super::control::asked_host(headers, uri.authority())
        .ok()
        .flatten()
}

/// The base of the feeds' own links: `http.public_url` when configured, else the name the
/// reader asked for ([`asked`]; answered to that reader only), else the listen address as
/// reached from this host.
fn base_url(http: &HttpConfig, asked: Option<&Authority>) -> String {
    if let Some(url) = &http.public_url {
        return url.clone();
    }
    match asked {
        Some(a) => format!("http://{a}"),
        None => http
            .local_url()
            .unwrap_or_else(|| format!("http://{}", http.listen)),
    }
}

/// The base of the Atom feed's id, which is permanent (RFC 4287 4.2.6) whoever asks and
/// under whatever name: `http.public_url`, else the listen address as reached from this
/// host; only for a port chosen at start (0, tests) the links' base ([`base_url`]).
fn id_base(http: &HttpConfig, asked: Option<&Authority>) -> String {
    http.public_url
        .clone()
        .or_else(|| http.local_url())
        .unwrap_or_else(|| base_url(http, asked))
}

/// `?limit=` (default [`FEED_LIMIT`]) and the newest stories.
async fn load(state: &AppState, q: Option<String>) -> Result<Vec<StoryView>, ApiError> {
    let p = Params::parse(q.as_deref(), &["limit"])?;
    let limit = match p.u64("limit")? {
        None => FEED_LIMIT,
        Some(_) => p.limit()?,
    };
    let (store, live) = (state.store.clone(), state.sources.get());
    blocking(move || newest(&store, &live.agencies, limit)).await
}

pub(super) async fn atom(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Response {
    let stories = match load(&state, q).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let asked = asked(&headers, &uri);
    let base = base_url(&state.config.http, asked.as_ref());
    let entries: Vec<atom_syndication::Entry> = stories
        .iter()
        .map(|s| atom_syndication::Entry {
            id: format!("urn:wirefold:story:{}", s.id),
            title: s.title.clone().into(),
            updated: when(&s.updated),
            published: Some(when(&s.created)),
            links: s
                .url
                .iter()
                .map(|u| atom_syndication::Link {
                    href: u.clone(),
                    rel: "alternate".into(),
                    ..Default::default()
                })
                .collect(),
            content: Some(atom_syndication::Content {
                value: Some(copies_html(s)),
                content_type: Some("html".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let feed = atom_syndication::Feed {
        // Permanent (RFC 4287 4.2.6): not the `Host` a reader happened to use.
        id: format!(
            "{}/feeds/stories.atom",
            id_base(&state.config.http, asked.as_ref())
        ),
        title: "wirefold stories".into(),
        // The newest change of any entry (they are in order of creation, and an older
        // story may have changed last); an empty feed's too stays the same from one request
        // to the next (see `when`).
        updated: entries
            .iter()
            .map(|e| e.updated)
            .max()
            .unwrap_or_else(|| DateTime::<Utc>::UNIX_EPOCH.fixed_offset()),
        // Required of a feed whose entries have none (RFC 4287 4.1.1).
        authors: vec![atom_syndication::Person {
            name: "wirefold".into(),
            ..Default::default()
        }],
        links: vec![atom_syndication::Link {
            href: format!("{base}/feeds/stories.atom"),
            rel: "self".into(),
            ..Default::default()
        }],
        generator: Some(atom_syndication::Generator {
            value: "wirefold".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        }),
        entries,
        ..Default::default()
    };
    conditional(
        &headers,
        "application/atom+xml; charset=utf-8",
        feed.to_string(),
    )
}

pub(super) async fn json_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Response {
    let stories = match load(&state, q).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let asked = asked(&headers, &uri);
    let base = base_url(&state.config.http, asked.as_ref());
    let items: Vec<serde_json::Value> = stories
        .iter()
        .map(|s| {
            let mut item = json!({
                "id": format!("urn:wirefold:story:{}", s.id),
                "title": s.title,
                "content_html": copies_html(s),
                "_wirefold": {
                    "story": s.id,
                    "copy_count": s.copy_count,
                    "source_count": s.source_count,
                    "copies": s.copies,
                },
            });
            // JSON Feed's optional strings are left out, never null.
            for (key, value) in [
                ("url", &s.url),
                ("date_published", &s.created),
                ("date_modified", &s.updated),
            ] {
                if let Some(v) = value {
                    item[key] = json!(v);
                }
            }
            item
        })
        .collect();
    let doc = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "wirefold stories",
        "home_page_url": format!("{base}/"),
        "feed_url": format!("{base}/feeds/stories.json"),
        "items": items,
    });
    conditional(
        &headers,
        "application/feed+json; charset=utf-8",
        doc.to_string(),
    )
}

/// A feed document with an `ETag` (the hash of its bytes), or `304 Not Modified` when the
/// reader's `If-None-Match` names it: feed readers poll, and most polls find the feed as it
/// was. `Cache-Control: no-cache` lets a cache keep it only to ask again with the tag.
fn conditional(headers: &HeaderMap, content_type: &'static str, body: String) -> Response {
    let tag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body.as_bytes()));
    let cache = (header::CACHE_CONTROL, "no-cache");
    if none_match(headers, &tag) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, tag), (cache.0, cache.1.to_owned())],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::ETAG, tag),
            (cache.0, cache.1.to_owned()),
        ],
        body,
    )
        .into_response()
}

/// Whether `If-None-Match` names `tag` (weakly compared, RFC 9110 13.1.2) or is `*`.
fn none_match(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_atom_id_stays_whatever_name_the_reader_used() {
        let http = |listen: &str, public_url: Option<&str>| HttpConfig {
            listen: listen.parse().unwrap(),
            shutdown_grace: std::time::Duration::from_secs(5),
            request_timeout: std::time::Duration::from_secs(10),
            token: None,
            metrics_max_sources: 100,
            public_url: public_url.map(str::to_owned),
        };
        let host = |host: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, host.parse().unwrap());
            h
        };
        let origin_form: Uri = "/feeds/stories.atom".parse().unwrap();
        let by_host = |h: &str| asked(&host(h), &origin_form);
        let plain = http("0.0.0.0:8080", None);
        for h in ["localhost", "LOCALHOST:8080", "127.0.0.1:8080"] {
            assert_eq!(
                id_base(&plain, by_host(h).as_ref()),
                "http://127.0.0.1:8080"
            );
        }
        // The links follow the name asked for.
        assert_eq!(
            base_url(&plain, by_host("localhost").as_ref()),
            "http://localhost"
        );
        let public = http("0.0.0.0:8080", Some("https://news.example.org/w"));
        assert_eq!(
            id_base(&public, by_host("localhost").as_ref()),
            "https://news.example.org/w"
        );
        // A port chosen at start: the links' base, the best there is.
        let chosen = http("127.0.0.1:0", None);
        assert_eq!(
            id_base(&chosen, by_host("localhost:4242").as_ref()),
            "http://localhost:4242"
        );
    }

    /// A request in absolute form names its host in the target, and its `Host` header is
    /// ignored (RFC 9112 3.2.2), as the check against DNS rebinding ignores it: the links
    /// took the header's name, which that check never saw. User info is no name.
    #[test]
    fn an_absolute_target_names_the_host_over_the_header() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "elsewhere.example".parse().unwrap());
        let absolute: Uri = "http://127.0.0.1:8080/feeds/stories.atom".parse().unwrap();
        assert_eq!(
            asked(&h, &absolute).map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:8080")
        );
        let origin_form: Uri = "/feeds/stories.atom".parse().unwrap();
        assert_eq!(
            asked(&h, &origin_form).map(|a| a.to_string()).as_deref(),
            Some("elsewhere.example")
        );
        let with_user: Uri = "http://u@127.0.0.1/feeds/stories.atom".parse().unwrap();
        assert_eq!(asked(&h, &with_user), None);
    }
}
