//! Raw settings, exactly as written in the file and the environment: anything serde can
//! read, so that validation (`validate.rs`) sees every key and reports every problem at once.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Settings {
    pub(super) store: StoreSettings,
    pub(super) http: HttpSettings,
    pub(super) fetch: FetchSettings,
    pub(super) schedule: ScheduleSettings,
    pub(super) dedup: DedupSettings,
    pub(super) normalize: NormalizeSettings,
    pub(super) log: LogSettings,
    pub(super) sources: Vec<SourceSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct StoreSettings {
    pub(super) path: String,
    pub(super) flush_every: String,
    pub(super) cache_bytes: u64,
    pub(super) retention: String,
    pub(super) backup_dir: String,
    pub(super) backups_kept: u64,
    pub(super) backup_every: String,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            path: "data/wirefold".into(),
            flush_every: "500ms".into(),
            cache_bytes: crate::storage::DEFAULT_CACHE_BYTES,
            retention: "30d".into(),
            backup_dir: String::new(),
            backups_kept: 3,
            backup_every: "off".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct HttpSettings {
    pub(super) listen: String,
    pub(super) shutdown_grace: String,
    pub(super) request_timeout: String,
    pub(super) token: Option<String>,
    pub(super) metrics_max_sources: usize,
    pub(super) public_url: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            shutdown_grace: "5s".into(),
            request_timeout: "10s".into(),
            token: None,
            metrics_max_sources: 100,
            public_url: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct FetchSettings {
    pub(super) user_agent: String,
    pub(super) timeout: String,
    pub(super) connect_timeout: String,
    pub(super) max_body_bytes: u64,
    pub(super) concurrency: usize,
    pub(super) stall_timeout: String,
    pub(super) stall_min_bytes: u64,
    pub(super) max_redirects: usize,
    pub(super) permanent_redirect_polls: u32,
    pub(super) per_host_concurrency: usize,
    pub(super) per_host_spacing: String,
    pub(super) refuse_private_redirects: bool,
    pub(super) refuse_private_dns: bool,
    pub(super) private_hosts: Vec<String>,
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

pub(super) fn default_user_agent() -> String {
    format!(
        "wirefold/{} (feed reader; +https://github.com/wirefold/wirefold)",
        env!("CARGO_PKG_VERSION")
    )
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct ScheduleSettings {
    pub(super) default_interval: String,
    pub(super) min_interval: String,
    pub(super) max_interval: String,
    pub(super) startup_spread: String,
    pub(super) adaptive: bool,
    pub(super) max_backoff: String,
    pub(super) max_retry_after: String,
    pub(super) network_probe_interval: String,
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
pub(super) struct DedupSettings {
    pub(super) simhash_max_distance: u32,
    pub(super) min_similarity: f64,
    pub(super) min_containment: f64,
    pub(super) window: String,
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct NormalizeSettings {
    pub(super) rules: Vec<RuleSettings>,
}

/// One `[[normalize.rules]]` entry; every field optional here, so that validation can name
/// each missing or bad one.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RuleSettings {
    pub(super) name: String,
    pub(super) position: String,
    pub(super) pattern: String,
    pub(super) kind: Option<String>,
    pub(super) drop_from_display: bool,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct LogSettings {
    pub(super) format: String,
    pub(super) level: String,
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
pub(super) struct SourceSettings {
    pub(super) name: String,
    pub(super) url: String,
    pub(super) interval: Option<String>,
    pub(super) enabled: Option<bool>,
    pub(super) agency: Option<bool>,
    pub(super) headers: std::collections::BTreeMap<String, String>,
}
