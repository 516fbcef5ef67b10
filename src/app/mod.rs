//! Wiring: builds the pipeline from a [`Config`] and runs it until shutdown.
//!
//! # Tasks and their part in shutdown
//! - the **scheduler** loop: stops handing out polls when the token is cancelled;
//! - **poll tasks** (in the [`TaskTracker`]): finish or are cancelled at their next await, and
//!   are waited for with a deadline;
//! - the **HTTP server**: drains in-flight requests (graceful shutdown) within
//!   `http.shutdown_grace`, while the poll tasks finish within the same grace;
//! - the **maintenance** tick: evicts old index entries, compacts the index tables a growth
//!   left sparse, releases free heap pages; stops with the token;
//! - the **retention** sweeps (when `store.retention` is set): stop with the token;
//! - the **backups** (when `store.backup_every` is set): a copy of the store every
//!   `backup_every` (`storage/backup.rs`); stops with the token, after a copy under way;
//! - the **reloader** ([`reload_sources`]): on SIGHUP reads the configuration again and hands
//!   its sources to the scheduler and to `/status`; stops with the token;
//! - the **supervisor**: sends the service manager `WATCHDOG=1` at half of its watchdog
//!   timeout and a one-line `STATUS=`; stops first, right after `STOPPING=1`.
//! - the **read-through** (`store.verified` in `/status`): reads the whole store for damage in
//!   steps on the blocking pool, right after start (open only ran the quick checks, so that
//!   readiness does not wait for it); on damage it marks the store damaged and the daemon
//!   stops with an error and exit code 1. Retention starts once it passed. Stops with the
//!   token;
//! - the **flusher**: flushes the store every `store.flush_every` and only then publishes the
//!   changes to readers (see `storage`, "Durability"); after a failed write it waits for the
//!   disk to take writes again and reopens the store; a reopen that finds the store damaged
//!   stops the daemon as the read-through does. Stops with the token; the last flush is
//!   the shutdown's. It also saves the index snapshot (`fold/snapshot.rs`) every hour when
//!   anything changed since the last one (30 s after a start that had to rebuild the index;
//!   sooner after a burst of changes, see `SnapshotClock`), and once more after the last
//!   flush unless the one on disk covers every change.
//!
//! `READY=1` (systemd `Type=notify`) goes out once the store is open and HTTP is bound. Before
//! it, and after `STOPPING=1`, `STATUS=` names each phase and `EXTEND_TIMEOUT_USEC=` asks for
//! more time while the process works ([`LongPhase`]): a replay of a crashed store or the
//! shutdown's checkpoint may outlast the unit's timeouts.
//!
//! Order at shutdown (Miniflux's, plus a scheduler stop first and a flush last): `STOPPING=1`
//! → scheduler → poll tasks → the ingest threads' last bodies → HTTP → store flush.

mod background;
mod build;
mod supervisor;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::config::{Config, LiveSources};
use crate::fetch::host_limit::PollSlots;
use crate::fold::{IndexSource, SnapshotError};
use crate::http::{self, AppState};
use crate::ingest::{poll_source, IngestContext, PollReport};
use crate::memory;
use crate::notify::{LongPhase, Notifier, State};
use crate::scheduler::{self, Poller, SchedulerStats};
use crate::storage::{Backups, PreviousRun, RunMarker, Store, RUNNING_FILE};
use background::{
    backup_loop, checkpoint, flush_loop, save_snapshot, verify_in_background,
    FIRST_SNAPSHOT_AFTER_REBUILD, SNAPSHOT_EVERY,
};

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

/// A built application: store open, index rebuilt, client ready.
#[derive(Debug)]
pub struct App {
    /// The configuration the daemon started with, without its `sources`: those moved to
    /// `sources`, which a reload replaces.
    config: Arc<Config>,
    /// The sources as the last (re)load gave them.
    sources: Arc<LiveSources>,
    ctx: IngestContext,
    /// The service manager's notification socket (disabled outside systemd).
    notifier: Arc<Notifier>,
    /// Where the index came from at start: a rebuilt one is snapshotted soon.
    index_source: IndexSource,
}

/// What [`App::once`] did with one source.
#[derive(Debug)]
pub enum OnceOutcome {
    /// It was polled.
    Polled(Box<PollReport>),
    /// Its host asked for a pause (`Retry-After`) that is not over: not polled.
    HostPaused {
        /// The host (`host:port`).
        host: String,
        /// How much of the pause is left.
        left: Duration,
    },
    /// A stop was asked for before its poll started: not polled.
    NotStarted,
    /// A stop was asked for while it was polled, and the poll outlasted `http.shutdown_grace`:
    /// cut off, and whatever it had not stored yet is fetched again by the next poll.
    CutOff,
}

/// Reads how the previous run on the store ended and marks this one as running
/// ([`RunMarker`]); says so when it did not stop cleanly. A marker that cannot be written
/// costs only that message at the next start.
fn claim_run(
    store: &std::path::Path,
    listen: Option<std::net::SocketAddr>,
) -> (Option<RunMarker>, PreviousRun) {
    let now = Utc::now().timestamp_millis();
    match RunMarker::claim(store, std::process::id(), now, listen) {
        Ok((marker, previous)) => {
            if let PreviousRun::Unclean { started, pid } = &previous {
                warn!(
                    previous.started = started.and_then(crate::http::rfc3339).unwrap_or_default(),
                    previous.pid = pid.unwrap_or_default(),
                    "the previous run on this store did not stop cleanly (killed, crashed, \
                     power lost, a second stop signal, or stopped while the store refused \
                     writes): the store was recovered from its \
                     log, and what that run wrote in its last store.flush_every may be \
                     missing (the next polls fetch it again)"
                );
            }
            (Some(marker), previous)
        }
        Err(e) => {
            warn!(error.message = %e, file = RUNNING_FILE, "cannot mark the store as in use; an unclean stop will not be told at the next start");
            (None, PreviousRun::Clean)
        }
    }
}

/// Binds `http.listen`. The daemon does so before it opens the store: an address in use
/// fails the start at once, not after the store's replay and the index's rebuild (seconds to
/// minutes with millions of articles), and leaves no new empty store behind. Connections
/// wait in the listen queue until [`App::run`] serves them.
pub async fn bind(http: &crate::config::HttpConfig) -> anyhow::Result<TcpListener> {
    TcpListener::bind(http.listen).await.map_err(|e| {
        // The advice fits the cause: a port in use, or an address this machine lacks.
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "another process uses the port; set http.listen, \
                 or WIREFOLD_HTTP__LISTEN, to a free one"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "no interface of this machine has that \
                 address; listen on 127.0.0.1, 0.0.0.0 or one of its own addresses"
            }
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges; \
                 use a higher port"
            }
            _ => "set http.listen, or WIREFOLD_HTTP__LISTEN, to an address this machine can serve",
        };
        anyhow::Error::new(e).context(format!(
            "cannot listen on http.listen {} ({why})",
            http.listen
        ))
    })
}

impl App {
    /// Runs the daemon until `shutdown` is cancelled, serving HTTP on `listener` (from
    /// [`bind`]). `on_ready` is called once the store is open and HTTP is served, with the
    /// bound address. Each message on `hangups` (SIGHUP) reloads the configuration's sources
    /// ([`reload_sources`]).
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
        on_ready: impl FnOnce(std::net::SocketAddr),
        hangups: tokio::sync::mpsc::UnboundedReceiver<()>,
    ) -> anyhow::Result<()> {
        let addr = listener.local_addr()?;
        let (marker, previous_run) = claim_run(&self.config.store.path, Some(addr));
        let stats = Arc::new(SchedulerStats {
            clock: self.ctx.clock.clone(),
            ..SchedulerStats::new(self.ctx.errors.clone())
        });
        // HTTP drains when `http_stop` fires; long-lived responses end with it.
        let http_stop = CancellationToken::new();
        // The scheduler's control channel: reloads (below) and polls asked for over HTTP.
        let (control_tx, control) = tokio::sync::mpsc::unbounded_channel();
        let backups = Arc::new(Backups::new(
            self.config.store.backup_dir.clone(),
            self.config.store.backups_kept,
        ));
        let retention_log = Arc::<crate::retention::RetentionLog>::default();
        let state = AppState {
            config: self.config.clone(),
            sources: self.sources.clone(),
            store: self.ctx.store.clone(),
            folder: self.ctx.folder.clone(),
            scheduler: stats.clone(),
            started: Instant::now(),
            metrics: crate::metrics::install(),
            shutdown: http_stop.clone(),
            status_cache: Arc::default(),
            metric_states: Arc::default(),
            scheduler_control: control_tx.clone(),
            backups: backups.clone(),
            previous_run,
            hosts: self.ctx.hosts.clone(),
            retention: retention_log.clone(),
        };

        // Background read-through of the store (when not done at open): started before
        // anything is written, so that it checks against the counters of this moment.
        // `verified` fires when it passes. Damage comes back on `damage`, from it or from the
        // flusher's recovery after a write failure.
        let sched_stop = CancellationToken::new();
        let verified = CancellationToken::new();
        let (damage_tx, mut damage) = tokio::sync::mpsc::channel(1);
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
                damage_tx.clone(),
            )))
        };

        // Scheduler and its poll tasks: told to stop by `sched_stop`, awaited through `polls`.
        // Reloaded source lists and requested polls reach it on `control`.
        let polls = TaskTracker::new();
        let reloader = tokio::spawn(reload_sources(
            self.config.clone(),
            self.sources.clone(),
            self.ctx.clone(),
            hangups,
            control_tx,
            sched_stop.clone(),
        ));
        let scheduler = tokio::spawn(scheduler::run(
            Arc::new(self.ctx.clone()),
            self.sources.get().enabled_list(),
            self.config.schedule.clone(),
            self.config.fetch.concurrency.get(),
            stats,
            sched_stop.clone(),
            polls.clone(),
            control,
        ));

        let server = {
            let stop = http_stop.clone();
            let head_timeout = self.config.http.request_timeout;
            tokio::spawn(http::serve(
                listener,
                http::router(state),
                head_timeout,
                http::MAX_CONNECTIONS,
                stop,
            ))
        };

        // Maintenance: keeps the index to its time window, gives back the room a growing
        // index left in its tables, and hands the heap pages freed since the last minute back
        // to the system.
        let deletion_clock = crate::retention::DeletionClock::start();
        let maintenance = {
            let folder = self.ctx.folder.clone();
            let stop = sched_stop.clone();
            let clock = deletion_clock.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        _ = tick.tick() => {
                            // the index's old entries, the tables a growing index left room
                            // in, then the heap pages freed since the last tick; on a blocking
                            // thread, as it waits for the fold lock, which a recovery from a
                            // full disk holds through a whole rebuild
                            let (folder, now) = (folder.clone(), clock.now_ms());
                            let work = move || {
                                let evicted = folder.evict(now);
                                (evicted, folder.compact_index(), memory::release_free_memory())
                            };
                            match tokio::task::spawn_blocking(work).await {
                                Ok((evicted, compacted, took)) => {
                                    if evicted > 0 {
                                        info!(evicted, "index window moved");
                                    }
                                    if compacted > 0 {
                                        debug!(tables = compacted, "index tables compacted");
                                    }
                                    debug!(took_ms = took.as_millis(), "free heap pages released");
                                }
                                Err(e) => warn!(error.message = %e, "index compaction or releasing free memory failed"),
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
                deletion_clock.clone(),
                retention_log.clone(),
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
        // Automatic backups (`store.backup_every`).
        let backup = self.config.store.backup_every.map(|every| {
            tokio::spawn(backup_loop(
                backups,
                self.ctx.store.clone(),
                every,
                sched_stop.clone(),
            ))
        });
        let flusher = tokio::spawn(flush_loop(
            self.ctx.store.clone(),
            self.ctx.folder.clone(),
            sched_stop.clone(),
            match self.index_source {
                IndexSource::Rebuilt => FIRST_SNAPSHOT_AFTER_REBUILD,
                IndexSource::Snapshot => SNAPSHOT_EVERY,
            },
            damage_tx,
        ));

        info!(%addr, "wirefold ready");
        on_ready(addr);
        self.send(&[State::Ready, State::Status(&self.summary())]);

        // Supervisor: watchdog pings and status line, until shutdown starts.
        let supervisor_stop = CancellationToken::new();
        let supervisor = tokio::spawn(self.clone_parts().supervise(supervisor_stop.clone()));

        let damaged = tokio::select! {
            () = shutdown.cancelled() => None,
            Some(e) = damage.recv() => Some(e),
        };
        info!("shutting down");
        supervisor_stop.cancel();
        let _ = supervisor.await;
        self.send(&[State::Stopping, State::Status("stopping")]);
        // The checkpoint below replays what sled logged since the open: on a large store it
        // can outlast TimeoutStopSec, and a kill then costs the next start that replay.
        let stopping = LongPhase::announced(self.notifier.clone(), "stopping: finishing polls");

        let grace = self.config.http.shutdown_grace;
        sched_stop.cancel();
        let _ = reloader.await;
        let _ = scheduler.await;
        let _ = maintenance.await;
        if let Some(r) = retention {
            let _ = r.await;
        }
        if let Some(b) = backup {
            let _ = b.await;
        }
        let _ = flusher.await;
        if let Some(v) = verifier {
            let _ = v.await;
        }
        // The polls, the ingest threads and HTTP's requests under way finish together within
        // one `shutdown_grace` (one after the other, each with its own, a stop could take
        // three).
        let deadline = tokio::time::Instant::now() + grace;
        polls.close();
        http_stop.cancel();
        let polls_done = async {
            if tokio::time::timeout_at(deadline, polls.wait())
                .await
                .is_err()
            {
                warn!("poll tasks did not finish in time");
            }
            if tokio::time::timeout_at(deadline, self.ctx.cpu.close())
                .await
                .is_err()
            {
                warn!("ingest threads did not finish in time");
            }
        };
        let http_done = async {
            match tokio::time::timeout_at(deadline, server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => warn!(error.message = %e, "http server error"),
                Ok(Err(e)) => warn!(error.message = %e, "http server task failed"),
                Err(_) => warn!("http server did not drain in time"),
            }
        };
        tokio::join!(polls_done, http_done);
        if let Some(e) = damaged {
            // Nothing more is written to a damaged store.
            return Err(anyhow::Error::new(e).context("stopped on a damaged store"));
        }
        stopping.set("stopping: flushing the store");
        let folder = self.ctx.folder.clone();
        let flushed = tokio::task::spawn_blocking(move || folder.flush_and_publish())
            .await
            .context("flush task")?;
        let damaged = self.ctx.store.fault().is_some_and(|f| f.damaged);
        if let (Err(crate::storage::StoreError::Faulted(why)), false) = (&flushed, damaged) {
            // A full disk stops ingesting, not the daemon, and a stop asked for then is no
            // failure: what the store could not write was never kept, and the sources'
            // states with it, so their next polls fetch it again. The marker stays, so the
            // next start says the stop was not clean. (Damage found meanwhile stays an
            // error, below.)
            warn!(
                error.message = %why,
                "stopping with the store refusing writes since an earlier write failed: what it \
                 could not write was not kept, and is fetched again after the restart"
            );
            info!("bye");
            return Ok(());
        }
        flushed?;
        info!("store flushed");
        stopping.set("stopping: saving the index snapshot");
        save_snapshot(self.ctx.folder.clone()).await;
        // What was written since the last checkpoint is replayed now rather than by the
        // next start, whose readiness is what counts.
        stopping.set("stopping: checkpointing the store");
        checkpoint(self.ctx.store.clone()).await;
        drop(stopping);
        if let Some(Err(e)) = marker.map(RunMarker::release) {
            warn!(error.message = %e, file = RUNNING_FILE, "the stop was clean but its marker could not be removed; the next start will call it unclean");
        }
        info!("bye");
        Ok(())
    }

    /// Polls every enabled source once, `fetch.concurrency` at a time; reports in config order.
    /// A source whose host asked for a pause (`Retry-After`, in this run or stored by an
    /// earlier one) is left alone until the pause is over: `once` run from a timer would
    /// otherwise come back every time.
    pub async fn once(&self) -> Vec<(String, OnceOutcome)> {
        self.once_until(&CancellationToken::new()).await
    }

    /// [`App::once`] that stops when `stop` is cancelled, as the daemon does: no poll starts
    /// after it, the polls under way have `http.shutdown_grace` to finish (and are cut off
    /// then), and the store is flushed and left marked as cleanly stopped. The retention
    /// sweep is left to the next run.
    pub async fn once_until(&self, stop: &CancellationToken) -> Vec<(String, OnceOutcome)> {
        use futures::StreamExt;
        let (marker, _) = claim_run(&self.config.store.path, None);
        // Cancelled one grace after the stop: the polls under way end then.
        let cut_off = CancellationToken::new();
        let grace = self.config.http.shutdown_grace;
        let timer = tokio::spawn({
            let (stop, cut_off) = (stop.clone(), cut_off.clone());
            async move {
                stop.cancelled().await;
                tokio::time::sleep(grace).await;
                cut_off.cancel();
            }
        });
        let sources: Vec<_> = self.sources.get().enabled().cloned().collect();
        let all = sources.len().max(1);
        // `fetch.concurrency` polls at once, as the scheduler counts them: a slot taken with
        // the hosts' slots held, and let go while a redirect hop waits for its host's spacing
        // (`PollSlots`).
        let permits = Arc::new(tokio::sync::Semaphore::new(
            self.config.fetch.concurrency.get(),
        ));
        let (ctx, cut_off, permits) = (&self.ctx, &cut_off, &permits);
        ctx.resume_stored_host_limits(
            Utc::now().timestamp_millis(),
            self.config.schedule.max_retry_after,
        );
        let mut reports: Vec<(usize, String, OnceOutcome)> =
            futures::stream::iter(sources.into_iter().enumerate())
                .map(|(i, s)| async move {
                    // As the scheduler asks them (`Poller`): the source's host and the one
                    // its last poll was redirected to, whose pause and slots bind it too.
                    let ready = async {
                        let hosts = ctx.poll_hosts(&s);
                        let mut slots = Vec::with_capacity(hosts.len());
                        for h in &hosts {
                            slots.push(ctx.host_slot(h).await);
                        }
                        // Checked with the slots held: a poll of the same host that just
                        // ended may have been asked for the pause.
                        let paused = hosts
                            .into_iter()
                            .filter_map(|h| ctx.host_cooldown(&h).map(|left| (left, h)))
                            .max();
                        if let Some((left, host)) = paused {
                            return Err(OnceOutcome::HostPaused { host, left });
                        }
                        // As the scheduler takes them; the semaphore is never closed.
                        let slots = slots.into_iter().flatten().collect();
                        PollSlots::take(slots, permits, || Ok(()))
                            .await?
                            .ok_or(OnceOutcome::NotStarted)
                    };
                    // A stop wins over slots that are ready too (`biased`): no poll starts
                    // after it.
                    let waited = tokio::select! {
                        biased;
                        () = stop.cancelled() => Err(OnceOutcome::NotStarted),
                        r = ready => r,
                    };
                    let slots = match waited {
                        Ok(slots) => slots,
                        Err(outcome) => return (i, s.name, outcome),
                    };
                    // Boxed: the futures of the polls waiting for their slots stay small.
                    let poll = Box::pin(poll_source(ctx, &s, slots));
                    tokio::select! {
                        r = poll => (i, s.name, OnceOutcome::Polled(Box::new(r))),
                        () = cut_off.cancelled() => (i, s.name, OnceOutcome::CutOff),
                    }
                })
                .buffer_unordered(all)
                .collect()
                .await;
        reports.sort_by_key(|(i, _, _)| *i);
        timer.abort();
        let stopped = stop.is_cancelled();
        if stopped {
            let not_started = reports
                .iter()
                .filter(|(_, _, r)| matches!(r, OnceOutcome::NotStarted))
                .count();
            let cut = reports
                .iter()
                .filter(|(_, _, r)| matches!(r, OnceOutcome::CutOff))
                .count();
            warn!(
                not_started,
                cut_off = cut,
                "stopped before every source was polled; the store is flushed and the next run \
                 polls them"
            );
            // A cut-off poll's fold may be running on an ingest thread: what it was handed
            // is stored (or not) whole before the flush, within the grace that is left.
            if tokio::time::timeout(grace, self.ctx.cpu.close())
                .await
                .is_err()
            {
                warn!("ingest threads did not finish in time");
            }
        }
        // `once` from a timer is the whole daemon for some: its store keeps to
        // `store.retention` too (the store was read through before this ran). A stopped run
        // leaves it to the next: a sweep of a large store can outlast the stop's patience.
        if let Some(retention) = self.config.store.retention.filter(|_| !stopped) {
            let (folder, store) = (self.ctx.folder.clone(), self.ctx.store.clone());
            let now = Utc::now().timestamp_millis();
            let swept = tokio::task::spawn_blocking(move || {
                crate::retention::sweep(&folder, &store, retention, now)
            })
            .await;
            match swept {
                Ok(Ok(s)) => s.log(retention),
                Ok(Err(e)) => warn!(error.message = %e, "retention sweep failed"),
                Err(e) => warn!(error.message = %e, "retention task failed"),
            }
        }
        if let Err(e) = self.ctx.store.flush() {
            warn!(error.message = %e, "flush failed");
        }
        // The next start (often the daemon's) reads the index from this.
        match self
            .ctx
            .folder
            .save_snapshot_if_changed(Utc::now().timestamp_millis())
        {
            Ok(_) | Err(SnapshotError::Empty) => {}
            Err(e) => warn!(error.message = %e, "index snapshot not saved"),
        }
        checkpoint(self.ctx.store.clone()).await;
        if let Some(Err(e)) = marker.map(RunMarker::release) {
            warn!(error.message = %e, file = RUNNING_FILE, "the run was clean but its marker could not be removed; the next start will call it unclean");
        }
        reports.into_iter().map(|(_, n, r)| (n, r)).collect()
    }

    /// The store (for export and tests).
    pub fn store(&self) -> &Store {
        &self.ctx.store
    }
}

/// Reloads the configuration file (with the environment's overrides, as at start) at each
/// message on `hangups`, until `stop`. A valid one replaces the sources, `[schedule]` and
/// `[fetch]`: the scheduler gets the enabled sources and the schedule on `scheduler`, the
/// polls' HTTP client and host limits in `ctx` take the new settings (`apply_fetch`),
/// `/status` and the API read the sources from `live`; and its `log.level` becomes the log
/// filter (unless `RUST_LOG` set it). Changes to other sections (and to the fetch
/// concurrency limits) are named in a warning and wait for a restart. An invalid one changes
/// nothing; its problems are logged.
pub async fn reload_sources(
    running: Arc<Config>,
    live: Arc<LiveSources>,
    ctx: IngestContext,
    mut hangups: tokio::sync::mpsc::UnboundedReceiver<()>,
    scheduler: tokio::sync::mpsc::UnboundedSender<scheduler::Control>,
    stop: CancellationToken,
) {
    // What the polls use now: the start's `[fetch]`, or the last one a reload applied.
    let mut fetch_in_force = running.fetch.clone();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            got = hangups.recv() => if got.is_none() { return },
        }
        let path = running.path.clone();
        info!(path = %path.display(), "SIGHUP: reloading the configuration");
        let running_sources = live.get().list.clone();
        let loaded =
            tokio::task::spawn_blocking(move || Config::load_again(&path, &running_sources)).await;
        let now = Utc::now().timestamp_millis();
        // Refused by validation, or the loading thread failed.
        let loaded = loaded.map_err(|e| e.to_string());
        let config = match loaded.and_then(|r| r.map_err(|e| e.one_line())) {
            Ok(c) => c,
            Err(why) => {
                // Recorded before it is logged: whoever read the log finds it in /status.
                live.refused(why.clone(), now);
                error!(error.message = %why, "configuration not reloaded; the sources stay as they were");
                continue;
            }
        };
        apply_log_level(&running.log.level, &config.log.level);
        for w in config.warnings() {
            warn!(path = %config.path.display(), "configuration: {w}");
        }
        let restart = running.sections_differing(&config);
        if !restart.is_empty() {
            warn!(
                sections = restart.join(", "),
                "changes to these sections take effect at the next restart"
            );
        }
        ctx.hosts.set_max_cooldown(config.schedule.max_retry_after);
        // A `[fetch]` that could not be applied is tried again at the next reload.
        if config.fetch.per_poll_differs(&fetch_in_force) && apply_fetch(&ctx, &config.fetch) {
            fetch_in_force = config.fetch.clone();
        }
        if let Some((marked, unmarked)) = agency_changes(&live.get().agencies, &config.sources) {
            info!(
                marked = marked.join(", "),
                unmarked = unmarked.join(", "),
                "agency marks changed: a story's origin follows them when read, so stories \
                 with copies from these sources may show another origin; the change feed and \
                 /events do not send those stories again"
            );
        }
        // The scheduler first: an operator's poll-now of an added source, sent on the same
        // channel once the HTTP side sees the source, must come after the reload.
        let schedule = config.schedule.clone();
        let next = LiveSources::prepare(config.sources, config.schedule);
        let _ = scheduler.send(scheduler::Control::Reload(next.enabled_list(), schedule));
        live.install(next, now);
    }
}

/// The sources a reload marks as agencies (`marked`, sorted) and those no longer marked or
/// no longer configured (`unmarked`), against the `agencies` in force; `None` when the marks
/// are the same. Stories derive their `origin` from the marks when read.
fn agency_changes<'a>(
    agencies: &'a std::collections::HashSet<String>,
    reloaded: &'a [crate::config::SourceConfig],
) -> Option<(Vec<&'a str>, Vec<&'a str>)> {
    let now: std::collections::HashSet<&str> = reloaded
        .iter()
        .filter(|s| s.agency)
        .map(|s| s.name.as_str())
        .collect();
    let mut marked: Vec<&str> = now
        .iter()
        .copied()
        .filter(|n| !agencies.contains(*n))
        .collect();
    let mut unmarked: Vec<&str> = agencies
        .iter()
        .map(String::as_str)
        .filter(|n| !now.contains(n))
        .collect();
    marked.sort_unstable();
    unmarked.sort_unstable();
    (!marked.is_empty() || !unmarked.is_empty()).then_some((marked, unmarked))
}

/// Applies a reloaded `[fetch]` to the polls that start from now on: a new HTTP client
/// (user agent, timeouts, body limits, redirects, the private-address guard), the spacing
/// between requests to a host, and redirect adoption. The two concurrency limits wait for a
/// restart (`Config::sections_differing` names them). False when no client could be built:
/// nothing of it applies then.
fn apply_fetch(ctx: &IngestContext, fetch: &crate::config::FetchConfig) -> bool {
    match crate::fetch::Fetcher::new(fetch) {
        Ok(fetcher) => ctx.fetcher.set(fetcher),
        Err(e) => {
            error!(error.message = %e, "the reloaded [fetch] settings could not build an HTTP client; polls go on with the previous [fetch] settings");
            return false;
        }
    }
    ctx.hosts.set_spacing(fetch.per_host_spacing);
    ctx.options
        .set_permanent_redirect_polls(fetch.permanent_redirect_polls);
    info!("fetch settings applied to the polls from now on");
    true
}

/// Makes a reloaded `log.level` the log filter, and says so; `at_start` is the level the
/// daemon started with, to tell whether `RUST_LOG` overrides a level the operator changed.
fn apply_log_level(at_start: &str, level: &str) {
    use crate::telemetry::LevelChange;
    match crate::telemetry::set_level(level) {
        Ok(LevelChange::Applied) => info!(level, "log level changed"),
        Ok(LevelChange::EnvironmentWins) if level != at_start => warn!(
            level,
            "log.level changed, but RUST_LOG was set at start and stays in force"
        ),
        Ok(_) => {}
        Err(e) => warn!(error.message = %e, "log.level not applied"),
    }
}

#[cfg(test)]
mod tests;
