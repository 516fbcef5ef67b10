//! Wiring: builds the pipeline from a [`Config`] and runs it until shutdown.
//!
//! # Tasks and their part in shutdown
//! - the **scheduler** loop: stops handing out polls when the token is cancelled;
//! - **poll tasks** (in the [`TaskTracker`]): finish or are cancelled at their next await, and
//!   are waited for with a deadline;
//! - the **HTTP server**: drains in-flight requests (graceful shutdown) within
//!   `http.shutdown_grace`;
//! - the **maintenance** tick: evicts old index entries; stops with the token;
//! - the **retention** sweeps (when `store.retention` is set): stop with the token;
//! - the **supervisor**: sends the service manager `WATCHDOG=1` at half of its watchdog
//!   timeout and a one-line `STATUS=`; stops first, right after `STOPPING=1`.
//! - the **read-through** (`store.verified` in `/status`): reads the whole store for damage in
//!   steps on the blocking pool, right after start (open only ran the quick checks, so that
//!   readiness does not wait for it); on damage it marks the store damaged and the daemon
//!   stops with an error and exit code 1. Retention starts once it passed. Stops with the
//!   token;
//! - the **flusher**: flushes the store every `store.flush_every` and only then publishes the
//!   changes to readers (see `storage`, "Durability"); after a failed write it waits for the
//!   disk to take writes again and reopens the store. Stops with the token; the last flush is
//!   the shutdown's. It also saves the index snapshot (`fold/snapshot.rs`) every five minutes
//!   (30 s after a start that had to rebuild the index), and once more after the last flush.
//!
//! `READY=1` (systemd `Type=notify`) goes out once the store is open and HTTP is bound.
//!
//! Order at shutdown (Miniflux's, plus a scheduler stop first and a flush last): `STOPPING=1`
//! → scheduler → poll tasks → the ingest threads' last bodies → HTTP → store flush.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::fetch::host_limit::HostLimiter;
use crate::fetch::Fetcher;
use crate::fold::{snapshot, Folder, IndexSource, SnapshotError};
use crate::http::{self, AppState};
use crate::ingest::{poll_source, source_host, IngestContext, IngestOptions, PollReport};
use crate::memory;
use crate::normalize::Rules;
use crate::notify::{Notifier, State};
use crate::scheduler::{self, SchedulerStats};
use crate::storage::{Progress, Store, StoreError, Verifier};

/// When the store is read through for damage (see `storage/verify.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreCheck {
    /// Before [`App::build`] returns: one-shot commands, which must not act on a damaged
    /// store at all.
    AtOpen,
    /// In the background once the daemon is ready ([`App::run`]): start-up time stays flat
    /// with the store's size; damage found stops the daemon with an error (exit code 1).
    AfterReady,
}

/// Records read per step of the background read-through; steps are spaced by
/// [`VERIFY_PAUSE`] so that polling and HTTP keep the cores they need.
const VERIFY_STEP: usize = 20_000;
const VERIFY_PAUSE: Duration = Duration::from_millis(5);

/// A built application: store open, index rebuilt, client ready.
#[derive(Debug)]
pub struct App {
    config: Arc<Config>,
    ctx: IngestContext,
    /// The service manager's notification socket (disabled outside systemd).
    notifier: Arc<Notifier>,
    /// Where the index came from at start: a rebuilt one is snapshotted soon.
    index_source: IndexSource,
}

impl App {
    /// Opens the store (read through for damage first), rebuilds the index from it and builds
    /// the HTTP client.
    pub fn build(config: Config) -> anyhow::Result<App> {
        Self::build_with(config, StoreCheck::AtOpen)
    }

    /// Like [`App::build`], reading the store through `check`.
    pub fn build_with(config: Config, check: StoreCheck) -> anyhow::Result<App> {
        let started = Instant::now();
        // Compiling the built-in boilerplate rules takes ~400 M instructions (~0.1 s): done on
        // a thread of its own while the store opens and the index is loaded (from the snapshot
        // or rebuilt: the longer part of a restart), and waited for before the first fetch, so
        // that polls start as before (bodies folded in the order they come in). Should the
        // thread not start, the first ingest compiles them (`Rules::shared_default`).
        let rules = std::thread::Builder::new()
            .name("wirefold-rules".into())
            .spawn(|| drop(Rules::shared_default()));
        if let Some(parent) = config
            .store
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let (path, every, cache) = (
            &config.store.path,
            config.store.flush_every,
            config.store.cache_bytes,
        );
        // The index snapshot is read and its index built while sled opens the store.
        let now = Utc::now().timestamp_millis();
        let prefetch = snapshot::Prefetch::start(path, &config.dedup, now);
        let store = match check {
            StoreCheck::AtOpen => Store::open_with(path, every, cache)?,
            StoreCheck::AfterReady => Store::open_unverified(path, every, cache)?,
        };
        let (folder, index_source) =
            Folder::open_prefetched(store.clone(), config.dedup.clone(), now, prefetch)?;
        let fetcher = Fetcher::new(&config.fetch)?;
        if let Ok(rules) = rules {
            // A panic there would be a bug of the built-in rules; the first ingest meets it.
            let _ = rules.join();
        }
        info!(
            store = %config.store.path.display(),
            index = folder.index_len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "store open"
        );
        Ok(App {
            ctx: IngestContext {
                fetcher,
                store,
                folder: Arc::new(folder),
                rules: None,
                hosts: Arc::new(HostLimiter::new(
                    config.fetch.per_host_concurrency.get(),
                    config.fetch.per_host_spacing,
                )),
                errors: Arc::default(),
                options: IngestOptions {
                    permanent_redirect_polls: config.fetch.permanent_redirect_polls,
                    max_retry_after: config.schedule.max_retry_after,
                },
                cpu: crate::ingest::cpu_pool(),
            },
            config: Arc::new(config),
            notifier: Arc::new(Notifier::disabled()),
            index_source,
        })
    }

    /// Sends service-manager notifications (`READY=1`, watchdog, status) through `notifier`.
    pub fn with_notifier(mut self, notifier: Notifier) -> App {
        self.notifier = Arc::new(notifier);
        self
    }

    /// Runs the daemon until `shutdown` is cancelled. `on_ready` is called once the store is
    /// open and HTTP is bound, with the bound address.
    pub async fn run(
        self,
        shutdown: CancellationToken,
        on_ready: impl FnOnce(std::net::SocketAddr),
    ) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.config.http.listen)
            .await
            .with_context(|| format!("binding http.listen {}", self.config.http.listen))?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(SchedulerStats::new(self.ctx.errors.clone()));
        // HTTP drains when `http_stop` fires; long-lived responses end with it.
        let http_stop = CancellationToken::new();
        let state = AppState {
            config: self.config.clone(),
            store: self.ctx.store.clone(),
            folder: self.ctx.folder.clone(),
            scheduler: stats.clone(),
            started: Instant::now(),
            metrics: crate::metrics::install(),
            shutdown: http_stop.clone(),
            status_cache: Arc::default(),
        };

        // Background read-through of the store (when not done at open): started before
        // anything is written, so that it checks against the counters of this moment.
        // `verified` fires when it passes; damage comes back on `damage`.
        let sched_stop = CancellationToken::new();
        let verified = CancellationToken::new();
        let (damage_tx, mut damage) = tokio::sync::oneshot::channel();
        let verifier = if self.ctx.store.is_verified() {
            verified.cancel();
            None
        } else {
            let v = self.ctx.store.verifier()?;
            Some(tokio::spawn(verify_in_background(
                self.ctx.store.clone(),
                v,
                sched_stop.clone(),
                verified.clone(),
                damage_tx,
            )))
        };

        // Scheduler and its poll tasks: told to stop by `sched_stop`, awaited through `polls`.
        let polls = TaskTracker::new();
        let scheduler = tokio::spawn(scheduler::run(
            Arc::new(self.ctx.clone()),
            self.config.enabled_sources().cloned().collect(),
            self.config.schedule.clone(),
            self.config.fetch.concurrency.get(),
            stats,
            sched_stop.clone(),
            polls.clone(),
        ));

        let server = {
            let stop = http_stop.clone();
            tokio::spawn(async move {
                axum::serve(listener, http::router(state))
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await
            })
        };

        // Maintenance: keeps the index to its time window and hands the heap pages freed
        // since the last minute back to the system.
        let maintenance = {
            let folder = self.ctx.folder.clone();
            let stop = sched_stop.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        _ = tick.tick() => {
                            let evicted = folder.evict(Utc::now().timestamp_millis());
                            if evicted > 0 {
                                info!(evicted, "index window moved");
                            }
                            match tokio::task::spawn_blocking(memory::release_free_memory).await {
                                Ok(took) => debug!(took_ms = took.as_millis(), "free heap pages released"),
                                Err(e) => warn!(error.message = %e, "releasing free memory failed"),
                            }
                        }
                    }
                }
            })
        };

        // Retention: deletes old articles in small batches, once the store was read through
        // (a read-through counts records against the counters; nothing may delete meanwhile).
        let retention = self.config.store.retention.map(|r| {
            let run = crate::retention::run(
                self.ctx.folder.clone(),
                self.ctx.store.clone(),
                r,
                sched_stop.clone(),
            );
            let (stop, verified) = (sched_stop.clone(), verified.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = verified.cancelled() => run.await,
                }
            })
        });
        let flusher = tokio::spawn(flush_loop(
            self.ctx.store.clone(),
            self.ctx.folder.clone(),
            sched_stop.clone(),
            match self.index_source {
                IndexSource::Rebuilt => FIRST_SNAPSHOT_AFTER_REBUILD,
                IndexSource::Snapshot => SNAPSHOT_EVERY,
            },
        ));

        info!(%addr, "wirefold ready");
        on_ready(addr);
        self.send(&[State::Ready, State::Status(&self.summary())]);

        // Supervisor: watchdog pings and status line, until shutdown starts.
        let supervisor_stop = CancellationToken::new();
        let supervisor = tokio::spawn(self.clone_parts().supervise(supervisor_stop.clone()));

        let damaged = tokio::select! {
            () = shutdown.cancelled() => None,
            Ok(e) = &mut damage => Some(e),
        };
        info!("shutting down");
        supervisor_stop.cancel();
        let _ = supervisor.await;
        self.send(&[State::Stopping, State::Status("stopping")]);

        let grace = self.config.http.shutdown_grace;
        sched_stop.cancel();
        let _ = scheduler.await;
        let _ = maintenance.await;
        if let Some(r) = retention {
            let _ = r.await;
        }
        let _ = flusher.await;
        if let Some(v) = verifier {
            let _ = v.await;
        }
        polls.close();
        if tokio::time::timeout(grace, polls.wait()).await.is_err() {
            warn!("poll tasks did not finish in time");
        }
        if tokio::time::timeout(grace, self.ctx.cpu.close())
            .await
            .is_err()
        {
            warn!("ingest threads did not finish in time");
        }
        http_stop.cancel();
        match tokio::time::timeout(grace, server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => warn!(error.message = %e, "http server error"),
            Ok(Err(e)) => warn!(error.message = %e, "http server task failed"),
            Err(_) => warn!("http server did not drain in time"),
        }
        if let Some(e) = damaged {
            // Nothing more is written to a damaged store.
            return Err(anyhow::Error::new(e).context("stopped on a damaged store"));
        }
        let folder = self.ctx.folder.clone();
        tokio::task::spawn_blocking(move || folder.flush_and_publish())
            .await
            .context("flush task")??;
        info!("store flushed");
        save_snapshot(self.ctx.folder.clone()).await;
        info!("bye");
        Ok(())
    }

    /// Polls every enabled source once, `fetch.concurrency` at a time; reports in config order.
    pub async fn once(&self) -> Vec<(String, PollReport)> {
        use futures::StreamExt;
        let sources: Vec<_> = self.config.enabled_sources().cloned().collect();
        let ctx = &self.ctx;
        let mut reports: Vec<(usize, String, PollReport)> =
            futures::stream::iter(sources.into_iter().enumerate())
                .map(|(i, s)| async move {
                    let _host = match source_host(&s) {
                        Some(h) => ctx.hosts.acquire(&h).await,
                        None => None,
                    };
                    let r = poll_source(ctx, &s).await;
                    (i, s.name, r)
                })
                .buffer_unordered(self.config.fetch.concurrency.get())
                .collect()
                .await;
        reports.sort_by_key(|(i, _, _)| *i);
        if let Err(e) = self.ctx.store.flush() {
            warn!(error.message = %e, "flush failed");
        }
        // The next start (often the daemon's) reads the index from this.
        match self.ctx.folder.save_snapshot(Utc::now().timestamp_millis()) {
            Ok(_) | Err(SnapshotError::Empty) => {}
            Err(e) => warn!(error.message = %e, "index snapshot not saved"),
        }
        reports.into_iter().map(|(_, n, r)| (n, r)).collect()
    }

    fn send(&self, states: &[State<'_>]) {
        if let Err(e) = self.notifier.notify(states) {
            warn!(error.message = %e, "cannot notify the service manager");
        }
    }

    fn clone_parts(&self) -> App {
        App {
            config: self.config.clone(),
            ctx: self.ctx.clone(),
            notifier: self.notifier.clone(),
            index_source: self.index_source,
        }
    }

    /// Pings the watchdog at half its timeout (only while the store answers, so a wedged
    /// store gets the service restarted) and refreshes `STATUS=` every 30 s at most.
    async fn supervise(self, stop: CancellationToken) {
        if !self.notifier.is_enabled() {
            return;
        }
        let status_every = Duration::from_secs(30);
        let period = self
            .notifier
            .watchdog_timeout()
            .map_or(status_every, |t| (t / 2).min(status_every));
        let mut tick = tokio::time::interval(period);
        let mut last_status = Instant::now();
        tick.tick().await; // the first tick is immediate; READY just went out
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let store_ok = self.ctx.store.counts().is_ok();
            if self.notifier.watchdog_timeout().is_some() && store_ok {
                self.send(&[State::Watchdog]);
            }
            if last_status.elapsed() >= status_every {
                last_status = Instant::now();
                self.send(&[State::Status(&self.summary())]);
            }
        }
    }

    /// One line for `systemctl status`: sources, failures, counts, store size.
    pub fn summary(&self) -> String {
        let sources: Vec<_> = self.config.enabled_sources().collect();
        let failing = sources
            .iter()
            .filter(
                |s| matches!(self.ctx.store.source_state(&s.name), Ok(Some(st)) if st.failures > 0),
            )
            .count();
        let counts = self.ctx.store.counts().unwrap_or_default();
        format!(
            "{} sources ({} failing); {} articles in {} stories; store {} MiB",
            sources.len(),
            failing,
            counts.articles,
            counts.stories,
            self.ctx.store.size_on_disk() / (1024 * 1024)
        )
    }

    /// The store (for export and tests).
    pub fn store(&self) -> &Store {
        &self.ctx.store
    }
}

/// Reads the store through in steps of [`VERIFY_STEP`] records on the blocking pool (see
/// `storage/verify.rs`). On damage: logs it (naming the tree and the problem), marks the store
/// damaged (writes refused, `/status` says so) and sends it on `damage`, which stops the
/// daemon with an error. On success: marks the store verified and fires `verified`.
async fn verify_in_background(
    store: Store,
    mut v: Verifier,
    stop: CancellationToken,
    verified: CancellationToken,
    damage: tokio::sync::oneshot::Sender<StoreError>,
) {
    let started = Instant::now();
    info!("reading the store through for damage, in the background");
    loop {
        if stop.is_cancelled() {
            return;
        }
        let s = store.clone();
        let step = tokio::task::spawn_blocking(move || {
            let p = s.verify_step(&mut v, VERIFY_STEP);
            (v, p)
        })
        .await;
        let (back, progress) = match step {
            Ok(r) => r,
            Err(e) => {
                warn!(error.message = %e, "store read-through task failed; not checked");
                return;
            }
        };
        v = back;
        match progress {
            Ok(Progress::Reading { .. }) => tokio::time::sleep(VERIFY_PAUSE).await,
            Ok(Progress::Done { read }) => {
                store.set_verified();
                verified.cancel();
                info!(
                    records = read,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "store read through: no damage"
                );
                return;
            }
            Err(e @ StoreError::Corrupt { .. }) => {
                error!(
                    error.message = %e,
                    "the store is damaged: ingesting stops and the daemon exits"
                );
                store.mark_damaged(&e);
                let _ = damage.send(e);
                return;
            }
            // Not damage (the store is being reopened after a write failure): try again.
            Err(e) => {
                debug!(error.message = %e, "store read-through paused");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// How often the flusher saves the index snapshot (see `fold/snapshot.rs`); the last one is
/// saved at shutdown. A crash costs the changes since the last one in catch-up work at the next
/// start, or a full rebuild when retention deleted articles since.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(300);
/// The first snapshot after a start that had to rebuild the index from the store.
const FIRST_SNAPSHOT_AFTER_REBUILD: Duration = Duration::from_secs(30);

/// Saves the index snapshot on the blocking pool and logs the outcome.
async fn save_snapshot(folder: Arc<Folder>) {
    let started = Instant::now();
    let saved =
        tokio::task::spawn_blocking(move || folder.save_snapshot(Utc::now().timestamp_millis()))
            .await;
    match saved {
        Ok(Ok(s)) => info!(
            articles = s.articles,
            seq = s.seq,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "index snapshot saved"
        ),
        Ok(Err(SnapshotError::Empty)) => debug!("no index snapshot: nothing stored yet"),
        Ok(Err(e)) => warn!(error.message = %e, "index snapshot not saved"),
        Err(e) => warn!(error.message = %e, "index snapshot task failed"),
    }
}

/// Flushes the store every `store.flush_every` and publishes what became durable. After a
/// write failure (disk full, I/O error) the store refuses writes: this loop then logs it once,
/// checks every few seconds whether the disk takes writes again, and reopens the store, which
/// keeps what was flushed and resumes ingesting. Polls meanwhile fail fast with class `store`.
///
/// Also saves the index snapshot, `first_snapshot` after start and then every
/// [`SNAPSHOT_EVERY`], while the store takes writes.
async fn flush_loop(
    store: Store,
    folder: Arc<Folder>,
    stop: CancellationToken,
    first_snapshot: Duration,
) {
    let mut next_snapshot = Instant::now() + first_snapshot;
    let mut tick = tokio::time::interval(store.flush_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_probe: Option<Instant> = None;
    let mut reported = false;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Some(fault) = store.fault() {
            if fault.damaged {
                // Reported by the read-through, which stops the daemon; nothing to recover.
                continue;
            }
            if !reported {
                error!(
                    error.message = %fault.message,
                    "store write failed: ingesting stops until the disk takes writes again; \
                     everything flushed so far is kept"
                );
                reported = true;
                last_probe = Some(Instant::now());
            }
            if last_probe.is_some_and(|t| t.elapsed() < Duration::from_secs(2)) {
                continue;
            }
            last_probe = Some(Instant::now());
            let (s, f) = (store.clone(), folder.clone());
            let reopened = tokio::task::spawn_blocking(move || {
                s.probe_space()
                    .map_err(|e| format!("the disk still refuses writes: {e}"))?;
                s.reopen().map_err(|e| format!("reopening failed: {e}"))?;
                f.reload(Utc::now().timestamp_millis())
                    .map_err(|e| format!("rebuilding the index failed: {e}"))
            })
            .await;
            match reopened {
                Ok(Ok(index)) => {
                    reported = false;
                    info!(index, fault.message = %fault.message, "store reopened; ingesting resumes")
                }
                Ok(Err(e)) => debug!(reason = %e, "store still refuses writes"),
                Err(e) => warn!(error.message = %e, "store recovery task failed"),
            }
            continue;
        }
        let f = folder.clone();
        match tokio::task::spawn_blocking(move || f.flush_and_publish()).await {
            Ok(Ok(())) if Instant::now() >= next_snapshot => {
                save_snapshot(folder.clone()).await;
                next_snapshot = Instant::now() + SNAPSHOT_EVERY;
            }
            Ok(Ok(())) => {}
            // A failed write is the store's fault now: reported on the next tick.
            Ok(Err(e)) if store.fault().is_some() => debug!(error.message = %e, "flush failed"),
            Ok(Err(e)) => warn!(error.message = %e, "flush failed"),
            Err(e) => warn!(error.message = %e, "flush task failed"),
        }
    }
}
