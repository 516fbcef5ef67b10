//! Politeness per host: at most `fetch.per_host_concurrency` requests in flight to one host,
//! request starts at least `fetch.per_host_spacing` apart, and a host-wide cooldown after a
//! 429 or 503 with `Retry-After` (FreshRSS's domain-wide cooldown), so that the other sources on
//! that host wait too instead of hitting it again.
//!
//! One semaphore per host (lychee's `ratelimit/host`), created on first use. A host is a
//! configured source's `host:port` ([`host_key`]), so the map is bounded by the configuration;
//! the port is part of it because two ports are two servers as far as load goes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// The politeness key of an http(s) URL: lower-case `host:port`; `None` for other schemes.
pub fn host_key(url: &Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some(format!(
        "{}:{}",
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?
    ))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Per-host limits, shared by every poll.
#[derive(Debug)]
pub struct HostLimiter {
    per_host: usize,
    /// Least time between two request starts to one host, in milliseconds
    /// (`fetch.per_host_spacing`; a reload changes it).
    spacing_ms: AtomicU64,
    /// Longest cooldown, in milliseconds (`schedule.max_retry_after`; a reload changes it).
    max_cooldown_ms: AtomicU64,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    /// The other host each source's last poll was redirected to (a temporary redirect to a
    /// CDN or a feed proxy), by source name, with the configured URL it was learnt for: that
    /// host's pause, slots and spacing bind the source's polls too
    /// ([`HostLimiter::redirected`]).
    redirects: Mutex<HashMap<String, (String, String)>>,
}

#[derive(Debug)]
struct Host {
    permits: Arc<Semaphore>,
    timing: Mutex<HostTiming>,
}

#[derive(Debug, Default)]
struct HostTiming {
    /// Earliest start of the next request (spacing).
    next_start: Option<Instant>,
    /// The host asked to be left alone until then.
    cooldown_until: Option<Instant>,
}

/// Held while a request to a host is in flight. [`HostPermit::start`] marks the request's
/// start for the host's spacing.
#[derive(Debug)]
pub struct HostPermit {
    _permit: OwnedSemaphorePermit,
    host: Arc<Host>,
    /// The host's key, lower-case.
    key: String,
    spacing: Duration,
}

impl Host {
    /// Waits until the spacing would let a request start (without starting one).
    async fn ready(&self) {
        loop {
            let wait = {
                let t = self.timing.lock().unwrap_or_else(|p| p.into_inner());
                t.next_start.map_or(Duration::ZERO, |next| {
                    next.saturating_duration_since(Instant::now())
                })
            };
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Marks a request started if the spacing allows one now; the next starts `spacing`
    /// later.
    fn try_start(&self, spacing: Duration) -> bool {
        let mut t = self.timing.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if t.next_start.is_some_and(|next| next > now) {
            return false;
        }
        t.next_start = Some(now + spacing);
        true
    }

    /// The start this host's spacing counts from now (the last mark's next start).
    fn next_start(&self) -> Option<Instant> {
        self.timing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_start
    }

    /// The request a start was marked for (the mark that made the next start `marked`)
    /// starts now, if no other request was marked on the host since: the next one comes no
    /// sooner than `spacing` from now. `false` when another was (the mark is spent: it held
    /// the host for one spacing, and a request after that may have started since).
    fn start_marked(&self, marked: Option<Instant>, spacing: Duration) -> bool {
        let mut t = self.timing.lock().unwrap_or_else(|p| p.into_inner());
        if t.next_start != marked {
            return false;
        }
        let next = Instant::now() + spacing;
        if t.next_start.is_none_or(|n| n < next) {
            t.next_start = Some(next);
        }
        true
    }
}

impl HostPermit {
    /// Waits until the host's spacing would let a request start (without starting one).
    pub async fn ready(&self) {
        self.host.ready().await;
    }

    /// Marks a request to the host started, if its spacing allows one now: the next starts
    /// `fetch.per_host_spacing` later. Called just before the request, with every other
    /// slot the poll needs held: a poll that waited for a global slot after its host slot
    /// would otherwise start closer to the last one than the spacing.
    pub fn try_start(&self) -> bool {
        self.host.try_start(self.spacing)
    }

    /// Waits for the spacing and marks the request started ([`HostPermit::try_start`]).
    pub async fn start(&self) {
        loop {
            self.ready().await;
            if self.try_start() {
                return;
            }
        }
    }
}

/// The slots a poll holds from its start to its end, handed to its fetch so that every
/// request of the poll, its redirect hops included, obeys `fetch.per_host_spacing`.
///
/// The caller took a slot on each host the poll is expected to reach (the source's, and
/// the one a redirect took it to before) and marked a start on each: that mark stands for
/// the poll's first request to that host, which goes without waiting while no other
/// request was marked there since ([`PollSlots::before_request`]). Any other request (a
/// second hop to the same host, a hop to another host the limits know) waits for its
/// host's spacing, letting go of the global slot meanwhile: a poll that waits for its own
/// spacing does not keep other hosts' polls from the slots `fetch.concurrency` allows.
#[derive(Debug, Default)]
pub struct PollSlots {
    /// Each held host's slot, and the next start its mark set while it is still to be
    /// used.
    hosts: Vec<(HostPermit, Option<Option<Instant>>)>,
    /// The global slot, let go while a request waits for its host's spacing.
    global: Option<GlobalSlot>,
    /// How long the poll's requests waited for their hosts' spacing, in all.
    waited: Duration,
}

/// One of the `fetch.concurrency` slots, held by a poll.
#[derive(Debug)]
struct GlobalSlot {
    slots: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
}

impl PollSlots {
    /// The slots of a poll: `hosts`, each with a start marked for the poll
    /// ([`HostPermit::try_start`]), and the global slot `held` of `slots`, if any.
    pub fn new(
        hosts: Vec<HostPermit>,
        global: Option<(Arc<Semaphore>, OwnedSemaphorePermit)>,
    ) -> Self {
        Self {
            hosts: hosts
                .into_iter()
                .map(|h| {
                    let marked = h.host.next_start();
                    (h, Some(marked))
                })
                .collect(),
            global: global.map(|(slots, held)| GlobalSlot {
                slots,
                held: Some(held),
            }),
            waited: Duration::ZERO,
        }
    }

    /// Takes one of `global`'s slots for a poll that holds `hosts`' slots, and marks a start
    /// on each host ([`HostPermit::try_start`]), with every slot held: a poll that waited
    /// for the global slot after its hosts' would otherwise start closer to the last request
    /// than the spacing. When another request to a host started meanwhile, the spacing is
    /// waited for without the global slot, which polls of other hosts may use meanwhile, and
    /// the slot is taken again. `check` runs each time the slot is taken (the waits can be
    /// long): its error gives the poll up. `Ok(None)`: `global` was closed.
    pub async fn take<E>(
        hosts: Vec<HostPermit>,
        global: &Arc<Semaphore>,
        mut check: impl FnMut() -> Result<(), E>,
    ) -> Result<Option<Self>, E> {
        loop {
            let Ok(permit) = global.clone().acquire_owned().await else {
                return Ok(None);
            };
            check()?;
            if hosts.iter().all(HostPermit::try_start) {
                return Ok(Some(Self::new(hosts, Some((global.clone(), permit)))));
            }
            drop(permit);
            for host in &hosts {
                host.ready().await;
            }
        }
    }

    /// How long the poll's requests waited for their hosts' spacing so far, in all.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// Waits until a request of the poll may start to `host` (a [`host_key`]), and marks it
    /// started; returns how long it waited, which is the poll's politeness and not the
    /// server's time (`fetch.timeout` does not count it).
    ///
    /// - A host whose start mark the poll has not used yet, and no other request was marked
    ///   there since: no wait; the mark is this request's, and the host's next request
    ///   comes a spacing after this one. (A mark holds the host for one spacing: a first
    ///   answer slower than that, or a second hop before this one, may see another poll's
    ///   request marked there meanwhile; then it waits as below.)
    /// - A host the poll holds a slot on, its mark used (a redirect to the same host), or
    ///   one the limits know (another source's host): its spacing is waited for, without
    ///   the global slot, which is taken again before the request starts.
    /// - A host met in a redirect chain only: no wait, and no entry in the limits, which
    ///   stay bounded by the configuration. The source's next poll holds a slot on it
    ///   ([`HostLimiter::note_reached`]). No slot is taken on a host mid-poll: a poll that
    ///   holds one host's slot while it waits for another's could wait forever on a poll
    ///   redirected the other way.
    pub async fn before_request(&mut self, limiter: &HostLimiter, host: &str) -> Duration {
        let key = host.to_ascii_lowercase();
        let spacing = limiter.spacing();
        let held = self.hosts.iter_mut().find(|(p, _)| p.key == key);
        let host = match held {
            Some((permit, mark)) => {
                let marked = mark.take();
                if marked.is_some_and(|m| permit.host.start_marked(m, spacing)) {
                    return Duration::ZERO;
                }
                permit.host.clone()
            }
            None => match limiter.known(&key) {
                Some(host) => host,
                None => return Duration::ZERO,
            },
        };
        let began = Instant::now();
        while !host.try_start(spacing) {
            if let Some(g) = self.global.as_mut() {
                g.held = None;
            }
            host.ready().await;
            if let Some(g) = self.global.as_mut() {
                // Closed only as the daemon stops, when the poll is dropped anyway.
                g.held = g.slots.clone().acquire_owned().await.ok();
            }
        }
        let waited = began.elapsed();
        self.waited += waited;
        waited
    }
}

impl HostLimiter {
    /// `per_host` requests at once per host, starts `spacing` apart (zero: no spacing).
    pub fn new(per_host: usize, spacing: Duration) -> Self {
        Self {
            per_host: per_host.max(1),
            spacing_ms: AtomicU64::new(millis(spacing)),
            max_cooldown_ms: AtomicU64::new(u64::MAX),
            hosts: Mutex::new(HashMap::new()),
            redirects: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the least time between two request starts to one host (a reloaded
    /// `fetch.per_host_spacing`), from the next request on.
    pub fn set_spacing(&self, spacing: Duration) {
        self.spacing_ms.store(millis(spacing), Ordering::Relaxed);
    }

    /// Caps every cooldown at `max` (`schedule.max_retry_after`), those under way included:
    /// a reload that shortens it shortens the pauses hosts asked for before.
    pub fn set_max_cooldown(&self, max: Duration) {
        self.max_cooldown_ms.store(millis(max), Ordering::Relaxed);
        let latest = Instant::now() + max;
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        for h in hosts.values() {
            let mut t = h.timing.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(until) = t.cooldown_until.as_mut() {
                *until = (*until).min(latest);
            }
        }
    }

    /// The least time between two request starts to one host now.
    fn spacing(&self) -> Duration {
        Duration::from_millis(self.spacing_ms.load(Ordering::Relaxed))
    }

    /// Makes `hosts` known (the configured sources' hosts, at start and after a reload), so
    /// that a redirect hop of another source's poll there is spaced before any poll of their
    /// own took a slot on them.
    pub fn know(&self, hosts: impl IntoIterator<Item = String>) {
        for h in hosts {
            drop(self.host(&h));
        }
    }

    /// The host's state if a source or a redirect made it known; none is made for it.
    fn known(&self, host: &str) -> Option<Arc<Host>> {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts.get(&host.to_ascii_lowercase()).cloned()
    }

    fn host(&self, host: &str) -> Arc<Host> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host.to_ascii_lowercase())
            .or_insert_with(|| {
                Arc::new(Host {
                    permits: Arc::new(Semaphore::new(self.per_host)),
                    timing: Mutex::new(HostTiming::default()),
                })
            })
            .clone()
    }

    /// Waits for a free slot on `host`, and for its spacing, which [`HostPermit::start`]
    /// checks again and marks; the slot is held until the permit is dropped. Cooldowns are
    /// not waited for here: see [`HostLimiter::cooldown`].
    pub async fn acquire(&self, host: &str) -> Option<HostPermit> {
        let h = self.host(host);
        let permit = h.permits.clone().acquire_owned().await.ok()?;
        let permit = HostPermit {
            _permit: permit,
            host: h,
            key: host.to_ascii_lowercase(),
            spacing: self.spacing(),
        };
        permit.ready().await;
        Some(permit)
    }

    /// Records that a poll of `source` (configured with the URL `configured`) sent to the
    /// host `polled` reached `reached` (after redirects; answered there or not): another
    /// host is remembered for the source's next polls, the same one forgets it.
    pub fn note_reached(
        &self,
        source: &str,
        configured: &str,
        polled: Option<&str>,
        reached: &str,
    ) {
        let mut redirects = self.redirects.lock().unwrap_or_else(|p| p.into_inner());
        if polled.is_some_and(|p| p.eq_ignore_ascii_case(reached)) {
            redirects.remove(source);
            return;
        }
        let known = redirects
            .get(source)
            .is_some_and(|(url, host)| url == configured && host.eq_ignore_ascii_case(reached));
        if !known {
            let entry = (configured.to_owned(), reached.to_ascii_lowercase());
            redirects.insert(source.to_owned(), entry);
        }
    }

    /// The other host `source`'s last poll was redirected to, if any, while it is configured
    /// with the URL that poll went to (`configured`): a source moved off a host that paused
    /// it is polled at its new URL at once, not after the old host's pause.
    pub fn redirected(&self, source: &str, configured: &str) -> Option<String> {
        let redirects = self.redirects.lock().unwrap_or_else(|p| p.into_inner());
        redirects
            .get(source)
            .filter(|(url, _)| url == configured)
            .map(|(_, host)| host.clone())
    }

    /// How long `host` asked to be left alone from now, if it did.
    pub fn cooldown(&self, host: &str) -> Option<Duration> {
        let h = self.host(host);
        let t = h.timing.lock().unwrap_or_else(|p| p.into_inner());
        let until = t.cooldown_until?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Records that `host` asked (429/503 `Retry-After`) to be left alone for `wait`, at
    /// most the longest cooldown; returns the pause recorded (zero: none).
    pub fn cool_down(&self, host: &str, wait: Duration) -> Duration {
        let max = Duration::from_millis(self.max_cooldown_ms.load(Ordering::Relaxed));
        let wait = wait.min(max);
        if wait.is_zero() {
            return wait;
        }
        let h = self.host(host);
        let mut t = h.timing.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + wait;
        if t.cooldown_until.is_none_or(|u| u < until) {
            t.cooldown_until = Some(until);
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_redirect_host_holds_while_the_source_keeps_its_url() {
        let l = HostLimiter::new(2, Duration::ZERO);
        l.note_reached("s", "http://a.test/x", Some("a.test:80"), "CDN.test:80");
        assert_eq!(
            l.redirected("s", "http://a.test/x").as_deref(),
            Some("cdn.test:80")
        );
        // Moved off it by a reload: polled at its new URL, not held by the old host's pause.
        assert_eq!(l.redirected("s", "http://c.test/y"), None);
        assert_eq!(l.redirected("other", "http://a.test/x"), None);
        // A poll answered by its own host again forgets it.
        l.note_reached("s", "http://a.test/x", Some("a.test:80"), "a.test:80");
        assert_eq!(l.redirected("s", "http://a.test/x"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_n_per_host_and_spaced() {
        let limiter = Arc::new(HostLimiter::new(2, Duration::from_secs(1)));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));
        let starts = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (limiter, in_flight, max_seen, starts) = (
                limiter.clone(),
                in_flight.clone(),
                max_seen.clone(),
                starts.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let p = limiter.acquire("example.com").await.unwrap();
                p.start().await;
                starts.lock().unwrap().push(Instant::now() - t0);
                let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(5)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        // Another host is not held up by the first.
        let other = limiter.acquire("other.example").await;
        assert!(other.is_some());
        assert_eq!(Instant::now(), t0);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max_seen.load(Ordering::SeqCst), 2);
        let mut starts = starts.lock().unwrap().clone();
        starts.sort();
        for pair in starts.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_secs(1), "{starts:?}");
        }
    }

    /// A request starts the spacing after the last start, however long its poll waited
    /// between taking the host's slot and starting it (for a global slot).
    #[tokio::test(start_paused = true)]
    async fn spacing_counts_from_the_starts_not_from_the_slots() {
        let limiter = HostLimiter::new(2, Duration::from_secs(2));
        let t0 = Instant::now();
        let first = limiter.acquire("a.example").await.unwrap();
        let second = limiter.acquire("a.example").await.unwrap();
        assert_eq!(Instant::now(), t0);
        second.start().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        first.start().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(2));
        drop(second);
        // A slot taken now waits for the spacing after the last start.
        let third = limiter.acquire("a.example").await.unwrap();
        assert_eq!(Instant::now() - t0, Duration::from_secs(4));
        third.start().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(4));
    }

    /// Scheduler F5: every request of a poll obeys its host's spacing, redirect hops
    /// included. The starts the caller marked are the poll's first requests to those hosts
    /// (its own and the one a redirect took it to before), which go at once; a second
    /// request to a host waits for the spacing with the global slot let go, and takes it
    /// again before it starts; a host met in a chain only is not waited for, nor kept.
    #[tokio::test(start_paused = true)]
    async fn a_polls_requests_each_wait_for_their_hosts_spacing_without_the_global_slot() {
        let spacing = Duration::from_secs(2);
        let limiter = Arc::new(HostLimiter::new(2, spacing));
        let global = Arc::new(Semaphore::new(1));
        let t0 = Instant::now();
        let own = limiter.acquire("a.test:80").await.unwrap();
        let learnt = limiter.acquire("cdn.test:80").await.unwrap();
        assert!(own.try_start() && learnt.try_start());
        let held = global.clone().acquire_owned().await.unwrap();
        let mut slots = PollSlots::new(vec![own, learnt], Some((global.clone(), held)));

        // The first request, and 100 ms later its redirect to the learnt host: no wait.
        assert_eq!(
            slots.before_request(&limiter, "a.test:80").await,
            Duration::ZERO
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            slots.before_request(&limiter, "CDN.test:80").await,
            Duration::ZERO
        );
        // A host met in the chain only: no wait, and nothing kept of it.
        assert_eq!(
            slots.before_request(&limiter, "x.test:80").await,
            Duration::ZERO
        );
        assert!(limiter.known("x.test:80").is_none());

        // A second hop to the poll's own host waits for its spacing after the first request,
        // without the global slot, which another poll can take meanwhile.
        let limits = limiter.clone();
        let hop = tokio::spawn(async move {
            let waited = slots.before_request(&limits, "a.test:80").await;
            (waited, slots)
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let other = global.clone().try_acquire_owned();
        assert!(other.is_ok(), "the global slot is held through the wait");
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(other);
        let (waited, slots) = hop.await.unwrap();
        assert_eq!(waited, Duration::from_millis(1900));
        assert_eq!(slots.waited(), waited, "the poll's waits, in all");
        assert_eq!(Instant::now() - t0, spacing);
        assert_eq!(
            global.available_permits(),
            0,
            "taken again before the request"
        );

        // The learnt host's next request comes a spacing after the hop that went there,
        // not after the mark taken at the poll's start.
        let next = limiter.acquire("cdn.test:80").await.unwrap();
        next.start().await;
        assert_eq!(Instant::now() - t0, spacing + Duration::from_millis(100));
    }

    /// A mark holds its host for one spacing: a first answer slower than that lets another
    /// poll's request start on the learnt host, and the hop there then waits its spacing
    /// after that one (the review of F5: it went 1 s after another poll's request, at a 2 s
    /// spacing). A host a source names is spaced as a hop of another source's poll before
    /// any poll of its own made it known.
    #[tokio::test(start_paused = true)]
    async fn a_mark_another_request_followed_is_spent_and_named_hosts_are_spaced_at_once() {
        let spacing = Duration::from_secs(2);
        let limiter = HostLimiter::new(2, spacing);
        let t0 = Instant::now();
        let own = limiter.acquire("a.test:80").await.unwrap();
        let learnt = limiter.acquire("cdn.test:80").await.unwrap();
        assert!(own.try_start() && learnt.try_start());
        let mut slots = PollSlots::new(vec![own, learnt], None);
        assert_eq!(
            slots.before_request(&limiter, "a.test:80").await,
            Duration::ZERO
        );
        // The first answer takes 3 s; meanwhile another poll's request starts on the CDN.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let other = limiter.acquire("cdn.test:80").await.unwrap();
        other.start().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(3));
        let waited = slots.before_request(&limiter, "cdn.test:80").await;
        assert_eq!(waited, spacing, "the hop came {waited:?} early");

        // Named by a source (known at start, before any poll of it): a hop there marks a
        // start, and that source's poll comes a spacing later.
        limiter.know(["b.test:80".to_owned()]);
        let t1 = Instant::now();
        assert_eq!(
            slots.before_request(&limiter, "b.test:80").await,
            Duration::ZERO
        );
        let own = limiter.acquire("b.test:80").await.unwrap();
        own.start().await;
        assert_eq!(Instant::now() - t1, spacing);
    }

    #[tokio::test(start_paused = true)]
    async fn cooldown_is_per_host_and_only_lengthens() {
        let limiter = HostLimiter::new(2, Duration::ZERO);
        assert_eq!(limiter.cooldown("a.example"), None);
        limiter.cool_down("a.example", Duration::from_secs(120));
        limiter.cool_down("A.example", Duration::from_secs(30));
        assert_eq!(
            limiter.cooldown("a.example"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(limiter.cooldown("b.example"), None);
        tokio::time::advance(Duration::from_secs(121)).await;
        assert_eq!(limiter.cooldown("a.example"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reloaded_spacing_applies_from_the_next_request() {
        let limiter = HostLimiter::new(4, Duration::ZERO);
        let t0 = Instant::now();
        let request = || async {
            let p = limiter.acquire("a.example").await.unwrap();
            p.start().await;
        };
        request().await;
        request().await;
        assert_eq!(Instant::now(), t0, "no spacing");
        limiter.set_spacing(Duration::from_secs(3));
        request().await;
        request().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn the_longest_cooldown_caps_new_pauses_and_those_under_way() {
        let limiter = HostLimiter::new(2, Duration::ZERO);
        let hour = Duration::from_secs(3600);
        limiter.set_max_cooldown(6 * hour);
        assert_eq!(limiter.cool_down("a.example", 2 * hour), 2 * hour);
        assert_eq!(
            limiter.cool_down("b.example", Duration::ZERO),
            Duration::ZERO
        );
        assert_eq!(limiter.cooldown("b.example"), None);
        // A reload shortens it: the pause under way ends sooner, a new one is cut.
        limiter.set_max_cooldown(hour / 6);
        assert_eq!(limiter.cooldown("a.example"), Some(hour / 6));
        assert_eq!(limiter.cool_down("c.example", hour), hour / 6);
        assert_eq!(limiter.cooldown("c.example"), Some(hour / 6));
        // Lengthening it again does not lengthen the pauses already cut.
        limiter.set_max_cooldown(6 * hour);
        assert_eq!(limiter.cooldown("a.example"), Some(hour / 6));
    }
}
