//! Configuration: a TOML file layered with `WIREFOLD_…` environment overrides, read into raw
//! `Settings` and validated once into a typed [`Config`].
//!
//! The two steps are kept apart on purpose (ripgrep's low-args/high-args split): `Settings`
//! mirrors the file and accepts anything serde can read, so that validation can look at *every*
//! key and report *every* problem at once (`wirefold check-config`), each naming its key, its
//! source and what is allowed. Nothing downstream ever sees a `Settings`; after
//! [`Config::load`] URLs are [`Url`], durations are [`Duration`], concurrency is non-zero and
//! every bound is ordered.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(name) => write!(f, "{} (source \"{}\"): {}", self.key, name, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw settings, as written in the file.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Settings {
    store: StoreSettings,
    http: HttpSettings,
    fetch: FetchSettings,
    schedule: ScheduleSettings,
    dedup: DedupSettings,
    log: LogSettings,
    sources: Vec<SourceSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct StoreSettings {
    path: String,
    flush_every: String,
    cache_bytes: u64,
    retention: String,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            path: "data/wirefold".into(),
            flush_every: "500ms".into(),
            cache_bytes: crate::storage::DEFAULT_CACHE_BYTES,
            retention: "30d".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct HttpSettings {
    listen: String,
    shutdown_grace: String,
    request_timeout: String,
    token: Option<String>,
    metrics_max_sources: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            shutdown_grace: "5s".into(),
            request_timeout: "10s".into(),
            token: None,
            metrics_max_sources: 100,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct FetchSettings {
    user_agent: String,
    timeout: String,
    connect_timeout: String,
    max_body_bytes: u64,
    concurrency: usize,
    stall_timeout: String,
    stall_min_bytes: u64,
    max_redirects: usize,
    permanent_redirect_polls: u32,
    per_host_concurrency: usize,
    per_host_spacing: String,
    refuse_private_redirects: bool,
    refuse_private_dns: bool,
    private_hosts: Vec<String>,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            user_agent: default_user_agent(),
            timeout: "20s".into(),
            connect_timeout: "10s".into(),
            max_body_bytes: 16 * 1024 * 1024,
            concurrency: 32,
            stall_timeout: "10s".into(),
            stall_min_bytes: 1024,
            max_redirects: 10,
            permanent_redirect_polls: 3,
            per_host_concurrency: 2,
            per_host_spacing: "0s".into(),
            refuse_private_redirects: true,
            refuse_private_dns: true,
            private_hosts: Vec::new(),
        }
    }
}

fn default_user_agent() -> String {
    format!(
        "wirefold/{} (feed reader; +https://github.com/wirefold/wirefold)",
        env!("CARGO_PKG_VERSION")
    )
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct ScheduleSettings {
    default_interval: String,
    min_interval: String,
    max_interval: String,
    startup_spread: String,
    adaptive: bool,
    max_backoff: String,
    max_retry_after: String,
    network_probe_interval: String,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            default_interval: "15m".into(),
            min_interval: "1m".into(),
            max_interval: "6h".into(),
            startup_spread: "30s".into(),
            adaptive: true,
            max_backoff: "6h".into(),
            max_retry_after: "6h".into(),
            network_probe_interval: "30s".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct DedupSettings {
    simhash_max_distance: u32,
    min_similarity: f64,
    min_containment: f64,
    window: String,
}

impl Default for DedupSettings {
    fn default() -> Self {
        let p = crate::dedup::DedupParams::default();
        Self {
            simhash_max_distance: p.simhash_max_distance,
            min_similarity: f64::from(p.min_similarity),
            min_containment: f64::from(p.min_containment),
            window: humantime::format_duration(p.window).to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct LogSettings {
    format: String,
    level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SourceSettings {
    name: String,
    url: String,
    interval: Option<String>,
    enabled: Option<bool>,
    agency: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Validated configuration.

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
        let read_err = |message: String| ConfigError::Read {
            path: path.to_path_buf(),
            message,
        };
        if !path.is_file() {
            return Err(read_err("no such file".into()));
        }
        let environment = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(env);
        let layered = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(environment)
            .build()
            .map_err(|e| read_err(e.to_string()))?;
        let mut unknown = Vec::new();
        let settings: Settings = serde_ignored::deserialize(layered, |p| {
            unknown.push(p.to_string());
        })
        .map_err(|e| read_err(e.to_string()))?;
        let mut problems: Vec<Problem> = unknown
            .into_iter()
            .filter(|k| k != "config") // WIREFOLD_CONFIG names the file itself
            .map(|key| Problem {
                key,
                source: None,
                message: "unknown key".into(),
            })
            .collect();
        let config = validate(path, settings, &mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// The sources that are polled.
    pub fn enabled_sources(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources.iter().filter(|s| s.enabled)
    }
}

/// Collects problems instead of stopping at the first, so one run lists them all.
struct Checker<'a> {
    problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    fn push(&mut self, key: impl Into<String>, source: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            source: source.map(str::to_owned),
            message: message.into(),
        });
    }

    fn duration(&mut self, key: &str, source: Option<&str>, raw: &str) -> Duration {
        self.try_duration(key, source, raw)
            .unwrap_or(Duration::from_secs(1))
    }

    /// A duration that may be zero.
    fn duration_or_zero(&mut self, key: &str, raw: &str) -> Duration {
        match humantime::parse_duration(raw.trim()) {
            Ok(d) => d,
            Err(e) => {
                self.push(
                    key,
                    None,
                    format!(
                        "\"{raw}\" is not a duration ({e}); write e.g. \"0s\", \"500ms\", \"2s\""
                    ),
                );
                Duration::ZERO
            }
        }
    }

    /// A positive duration, or `None` after recording the problem.
    fn try_duration(&mut self, key: &str, source: Option<&str>, raw: &str) -> Option<Duration> {
        match humantime::parse_duration(raw.trim()) {
            Ok(d) if d.is_zero() => {
                self.push(key, source, "must be longer than zero");
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.push(
                    key,
                    source,
                    format!(
                        "\"{raw}\" is not a duration ({e}); write e.g. \"30s\", \"15m\", \"2h\""
                    ),
                );
                None
            }
        }
    }
}

fn validate(path: &Path, s: Settings, problems: &mut Vec<Problem>) -> Config {
    let mut c = Checker { problems };

    // store
    let store_path = PathBuf::from(s.store.path.trim());
    if s.store.path.trim().is_empty() {
        c.push("store.path", None, "must name a directory");
    } else if let Err(msg) = check_writable_dir(&store_path) {
        c.push("store.path", None, msg);
    }
    let flush_every = c.duration("store.flush_every", None, &s.store.flush_every);
    if s.store.cache_bytes < 1024 * 1024 {
        c.push(
            "store.cache_bytes",
            None,
            format!(
                "{} is too small; allowed: at least 1048576 (1 MiB)",
                s.store.cache_bytes
            ),
        );
    }

    // http
    let listen = match s.http.listen.trim().parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            c.push(
                "http.listen",
                None,
                format!(
                    "\"{}\" is not an IP:port address such as 127.0.0.1:8080",
                    s.http.listen
                ),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        }
    };
    let shutdown_grace = c.duration("http.shutdown_grace", None, &s.http.shutdown_grace);
    let request_timeout = c.duration("http.request_timeout", None, &s.http.request_timeout);
    let token = match s.http.token.as_deref().map(str::trim) {
        None => None,
        Some(t) if t.len() < 16 || t.chars().any(|ch| ch.is_whitespace() || ch.is_control()) => {
            c.push(
                "http.token",
                None,
                "must be at least 16 characters without spaces (or absent for no token)",
            );
            None
        }
        Some(t) => Some(secrecy::SecretString::from(t.to_owned())),
    };

    // fetch
    if s.fetch.user_agent.trim().is_empty() {
        c.push("fetch.user_agent", None, "must not be empty");
    }
    let timeout = c.duration("fetch.timeout", None, &s.fetch.timeout);
    let connect_timeout = c.duration("fetch.connect_timeout", None, &s.fetch.connect_timeout);
    if connect_timeout > timeout {
        c.push(
            "fetch.connect_timeout",
            None,
            "must not be longer than fetch.timeout",
        );
    }
    if s.fetch.max_body_bytes < 1024 {
        c.push(
            "fetch.max_body_bytes",
            None,
            format!(
                "{} is too small; allowed: at least 1024",
                s.fetch.max_body_bytes
            ),
        );
    }
    let concurrency = NonZeroUsize::new(s.fetch.concurrency).unwrap_or_else(|| {
        c.push("fetch.concurrency", None, "must be at least 1");
        NonZeroUsize::MIN
    });
    // A window longer than the whole request could never fire: the total timeout would.
    let stall_timeout = c
        .duration("fetch.stall_timeout", None, &s.fetch.stall_timeout)
        .min(timeout);
    if s.fetch.max_redirects > 50 {
        c.push(
            "fetch.max_redirects",
            None,
            format!(
                "{} is out of range; allowed: 0 to 50",
                s.fetch.max_redirects
            ),
        );
    }
    if s.fetch.permanent_redirect_polls == 0 {
        c.push("fetch.permanent_redirect_polls", None, "must be at least 1");
    }
    let per_host_concurrency =
        NonZeroUsize::new(s.fetch.per_host_concurrency).unwrap_or_else(|| {
            c.push("fetch.per_host_concurrency", None, "must be at least 1");
            NonZeroUsize::MIN
        });
    let per_host_spacing = c.duration_or_zero("fetch.per_host_spacing", &s.fetch.per_host_spacing);
    let mut private_hosts = Vec::with_capacity(s.fetch.private_hosts.len());
    for (i, h) in s.fetch.private_hosts.iter().enumerate() {
        let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
        if h.is_empty() || h.contains(['/', ':', ' ']) {
            c.push(
                format!("fetch.private_hosts[{i}]"),
                None,
                "must be a host name such as feeds.intranet.example",
            );
        } else {
            private_hosts.push(h);
        }
    }

    // schedule
    let default_interval = c.duration(
        "schedule.default_interval",
        None,
        &s.schedule.default_interval,
    );
    let min_interval = c.duration("schedule.min_interval", None, &s.schedule.min_interval);
    let max_interval = c.duration("schedule.max_interval", None, &s.schedule.max_interval);
    if min_interval > max_interval {
        c.push(
            "schedule.min_interval",
            None,
            "must not be longer than schedule.max_interval",
        );
    }
    let startup_spread = c.duration("schedule.startup_spread", None, &s.schedule.startup_spread);
    let max_backoff = c.duration("schedule.max_backoff", None, &s.schedule.max_backoff);
    if max_backoff < min_interval {
        c.push(
            "schedule.max_backoff",
            None,
            "must not be shorter than schedule.min_interval",
        );
    }
    let max_retry_after = c.duration(
        "schedule.max_retry_after",
        None,
        &s.schedule.max_retry_after,
    );
    let network_probe_interval = c.duration(
        "schedule.network_probe_interval",
        None,
        &s.schedule.network_probe_interval,
    );
    let schedule = ScheduleConfig {
        default_interval: default_interval.clamp(min_interval, max_interval.max(min_interval)),
        min_interval,
        max_interval,
        startup_spread,
        adaptive: s.schedule.adaptive,
        max_backoff,
        max_retry_after,
        network_probe_interval,
    };
    if default_interval != schedule.default_interval {
        c.push(
            "schedule.default_interval",
            None,
            "must lie between schedule.min_interval and schedule.max_interval",
        );
    }

    // dedup
    if s.dedup.simhash_max_distance > 32 {
        c.push(
            "dedup.simhash_max_distance",
            None,
            format!(
                "{} is out of range; allowed: 0 to 32",
                s.dedup.simhash_max_distance
            ),
        );
    }
    for (key, v) in [
        ("dedup.min_similarity", s.dedup.min_similarity),
        ("dedup.min_containment", s.dedup.min_containment),
    ] {
        if !(v > 0.0 && v <= 1.0) {
            c.push(
                key,
                None,
                format!("{v} is out of range; allowed: above 0 up to 1"),
            );
        }
    }
    let window = c.duration("dedup.window", None, &s.dedup.window);
    let retention = match s.store.retention.trim() {
        "off" | "none" | "0" => None,
        raw => c.try_duration("store.retention", None, raw),
    };
    if retention.is_some_and(|r| r < window) {
        c.push(
            "store.retention",
            None,
            format!(
                "must not be shorter than dedup.window ({}); or \"off\" to keep everything",
                humantime::format_duration(window)
            ),
        );
    }
    let dedup = crate::dedup::DedupParams {
        simhash_max_distance: s.dedup.simhash_max_distance,
        min_similarity: s.dedup.min_similarity as f32,
        min_containment: s.dedup.min_containment as f32,
        window,
        ..crate::dedup::DedupParams::default()
    };

    // log
    let format = match s.log.format.trim() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            c.push(
                "log.format",
                None,
                format!("\"{other}\" is not a format; allowed: \"text\" or \"json\""),
            );
            LogFormat::Text
        }
    };
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(s.log.level.trim()) {
        c.push("log.level", None, format!("not a log filter: {e}"));
    }

    // sources
    let mut seen = HashSet::new();
    let mut sources = Vec::with_capacity(s.sources.len());
    for (i, src) in s.sources.into_iter().enumerate() {
        let name = src.name.trim().to_owned();
        let label = if name.is_empty() {
            None
        } else {
            Some(name.as_str())
        };
        if name.is_empty() {
            c.push(format!("sources[{i}].name"), None, "must not be empty");
        } else if !seen.insert(name.clone()) {
            c.push(
                format!("sources[{i}].name"),
                label,
                "duplicate source name; every name must be unique",
            );
        }
        let url = match parse_source_url(src.url.trim(), path) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Ok(u) if u.scheme() == "file" => Some(u),
            Ok(u) => {
                c.push(
                    format!("sources[{i}].url"),
                    label,
                    format!(
                        "scheme \"{}\" is not allowed; allowed: http, https, file",
                        u.scheme()
                    ),
                );
                None
            }
            Err(e) => {
                c.push(
                    format!("sources[{i}].url"),
                    label,
                    format!("\"{}\" is not a URL ({e})", src.url),
                );
                None
            }
        };
        let interval = match &src.interval {
            Some(raw) => {
                let key = format!("sources[{i}].interval");
                let parsed = c.try_duration(&key, label, raw);
                let d = parsed.unwrap_or(schedule.default_interval);
                if parsed.is_some() && (d < schedule.min_interval || d > schedule.max_interval) {
                    c.push(
                        key,
                        label,
                        format!(
                            "{} is outside schedule bounds; allowed: {} to {}",
                            humantime::format_duration(d),
                            humantime::format_duration(schedule.min_interval),
                            humantime::format_duration(schedule.max_interval)
                        ),
                    );
                }
                d
            }
            None => schedule.default_interval,
        };
        if let Some(url) = url {
            sources.push(SourceConfig {
                name,
                url,
                interval,
                enabled: src.enabled.unwrap_or(true),
                agency: src.agency.unwrap_or(false),
            });
        }
    }

    Config {
        path: path.to_path_buf(),
        store: StoreConfig {
            path: store_path,
            flush_every,
            cache_bytes: s.store.cache_bytes,
            retention,
        },
        http: HttpConfig {
            listen,
            shutdown_grace,
            request_timeout,
            token,
            metrics_max_sources: s.http.metrics_max_sources,
        },
        fetch: FetchConfig {
            user_agent: s.fetch.user_agent.trim().to_owned(),
            timeout,
            connect_timeout,
            max_body_bytes: s.fetch.max_body_bytes,
            concurrency,
            stall_timeout,
            stall_min_bytes: s.fetch.stall_min_bytes,
            max_redirects: s.fetch.max_redirects,
            permanent_redirect_polls: s.fetch.permanent_redirect_polls.max(1),
            per_host_concurrency,
            per_host_spacing,
            refuse_private_redirects: s.fetch.refuse_private_redirects,
            refuse_private_dns: s.fetch.refuse_private_dns,
            private_hosts,
        },
        schedule,
        dedup,
        log: LogConfig {
            format,
            level: s.log.level.trim().to_owned(),
        },
        sources,
    }
}

/// A source URL, or a plain file path starting with `/`, `./` or `../` (relative paths are
/// relative to the config file's directory), which becomes a `file://` URL.
fn parse_source_url(raw: &str, config_path: &Path) -> Result<Url, url::ParseError> {
    match Url::parse(raw) {
        Err(url::ParseError::RelativeUrlWithoutBase)
            if raw.starts_with('/') || raw.starts_with("./") || raw.starts_with("../") =>
        {
            let p = Path::new(raw);
            let full = if p.is_absolute() {
                p.to_path_buf()
            } else {
                let base = config_path.parent().unwrap_or(Path::new("."));
                std::path::absolute(base.join(p)).unwrap_or_else(|_| base.join(p))
            };
            Url::from_file_path(&full).map_err(|()| url::ParseError::RelativeUrlWithoutBase)
        }
        other => other,
    }
}

/// The store directory must exist and be writable, or be creatable under a writable parent.
/// Checked without creating anything, so `check-config` has no side effects.
fn check_writable_dir(path: &Path) -> Result<(), String> {
    let mut probe = path;
    loop {
        if probe.exists() {
            if !probe.is_dir() {
                return Err(format!("{} exists and is not a directory", probe.display()));
            }
            let meta = std::fs::metadata(probe).map_err(|e| format!("{}: {e}", probe.display()))?;
            if meta.permissions().readonly() || !dir_is_writable(probe) {
                return Err(format!("{} is not writable", probe.display()));
            }
            return Ok(());
        }
        match probe.parent() {
            Some(p) if !p.as_os_str().is_empty() => probe = p,
            _ => return Ok(()), // relative path under the current directory
        }
    }
}

#[cfg(unix)]
fn dir_is_writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call; access(2) only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

#[cfg(not(unix))]
fn dir_is_writable(_dir: &Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        let toml = toml.replace("STORE", &dir.path().join("db").display().to_string());
        std::fs::write(&path, toml).unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load_with_env(&path, Some(env))
    }

    fn problems(r: Result<Config, ConfigError>) -> Vec<String> {
        match r {
            Err(ConfigError::Invalid { problems, .. }) => {
                problems.iter().map(|p| p.to_string()).collect()
            }
            other => panic!("expected invalid config, got {other:?}"),
        }
    }

    const GOOD: &str = r#"
        [store]
        path = "STORE"
        [[sources]]
        name = "a"
        url = "https://example.com/feed.xml"
        interval = "10m"
        [[sources]]
        name = "b"
        url = "file:///tmp/feed.xml"
        enabled = false
        [[sources]]
        name = "c"
        url = "./feeds/local.xml"
    "#;

    #[test]
    fn good_config_is_typed() {
        let c = load(GOOD, &[]).unwrap();
        assert_eq!(c.sources.len(), 3);
        // A plain path is a file relative to the config file's directory.
        assert_eq!(c.sources[2].url.scheme(), "file");
        let dir = c.path.parent().unwrap();
        assert_eq!(
            c.sources[2].url.to_file_path().unwrap(),
            dir.join("feeds/local.xml")
        );
        assert_eq!(c.sources[0].interval, Duration::from_secs(600));
        assert_eq!(c.sources[1].interval, Duration::from_secs(900));
        assert!(!c.sources[1].enabled);
        assert_eq!(c.enabled_sources().count(), 2);
        assert_eq!(c.http.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.fetch.max_body_bytes, 16 * 1024 * 1024);
        assert_eq!(c.fetch.per_host_concurrency.get(), 2);
        assert_eq!(c.fetch.per_host_spacing, Duration::ZERO);
        assert_eq!(c.fetch.permanent_redirect_polls, 3);
        assert!(c.fetch.refuse_private_redirects && c.fetch.refuse_private_dns);
        assert_eq!(c.schedule.max_backoff, Duration::from_secs(6 * 3600));
        assert!(c.schedule.adaptive);
    }

    #[test]
    fn env_overrides_nested_keys() {
        let c = load(
            GOOD,
            &[
                ("WIREFOLD_HTTP__LISTEN", "127.0.0.1:9999"),
                ("WIREFOLD_FETCH__CONCURRENCY", "4"),
            ],
        )
        .unwrap();
        assert_eq!(c.http.listen.port(), 9999);
        assert_eq!(c.fetch.concurrency.get(), 4);
    }

    #[test]
    fn every_problem_is_listed_with_its_key() {
        let bad = r#"
            colour = "blue"
            [store]
            path = "STORE"
            [http]
            listen = "localhost"
            [fetch]
            timeout = "0s"
            concurency = 3
            per_host_concurrency = 0
            per_host_spacing = "often"
            stall_timeout = "soon"
            private_hosts = ["ok.example", "http://bad/"]
            [schedule]
            min_interval = "2h"
            max_interval = "1h"
            [[sources]]
            name = "a"
            url = "not a url"
            [[sources]]
            name = "a"
            url = "ftp://example.com/x"
            interval = "soon"
        "#;
        let p = problems(load(bad, &[]));
        let joined = p.join("\n");
        for needle in [
            "colour: unknown key",
            "fetch.concurency: unknown key",
            "fetch.per_host_concurrency: must be at least 1",
            "fetch.per_host_spacing: \"often\" is not a duration",
            "fetch.stall_timeout: \"soon\" is not a duration",
            "fetch.private_hosts[1]: must be a host name",
            "http.listen",
            "fetch.timeout: must be longer than zero",
            "schedule.min_interval: must not be longer than schedule.max_interval",
            "sources[0].url (source \"a\")",
            "sources[1].name (source \"a\"): duplicate source name",
            "sources[1].url (source \"a\"): scheme \"ftp\" is not allowed",
            "sources[1].interval (source \"a\"): \"soon\" is not a duration",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
        }
    }

    #[test]
    fn retention_defaults_to_30_days_and_can_be_off() {
        let c = load(GOOD, &[]).unwrap();
        assert_eq!(c.store.retention, Some(Duration::from_secs(30 * 86_400)));
        let c = load(GOOD, &[("WIREFOLD_STORE__RETENTION", "off")]).unwrap();
        assert_eq!(c.store.retention, None);
        let c = load(GOOD, &[("WIREFOLD_STORE__RETENTION", "7d")]).unwrap();
        assert_eq!(c.store.retention, Some(Duration::from_secs(7 * 86_400)));
    }

    #[test]
    fn retention_shorter_than_the_window_is_refused() {
        let p = problems(load(
            GOOD,
            &[
                ("WIREFOLD_STORE__RETENTION", "1h"),
                ("WIREFOLD_FETCH__TIMEOUT", "never"),
            ],
        ));
        let joined = p.join("\n");
        assert!(
            joined.contains("store.retention: must not be shorter than dedup.window"),
            "{joined}"
        );
        assert!(joined.contains("fetch.timeout"), "{joined}");
        let p = problems(load(GOOD, &[("WIREFOLD_STORE__RETENTION", "a while")]));
        assert!(
            p[0].starts_with("store.retention: \"a while\" is not a duration"),
            "{p:?}"
        );
    }

    #[test]
    fn unwritable_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x").unwrap();
        let bad = GOOD.replace("STORE", &file.join("db").display().to_string());
        let p = problems(load(&bad, &[]));
        assert!(p.iter().any(|p| p.starts_with("store.path")), "{p:?}");
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let r = Config::load(Path::new("/nonexistent/wirefold.toml"));
        assert!(matches!(r, Err(ConfigError::Read { .. })));
    }

    #[test]
    fn shipped_default_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PATH);
        let c = Config::load_with_env(&path, Some(HashMap::new())).unwrap();
        assert!(c.sources.len() >= 5);
    }
}
