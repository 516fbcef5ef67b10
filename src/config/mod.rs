//! Configuration: a TOML file layered with `WIREFOLD_…` environment overrides, read into raw
//! `Settings` and validated once into a typed [`Config`].
//!
//! The two steps are kept apart on purpose (ripgrep's low-args/high-args split): `Settings`
//! mirrors the file and accepts anything serde can read, so that validation can look at *every*
//! key and report *every* problem at once (`wirefold check-config`), each naming its key, its
//! source and what is allowed. Nothing downstream ever sees a `Settings`; after
//! [`Config::load`] URLs are [`Url`], durations are [`Duration`], concurrency is non-zero and
//! every bound is ordered.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

/// Prefix of environment overrides: `WIREFOLD_HTTP__LISTEN=0.0.0.0:8080` sets `http.listen`.
pub const ENV_PREFIX: &str = "WIREFOLD";
/// Default config path when neither `--config` nor `WIREFOLD_CONFIG` is given.
pub const DEFAULT_PATH: &str = "config/wirefold.toml";

/// Everything that can go wrong loading a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is missing, unreadable, not TOML, or a value has the wrong type.
    #[error("cannot read configuration {path}: {message}")]
    Read {
        /// The file that was read.
        path: PathBuf,
        /// What the reader said.
        message: String,
    },
    /// The file was read but some values are not allowed; every problem is listed.
    #[error("invalid configuration {path}:\n{}", list(.problems))]
    Invalid {
        /// The file that was read.
        path: PathBuf,
        /// One entry per bad key.
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The error on one line, for a log line or a JSON field: the problems of an invalid file
    /// separated by `; ` (the display form lists them one per line, for a terminal).
    pub fn one_line(&self) -> String {
        match self {
            ConfigError::Invalid { path, problems } => format!(
                "invalid configuration {}: {}",
                path.display(),
                problems
                    .iter()
                    // A message of several lines (a regex's error draws a caret under its
                    // pattern) on one.
                    .map(|p| {
                        p.to_string()
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            other => other.to_string().replace(['\n', '\r'], " "),
        }
    }
}

/// The error of a configuration file at `path` that cannot be read, saying why (what it
/// quotes of the file [`escaped`]).
fn read_error(path: &Path) -> impl Fn(String) -> ConfigError + '_ {
    move |message| ConfigError::Read {
        path: path.to_path_buf(),
        message: escaped(&message),
    }
}

/// `s` with what may not reach a terminal or a log line as it is ([`unprintable`]: an
/// escape sequence that retitles the window, a bidirectional override) written as an
/// escape; its line breaks (a pattern's caret under it) kept.
fn escaped(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' => c.to_string(),
            c if unprintable(c) => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Whether `message` names the dotted `key` as a whole (`schedule.min_interval`, not within
/// `schedule.min_interval_x`).
fn names_key(message: &str, key: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    message.match_indices(key).any(|(at, _)| {
        !message[..at].chars().next_back().is_some_and(part)
            && !message[at + key.len()..].chars().next().is_some_and(part)
    })
}

/// `text` with only `keep` of it (top-level tables, or `table.key`), when the TOML reads and
/// that part of it reads strictly as [`Settings`]; `None` otherwise.
fn part_of(text: &str, keep: &[&str]) -> Option<String> {
    let full: toml::Table = text.parse().ok()?;
    let mut part = toml::Table::new();
    for k in keep {
        match k.split_once('.') {
            None => {
                if let Some(v) = full.get(*k) {
                    part.insert((*k).to_owned(), v.clone());
                }
            }
            Some((table, key)) => {
                if let Some(v) = full.get(table).and_then(|t| t.get(key)) {
                    part.entry(table)
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                        .as_table_mut()?
                        .insert(key.to_owned(), v.clone());
                }
            }
        }
    }
    let text = toml::to_string(&part).ok()?;
    toml::from_str::<Settings>(&text).is_ok().then_some(text)
}

/// A strict reading's error on one line: where in the file, and what was wrong there.
fn strict_error(text: &str, e: &toml::de::Error) -> String {
    let message = plain_types(e.message().trim_end());
    let message = message.as_str();
    match e.span() {
        Some(span) => {
            // A byte offset into text that came from outside: never sliced off a character.
            let end = (0..=span.start.min(text.len()))
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            let before = &text[..end];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            // The key is before the value, on its line (or in an inline table on it).
            let this_line = before.rsplit('\n').next().unwrap_or_default();
            let key = this_line
                .rsplit_once('=')
                .and_then(|(k, _)| k.rsplit([',', '{']).next())
                .map(str::trim);
            // A value in a secret's place (a header's, the API token) is not quoted back:
            // the message goes to a terminal, the log and /status.
            let quotes_a_value = ["invalid type", "invalid value"]
                .iter()
                .any(|m| message.starts_with(m));
            let message = if quotes_a_value && secret_of_another_type(text) {
                without_quoted_values(message)
            } else {
                message.to_owned()
            };
            format!(
                "line {line}, column {column}: {message}{}",
                key.map(|k| duration_hint(k, &message)).unwrap_or_default()
            )
        }
        None => message.to_owned(),
    }
}

/// True when the file (which reads as TOML: the error is a value's type) has a secret that is
/// not a string: `http.token`, or a source's `headers` not a table of strings. The type error
/// is then likely the secret's, wherever and however it is written (a dotted key, an inline
/// table over several lines), and no value is quoted back.
fn secret_of_another_type(text: &str) -> bool {
    let Ok(file) = text.parse::<toml::Table>() else {
        // A number beyond what a table holds (past 64 bits): told apart by its words alone.
        return text.contains("token") || text.contains("headers");
    };
    let token = file.get("http").is_some_and(|h| {
        h.as_table()
            .is_none_or(|h| h.get("token").is_some_and(|t| !t.is_str()))
    });
    let headers = file
        .get("sources")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("headers"))
        .any(|h| h.as_table().is_none_or(|t| t.values().any(|v| !v.is_str())));
    token || headers
}

/// serde's "invalid type: string \"…\", expected a map" said without the value: its kind
/// and what was expected. Nothing of the value is kept (it may hold quotes or backticks
/// itself).
fn without_quoted_values(message: &str) -> String {
    let Some((head, found)) = message.split_once(": ") else {
        return message.to_owned();
    };
    let kind = found
        .split(['`', '"'])
        .next()
        .unwrap_or_default()
        .trim_end();
    let expected = message.rfind(", expected ").map_or("", |at| &message[at..]);
    format!("{head}: {kind} (its value not shown){expected}")
}

/// The sections are tables and `[[sources]]` and `[[normalize.rules]]` lists of tables: the
/// settings' derived readers also take a list for a table, field by field in order, so
/// `log = ["json", "debug"]` set `log.format` and `log.level` and
/// `fetch = ["agent/9"]` the user agent, with nothing said.
fn misshapen(file: &toml::Table) -> Option<String> {
    let entries = |key: &str, list: Option<&toml::Value>, how: &str| {
        let list = list?.as_array()?;
        let at = list.iter().position(|v| !v.is_table())?;
        Some(format!(
            "{key}: entry {} is {}, not a table: write each entry as {how}",
            at + 1,
            a_value(&list[at])
        ))
    };
    env::SECTIONS
        .iter()
        .find_map(|&key| {
            let v = file.get(key).filter(|v| !v.is_table())?;
            Some(format!(
                "{key}: {}, not a section: write [{key}] and its keys on the lines below it",
                a_value(v)
            ))
        })
        .or_else(|| {
            entries(
                "sources",
                file.get("sources"),
                "[[sources]] with its keys (name = …, url = …) on the lines below it",
            )
        })
        .or_else(|| {
            entries(
                "normalize.rules",
                file.get("normalize").and_then(|n| n.get("rules")),
                "[[normalize.rules]] with its keys on the lines below it",
            )
        })
}

/// A key written in quotes with a dot in it (`"store.path" = …`), under `at`: the layering
/// reads it as the dotted key, so it set `store.path` with nothing said. Header names are
/// keys that may hold dots (`headers = { "X.Api" = … }`), and are kept as written.
fn quoted_dotted_key(table: &toml::Table, at: &str) -> Option<String> {
    let under = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    table.iter().find_map(|(key, value)| {
        if key.contains('.') {
            return Some(format!(
                "{}: a quoted key holding a dot is read as the dotted key {}; write it \
                 without the quotes",
                under(&format!("\"{key}\"")),
                under(key)
            ));
        }
        if key == "headers" && at.starts_with("sources[") {
            return None;
        }
        match value {
            toml::Value::Table(t) => quoted_dotted_key(t, &under(key)),
            toml::Value::Array(list) => list.iter().enumerate().find_map(|(i, v)| {
                quoted_dotted_key(v.as_table()?, &format!("{}[{i}]", under(key)))
            }),
            _ => None,
        }
    })
}

/// How to write `[[sources]]` or `[[normalize.rules]]` when the file gives one of them as
/// something else than a list (`[sources]` with one bracket, `sources = "…"`): said after the
/// reader's "expected a sequence".
fn not_a_list(file: &toml::Table) -> Option<String> {
    [
        ("sources", file.get("sources")),
        (
            "normalize.rules",
            file.get("normalize").and_then(|n| n.get("rules")),
        ),
    ]
    .into_iter()
    .find_map(|(key, v)| {
        let v = v.filter(|v| !v.is_array())?;
        Some(format!(
            "; {key} is {}, not a list: write each entry as [[{key}]] (two brackets) with \
             its keys on the lines below it",
            a_value(v)
        ))
    })
}

/// "an array", "a string": the kind of TOML value `v` is.
fn a_value(v: &toml::Value) -> String {
    let kind = v.type_str();
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// serde's message with the Rust types it names said as an operator would ("expected usize":
/// "expected a whole number, 0 or more"), and a number beyond any said to be out of range.
fn plain_types(message: &str) -> String {
    const TYPES: [(&str, &str); 9] = [
        ("usize", "a whole number, 0 or more"),
        ("u64", "a whole number, 0 or more"),
        // The key's own bounds are checked after (`simhash_max_distance`: 0 to 12).
        ("u32", "a whole number, 0 or more"),
        ("u16", "a whole number, 0 or more"),
        ("u8", "a whole number, 0 or more"),
        ("i64", "a whole number"),
        ("i32", "a whole number"),
        ("f64", "a number"),
        ("f32", "a number"),
    ];
    // A TOML integer beyond i64 (which the file's table reader takes for a u64 once).
    if message == "u64 value was too large" {
        return format!("number out of range: at most {}", i64::MAX);
    }
    let mut message = message.replace("` as i128,", "` (out of range),");
    // `fetch = 5`: "expected struct FetchSettings" named a type of ours
    if let Some((head, _)) = message
        .split_once("expected struct ")
        .filter(|(_, name)| name.ends_with("Settings"))
    {
        return format!("{head}expected a table of keys ([section], or {{ key = … }})");
    }
    for (rust, plain) in TYPES {
        if let Some(head) = message.strip_suffix(&format!("expected {rust}")) {
            // "integer `5000000000`, expected a whole number, 0 or more" is one: too large
            // for the key's type, which is said
            let too_large = head
                .strip_prefix("invalid value: integer `")
                .and_then(|rest| rest.split_once('`'))
                .is_some_and(|(n, _)| n.parse::<u64>().is_ok());
            let head = match head.strip_suffix("`, ") {
                Some(number) if too_large => format!("{number}` (out of range), "),
                _ => head.to_owned(),
            };
            message = format!("{head}expected {plain}");
            break;
        }
    }
    message
}

/// What to write instead when a duration key was given a bare number (`interval = 900`):
/// durations are strings with a unit.
fn duration_hint(key: &str, message: &str) -> String {
    const DURATION_KEYS: [&str; 10] = [
        "interval",
        "timeout",
        "grace",
        "every",
        "window",
        "backoff",
        "retry_after",
        "spacing",
        "spread",
        "retention",
    ];
    let number = message.starts_with("invalid type: integer")
        || message.starts_with("invalid type: floating point");
    if !number || !message.contains("expected a string") {
        return String::new();
    }
    let name = key
        .rsplit('.')
        .next()
        .unwrap_or(key)
        .trim_matches(['"', '\'']);
    if !DURATION_KEYS.iter().any(|k| name.ends_with(k)) {
        return String::new();
    }
    format!(" ({name} is a duration: a string with its unit, e.g. {name} = \"900s\" or \"15m\")")
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One bad key: where it is and what is allowed instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `sources[2].url` or `fetch.timeout`.
    pub key: String,
    /// The source's name, when the key belongs to a source.
    pub source: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for Problem {
    /// A message quotes what the file or the environment holds (`"info\u{1b}]0;…" is not a
    /// level`): what may not reach a terminal or a log line as it is (`unprintable`) is
    /// written as an escape, for `check-config`, the reload's log line, `/status` and
    /// `wirefold stats`; a message's own line breaks (a pattern's caret) stay.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, message) = (escaped(&self.key), escaped(&self.message));
        match &self.source {
            Some(name) => write!(f, "{key} (source \"{}\"): {message}", escaped(name)),
            None => write!(f, "{key}: {message}"),
        }
    }
}

mod env;
pub mod opml;
mod settings;
#[cfg(test)]
mod tests;
mod validate;

use settings::Settings;
use validate::validate;

/// The validated configuration every other module receives.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// Embedded store.
    pub store: StoreConfig,
    /// Status HTTP server.
    pub http: HttpConfig,
    /// HTTP client.
    pub fetch: FetchConfig,
    /// Polling intervals.
    pub schedule: ScheduleConfig,
    /// Near-duplicate folding.
    pub dedup: crate::dedup::DedupParams,
    /// Text normalization: the operator's boilerplate rules.
    pub normalize: NormalizeConfig,
    /// Logging.
    pub log: LogConfig,
    /// Every configured source, enabled or not, in file order.
    pub sources: Vec<SourceConfig>,
}

/// Where and how the sled store lives.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Directory of the sled database.
    pub path: PathBuf,
    /// How often written data is flushed to disk: the most a crash can lose.
    pub flush_every: Duration,
    /// sled's page cache, bytes: the main knob of the daemon's memory.
    pub cache_bytes: u64,
    /// Articles first seen longer ago than this are deleted (with their stories once empty),
    /// and tombstoned so that they are not ingested again; `None` keeps everything. Never
    /// shorter than `dedup.window`, so the index never matches a deleted article.
    pub retention: Option<Duration>,
    /// Where `POST /store/backup` writes its copies (`store.backup_dir`; default: beside the
    /// store, `PATH.backups`).
    pub backup_dir: PathBuf,
    /// How many backups are kept there; older ones are removed after a new one is written.
    pub backups_kept: usize,
    /// How often the daemon backs the store up by itself (`store.backup_every`); `None`
    /// (`"off"`, the default): only when asked (`wirefold backup`).
    pub backup_every: Option<Duration>,
}

/// Normalization settings.
#[derive(Debug, Clone, Default)]
pub struct NormalizeConfig {
    /// Boilerplate rules applied after the built-in ones (`[[normalize.rules]]`), each
    /// checked to compile, with a unique name that no built-in rule has.
    pub rules: Vec<crate::normalize::RuleSpec>,
}

impl NormalizeConfig {
    /// The table the ingest normalizes with when the operator added rules: the built-in
    /// rules (shared with [`Rules::shared_default`](crate::normalize::Rules::shared_default),
    /// not compiled again) and these after them. `None` without operator rules: the
    /// built-in table alone.
    pub fn operator_table(
        &self,
    ) -> Result<Option<std::sync::Arc<crate::normalize::Rules>>, crate::normalize::RuleError> {
        if self.rules.is_empty() {
            return Ok(None);
        }
        crate::normalize::Rules::with_extra(&self.rules).map(|r| Some(std::sync::Arc::new(r)))
    }
}

/// The status server.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Address to bind; loopback by default so nothing is exposed by accident.
    pub listen: SocketAddr,
    /// How long in-flight HTTP requests may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Longest time one request may take (the event stream excepted).
    pub request_timeout: Duration,
    /// When set, every endpoint but `/healthz` and `/readyz` needs
    /// `Authorization: Bearer <token>`.
    pub token: Option<secrecy::SecretString>,
    /// Per-source metric series exist for at most this many sources (bounded cardinality).
    pub metrics_max_sources: usize,
    /// Where readers reach the server from outside (`https://news.example.org/wirefold`,
    /// no trailing slash): the base of the links in the served feeds. Without it, a
    /// request's own `Host` is used.
    pub public_url: Option<String>,
}

impl HttpConfig {
    /// Where a client on this host reaches the server: `http://` + `listen`, with an
    /// unspecified address (`0.0.0.0`, `::`) replaced by loopback. `None` for port 0 (the
    /// port is chosen at start and only the daemon's log names it).
    pub fn local_url(&self) -> Option<String> {
        local_url(self.listen)
    }
}

/// What a poll of `url` fetches: the URL without its fragment, which never reaches the
/// server (`…/feed#news` fetches `…/feed`). Two sources with the same one are one feed.
pub(crate) fn fetched_url(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

/// [`HttpConfig::local_url`] of a listen address.
pub fn local_url(listen: SocketAddr) -> Option<String> {
    let mut addr = listen;
    if addr.port() == 0 {
        return None;
    }
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    Some(format!("http://{addr}"))
}

/// Where a client on this host reaches a daemon whose configuration it cannot read:
/// `WIREFOLD_HTTP__LISTEN` when set (and an address), else the default `http.listen`.
pub fn fallback_local_url() -> String {
    std::env::var(format!("{ENV_PREFIX}_HTTP__LISTEN"))
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| settings::Settings::default().http.listen.parse().ok())
        .and_then(local_url)
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
}

/// The HTTP client used for polling.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Sent as `User-Agent` on every request.
    pub user_agent: String,
    /// Whole-request deadline (connect, headers and body).
    pub timeout: Duration,
    /// Deadline for the TCP/TLS connection alone.
    pub connect_timeout: Duration,
    /// Largest decoded body accepted; bigger bodies are cut and the poll fails as too large.
    pub max_body_bytes: u64,
    /// Polls in flight at once, over all sources.
    pub concurrency: NonZeroUsize,
    /// A body that delivers fewer than `stall_min_bytes` within this window is cut (stalled).
    pub stall_timeout: Duration,
    /// Bytes a body must deliver per `stall_timeout` window.
    pub stall_min_bytes: u64,
    /// Redirect hops followed per request.
    pub max_redirects: usize,
    /// Consecutive polls that must see the same permanent redirect (301/308) before the
    /// source's effective URL moves to its target.
    pub permanent_redirect_polls: u32,
    /// Requests in flight at once to one host.
    pub per_host_concurrency: NonZeroUsize,
    /// Least time between two request starts to one host (zero: none).
    pub per_host_spacing: Duration,
    /// Refuse redirects from a public address to a loopback/private/link-local one.
    pub refuse_private_redirects: bool,
    /// Refuse DNS answers that point a public name at a loopback/private/link-local address.
    pub refuse_private_dns: bool,
    /// Host names allowed to resolve to private addresses (lower case).
    pub private_hosts: Vec<String>,
}

impl FetchConfig {
    /// Whether `other` differs from `self` in what a reload applies to the next polls
    /// (`app::apply_fetch`): every key but the two concurrency limits, which size pools that
    /// are running and wait for a restart.
    pub fn per_poll_differs(&self, other: &FetchConfig) -> bool {
        let without_pools = |f: &FetchConfig| {
            let mut f = f.clone();
            f.concurrency = NonZeroUsize::MIN;
            f.per_host_concurrency = NonZeroUsize::MIN;
            format!("{f:?}")
        };
        without_pools(self) != without_pools(other)
    }
}

/// Bounds for every source's polling interval.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// Interval of a source that does not set its own.
    pub default_interval: Duration,
    /// No source is polled more often than this.
    pub min_interval: Duration,
    /// No source waits longer than this.
    pub max_interval: Duration,
    /// First polls after a start (and overdue ones after a restart) are spread over
    /// `min(interval, startup_spread)` so that a restart does not fire every source at once.
    pub startup_spread: Duration,
    /// Follow each source's publishing rate (between ¼ and 4 times its interval).
    pub adaptive: bool,
    /// Longest wait after repeated failures.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// While every source fails (the network is down), one source is tried this often.
    pub network_probe_interval: Duration,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging setup.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Text or JSON.
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info` or `wirefold=debug,info`; `RUST_LOG` wins.
    pub level: String,
}

/// One configured feed.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Unique name; the key of the source's state in the store.
    pub name: String,
    /// Feed URL (http, https or file).
    pub url: Url,
    /// Polling interval, within the schedule bounds.
    pub interval: Duration,
    /// Disabled sources are kept in status but never polled.
    pub enabled: bool,
    /// A wire agency's own feed: its copy is a story's likely origin even when another
    /// outlet was polled first (see `fold::likely_origin`).
    pub agency: bool,
    /// Request headers of its own (an API key, a session cookie), sent to the configured
    /// URL's host only.
    pub headers: SourceHeaders,
}

/// Request headers a source sends with its polls (`headers = { "X-Api-Key" = "…" }`), for
/// feeds behind an API key, a token or a session cookie. Validated names and values; the
/// values are credentials, so they are marked sensitive and never shown: `Debug` names the
/// headers only, and neither `/status`, the log nor `export-opml` carries them. The fetcher
/// sends them to the configured URL's host only (`fetch::sends_own_headers`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceHeaders(Vec<(HeaderName, HeaderValue)>);

impl SourceHeaders {
    /// No header configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The headers, values marked sensitive.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

impl FromIterator<(HeaderName, HeaderValue)> for SourceHeaders {
    fn from_iter<I: IntoIterator<Item = (HeaderName, HeaderValue)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(n, mut v)| {
                    v.set_sensitive(true);
                    (n, v)
                })
                .collect(),
        )
    }
}

impl fmt::Debug for SourceHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n.as_str()))
            .finish()
    }
}

impl SourceConfig {
    /// The URL as logs, `/status` and the page show it: see [`shown_url`].
    pub fn shown_url(&self) -> Cow<'_, str> {
        shown_url(self.url.as_str())
    }
}

/// Query parameters whose values are credentials in feed URLs (private feeds of readers and
/// news APIs: `?apikey=`, `?token=`, signed URLs' `sig`; private trackers' and podcast hosts'
/// `passkey`, `authkey`; session ids), compared without case.
const SECRET_PARAMETERS: [&str; 33] = [
    "key",
    "apikey",
    "api_key",
    "api-key",
    "token",
    "access_token",
    "auth",
    "auth_token",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "pwd",
    "sig",
    "signature",
    "session",
    "sessionid",
    "jsessionid",
    "phpsessid",
    "passkey",
    "authkey",
    "rsskey",
    "feedkey",
    "userkey",
    "pass",
    "pw",
    "passphrase",
    "credential",
    "credentials",
    "jwt",
    "bearer",
    "hmac",
    "authorization",
];

/// Endings of parameter names that carry credentials whatever comes before them
/// (`csrf_token`, `accessToken`, `X-Amz-Signature`, `client-secret`).
const SECRET_ENDINGS: [&str; 8] = [
    "token",
    "secret",
    "signature",
    "password",
    "apikey",
    "passkey",
    "sessionid",
    "passphrase",
];

/// [`shown_url`] of a text that does not parse as a URL: whatever stands between the start
/// of its authority (after the scheme's `://` in any case, after a leading `//`, else the
/// text's start: `TOKEN@host/feed` written without a scheme) and the last `@` becomes
/// `xxxxx`, and so do the values of credential parameters wherever they stand. A password
/// may hold `/`, `?` or `#`, and such a text is better shown with too much hidden than with
/// too little.
fn shown_unparsed(raw: &str) -> String {
    // A scheme only at the start (not the `://` of a URL in the query: `?next=http://…`).
    let scheme = raw.find("://").filter(|&at| {
        let name = &raw[..at];
        name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    let start = match scheme {
        _ if raw.starts_with("//") => 2,
        Some(at) => at + 3,
        None => 0,
    };
    let mut out = String::with_capacity(raw.len());
    out.push_str(&raw[..start]);
    let mut rest = &raw[start..];
    let user_info = if start > 0 {
        rest.rfind('@')
    } else {
        user_info_end(rest)
    };
    if let Some(p) = user_info {
        out.push_str("xxxxx");
        rest = &rest[p..];
    }
    hide_parameters(rest, false, &mut out);
    out
}

/// Appends `rest` (the part of a URL from its path on) to `out` with the value of every
/// credential parameter as `xxxxx`: a path parameter (`/feed;jsessionid=…`, its value up to
/// the segment's end), and each `name=value` of the query and the fragment after a `?`,
/// `&`, `;` or `#`, its name read as a query's is (`api%5Fkey` is `api_key`). Returns
/// whether a value was hidden. Of a text that does not parse (`parsed` false), every
/// separator after the first part counts, wherever it stands.
fn hide_parameters(rest: &str, parsed: bool, out: &mut String) -> bool {
    let mut hidden = false;
    let mut hide = |piece: &str, out: &mut String| match piece
        .split_once('=')
        .filter(|_| is_secret_pair(piece))
    {
        Some((k, _)) => {
            out.push_str(k);
            out.push_str("=xxxxx");
            hidden = true;
        }
        None => out.push_str(piece),
    };
    // A text that did not parse (`parsed` false) is cut anywhere a separator stands: what
    // comes before the first is its path.
    let end = if parsed {
        rest.find(['?', '#'])
    } else {
        rest.find(['?', '&', ';', '#'])
    };
    let (path, tail) = rest.split_at(end.unwrap_or(rest.len()));
    for (n, segment) in path.split('/').enumerate() {
        if n > 0 {
            out.push('/');
        }
        for (m, piece) in segment.split(';').enumerate() {
            if m == 0 {
                out.push_str(piece);
            } else {
                out.push(';');
                hide(piece, out);
            }
        }
    }
    for piece in tail.split_inclusive(['?', '&', ';', '#']) {
        let (pair, separator) = match piece.char_indices().last() {
            Some((i, '?' | '&' | ';' | '#')) => piece.split_at(i),
            _ => (piece, ""),
        };
        hide(pair, out);
        out.push_str(separator);
    }
    hidden
}

/// Whether the parameter `pair` (`name=value` or a bare `name`, as written) carries a
/// credential: [`is_secret_parameter`] of its name read as a query's is (`api%5Fkey` is
/// `api_key`).
fn is_secret_pair(pair: &str) -> bool {
    url::form_urlencoded::parse(pair.as_bytes())
        .next()
        .is_some_and(|(name, _)| is_secret_parameter(&name))
}

/// Where the user name or password of `text`, a URL written without its scheme, ends (its
/// last `@`): at the start (`TOKEN@host/feed`, an `@` before any `/`), or after a `:` (a
/// password; a scheme misspelt, `https//user:pw@host`). A path's `@` (`feeds/me@home.xml`:
/// a `/` first, no `:`) is none.
pub(crate) fn user_info_end(text: &str) -> Option<usize> {
    let last = text.rfind('@')?;
    let first = text.find('@').unwrap_or(last);
    let path = text.find('/').is_some_and(|slash| slash < first) && !text[..last].contains(':');
    (!path).then_some(last)
}

/// Whether a query parameter's value is a credential: its name, without case and without
/// `-` or `_` (`access-token` is `access_token`), is one of [`SECRET_PARAMETERS`] or ends in
/// one of [`SECRET_ENDINGS`], or it is a key spelt as a word of its own (`access_key`,
/// `subscription-key`, `privateKey`; not `monkey`).
fn is_secret_parameter(name: &str) -> bool {
    let word_key = ["_key", "-key", "_KEY", "-KEY"]
        .iter()
        .any(|e| name.ends_with(e))
        || name
            .strip_suffix("Key")
            .and_then(|stem| stem.chars().last())
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if word_key {
        return true;
    }
    let bare: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_PARAMETERS
        .iter()
        .any(|s| s.replace(['-', '_'], "") == bare)
        || SECRET_ENDINGS.iter().any(|e| bare.ends_with(e))
}

/// A source URL fit to be shown and logged: a password in it (`https://user:pass@host/`)
/// and the values of query parameters that carry credentials (`SECRET_PARAMETERS`) become
/// `xxxxx`. The request itself uses the URL as configured; anything else is left as it is.
pub fn shown_url(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['@', '?', ';', '#']) {
        return Cow::Borrowed(raw);
    }
    let Ok(mut url) = Url::parse(raw) else {
        // Not a URL (a password with an unencoded `/` or `#`, an empty host): shown all the
        // same, in `check-config` and a refused reload's error, so redacted by its text.
        return Cow::Owned(shown_unparsed(raw));
    };
    let mut changed = false;
    if url.password().is_some() {
        changed |= url.set_password(Some("xxxxx")).is_ok();
    } else if !url.username().is_empty() {
        // A user name alone is a token as often as not (`https://TOKEN@host/feed`).
        changed |= url.set_username("xxxxx").is_ok();
    }
    // The parameters as they were written, whichever separator stands before them (a
    // query's `;`, a path parameter, a fragment): `query_pairs` would see `a=1;token=T` as
    // one value of `a`, and encode it again unhidden.
    let path_at = url[..url::Position::BeforePath].len();
    let serialized = url.as_str();
    let mut shown = String::with_capacity(serialized.len());
    shown.push_str(&serialized[..path_at]);
    changed |= hide_parameters(&serialized[path_at..], true, &mut shown);
    if changed {
        Cow::Owned(shown)
    } else {
        Cow::Borrowed(raw)
    }
}

/// `raw` without its credentials (a user name and password, credential parameters: see
/// [`shown_url`]) instead of with them hidden: the base a feed's relative links are read
/// against. An item whose link is only a fragment (`#post-1`) or empty links to the feed
/// itself, and stored as the article's URL, the feed's token went out on every surface that
/// shows articles (the API, the feeds of stories, the page, `export`). A text that does not
/// parse is returned as it is.
pub fn without_credentials(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['@', '?', ';']) {
        return Cow::Borrowed(raw);
    }
    let Ok(mut url) = Url::parse(raw) else {
        return Cow::Borrowed(raw);
    };
    let mut changed = false;
    if !url.username().is_empty() || url.password().is_some() {
        changed |= url.set_username("").is_ok() && url.set_password(None).is_ok();
    }
    // The other parameters stay as they were written (not decoded and encoded again), with
    // the separators they had (`&` or `;`).
    let query = url.query().map(|q| {
        let mut dropped = false;
        let mut kept = String::with_capacity(q.len());
        for piece in q.split_inclusive(['&', ';']) {
            if is_secret_pair(piece.trim_end_matches(['&', ';'])) {
                dropped = true;
            } else {
                kept.push_str(piece);
            }
        }
        dropped.then(|| kept.trim_end_matches(['&', ';']).to_owned())
    });
    if let Some(Some(kept)) = query {
        url.set_query((!kept.is_empty()).then_some(kept.as_str()));
        changed = true;
    }
    // Path parameters too (`/feed;token=…`): a link that is only a fragment kept them.
    if url.path().contains(';') {
        let path: Vec<String> = url
            .path()
            .split('/')
            .map(|segment| {
                let mut pieces = segment.split(';');
                let first = pieces.next().unwrap_or_default().to_owned();
                pieces
                    .filter(|p| !(p.contains('=') && is_secret_pair(p)))
                    .fold(first, |acc, p| acc + ";" + p)
            })
            .collect();
        let path = path.join("/");
        if path != url.path() {
            url.set_path(&path);
            changed = true;
        }
    }
    if changed {
        Cow::Owned(url.into())
    } else {
        Cow::Borrowed(raw)
    }
}

/// A character that must not reach a log line, a terminal or the page as it is: a control
/// character (an escape sequence, a line break that would forge a line) or an invisible one
/// that turns or breaks how a line reads (direction marks and overrides, line and
/// paragraph separators); and the noncharacters U+FFFE and U+FFFF, which no XML document
/// may hold (a name with one made an OPML export no reader opens).
pub(crate) fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FFFE}'
                | '\u{FFFF}'
        )
}

/// The longest error message kept and shown, in bytes; the rest is counted, not shown.
pub const MESSAGE_MAX_BYTES: usize = 1024;

/// An error message that quotes what a server sent (a tag name from a malformed feed, a
/// `Content-Type`, a redirect target) made fit for a log line, `/status`, the page and a
/// terminal: URLs as [`shown_text`] shows them, control characters (escape sequences, line
/// breaks that would forge a log line) and bidirectional overrides written as escapes, and
/// at most [`MESSAGE_MAX_BYTES`] of it.
pub fn shown_message(text: &str) -> String {
    let text = shown_text(text);
    let mut out = String::with_capacity(text.len().min(MESSAGE_MAX_BYTES + 32));
    for (i, c) in text.char_indices() {
        if out.len() >= MESSAGE_MAX_BYTES {
            out.push_str(&format!("… ({} bytes more)", text.len() - i));
            break;
        }
        if unprintable(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A message fit to be shown: every http(s) URL in it as [`shown_url`] shows it. For texts
/// made before the URL in them was redacted (a source's stored last error from an older
/// wirefold) and those quoting a server's own URL (a `Location` header).
pub fn shown_text(text: &str) -> Cow<'_, str> {
    // Schemes in any case (`HTTP://`, as a server may write a Location).
    let lower = text.to_ascii_lowercase();
    if !lower.contains("http") || !text.contains(['@', '?', ';', '#']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    // Found in the lower-cased text, whose offsets are the text's.
    let next_url = |rest: &str| {
        let s = &lower[text.len() - rest.len()..];
        match (s.find("http://"), s.find("https://")) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    while let Some(start) = next_url(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(tail.len());
        // Punctuation after a URL ("(url): refused", "url.") is the sentence's, as a
        // linkifier reads it: a closing bracket belongs to the URL only when it opened one.
        while let Some(last) = tail[..end].chars().last() {
            let token = &tail[..end];
            let unbalanced = |open: char, close: char| {
                last == close && token.matches(open).count() < token.matches(close).count()
            };
            if matches!(last, '.' | ',' | ':' | ';' | '!' | '?')
                || unbalanced('(', ')')
                || unbalanced('[', ']')
            {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        let shown = shown_url(&tail[..end]);
        changed |= matches!(shown, Cow::Owned(_));
        out.push_str(&shown);
        rest = &tail[end..];
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `value` when no problem was found, else every problem as [`ConfigError::Invalid`].
fn valid<T>(path: &Path, value: T, problems: Vec<Problem>) -> Result<T, ConfigError> {
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }
}

impl Config {
    /// The path to read: `--config`, else `WIREFOLD_CONFIG`, else [`DEFAULT_PATH`].
    pub fn resolve_path(cli: Option<&Path>) -> PathBuf {
        if let Some(p) = cli {
            return p.to_path_buf();
        }
        match std::env::var_os("WIREFOLD_CONFIG") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from(DEFAULT_PATH),
        }
    }

    /// Reads the file, applies `WIREFOLD_…` environment overrides and validates everything.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with_env(path, None)
    }

    /// Like [`Config::load`], with an explicit environment (tests) instead of the process's.
    pub fn load_with_env(
        path: &Path,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Config, ConfigError> {
        let (config, problems) = Self::read(path, env)?;
        valid(path, config, problems)
    }

    /// [`Config::load`] for a reload of a daemon whose sources in effect are `running`. While
    /// any of them is enabled, a file without a `sources` key is refused instead of dropping
    /// every source: one that holds no settings at all (empty, blank or only comments), or
    /// one cut off before its first `[[sources]]` (an editor still writing it, a failed copy
    /// over it, read mid-write). A file meant to poll nothing says so with `sources = []`.
    pub fn load_again(path: &Path, running: &[SourceConfig]) -> Result<Config, ConfigError> {
        let text = Self::read_file(path)?;
        let running = running.iter().filter(|s| s.enabled).count();
        if let Ok(table) = text.parse::<toml::Table>() {
            if running > 0 && !table.contains_key("sources") {
                let what = if table.is_empty() {
                    "the file holds no settings (it is empty or only comments)"
                } else {
                    "the file has no sources (no [[sources]] entry: cut off, or still being \
                     written?)"
                };
                return Err(read_error(path)(format!(
                    "{what}; not taken, because it would drop all {running} enabled sources \
                     (if that is meant, write `sources = []`)"
                )));
            }
        }
        let (config, problems) = Self::read_text(path, &text, None)?;
        valid(path, config, problems)
    }

    /// The `[http]` section alone, for the clients of a running daemon (`wirefold stats`,
    /// `wirefold health-check`): read and checked like [`Config::load`], but only problems
    /// of `http.*` keys count. A monitoring user who cannot write the daemon's store, or a
    /// source edited since the daemon started, does not make the daemon look unhealthy.
    pub fn load_http(path: &Path) -> Result<HttpConfig, ConfigError> {
        Self::load_http_with_env(path, None)
    }

    fn load_http_with_env(
        path: &Path,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<HttpConfig, ConfigError> {
        Self::load_client_with_env(path, env).map(|(http, _)| http)
    }

    /// [`Config::load_http`], and `store.path` unless that key has a problem: where the
    /// running daemon's marker says which address it bound
    /// ([`crate::storage::listening`]).
    pub fn load_client(path: &Path) -> Result<(HttpConfig, Option<PathBuf>), ConfigError> {
        Self::load_client_with_env(path, None)
    }

    fn load_client_with_env(
        path: &Path,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<(HttpConfig, Option<PathBuf>), ConfigError> {
        let (config, mut problems) = Self::read_part(path, env, &["http", "store.path"])?;
        // Only read: a store this user cannot write (the service's own, for an operator's
        // `wirefold stats`) still names the daemon's address in its marker, which is
        // readable. Its problems are the daemon's; one that names no directory names none.
        let store = (!config.store.path.as_os_str().is_empty()).then_some(config.store.path);
        problems.retain(|p| p.key.starts_with("http."));
        valid(path, (config.http, store), problems)
    }

    /// The `[[sources]]` and `[schedule]` sections alone, for `wirefold import-opml`: read
    /// and checked like [`Config::load`], but only their problems count (an operator who
    /// cannot write the store can still import a list), a source's `headers` excepted.
    pub fn load_sources(path: &Path) -> Result<(Vec<SourceConfig>, ScheduleConfig), ConfigError> {
        let (config, mut problems) = Self::read_part(path, None, &["sources", "schedule"])?;
        // A source's headers play no part in a subscription list, and their variables may
        // be set only in the daemon's environment.
        problems.retain(|p| {
            (p.key.starts_with("sources") && !p.key.contains("].headers"))
                || p.key.starts_with("schedule.")
        });
        valid(path, (config.sources, config.schedule), problems)
    }

    /// The `[normalize]` section alone, for `wirefold normalize`: read and checked like
    /// [`Config::load`], but only its problems count (trying the rules on a feed file needs
    /// no store, listener or source that works), and those of a misspelt name of it (rules
    /// under `[normalise]` would otherwise be left out without a word).
    pub fn load_normalize(path: &Path) -> Result<NormalizeConfig, ConfigError> {
        let (config, mut problems) = Self::read_part(path, None, &["normalize", "normalise"])?;
        problems.retain(|p| p.key.starts_with("normali"));
        valid(path, config.normalize, problems)
    }

    /// [`Config::read`], for a command that needs only `keep` of the file (top-level tables,
    /// or `table.key`): a value of the wrong type elsewhere, which stops the whole file from
    /// being read (a source's `interval = 5` typed for `"5m"`), leaves that part read alone
    /// instead. `wirefold health-check` took a healthy daemon for down (the default address
    /// in place of the file's) after such a typo in a source. The error stays the file's when
    /// the part has one of its own.
    fn read_part(
        path: &Path,
        env: Option<std::collections::HashMap<String, String>>,
        keep: &[&str],
    ) -> Result<(Config, Vec<Problem>), ConfigError> {
        match Self::read(path, env.clone()) {
            Err(e @ ConfigError::Read { .. }) => {
                let part = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|text| part_of(&text, keep));
                match part {
                    Some(text) => Self::read_text(path, &text, env),
                    None => Err(e),
                }
            }
            read => read,
        }
    }

    /// Reads the file, applies the environment's overrides and validates: the typed
    /// configuration (with stand-ins where a value was bad) and every problem found.
    fn read(
        path: &Path,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<(Config, Vec<Problem>), ConfigError> {
        let text = Self::read_file(path)?;
        Self::read_text(path, &text, env)
    }

    /// The text of the configuration file at `path`, or why it cannot be read.
    fn read_file(path: &Path) -> Result<String, ConfigError> {
        let read_err = read_error(path);
        if path.is_dir() {
            return Err(read_err("a directory, not a configuration file".into()));
        }
        if !path.is_file() {
            // A pipe (`-c <(…)`), a device or a link to nothing: what it is, not "no such
            // file" for a path that `ls` shows. A pipe is not read: a reload reads the file
            // again, and a pipe read once is empty then.
            let what = match (std::fs::symlink_metadata(path), std::fs::metadata(path)) {
                (Err(_), _) => "no such file",
                // `-c <(…)` is `/dev/fd/N`, itself a link to the pipe.
                (Ok(_), Ok(_)) => {
                    "not a regular file (a pipe or a device); give the path of a file"
                }
                (Ok(_), Err(_)) => "a symbolic link to no file",
            };
            return Err(read_err(what.into()));
        }
        let bytes = std::fs::read(path).map_err(|e| read_err(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| {
            // Where, as the other reading errors say it: the text before is good.
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
            let last = good.rsplit(|&b| b == b'\n').next().unwrap_or_default();
            let column = String::from_utf8_lossy(last).chars().count() + 1;
            read_err(format!(
                "line {line}, column {column}: not UTF-8 text (a file saved in another \
                 encoding, such as Latin-1 or UTF-16?)"
            ))
        })
    }

    /// [`Config::read`] of `text`, the file's or a part of it ([`Config::read_part`]).
    fn read_text(
        path: &Path,
        text: &str,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<(Config, Vec<Problem>), ConfigError> {
        let read_err = read_error(path);
        // The layering below turns a value of the wrong type into the type asked for, so
        // that environment variables (all strings) can set numbers and switches; but in the
        // file `enabled = 2` would be true, `path = 5` the directory "5" and
        // `max_body_bytes = 1.5` 2. The file alone is read strictly first.
        toml::from_str::<Settings>(text).map_err(|e| {
            let mut why = strict_error(text, &e);
            if let Some(hint) = text
                .parse::<toml::Table>()
                .ok()
                .and_then(|t| not_a_list(&t))
            {
                why.push_str(&hint);
            }
            read_err(why)
        })?;
        // The layering below reads the file with `config`'s own TOML reader, which takes no
        // integer beyond i64: a larger one failed there as "number too large to fit in
        // target type", without its key or place. Read here, it gets both.
        let table = text
            .parse::<toml::Table>()
            .map_err(|e| read_err(strict_error(text, &e)))?;
        if let Some(why) = misshapen(&table).or_else(|| quoted_dotted_key(&table, "")) {
            return Err(read_err(why));
        }
        let lookup = {
            let env = env.clone();
            move |name: &str| match &env {
                Some(v) => v.get(name).cloned(),
                None => std::env::var(name).ok(),
            }
        };
        // Problems of variables that set no key, or a value of the wrong type: each is taken
        // out and the rest read again, so that every problem is reported at once.
        let mut env_problems = Vec::new();
        let mut variables = env::overrides(env.as_ref(), &mut env_problems);
        let (settings, unknown) = loop {
            let environment = config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("_")
                .separator("__")
                // Strings, converted to the type each key asks for: parsed up front, "1.5"
                // would be a float that an integer key rounds to 2 without a word.
                .try_parsing(false)
                .source(Some(
                    variables
                        .iter()
                        .map(|v| (v.name.clone(), v.value.clone()))
                        .collect(),
                ));
            let layered = config::Config::builder()
                .add_source(config::File::from_str(text, config::FileFormat::Toml))
                .add_source(environment)
                .build()
                .map_err(|e| read_err(e.to_string()))?;
            let mut unknown = Vec::new();
            match serde_ignored::deserialize::<_, _, Settings>(layered, |p| {
                unknown.push(p.to_string());
            }) {
                Ok(settings) => break (settings, unknown),
                Err(e) => match env::refused(&e, &mut variables) {
                    Some(problem) => env_problems.push(problem),
                    None => return Err(read_err(e.to_string())),
                },
            }
        };
        let mut problems: Vec<Problem> = unknown
            .into_iter()
            // WIREFOLD_CONFIG names the file itself; WIREFOLD_TOKEN is the command line's
            // (`stats`, `poll-now`, `backup`), not a key of the file.
            .filter(|k| k != "config" && k != "token")
            .map(|raw| {
                let (key, index) = key_path(&raw);
                let source = match (raw.starts_with("sources."), index) {
                    // A name with a line break is refused, not echoed (`validate`).
                    (true, Some(i)) => settings
                        .sources
                        .get(i)
                        .map(|s| s.name.trim().to_owned())
                        .filter(|n| !n.chars().any(char::is_control)),
                    _ => None,
                };
                Problem {
                    key,
                    source,
                    message: "unknown key".into(),
                }
            })
            .collect();
        let raw_intervals: Vec<Option<String>> = settings
            .sources
            .iter()
            .map(|s| s.interval.clone())
            .collect();
        let config = validate(path, settings, &mut problems, &lookup);
        // A problem of a key the environment set is not in the file: say which variable.
        for p in problems.iter_mut().filter(|p| p.source.is_none()) {
            // An unknown section is reported alone (`scheduler`), its variable sets a key of it.
            let sets = |v: &&env::Variable| {
                v.key == p.key
                    || v.key
                        .strip_prefix(p.key.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            };
            if let Some(v) = variables.iter().find(sets) {
                if p.message == "unknown key" {
                    p.message
                        .push_str(&env::separator_hint(&v.key).unwrap_or_default());
                }
                p.message = env::attributed(std::mem::take(&mut p.message), &v.name);
            }
        }
        // A problem of a key checked against another one that a variable set: the file
        // alone does not explain it (WIREFOLD_DEDUP__WINDOW=40d made the file's retention
        // too short). The other key is the one the message names; for a source's interval
        // outside the bounds, the bound it is outside.
        for p in &mut problems {
            let mut others: Vec<&str> = variables
                .iter()
                .map(|v| v.key.as_str())
                .filter(|k| *k != p.key && names_key(&p.message, k))
                .collect();
            if p.message.contains(" is outside schedule bounds") {
                let raw = p
                    .key
                    .strip_prefix("sources[")
                    .and_then(|rest| rest.strip_suffix("].interval"))
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| raw_intervals.get(i).cloned().flatten());
                if let Some(d) = raw.and_then(|raw| humantime::parse_duration(raw.trim()).ok()) {
                    others.push(if d < config.schedule.min_interval {
                        "schedule.min_interval"
                    } else {
                        "schedule.max_interval"
                    });
                }
            }
            for key in others {
                if let Some(v) = variables.iter().find(|v| v.key == key) {
                    if !p.message.contains(&v.name) {
                        p.message.push_str(&format!(
                            " ({key} set by the environment variable {})",
                            v.name
                        ));
                    }
                }
            }
        }
        problems.splice(0..0, env_problems);
        Ok((config, problems))
    }

    /// The sources that are polled.
    pub fn enabled_sources(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources.iter().filter(|s| s.enabled)
    }

    /// What is allowed but likely a mistake, one line each: no enabled source (the daemon
    /// serves its store and polls nothing), and enabled sources that poll the same URL with
    /// the same headers (each poll fetches the feed twice, and its items are stored twice,
    /// folded as copies of each other). Printed by `check-config`, logged at start and reload.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(every) = self.store.backup_every.filter(|e| e.as_secs() < 3600) {
            // "1m" is a minute, not a month; each backup closes the store for its copy,
            // and the oldest of backups_kept goes.
            let kept = u32::try_from(self.store.backups_kept).unwrap_or(u32::MAX);
            out.push(format!(
                "store.backup_every is {}: a backup that often keeps none older than {} \
                 (backups_kept = {}); a month is \"30d\"",
                validate::shown_duration(every),
                validate::shown_duration(every.saturating_mul(kept)),
                self.store.backups_kept
            ));
        }
        if self.enabled_sources().next().is_none() {
            out.push(match self.sources.len() {
                0 => "no source is configured: the daemon serves its store and polls nothing \
                      (add [[sources]] with a name and a url)"
                    .to_owned(),
                n => format!(
                    "none of the {n} configured sources is enabled: the daemon serves its \
                     store and polls nothing"
                ),
            });
        }
        // One warning per feed polled more than once, naming every source that polls it (a
        // list of 500 copies is one line, not 499).
        let mut groups: Vec<Vec<&SourceConfig>> = Vec::new();
        let mut by_url: std::collections::HashMap<Url, Vec<usize>> =
            std::collections::HashMap::new();
        for s in self.enabled_sources() {
            let same = by_url.entry(fetched_url(&s.url)).or_default();
            match same.iter().find(|&&g| groups[g][0].headers == s.headers) {
                Some(&g) => groups[g].push(s),
                None => {
                    same.push(groups.len());
                    groups.push(vec![s]);
                }
            }
        }
        for group in groups.iter().filter(|g| g.len() > 1) {
            const NAMED: usize = 5;
            let n = group.len();
            let mut names: Vec<String> = group
                .iter()
                .take(NAMED)
                .map(|s| format!("{:?}", s.name))
                .collect();
            if n > NAMED {
                names.push(format!("{} more", n - NAMED));
            }
            let last = names.pop().unwrap_or_default();
            let times = if n == 2 {
                "twice".to_owned()
            } else {
                format!("{n} times")
            };
            out.push(format!(
                "sources {} and {last} poll the same URL {}: each poll fetches it {times} and \
                 every item is stored {times}, folded as copies; keep one",
                names.join(", "),
                group[0].shown_url()
            ));
        }
        out
    }

    /// The sections in which `other` differs from this one in what a reload does not apply:
    /// it applies `[[sources]]`, `[schedule]`, `[fetch]` but its two concurrency limits, and
    /// `log.level`; the rest needs a restart.
    pub fn sections_differing(&self, other: &Config) -> Vec<&'static str> {
        use secrecy::ExposeSecret;
        // Compared by their Debug text, which shows every field; the token's is redacted, so
        // it is compared apart.
        let token = |c: &Config| c.http.token.as_ref().map(|t| t.expose_secret().to_owned());
        let debug = |v: &dyn fmt::Debug| format!("{v:?}");
        [
            ("store", debug(&self.store) != debug(&other.store)),
            (
                "http",
                debug(&self.http) != debug(&other.http) || token(self) != token(other),
            ),
            // The rest of [fetch] is applied by the reload (`app::apply_fetch`).
            (
                "fetch.concurrency",
                self.fetch.concurrency != other.fetch.concurrency,
            ),
            (
                "fetch.per_host_concurrency",
                self.fetch.per_host_concurrency != other.fetch.per_host_concurrency,
            ),
            ("dedup", debug(&self.dedup) != debug(&other.dedup)),
            (
                "normalize",
                debug(&self.normalize) != debug(&other.normalize),
            ),
            // The level is applied by the reload (`telemetry::set_level`); the format is not.
            ("log", self.log.format != other.log.format),
        ]
        .into_iter()
        .filter_map(|(name, differs)| differs.then_some(name))
        .collect()
    }
}

/// The configured sources as they are now: a reload (SIGHUP) replaces them while the daemon
/// runs; readers take the current list and keep it for as long as they need it. Also what
/// the last (re)load did, for `/status` and `/metrics`.
#[derive(Debug)]
pub struct LiveSources {
    current: std::sync::RwLock<Arc<Sources>>,
    loads: std::sync::Mutex<Loads>,
}

/// When the configuration was last loaded, and how the last reload went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loads {
    /// When the sources in effect were loaded (at start, or by the last good reload), Unix
    /// milliseconds.
    pub loaded_at: i64,
    /// When the last reload was tried (`None`: never), Unix milliseconds.
    pub last_reload: Option<i64>,
    /// Why it was refused (`None`: it was applied, or none was tried).
    pub last_reload_error: Option<String>,
}

/// One version of the configured sources.
#[derive(Debug, Default)]
pub struct Sources {
    /// Every configured source, enabled or not, in configuration order. Shared with the
    /// scheduler while every source is enabled ([`Sources::enabled_list`]).
    pub list: Arc<[SourceConfig]>,
    /// The names of those marked `agency = true`.
    pub agencies: std::collections::HashSet<String>,
    /// The `[schedule]` loaded with them (a reload applies both).
    pub schedule: ScheduleConfig,
}

impl LiveSources {
    /// Holds `list` (a configuration's `sources`, moved here so that they are kept once),
    /// loaded at `now` (Unix milliseconds).
    pub fn new(list: Vec<SourceConfig>, schedule: ScheduleConfig, now: i64) -> Self {
        Self {
            current: std::sync::RwLock::new(Arc::new(Sources::of(list, schedule))),
            loads: std::sync::Mutex::new(Loads {
                loaded_at: now,
                ..Loads::default()
            }),
        }
    }

    /// The current sources.
    pub fn get(&self) -> Arc<Sources> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A reload's sources, built to hand to the scheduler before [`LiveSources::install`]
    /// shows them to readers: a request that sees a new source must find it scheduled.
    pub fn prepare(list: Vec<SourceConfig>, schedule: ScheduleConfig) -> Arc<Sources> {
        Arc::new(Sources::of(list, schedule))
    }

    /// A reload at `now` replaces them with `sources` ([`LiveSources::prepare`]). The
    /// record of the reload is written first: whoever sees the new sources sees it too.
    pub fn install(&self, sources: Arc<Sources>, now: i64) {
        *self.loads.lock().unwrap_or_else(|p| p.into_inner()) = Loads {
            loaded_at: now,
            last_reload: Some(now),
            last_reload_error: None,
        };
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = sources;
    }

    /// A reload at `now` was refused for `error`; the sources stay.
    pub fn refused(&self, error: String, now: i64) {
        let mut loads = self.loads.lock().unwrap_or_else(|p| p.into_inner());
        loads.last_reload = Some(now);
        loads.last_reload_error = Some(error);
    }

    /// What the last (re)load did.
    pub fn loads(&self) -> Loads {
        self.loads.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Sources {
    fn of(list: Vec<SourceConfig>, schedule: ScheduleConfig) -> Self {
        let agencies = list
            .iter()
            .filter(|s| s.agency)
            .map(|s| s.name.clone())
            .collect();
        Self {
            list: list.into(),
            agencies,
            schedule,
        }
    }

    /// The sources that are polled.
    pub fn enabled(&self) -> impl Iterator<Item = &SourceConfig> {
        self.list.iter().filter(|s| s.enabled)
    }

    /// The sources that are polled, as the scheduler holds them: the list itself when every
    /// source is enabled (one copy of 10,000 sources is ~2.5 MB), else a copy of the enabled
    /// ones.
    pub fn enabled_list(&self) -> Arc<[SourceConfig]> {
        if self.list.iter().all(|s| s.enabled) {
            self.list.clone()
        } else {
            self.enabled().cloned().collect()
        }
    }
}

/// An ignored key's path as serde reports it (`sources.1.colour`) written the way every
/// other problem names its key (`sources[1].colour`), with its first index.
fn key_path(raw: &str) -> (String, Option<usize>) {
    let mut key = String::with_capacity(raw.len() + 2);
    let mut first = None;
    for part in raw.split('.') {
        match part.parse::<usize>() {
            Ok(i) if !key.is_empty() => {
                key.push_str(&format!("[{i}]"));
                first = first.or(Some(i));
            }
            _ => {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(part);
            }
        }
    }
    (key, first)
}
