//! The scheduler: polls each enabled source at its own pace, never two polls of one source at
//! once, at most `fetch.concurrency` polls in flight over all sources, at most
//! `fetch.per_host_concurrency` per host.
//!
//! # Design
//! A min-heap of `(due, source)` lives in one task (Miniflux's scheduler loop). It sleeps until
//! the earliest due time and hands every due source to a poll task, taking the source off the
//! heap until that task reports back; a source that is not on the heap cannot be started again,
//! which is what rules out overlapping polls. A poll task first checks its host's cooldown (a
//! 429/503 with `Retry-After` defers every source of that host without counting a failure),
//! then waits for a host slot, then for a global slot, then polls through a [`Poller`].
//!
//! When the task reports back, the loop computes the next poll with the pure
//! [`policy::next_poll`], stores it on the source's state and pushes the source back on the
//! heap. Gone sources (410) are not pushed back. When every source fails at once
//! ([`network`]), HTTP sources are held back instead, one is let through now and then as a
//! probe, and status says so. A poll that fails because the store refuses writes (disk full)
//! holds its source too, with no back-off step, until the store takes writes again.
//!
//! Time: the loop runs on tokio's clock (so tests can pause it) and derives wall-clock times
//! (stored `next_poll`, skipHours, phase slots) from it and the wall clock read once at start.
//!
//! A reload (SIGHUP) hands the loop a new source list: sources are matched by name, the
//! heap and the held queue are rebuilt over the new indices, new or edited sources are
//! scheduled as at a start, and a poll that was in flight reports with the list it started
//! from and is placed by name (`Scheduler::reload`).
//!
//! On cancellation the loop stops handing out work and the in-flight tasks are cancelled at
//! their next await, tracked by the caller's [`TaskTracker`].

pub mod network;
pub mod policy;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::{ScheduleConfig, SourceConfig};
use crate::fetch::host_limit::{HostLimiter, HostPermit, PollSlots};
use crate::ingest::{
    poll_source, polled_host, source_host, ErrorCounts, IngestContext, PollError, PollReport,
    PollSummary, Reach,
};
use crate::storage::{Millis, SourceState, StoredHostLimits};
use network::{Change, NetworkMonitor};

/// What the scheduler needs from the rest of the pipeline; [`IngestContext`] is the real one,
/// tests script their own.
pub trait Poller: Send + Sync + 'static {
    /// The source's stored state, if any.
    fn load(&self, source: &SourceConfig) -> Option<SourceState>;
    /// Stores the state after the scheduler amended it (next poll, forgiven failure).
    fn save(&self, source: &SourceConfig, state: &SourceState);
    /// The host a poll of the source goes to (the new one once a permanent move was
    /// adopted); `None` for a file.
    fn host(&self, source: &SourceConfig) -> Option<String>;
    /// The other host the source's last poll was redirected to, if any (see
    /// [`HostLimiter::redirected`]).
    fn redirect_host(&self, source: &SourceConfig) -> Option<String> {
        self.hosts().redirected(&source.name, source.url.as_str())
    }
    /// The hosts a poll of the source reaches, [`Poller::host`] and [`Poller::redirect_host`],
    /// whose pauses, slots and spacing it obeys: a host's 429 holds back the sources a
    /// redirect takes to it, and `per_host_concurrency` counts them. Sorted, so that two
    /// polls taking slots on the same two hosts take them in the same order, never each
    /// holding one the other waits for.
    fn poll_hosts(&self, source: &SourceConfig) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .host(source)
            .into_iter()
            .chain(self.redirect_host(source))
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        hosts
    }
    /// How long the hosts a poll of the source reaches asked to be left alone, the longest,
    /// if any did.
    fn poll_cooldown(&self, source: &SourceConfig) -> Option<Duration> {
        self.poll_hosts(source)
            .iter()
            .filter_map(|h| self.host_cooldown(h))
            .max()
    }
    /// The per-host limits the polls obey.
    fn hosts(&self) -> &HostLimiter;
    /// How long `host` asked to be left alone, if it did.
    fn host_cooldown(&self, host: &str) -> Option<Duration> {
        self.hosts().cooldown(host)
    }
    /// Holds `host` back for `wait`: a pause it asked for before a restart, which the host
    /// limits (in memory) forgot.
    fn resume_host_pause(&self, host: &str, wait: Duration) {
        self.hosts().cool_down(host, wait);
    }
    /// What the stored source states hold for the host limits: every pause, those of
    /// sources no longer configured or enabled included, and the hosts redirects took
    /// sources to.
    fn stored_host_limits(&self) -> StoredHostLimits;
    /// Resumes what the host limits keep in memory only, from the stored states:
    /// - the pauses (`Retry-After`) not yet over at `wall`, each for as long as its server
    ///   asked, at most `max`. Every stored state's, so a pause outlives the source that
    ///   learnt it being disabled or removed. Never for longer than the server asked: a wall
    ///   clock set back between two runs put a 60 s pause hours ahead (up to `max`);
    /// - the hosts temporary redirects took sources to, for as long as each source keeps the
    ///   URL it was learnt for: the first round after a restart sent every source that a
    ///   redirect takes to one host there at once, past `fetch.per_host_concurrency`.
    fn resume_stored_host_limits(&self, wall: Millis, max: Duration) {
        let stored = self.stored_host_limits();
        for (p, asked) in stored.pauses {
            if p.until > wall {
                let wait = Duration::from_millis(resumed_wait(p.until, asked, wall)).min(max);
                info!(host = %p.host, wait_s = wait.as_secs(), "a host's Retry-After pause goes on after the restart: none of its sources is polled before it ends");
                self.resume_host_pause(&p.host, wait);
            }
        }
        for (source, configured, host) in stored.redirects {
            self.hosts().note_reached(&source, &configured, None, &host);
        }
    }
    /// Waits for a slot on `host`.
    fn host_slot(&self, host: &str) -> impl Future<Output = Option<HostPermit>> + Send {
        self.hosts().acquire(host)
    }
    /// Polls the source once, holding `slots` (its hosts', each with its first start
    /// marked, and a global one) until it ends.
    fn poll(
        &self,
        source: &SourceConfig,
        slots: PollSlots,
    ) -> impl Future<Output = PollReport> + Send;
    /// Waits until [`Poller::load`] and [`Poller::save`] would not block a thread for long
    /// (the store closed for a backup); the scheduler awaits it before handling each event.
    fn until_ready(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
    /// Whether the store takes writes: false after a write failure (disk full) until it is
    /// reopened. Sources whose polls failed on that are held until it is true again.
    fn writable(&self) -> bool {
        true
    }
}

impl Poller for IngestContext {
    fn load(&self, source: &SourceConfig) -> Option<SourceState> {
        self.store.source_state(&source.name).ok().flatten()
    }

    fn save(&self, source: &SourceConfig, state: &SourceState) {
        match self.store.put_source_state(&source.name, state) {
            // The store refuses writes until it is reopened; that is reported once, not here.
            Ok(()) | Err(crate::storage::StoreError::Faulted(_)) => {}
            Err(e) => {
                warn!(source = %source.name, error.message = %e, "cannot record the next poll")
            }
        }
    }

    fn host(&self, source: &SourceConfig) -> Option<String> {
        polled_host(source, self.load(source).as_ref())
    }

    fn hosts(&self) -> &HostLimiter {
        &self.hosts
    }

    fn stored_host_limits(&self) -> StoredHostLimits {
        match self.store.host_limits() {
            Ok(found) => found,
            Err(e) => {
                warn!(error.message = %e, "cannot read the host pauses and redirects of before the restart");
                StoredHostLimits::default()
            }
        }
    }

    async fn poll(&self, source: &SourceConfig, slots: PollSlots) -> PollReport {
        poll_source(self, source, slots).await
    }

    async fn until_ready(&self) {
        self.store.until_open().await;
    }

    fn writable(&self) -> bool {
        self.store.fault().is_none()
    }
}

/// The network as the scheduler sees it, for `/status`.
#[derive(Debug, Clone, Default)]
pub struct NetworkStatus {
    /// Since when every source fails (`None`: the network is up).
    pub down_since: Option<Millis>,
    /// Sources held back while it is down.
    pub held: usize,
    /// When the next probe may start.
    pub next_probe: Option<Millis>,
    /// Distinct hosts that failed since the last answer from any server.
    pub failing_hosts: usize,
}

/// Live scheduler figures for status and readiness.
#[derive(Debug, Default)]
pub struct SchedulerStats {
    /// True while the loop runs.
    pub running: AtomicBool,
    /// Polls holding a permit right now.
    pub in_flight: AtomicUsize,
    /// Failed polls by class (shared with the ingest stage that counts them).
    pub errors: Arc<ErrorCounts>,
    /// The system clock against the feed servers' (shared with the ingest stage).
    pub clock: Arc<crate::ingest::clock_check::ClockCheck>,
    /// Network state.
    pub network: Mutex<NetworkStatus>,
    /// Sources held because their polls failed while the store refused writes (disk full):
    /// not backed off, and polled again, spread over `startup_spread`, once it takes them.
    pub store_held: AtomicUsize,
}

impl SchedulerStats {
    /// Figures sharing the ingest stage's error counts.
    pub fn new(errors: Arc<ErrorCounts>) -> Self {
        Self {
            errors,
            ..Self::default()
        }
    }

    /// A copy of the network state.
    pub fn network(&self) -> NetworkStatus {
        self.network
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The time now while the network is down, or while sources wait for the store to take
    /// writes again (the scheduler holds back every source whose poll is due), else `None`.
    pub fn held_at(&self) -> Option<Millis> {
        let held =
            self.network().down_since.is_some() || self.store_held.load(Ordering::SeqCst) > 0;
        held.then(|| Utc::now().timestamp_millis())
    }
}

/// How a poll task ended.
enum Done {
    /// It polled.
    Polled(Box<PollReport>),
    /// The host is cooling down: try again after this long, no failure counted.
    Deferred(Duration),
    /// A reload removed the source, or edited its URL, while its poll waited for its slots:
    /// nothing was fetched.
    Withdrawn,
}

/// A poll task's report: the source list it was started from (a reload may have replaced
/// the scheduler's since), the source's index in it, and how it ended.
type Finished = (Arc<[SourceConfig]>, usize, Done);

/// Wall-clock milliseconds derived from tokio's clock (pausable in tests).
#[derive(Debug, Clone, Copy)]
struct Clock {
    wall0: Millis,
    t0: Instant,
}

impl Clock {
    fn now_ms(&self) -> Millis {
        self.wall0 + Millis::try_from(self.t0.elapsed().as_millis()).unwrap_or(0)
    }

    /// The tokio instant of a wall-clock time (now, when it is in the past).
    fn instant(&self, at: Millis) -> Instant {
        let now = self.now_ms();
        Instant::now() + Duration::from_millis(u64::try_from(at - now).unwrap_or(0))
    }
}

/// What the rest of the daemon asks of the running scheduler, on its control channel.
#[derive(Debug)]
pub enum Control {
    /// A reloaded configuration's enabled sources (matched by name) and `[schedule]`; see
    /// `Scheduler::reload`.
    Reload(Arc<[SourceConfig]>, ScheduleConfig),
    /// Poll the named source now instead of at its scheduled time (`POST
    /// /sources/{name}/poll`: the feed's owner fixed it, and its next try is hours away in
    /// back-off). Answered on the sender.
    PollNow(String, oneshot::Sender<PollNow>),
}

/// The scheduler's answer to [`Control::PollNow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollNow {
    /// The poll started; its next one is scheduled from its outcome, as after any poll.
    Started,
    /// A poll of the source is in flight already (never two at once).
    InFlight,
    /// Its host asked for a pause (`Retry-After`) that lasts this much longer; the poll
    /// stays at its time.
    HostCoolingDown(Duration),
    /// No enabled source of that name is scheduled (disabled, gone, or removed by a reload).
    NotScheduled,
    /// Its last poll started less than `schedule.min_interval` ago; this much is left. No
    /// source is polled more often than that, asked or not.
    TooSoon(Duration),
}

/// Runs the scheduling loop until `cancel` fires, doing what [`Control`] messages on
/// `control` ask.
#[allow(clippy::too_many_arguments)]
pub async fn run<P: Poller>(
    poller: Arc<P>,
    sources: Arc<[SourceConfig]>,
    schedule: ScheduleConfig,
    concurrency: usize,
    stats: Arc<SchedulerStats>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let mut s = Scheduler::new(
        poller,
        sources,
        schedule,
        concurrency,
        stats,
        cancel,
        tracker,
    );
    s.start();
    let _running = Running::set(Arc::clone(&s.stats));
    info!(sources = s.sources.len(), "scheduler started");
    loop {
        let wake = s.next_wake();
        let event = tokio::select! {
            biased;
            () = s.cancel.cancelled() => break,
            Some((list, i, done)) = s.done_rx.recv() => Event::Finished(list, i, done),
            Some(c) = control.recv() => Event::Control(c),
            () = sleep_until_opt(wake) => Event::Due,
        };
        // Each event reads or writes source states: while a backup has the store closed,
        // wait for it here as a task rather than on one of the runtime's threads.
        tokio::select! {
            biased;
            () = s.cancel.cancelled() => break,
            () = s.poller.until_ready() => {}
        }
        match event {
            Event::Finished(list, i, done) => s.finish(&list, i, done),
            Event::Control(Control::Reload(sources, schedule)) => s.reload(sources, schedule),
            Event::Control(Control::PollNow(name, reply)) => {
                let _ = reply.send(s.poll_now(&name));
            }
            Event::Due => s.dispatch(),
        }
    }
    info!("scheduler stopped");
}

/// [`SchedulerStats::running`] while it lives: cleared however the loop ends, by a panic (a
/// bug) too, so that `/readyz` and `/status` do not report a scheduler that polls no more.
struct Running(Arc<SchedulerStats>);

impl Running {
    fn set(stats: Arc<SchedulerStats>) -> Self {
        stats.running.store(true, Ordering::SeqCst);
        Running(stats)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::SeqCst);
    }
}

/// What woke the scheduling loop.
enum Event {
    Finished(Arc<[SourceConfig]>, usize, Done),
    Control(Control),
    Due,
}

struct Scheduler<P> {
    poller: Arc<P>,
    sources: Arc<[SourceConfig]>,
    phases: Vec<f64>,
    schedule: ScheduleConfig,
    bounds: policy::Bounds,
    permits: Arc<Semaphore>,
    stats: Arc<SchedulerStats>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    clock: Clock,
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    done_tx: mpsc::UnboundedSender<Finished>,
    done_rx: mpsc::UnboundedReceiver<Finished>,
    network: NetworkMonitor,
    held: VecDeque<usize>,
    /// Sources whose polls failed on the network since a server last answered, with how
    /// many times each: the failures the detector counted before it called the network
    /// down. They are held then, those failures forgiven, as those that fail while it is
    /// down are (indices into `sources`; cleared by a reload).
    suspects: HashMap<usize, u32>,
    /// Suspects that were being polled when the network was called down: their failures
    /// counted before are forgiven when that poll ends on the network too (by index, as
    /// `suspects`).
    forgive_at_end: HashMap<usize, u32>,
    next_probe: Option<Instant>,
    /// Hosts added by reloads while the network is down that no poll reached yet: the first
    /// of each one's sources to come due is polled as a probe of its own, at once.
    new_hosts: std::collections::HashSet<String>,
    down_since: Option<Millis>,
    /// Index of each source by name; filled by the first reload (only reports of polls
    /// started before a reload need it).
    by_name: HashMap<String, usize>,
    /// Names of the sources with a poll task (a reload must not schedule them twice).
    running: std::collections::HashSet<String>,
    /// The current source list, for poll tasks to check that their source is still
    /// configured once they have their slots (a reload replaces it).
    live: watch::Sender<Arc<[SourceConfig]>>,
    /// When each source's last poll task started, on the monotonic clock (by index into
    /// `sources`; a reload carries them over by name): what an operator's poll-now is
    /// measured against (`schedule.min_interval`). The stored `last_poll` is wall-clock time:
    /// after the wall clock stepped forward it lay ahead of the scheduler's clock, and
    /// poll-now was refused for the length of the step.
    started: Vec<Option<Instant>>,
    /// Sources whose polls failed because the store refused writes (by index, as `held`):
    /// not their fault, and nothing of them could be stored, not even the next poll. Polled
    /// again, spread over `startup_spread`, once the store takes writes
    /// ([`Scheduler::release_store_held`]).
    store_held: Vec<usize>,
    /// When to look again whether the store takes writes, while `store_held` is not empty.
    store_check: Option<Instant>,
}

/// How often the scheduler looks whether the store takes writes again while sources wait
/// for it (the daemon tries to reopen it every 2 s).
const STORE_CHECK_EVERY: Duration = Duration::from_secs(1);

impl<P: Poller> Scheduler<P> {
    fn new(
        poller: Arc<P>,
        sources: Arc<[SourceConfig]>,
        schedule: ScheduleConfig,
        concurrency: usize,
        stats: Arc<SchedulerStats>,
        cancel: CancellationToken,
        tracker: TaskTracker,
    ) -> Self {
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        let phases = policy::phases(&names);
        let hosts: std::collections::HashSet<String> =
            sources.iter().filter_map(source_host).collect();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            poller,
            phases,
            bounds: policy::Bounds::from(&schedule),
            schedule,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            stats,
            cancel,
            tracker,
            clock: Clock {
                wall0: Utc::now().timestamp_millis(),
                t0: Instant::now(),
            },
            heap: BinaryHeap::new(),
            done_tx,
            done_rx,
            network: NetworkMonitor::new(hosts.len()),
            held: VecDeque::new(),
            suspects: HashMap::new(),
            forgive_at_end: HashMap::new(),
            next_probe: None,
            new_hosts: std::collections::HashSet::new(),
            down_since: None,
            by_name: std::collections::HashMap::new(),
            running: std::collections::HashSet::new(),
            live: watch::Sender::new(sources.clone()),
            started: vec![None; sources.len()],
            store_held: Vec::new(),
            store_check: None,
            sources,
        }
    }

    /// Schedules the first polls: stored future polls are kept (a restart does not re-fetch
    /// everything), the rest are spread over `startup_spread` by phase, gone sources are left.
    /// A source whose URL the operator edited since its last poll is polled with the rest:
    /// the stored time belongs to the old URL (often a failing one, hours into its back-off).
    fn start(&mut self) {
        self.poller
            .resume_stored_host_limits(self.clock.now_ms(), self.bounds.max_retry_after);
        let all: Vec<usize> = (0..self.sources.len()).collect();
        self.schedule_first(&all);
    }

    /// Schedules the first polls of `indices` (at start, or sources a reload added or edited)
    /// as [`Scheduler::start`] describes.
    fn schedule_first(&mut self, indices: &[usize]) {
        let now = Instant::now();
        let wall = self.clock.now_ms();
        let mut overdue = Vec::new();
        // Sources whose URL was edited, with the state whose next poll was the old URL's.
        let mut edited = Vec::new();
        let sources = self.sources.clone();
        for &i in indices {
            let s = &sources[i];
            let state = self.poller.load(s);
            let mut url_edited = false;
            if let Some(st) = &state {
                let same_url = st.configured_url.as_deref() == Some(s.url.as_str());
                if same_url && st.gone_since.is_some() {
                    info!(source = %s.name, "source is gone (410); not polled");
                    continue;
                }
                url_edited = !same_url && st.configured_url.is_some();
                if url_edited && st.next_poll.is_some_and(|n| n > wall) {
                    info!(source = %s.name, url = %s.shown_url(), "configured URL changed; polled within schedule.startup_spread, not at the old URL's next poll");
                    edited.push((i, st.clone()));
                }
            }
            let min = millis(self.schedule.min_interval);
            let recent = state
                .as_ref()
                .and_then(|st| st.last_poll)
                .filter(|&last| !url_edited && last <= wall && wall - last < min)
                .map(|last| Duration::from_millis(u64::try_from(last + min - wall).unwrap_or(0)));
            match state.as_ref().and_then(|st| st.next_poll.map(|n| (n, st))) {
                // Still in the future: keep the schedule the previous run made, within what
                // the current configuration allows.
                Some((next, st)) if next > wall && !url_edited => {
                    let mut inp = policy::Inputs::from_state(s.interval, st);
                    let wait = Duration::from_millis(resumed_wait(next, st.last_poll, wall));
                    // A 429 or 503 with `Retry-After` the source got last (its host's pause
                    // is kept with the state): its own wait (the stored next poll) may be
                    // longer than the back-off. Its host's pause is resumed at start, for as
                    // long as the server asked, not for the source's back-off. One without
                    // `Retry-After` is a failure like another, within `max_backoff`.
                    let overloaded = st.failures > 0
                        && st.host_pause.is_some()
                        && st
                            .last_error
                            .as_ref()
                            .is_some_and(|e| matches!(e.status, Some(429 | 503)));
                    if overloaded {
                        inp.retry_after = Some(wait);
                    }
                    let cap = match (st.failures > 0, inp.retry_after) {
                        (true, None) => self.bounds.max_backoff,
                        // A pause the server asked for may be longer than the back-off, up to
                        // `max_retry_after` as it is now: the back-off its failures make, or
                        // what is left of the pause within that bound, the longer. Capped at
                        // `max_backoff.max(max_retry_after)`, a shorter `max_retry_after`
                        // left the source that got the 429 waiting out the whole pause.
                        (true, Some(_)) => policy::backoff(&s.name, &inp, &self.bounds),
                        (false, _) => {
                            // The feed's <skipHours>/<skipDays> move the latest poll allowed
                            // out of them, as they moved the stored one.
                            let latest = policy::skip(
                                wall + millis(
                                    policy::base_interval(&inp, &self.bounds)
                                        .mul_f64(1.5)
                                        .min(self.bounds.max),
                                ),
                                inp.skip_hours,
                                inp.skip_days,
                                self.phases[i],
                            );
                            Duration::from_millis(u64::try_from(latest - wall).unwrap_or(0))
                        }
                    };
                    let wait = wait.min(cap);
                    if wall + millis(wait) < next {
                        // Stored too, so that /status shows when it comes now.
                        let mut st = st.clone();
                        st.next_poll = Some(wall + millis(wait));
                        self.poller.save(s, &st);
                    }
                    self.heap.push(Reverse((now + wait, i)));
                }
                // Polled less than `min_interval` ago, with no next poll stored after it: a
                // reload removed it while it was polled and has added it again (or a restart
                // came right after the poll). Not before `min_interval` is over.
                _ => match recent {
                    Some(left) => self.heap.push(Reverse((now + left, i))),
                    // Never polled, or overdue after a restart: spread below.
                    None => overdue.push(i),
                },
            }
        }
        let delays = self.spread(&overdue, now);
        // Stored too, so that /status shows when it comes, not the old URL's time.
        for (i, mut st) in edited {
            if let Some(d) = overdue.iter().position(|&j| j == i).map(|k| delays[k]) {
                st.next_poll = Some(wall + millis(d));
                self.poller.save(&sources[i], &st);
            }
        }
    }

    /// Replaces the enabled sources (the configuration was reloaded). Sources are matched by
    /// name. One whose URL and interval are unchanged keeps its place in the schedule; a new
    /// one, or one whose URL or interval changed, is scheduled as at a start (stored next
    /// poll kept within the new interval, an edited URL polled soon); a removed one is no
    /// longer polled (its stored state and articles stay). A poll in flight finishes and
    /// is then scheduled under the new list.
    ///
    /// The new `schedule` applies from now on: to every next poll computed, and to the next
    /// network probe. When its bounds changed (`min_interval`, `max_interval`, `adaptive`,
    /// `max_backoff`, `max_retry_after`), every source waiting for its poll is scheduled
    /// again as at a start, so that its stored time is kept only within the new bounds (a
    /// source hours into its back-off comes within the new `max_backoff`).
    fn reload(&mut self, sources: Arc<[SourceConfig]>, schedule: ScheduleConfig) {
        let new_bounds = policy::Bounds::from(&schedule);
        let bounds_changed = new_bounds != self.bounds;
        self.bounds = new_bounds;
        self.schedule = schedule;
        let old = std::mem::replace(&mut self.sources, sources);
        self.live.send_replace(self.sources.clone());
        self.by_name = self
            .sources
            .iter()
            .enumerate()
            .map(|(j, s)| (s.name.clone(), j))
            .collect();
        let mut started = vec![None; self.sources.len()];
        for (o, at) in old.iter().zip(&self.started) {
            if let Some(&j) = self.by_name.get(&o.name) {
                started[j] = *at;
            }
        }
        self.started = started;
        let names: Vec<&str> = self.sources.iter().map(|s| s.name.as_str()).collect();
        self.phases = policy::phases(&names);
        let hosts: std::collections::HashSet<String> =
            self.sources.iter().filter_map(source_host).collect();
        let came_back = self.network.set_hosts(&hosts) == Some(Change::CameBack);
        // Spaced from now on, also as a hop of another source's poll.
        self.poller.hosts().know(hosts.iter().cloned());
        // Hosts the reload brought: while the network is down, each is probed as soon as a
        // source of its comes due, not at the old ones' next probe (the reload may have
        // replaced the feeds that failed).
        let before: std::collections::HashSet<String> =
            old.iter().filter_map(source_host).collect();
        // Those an earlier reload added and no poll reached yet stay new.
        let carried = std::mem::take(&mut self.new_hosts);
        self.new_hosts = if self.network.is_down() {
            hosts
                .into_iter()
                .filter(|h| !before.contains(h) || carried.contains(h))
                .collect()
        } else {
            Default::default()
        };

        // Each old source's new index, when it is still there with the same URL and interval
        // (and the bounds are the same: else every source is scheduled again).
        let mut found = vec![false; self.sources.len()];
        let mut changed = 0;
        let kept: Vec<Option<usize>> = old
            .iter()
            .map(|o| {
                let j = *self.by_name.get(&o.name)?;
                found[j] = true;
                let n = &self.sources[j];
                let same = o.url == n.url && o.interval == n.interval;
                // Headers and the agency mark apply from the next poll on, without moving it.
                changed += usize::from(o != n);
                (same && !bounds_changed).then_some(j)
            })
            .collect();
        let removed = old.len() - found.iter().filter(|f| **f).count();
        let mut unchanged = vec![false; self.sources.len()];
        for j in kept.iter().flatten() {
            unchanged[*j] = true;
        }
        let heap: Vec<(Instant, usize)> = self.heap.drain().map(|Reverse(e)| e).collect();
        let mut waiting = vec![false; self.sources.len()];
        for (due, i) in heap {
            if let Some(j) = self.by_name.get(&old[i].name).copied() {
                waiting[j] = true;
                if let Some(j) = kept[i] {
                    self.heap.push(Reverse((due, j)));
                }
            }
        }
        self.suspects.clear();
        self.forgive_at_end.clear();
        let held: Vec<usize> = self.held.drain(..).collect();
        for i in held {
            if let Some(j) = self.by_name.get(&old[i].name).copied() {
                waiting[j] = true;
                if let Some(j) = kept[i] {
                    self.held.push_back(j);
                }
            }
        }
        for i in std::mem::take(&mut self.store_held) {
            if let Some(j) = self.by_name.get(&old[i].name).copied() {
                waiting[j] = true;
                if let Some(j) = kept[i] {
                    self.store_held.push(j);
                }
            }
        }
        self.publish_store_held();
        if came_back {
            info!("the hosts that failed are no longer configured: the network is taken as up");
            self.network_back();
        }
        // New and changed sources are scheduled as at a start, unless a poll of theirs is
        // in flight (its report schedules them). A changed one neither waiting nor in flight
        // is gone: polled again only if its URL changed, which `schedule_first` decides.
        let mut first = Vec::new();
        let mut added = 0;
        for (j, s) in self.sources.iter().enumerate() {
            if !found[j] {
                added += 1;
            } else if unchanged[j] {
                continue;
            }
            if waiting[j] || !self.running.contains(&s.name) {
                first.push(j);
            }
        }
        self.schedule_first(&first);
        self.publish_network();
        if bounds_changed {
            info!("schedule bounds changed: every waiting source rescheduled within them");
        }
        // The scheduler holds the enabled sources only: a source disabled by the reload
        // leaves it as one removed does.
        info!(
            sources = self.sources.len(),
            added,
            removed_or_disabled = removed,
            changed,
            "sources reloaded"
        );
    }

    /// Starts a poll of the source named `name` now, taking it off the heap (or the held
    /// queue, while the network is down: an operator's poll is a probe too). A source with
    /// a poll in flight, or whose host is cooling down, is left where it is.
    fn poll_now(&mut self, name: &str) -> PollNow {
        let Some(i) = self.sources.iter().position(|s| s.name == name) else {
            return PollNow::NotScheduled;
        };
        if self.running.contains(name) {
            return PollNow::InFlight;
        }
        let queued = self.heap.iter().any(|Reverse((_, j))| *j == i)
            || self.held.contains(&i)
            || self.store_held.contains(&i);
        if !queued {
            // Neither waiting nor in flight: gone (410), polled again only when its URL is
            // edited.
            return PollNow::NotScheduled;
        }
        if let Some(wait) = self.poller.poll_cooldown(&self.sources[i]) {
            return PollNow::HostCoolingDown(wait);
        }
        // Since this process's last poll of it, else since the stored one (before a
        // restart), which a wall clock stepped back between the two puts ahead: unknown.
        let since = match self.started[i] {
            Some(at) => Some(millis(Instant::now().saturating_duration_since(at))),
            None => self
                .poller
                .load(&self.sources[i])
                .and_then(|st| st.last_poll)
                .map(|at| self.clock.now_ms().saturating_sub(at))
                .filter(|since| *since >= 0),
        };
        let min = millis(self.schedule.min_interval);
        if let Some(since) = since.filter(|s| *s < min) {
            return PollNow::TooSoon(Duration::from_millis(
                u64::try_from(min - since).unwrap_or(0),
            ));
        }
        self.heap.retain(|Reverse((_, j))| *j != i);
        self.held.retain(|j| *j != i);
        self.store_held.retain(|j| *j != i);
        self.publish_store_held();
        info!(source = %name, "poll requested: polling now");
        self.spawn_poll(i);
        self.publish_network();
        PollNow::Started
    }

    /// Pushes `sources` onto the heap spread by phase over `min(interval, startup_spread)`.
    /// Schedules `sources` over `startup_spread` from `from`; returns each one's delay.
    fn spread(&mut self, sources: &[usize], from: Instant) -> Vec<Duration> {
        let phases: Vec<f64> = sources.iter().map(|&i| self.phases[i]).collect();
        let intervals: Vec<Duration> = sources.iter().map(|&i| self.sources[i].interval).collect();
        let delays = policy::startup_delays(&phases, &intervals, self.schedule.startup_spread);
        for (&i, d) in sources.iter().zip(&delays) {
            self.heap.push(Reverse((from + *d, i)));
        }
        delays
    }

    fn next_wake(&self) -> Option<Instant> {
        let due = self.heap.peek().map(|Reverse((t, _))| *t);
        let probe = if self.network.is_down() && !self.held.is_empty() {
            self.next_probe
        } else {
            None
        };
        let store = self.store_check.filter(|_| !self.store_held.is_empty());
        [due, probe, store].into_iter().flatten().min()
    }

    /// Starts every due source (holding HTTP ones back while the network is down) and, while
    /// it is down, a probe when one is due.
    fn dispatch(&mut self) {
        let now = Instant::now();
        self.release_store_held(now);
        while let Some(Reverse((due, i))) = self.heap.peek().copied() {
            if due > now {
                break;
            }
            self.heap.pop();
            if self.network.is_down() {
                if let Some(host) = source_host(&self.sources[i]) {
                    if self.new_hosts.remove(&host) {
                        info!(source = %self.sources[i].name, "network down: probing with a host the reload added");
                        self.spawn_poll(i);
                    } else {
                        self.held.push_back(i);
                    }
                    continue;
                }
            }
            let lag = now.saturating_duration_since(due);
            crate::metrics::scheduler_lag(lag);
            if lag > Duration::from_secs(1) {
                debug!(source = %self.sources[i].name, lag_ms = lag.as_millis() as u64, "poll starts late");
            }
            self.spawn_poll(i);
        }
        if self.network.is_down() && self.next_probe.is_some_and(|p| p <= now) {
            if let Some(i) = self.held.pop_front() {
                info!(source = %self.sources[i].name, "network down: probing with one source");
                self.spawn_poll(i);
                self.next_probe = Some(now + self.schedule.network_probe_interval);
            }
        }
        self.publish_network();
    }

    /// Holds source `i` when its poll failed because the store refuses writes and still
    /// does: nothing of the poll could be stored, not even its next poll, and the source is
    /// not at fault (no back-off step). The poll was counted (class `store`); the source is
    /// polled again soon after the store takes writes, not a whole interval later.
    fn hold_for_store(&mut self, i: usize, result: &Result<PollSummary, PollError>) -> bool {
        if !matches!(result, Err(PollError::Store(_))) || self.poller.writable() {
            return false;
        }
        if self.store_held.is_empty() {
            info!("the store refuses writes: polls are held until it takes them again");
            self.store_check = Some(Instant::now() + STORE_CHECK_EVERY);
        }
        self.store_held.push(i);
        self.publish_store_held();
        true
    }

    /// Once the store takes writes again, schedules the sources held for it, spread over
    /// `startup_spread` as after a start (or the network's return).
    fn release_store_held(&mut self, now: Instant) {
        if self.store_held.is_empty() || self.store_check.is_some_and(|t| t > now) {
            return;
        }
        if !self.poller.writable() {
            self.store_check = Some(now + STORE_CHECK_EVERY);
            return;
        }
        let held = std::mem::take(&mut self.store_held);
        self.store_check = None;
        info!(
            released = held.len(),
            "the store takes writes again: polling the sources held for it"
        );
        self.spread(&held, now);
        self.publish_store_held();
    }

    fn publish_store_held(&self) {
        self.stats
            .store_held
            .store(self.store_held.len(), Ordering::SeqCst);
    }

    fn spawn_poll(&mut self, i: usize) {
        self.running.insert(self.sources[i].name.clone());
        self.started[i] = Some(Instant::now());
        let started = Instant::now();
        let (poller, sources, permits, stats, done, cancel) = (
            self.poller.clone(),
            self.sources.clone(),
            self.permits.clone(),
            self.stats.clone(),
            self.done_tx.clone(),
            self.cancel.clone(),
        );
        let live = self.live.subscribe();
        self.tracker.spawn(async move {
            let source = &sources[i];
            let work = async {
                // Read once: the cooldowns and the slots are the same hosts'.
                let hosts = poller.poll_hosts(source);
                let paused = || hosts.iter().filter_map(|h| poller.host_cooldown(h)).max();
                if let Some(wait) = paused() {
                    return Some(Done::Deferred(wait));
                }
                // Hosts first, then a global slot: a busy host must not hold global slots.
                let mut _hosts = Vec::with_capacity(hosts.len());
                for h in &hosts {
                    _hosts.push(poller.host_slot(h).await);
                }
                let _hosts = _hosts.into_iter().flatten().collect();
                let taken = PollSlots::take(_hosts, &permits, || {
                    // Checked again with every slot held: the waits can be long (thousands
                    // of sources on one host), and a reload or a host's 429 may have come in
                    // between.
                    if !still_configured(&live.borrow(), &sources, source) {
                        return Err(Done::Withdrawn);
                    }
                    match paused() {
                        Some(wait) => Err(Done::Deferred(wait)),
                        None => Ok(()),
                    }
                })
                .await;
                let slots = match taken {
                    Ok(slots) => slots?,
                    Err(done) => return Some(done),
                };
                crate::metrics::poll_queue(started.elapsed());
                let _counted = InFlight::enter(&stats.in_flight);
                // The poll's future (HTTP client, decoder, body) is kilobytes; boxed, it is
                // allocated only here, for the `fetch.concurrency` polls in flight, instead of
                // inside every spawned task while it waits for its slots: at start every source
                // is due within `startup_spread` and thousands of tasks wait at once, and
                // those short-lived blocks left the heap fragmented (BENCHMARKS.md, issue 8).
                let poll = Box::pin(poller.poll(source, slots));
                Some(Done::Polled(Box::new(poll.await)))
            };
            let finished = tokio::select! {
                d = work => d,
                () = cancel.cancelled() => None,
            };
            if let Some(d) = finished {
                let _ = done.send((sources, i, d));
            }
        });
    }

    /// A poll task reported back: account for it and schedule the source's next poll. A
    /// task started before a reload finds its source again by name; a source the reload
    /// removed is left as the poll stored it.
    fn finish(&mut self, list: &Arc<[SourceConfig]>, i: usize, done: Done) {
        self.running.remove(&list[i].name);
        let i = if Arc::ptr_eq(list, &self.sources) {
            i
        } else {
            let Some(&j) = self.by_name.get(&list[i].name) else {
                return;
            };
            if list[i].url != self.sources[j].url {
                // Edited while it was polled at the old URL: poll the new one soon.
                self.schedule_first(&[j]);
                return;
            }
            j
        };
        let sources = self.sources.clone();
        let source = &sources[i];
        let now_ms = self.clock.now_ms();
        let report = match done {
            Done::Polled(r) => r,
            Done::Withdrawn => {
                // Removed and added again since: scheduled as an added source is.
                self.schedule_first(&[i]);
                return;
            }
            Done::Deferred(wait) => {
                let jitter = Duration::from_secs(1).mul_f64(self.phases[i] * 5.0);
                let next = now_ms + millis(wait + jitter);
                let mut st = self.poller.load(source).unwrap_or_default();
                st.next_poll = Some(next);
                self.poller.save(source, &st);
                debug!(source = %source.name, wait_s = wait.as_secs(), "host cooling down; poll deferred");
                self.heap.push(Reverse((self.clock.instant(next), i)));
                return;
            }
        };
        if self.hold_for_store(i, &report.result) {
            return;
        }
        let PollReport {
            result,
            mut state,
            fresh_for,
            reach,
        } = *report;
        if matches!(result, Err(PollError::Gone(_))) {
            return; // gone before this poll; nothing was fetched
        }
        let host = source_host(source);
        let evidence = network_failure(&result, reach.as_ref(), host.as_deref());
        self.observe_network(i, evidence);
        if state.gone_since.is_some() {
            state.next_poll = None;
            self.poller.save(source, &state);
            return;
        }
        let earlier = self.forgive_at_end.remove(&i).unwrap_or(0);
        if evidence.is_some_and(|(_, failed)| failed) && self.network.is_down() {
            // Not this source's fault: no backoff step for it (nor for the failures it had
            // while the detector counted). Held until the network is back, or until it is
            // picked as a probe. A poll that a server answered failed for its own reasons.
            state.failures = state.failures.saturating_sub(1 + earlier);
            state.next_poll = None;
            self.poller.save(source, &state);
            self.held.push_back(i);
            self.publish_network();
            return;
        }
        let mut inp = policy::Inputs::from_state(source.interval, &state);
        inp.phase = self.phases[i];
        inp.fresh_for = fresh_for;
        inp.retry_after = result.as_ref().err().and_then(PollError::retry_after);
        let next = policy::next_poll(&source.name, now_ms, &inp, &self.bounds);
        state.next_poll = Some(next);
        self.poller.save(source, &state);
        self.heap.push(Reverse((self.clock.instant(next), i)));
    }

    /// Feeds a finished HTTP poll of source `i` to the network detector (its
    /// [`network_failure`]) and acts on a change.
    fn observe_network(&mut self, i: usize, evidence: Option<(&str, bool)>) {
        let Some((host, failed)) = evidence else {
            return;
        };
        if !failed {
            self.suspects.clear();
        }
        match self.network.record(host, failed) {
            Some(Change::WentDown) => {
                self.down_since = Some(self.clock.now_ms());
                self.next_probe = Some(Instant::now() + self.schedule.network_probe_interval);
                warn!(
                    failing_hosts = self.network.failing_hosts(),
                    "every source fails: the network looks down; holding polls back and probing"
                );
                self.hold_suspects();
            }
            Some(Change::CameBack) => {
                info!(
                    released = self.held.len(),
                    "a server answered: the network is back"
                );
                self.network_back();
            }
            None => {}
        }
        if failed && !self.network.is_down() {
            *self.suspects.entry(i).or_default() += 1;
        }
        self.publish_network();
    }

    /// The network is up again: the sources held back are released, spread out.
    fn network_back(&mut self) {
        let held: Vec<usize> = self.held.drain(..).collect();
        self.down_since = None;
        self.next_probe = None;
        self.new_hosts.clear();
        self.forgive_at_end.clear();
        self.spread(&held, Instant::now());
    }

    /// The sources whose network failures led to calling the network down, taken off the
    /// heap and held, their failure forgiven: counted against them, they showed `failing`
    /// with a back-off step while those that failed a moment later showed `held`.
    fn hold_suspects(&mut self) {
        let suspects = std::mem::take(&mut self.suspects);
        if suspects.is_empty() {
            return;
        }
        let mut taken = Vec::new();
        self.heap.retain(|Reverse((_, j))| {
            let take = suspects.contains_key(j);
            if take {
                taken.push(*j);
            }
            !take
        });
        for &i in &taken {
            let source = &self.sources[i];
            if let Some(mut state) = self.poller.load(source) {
                // Every failure it had since a server last answered: a source on a short
                // interval failed several times before the others' one each called the
                // network down, and showed `failing` with the rest.
                state.failures = state.failures.saturating_sub(suspects[&i]);
                state.next_poll = None;
                self.poller.save(source, &state);
            }
            self.held.push_back(i);
        }
        // Not on the heap: polled now. Their earlier failures are forgiven when that poll
        // ends held (on the network, the network down).
        self.forgive_at_end = suspects
            .into_iter()
            .filter(|(i, _)| !taken.contains(i))
            .collect();
    }

    fn publish_network(&self) {
        let mut n = self.stats.network.lock().unwrap_or_else(|p| p.into_inner());
        *n = NetworkStatus {
            down_since: self.down_since,
            held: self.held.len(),
            next_probe: self
                .next_probe
                .map(|p| self.clock.now_ms() + millis(p.saturating_duration_since(Instant::now()))),
            failing_hosts: self.network.failing_hosts(),
        };
    }
}

/// What a finished poll of a source configured at `host` tells the network detector: the
/// host, and whether the poll failed for want of a network (DNS, connect, timeout) with no
/// answer from any server; `None` when it says nothing (a file, the store at fault). A
/// poll whose redirect led to a dead host got an answer first: the network works (three
/// sources redirected to one dead target called the network down and held every other
/// source back). The evidence stays with the configured host, the set the detector counts
/// and sizes its threshold by: filed under an adopted move's host, four sources moved to
/// one host could never reach the threshold, and the network was never called down.
fn network_failure<'a>(
    result: &Result<crate::ingest::PollSummary, PollError>,
    reach: Option<&Reach>,
    host: Option<&'a str>,
) -> Option<(&'a str, bool)> {
    let (reach, host) = (reach?, host?);
    let failed = match result {
        Ok(_) => false,
        Err(e) if e.is_network() => !reach.answered,
        // The server answered (an error status, a bad body): the network works.
        Err(PollError::Fetch(_) | PollError::Parse(_)) => false,
        Err(_) => return None,
    };
    Some((host, failed))
}

/// Milliseconds from `wall` to a stored wall-clock deadline `until` (a next poll, the end of
/// a host's pause), but never more than were planned when it was set at `set_at` (the poll
/// that chose it): a wall clock set back between two runs put an 80 s back-off or a 60 s
/// pause hours ahead, kept up to the bounds (6 h).
fn resumed_wait(until: Millis, set_at: Option<Millis>, wall: Millis) -> u64 {
    let left = until.saturating_sub(wall);
    let planned = set_at.filter(|s| *s < until).map(|s| until - s);
    u64::try_from(planned.map_or(left, |p| left.min(p))).unwrap_or(0)
}

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX / 4)
}

/// Whether `source`, from the list `from` a poll task was started with, is still in the
/// scheduler's list `now` with the same URL.
fn still_configured(
    now: &Arc<[SourceConfig]>,
    from: &Arc<[SourceConfig]>,
    source: &SourceConfig,
) -> bool {
    Arc::ptr_eq(now, from)
        || now
            .iter()
            .any(|s| s.name == source.name && s.url == source.url)
}

/// Counts a poll in flight for as long as it lives (also when cancelled).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Self(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
