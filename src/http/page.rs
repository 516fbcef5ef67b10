//! `GET /`: a page a person can read at a glance: the sources with a health colour, last poll,
//! last error and next poll, and the newest stories with their copies and sources. It
//! refreshes itself, loads nothing from elsewhere (inline CSS, no scripts), and escapes every
//! string that came from a feed.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::api::{story_view, StoryView};
use super::status::{build, health_of, SourceStatus, Status, StatusQuery};
use super::AppState;
use crate::cli::counted;
use crate::storage::StoreError;

/// Stories listed on the page.
const PAGE_STORIES: usize = 30;
/// Seconds between refreshes.
const REFRESH_S: u32 = 15;

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
.counts span{display:inline-block;margin-right:1.5em}.counts b{font-size:1.3em}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #e4e4e4;vertical-align:top}
th{background:#f0f0f0;font-weight:600}
.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.4em}
.ok{background:#2e9d4f}.warn{background:#e0a000}.bad{background:#d33}.idle{background:#aaa}
.err{color:#a00;font-size:.9em}td.t{white-space:nowrap}.muted{color:#777;font-size:.9em}.note{color:#8a5a00;font-size:.9em}
";

/// Health of a source, as a CSS class and a word.
fn health(s: &SourceStatus) -> (&'static str, &'static str) {
    if s.state == "held" {
        return ("idle", "held: network down");
    }
    let word = health_of(s);
    let class = match word {
        "ok" => "ok",
        "failing" => "warn",
        "down" => "bad",
        _ => "idle",
    };
    (class, word)
}

fn opt(s: &Option<String>) -> String {
    text(s.as_deref().unwrap_or("–")).into_owned()
}

fn render(
    status: &Status,
    stories: &Result<Vec<StoryView>, StoreError>,
    public_url: Option<&str>,
) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"{REFRESH_S}\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>wirefold</title><style>{STYLE}</style></head><body>\
<h1>wirefold</h1><p class=\"muted\">version {} · up {} s · refreshes every {REFRESH_S} s</p>\
<p class=\"counts\" id=\"counts\"><span><b>{}</b> sources</span><span><b>{}</b> articles</span>\
<span><b>{}</b> stories</span><span><b>{}</b> copies</span><span><b>{}</b> in flight</span></p>",
        status.version,
        status.uptime_s,
        status.counts.sources,
        status.counts.articles,
        status.counts.stories,
        status.counts.copies,
        status.polls_in_flight,
    );
    if let Some(skew) = status
        .clock
        .as_ref()
        .map(|c| crate::ingest::clock_check::Skew {
            seconds: c.offset_s,
            hosts: c.hosts,
        })
        .filter(crate::ingest::clock_check::Skew::off)
    {
        let _ = write!(
            h,
            "<p class=\"err\" id=\"clock\">{}</p>",
            text(&skew.warning())
        );
    }
    // As `wirefold stats` says it: else only each held row's grey "waiting" told of it, and
    // past the rows a page lists, nothing.
    let net = &status.network;
    if net.state == "down" {
        let said = crate::cli::network_down(
            net.down_since.as_deref(),
            net.held,
            net.next_probe.as_deref(),
        );
        let _ = write!(
            h,
            "<p class=\"err\" id=\"network\">The network is down {}.</p>",
            text(&said)
        );
    }
    let store = &status.store;
    if let Some(e) = &store.error {
        let what = if store.damaged {
            "The store is damaged and the daemon stops"
        } else {
            "The store takes no writes, and ingest waits for the disk,"
        };
        let _ = write!(
            h,
            "<p class=\"err\" id=\"store\">{what} since {}: {}</p>",
            opt(&e.since),
            text(&e.message)
        );
    }
    if store.previous_stop == "unclean" {
        h.push_str(
            "<p class=\"muted\" id=\"previous\">The previous run did not stop cleanly: \
the store was recovered from its log (see the log of this start).</p>",
        );
    }
    let backups = &store.backups;
    if let Some(f) = &backups.failure {
        let _ = write!(
            h,
            "<p class=\"err\" id=\"backup\">The store's backup at {} failed: {}</p>",
            opt(&f.at),
            text(&f.message)
        );
    } else if let Some(last) = &backups.last {
        let _ = write!(
            h,
            "<p class=\"muted\" id=\"backup\">last backup {}{}</p>",
            opt(&last.at),
            backups
                .next
                .as_ref()
                .map_or(String::new(), |n| format!(" · next {}", text(n)))
        );
    }
    retention_line(&mut h, &store.retention);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    match &store.data {
        Some(d) if d.compact_advised => {
            let _ = write!(
                h,
                "<p class=\"note\" id=\"disk\">The store takes {:.1} MiB on disk, and a \
compaction would leave about {:.1} MiB of it (its data counted at {}, scaled by the articles \
since): the rest is space retention freed. <code>wirefold compact</code>, with the daemon \
stopped, gives it back.</p>",
                mib(status.store_bytes),
                mib(d.expected_after_compact.unwrap_or(0)),
                opt(&d.counted_at)
            );
        }
        Some(d) => {
            let _ = write!(
                h,
                "<p class=\"muted\" id=\"disk\">store {:.1} MiB on disk · {:.1} MiB of data \
counted at {}</p>",
                mib(status.store_bytes),
                mib(d.bytes),
                opt(&d.counted_at)
            );
        }
        None => {
            let _ = write!(
                h,
                "<p class=\"muted\" id=\"disk\">store {:.1} MiB on disk</p>",
                mib(status.store_bytes)
            );
        }
    }
    if let Some(err) = &status.config.last_reload_error {
        let _ = write!(
            h,
            "<p class=\"err\" id=\"reload\">The configuration reload at {} was refused; the \
sources below are those loaded at {}:</p><pre class=\"err\">{}</pre>",
            opt(&status.config.last_reload),
            opt(&status.config.loaded_at),
            text(err)
        );
    }
    h.push_str(
        "<h2>Sources</h2><table id=\"sources\"><thead><tr><th>source</th><th>health</th>\
<th>last poll</th><th>next poll</th><th>polls: not modified / same body</th>\
<th>new / copies / updated</th><th>last new article</th><th>last error</th></tr></thead><tbody>",
    );
    for s in &status.sources {
        let (class, word) = health(s);
        let title = s.title.as_deref().unwrap_or(&s.name);
        let err = s
            .last_error
            .as_ref()
            .map(|e| format!("{}: {}", e.class, e.message));
        let _ = write!(
            h,
            "<tr class=\"source\" data-name=\"{}\"><td><a href=\"{}\">{}</a><br><span class=\"muted\">{}</span></td>\
<td><span class=\"dot {class}\"></span>{word}{}</td><td class=\"t\">{}</td><td class=\"t\">{}{}</td>\
<td class=\"polls\">{}: {} / {}</td><td>{} / {} / {}</td><td class=\"t last-new\">{}</td><td class=\"err\">{}</td></tr>",
            attr(&s.name),
            attr(&s.url),
            text(title),
            text(&s.name),
            if s.failures > 0 { format!(" ({} failures)", s.failures) } else { String::new() },
            opt(&s.last_poll),
            opt(&s.next_poll),
            s.host_paused_until.as_ref().map_or(String::new(), |until| format!(
                "<br><span class=\"muted host-paused\">host paused until {} (Retry-After)</span>",
                text(until)
            )),
            s.polls,
            s.not_modified,
            s.unchanged_bodies,
            s.items_new,
            s.items_copies,
            s.items_updated,
            opt(&s.last_new_article),
            text(err.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</tbody></table>");
    if status.sources_omitted > 0 {
        let _ = write!(
            h,
            "<p class=\"muted\">{} not listed here ({}); \
all of them: <a href=\"{}\">/status?sources=all</a></p>",
            counted(status.sources_omitted as u64, "source", "sources"),
            omitted_by_health(&status.health, status.sources.iter().map(health_of)),
            attr(&all_sources_href(public_url))
        );
    }
    h.push_str(
        "<h2>Newest stories</h2><table id=\"stories\"><thead><tr><th>story</th><th>copies</th>\
<th>sources</th><th>first seen</th></tr></thead><tbody>",
    );
    let stories = match stories {
        Ok(list) => list.as_slice(),
        Err(e) => {
            let _ = write!(
                h,
                "</tbody></table><p class=\"err\" id=\"stories-error\">The newest stories \
cannot be read now: {}</p></body></html>",
                text(&e.to_string())
            );
            return h;
        }
    };
    for s in stories {
        let sources: Vec<&str> = {
            let mut v: Vec<&str> = s.copies.iter().map(|c| c.source.as_str()).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let title = match &s.url {
            Some(u) => format!("<a href=\"{}\">{}</a>", attr(u), text(&s.title)),
            None => text(&s.title).into_owned(),
        };
        let _ = write!(
            h,
            "<tr class=\"story\" data-id=\"{}\"><td>{title}</td><td class=\"copies\">{}</td><td>{}</td><td class=\"t\">{}</td></tr>",
            s.id,
            s.copy_count,
            text(&sources.join(", ")),
            opt(&s.created),
        );
    }
    h.push_str("</tbody></table></body></html>");
    h
}

/// The status, and the newest stories unless they cannot be read: sled cannot scan while
/// the disk is full, and the page is what shows an operator that the store takes no writes.
type Loaded = (Status, Result<Vec<StoryView>, StoreError>);

fn load(state: &AppState) -> Result<Loaded, StoreError> {
    let live = state.sources.get();
    let status = build(state, &live, StatusQuery::default_for(live.list.len()))?;
    // The records first, their iterator let go, then each one's copies: a backup waits for
    // a live iterator, and reading under one kept it waiting.
    let stories = state
        .store
        .stories_before(None)
        .take(PAGE_STORIES)
        .collect::<Result<Vec<_>, _>>()
        .and_then(|records| {
            records
                .into_iter()
                .map(|s| story_view(&state.store, &live.agencies, s, false))
                .collect::<Result<Vec<_>, _>>()
        });
    Ok((status, stories))
}

/// What the page may do in a browser: inline style, nothing else (no script, no request
/// anywhere, no form, not framed).
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                           form-action 'none'; frame-ancestors 'none'";

pub(super) async fn page(State(state): State<AppState>) -> Response {
    let config = state.config.clone();
    match super::api::in_turn(&super::api::STATUS_TURNS, move || load(&state)).await {
        Ok(Ok((status, stories))) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // Feed text is escaped on the page; should an escape ever be missed, the
                // browser still runs no script and loads nothing (inline CSS only).
                (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            render(&status, &stories, config.http.public_url.as_deref()),
        )
            .into_response(),
        Ok(Err(e)) => super::error(StatusCode::INTERNAL_SERVER_ERROR, "store", &e.to_string()),
        Err(e) => super::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

/// The page's link to every source's status: under `http.public_url`'s path when one is set
/// (behind a proxy that serves wirefold at `/wirefold`, say), as the feeds' links are.
fn all_sources_href(public_url: Option<&str>) -> String {
    let mount = public_url
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{mount}/status?sources=all&limit=100000")
}

/// The sources `/status` left out of its list, counted by health: every source's count
/// (`all`) less the listed ones' (`listed`, their [`health_of`] words). With more than a page
/// of failing sources, some failing ones are left out too.
fn omitted_by_health<'a>(
    all: &super::status::HealthCounts,
    listed: impl Iterator<Item = &'a str>,
) -> String {
    let mut left = *all;
    for word in listed {
        left.remove(word);
    }
    // The troubled ones first.
    let mut counts = left.by_word();
    counts.sort_by_key(|&(w, _)| !matches!(w, "failing" | "down" | "gone"));
    counts
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .map(|(word, n)| format!("{n} {word}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The retention line: the failure while sweeps fail, else the last sweep, else that none
/// ran yet; nothing while retention is off.
fn retention_line(h: &mut String, retention: &super::status::RetentionStatus) {
    if let Some(since) = &retention.failing_since {
        let _ = write!(
            h,
            "<p class=\"err\" id=\"retention\">Retention sweeps fail since {} (see the log): \
nothing older than {} is deleted meanwhile.</p>",
            text(since),
            opt(&retention.after)
        );
    } else if let (Some(after), Some(last)) = (&retention.after, &retention.last) {
        let _ = write!(
            h,
            "<p class=\"muted\" id=\"retention\">retention {} · last sweep {} · {} articles \
deleted since the start</p>",
            text(after),
            text(last),
            retention.deleted.articles
        );
    } else if let Some(after) = &retention.after {
        let _ = write!(
            h,
            "<p class=\"muted\" id=\"retention\">retention {} · no sweep yet (the first \
follows the store's read-through)</p>",
            text(after)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retention on and no sweep yet (the first follows the read-through) has a line; off
    /// has none; a failure is an error line.
    #[test]
    fn the_retention_line_says_when_no_sweep_ran_yet() {
        let mut r = super::super::status::RetentionStatus {
            after: Some("30days".into()),
            every: Some("10m".into()),
            sweeps: 0,
            last: None,
            next: None,
            deleted: crate::retention::Swept::default(),
            failed: 0,
            failing_since: None,
        };
        let line = |r: &super::super::status::RetentionStatus| {
            let mut h = String::new();
            retention_line(&mut h, r);
            h
        };
        assert!(
            line(&r).contains("id=\"retention\">retention 30days · no sweep yet"),
            "{}",
            line(&r)
        );
        r.last = Some("2026-03-03T02:00:00Z".into());
        assert!(line(&r).contains("last sweep 2026-03-03T02:00:00Z · 0 articles"));
        r.failing_since = Some("2026-03-03T02:10:00Z".into());
        assert!(line(&r).contains("class=\"err\" id=\"retention\">Retention sweeps fail"));
        r.after = None;
        r.failing_since = None;
        assert_eq!(line(&r), "");
    }

    /// Behind a proxy that serves wirefold under a path (`http.public_url`), the link to
    /// every source's status keeps it.
    #[test]
    fn the_link_to_every_source_keeps_the_public_urls_path() {
        let all = "/status?sources=all&limit=100000";
        assert_eq!(all_sources_href(None), all);
        for url in ["https://news.example.org", "https://news.example.org/"] {
            assert_eq!(all_sources_href(Some(url)), all, "{url}");
        }
        for url in [
            "https://news.example.org/wirefold",
            "https://news.example.org/wirefold/",
        ] {
            assert_eq!(
                all_sources_href(Some(url)),
                format!("/wirefold{all}"),
                "{url}"
            );
        }
    }

    /// 1,502 failing sources of 2,000, a page of 1,000 listed: 502 failing ones are left out
    /// beside the 498 that are fine (the footer said "498 ok, 0 waiting, 0 disabled").
    #[test]
    fn the_sources_left_out_are_counted_by_health() {
        let all = super::super::status::HealthCounts {
            ok: 498,
            failing: 2,
            down: 1500,
            ..Default::default()
        };
        let listed = std::iter::repeat_n("down", 998).chain(["failing", "failing"]);
        assert_eq!(omitted_by_health(&all, listed), "502 down, 498 ok");
        assert_eq!(
            omitted_by_health(&all, std::iter::empty()),
            "2 failing, 1500 down, 498 ok"
        );
    }
}
