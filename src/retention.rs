//! The retention task: deletes articles first seen longer ago than `store.retention`, and
//! forgets tombstones whose item has left its feed, in small batches in the background; the
//! change log's entries older than the retention go too.
//!
//! Each sweep deletes [`BATCH`] articles per blocking step (a scan of `articleid_index` in id
//! order, which is first-sighting order, see `storage/retention.rs`) and yields between steps, so a
//! large backlog — retention just switched on, or shortened — never stalls polling or the
//! status server for long. Sweeps run every `retention / 8`, between one second and ten
//! minutes.
//!
//! A tombstone is refreshed whenever its item is seen again in its feed (a feed that answers
//! 304 is asked for its body now and then: `ingest::poll`), and expires once the
//! item has not been seen for [`tombstone_ttl`] (`retention`, at least a day).
//!
//! Retention and the index window go by a [`DeletionClock`]: the wall clock, never ahead of
//! the time elapsed since the start, so that a wall clock stepped forward deletes nothing
//! early.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::fold::Folder;
use crate::storage::{Millis, Store, StoreError};

/// Articles (or tombstones) deleted per blocking step.
pub const BATCH: usize = 256;

/// How often a sweep runs for a given retention.
pub fn sweep_every(retention: Duration) -> Duration {
    (retention / 8).clamp(Duration::from_secs(1), Duration::from_secs(600))
}

/// How long a tombstone lives after its item was last seen in its feed.
pub fn tombstone_ttl(retention: Duration) -> Duration {
    retention.max(Duration::from_secs(86_400))
}

fn ms(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Articles deleted.
    pub articles: usize,
    /// Stories deleted with their last copy.
    pub stories: u64,
    /// Change-log entries dropped.
    pub changes: usize,
    /// Tombstones forgotten.
    pub tombstones: usize,
}

impl Swept {
    fn add(&mut self, step: Swept) {
        self.articles += step.articles;
        self.stories += step.stories;
        self.changes += step.changes;
        self.tombstones += step.tombstones;
    }

    /// Logs what a sweep deleted under `retention`, if anything.
    pub fn log(&self, retention: Duration) {
        if *self != Swept::default() {
            info!(
                articles = self.articles,
                stories = self.stories,
                changes = self.changes,
                tombstones = self.tombstones,
                retention = %humantime::format_duration(retention),
                "retention deleted old items"
            );
        }
    }
}

/// How the daemon's sweeps went, for `/status` and `/metrics`.
#[derive(Debug, Default)]
pub struct RetentionLog(std::sync::Mutex<RetentionState>);

/// What [`RetentionLog`] holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionState {
    /// Sweeps finished since the start (with or without anything to delete).
    pub sweeps: u64,
    /// When the last one finished (Unix ms).
    pub last: Option<Millis>,
    /// When the next one is due (Unix ms); `None` until the store was read through.
    pub next: Option<Millis>,
    /// What the sweeps deleted since the start.
    pub deleted: Swept,
    /// Sweeps that failed since the start.
    pub failed: u64,
    /// When the first of the failures since the last sweep that finished happened; `None`
    /// once one finishes.
    pub failing_since: Option<Millis>,
}

impl RetentionLog {
    /// What the sweeps did so far.
    pub fn get(&self) -> RetentionState {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a sweep that started at `started` and ended at `now` having deleted
    /// `deleted`, `failed` or not. The sweeps start `every` apart ([`run`]'s interval), or
    /// at once after one that took longer.
    fn record(&self, deleted: Swept, failed: bool, started: Millis, now: Millis, every: Duration) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        s.deleted.add(deleted);
        s.next = Some(started.saturating_add(ms(every)).max(now));
        if failed {
            s.failed += 1;
            s.failing_since.get_or_insert(now);
        } else {
            s.sweeps += 1;
            s.last = Some(now);
            s.failing_since = None;
        }
    }
}

/// One blocking step: at most [`BATCH`] change-log entries; when none older than the cutoff
/// is left, at most [`BATCH`] articles; when no old article is left either, at most
/// [`BATCH`] tombstones. Returns what it deleted and whether more is due.
pub fn step(
    folder: &Folder,
    store: &Store,
    retention: Duration,
    now: Millis,
) -> Result<(Swept, bool), StoreError> {
    let cutoff = now.saturating_sub(ms(retention));
    // The change log first, all of it older than the cutoff: a reader whose cursor is older
    // than the retention is told so (`410 cursor_expired`, start again) before it can read
    // a deletion. Pruned only after the last old article, the log kept such a cursor valid
    // through a whole sweep, and a lagging mirror read "story A deleted" without ever
    // having read that A had absorbed the stories B and C it held: it kept them for good.
    let changes = store.prune_changes_before(cutoff, now, BATCH)?;
    if changes == BATCH {
        // More of the log to go first: no article is deleted while an older change is kept.
        let swept = Swept {
            changes,
            ..Swept::default()
        };
        return Ok((swept, true));
    }
    let pruned = folder.prune(cutoff, now, BATCH)?;
    let mut swept = Swept {
        articles: pruned.articles.len(),
        stories: pruned.stories,
        changes,
        ..Swept::default()
    };
    if swept.articles == BATCH {
        return Ok((swept, true));
    }
    swept.tombstones =
        store.expire_tombstones(now.saturating_sub(ms(tombstone_ttl(retention))), BATCH)?;
    Ok((swept, swept.changes == BATCH || swept.tombstones == BATCH))
}

/// A whole sweep at once, step after step, for `wirefold once` (the daemon's [`run`] yields
/// between steps): what it deleted.
pub fn sweep(
    folder: &Folder,
    store: &Store,
    retention: Duration,
    now: Millis,
) -> Result<Swept, StoreError> {
    let mut total = Swept::default();
    loop {
        let (swept, more) = step(folder, store, retention, now)?;
        total.add(swept);
        if !more {
            return Ok(total);
        }
    }
}

/// The time by which retention deletes and the index window forgets: the wall clock, but
/// never further than the time elapsed since the daemon started (a monotonic clock) carried
/// the wall clock of the start. A wall clock stepped forward (a wrong time server, a virtual
/// machine resumed with a skewed clock, an operator's typo) deleted every article at once,
/// and for good: their tombstones kept them out while they stayed in their feeds; and it
/// emptied the index, so fresh copies no longer folded. Such a step is now told in a
/// warning, and deletions by time come late (until a restart, or until the wall clock comes
/// back), never early. A wall clock stepped back is followed as it is.
#[derive(Debug, Clone)]
pub struct DeletionClock {
    wall0: Millis,
    t0: Instant,
    warned: Arc<AtomicBool>,
}

/// How far the wall clock may run ahead of the elapsed time before it is held back (and
/// said so): more than any drift a time server slews away.
const AHEAD_TOLERANCE_MS: Millis = 60_000;

impl DeletionClock {
    /// A clock that starts at the wall clock's time now.
    pub fn start() -> Self {
        Self::started_at(Utc::now().timestamp_millis(), Instant::now())
    }

    fn started_at(wall0: Millis, t0: Instant) -> Self {
        DeletionClock {
            wall0,
            t0,
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Unix milliseconds to delete and forget by (see the type).
    pub fn now_ms(&self) -> Millis {
        let wall = Utc::now().timestamp_millis();
        let elapsed = Millis::try_from(self.t0.elapsed().as_millis()).unwrap_or(Millis::MAX);
        let steady = self.wall0.saturating_add(elapsed);
        if wall > steady.saturating_add(AHEAD_TOLERANCE_MS) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                warn!(
                    ahead_s = (wall - steady) / 1000,
                    "the wall clock jumped ahead of the time elapsed since the start: retention \
                     and the dedup window go by the elapsed time, and delete nothing early, \
                     until a restart or until the wall clock comes back"
                );
            }
            return steady;
        }
        self.warned.store(false, Ordering::Relaxed);
        wall
    }
}

/// Sweeps every [`sweep_every`] until `stop` fires, recording how they went in `log`.
pub async fn run(
    folder: Arc<Folder>,
    store: Store,
    retention: Duration,
    clock: DeletionClock,
    log: Arc<RetentionLog>,
    stop: CancellationToken,
) {
    let every = sweep_every(retention);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let started = Utc::now().timestamp_millis();
        let mut total = Swept::default();
        let mut failed = false;
        loop {
            let (f, s) = (folder.clone(), store.clone());
            let now = clock.now_ms();
            let result = tokio::task::spawn_blocking(move || step(&f, &s, retention, now)).await;
            match result {
                Ok(Ok((swept, more))) => {
                    total.add(swept);
                    if !more || stop.is_cancelled() {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                Ok(Err(e)) => {
                    warn!(error.message = %e, error.cause_chain = ?e, "retention sweep failed");
                    failed = true;
                    break;
                }
                Err(e) => {
                    warn!(error.message = %e, "retention task failed");
                    failed = true;
                    break;
                }
            }
        }
        total.log(retention);
        log.record(total, failed, started, Utc::now().timestamp_millis(), every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failing sweep keeps what the earlier ones deleted and the last good one's time, and
    /// is told from its first failure until a sweep finishes again.
    #[test]
    fn the_log_keeps_the_last_good_sweep_and_the_first_failure_until_one_passes() {
        let log = RetentionLog::default();
        let minute = Duration::from_secs(60);
        let two = Swept {
            articles: 2,
            stories: 1,
            changes: 3,
            tombstones: 0,
        };
        log.record(two, false, 500, 1_000, minute);
        log.record(Swept::default(), true, 1_500, 2_000, minute);
        log.record(two, true, 2_500, 3_000, minute);
        let s = log.get();
        assert_eq!((s.sweeps, s.failed), (1, 2));
        // The next sweep starts a minute after this one started.
        assert_eq!(
            (s.last, s.failing_since, s.next),
            (Some(1_000), Some(2_000), Some(62_500))
        );
        assert_eq!((s.deleted.articles, s.deleted.changes), (4, 6));
        log.record(Swept::default(), false, 3_500, 4_000, minute);
        let s = log.get();
        assert_eq!((s.sweeps, s.last, s.failing_since), (2, Some(4_000), None));
        // One that took longer than a minute: the next starts at once.
        log.record(two, false, 5_000, 95_000, minute);
        assert_eq!(log.get().next, Some(95_000));
    }

    #[test]
    fn a_wall_clock_stepped_forward_deletes_nothing_early() {
        let hour = 3_600_000;
        let now = Utc::now().timestamp_millis();
        // Started an hour "ago" by the wall clock, a moment ago by the monotonic one: the
        // wall clock jumped an hour ahead since. Retention goes by the elapsed time.
        let jumped = DeletionClock::started_at(now - hour, Instant::now());
        let t = jumped.now_ms();
        assert!((now - hour..now - hour + 5_000).contains(&t), "{}", now - t);
        assert!(jumped.warned.load(Ordering::Relaxed));
        // Stepped back an hour: the wall clock, as it is.
        let back = DeletionClock::started_at(now + hour, Instant::now());
        let t = back.now_ms();
        assert!((now..now + 5_000).contains(&t), "{}", t - now);
        assert!(!back.warned.load(Ordering::Relaxed));
        // Within the tolerance (a time server's slew): the wall clock.
        let close = DeletionClock::started_at(now - 30_000, Instant::now());
        let t = close.now_ms();
        assert!((now..now + 5_000).contains(&t), "{}", t - now);
    }

    #[test]
    fn a_sweep_expires_old_cursors_before_its_first_deletions_show() {
        use crate::dedup::DedupParams;
        use crate::normalize::{normalize, NormalizeOptions, RawEntry};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s"), Duration::from_secs(60)).unwrap();
        let t0: Millis = 1_700_000_000_000;
        let folder = Folder::open(store.clone(), DedupParams::default(), t0).unwrap();
        let at = chrono::DateTime::from_timestamp_millis(t0).unwrap();
        let articles = (0..BATCH + 40)
            .map(|i| {
                let raw = RawEntry {
                    guid: Some(format!("g{i}")),
                    title: Some(format!("Report {i} of the harbour office")),
                    ..RawEntry::default()
                };
                normalize(&raw, &NormalizeOptions::new(at))
            })
            .collect();
        folder.fold_all("s", articles, t0).unwrap();
        store.flush().unwrap();
        let logged = store.last_change().unwrap().unwrap();
        assert!(logged > BATCH as u64, "{logged}");
        // A day later, with a retention of an hour: no step deletes an article before every
        // change of that day is pruned, so any cursor a mirror held then is refused (410)
        // before a deletion can show.
        let mut deleted = 0;
        loop {
            let (swept, more) =
                step(&folder, &store, Duration::from_secs(3600), t0 + 86_400_000).unwrap();
            deleted += swept.articles;
            if deleted > 0 {
                let pruned = store.changes_pruned_through().unwrap();
                assert!(pruned.is_some_and(|p| p >= logged), "{pruned:?} < {logged}");
            }
            if !more {
                break;
            }
        }
        assert_eq!(deleted, BATCH + 40);
    }

    #[test]
    fn sweeps_are_bounded() {
        assert_eq!(sweep_every(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(
            sweep_every(Duration::from_secs(80)),
            Duration::from_secs(10)
        );
        assert_eq!(
            sweep_every(Duration::from_secs(30 * 86_400)),
            Duration::from_secs(600)
        );
        assert_eq!(
            tombstone_ttl(Duration::from_secs(2)),
            Duration::from_secs(86_400)
        );
    }
}
