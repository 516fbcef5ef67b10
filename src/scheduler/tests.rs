//! The scheduling loop under tokio's paused clock, with a scripted [`Poller`]: every
//! assertion is about the order and spacing of polls on the virtual clock, none about how long
//! the machine took.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

use super::*;
use crate::fetch::host_limit::HostLimiter;
use crate::fetch::FetchError;
use crate::ingest::{PollError, PollSummary};

/// What a scripted poll returns.
#[derive(Debug, Clone)]
enum Answer {
    Ok,
    Status(u16, Option<Duration>),
    Connect,
}

type Script = dyn Fn(&str, u64) -> Answer + Send + Sync;

struct Mock {
    script: Box<Script>,
    poll_time: Duration,
    states: Mutex<HashMap<String, SourceState>>,
    starts: Mutex<Vec<(String, Duration)>>,
    running: Mutex<HashMap<String, usize>>,
    overlaps: AtomicUsize,
    hosts: HostLimiter,
    t0: Instant,
    wall0: Millis,
    /// The store refuses writes (disk full): polls fail at once with class `store`, and
    /// nothing is saved.
    store_faulted: std::sync::atomic::AtomicBool,
}

impl Mock {
    fn new(
        poll_time: Duration,
        script: impl Fn(&str, u64) -> Answer + Send + Sync + 'static,
    ) -> Arc<Self> {
        Self::with_wall_ahead(poll_time, 0, script)
    }

    /// A mock whose polls stamp their wall-clock start `ahead` ms ahead of the scheduler's
    /// clock: the wall clock stepped forward since the scheduler started.
    fn with_wall_ahead(
        poll_time: Duration,
        ahead: Millis,
        script: impl Fn(&str, u64) -> Answer + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            script: Box::new(script),
            poll_time,
            states: Mutex::default(),
            starts: Mutex::default(),
            running: Mutex::default(),
            overlaps: AtomicUsize::new(0),
            hosts: HostLimiter::new(2, Duration::ZERO),
            t0: Instant::now(),
            wall0: chrono::Utc::now().timestamp_millis() + ahead,
            store_faulted: Default::default(),
        })
    }

    /// Start times of `name`'s polls, from the start of the test.
    fn starts_of(&self, name: &str) -> Vec<Duration> {
        self.starts
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .collect()
    }

    fn state(&self, name: &str) -> SourceState {
        self.states
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .unwrap_or_default()
    }
}

impl Poller for Mock {
    fn load(&self, source: &SourceConfig) -> Option<SourceState> {
        self.states.lock().unwrap().get(&source.name).cloned()
    }

    fn save(&self, source: &SourceConfig, state: &SourceState) {
        if self.store_faulted.load(Ordering::SeqCst) {
            return;
        }
        self.states
            .lock()
            .unwrap()
            .insert(source.name.clone(), state.clone());
    }

    fn host(&self, source: &SourceConfig) -> Option<String> {
        source_host(source)
    }

    fn hosts(&self) -> &HostLimiter {
        &self.hosts
    }

    fn stored_host_limits(&self) -> crate::storage::StoredHostLimits {
        let states = self.states.lock().unwrap();
        crate::storage::StoredHostLimits {
            pauses: states
                .values()
                .filter_map(|s| s.host_pause.clone().map(|p| (p, s.last_poll)))
                .collect(),
            redirects: states
                .iter()
                .filter_map(|(name, s)| {
                    Some((
                        name.clone(),
                        s.configured_url.clone()?,
                        s.redirect_host.clone()?,
                    ))
                })
                .collect(),
        }
    }

    fn writable(&self) -> bool {
        !self.store_faulted.load(Ordering::SeqCst)
    }

    async fn poll(&self, source: &SourceConfig, _slots: PollSlots) -> PollReport {
        let name = source.name.clone();
        self.starts
            .lock()
            .unwrap()
            .push((name.clone(), Instant::now() - self.t0));
        if !self.writable() {
            // As the real poll: at once, nothing fetched, nothing stored.
            let fault = crate::storage::StoreError::Faulted("no space left on device".into());
            return PollReport {
                result: Err(PollError::Store(fault)),
                state: self.load(source).unwrap_or_default(),
                fresh_for: None,
                reach: None,
            };
        }
        {
            let mut r = self.running.lock().unwrap();
            let n = r.entry(name.clone()).or_default();
            *n += 1;
            if *n > 1 {
                self.overlaps.fetch_add(1, Ordering::SeqCst);
            }
        }
        tokio::time::sleep(self.poll_time).await;
        // Sources named `via…` are redirected (temporarily) to busy.example, as the real
        // poll learns it from the fetch, and keeps it with the state.
        let redirected = name.starts_with("via");
        if redirected {
            let polled = source_host(source);
            let configured = source.url.as_str();
            self.hosts
                .note_reached(&name, configured, polled.as_deref(), "busy.example:80");
        }
        *self
            .running
            .lock()
            .unwrap()
            .entry(name.clone())
            .or_default() -= 1;
        let mut state = self.load(source).unwrap_or_default();
        state.configured_url = Some(source.url.to_string());
        state.redirect_host = redirected.then(|| "busy.example:80".to_owned());
        state.polls += 1;
        // As the real poll records it: the wall-clock start, on the paused clock.
        let started = self.wall0 + millis(Instant::now() - self.t0 - self.poll_time);
        state.last_poll = Some(started);
        let answer = (self.script)(&name, state.polls);
        // A refused connection is the one answer no server gave.
        let reach = source_host(source).map(|_| Reach {
            answered: !matches!(answer, Answer::Connect),
        });
        let result = match answer {
            Answer::Ok => Ok(PollSummary::default()),
            Answer::Status(status, retry_after) => Err(PollError::Fetch(FetchError::Status {
                status,
                retry_after,
                host: None,
                redirected: false,
            })),
            Answer::Connect => Err(PollError::Fetch(FetchError::Connect("refused".into()))),
        };
        match &result {
            Ok(_) => state.failures = 0,
            Err(e) => {
                state.failures += 1;
                if e.class().status == Some(410) {
                    state.gone_since = Some(1);
                }
                if let (Some(wait), Some(host)) = (e.retry_after(), source_host(source)) {
                    self.hosts.cool_down(&host, wait);
                }
            }
        }
        self.save(source, &state);
        PollReport {
            result,
            state,
            fresh_for: None,
            reach,
        }
    }
}

fn schedule(interval: Duration, spread: Duration) -> ScheduleConfig {
    ScheduleConfig {
        default_interval: interval,
        min_interval: Duration::from_secs(1),
        max_interval: Duration::from_secs(6 * 3600),
        startup_spread: spread,
        adaptive: false,
        max_backoff: Duration::from_secs(6 * 3600),
        max_retry_after: Duration::from_secs(2 * 3600),
        network_probe_interval: Duration::from_secs(30),
    }
}

fn source(name: &str, host: &str, interval: Duration) -> SourceConfig {
    SourceConfig {
        name: name.into(),
        url: Url::parse(&format!("http://{host}/{name}.xml")).unwrap(),
        interval,
        enabled: true,
        agency: false,
        headers: Default::default(),
    }
}

/// Runs the scheduler over `sources` for `for_` of virtual time.
async fn run_for(
    mock: &Arc<Mock>,
    sources: Vec<SourceConfig>,
    sched: ScheduleConfig,
    for_: Duration,
) -> Arc<SchedulerStats> {
    let stats = Arc::new(SchedulerStats::default());
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let task = tokio::spawn(run(
        mock.clone(),
        sources.into(),
        sched,
        64,
        stats.clone(),
        cancel.clone(),
        tracker.clone(),
        mpsc::unbounded_channel().1,
    ));
    tokio::time::sleep(for_).await;
    cancel.cancel();
    let _ = task.await;
    tracker.close();
    tracker.wait().await;
    stats
}

/// A poller whose state saving panics: a bug in the scheduler's task, which it runs on.
struct Crashing(Arc<Mock>);

impl Poller for Crashing {
    fn load(&self, source: &SourceConfig) -> Option<SourceState> {
        self.0.load(source)
    }
    fn save(&self, _: &SourceConfig, _: &SourceState) {
        panic!("a bug in the scheduler's task");
    }
    fn host(&self, source: &SourceConfig) -> Option<String> {
        self.0.host(source)
    }
    fn hosts(&self) -> &HostLimiter {
        self.0.hosts()
    }
    fn stored_host_limits(&self) -> crate::storage::StoredHostLimits {
        self.0.stored_host_limits()
    }
    async fn poll(&self, source: &SourceConfig, slots: PollSlots) -> PollReport {
        self.0.poll(source, slots).await
    }
}

/// A scheduler whose task died (a panic, a bug) no longer says it runs: `/readyz` turns 503
/// and a service manager's health check sees it, instead of a daemon that polls no more.
#[tokio::test(start_paused = true)]
async fn a_scheduler_task_that_panicked_is_not_reported_running() {
    let stats = Arc::new(SchedulerStats::default());
    let task = tokio::spawn(run(
        Arc::new(Crashing(Mock::new(Duration::from_millis(10), |_, _| {
            Answer::Ok
        }))),
        vec![source("a", "one.example", Duration::from_secs(60))].into(),
        schedule(Duration::from_secs(60), Duration::from_secs(1)),
        64,
        stats.clone(),
        CancellationToken::new(),
        TaskTracker::new(),
        mpsc::unbounded_channel().1,
    ));
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(stats.running.load(Ordering::SeqCst), "started");
    let ended = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the first poll's end panics");
    assert!(ended.unwrap_err().is_panic());
    assert!(!stats.running.load(Ordering::SeqCst));
}

/// Stops a scheduler started by the test, and waits for its polls.
async fn stop(cancel: CancellationToken, task: tokio::task::JoinHandle<()>, tracker: TaskTracker) {
    cancel.cancel();
    let _ = task.await;
    tracker.close();
    tracker.wait().await;
}

/// Start times of `name`'s polls after `at`.
fn starts_after(mock: &Mock, name: &str, at: Duration) -> Vec<Duration> {
    mock.starts_of(name)
        .into_iter()
        .filter(|t| *t > at)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_sources_spread_evenly_over_their_interval() {
    let interval = Duration::from_secs(900);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    // 10,000 sources on 100 hosts, started together with a short startup spread.
    let sources: Vec<SourceConfig> = (0..10_000)
        .map(|i| source(&format!("s{i}"), &format!("h{}.example", i % 100), interval))
        .collect();
    run_for(
        &mock,
        sources,
        schedule(interval, Duration::from_secs(30)),
        Duration::from_secs(40 * 60),
    )
    .await;
    // After the first polls every source sits on its phase slot: each one is polled once in
    // any window of one interval, and the polls are spread evenly over it.
    let window = (Duration::from_secs(23 * 60), Duration::from_secs(38 * 60));
    let starts = mock.starts.lock().unwrap().clone();
    let mut per_source: HashMap<&str, u32> = HashMap::new();
    let mut buckets = [0u32; 20];
    for (name, t) in &starts {
        if *t >= window.0 && *t < window.1 {
            *per_source.entry(name.as_str()).or_default() += 1;
            let slot = (*t - window.0).as_secs_f64() / interval.as_secs_f64() * 20.0;
            buckets[(slot as usize).min(19)] += 1;
        }
    }
    assert_eq!(per_source.len(), 10_000);
    assert!(per_source.values().all(|n| *n == 1));
    for b in buckets {
        assert!(
            (475..=525).contains(&b),
            "not within ±5 % of uniform: {buckets:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_exponentially_and_recover() {
    let interval = Duration::from_secs(60);
    // Fails on polls 1..=6, succeeds from the 7th.
    let mock = Mock::new(Duration::ZERO, |_, n| {
        if n <= 6 {
            Answer::Status(500, None)
        } else {
            Answer::Ok
        }
    });
    let sources = vec![source("flaky", "a.example", interval)];
    run_for(
        &mock,
        sources,
        schedule(interval, Duration::from_secs(1)),
        Duration::from_secs(3 * 3600),
    )
    .await;
    let starts = mock.starts_of("flaky");
    let gaps: Vec<f64> = starts
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    // After failure n the wait is interval × 2^(n-1), minus at most 15 % jitter.
    for (n, gap) in gaps.iter().take(6).enumerate() {
        let full = 60.0 * f64::from(1u32 << n);
        assert!(
            *gap <= full + 1e-6 && *gap >= full * 0.85 - 1e-6,
            "gap {n}: {gaps:?}"
        );
    }
    // Recovered: back to about the interval (phase-aligned, so between ½ and 1½ of it), then
    // exactly the interval.
    assert!(gaps[6] >= 30.0 && gaps[6] < 90.0, "{gaps:?}");
    assert!((gaps[7] - 60.0).abs() < 1e-6, "{gaps:?}");
    assert_eq!(mock.state("flaky").failures, 0);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_respected_for_the_source_and_its_host() {
    let interval = Duration::from_secs(60);
    // "limited" answers its first poll with 429 and Retry-After: 1 h; "neighbour" lives on the
    // same host; "elsewhere" on another host.
    let mock = Mock::new(Duration::ZERO, |name, n| match (name, n) {
        ("limited", 1) => Answer::Status(429, Some(Duration::from_secs(3600))),
        _ => Answer::Ok,
    });
    let sources = vec![
        source("limited", "busy.example", interval),
        source("neighbour", "busy.example", interval),
        source("elsewhere", "calm.example", interval),
    ];
    run_for(
        &mock,
        sources,
        schedule(interval, Duration::from_secs(1)),
        Duration::from_secs(2 * 3600),
    )
    .await;
    let limited = mock.starts_of("limited");
    assert!(
        limited[1] - limited[0] >= Duration::from_secs(3600),
        "{limited:?}"
    );
    // The neighbour is deferred for the host's cooldown too (no poll inside the hour after the
    // 429, apart from one that may have started before it), with no failure counted.
    let t429 = limited[0];
    let neighbour = mock.starts_of("neighbour");
    let inside: Vec<_> = neighbour
        .iter()
        .filter(|t| **t > t429 + Duration::from_secs(1) && **t < t429 + Duration::from_secs(3600))
        .collect();
    assert!(
        inside.is_empty(),
        "neighbour polled during the cooldown: {neighbour:?}"
    );
    assert!(neighbour
        .iter()
        .any(|t| *t >= t429 + Duration::from_secs(3600)));
    assert_eq!(mock.state("neighbour").failures, 0);
    // The other host is not affected: about one poll a minute.
    assert!(mock.starts_of("elsewhere").len() >= 100);
}

/// Sources on hosts of their own that a temporary redirect takes to one busy host: once a
/// poll learnt it, that host's `Retry-After` holds them back too, and its
/// `per_host_concurrency` (2) counts their polls (when the pause ends, all six are due at
/// once). Both held only for the sources configured on the host: the others went on hitting
/// the paused host every minute, all at once.
#[tokio::test(start_paused = true)]
async fn a_host_reached_through_a_redirect_is_paused_and_limited_for_its_sources_too() {
    let interval = Duration::from_secs(60);
    let poll_time = Duration::from_secs(10);
    let mock = Mock::new(poll_time, |name, n| match (name, n) {
        ("limited", 3) => Answer::Status(429, Some(Duration::from_secs(3600))),
        _ => Answer::Ok,
    });
    let mut sources = vec![source("limited", "busy.example", interval)];
    for i in 0..5 {
        sources.push(source(
            &format!("via{i}"),
            &format!("origin{i}.example"),
            interval,
        ));
    }
    run_for(
        &mock,
        sources,
        schedule(interval, Duration::from_secs(1)),
        Duration::from_secs(2 * 3600),
    )
    .await;
    let via: Vec<Duration> = (0..5)
        .flat_map(|i| mock.starts_of(&format!("via{i}")))
        .collect();
    // Polls reaching busy.example once every source's first poll learnt the redirect: at
    // most two in flight at any time.
    let mut reaching: Vec<Duration> = via.clone();
    reaching.extend(mock.starts_of("limited"));
    reaching.retain(|t| *t >= poll_time + Duration::from_secs(2));
    let most = reaching
        .iter()
        .map(|t| {
            reaching
                .iter()
                .filter(|u| **u <= *t && *t < **u + poll_time)
                .count()
        })
        .max();
    assert_eq!(most, Some(2), "{reaching:?}");
    // The pause: from the end of the poll the 429 answered, none of them starts for an hour.
    let paused_at = mock.starts_of("limited")[2] + poll_time;
    let inside: Vec<_> = via
        .iter()
        .filter(|t| **t > paused_at + Duration::from_secs(1))
        .filter(|t| **t < paused_at + Duration::from_secs(3600))
        .collect();
    assert!(inside.is_empty(), "polled during the pause: {inside:?}");
    assert!(via
        .iter()
        .any(|t| *t >= paused_at + Duration::from_secs(3600)));
}

/// Most polls in flight at once among those started at `starts`, each `poll_time` long.
fn most_at_once(starts: &[Duration], poll_time: Duration) -> usize {
    starts
        .iter()
        .map(|t| {
            starts
                .iter()
                .filter(|u| **u <= *t && *t < **u + poll_time)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// A restart: the first round's polls of sources that a temporary redirect took to one host
/// on their last polls obey that host's `per_host_concurrency` (2) from the start. The
/// redirects were known in memory only: all five went there at once, until each poll had
/// learnt its redirect again.
#[tokio::test(start_paused = true)]
async fn the_hosts_redirects_take_sources_to_are_known_after_a_restart() {
    let interval = Duration::from_secs(3600);
    let poll_time = Duration::from_secs(10);
    let mock = Mock::new(poll_time, |_, _| Answer::Ok);
    let sources: Vec<SourceConfig> = (0..5)
        .map(|i| source(&format!("via{i}"), &format!("origin{i}.example"), interval))
        .collect();
    for s in &sources {
        let st = SourceState {
            configured_url: Some(s.url.to_string()),
            redirect_host: Some("busy.example:80".into()),
            ..SourceState::default()
        };
        mock.save(s, &st);
    }
    // A source whose URL was edited since: its redirect belonged to the old URL.
    let edited = source("via_edited", "origin9.example", interval);
    mock.save(
        &edited,
        &SourceState {
            configured_url: Some("http://old.example/feed.xml".into()),
            redirect_host: Some("busy.example:80".into()),
            ..SourceState::default()
        },
    );
    let mut all = sources.clone();
    all.push(edited.clone());
    run_for(
        &mock,
        all,
        schedule(interval, Duration::from_secs(1)),
        Duration::from_secs(120),
    )
    .await;
    let first: Vec<Duration> = (0..5)
        .flat_map(|i| mock.starts_of(&format!("via{i}")))
        .collect();
    assert_eq!(first.len(), 5, "{first:?}");
    assert_eq!(most_at_once(&first, poll_time), 2, "{first:?}");
    // Not held back by a redirect learnt for another URL.
    assert!(
        mock.starts_of("via_edited")[0] < poll_time,
        "{:?}",
        mock.starts_of("via_edited")
    );
}

/// A restart in the middle of a pause a host asked for (429 with Retry-After: 3 h, longer
/// than the 1 h back-off): the source that got it keeps its time, and the host's other
/// source waits too. The pause lived only in memory: both came within minutes.
#[tokio::test(start_paused = true)]
async fn a_hosts_pause_outlasts_a_restart() {
    let interval = Duration::from_secs(600);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let sources = vec![
        source("limited", "busy.example", interval),
        source("neighbour", "busy.example", interval),
        source("elsewhere", "calm.example", interval),
    ];
    let now = Utc::now().timestamp_millis();
    let paused = SourceState {
        configured_url: Some(sources[0].url.to_string()),
        failures: 1,
        last_error: Some(crate::storage::ErrorRecord {
            class: "http_status".into(),
            message: "HTTP status 429".into(),
            at: now,
            status: Some(429),
        }),
        next_poll: Some(now + 3 * 3600 * 1000),
        host_pause: Some(crate::storage::HostPause {
            host: "busy.example:80".into(),
            until: now + 3 * 3600 * 1000,
        }),
        ..SourceState::default()
    };
    mock.save(&sources[0], &paused);
    for s in &sources[1..] {
        let st = SourceState {
            configured_url: Some(s.url.to_string()),
            next_poll: Some(now + 60 * 1000),
            ..SourceState::default()
        };
        mock.save(s, &st);
    }
    let sched = ScheduleConfig {
        max_backoff: Duration::from_secs(3600),
        max_retry_after: Duration::from_secs(4 * 3600),
        ..schedule(interval, Duration::from_secs(10))
    };
    run_for(&mock, sources, sched, Duration::from_secs(2 * 3600)).await;
    assert!(
        mock.starts_of("limited").is_empty(),
        "{:?}",
        mock.starts_of("limited")
    );
    assert!(
        mock.starts_of("neighbour").is_empty(),
        "{:?}",
        mock.starts_of("neighbour")
    );
    assert!(mock.starts_of("elsewhere").len() >= 10);
}

/// The stored state of `source` after its server answered `status` at `at` with a
/// `Retry-After` that pauses its host, `busy.example:80`, until `until`.
fn paused(source: &SourceConfig, status: u16, at: Millis, until: Millis) -> SourceState {
    SourceState {
        configured_url: Some(source.url.to_string()),
        last_error: Some(crate::storage::ErrorRecord {
            class: "http_status".into(),
            message: format!("HTTP status {status} (Retry-After)"),
            at,
            status: Some(status),
        }),
        host_pause: Some(crate::storage::HostPause {
            host: "busy.example:80".into(),
            until,
        }),
        ..SourceState::default()
    }
}

/// The pause a restart resumes is the one the server asked for, not the failing source's
/// back-off: a 503 with `Retry-After: 120` on a source three failures deep (its own next try
/// an hour away) held every other source of its host for that hour after a restart.
#[tokio::test(start_paused = true)]
async fn a_restart_resumes_the_pause_the_server_asked_for_not_the_back_off() {
    let interval = Duration::from_secs(600);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let sources = vec![
        source("limited", "busy.example", interval),
        source("neighbour", "busy.example", interval),
    ];
    let now = Utc::now().timestamp_millis();
    let failing = SourceState {
        failures: 3,
        next_poll: Some(now + 3600 * 1000),
        ..paused(&sources[0], 503, now, now + 120 * 1000)
    };
    mock.save(&sources[0], &failing);
    let neighbour = SourceState {
        configured_url: Some(sources[1].url.to_string()),
        polls: 5,
        next_poll: Some(now + 30 * 1000),
        ..SourceState::default()
    };
    mock.save(&sources[1], &neighbour);
    let sched = ScheduleConfig {
        max_backoff: Duration::from_secs(6 * 3600),
        ..schedule(interval, Duration::from_secs(10))
    };
    run_for(&mock, sources, sched, Duration::from_secs(15 * 60)).await;
    let starts = mock.starts_of("neighbour");
    assert!(!starts.is_empty(), "the neighbour waited out the back-off");
    // Not before the server's two minutes were up.
    assert!(starts[0] >= Duration::from_secs(115), "{starts:?}");
    assert!(mock.starts_of("limited").is_empty());
}

/// A 429 or 503 without `Retry-After` is a failure like another: a restart with a shorter
/// `max_backoff` brings its stored next try within it, as for a 500; one with `Retry-After`
/// keeps the pause the server asked for (up to `max_retry_after`).
#[tokio::test(start_paused = true)]
async fn a_429_without_retry_after_comes_within_a_shorter_max_backoff() {
    let interval = Duration::from_secs(600);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let sources = vec![
        source("plain", "a.example", interval),
        source("asked", "busy.example", interval),
    ];
    let now = Utc::now().timestamp_millis();
    let mut plain = paused(&sources[0], 429, now, now);
    plain.host_pause = None;
    plain.last_error = plain.last_error.map(|e| crate::storage::ErrorRecord {
        message: "HTTP status 429 Too Many Requests".into(),
        ..e
    });
    mock.save(
        &sources[0],
        &SourceState {
            failures: 5,
            next_poll: Some(now + 3600 * 1000),
            ..plain
        },
    );
    mock.save(
        &sources[1],
        &SourceState {
            failures: 5,
            next_poll: Some(now + 3600 * 1000),
            ..paused(&sources[1], 429, now, now + 3600 * 1000)
        },
    );
    let sched = ScheduleConfig {
        max_backoff: Duration::from_secs(300),
        max_retry_after: Duration::from_secs(2 * 3600),
        ..schedule(interval, Duration::from_secs(10))
    };
    run_for(&mock, sources, sched, Duration::from_secs(30 * 60)).await;
    let plain = mock.starts_of("plain");
    assert!(
        plain
            .first()
            .is_some_and(|s| *s <= Duration::from_secs(301)),
        "{plain:?}"
    );
    assert!(mock.starts_of("asked").is_empty());
}

/// A restart (or a reload) with a shorter `max_retry_after` than the pause a source's host
/// asked for (an hour; the bound now ten minutes): the source that got the 429, three
/// failures deep, is tried again after its own back-off (600 s × 4, with up to 15 % of
/// jitter off), not at the end of the whole pause.
#[tokio::test(start_paused = true)]
async fn a_shorter_max_retry_after_brings_the_paused_source_within_its_back_off() {
    let interval = Duration::from_secs(600);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let sources = vec![source("asked", "busy.example", interval)];
    let now = Utc::now().timestamp_millis();
    mock.save(
        &sources[0],
        &SourceState {
            failures: 3,
            last_poll: Some(now),
            next_poll: Some(now + 3600 * 1000),
            ..paused(&sources[0], 429, now, now + 3600 * 1000)
        },
    );
    let sched = ScheduleConfig {
        max_backoff: Duration::from_secs(3600),
        max_retry_after: Duration::from_secs(600),
        ..schedule(interval, Duration::from_secs(10))
    };
    run_for(&mock, sources, sched, Duration::from_secs(3000)).await;
    let starts = mock.starts_of("asked");
    assert!(
        starts
            .first()
            .is_some_and(|s| (2030..=2410).contains(&s.as_secs())),
        "{starts:?}"
    );
}

/// The wall clock set back six hours between two runs: the stored back-off (80 s) and the
/// host's pause (60 s) lay six hours ahead, and were kept up to `max_backoff` and
/// `max_retry_after` (6 h). Each is kept for no longer than it was planned.
#[tokio::test(start_paused = true)]
async fn a_clock_set_back_between_runs_does_not_stretch_waits() {
    let interval = Duration::from_secs(600);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let sources = vec![
        source("failing", "down.example", interval),
        source("limited", "busy.example", interval),
        source("neighbour", "busy.example", interval),
    ];
    // The last polls, by the clock of the previous run: six hours ahead of this one's.
    let then = Utc::now().timestamp_millis() + 6 * 3600 * 1000;
    let failing = SourceState {
        configured_url: Some(sources[0].url.to_string()),
        failures: 2,
        last_poll: Some(then),
        next_poll: Some(then + 80 * 1000),
        ..SourceState::default()
    };
    mock.save(&sources[0], &failing);
    let limited = SourceState {
        failures: 1,
        last_poll: Some(then),
        next_poll: Some(then + 60 * 1000),
        ..paused(&sources[1], 429, then, then + 60 * 1000)
    };
    mock.save(&sources[1], &limited);
    let neighbour = SourceState {
        configured_url: Some(sources[2].url.to_string()),
        polls: 5,
        last_poll: Some(then),
        next_poll: Some(then + 10 * 1000),
        ..SourceState::default()
    };
    mock.save(&sources[2], &neighbour);
    let sched = ScheduleConfig {
        max_backoff: Duration::from_secs(6 * 3600),
        max_retry_after: Duration::from_secs(6 * 3600),
        ..schedule(interval, Duration::from_secs(10))
    };
    run_for(&mock, sources, sched, Duration::from_secs(5 * 60)).await;
    // Each as it was planned (the neighbour due at once, held by its host's pause).
    for (name, from, by) in [
        ("failing", 0, 85),
        ("limited", 55, 65),
        ("neighbour", 55, 65),
    ] {
        let starts = mock.starts_of(name);
        let first = starts.first().copied();
        assert!(
            first.is_some_and(|s| (from..=by).contains(&s.as_secs())),
            "{name}: {starts:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_pause_outlives_the_removal_of_the_source_that_learnt_it() {
    let interval = Duration::from_secs(600);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let removed = source("removed", "busy.example", interval);
    let now = Utc::now().timestamp_millis();
    let failing = SourceState {
        configured_url: Some(removed.url.to_string()),
        failures: 1,
        next_poll: Some(now + 120 * 1000),
        host_pause: Some(crate::storage::HostPause {
            host: "busy.example:80".into(),
            until: now + 120 * 1000,
        }),
        ..SourceState::default()
    };
    mock.save(&removed, &failing);
    // Only the neighbour is configured now; it was due at once.
    let sources = vec![source("neighbour", "busy.example", interval)];
    run_for(
        &mock,
        sources,
        schedule(interval, Duration::from_secs(10)),
        Duration::from_secs(5 * 60),
    )
    .await;
    let starts = mock.starts_of("neighbour");
    assert!(!starts.is_empty());
    assert!(starts[0] >= Duration::from_secs(115), "{starts:?}");
}

#[tokio::test(start_paused = true)]
async fn polls_of_one_source_never_overlap() {
    // Each poll takes three intervals.
    let interval = Duration::from_secs(10);
    let mock = Mock::new(Duration::from_secs(30), |_, _| Answer::Ok);
    let sources: Vec<SourceConfig> = (0..5)
        .map(|i| source(&format!("slow{i}"), &format!("h{i}.example"), interval))
        .collect();
    run_for(
        &mock,
        sources,
        schedule(interval, Duration::from_secs(5)),
        Duration::from_secs(3600),
    )
    .await;
    assert_eq!(mock.overlaps.load(Ordering::SeqCst), 0);
    let starts = mock.starts_of("slow0");
    assert!(starts.len() > 50);
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(30), "{starts:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn gone_sources_are_not_polled_again() {
    let interval = Duration::from_secs(60);
    let mock = Mock::new(Duration::ZERO, |name, _| {
        if name == "dead" {
            Answer::Status(410, None)
        } else {
            Answer::Ok
        }
    });
    let sources = vec![
        source("dead", "a.example", interval),
        source("alive", "a.example", interval),
    ];
    run_for(
        &mock,
        sources,
        schedule(interval, Duration::from_secs(1)),
        Duration::from_secs(3600),
    )
    .await;
    assert_eq!(mock.starts_of("dead").len(), 1);
    assert!(mock.state("dead").gone_since.is_some());
    assert_eq!(mock.state("dead").next_poll, None);
    assert!(mock.starts_of("alive").len() > 50);
}

#[tokio::test(start_paused = true)]
async fn an_edited_url_is_polled_at_start_not_at_the_old_urls_next_poll() {
    let interval = Duration::from_secs(900);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let sources = vec![
        source("kept", "a.example", interval),
        source("moved", "b.example", interval),
    ];
    // Both failed five times at their stored URL and wait hours into their back-off; the
    // operator has since fixed "moved"'s URL.
    let later = Utc::now().timestamp_millis() + 5 * 3600 * 1000;
    for (s, url) in [
        (&sources[0], sources[0].url.to_string()),
        (&sources[1], "http://old.example/moved.xml".to_string()),
    ] {
        let st = SourceState {
            configured_url: Some(url),
            failures: 5,
            next_poll: Some(later),
            ..SourceState::default()
        };
        mock.save(s, &st);
    }
    run_for(
        &mock,
        sources,
        schedule(interval, Duration::from_secs(10)),
        Duration::from_secs(60),
    )
    .await;
    assert!(mock.starts_of("kept").is_empty());
    let moved = mock.starts_of("moved");
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(moved[0] <= Duration::from_secs(10), "{moved:?}");
}

/// The edited source's stored next poll is its new time, not the old URL's hours away, so
/// that /status says when it comes.
#[tokio::test(start_paused = true)]
async fn an_edited_urls_new_time_is_stored() {
    let interval = Duration::from_secs(900);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let sources = vec![source("moved", "b.example", interval)];
    let later = Utc::now().timestamp_millis() + 5 * 3600 * 1000;
    let st = SourceState {
        configured_url: Some("http://old.example/moved.xml".into()),
        failures: 5,
        next_poll: Some(later),
        ..SourceState::default()
    };
    mock.save(&sources[0], &st);
    let spread = Duration::from_secs(600);
    run_for(
        &mock,
        sources,
        schedule(interval, spread),
        Duration::from_secs(1),
    )
    .await;
    assert!(mock.starts_of("moved").is_empty(), "not polled yet");
    let next = mock.state("moved").next_poll.unwrap_or(i64::MAX);
    let latest = Utc::now().timestamp_millis() + spread.as_millis() as i64;
    assert!(next <= latest, "{next} > {latest}");
}

#[tokio::test(start_paused = true)]
async fn a_reload_adds_removes_and_reschedules_sources_without_overlapping_polls() {
    let minute = Duration::from_secs(60);
    // Every poll takes 20 s, so that some are in flight when the reload comes.
    let mock = Mock::new(Duration::from_secs(20), |_, _| Answer::Ok);
    let before = vec![
        source("kept", "a.example", minute),
        source("dropped", "a.example", minute),
        source("slowed", "b.example", minute),
        source("moved", "c.example", minute),
    ];
    let (cancel, task, tracker, control) = start_with(
        &mock,
        before.clone(),
        schedule(minute, Duration::from_secs(5)),
    );
    tokio::time::sleep(Duration::from_secs(10 * 60 + 30)).await;
    let at_reload = Instant::now() - mock.t0;
    let mut after = before.clone();
    after.remove(1);
    after[1].interval = 4 * minute;
    after[2].url = Url::parse("http://d.example/moved.xml").unwrap();
    after.push(source("added", "e.example", minute));
    control
        .send(Control::Reload(
            after.into(),
            schedule(minute, Duration::from_secs(5)),
        ))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(20 * 60)).await;
    stop(cancel, task, tracker).await;
    let since = |name: &str| starts_after(&mock, name, at_reload);
    assert_eq!(mock.overlaps.load(Ordering::SeqCst), 0, "overlapping polls");
    // Kept: still once a minute.
    assert!(
        (19..=21).contains(&since("kept").len()),
        "{:?}",
        since("kept")
    );
    // Dropped: only a poll that was already in flight may finish, none starts.
    assert!(since("dropped").is_empty(), "{:?}", since("dropped"));
    // Slowed: every four minutes from now on.
    let slowed = since("slowed");
    assert!((4..=6).contains(&slowed.len()), "{slowed:?}");
    for w in slowed.windows(2) {
        assert!(w[1] - w[0] >= 3 * minute, "{slowed:?}");
    }
    // Moved: polled at its new URL within the startup spread, then once a minute.
    let moved = since("moved");
    assert!(moved[0] - at_reload <= Duration::from_secs(45), "{moved:?}");
    assert_eq!(
        mock.state("moved").configured_url.as_deref(),
        Some("http://d.example/moved.xml")
    );
    // Added: polled soon, then once a minute.
    let added = since("added");
    assert!(added[0] - at_reload <= Duration::from_secs(5), "{added:?}");
    assert!((19..=21).contains(&added.len()), "{added:?}");
}

#[tokio::test(start_paused = true)]
async fn a_reload_applies_new_schedule_bounds_to_waiting_sources() {
    let minute = Duration::from_secs(60);
    // "down" fails every poll (back-off 1, 2, 4 … minutes); "steady" answers every minute;
    // both on hosts of their own.
    let mock = Mock::new(Duration::from_secs(1), |name, _| match name {
        "down" => Answer::Connect,
        _ => Answer::Ok,
    });
    let sources = vec![
        source("down", "a.example", minute),
        source("steady", "b.example", minute),
    ];
    let (cancel, task, tracker, control) = start_with(
        &mock,
        sources.clone(),
        schedule(minute, Duration::from_secs(5)),
    );
    // 40 minutes: "down" has failed 6 times and waits ~32 minutes for its next try.
    tokio::time::sleep(40 * minute).await;
    let at_reload = Instant::now() - mock.t0;
    let down = mock.starts_of("down");
    let gap = down[down.len() - 1] - down[down.len() - 2];
    assert!(gap >= 14 * minute, "{down:?}");
    let mut tighter = schedule(minute, Duration::from_secs(5));
    tighter.max_backoff = 5 * minute;
    tighter.min_interval = 3 * minute;
    control
        .send(Control::Reload(sources.into(), tighter))
        .unwrap();
    // Its stored next try (what /status shows) moved in as well.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let next = mock.state("down").next_poll.unwrap();
    assert!(
        next <= mock.wall0 + millis(at_reload + 5 * minute + Duration::from_secs(1)),
        "{next}"
    );
    tokio::time::sleep(30 * minute).await;
    stop(cancel, task, tracker).await;
    let since = |name: &str| starts_after(&mock, name, at_reload);
    // The failing source comes within the new longest back-off, and keeps to it.
    let down = since("down");
    assert!(down[0] - at_reload <= 5 * minute, "{down:?}");
    for w in down.windows(2) {
        assert!(
            w[1] - w[0] <= 5 * minute + Duration::from_secs(2),
            "{down:?}"
        );
    }
    // The steady one is no longer polled every minute, but on a three-minute slot: the
    // first poll after the reload is the one already due, the next lands on the new slot
    // (at least half an interval on), then every three minutes.
    let steady = since("steady");
    assert!((8..=11).contains(&steady.len()), "{steady:?}");
    for (k, w) in steady.windows(2).enumerate() {
        let least = if k == 0 { 3 * minute / 2 } else { 3 * minute };
        assert!(w[1] - w[0] >= least, "{steady:?}");
    }
}

/// A lowered `max_interval` is a promise to readers: no source waits longer than it after
/// the reload, though the schedule otherwise keeps a stored time up to 1½ intervals ahead.
#[tokio::test(start_paused = true)]
async fn a_reload_that_lowers_max_interval_brings_every_wait_within_it() {
    let minute = Duration::from_secs(60);
    let mock = Mock::new(Duration::from_secs(1), |_, _| Answer::Ok);
    let sources = vec![source("hourly", "a.example", 60 * minute)];
    let (cancel, task, tracker, control) = start_with(
        &mock,
        sources.clone(),
        schedule(60 * minute, Duration::from_secs(5)),
    );
    // Polled once; its next poll is at least half an hour on.
    tokio::time::sleep(5 * minute).await;
    assert_eq!(mock.starts_of("hourly").len(), 1);
    let at_reload = Instant::now() - mock.t0;
    let mut tighter = schedule(60 * minute, Duration::from_secs(5));
    tighter.max_interval = 10 * minute;
    control
        .send(Control::Reload(sources.into(), tighter))
        .unwrap();
    tokio::time::sleep(40 * minute).await;
    stop(cancel, task, tracker).await;
    let after = starts_after(&mock, "hourly", at_reload);
    assert!(
        !after.is_empty() && after[0] - at_reload <= 10 * minute + Duration::from_secs(1),
        "{after:?}"
    );
    for w in after.windows(2) {
        assert!(
            w[1] - w[0] <= 10 * minute + Duration::from_secs(2),
            "{after:?}"
        );
    }
}

/// A mock whose every poll answers while the switch is on (it starts `on`), and fails to
/// connect while it is off: this machine's network, on and off.
fn network_switch(on: bool) -> (Arc<Mock>, Arc<std::sync::atomic::AtomicBool>) {
    let online = Arc::new(std::sync::atomic::AtomicBool::new(on));
    let flag = online.clone();
    let mock = Mock::new(Duration::ZERO, move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Answer::Ok
        } else {
            Answer::Connect
        }
    });
    (mock, online)
}

#[tokio::test(start_paused = true)]
async fn network_down_holds_back_probes_and_recovers() {
    let interval = Duration::from_secs(60);
    let (mock, online) = network_switch(false);
    let sources: Vec<SourceConfig> = (0..6)
        .map(|i| source(&format!("s{i}"), &format!("h{i}.example"), interval))
        .collect();
    let sched = schedule(interval, Duration::from_secs(6));
    let stats = Arc::new(SchedulerStats::default());
    let (cancel, task, tracker, _control) = start_observed(&mock, sources, sched, 8, stats.clone());
    // Offline for an hour.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let net = stats.network();
    assert!(net.down_since.is_some(), "{net:?}");
    let polls_offline = mock.starts.lock().unwrap().len();
    // Without holding back, six sources at one minute would make ~360 polls; instead: the
    // polls until detection, then one probe every 30 s.
    assert!(polls_offline <= 6 + 3600 / 30 + 2, "{polls_offline}");
    // Nobody was punished for it, not even the sources whose failures called the network
    // down: every one is held (none failing, none with a back-off step).
    assert!(net.held >= 5, "{net:?}");
    for i in 0..6 {
        let st = mock.state(&format!("s{i}"));
        assert_eq!(st.failures, 0, "s{i}: {st:?}");
    }
    // Back online: the next probe succeeds and everything is released.
    online.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(120)).await;
    let net = stats.network();
    assert!(net.down_since.is_none(), "{net:?}");
    assert_eq!(net.held, 0);
    for i in 0..6 {
        assert_eq!(mock.state(&format!("s{i}")).failures, 0, "s{i}");
    }
    stop(cancel, task, tracker).await;
}

/// Polls that come due while the store refuses writes (disk full) fail at once: their
/// sources are held, with no back-off step and not through a reload, and polled again within
/// `startup_spread` once the store takes writes, not at their next slot an interval later.
#[tokio::test(start_paused = true)]
async fn sources_whose_polls_failed_on_a_full_disk_are_polled_once_it_takes_writes() {
    let hour = Duration::from_secs(3600);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let sources: Vec<SourceConfig> = (0..4)
        .map(|i| source(&format!("s{i}"), &format!("h{i}.example"), hour))
        .collect();
    // s0 was polled before, its next poll due now.
    mock.states.lock().unwrap().insert(
        "s0".into(),
        SourceState {
            configured_url: Some(sources[0].url.to_string()),
            polls: 1,
            next_poll: Some(chrono::Utc::now().timestamp_millis()),
            ..SourceState::default()
        },
    );
    mock.store_faulted.store(true, Ordering::SeqCst);
    let sched = schedule(hour, Duration::from_secs(6));
    let stats = Arc::new(SchedulerStats::default());
    let (cancel, task, tracker, control) =
        start_observed(&mock, sources.clone(), sched.clone(), 8, stats.clone());
    tokio::time::sleep(Duration::from_secs(60)).await;
    // A reload meanwhile keeps them held, not polled again nor lost.
    control
        .send(Control::Reload(sources.clone().into(), sched.clone()))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(20 * 60)).await;
    for i in 0..4 {
        let name = format!("s{i}");
        assert_eq!(mock.starts_of(&name).len(), 1, "{name}");
    }
    assert_eq!(stats.store_held.load(Ordering::SeqCst), 4);
    assert!(stats.held_at().is_some());
    let reopened = Instant::now() - mock.t0;
    mock.store_faulted.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(30)).await;
    for i in 0..4 {
        let name = format!("s{i}");
        let again = starts_after(&mock, &name, reopened);
        assert_eq!(again.len(), 1, "{name}: {:?}", mock.starts_of(&name));
        assert!(again[0] - reopened <= Duration::from_secs(8), "{again:?}");
        let st = mock.state(&name);
        assert_eq!(st.failures, 0, "{name}: {st:?}");
    }
    assert_eq!(stats.store_held.load(Ordering::SeqCst), 0);
    assert!(stats.held_at().is_none());
    stop(cancel, task, tracker).await;
}

/// A source on a short interval fails several times (backing off) before the others, on
/// long intervals, fail once each and the network is called down: every failure it had
/// since a server last answered is forgiven, not one, and it shows `held` with the rest
/// instead of `failing` with a back-off.
#[tokio::test(start_paused = true)]
async fn every_failure_of_a_source_that_led_to_calling_the_network_down_is_forgiven() {
    let (mock, online) = network_switch(true);
    let sources = vec![
        source("quick", "q.example", Duration::from_secs(60)),
        source("slow-a", "a.example", Duration::from_secs(1800)),
        source("slow-b", "b.example", Duration::from_secs(1800)),
    ];
    let sched = schedule(Duration::from_secs(60), Duration::from_secs(5));
    let stats = Arc::new(SchedulerStats::default());
    let (cancel, task, tracker, _control) = start_observed(&mock, sources, sched, 4, stats.clone());
    // Everyone answers once; then the network goes.
    tokio::time::sleep(Duration::from_secs(30)).await;
    online.store(false, Ordering::SeqCst);
    // The quick one fails (and backs off) until the slow ones fail at their next polls.
    tokio::time::sleep(Duration::from_secs(1500)).await;
    let quick = mock.state("quick");
    assert!(quick.failures >= 3, "{quick:?}");
    assert!(stats.network().down_since.is_none());
    // The slow ones' next polls come within 1½ intervals of their first.
    tokio::time::sleep(Duration::from_secs(1300)).await;
    let net = stats.network();
    assert!(net.down_since.is_some(), "{net:?}");
    for name in ["quick", "slow-a", "slow-b"] {
        let st = mock.state(name);
        assert_eq!(st.failures, 0, "{name}: {st:?}");
        assert_eq!(st.next_poll, None, "{name}: {st:?}");
    }
    stop(cancel, task, tracker).await;
}

/// A reload that brings new hosts while the network is down probes with one of them as soon
/// as it comes due, instead of at the next probe of the old ones: an operator who replaced
/// the failing feeds saw the network called down for up to `network_probe_interval` more.
#[tokio::test(start_paused = true)]
async fn a_reload_with_new_hosts_probes_them_at_once_while_the_network_is_down() {
    let interval = Duration::from_secs(60);
    let mock = Mock::new(Duration::ZERO, |name, _| {
        if name.starts_with("new") {
            Answer::Ok
        } else {
            Answer::Connect
        }
    });
    let old: Vec<SourceConfig> = (0..6)
        .map(|i| source(&format!("s{i}"), &format!("h{i}.example"), interval))
        .collect();
    let sched = schedule(interval, Duration::from_secs(6));
    let stats = Arc::new(SchedulerStats::default());
    let (cancel, task, tracker, control) =
        start_observed(&mock, old, sched.clone(), 8, stats.clone());
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(stats.network().down_since.is_some());
    // Just after a probe of the old sources: the next one would come 30 s later.
    let probes = mock.starts.lock().unwrap().len();
    while mock.starts.lock().unwrap().len() == probes {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One of the failing feeds stays; the probe goes to the new host all the same.
    let new = vec![
        source("s0", "h0.example", interval),
        source("new", "n.example", interval),
    ];
    control
        .send(Control::Reload(new.clone().into(), sched.clone()))
        .unwrap();
    // A second reload before the new host's source came due keeps it new.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut again = new;
    again.push(source("s0b", "h0.example", interval));
    control.send(Control::Reload(again.into(), sched)).unwrap();
    // Due within the startup spread (6 s), probed then, and the network is back.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let net = stats.network();
    assert!(net.down_since.is_none(), "{net:?}");
    assert_eq!(mock.starts_of("new").len(), 1);
    stop(cancel, task, tracker).await;
}

/// A reload that removes (or disables) every source whose host failed, while the network
/// is down, leaves no evidence that it is: it is up again at once. It stayed down, with
/// nothing held and nothing to probe, until a restart.
#[tokio::test(start_paused = true)]
async fn a_reload_that_leaves_no_failing_host_takes_the_network_as_up() {
    let interval = Duration::from_secs(60);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Connect);
    let old: Vec<SourceConfig> = (0..3)
        .map(|i| source(&format!("s{i}"), &format!("h{i}.example"), interval))
        .collect();
    let sched = schedule(interval, Duration::from_secs(6));
    let stats = Arc::new(SchedulerStats::default());
    let (cancel, task, tracker, control) =
        start_observed(&mock, old, sched.clone(), 8, stats.clone());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(stats.network().down_since.is_some());
    control
        .send(Control::Reload(Vec::new().into(), sched))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let net = stats.network();
    assert!(net.down_since.is_none(), "{net:?}");
    assert_eq!(net.held, 0, "{net:?}");
    stop(cancel, task, tracker).await;
}

/// The stored `last_poll` is wall-clock time: with the wall clock stepped an hour forward,
/// it lay an hour ahead of the scheduler's clock, and poll-now was refused for that hour.
/// The scheduler's own start times are kept by index into the source list: a reload that
/// puts another source before one carries its time over by name.
#[tokio::test(start_paused = true)]
async fn a_requested_poll_is_measured_on_the_monotonic_clock() {
    let hour = Duration::from_secs(3600);
    let mock = Mock::with_wall_ahead(Duration::from_secs(1), 3_600_000, |_, _| Answer::Ok);
    let mut sched = schedule(hour, Duration::from_secs(5));
    sched.min_interval = Duration::from_secs(60);
    let (cancel, task, tracker, control) = start_with(
        &mock,
        vec![
            source("a", "a.example", hour),
            source("b", "b.example", hour),
        ],
        sched.clone(),
    );
    let ask_for = |name: &str| {
        let (reply, answer) = tokio::sync::oneshot::channel();
        control.send(Control::PollNow(name.into(), reply)).unwrap();
        async move { answer.await.unwrap() }
    };
    let ask = || ask_for("a");
    // The first poll within the startup spread, then a minute and a half later: allowed.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(mock.starts_of("a").len(), 1);
    tokio::time::sleep(Duration::from_secs(90)).await;
    assert_eq!(ask().await, PollNow::Started);
    // Asked again at once: too soon, by the minute; so after a reload that put a new
    // source before it, and the other source, polled only at the start, is not.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for reload in [false, true] {
        if reload {
            let reordered = vec![
                source("c", "c.example", hour),
                source("b", "b.example", hour),
                source("a", "a.example", hour),
            ];
            control
                .send(Control::Reload(reordered.into(), sched.clone()))
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        match ask().await {
            PollNow::TooSoon(left) => assert!(
                (Duration::from_secs(50)..=Duration::from_secs(60)).contains(&left),
                "{left:?}"
            ),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ask_for("b").await, PollNow::Started);
    stop(cancel, task, tracker).await;
}

#[tokio::test(start_paused = true)]
async fn a_requested_poll_starts_now_once_and_never_sooner_than_the_minimum_interval() {
    let hour = Duration::from_secs(3600);
    let mock = Mock::new(Duration::from_secs(20), |name, _| match name {
        "cooling" => Answer::Status(429, Some(Duration::from_secs(2 * 3600))),
        "gone" => Answer::Status(410, None),
        _ => Answer::Ok,
    });
    let sources = vec![
        source("fixed", "a.example", hour),
        source("cooling", "b.example", hour),
        source("gone", "c.example", hour),
    ];
    let mut sched = schedule(hour, Duration::from_secs(5));
    sched.min_interval = Duration::from_secs(5 * 60);
    let (cancel, task, tracker, control) = start_with(&mock, sources, sched);
    let ask = |name: &str| {
        let (reply, answer) = tokio::sync::oneshot::channel();
        control.send(Control::PollNow(name.into(), reply)).unwrap();
        async move { answer.await.unwrap() }
    };
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    let asked = Instant::now() - mock.t0;
    assert_eq!(ask("fixed").await, PollNow::Started);
    assert_eq!(ask("fixed").await, PollNow::InFlight);
    // Finished 20 s later: asked again, it is too soon by the rest of the 5 minutes.
    tokio::time::sleep(Duration::from_secs(30)).await;
    match ask("fixed").await {
        PollNow::TooSoon(left) => assert!(
            (Duration::from_secs(260)..=Duration::from_secs(270)).contains(&left),
            "{left:?}"
        ),
        other => panic!("{other:?}"),
    }
    // The host asked for two hours' pause; the source polled 410 is off the schedule; a name
    // the configuration does not have is not scheduled either.
    assert!(matches!(ask("cooling").await, PollNow::HostCoolingDown(_)));
    assert_eq!(ask("gone").await, PollNow::NotScheduled);
    assert_eq!(ask("nobody").await, PollNow::NotScheduled);
    tokio::time::sleep(3 * hour).await;
    stop(cancel, task, tracker).await;

    assert_eq!(mock.overlaps.load(Ordering::SeqCst), 0, "overlapping polls");
    let fixed = mock.starts_of("fixed");
    // The first poll, the one asked for at once, then on its hourly slot (at least half an
    // interval after a poll, `policy::next_poll`): the time it was waiting for is not polled
    // besides (a poll there would overlap the slot's or come sooner).
    assert!(fixed[0] <= Duration::from_secs(5), "{fixed:?}");
    assert_eq!(fixed[1], asked, "{fixed:?}");
    assert!((4..=5).contains(&fixed.len()), "{fixed:?}");
    for w in fixed[1..].windows(2) {
        assert!(w[1] - w[0] >= hour / 2, "{fixed:?}");
    }
    // The cooling host's source waited out its Retry-After, asked or not.
    let cooling = mock.starts_of("cooling");
    assert!(cooling[1..].iter().all(|t| *t >= 2 * hour), "{cooling:?}");
}

/// A feed's `<skipHours>` hold across a restart: the next poll it stored, hours away in the
/// one hour the feed allows, is kept, not brought within 1.5 intervals.
#[tokio::test(start_paused = true)]
async fn a_restart_keeps_a_next_poll_that_skip_hours_moved() {
    use chrono::Timelike;
    let interval = Duration::from_secs(600);
    let mock = Mock::new(Duration::ZERO, |_, _| Answer::Ok);
    let sources = vec![source("nightly", "night.example", interval)];
    let now = Utc::now().timestamp_millis();
    let next = now + 5 * 3600 * 1000;
    let allowed = chrono::DateTime::<Utc>::from_timestamp_millis(next)
        .unwrap()
        .hour();
    let state = SourceState {
        configured_url: Some(sources[0].url.to_string()),
        polls: 3,
        next_poll: Some(next),
        skip_hours: !(1u32 << allowed) & 0x00FF_FFFF,
        ..SourceState::default()
    };
    mock.save(&sources[0], &state);
    run_for(
        &mock,
        sources,
        schedule(interval, Duration::from_secs(10)),
        Duration::from_secs(3600),
    )
    .await;
    assert!(
        mock.starts_of("nightly").is_empty(),
        "{:?}",
        mock.starts_of("nightly")
    );
}

/// A mock whose hosts take one request at a time.
fn one_per_host(
    poll_time: Duration,
    script: impl Fn(&str, u64) -> Answer + Send + Sync + 'static,
) -> Arc<Mock> {
    let Some(mock) = Arc::try_unwrap(Mock::new(poll_time, script)).ok() else {
        unreachable!("a new mock has one owner");
    };
    Arc::new(Mock {
        hosts: HostLimiter::new(1, Duration::ZERO),
        ..mock
    })
}

/// A scheduler started for a test: its stop, its task, its tracker, its control channel.
type Running = (
    CancellationToken,
    tokio::task::JoinHandle<()>,
    TaskTracker,
    mpsc::UnboundedSender<Control>,
);

/// Starts the scheduler on `sources`; returns what stops it and the reload channel.
fn start_with(mock: &Arc<Mock>, sources: Vec<SourceConfig>, sched: ScheduleConfig) -> Running {
    start_limited(mock, sources, sched, 64)
}

/// [`start_with`], `concurrency` polls at once (`fetch.concurrency`).
fn start_limited(
    mock: &Arc<Mock>,
    sources: Vec<SourceConfig>,
    sched: ScheduleConfig,
    concurrency: usize,
) -> Running {
    let stats = Arc::new(SchedulerStats::default());
    start_observed(mock, sources, sched, concurrency, stats)
}

/// [`start_limited`], reporting to `stats` (the network's state, the held sources).
fn start_observed(
    mock: &Arc<Mock>,
    sources: Vec<SourceConfig>,
    sched: ScheduleConfig,
    concurrency: usize,
    stats: Arc<SchedulerStats>,
) -> Running {
    let (cancel, tracker) = (CancellationToken::new(), TaskTracker::new());
    let (control, controls) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(
        mock.clone(),
        sources.into(),
        sched,
        concurrency,
        stats,
        cancel.clone(),
        tracker.clone(),
        controls,
    ));
    (cancel, task, tracker, control)
}

/// Polls queued behind a host's slot when it answers 429 with `Retry-After` wait for the
/// pause: they checked it before they queued, and went on to hit the host as the slot
/// came free.
#[tokio::test(start_paused = true)]
async fn polls_queued_for_a_hosts_slot_obey_the_pause_it_asked_for_meanwhile() {
    let hour = Duration::from_secs(3600);
    let mock = one_per_host(Duration::from_secs(1), move |name, n| match (name, n) {
        ("limited", 1) => Answer::Status(429, Some(hour)),
        _ => Answer::Ok,
    });
    let mut sources: Vec<SourceConfig> = (0..6)
        .map(|i| source(&format!("n{i}"), "busy.example", 2 * hour))
        .collect();
    sources.insert(3, source("limited", "busy.example", 2 * hour));
    run_for(
        &mock,
        sources,
        schedule(2 * hour, Duration::from_millis(100)),
        Duration::from_secs(2 * 3600),
    )
    .await;
    let limited = mock.starts_of("limited");
    let t429 = limited[0];
    let starts = mock.starts.lock().unwrap().clone();
    let before = starts.iter().filter(|(_, t)| *t < t429).count();
    assert!(
        before < 6,
        "the 429 came last: nothing was queued behind it"
    );
    let inside: Vec<_> = starts
        .iter()
        .filter(|(_, t)| *t > t429 && *t < t429 + hour)
        .collect();
    assert!(inside.is_empty(), "polled during the pause: {inside:?}");
    // Deferred, not failed: every one is polled, those held back once the pause is over.
    for i in 0..6 {
        assert!(!mock.starts_of(&format!("n{i}")).is_empty());
        assert_eq!(mock.state(&format!("n{i}")).failures, 0);
    }
}

/// A source a reload removes while its poll waits for its host's slot is not polled: only a
/// poll in flight finishes.
#[tokio::test(start_paused = true)]
async fn a_source_removed_while_its_poll_waits_for_a_slot_is_not_polled() {
    let minute = Duration::from_secs(60);
    let mock = one_per_host(Duration::from_secs(20), |_, _| Answer::Ok);
    let sources: Vec<SourceConfig> = (0..4)
        .map(|i| source(&format!("q{i}"), "one.example", 10 * minute))
        .collect();
    let sched = schedule(10 * minute, Duration::from_millis(100));
    let (cancel, task, tracker, control) = start_with(&mock, sources.clone(), sched.clone());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let at_reload = Instant::now() - mock.t0;
    let first = mock.starts.lock().unwrap()[0].0.clone();
    let kept: Vec<SourceConfig> = sources.into_iter().filter(|s| s.name == first).collect();
    control.send(Control::Reload(kept.into(), sched)).unwrap();
    tokio::time::sleep(5 * minute).await;
    stop(cancel, task, tracker).await;
    let later: Vec<_> = mock
        .starts
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, t)| *t > at_reload)
        .cloned()
        .collect();
    assert!(later.is_empty(), "removed sources polled: {later:?}");
}

/// A source removed while it is polled and added back soon after is not polled again
/// before `min_interval`: that poll stored no next poll, and the one stored before it was
/// past.
#[tokio::test(start_paused = true)]
async fn a_source_removed_while_polled_and_added_back_waits_for_the_minimum_interval() {
    let minute = Duration::from_secs(60);
    let mock = Mock::new(Duration::from_secs(3), |_, _| Answer::Ok);
    let x = vec![source("x", "a.example", minute)];
    let mut sched = schedule(minute, Duration::from_millis(100));
    sched.min_interval = Duration::from_secs(30);
    let (cancel, task, tracker, control) = start_with(&mock, x.clone(), sched.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(mock.starts_of("x").len(), 1, "polled first");
    control
        .send(Control::Reload(Vec::new().into(), sched.clone()))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    control.send(Control::Reload(x.into(), sched)).unwrap();
    tokio::time::sleep(2 * minute).await;
    stop(cancel, task, tracker).await;
    let starts = mock.starts_of("x");
    assert!(starts.len() >= 2, "{starts:?}");
    // The stored `last_poll` is on the mock's wall clock, the wait on the scheduler's: each
    // read the system clock when it was made, some real milliseconds apart that the paused
    // tokio clock does not see (CI once measured 29.999 s). Polled at once, the gap would be
    // about 4.5 s.
    assert!(
        starts[1] - starts[0] >= Duration::from_secs(29),
        "{starts:?}"
    );
}

/// A poll waiting for its host's spacing holds no global slot (`fetch.concurrency` = 2
/// here): polls of other hosts, with no spacing to wait for, do not wait behind it.
#[tokio::test(start_paused = true)]
async fn a_poll_waiting_for_its_hosts_spacing_holds_no_global_slot() {
    let minute = Duration::from_secs(60);
    let Some(mock) = Arc::try_unwrap(Mock::new(Duration::from_secs(1), |_, _| Answer::Ok)).ok()
    else {
        unreachable!()
    };
    // per_host_concurrency 2 (the default), per_host_spacing 10m.
    let mock = Arc::new(Mock {
        hosts: HostLimiter::new(2, 10 * minute),
        ..mock
    });
    let mut sources = Vec::new();
    for i in 0..2 {
        sources.push(source(&format!("a{i}"), "a.example", 6 * 60 * minute));
        sources.push(source(&format!("c{i}"), "c.example", 6 * 60 * minute));
    }
    for i in 0..6 {
        sources.push(source(
            &format!("b{i}"),
            &format!("b{i}.example"),
            6 * 60 * minute,
        ));
    }
    // Two polls of other hosts that take both global slots first.
    for i in 0..2 {
        sources.push(source(
            &format!("x{i}"),
            &format!("x{i}.example"),
            6 * 60 * minute,
        ));
    }
    // Stored next polls (as a restart finds them): the a and c polls due in 1 s, the b
    // polls in 3 s.
    let wall = chrono::Utc::now().timestamp_millis();
    for s in &sources {
        let due = match &s.name[..1] {
            "x" => 1_000,
            "b" => 3_000,
            _ => 1_500,
        };
        mock.save(
            s,
            &SourceState {
                configured_url: Some(s.url.to_string()),
                polls: 1,
                last_poll: Some(wall - 3_600_000),
                next_poll: Some(wall + due),
                ..SourceState::default()
            },
        );
    }
    let (cancel, task, tracker, _control) = start_limited(
        &mock,
        sources,
        schedule(6 * 60 * minute, Duration::from_millis(100)),
        2,
    );
    tokio::time::sleep(30 * minute).await;
    stop(cancel, task, tracker).await;
    let mut starts = mock.starts.lock().unwrap().clone();
    starts.sort_by_key(|(_, t)| *t);
    // Six polls on six hosts with no spacing among them, two at a time, 1 s each.
    let last_b = (0..6)
        .map(|i| mock.starts_of(&format!("b{i}"))[0])
        .max()
        .unwrap();
    assert!(last_b < minute, "the b polls waited for a.example's and c.example's spacing: last at {last_b:?}: {starts:?}");
}
