//! Every metric wirefold exports, in one place (Miniflux's `metric.go`), and the recorder.
//!
//! Counters and histograms are recorded where things happen through the functions below, so a
//! metric's name and labels are written once. Gauges that describe the store and the index
//! are set when `/metrics` is scraped. Per-source series (`source` label) exist only for the
//! first `http.metrics_max_sources` sources, so cardinality stays bounded however many
//! sources are configured.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;

/// Polls finished, by `outcome` (`ok`, `not_modified`, `error`) and error `class`.
pub const POLLS: &str = "wirefold_polls_total";
/// Fetch duration (request start to body read, or to the error that ended the fetch),
/// seconds; every fetch attempt.
pub const FETCH_SECONDS: &str = "wirefold_fetch_duration_seconds";
/// Decoded body bytes fetched.
pub const FETCH_BYTES: &str = "wirefold_fetch_bytes_total";
/// Articles by fold `decision` (`new`, `copy`, `updated`).
pub const ARTICLES: &str = "wirefold_articles_total";
/// How late polls start after their due time, seconds.
pub const SCHEDULER_LAG: &str = "wirefold_scheduler_lag_seconds";
/// Gauge: the feed servers' clock less ours (median of the recent hosts).
pub const CLOCK_OFFSET: &str = "wirefold_clock_offset_seconds";
/// Histogram: how long a started poll waited for its fetch slots.
pub const POLL_QUEUE: &str = "wirefold_poll_queue_seconds";
/// Polls started and not finished: those holding one of the `fetch.concurrency` slots, and
/// those that let theirs go while a redirect hop waits for its host's spacing.
pub const POLLS_IN_FLIGHT: &str = "wirefold_polls_in_flight";
/// Stored stories.
pub const STORIES: &str = "wirefold_stories";
/// Stored articles.
pub const STORED_ARTICLES: &str = "wirefold_stored_articles";
/// Articles in the near-duplicate index.
pub const INDEX_SIZE: &str = "wirefold_index_articles";
/// Store size on disk, bytes.
pub const STORE_BYTES: &str = "wirefold_store_bytes";
/// The store's keys and values at the last read-through, bytes.
pub const STORE_DATA_BYTES: &str = "wirefold_store_data_bytes";
/// Configured sources.
pub const SOURCES: &str = "wirefold_sources";
/// Sources by `health` (as `/status` counts them), all of them: the per-source series stop
/// at `http.metrics_max_sources`.
pub const SOURCES_HEALTH: &str = "wirefold_sources_health";
/// The health words of [`SOURCES_HEALTH`].
pub const HEALTHS: [&str; 6] = ["ok", "failing", "down", "gone", "waiting", "disabled"];
/// 1 while the store takes writes, 0 after a failed write (disk full, I/O error) until the
/// store is reopened: ingest has stopped meanwhile.
pub const STORE_WRITABLE: &str = "wirefold_store_writable";
/// 1 while the network is up, 0 while it is down: every source failed at once and polls are
/// held back (the held sources count as `waiting` in [`SOURCES_HEALTH`], not as failing).
pub const NETWORK_UP: &str = "wirefold_network_up";
/// Unix time of each source's last successful poll (bounded set of sources).
pub const SOURCE_LAST_SUCCESS: &str = "wirefold_source_last_success_timestamp_seconds";
/// Unix time each source last sent an article new to it (bounded set of sources): an alert
/// on `time() - this` finds feeds that answer but stopped publishing.
pub const SOURCE_LAST_NEW: &str = "wirefold_source_last_new_article_timestamp_seconds";
/// Consecutive failures of each source (bounded set of sources).
pub const SOURCE_FAILURES: &str = "wirefold_source_failures";
/// 1 when the last reload of the configuration (SIGHUP) was applied or none was tried, 0
/// when it was refused.
pub const CONFIG_RELOAD_OK: &str = "wirefold_config_last_reload_successful";
/// Unix time the sources in effect were loaded (at start, or by the last applied reload).
pub const CONFIG_LOADED_AT: &str = "wirefold_config_last_reload_success_timestamp_seconds";
/// Polls whose body held exactly the entries the source's last folded poll held: parsed,
/// not normalized or folded again.
pub const UNCHANGED_BODIES: &str = "wirefold_unchanged_bodies_total";
/// Times each boilerplate `rule` (built-in or `normalize.rules`) dropped, cut or rewrote a
/// paragraph of a fetched entry since start. Every entry of a poll whose entries changed is
/// normalized, unchanged ones included, so an item seen in ten such polls counts ten times; a
/// body with the same entries as the source's last one is not normalized again
/// ([`UNCHANGED_BODIES`]).
pub const RULE_HITS: &str = "wirefold_boilerplate_rule_hits_total";
/// Gauge: Unix time of the newest backup of the store (this daemon's, or the newest found in
/// `store.backup_dir` at start); absent while there is none. Alert on `time() - …`.
pub const LAST_BACKUP: &str = "wirefold_store_last_backup_timestamp_seconds";
/// Counter: backups this daemon wrote (`result="ok"`) or failed to write (`"error"`).
pub const BACKUPS: &str = "wirefold_store_backups_total";
/// Counter: what the retention sweeps deleted (`what="articles"`, `"stories"`, `"changes"`,
/// `"tombstones"`).
pub const RETENTION_DELETED: &str = "wirefold_retention_deleted_total";
/// Gauge: Unix time the last retention sweep finished.
pub const RETENTION_LAST_SWEEP: &str = "wirefold_retention_last_sweep_timestamp_seconds";
/// Counter: retention sweeps that failed.
pub const RETENTION_FAILURES: &str = "wirefold_retention_failed_sweeps_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Every gauge is set by `/metrics` itself right before it renders, so a gauge left unset
/// this long belongs to something gone: a source removed by a reload, whose
/// `wirefold_source_*` series would otherwise stay (and keep an alert firing) until a restart.
const GAUGE_IDLE: Duration = Duration::from_secs(5);

/// Installs the global recorder once per process and returns the handle `/metrics` renders.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ])
                .map(|b| b.idle_timeout(MetricKindMask::GAUGE, Some(GAUGE_IDLE)))
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Fails only if another recorder is installed (tests): then ours records nothing,
            // and `/metrics` still renders.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            zero();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(POLLS, "Polls finished, by outcome and error class.");
    describe_histogram!(
        FETCH_SECONDS,
        metrics::Unit::Seconds,
        "Fetch duration, request start to the whole body read or to the error that ended it; every fetch."
    );
    describe_counter!(
        FETCH_BYTES,
        metrics::Unit::Bytes,
        "Decoded body bytes fetched."
    );
    describe_counter!(ARTICLES, "Articles by fold decision.");
    describe_histogram!(
        SCHEDULER_LAG,
        metrics::Unit::Seconds,
        "How late the scheduler starts polls after their due time; a started poll may then wait for a fetch slot (wirefold_poll_queue_seconds)."
    );
    describe_gauge!(
        CLOCK_OFFSET,
        metrics::Unit::Seconds,
        "The feed servers' clock less the system's, by their Date headers: the median of the last 64 hosts, once 3 answered (positive: the system clock is behind)."
    );
    describe_histogram!(
        POLL_QUEUE,
        metrics::Unit::Seconds,
        "How long a started poll waited for a fetch slot (its host's, then one of fetch.concurrency) before its request."
    );
    describe_gauge!(
        POLLS_IN_FLIGHT,
        "Polls in flight (those whose redirect waits for its host's spacing included)."
    );
    describe_gauge!(STORIES, "Stored stories.");
    describe_gauge!(STORED_ARTICLES, "Stored articles.");
    describe_gauge!(INDEX_SIZE, "Articles in the near-duplicate index window.");
    describe_gauge!(STORE_BYTES, metrics::Unit::Bytes, "Store size on disk.");
    describe_gauge!(
        STORE_DATA_BYTES,
        metrics::Unit::Bytes,
        "The store's keys and values, counted by the last read-through (at start); against wirefold_store_bytes, what `wirefold compact` could give back."
    );
    describe_gauge!(SOURCES, "Configured sources.");
    describe_gauge!(
        SOURCES_HEALTH,
        "Sources by health: ok, failing (1-2 failures in a row), down (3 or more), gone (410), waiting (not polled yet, or held while the network is down), disabled; every source, past http.metrics_max_sources too."
    );
    describe_gauge!(
        NETWORK_UP,
        "1 while the network is up, 0 while every source failed at once and polls are held back (held sources count as waiting in wirefold_sources_health)."
    );
    describe_gauge!(
        STORE_WRITABLE,
        "1 while the store takes writes, 0 after a failed write (ingest stopped) until it is reopened."
    );
    describe_gauge!(
        SOURCE_LAST_SUCCESS,
        "Unix time of a source's last successful poll."
    );
    describe_gauge!(
        SOURCE_LAST_NEW,
        "Unix time a poll of a source last stored an article new to it."
    );
    describe_gauge!(SOURCE_FAILURES, "Consecutive failures of a source.");
    describe_gauge!(
        CONFIG_RELOAD_OK,
        "1 if the last configuration reload was applied (or none was tried), 0 if refused."
    );
    describe_gauge!(
        CONFIG_LOADED_AT,
        "Unix time the sources in effect were loaded (start or last applied reload)."
    );
    describe_counter!(
        UNCHANGED_BODIES,
        "Polls whose body held the same entries as the source's last folded poll (not folded again)."
    );
    describe_gauge!(
        LAST_BACKUP,
        "Unix time of the newest backup of the store (this daemon's, or found at start)."
    );
    describe_counter!(
        BACKUPS,
        "Backups of the store written by this daemon, by result."
    );
    describe_counter!(
        RETENTION_DELETED,
        "What the retention sweeps deleted since the start, by kind."
    );
    describe_gauge!(
        RETENTION_LAST_SWEEP,
        "Unix time the last retention sweep finished."
    );
    describe_counter!(RETENTION_FAILURES, "Retention sweeps that failed.");
    describe_counter!(
        RULE_HITS,
        "Times a boilerplate rule dropped, cut or rewrote a paragraph of a fetched entry."
    );
}

/// The counters, with the labels every daemon has, and the histograms, at 0 from the start:
/// a series that appears only at its first event breaks `rate()` over a restart and
/// `absent()` alerts.
fn zero() {
    for outcome in ["ok", "not_modified"] {
        counter!(POLLS, "outcome" => outcome, "class" => "").absolute(0);
    }
    for decision in ["new", "copy", "updated"] {
        counter!(ARTICLES, "decision" => decision).absolute(0);
    }
    counter!(FETCH_BYTES).absolute(0);
    counter!(UNCHANGED_BODIES).absolute(0);
    for health in HEALTHS {
        gauge!(SOURCES_HEALTH, "health" => health).set(0.0);
    }
    // registered without a sample: every bucket at 0
    let _ = histogram!(FETCH_SECONDS);
    let _ = histogram!(SCHEDULER_LAG);
    let _ = histogram!(POLL_QUEUE);
}

/// One finished poll.
pub fn poll(outcome: &'static str, class: &'static str) {
    counter!(POLLS, "outcome" => outcome, "class" => class).increment(1);
}

/// A poll whose body's entries were the source's last folded ones.
pub fn unchanged_body() {
    counter!(UNCHANGED_BODIES).increment(1);
}

/// One fetch attempt: its duration, and the bytes of its body (0 for a 304 or an error).
pub fn fetch(elapsed: Duration, bytes: u64) {
    histogram!(FETCH_SECONDS).record(elapsed.as_secs_f64());
    counter!(FETCH_BYTES).increment(bytes);
}

/// Fold decisions of one poll.
pub fn articles(new: u64, copies: u64, updated: u64) {
    counter!(ARTICLES, "decision" => "new").increment(new);
    counter!(ARTICLES, "decision" => "copy").increment(copies);
    counter!(ARTICLES, "decision" => "updated").increment(updated);
}

/// A poll started `lag` after it was due.
pub fn scheduler_lag(lag: Duration) {
    histogram!(SCHEDULER_LAG).record(lag.as_secs_f64());
}

/// A started poll got its fetch slots after `wait`.
pub fn poll_queue(wait: Duration) {
    histogram!(POLL_QUEUE).record(wait.as_secs_f64());
}

/// Gauges describing the store and the pipeline, set at scrape time.
pub fn store_gauges(
    counts: crate::storage::Counts,
    index: usize,
    store_bytes: u64,
    sources: usize,
    in_flight: usize,
    writable: bool,
) {
    gauge!(STORE_WRITABLE).set(if writable { 1.0 } else { 0.0 });
    gauge!(STORIES).set(counts.stories as f64);
    gauge!(STORED_ARTICLES).set(counts.articles as f64);
    gauge!(INDEX_SIZE).set(index as f64);
    gauge!(STORE_BYTES).set(store_bytes as f64);
    gauge!(SOURCES).set(sources as f64);
    gauge!(POLLS_IN_FLIGHT).set(in_flight as f64);
}

/// The store's data as the last read-through counted it (absent until one finished).
pub fn store_data_gauge(data: Option<crate::storage::DataSize>) {
    if let Some(d) = data {
        gauge!(STORE_DATA_BYTES).set(d.bytes as f64);
    }
}

/// Every source's health, counted at scrape time (`counts`: each word of [`HEALTHS`] with its
/// count).
pub fn health_gauges(counts: [(&'static str, usize); 6]) {
    for (health, n) in counts {
        gauge!(SOURCES_HEALTH, "health" => health).set(n as f64);
    }
}

/// Whether the network is up, as the scheduler sees it, set at scrape time.
pub fn network_gauge(up: bool) {
    gauge!(NETWORK_UP).set(if up { 1.0 } else { 0.0 });
}

/// The clock offset gauge, set at scrape time once known.
pub fn clock_gauge(skew: Option<crate::ingest::clock_check::Skew>) {
    if let Some(s) = skew {
        gauge!(CLOCK_OFFSET).set(s.seconds as f64);
    }
}

/// Gauges of the configuration's (re)loads, set at scrape time.
pub fn config_gauges(loads: &crate::config::Loads) {
    let ok = if loads.last_reload_error.is_none() {
        1.0
    } else {
        0.0
    };
    gauge!(CONFIG_RELOAD_OK).set(ok);
    gauge!(CONFIG_LOADED_AT).set(loads.loaded_at as f64 / 1000.0);
}

/// The backups' gauge and counters, from their log at scrape time.
pub fn backup_gauges(log: &crate::storage::BackupLog) {
    if let Some(b) = &log.last {
        gauge!(LAST_BACKUP).set(b.at as f64 / 1000.0);
    }
    counter!(BACKUPS, "result" => "ok").absolute(log.done);
    counter!(BACKUPS, "result" => "error").absolute(log.failed);
}

/// The retention sweeps' counters and gauge, from their log at scrape time (none while
/// `store.retention` is off).
pub fn retention_gauges(log: &crate::retention::RetentionState) {
    let d = log.deleted;
    counter!(RETENTION_DELETED, "what" => "articles").absolute(d.articles as u64);
    counter!(RETENTION_DELETED, "what" => "stories").absolute(d.stories);
    counter!(RETENTION_DELETED, "what" => "changes").absolute(d.changes as u64);
    counter!(RETENTION_DELETED, "what" => "tombstones").absolute(d.tombstones as u64);
    counter!(RETENTION_FAILURES).absolute(log.failed);
    if let Some(last) = log.last {
        gauge!(RETENTION_LAST_SWEEP).set(last as f64 / 1000.0);
    }
}

/// What a scrape last read from the store, for the scrapes while a backup has it closed: the
/// sources' states (at most `http.metrics_max_sources`) and every source's health counts.
#[derive(Debug, Default)]
pub struct LastSourceStates(std::sync::Mutex<LastScrape>);

/// What [`LastSourceStates`] holds.
#[derive(Debug, Default, Clone)]
pub struct LastScrape {
    /// The first sources' states, by name.
    pub states: Vec<(String, crate::storage::SourceState)>,
    /// Every source's health: each word of [`HEALTHS`] with its count (`None` before a scrape
    /// read them).
    pub health: Option<[(&'static str, usize); 6]>,
}

impl LastSourceStates {
    /// Remembers what this scrape read.
    pub fn set(&self, last: LastScrape) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = last;
    }

    /// What the last scrape with the store open read.
    pub fn get(&self) -> LastScrape {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A source's or rule's name as a label value for the exporter, which escapes `"` and line
/// breaks but takes `\\` and `\"` in a value for escapes already made: `x\y` and `x\\y`
/// became one series, and a name with `\"` lost its backslash. Its backslashes doubled, each
/// name comes out as written.
fn label(name: &str) -> String {
    name.replace('\\', "\\\\")
}

/// Per-source gauges from its stored state (call only for the bounded set of sources).
pub fn source_gauges(name: &str, state: &crate::storage::SourceState) {
    let name = label(name);
    if let Some(t) = state.last_success {
        gauge!(SOURCE_LAST_SUCCESS, "source" => name.clone()).set(t as f64 / 1000.0);
    }
    if let Some(t) = state.last_new {
        gauge!(SOURCE_LAST_NEW, "source" => name.clone()).set(t as f64 / 1000.0);
    }
    gauge!(SOURCE_FAILURES, "source" => name).set(f64::from(state.failures));
}

/// Each rule's hits in the ingest's boilerplate table, set at scrape time (one series per
/// rule of the table: the built-in ones and the configuration's, a bounded set).
pub fn rule_hits(rules: &crate::normalize::Rules) {
    for (name, hits) in rules.hits() {
        counter!(RULE_HITS, "rule" => label(name)).absolute(hits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A label value as Prometheus reads it back from the exposition.
    fn unescaped(value: &str) -> String {
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            match (c, c == '\\') {
                (_, true) => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                },
                (c, false) => out.push(c),
            }
        }
        out
    }

    /// Every source name comes back from `/metrics` as written, one series each: names with
    /// backslashes were read as escapes (observability audit, session 66: `x\y` and `x\\y`
    /// one series twice over, `a\"b` shown as `a"b`).
    #[test]
    fn source_names_come_back_from_the_exposition_as_written() {
        let names = [
            r"x\y",
            r"x\\y",
            r#"a"b"#,
            r#"a\"b"#,
            r"end\",
            r#"q"uo\te\"x"#,
            "Café",
        ];
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            for name in names {
                source_gauges(name, &crate::storage::SourceState::default());
            }
        });
        let text = handle.render();
        let mut read: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("wirefold_source_failures{source=\""))
            .filter_map(|l| l.rsplit_once("\"} "))
            .map(|(value, _)| unescaped(value))
            .collect();
        read.sort();
        let mut written: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        written.sort();
        assert_eq!(read, written, "{text}");
    }
}
