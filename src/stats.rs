//! `wirefold stats`: the running daemon's `/status`, summarized for a terminal.

use std::fmt::Write;

use serde::Deserialize;

use crate::cli::counted;

/// The parts of `/status` the summary shows.
#[derive(Debug, Deserialize)]
struct Status {
    version: String,
    uptime_s: u64,
    polls_in_flight: u64,
    index_size: u64,
    store_bytes: u64,
    counts: Counts,
    sources: Vec<Source>,
    /// Sources the daemon left out of `sources` (it lists up to 1,000, the failing ones
    /// first when more are configured).
    #[serde(default)]
    sources_omitted: usize,
    /// `all`, or `failing` when more than 1,000 are configured.
    #[serde(default)]
    sources_shown: Option<String>,
    /// Every source's health, counted by the daemon (`stats --source` lists one source).
    #[serde(default)]
    health: Option<Health>,
    /// Absent from the status of a wirefold before automatic backups.
    #[serde(default)]
    store: Option<StoreStatus>,
    #[serde(default)]
    config: Option<ConfigStatus>,
    /// Absent from the status of an older wirefold.
    #[serde(default)]
    network: Option<Network>,
}

/// `/status`'s `network`.
#[derive(Debug, Deserialize)]
struct Network {
    state: String,
    #[serde(default)]
    down_since: Option<String>,
    #[serde(default)]
    held: usize,
    #[serde(default)]
    next_probe: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Health {
    #[serde(default)]
    failing: usize,
    #[serde(default)]
    down: usize,
}

#[derive(Debug, Deserialize)]
struct ConfigStatus {
    #[serde(default)]
    last_reload: Option<String>,
    #[serde(default)]
    last_reload_error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StoreStatus {
    backups: Option<BackupStatus>,
    /// Absent from the status of a wirefold before session 59.
    #[serde(default)]
    retention: Option<RetentionStatus>,
    /// The write failure that stops ingesting, while it lasts.
    #[serde(default)]
    error: Option<StoreFailure>,
    #[serde(default)]
    damaged: bool,
    /// Absent from the status of a wirefold before session 40's run marker.
    #[serde(default)]
    previous_stop: Option<String>,
    /// The store's keys and values at the last read-through; absent before one finished,
    /// and from the status of a wirefold before session 60.
    #[serde(default)]
    data: Option<DataStatus>,
}

/// `/status`'s `store.data`.
#[derive(Debug, Deserialize)]
struct DataStatus {
    bytes: u64,
    #[serde(default)]
    counted_at: Option<String>,
    #[serde(default)]
    expected_after_compact: Option<u64>,
    #[serde(default)]
    compact_advised: bool,
}

#[derive(Debug, Deserialize)]
struct StoreFailure {
    message: String,
    since: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BackupStatus {
    every: Option<String>,
    last: Option<LastBackup>,
    next: Option<String>,
    failure: Option<BackupFailure>,
}

#[derive(Debug, Deserialize)]
struct RetentionStatus {
    after: Option<String>,
    sweeps: u64,
    last: Option<String>,
    deleted: Deleted,
    failing_since: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Deleted {
    articles: u64,
    tombstones: u64,
}

#[derive(Debug, Deserialize)]
struct LastBackup {
    at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BackupFailure {
    at: Option<String>,
    message: String,
}

#[derive(Debug, Deserialize)]
struct Counts {
    sources: u64,
    articles: u64,
    stories: u64,
    copies: u64,
}

#[derive(Debug, Deserialize)]
struct Source {
    name: String,
    enabled: bool,
    /// `gone` for a feed that answered 410 (no longer polled), `held` while the network is
    /// down; absent from older daemons.
    #[serde(default)]
    state: Option<String>,
    failures: u32,
    polls: u64,
    not_modified: u64,
    /// Absent from the status of a wirefold before store schema 7.
    #[serde(default)]
    unchanged_bodies: u64,
    last_success: Option<String>,
    /// Absent from the status of a wirefold before store schema 8.
    #[serde(default)]
    last_new_article: Option<String>,
    next_poll: Option<String>,
    /// Its host's `Retry-After` pause; absent from older daemons.
    #[serde(default)]
    host_paused_until: Option<String>,
    items_new: u64,
    items_copies: u64,
    items_updated: u64,
    last_error: Option<SourceError>,
}

#[derive(Debug, Deserialize)]
struct SourceError {
    class: String,
    message: String,
}

/// Fetches `{base}/status` (only `source`'s entry, when given) and renders the summary.
pub async fn stats(
    base: &str,
    token: Option<&str>,
    source: Option<&str>,
) -> anyhow::Result<String> {
    let mut url = url::Url::parse(&format!("{}/status", base.trim_end_matches('/')))
        .map_err(|e| anyhow::anyhow!("{base} is not a URL: {e}"))?;
    if let Some(name) = source {
        url.query_pairs_mut().append_pair("source", name);
    }
    let client = client(std::time::Duration::from_secs(10))?;
    let body = answer(client.get(url), token, &format!("{base}/status"))
        .await
        .map_err(|e| no_daemon(e, base))?;
    let mut status: Status = serde_json::from_str(&body)
        .map_err(|e| anyhow::anyhow!("{base}/status is not wirefold status JSON: {e}"))?;
    if source.is_some() {
        // the others were not asked for
        status.sources_omitted = 0;
    }
    Ok(render(&status))
}

/// `e`, said plainly when nothing listens at `base` (the daemon is stopped, or listens
/// elsewhere than this configuration says).
fn no_daemon(e: anyhow::Error, base: &str) -> anyhow::Error {
    if e.downcast_ref::<reqwest::Error>()
        .is_some_and(reqwest::Error::is_connect)
    {
        e.context(format!(
            "no daemon answers at {base}: is it running, and does its http.listen match this configuration?"
        ))
    } else {
        e
    }
}

/// How long `poll-now` waits for an answer: the daemon answers within its
/// `http.request_timeout` (at most 10 minutes), and at once without `--wait`; a daemon that
/// accepts connections and never answers (stopped, hung) held a timer's job for an hour.
const POLL_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60 + 30);
const POLL_STARTED_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// POSTs to the daemon at `base` under `segments` and returns its JSON answer; an error
/// status is the error, with the daemon's message; no answer within `timeout` is an error.
async fn post(
    base: &str,
    token: Option<&str>,
    segments: &[&str],
    query: Option<&str>,
    timeout: std::time::Duration,
) -> anyhow::Result<serde_json::Value> {
    let mut url = url::Url::parse(base).map_err(|e| anyhow::anyhow!("{base} is not a URL: {e}"))?;
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("{base} cannot be a base URL"))?
        .pop_if_empty()
        .extend(segments);
    url.set_query(query);
    let client = client(timeout)?;
    let text = answer(client.post(url.clone()), token, url.as_str())
        .await
        .map_err(|e| {
            if e.downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_timeout)
            {
                let waited = humantime::format_duration(timeout);
                e.context(format!(
                    "the daemon at {base} gave no answer within {waited} (is it hung or stopped?)"
                ))
            } else {
                e
            }
        })?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

/// Whether the daemon at `base` answers `GET /healthz` within `wait`; the error says what
/// it did instead (nobody listening, no answer, an error status).
async fn healthy(base: &str, wait: std::time::Duration) -> anyhow::Result<()> {
    let url = format!("{}/healthz", base.trim_end_matches('/'));
    let client = client(wait)?;
    match answer(client.get(&url), None, &url).await {
        Ok(_) => Ok(()),
        Err(e)
            if e.downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_timeout) =>
        {
            let waited = humantime::format_duration(wait);
            Err(e.context(format!(
                "the daemon at {base} gave no answer to /healthz within {waited} (is it hung or stopped?); no backup was asked for"
            )))
        }
        Err(e)
            if e.downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_connect) =>
        {
            Err(e.context(format!(
                "no daemon answers at {base}; with the daemon stopped, use `wirefold backup --offline`"
            )))
        }
        Err(e) => Err(e.context(format!("the daemon at {base} is not healthy; no backup was asked for"))),
    }
}

/// A client for the daemon's API whose requests end after `timeout`. Never through a proxy
/// of the environment (`HTTP_PROXY`, `ALL_PROXY`: set for the daemon's polls, in a container
/// too): the daemon is reached directly, and the token must not go to a proxy.
pub fn client(timeout: std::time::Duration) -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .build()?)
}

/// Sends `req` with the bearer `token` and returns the body of a success; a refusal (of a
/// request to `shown`) is the error.
async fn answer(
    mut req: reqwest::RequestBuilder,
    token: Option<&str>,
    shown: &str,
) -> anyhow::Result<String> {
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let code = resp.status();
    let body = resp.text().await?;
    if !code.is_success() {
        return Err(refusal(shown, code, &body, token.is_some()));
    }
    Ok(body)
}

/// The daemon's refusal of a request to `url` as an error: the `message` of its JSON error,
/// else the body as it came. A `401` also says what to do about the token the command sent
/// (`sent_token`) or did not.
fn refusal(url: &str, code: reqwest::StatusCode, body: &str, sent_token: bool) -> anyhow::Error {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body.to_owned());
    let hint = match (code, sent_token) {
        (reqwest::StatusCode::UNAUTHORIZED, true) => {
            " (the daemon refused the token the command sent, --token's or else the \
             configuration's http.token: a daemon reads http.token when it starts, so one \
             started before the token was edited still takes the old one until it is \
             restarted)"
        }
        (reqwest::StatusCode::UNAUTHORIZED, false) => {
            " (the command sent no token: give it the daemon's configuration with -c, which \
             holds http.token)"
        }
        _ => "",
    };
    anyhow::anyhow!("{url} answered {code}: {}{hint}", message.trim())
}

/// Asks the daemon at `base` for a backup of its store (`POST /store/backup`); the sentence
/// to print.
pub async fn backup(base: &str, token: Option<&str>) -> anyhow::Result<String> {
    backup_with(base, token, BACKUP_ASK_WAIT).await
}

/// How long `backup` waits for the daemon's `/healthz` before it asks for the copy: a
/// daemon that takes connections and never answers (stopped with SIGSTOP, hung) held a
/// timer's backup job for the hour a copy may take.
const BACKUP_ASK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// [`backup`], giving up after `ask_wait` when the daemon does not answer `/healthz`.
async fn backup_with(
    base: &str,
    token: Option<&str>,
    ask_wait: std::time::Duration,
) -> anyhow::Result<String> {
    healthy(base, ask_wait).await?;
    // A backup takes what the disk needs: an hour covers the largest stores.
    let hour = std::time::Duration::from_secs(60 * 60);
    let body = post(base, token, &["store", "backup"], None, hour)
        .await
        .map_err(|e| {
            // Nobody listening: most likely a stopped daemon, whose store needs the other way.
            let refused = e
                .downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_connect);
            // Asked, and no answer came (the daemon stopped or died meanwhile): whether
            // the copy was finished is unknown.
            let unanswered = e
                .downcast_ref::<reqwest::Error>()
                .is_some_and(|e| e.is_request() || e.is_body());
            if refused {
                e.context(format!(
                    "no daemon answers at {base}; with the daemon stopped, use `wirefold backup --offline`"
                ))
            } else if unanswered {
                e.context(format!(
                    "the daemon at {base} did not answer the backup (did it stop?): it may or may not have finished; \
                     a finished backup is a wirefold-TIME directory under store.backup_dir, an unfinished one starts with .partial-"
                ))
            } else {
                e
            }
        })?;
    let mib = body["bytes"].as_u64().unwrap_or(0) as f64 / (1024.0 * 1024.0);
    let closed = body["closed_for_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
    let mut text = format!(
        "store backed up to {} ({mib:.1} MiB; the store was closed for {closed:.1} s)",
        body["path"].as_str().unwrap_or("?")
    );
    for removed in body["removed"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "\nremoved the older backup {}",
            removed.as_str().unwrap_or("?")
        ));
    }
    Ok(text)
}

/// Asks the daemon at `base` to poll `source` now (`POST /sources/{name}/poll`) and, with
/// `wait`, for the poll's outcome: the sentence to print, or as the error the daemon's
/// refusal or the poll's failure.
pub async fn poll_now(
    base: &str,
    token: Option<&str>,
    source: &str,
    wait: bool,
) -> anyhow::Result<String> {
    let query = wait.then_some("wait=true");
    let timeout = if wait {
        POLL_ANSWER_WAIT
    } else {
        POLL_STARTED_WAIT
    };
    let body = post(base, token, &["sources", source, "poll"], query, timeout)
        .await
        .map_err(|e| no_daemon(e, base))?;
    let field = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let status = &body["status"];
    let next = |what: &str| match status["next_poll"].as_str() {
        Some(at) => format!("; {what} {at}"),
        None => String::new(),
    };
    Ok(match field(&body, "poll").as_str() {
        "done" if !status["last_error"].is_null() => {
            let e = &status["last_error"];
            let class = match e["status"].as_u64() {
                Some(code) => format!("{} {code}", field(e, "class")),
                None => field(e, "class"),
            };
            anyhow::bail!(
                "{source:?}: the poll failed [{class}]: {}{}",
                field(e, "message"),
                next("next try")
            );
        }
        "done" if body["not_modified"].as_bool() == Some(true) => {
            format!("{source:?}: polled: not modified{}", next("next poll"))
        }
        "done" => {
            let n = |k: &str| body[k].as_u64().unwrap_or(0);
            format!(
                "{source:?}: polled: {} new, {} {}, {} updated{}",
                n("new"),
                n("copies"),
                if n("copies") == 1 { "copy" } else { "copies" },
                n("updated"),
                next("next poll")
            )
        }
        "in_flight" => format!(
            "source {source:?} is being polled already; its outcome shows in `wirefold stats`"
        ),
        _ if wait => format!(
            "polling {source:?}; it had not ended when the daemon answered, its outcome shows in `wirefold stats`"
        ),
        _ => format!("polling {source:?} now; its outcome shows in `wirefold stats` and /status"),
    })
}

/// `last backup …` with the schedule, and a failure since the last success.
fn backups_line(b: &BackupStatus) -> String {
    let at = |t: &Option<String>| t.clone().unwrap_or_else(|| "?".into());
    let mut line = match &b.last {
        Some(last) => format!("last backup {}", at(&last.at)),
        None => "no backup yet".to_owned(),
    };
    match (&b.every, &b.next) {
        (Some(every), Some(next)) => {
            let _ = write!(line, " · every {every}, next {next}");
        }
        (Some(every), None) => {
            let _ = write!(line, " · every {every}");
        }
        _ => line.push_str(" · automatic backups off (store.backup_every)"),
    }
    if let Some(f) = &b.failure {
        let _ = write!(line, "\nBACKUP FAILED at {}: {}", at(&f.at), f.message);
    }
    line
}

/// `retention 30days · 12 sweeps, the last …, 340 articles and 12 tombstones deleted since
/// the start`, with a failure that lasts; `None` while retention is off.
fn retention_line(r: &RetentionStatus) -> Option<String> {
    let after = r.after.as_deref()?;
    let mut line = match &r.last {
        Some(last) => format!(
            "retention {after} · {}, the last {last}; {} and {} deleted since the start",
            counted(r.sweeps, "sweep", "sweeps"),
            counted(r.deleted.articles, "article", "articles"),
            counted(r.deleted.tombstones, "tombstone", "tombstones"),
        ),
        None if r.failing_since.is_some() => format!("retention {after} · no sweep finished yet"),
        None => {
            format!("retention {after} · no sweep yet (the first follows the store's read-through)")
        }
    };
    if let Some(since) = &r.failing_since {
        let _ = write!(
            line,
            "
RETENTION SWEEPS FAILING since {since} (see the log)"
        );
    }
    Some(line)
}

fn render(s: &Status) -> String {
    let mut out = String::new();
    let gone = |x: &Source| x.state.as_deref() == Some("gone");
    let failing = match &s.health {
        Some(h) => h.failing + h.down,
        // An older daemon: the listed sources.
        None => s
            .sources
            .iter()
            .filter(|x| x.failures > 0 && !gone(x))
            .count(),
    };
    let _ = writeln!(
        out,
        "wirefold {} · up {}s · {} ({failing} failing) · {} · {} · {}",
        s.version,
        s.uptime_s,
        counted(s.counts.sources, "source", "sources"),
        counted(s.counts.articles, "article", "articles"),
        counted(s.counts.stories, "story", "stories"),
        counted(s.counts.copies, "copy", "copies"),
    );
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let data = s.store.as_ref().and_then(|st| st.data.as_ref());
    let _ = writeln!(
        out,
        "index {} articles · store {:.1} MiB{} · {} polls in flight",
        s.index_size,
        mib(s.store_bytes),
        data.map_or(String::new(), |d| format!(
            " ({:.1} MiB of data)",
            mib(d.bytes)
        )),
        s.polls_in_flight
    );
    if let Some(d) = data.filter(|d| d.compact_advised) {
        let _ = writeln!(
            out,
            "the store's file is mostly space retention freed: a compaction would leave about \
             {:.1} MiB of its {:.1} MiB (data counted at {}); `wirefold compact`, with the \
             daemon stopped, gives it back",
            mib(d.expected_after_compact.unwrap_or(0)),
            mib(s.store_bytes),
            d.counted_at.as_deref().unwrap_or("?")
        );
    }
    if let Some(n) = s.network.as_ref().filter(|n| n.state == "down") {
        // Held sources count as waiting, not failing: the header alone would look calm.
        let _ = writeln!(
            out,
            "NETWORK DOWN {}",
            crate::cli::network_down(n.down_since.as_deref(), n.held, n.next_probe.as_deref())
        );
    }
    if let Some(b) = s.store.as_ref().and_then(|st| st.backups.as_ref()) {
        let _ = writeln!(out, "{}", backups_line(b));
    }
    let retention = s.store.as_ref().and_then(|st| st.retention.as_ref());
    if let Some(line) = retention.and_then(retention_line) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(st) = &s.store {
        if let Some(e) = &st.error {
            let what = if st.damaged {
                "STORE DAMAGED: the daemon stops"
            } else {
                "STORE TAKES NO WRITES: ingest waits for the disk"
            };
            let since = e.since.as_deref().unwrap_or("?");
            let _ = writeln!(out, "{what} (since {since}): {}", e.message);
        }
        if st.previous_stop.as_deref() == Some("unclean") {
            let _ = writeln!(
                out,
                "the previous run did not stop cleanly: the store was recovered from its log"
            );
        }
    }
    if let Some(c) = &s.config {
        if let Some(e) = &c.last_reload_error {
            let at = c.last_reload.as_deref().unwrap_or("?");
            let _ = writeln!(
                out,
                "RELOAD REFUSED ({at}): the daemon runs on the configuration before it\n{e}"
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{:<24} {:<8} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}  {:<20}  {:<20}  {:<20}  last error",
        "source",
        "health",
        "polls",
        "304",
        "same",
        "new",
        "copies",
        "upd",
        "last success",
        "last new article",
        "next poll"
    );
    for x in &s.sources {
        let health = match (x.enabled, x.polls, x.failures) {
            (false, _, _) => "disabled",
            _ if gone(x) => "gone",
            _ if x.state.as_deref() == Some("held") => "held",
            (_, 0, _) => "waiting",
            (_, _, 0) => "ok",
            (_, _, 1..=2) => "failing",
            _ => "down",
        };
        // Its host's pause is what holds a source with no error of its own back.
        let err = match (&x.last_error, &x.host_paused_until) {
            // First: the error's message may be long, and the row cuts it at 80.
            (Some(e), Some(until)) => {
                format!("host paused until {until}; [{}] {}", e.class, e.message)
            }
            (Some(e), None) => format!("[{}] {}", e.class, e.message),
            (None, Some(until)) => format!("host paused until {until} (Retry-After)"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<24} {:<8} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}  {:<20}  {:<20}  {:<20}  {}",
            truncate(&x.name, 24),
            health,
            x.polls,
            x.not_modified,
            x.unchanged_bodies,
            x.items_new,
            x.items_copies,
            x.items_updated,
            x.last_success.as_deref().unwrap_or("-"),
            x.last_new_article.as_deref().unwrap_or("-"),
            x.next_poll.as_deref().unwrap_or("-"),
            truncate(&err, 80)
        );
    }
    // `--source NAME` asked for one: the others are not missing from the answer.
    if s.sources_omitted > 0 && s.sources_shown.as_deref() != Some("one") {
        let why = if s.sources_shown.as_deref() == Some("failing") {
            "with more than 1,000 sources configured the daemon lists the failing ones, up to 1,000"
        } else {
            "the daemon lists up to 1,000"
        };
        let _ = writeln!(
            out,
            "… and {} not listed here ({why}); one of them: wirefold stats --source NAME; \
             all: /status?sources=all&limit=100000",
            counted(s.sources_omitted as u64, "source", "sources")
        );
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daemon that takes the backup request and goes away without answering: the copy
    /// may or may not be there, and the message says where to look.
    #[tokio::test]
    async fn a_backup_left_unanswered_says_it_may_have_finished() {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            // The health check is answered…
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf).await;
            let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n";
            let _ = conn.write_all(ok).await;
            drop(conn);
            // …the backup request is not: closed without a word.
            let (mut conn, _) = listener.accept().await.unwrap();
            let _ = conn.read(&mut buf).await;
        });
        let e = backup(&base, None).await.unwrap_err();
        let shown = format!("{e:#}");
        assert!(
            shown.contains("may or may not have finished") && shown.contains(".partial-"),
            "{shown}"
        );
        // Nobody listening at all is another case, with its own advice.
        let e = backup("http://127.0.0.1:9", None).await.unwrap_err();
        assert!(format!("{e:#}").contains("--offline"), "{e:#}");
    }

    /// A daemon that takes requests and never answers (stopped with SIGSTOP, hung): the
    /// command gives up after its wait and says so; `poll-now` without `--wait` waits half
    /// a minute, not the hour a backup may take.
    #[tokio::test]
    async fn a_daemon_that_never_answers_is_given_up_on() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", silent.local_addr().unwrap());
        let wait = std::time::Duration::from_millis(300);
        let e = post(&base, None, &["sources", "a", "poll"], None, wait)
            .await
            .unwrap_err();
        assert!(
            format!("{e:#}").starts_with(&format!(
                "the daemon at {base} gave no answer within 300ms (is it hung or stopped?)"
            )),
            "{e:#}"
        );
        assert!(POLL_STARTED_WAIT < std::time::Duration::from_secs(60));
        drop(silent);
    }

    /// A daemon that takes connections and never answers: `backup` gives up after its
    /// health check's wait, not after the hour a copy may take, and says nothing was asked.
    #[tokio::test]
    async fn a_backup_of_a_daemon_that_never_answers_is_not_asked_for() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", silent.local_addr().unwrap());
        let asked = backup_with(&base, None, std::time::Duration::from_millis(300));
        // Not the hour: the health check's wait, with room for a loaded machine.
        let e = tokio::time::timeout(std::time::Duration::from_secs(60), asked)
            .await
            .expect("given up on within a minute")
            .unwrap_err();
        let shown = format!("{e:#}");
        assert!(
            shown.starts_with(&format!(
                "the daemon at {base} gave no answer to /healthz within 300ms (is it hung or stopped?); no backup was asked for"
            )),
            "{shown}"
        );
        assert!(BACKUP_ASK_WAIT <= std::time::Duration::from_secs(60));
        drop(silent);
    }

    /// `stats` and `poll-now` with nobody listening say so, not only the client's error.
    #[tokio::test]
    async fn a_stopped_daemon_is_named_as_such() {
        let base = "http://127.0.0.1:9";
        let e = stats(base, None, None).await.unwrap_err();
        assert!(
            format!("{e:#}").starts_with("no daemon answers at"),
            "{e:#}"
        );
        let e = poll_now(base, None, "agency", false).await.unwrap_err();
        assert!(
            format!("{e:#}").starts_with("no daemon answers at"),
            "{e:#}"
        );
    }

    fn status(source: &str) -> Status {
        serde_json::from_str(&format!(
            r#"{{"version": "0.1.0", "uptime_s": 60, "polls_in_flight": 0, "index_size": 3,
                "store_bytes": 1048576, "counts": {{"sources": 1, "articles": 3, "stories": 2,
                "copies": 1}}, "sources": [{source}]}}"#
        ))
        .expect("status JSON")
    }

    /// The first `n` columns of the line of `text` that starts with `first`.
    fn columns(text: &str, first: &str, n: usize) -> Vec<String> {
        let line = text.lines().find(|l| l.starts_with(first)).expect(text);
        line.split_whitespace().take(n).map(str::to_owned).collect()
    }

    #[test]
    fn a_store_that_takes_no_writes_or_stopped_uncleanly_is_said() {
        let with = |store: &str| {
            let mut st = status("");
            st.store = serde_json::from_str(store).unwrap();
            render(&st)
        };
        let text = with(
            r#"{"writable": false, "damaged": false, "previous_stop": "unclean",
                "error": {"message": "No space left on device", "since": "2026-03-03T02:00:00Z"}}"#,
        );
        assert!(
            text.contains(
                "STORE TAKES NO WRITES: ingest waits for the disk (since 2026-03-03T02:00:00Z): \
                 No space left on device"
            ),
            "{text}"
        );
        assert!(text.contains("did not stop cleanly"), "{text}");
        let text = with(r#"{"writable": true, "previous_stop": "clean", "error": null}"#);
        assert!(
            !text.contains("STORE") && !text.contains("cleanly"),
            "{text}"
        );
    }

    #[test]
    fn a_refused_reload_is_said_with_its_problems() {
        let mut st = status("");
        st.config = serde_json::from_str(
            r#"{"path": "/etc/wirefold/wirefold.toml", "last_reload": "2026-03-03T02:00:00Z",
                "last_reload_error": "sources[2].url: not a URL"}"#,
        )
        .unwrap();
        let text = render(&st);
        assert!(
            text.contains("RELOAD REFUSED (2026-03-03T02:00:00Z)")
                && text.contains("sources[2].url: not a URL"),
            "{text}"
        );
        st.config = serde_json::from_str(
            r#"{"last_reload": "2026-03-03T02:00:00Z", "last_reload_error": null}"#,
        )
        .unwrap();
        assert!(!render(&st).contains("RELOAD"));
    }

    #[test]
    fn the_backups_line_shows_the_last_the_schedule_and_a_failure() {
        let with = |backups: &str| {
            let mut st = status("");
            st.store = serde_json::from_str(&format!(r#"{{"backups": {backups}}}"#)).unwrap();
            render(&st)
        };
        let text = with(
            r#"{"dir": "/b", "kept": 3, "every": "1day", "next": "2026-03-04T02:00:00Z",
                "last": {"at": "2026-03-03T02:00:00Z", "path": "/b/w", "bytes": 9,
                "closed_for_ms": 5}, "failure": null}"#,
        );
        assert!(
            text.contains(
                "last backup 2026-03-03T02:00:00Z · every 1day, next 2026-03-04T02:00:00Z\n"
            ),
            "{text}"
        );
        let text = with(
            r#"{"every": null, "next": null, "last": null,
                "failure": {"at": "2026-03-03T02:00:00Z", "message": "disk full"}}"#,
        );
        assert!(
            text.contains("no backup yet · automatic backups off (store.backup_every)\nBACKUP FAILED at 2026-03-03T02:00:00Z: disk full"),
            "{text}"
        );
        // An older daemon's status has no backups: no line.
        assert!(!render(&status("")).contains("backup"));
    }

    /// The store's data beside its file, and the daemon's advice to compact when it gives it.
    #[test]
    fn the_store_line_shows_its_data_and_the_advice_to_compact() {
        let with = |file: u64, data: &str| {
            let mut st = status("");
            st.store_bytes = file;
            st.store = serde_json::from_str(&format!(r#"{{"data": {data}}}"#)).unwrap();
            render(&st)
        };
        let mib = 1 << 20;
        let churned = with(
            129 * mib,
            r#"{"bytes": 6291456, "records": 60000, "counted_at": "2026-03-03T02:00:00Z",
                "expected_after_compact": 27262976, "compact_advised": true}"#,
        );
        assert!(
            churned.contains("store 129.0 MiB (6.0 MiB of data) ·")
                && churned.contains(
                    "a compaction would leave about 26.0 MiB of its 129.0 MiB (data counted at \
                     2026-03-03T02:00:00Z); `wirefold compact`"
                ),
            "{churned}"
        );
        let calm = with(
            35 * mib,
            r#"{"bytes": 6291456, "records": 60000, "expected_after_compact": 27262976,
                "compact_advised": false}"#,
        );
        assert!(calm.contains("(6.0 MiB of data) ·"), "{calm}");
        assert!(!calm.contains("compact"), "{calm}");
        // Not counted yet (or an older daemon): the file alone.
        assert!(render(&status("")).contains("store 1.0 MiB ·"));
    }

    #[test]
    fn the_retention_line_shows_the_sweeps_and_a_failure_and_nothing_when_off() {
        let with = |retention: &str| {
            let mut st = status("");
            st.store = serde_json::from_str(&format!(r#"{{"retention": {retention}}}"#)).unwrap();
            render(&st)
        };
        let text = with(
            r#"{"after": "30days", "every": "10m", "sweeps": 12, "last": "2026-03-03T02:00:00Z",
                "next": "2026-03-03T02:10:00Z", "failed": 0, "failing_since": null,
                "deleted": {"articles": 340, "stories": 300, "changes": 700, "tombstones": 1}}"#,
        );
        assert!(
            text.contains(
                "retention 30days · 12 sweeps, the last 2026-03-03T02:00:00Z; 340 articles and \
                 1 tombstone deleted since the start\n"
            ),
            "{text}"
        );
        let text = with(
            r#"{"after": "1day", "sweeps": 0, "last": null, "failed": 2,
                "failing_since": "2026-03-03T02:00:00Z",
                "deleted": {"articles": 0, "stories": 0, "changes": 0, "tombstones": 0}}"#,
        );
        assert!(
            text.contains("retention 1day · no sweep finished yet\n")
                && text.contains("RETENTION SWEEPS FAILING since 2026-03-03T02:00:00Z"),
            "{text}"
        );
        let text = with(
            r#"{"after": "1day", "sweeps": 0, "last": null, "failed": 0, "failing_since": null,
                "deleted": {"articles": 0, "stories": 0, "changes": 0, "tombstones": 0}}"#,
        );
        assert!(
            text.contains(
                "retention 1day · no sweep yet (the first follows the store's read-through)\n"
            ),
            "{text}"
        );
        let text = with(
            r#"{"after": null, "sweeps": 0, "last": null, "failing_since": null,
                "deleted": {"articles": 0, "stories": 0, "changes": 0, "tombstones": 0}}"#,
        );
        assert!(!text.contains("retention"), "{text}");
    }

    #[test]
    fn each_source_shows_its_polls_answered_304_and_those_with_the_same_body() {
        let text = render(&status(
            r#"{"name": "port", "enabled": true, "failures": 0, "polls": 12,
                "not_modified": 7, "unchanged_bodies": 4,
                "last_success": "2026-03-03T10:00:01Z",
                "last_new_article": "2026-03-01T08:00:00Z",
                "next_poll": null, "items_new": 3, "items_copies": 1, "items_updated": 0,
                "last_error": null}"#,
        ));
        assert_eq!(
            columns(&text, "source", 8),
            ["source", "health", "polls", "304", "same", "new", "copies", "upd"]
        );
        assert_eq!(
            columns(&text, "port", 11),
            [
                "port",
                "ok",
                "12",
                "7",
                "4",
                "3",
                "1",
                "0",
                "2026-03-03T10:00:01Z",
                "2026-03-01T08:00:00Z",
                "-"
            ]
        );
    }

    #[test]
    fn the_first_line_counts_in_the_right_number() {
        let text = render(&status(
            r#"{"name": "port", "enabled": true, "failures": 2, "polls": 2,
                "not_modified": 0, "last_success": null, "next_poll": null,
                "items_new": 0, "items_copies": 0, "items_updated": 0, "last_error": null}"#,
        ));
        assert_eq!(
            text.lines().next(),
            Some(
                "wirefold 0.1.0 · up 60s · 1 source (1 failing) · 3 articles · 2 stories · 1 copy"
            )
        );
    }

    #[test]
    fn one_source_shown_keeps_the_fleets_failing_count() {
        let one = r#"{"name": "fine", "enabled": true, "failures": 0, "polls": 2,
                "not_modified": 0, "last_success": null, "next_poll": null,
                "items_new": 0, "items_copies": 0, "items_updated": 0, "last_error": null}"#;
        let json = format!(
            r#"{{"version": "0.1.0", "uptime_s": 60, "polls_in_flight": 0, "index_size": 3,
                "store_bytes": 1048576, "counts": {{"sources": 6, "articles": 3, "stories": 2,
                "copies": 1}}, "health": {{"ok": 1, "failing": 1, "down": 4}},
                "sources": [{one}]}}"#
        );
        let text = render(&serde_json::from_str(&json).unwrap());
        assert!(
            text.lines()
                .next()
                .unwrap()
                .contains("6 sources (5 failing)"),
            "{text}"
        );
        assert!(!text.contains("not listed"), "{text}");
        // The sources the daemon left out of its list are said under it, not passed over.
        let json = json.replace(
            r#""sources": ["#,
            r#""sources_omitted": 5, "sources_shown": "failing", "sources": ["#,
        );
        let text = render(&serde_json::from_str(&json).unwrap());
        assert!(
            text.lines().last().unwrap().starts_with(
                "… and 5 sources not listed here (with more than 1,000 sources configured the daemon lists the failing ones"
            ),
            "{text}"
        );
        // `stats --source NAME`: the others are not missing.
        let json = json.replace(r#""sources_shown": "failing""#, r#""sources_shown": "one""#);
        let text = render(&serde_json::from_str(&json).unwrap());
        assert!(!text.contains("not listed"), "{text}");
    }

    #[test]
    fn a_source_held_back_by_its_hosts_pause_says_so() {
        let text = render(&status(
            r#"{"name": "quiet", "enabled": true, "failures": 0, "polls": 2,
                "not_modified": 0, "last_success": null, "next_poll": null,
                "host_paused_until": "2026-12-05T19:00:00Z",
                "items_new": 0, "items_copies": 0, "items_updated": 0, "last_error": null}"#,
        ));
        let row = text.lines().find(|l| l.starts_with("quiet")).unwrap();
        assert!(
            row.ends_with("host paused until 2026-12-05T19:00:00Z (Retry-After)"),
            "{text}"
        );
        // The source whose 429 asked for the pause shows both.
        let text = render(&status(
            r#"{"name": "asked", "enabled": true, "failures": 1, "polls": 2,
                "not_modified": 0, "last_success": null, "next_poll": null,
                "host_paused_until": "2026-12-05T19:00:00Z",
                "items_new": 0, "items_copies": 0, "items_updated": 0,
                "last_error": {"class": "http_status", "message": "HTTP status 429"}}"#,
        ));
        let row = text.lines().find(|l| l.starts_with("asked")).unwrap();
        assert!(
            row.ends_with("host paused until 2026-12-05T19:00:00Z; [http_status] HTTP status 429"),
            "{text}"
        );
    }

    #[test]
    fn a_feed_that_answered_410_is_gone_not_failing() {
        let text = render(&status(
            r#"{"name": "old", "enabled": true, "state": "gone", "failures": 1, "polls": 4,
                "not_modified": 0, "last_success": null, "next_poll": null,
                "items_new": 0, "items_copies": 0, "items_updated": 0,
                "last_error": {"class": "http_status", "message": "HTTP status 410 Gone"}}"#,
        ));
        assert!(
            text.lines().next().unwrap().contains("(0 failing)"),
            "{text}"
        );
        assert_eq!(columns(&text, "old", 2), ["old", "gone"]);
    }

    #[test]
    fn a_daemon_without_the_same_body_count_or_the_last_new_article_shows_zero_and_none() {
        let text = render(&status(
            r#"{"name": "port", "enabled": true, "failures": 0, "polls": 2,
                "not_modified": 1, "last_success": null, "next_poll": null,
                "items_new": 1, "items_copies": 0, "items_updated": 0, "last_error": null}"#,
        ));
        assert_eq!(columns(&text, "port", 5), ["port", "ok", "2", "1", "0"]);
        assert_eq!(columns(&text, "port", 11)[8..], ["-", "-", "-"]);
    }
}
