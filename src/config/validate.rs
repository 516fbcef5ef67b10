//! Validation: raw [`Settings`] into a typed [`Config`], collecting every problem (each with
//! its key, its source and what is allowed) instead of stopping at the first.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use url::Url;

use super::settings::{FetchSettings, RuleSettings, ScheduleSettings, Settings};
use super::*;
use crate::normalize::{Rule, RuleError, RuleSpec};

/// Request headers the fetcher sets itself, from the stored validators or for the transfer:
/// a source's own value would break conditional polls, decoding or the connection.
const MANAGED_HEADERS: [&str; 13] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
    "proxy-authorization",
    "accept-encoding",
    "if-none-match",
    "if-modified-since",
];

/// A source's `headers`: each name a valid header name not in [`MANAGED_HEADERS`], each value
/// a valid header value (no line breaks), only for http(s) URLs, and no `Authorization` beside
/// a password in the URL (one of them would be silently dropped).
fn validate_headers(
    c: &mut Checker<'_>,
    i: usize,
    label: Option<&str>,
    url: Option<&Url>,
    raw: std::collections::BTreeMap<String, String>,
    environment: &dyn Fn(&str) -> Option<String>,
) -> SourceHeaders {
    if raw.is_empty() {
        return SourceHeaders::default();
    }
    if url.is_some_and(|u| u.scheme() == "file") {
        c.push(
            format!("sources[{i}].headers"),
            label,
            "headers are sent with http and https requests only, not with a file URL",
        );
    }
    let mut headers = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        let key = format!("sources[{i}].headers.{name}");
        let parsed = match HeaderName::from_bytes(name.trim().as_bytes()) {
            Ok(n) => n,
            Err(_) => {
                c.push(
                    key,
                    label,
                    format!("\"{name}\" is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)"),
                );
                continue;
            }
        };
        if MANAGED_HEADERS.contains(&parsed.as_str()) {
            c.push(
                key,
                label,
                format!("{name} is set by wirefold itself and cannot be configured"),
            );
            continue;
        }
        if parsed == reqwest::header::AUTHORIZATION && url.is_some_and(|u| u.password().is_some()) {
            c.push(
                key,
                label,
                "the URL carries a password too; give the credentials one way only",
            );
            continue;
        }
        let value = match expand_variables(&value, environment) {
            Ok(v) => v,
            Err(why) => {
                c.push(key, label, why);
                continue;
            }
        };
        match HeaderValue::from_str(value.trim()) {
            Ok(v) => headers.push((parsed, v)),
            // The value is a credential: the problem names what is wrong, not the value.
            Err(_) => c.push(
                key,
                label,
                "not a header value: only visible ASCII, spaces and tabs, no line breaks",
            ),
        }
    }
    headers.into_iter().collect()
}

/// `value` with each `${NAME}` replaced by the environment variable `NAME`, so that a key
/// can stay out of a configuration file that others may read (systemd's `EnvironmentFile=`
/// is read by root; a `DynamicUser=` service's configuration is readable by all). A `$` not
/// followed by `{` is itself. The error names the variable, never a value.
fn expand_variables(
    value: &str,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name = after.split_once('}').map(|(n, _)| n).filter(|n| {
            n.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        let Some(name) = name else {
            return Err(
                "\"${\" starts a variable: write ${NAME}, NAME of letters, digits and _".into(),
            );
        };
        match environment(name) {
            // An empty one is a credential that did not reach the service (an
            // `EnvironmentFile=` line `NAME=`), and would be sent as `Bearer `.
            Some(v) if v.trim().is_empty() => {
                return Err(format!("${{{name}}}: {name} is empty in the environment"))
            }
            Some(v) => out.push_str(&v),
            None => return Err(format!("${{{name}}}: {name} is not set in the environment")),
        }
        rest = &after[name.len() + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Most requests in flight at once (`fetch.concurrency`, `fetch.per_host_concurrency`).
const MAX_CONCURRENCY: usize = 100_000;

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

    /// A number of requests at once: 1 to [`MAX_CONCURRENCY`] (past that a semaphore
    /// refuses the count; no machine holds that many connections anyway).
    fn concurrency(&mut self, key: &str, n: usize) -> NonZeroUsize {
        match NonZeroUsize::new(n) {
            Some(n) if n.get() <= MAX_CONCURRENCY => n,
            _ => {
                self.push(
                    key,
                    None,
                    format!("{n} is out of range; allowed: 1 to {MAX_CONCURRENCY}"),
                );
                NonZeroUsize::MIN
            }
        }
    }

    /// Whether one of `keys` has a problem already: a rule that relates keys is not checked
    /// against a stand-in for a value that was refused (one typo, one problem).
    fn refused(&self, keys: &[&str]) -> bool {
        self.problems.iter().any(|p| keys.contains(&p.key.as_str()))
    }

    fn duration(&mut self, key: &str, source: Option<&str>, raw: &str) -> Duration {
        self.try_duration(key, source, raw)
            .unwrap_or(Duration::from_secs(1))
    }

    /// A duration that may be zero.
    fn duration_or_zero(&mut self, key: &str, raw: &str) -> Duration {
        match humantime::parse_duration(raw.trim()) {
            Ok(d) if d > LONGEST => {
                self.push(key, None, too_long(raw));
                Duration::ZERO
            }
            Ok(d) => d,
            Err(e) => {
                self.push(
                    key,
                    None,
                    format!(
                        "\"{raw}\" is not a duration ({}); write e.g. \"0s\", \"500ms\", \"2s\"",
                        why_not_a_duration(raw, &e)
                    ),
                );
                Duration::ZERO
            }
        }
    }

    /// A positive duration of at most `max`: longer ones are almost always a unit typed
    /// wrong (`"500m"` is 500 minutes, not milliseconds), so they are refused with `why`.
    fn bounded_duration(&mut self, key: &str, raw: &str, max: Duration, why: &str) -> Duration {
        let d = self.duration(key, None, raw);
        self.at_most(key, raw, d, max, why);
        d
    }

    /// Records a problem when the duration `d` (parsed from `raw`) is shorter than `min`.
    fn at_least(&mut self, key: &str, raw: &str, d: Duration, min: Duration, why: &str) {
        if d < min {
            self.push(
                key,
                None,
                format!(
                    "\"{}\" is shorter than the {} allowed; {why}",
                    raw.trim(),
                    shown_duration(min)
                ),
            );
        }
    }

    /// Records a problem when the duration `d` (parsed from `raw`) is longer than `max`.
    fn at_most(&mut self, key: &str, raw: &str, d: Duration, max: Duration, why: &str) {
        if d > max {
            self.push(
                key,
                None,
                format!(
                    "\"{}\" is longer than the {} allowed; {why}",
                    raw.trim(),
                    shown_duration(max)
                ),
            );
        }
    }

    /// A positive duration, or `None` after recording the problem.
    fn try_duration(&mut self, key: &str, source: Option<&str>, raw: &str) -> Option<Duration> {
        match humantime::parse_duration(raw.trim()) {
            Ok(d) if d.is_zero() => {
                self.push(key, source, "must be longer than zero");
                None
            }
            Ok(d) if d > LONGEST => {
                self.push(key, source, too_long(raw));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.push(
                    key,
                    source,
                    format!(
                        "\"{raw}\" is not a duration ({}); write e.g. \"30s\", \"15m\", \"2h\"",
                        why_not_a_duration(raw, &e)
                    ),
                );
                None
            }
        }
    }
}

/// The longest duration any setting takes. Past ~292 billion years a duration added to the
/// clock overflows it, which panicked the daemon (`schedule.max_retry_after = "500000000000y"`
/// at start and in every reload after it; `schedule.network_probe_interval` in the scheduler,
/// which then never polled again); nothing that waits is meant to wait a century. (A
/// century as humantime counts it: `"1200months"` of 30.44 days, a little past `"100y"` of
/// 365.25.)
const LONGEST: Duration = Duration::from_secs(1200 * 2_630_016);

fn too_long(raw: &str) -> String {
    format!(
        "\"{}\" is longer than the 100 years any duration may be",
        raw.trim()
    )
}

/// Why `raw` is no duration: humantime's words, but for a bare number, which humantime
/// quotes without its fraction (`"60.5"`: "for example 60sec"); durations take whole numbers.
fn why_not_a_duration(raw: &str, e: &humantime::DurationError) -> String {
    let raw = raw.trim();
    if raw.parse::<u64>().is_ok() {
        format!("a number without a unit: \"{raw}s\" is {raw} seconds")
    } else if raw.parse::<f64>().is_ok_and(f64::is_finite) {
        "a number with a fraction and no unit: durations are whole numbers with units, such \
         as \"1m 30s\" or \"1500ms\""
            .into()
    } else {
        e.to_string()
    }
}

pub(super) fn validate(
    path: &Path,
    s: Settings,
    problems: &mut Vec<Problem>,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Config {
    let mut c = Checker { problems };

    // store
    // Without a trailing slash or `.` parts: the backups' default directory and a restore's
    // names are built beside it (`data/store/` would put them inside the store).
    let store_path: PathBuf = Path::new(s.store.path.trim()).components().collect();
    if s.store.path.trim().is_empty() {
        c.push("store.path", None, "must name a directory");
    } else if store_path.file_name().is_none() {
        // `.`, `..` or `/`: compaction and restore rename the store's directory, and its
        // backups' default directory is made beside it.
        c.push(
            "store.path",
            None,
            format!(
                "\"{}\" is not a directory of its own (the current, a parent or the root \
                 directory): compaction and restore move the store's directory aside whole; \
                 give it one, such as \"data/wirefold\"",
                s.store.path.trim()
            ),
        );
    } else if let Err(msg) = check_writable_dir(&store_path) {
        c.push("store.path", None, msg);
    }
    let flush_every = c.bounded_duration(
        "store.flush_every",
        &s.store.flush_every,
        Duration::from_secs(60),
        "a crash loses what was not flushed (\"500ms\" is half a second, \"500m\" 500 minutes)",
    );
    c.at_least(
        "store.flush_every",
        &s.store.flush_every,
        flush_every,
        Duration::from_millis(10),
        "flushing more often keeps the daemon busy doing nothing else",
    );
    let backup_dir = match s.store.backup_dir.trim() {
        "" => {
            let mut beside = store_path.clone().into_os_string();
            beside.push(".backups");
            PathBuf::from(beside)
        }
        dir => PathBuf::from(dir),
    };
    // Lexically: `..` taken back, `.` dropped (symbolic links are not followed).
    let absolute = |p: &Path| -> PathBuf {
        let mut out = PathBuf::new();
        for part in std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .components()
        {
            match part {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    };
    // And as the file system has it: a symbolic link on either side (a store path that is
    // a link, a backup directory reached through one) puts the backups inside the store as
    // surely, and a compaction or restore removes them with it.
    // The path as written (a `..` after a link is the link target's parent, as the system
    // opens it), its longest existing part canonicalized, the rest taken lexically.
    let resolved = |p: &Path| -> PathBuf {
        let written = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let parts: Vec<_> = written.components().collect();
        for cut in (1..=parts.len()).rev() {
            let head: PathBuf = parts[..cut].iter().collect();
            if let Ok(mut out) = std::fs::canonicalize(&head) {
                for part in &parts[cut..] {
                    match part {
                        std::path::Component::ParentDir => {
                            out.pop();
                        }
                        std::path::Component::CurDir => {}
                        other => out.push(other),
                    }
                }
                return out;
            }
        }
        absolute(p)
    };
    if store_path.file_name().is_none() {
        // Refused above; a default `backup_dir` beside it means nothing.
    } else if backup_dir.exists() && !backup_dir.is_dir() {
        c.push(
            "store.backup_dir",
            None,
            format!("{} exists and is not a directory", backup_dir.display()),
        );
    } else if !store_path.as_os_str().is_empty()
        && (absolute(&backup_dir).starts_with(absolute(&store_path))
            || resolved(&backup_dir).starts_with(resolved(&store_path)))
    {
        // A restore moves the whole store directory aside, its backups with it.
        c.push(
            "store.backup_dir",
            None,
            format!(
                "{} is inside store.path: backups must live outside the store they copy",
                backup_dir.display()
            ),
        );
    }
    let backup_every = match s.store.backup_every.trim() {
        "off" | "none" | "0" | "" => None,
        raw => c.try_duration("store.backup_every", None, raw),
    };
    if !(1..=1000).contains(&s.store.backups_kept) {
        c.push(
            "store.backups_kept",
            None,
            format!(
                "{} is out of range; allowed: 1 to 1000",
                s.store.backups_kept
            ),
        );
    }
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
    let shutdown_grace = c.bounded_duration(
        "http.shutdown_grace",
        &s.http.shutdown_grace,
        Duration::from_secs(600),
        "a stop would wait that long for open requests (and a service manager kills sooner)",
    );
    let request_timeout = c.bounded_duration(
        "http.request_timeout",
        &s.http.request_timeout,
        Duration::from_secs(600),
        "a stuck request would hold its connection that long",
    );
    c.at_least(
        "http.request_timeout",
        &s.http.request_timeout,
        request_timeout,
        Duration::from_secs(1),
        "a shorter one answers most requests with 408",
    );
    let token = match s.http.token.as_deref().map(str::trim) {
        None => None,
        // Visible ASCII only: HTTP header values carry nothing else reliably, so a token
        // with `ü` passed here and then matched no `Authorization: Bearer` ever sent.
        Some(t) if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) => {
            c.push(
                "http.token",
                None,
                "must be at least 16 visible ASCII characters (letters, digits, punctuation; \
                 no spaces), or absent for no token",
            );
            None
        }
        Some(t) => Some(secrecy::SecretString::from(t.to_owned())),
    };
    let public_url = match s.http.public_url.as_deref().map(str::trim) {
        None => None,
        Some(raw) => match public_url(raw) {
            Ok(u) => Some(u),
            Err(msg) => {
                // Shown without the credentials it was refused for.
                c.push(
                    "http.public_url",
                    None,
                    format!("\"{}\" {msg}", shown_url(raw)),
                );
                None
            }
        },
    };

    // fetch
    if s.fetch.user_agent.trim().is_empty() {
        c.push("fetch.user_agent", None, "must not be empty");
    } else if HeaderValue::from_bytes(s.fetch.user_agent.trim().as_bytes()).is_err() {
        // As the HTTP client reads it: the daemon failed to start, and a reload kept the
        // previous client, with "failed to parse header value" and no key named.
        c.push(
            "fetch.user_agent",
            None,
            "not a header value: no control characters or line breaks",
        );
    }
    let timeout = c.bounded_duration(
        "fetch.timeout",
        &s.fetch.timeout,
        Duration::from_secs(600),
        "a stuck server would hold a poll slot that long",
    );
    let connect_timeout = c.duration("fetch.connect_timeout", None, &s.fetch.connect_timeout);
    if connect_timeout > timeout && !c.refused(&["fetch.timeout", "fetch.connect_timeout"]) {
        c.push(
            "fetch.connect_timeout",
            None,
            format!(
                "{} is longer than fetch.timeout ({}): it must not be (its default is {})",
                shown_duration(connect_timeout),
                shown_duration(timeout),
                FetchSettings::default().connect_timeout
            ),
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
    let concurrency = c.concurrency("fetch.concurrency", s.fetch.concurrency);
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
        c.concurrency("fetch.per_host_concurrency", s.fetch.per_host_concurrency);
    let per_host_spacing = c.duration_or_zero("fetch.per_host_spacing", &s.fetch.per_host_spacing);
    c.at_most(
        "fetch.per_host_spacing",
        &s.fetch.per_host_spacing,
        per_host_spacing,
        Duration::from_secs(600),
        "the sources of one host would wait that long for each other",
    );
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

    let schedule = validate_schedule(&mut c, &s.schedule);

    // dedup
    // It accepts a candidate whatever its similarity: at 32 bits, half of all pairs of texts
    // of a length; at 12, about one unrelated pair in ten million.
    if s.dedup.simhash_max_distance > 12 {
        c.push(
            "dedup.simhash_max_distance",
            None,
            format!(
                "{} is out of range; allowed: 0 to 12 (a candidate this close folds whatever its \
                 similarity: further apart, unrelated stories of one length fold)",
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
                shown_duration(window)
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
    if let Err(e) = crate::telemetry::parse_filter(&s.log.level) {
        c.push("log.level", None, e);
    }

    let normalize = NormalizeConfig {
        rules: validate_rules(&mut c, s.normalize.rules),
    };

    // sources
    // A name is printed in the log, /status, the page and metrics labels.
    use super::unprintable;
    // By how each name looks: its first source's index and name.
    let mut seen: std::collections::HashMap<String, (usize, String)> =
        std::collections::HashMap::new();
    let mut sources = Vec::with_capacity(s.sources.len());
    for (i, src) in s.sources.into_iter().enumerate() {
        let name = src.name.trim().to_owned();
        let label = if name.is_empty() || name.chars().any(unprintable) {
            None
        } else {
            Some(name.as_str())
        };
        if name.is_empty() {
            c.push(format!("sources[{i}].name"), None, "must not be empty");
        } else if shows_nothing(&name) {
            // Logged, listed in /status and labelled in /metrics as nothing at all.
            c.push(
                format!("sources[{i}].name"),
                None,
                "must show something: it is only invisible characters (zero-width spaces, \
                 joiners, fillers…)",
            );
        } else if name.chars().any(unprintable) {
            // Named without the name: a line break in it would forge a line of the log.
            c.push(
                format!("sources[{i}].name"),
                None,
                "must not contain control characters (line breaks, tabs, escapes) or \
                 direction overrides, line separators and the noncharacters U+FFFE, U+FFFF",
            );
        } else if name.bytes().all(|b| b == b'.') {
            // `/sources/../poll` is a step up the path to any HTTP client, not a name.
            c.push(
                format!("sources[{i}].name"),
                label,
                "must not be dots alone: \".\" and \"..\" cannot be named in the API's URLs",
            );
        } else if let Some(&(j, ref first)) = seen.get(&looks(&name)) {
            let message = if *first == name {
                "duplicate source name; every name must be unique".to_owned()
            } else {
                // Two names apart only in how Unicode spells them ("Café" composed and
                // decomposed, a zero-width space) showed as one in /status and /metrics.
                format!(
                    "looks the same as sources[{j}].name {first:?}: the same letters in \
                     another Unicode form, or with invisible characters; every name must be \
                     unique"
                )
            };
            c.push(format!("sources[{i}].name"), label, message);
        } else {
            seen.insert(looks(&name), (i, name.clone()));
        }
        let url = match parse_source_url(src.url.trim(), path) {
            _ if src.url.trim().is_empty() => {
                c.push(
                    format!("sources[{i}].url"),
                    label,
                    "missing: every source needs its feed's URL (https://…, or a file: ./feed.xml)",
                );
                None
            }
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Ok(u) if u.scheme() == "file" && u.to_file_path().is_ok() => Some(u),
            Ok(u) if u.scheme() == "file" => {
                // `file://server/feed.xml` names another machine's file: every poll failed.
                c.push(
                    format!("sources[{i}].url"),
                    label,
                    format!(
                        "\"{}\" is not a file on this machine: a file URL is written \
                         file:///path/to/feed.xml (or ./feed.xml beside the configuration)",
                        super::shown_url(src.url.trim())
                    ),
                );
                None
            }
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
                // A bare relative path is the likely meaning of a URL without a scheme.
                let shown = super::shown_url(src.url.trim());
                let hint = if shown.starts_with("//") {
                    format!("; a feed on the web is written with its scheme: \"https:{shown}\"")
                } else if e == url::ParseError::RelativeUrlWithoutBase {
                    format!(
                        "; a file beside the configuration is written \"./{shown}\", a feed on the web with its scheme (https://…)"
                    )
                } else {
                    String::new()
                };
                c.push(
                    format!("sources[{i}].url"),
                    label,
                    format!(
                        "\"{}\" is not a URL ({e}){hint}",
                        super::shown_url(&src.url)
                    ),
                );
                None
            }
        };
        let interval = match &src.interval {
            Some(raw) => {
                let key = format!("sources[{i}].interval");
                let parsed = c.try_duration(&key, label, raw);
                let bounds_refused = c.refused(&["schedule.min_interval", "schedule.max_interval"]);
                if let Some(why) = parsed
                    .filter(|_| !bounds_refused)
                    .and_then(|d| outside_bounds(d, &schedule))
                {
                    c.push(key, label, why);
                }
                parsed.unwrap_or(schedule.default_interval)
            }
            None => schedule.default_interval,
        };
        let headers = validate_headers(&mut c, i, label, url.as_ref(), src.headers, environment);
        if let Some(url) = url {
            sources.push(SourceConfig {
                name,
                url,
                interval,
                enabled: src.enabled.unwrap_or(true),
                agency: src.agency.unwrap_or(false),
                headers,
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
            backup_dir,
            backups_kept: usize::try_from(s.store.backups_kept.clamp(1, 1000)).unwrap_or(3),
            backup_every,
        },
        http: HttpConfig {
            listen,
            shutdown_grace,
            request_timeout,
            token,
            metrics_max_sources: s.http.metrics_max_sources,
            public_url,
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
        normalize,
        log: LogConfig {
            format,
            level: s.log.level.trim().to_owned(),
        },
        sources,
    }
}
/// The `[schedule]` section: its durations, and bounds that are ordered.
fn validate_schedule(c: &mut Checker<'_>, s: &ScheduleSettings) -> ScheduleConfig {
    let default_interval = c.try_duration("schedule.default_interval", None, &s.default_interval);
    let min_interval = c.duration("schedule.min_interval", None, &s.min_interval);
    let max_interval = c.duration("schedule.max_interval", None, &s.max_interval);
    let bounds_refused = c.refused(&["schedule.min_interval", "schedule.max_interval"]);
    if min_interval > max_interval && !bounds_refused {
        c.push(
            "schedule.min_interval",
            None,
            format!(
                "{} is longer than schedule.max_interval ({}): it must not be",
                shown_duration(min_interval),
                shown_duration(max_interval)
            ),
        );
    }
    let startup_spread = c.duration("schedule.startup_spread", None, &s.startup_spread);
    let max_backoff = c.duration("schedule.max_backoff", None, &s.max_backoff);
    if max_backoff < min_interval && !c.refused(&["schedule.min_interval", "schedule.max_backoff"])
    {
        c.push(
            "schedule.max_backoff",
            None,
            format!(
                "{} is shorter than schedule.min_interval ({}): it must not be",
                shown_duration(max_backoff),
                shown_duration(min_interval)
            ),
        );
    }
    let max_retry_after = c.duration("schedule.max_retry_after", None, &s.max_retry_after);
    let network_probe_interval = c.duration(
        "schedule.network_probe_interval",
        None,
        &s.network_probe_interval,
    );
    let schedule = ScheduleConfig {
        default_interval: default_interval
            .unwrap_or(min_interval)
            .clamp(min_interval, max_interval.max(min_interval)),
        min_interval,
        max_interval,
        startup_spread,
        adaptive: s.adaptive,
        max_backoff,
        max_retry_after,
        network_probe_interval,
    };
    // refused, or found out of order above
    let bounds_refused = c.refused(&["schedule.min_interval", "schedule.max_interval"]);
    if let Some(d) = default_interval.filter(|d| *d != schedule.default_interval) {
        if !bounds_refused {
            let defaults = ScheduleSettings::default();
            c.push(
                "schedule.default_interval",
                None,
                format!(
                    "{} must lie between schedule.min_interval ({}) and schedule.max_interval ({}) \
                     (the defaults are {}, {} and {})",
                    shown_duration(d),
                    shown_duration(schedule.min_interval),
                    shown_duration(schedule.max_interval),
                    defaults.default_interval,
                    defaults.min_interval,
                    defaults.max_interval
                ),
            );
        }
    }
    schedule
}

/// A source name as it shows: composed (NFC), without the characters that show as nothing
/// (soft hyphen, zero-width space, word joiner, fillers, tags, variation selectors, the
/// braille blank…). The joiners U+200C and
/// U+200D stay: they change how letters join (Persian, Indic scripts) and emoji combine.
pub(super) fn looks(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc()
        .filter(|c| {
            !matches!(
                c,
                '\u{00AD}'
                    | '\u{034F}'
                    | '\u{115F}'
                    | '\u{1160}'
                    | '\u{180E}'
                    | '\u{200B}'
                    | '\u{2060}'..='\u{2064}'
                    | '\u{3164}'
                    | '\u{FEFF}'
                    | '\u{FFA0}'
                    | '\u{E0000}'..='\u{E007F}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{2800}'
                    | '\u{E0100}'..='\u{E01EF}'
            )
        })
        .collect()
}

/// Whether a name shows as nothing: blank once its invisible characters are gone (the
/// joiners too, which show only between letters).
pub(super) fn shows_nothing(name: &str) -> bool {
    looks(name)
        .chars()
        .all(|c| c.is_whitespace() || matches!(c, '\u{200C}' | '\u{200D}'))
}

/// Why `interval` cannot be a source's, if it lies outside the schedule's bounds.
pub(super) fn outside_bounds(interval: Duration, schedule: &ScheduleConfig) -> Option<String> {
    (interval < schedule.min_interval || interval > schedule.max_interval).then(|| {
        format!(
            "{} is outside schedule bounds; allowed: {} to {}",
            shown_duration(interval),
            shown_duration(schedule.min_interval),
            shown_duration(schedule.max_interval)
        )
    })
}

impl Default for ScheduleConfig {
    /// The bounds of a configuration that sets none (the defaults in the README's table).
    fn default() -> Self {
        let mut problems = Vec::new();
        validate_schedule(
            &mut Checker {
                problems: &mut problems,
            },
            &ScheduleSettings::default(),
        )
    }
}

/// The operator's boilerplate rules: each compiled once here (and dropped), so that a bad
/// pattern, position or kind is reported with its key instead of stopping the daemon later.
fn validate_rules(c: &mut Checker<'_>, raw: Vec<RuleSettings>) -> Vec<RuleSpec> {
    let builtin: HashSet<&str> = crate::normalize::boilerplate::builtin_names()
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    let mut rules = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("normalize.rules[{i}].{field}");
        let name = r.name.trim().to_owned();
        // Every field is checked, so that one run lists all of a rule's problems.
        let mut ok = true;
        if name.is_empty() {
            c.push(key("name"), None, "must not be empty");
            ok = false;
        } else if builtin.contains(name.as_str()) {
            c.push(
                key("name"),
                None,
                format!("\"{name}\" is the name of a built-in rule; choose another"),
            );
            ok = false;
        } else if !seen.insert(name.clone()) {
            c.push(
                key("name"),
                None,
                format!("duplicate rule name \"{name}\"; every name must be unique"),
            );
            ok = false;
        }
        let shown = if name.is_empty() {
            format!("rule {i}")
        } else {
            format!("rule \"{name}\"")
        };
        let spec = RuleSpec {
            name,
            position: r.position,
            pattern: r.pattern,
            kind: r.kind,
            drop_from_display: r.drop_from_display,
        };
        if spec.pattern.trim().is_empty() {
            c.push(key("pattern"), None, format!("{shown}: must not be empty"));
            ok = false;
        } else {
            // A bad position or kind stops the compilation before the pattern: each is
            // reported, then stood in for, and the rest compiled again.
            let mut trial = spec.clone();
            for _ in 0..3 {
                let Err(e) = Rule::from_spec(&trial) else {
                    break;
                };
                ok = false;
                let (field, message) = rule_problem(&e);
                c.push(key(field), None, format!("{shown}: {message}"));
                match e {
                    RuleError::UnknownPosition { .. } => trial.position = "inline".into(),
                    RuleError::UnknownKind { .. } => trial.kind = None,
                    _ => break,
                }
            }
        }
        if ok {
            rules.push(spec);
        }
    }
    rules
}

/// The field a [`RuleError`] is about, and what is wrong with it.
fn rule_problem(e: &RuleError) -> (&'static str, String) {
    match e {
        RuleError::InvalidPattern { source, .. } => {
            ("pattern", format!("not a valid pattern: {source}"))
        }
        RuleError::MatchesEmpty { .. } => (
            "pattern",
            "matches the empty string, so it would match every paragraph".into(),
        ),
        RuleError::MatchesAnyText { .. } => (
            "pattern",
            "matches any text whole, so it would take every article's text away".into(),
        ),
        RuleError::UnknownPosition { position, .. } => (
            "position",
            format!("\"{position}\" is not a position; allowed: leading, trailing, whole or inline"),
        ),
        RuleError::UnknownKind { kind, .. } => (
            "kind",
            format!(
                "\"{kind}\" is not a kind; allowed: dateline, byline, attribution, trailing_note or line"
            ),
        ),
    }
}

/// A source URL, or a plain file path starting with `/`, `./` or `../` (relative paths are
/// relative to the config file's directory), which becomes a `file://` URL.
fn parse_source_url(raw: &str, config_path: &Path) -> Result<Url, url::ParseError> {
    match Url::parse(raw) {
        // A scheme-relative URL with a user name or password (`//user:pw@host/feed`) is no
        // path: read as one, the password went into the file name, and into the poll's
        // error. (`//srv/feeds/a.xml` stays the path it always was.)
        Err(e)
            if raw
                .strip_prefix("//")
                .is_some_and(|r| super::user_info_end(r).is_some()) =>
        {
            Err(e)
        }
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

/// `http.public_url`: an absolute `http(s)` URL with a host and nothing a link base cannot
/// carry (credentials, query, fragment); returned without its trailing slash.
fn public_url(raw: &str) -> Result<String, &'static str> {
    let url =
        Url::parse(raw).map_err(|_| "is not an absolute URL such as https://news.example.org")?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err("must be an http or https URL with a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment: it is the base every link is built on");
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The store directory must exist and be writable, or be creatable under a writable parent.
/// Checked without creating anything, so `check-config` has no side effects.
fn check_writable_dir(path: &Path) -> Result<(), String> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
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
            // A relative path is made under the current directory.
            _ if path.is_relative() && probe != cwd.as_path() => probe = &cwd,
            _ => return Ok(()),
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

/// A duration as an operator writes one: whole days, hours, minutes or seconds in one unit
/// (`31d`, not humantime's `1month 13h 26m 24s`), else humantime's form.
pub(super) fn shown_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 || secs == 0 {
        return humantime::format_duration(d).to_string();
    }
    [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")]
        .iter()
        .find(|(unit, _)| secs % unit == 0)
        .map_or_else(
            || humantime::format_duration(d).to_string(),
            |(unit, name)| format!("{}{name}", secs / unit),
        )
}
