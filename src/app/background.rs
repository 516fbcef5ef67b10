//! The daemon's background tasks on the store: the read-through for damage after start
//! ([`verify_in_background`]), and the flusher ([`flush_loop`]), which publishes what became
//! durable, recovers from write failures and saves the index snapshot ([`save_snapshot`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::fold::{snapshot, Folder, SnapshotError};
use crate::storage::{Backups, Millis, Progress, Store, StoreError, Verifier, BACKUP_WAIT};

/// Records read per step of the background read-through; steps are spaced by
/// [`VERIFY_PAUSE`] so that polling and HTTP keep the cores they need.
const VERIFY_STEP: usize = 20_000;
const VERIFY_PAUSE: Duration = Duration::from_millis(5);

/// Reads the store through in steps of [`VERIFY_STEP`] records on the blocking pool (see
/// `storage/verify.rs`). On damage: logs it (naming the tree and the problem), marks the store
/// damaged (writes refused, `/status` says so) and sends it on `damage`, which stops the
/// daemon with an error. On success: marks the store verified and fires `verified`.
pub(super) async fn verify_in_background(
    store: Store,
    mut v: Verifier,
    stop: CancellationToken,
    verified: CancellationToken,
    damage: tokio::sync::mpsc::Sender<StoreError>,
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
            Ok(Progress::Done { read, data }) => {
                store.set_verified(data);
                verified.cancel();
                info!(
                    records = read,
                    data_bytes = data.bytes,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "store read through: no damage"
                );
                return;
            }
            Err(e @ StoreError::Corrupt { .. }) => {
                stop_on_damage(&store, e, &damage);
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

/// Damage found after start (by the read-through, or by a reopen after a write failure): logs
/// it, marks the store damaged (writes refused, `/status` says so) and sends it on `damage`,
/// which stops the daemon with an error.
fn stop_on_damage(store: &Store, e: StoreError, damage: &tokio::sync::mpsc::Sender<StoreError>) {
    error!(
        error.message = %e,
        "the store is damaged: ingesting stops and the daemon exits"
    );
    store.mark_damaged(&e);
    // Full: damage is being reported already, and one report stops the daemon.
    let _ = damage.try_send(e);
}

/// How long after the last snapshot the flusher saves the next one (see `fold/snapshot.rs`),
/// provided anything changed since; the last one is saved at shutdown. A crash costs the
/// changes since the last one in catch-up work at the next start (at most half of
/// [`snapshot::catch_up_limit`], see [`SnapshotClock`]), or a full rebuild when retention
/// deleted articles since. Each save writes the whole index (~250 bytes per article: 248 MB
/// at 1,000,000) and holds the fold lock 0.25–1 s, for a catch-up that costs tens of
/// microseconds per changed article: every five minutes that was ~70 GB written a day at a
/// million articles, whether or not anything had changed.
pub(super) const SNAPSHOT_EVERY: Duration = Duration::from_secs(3600);
/// The first snapshot after a start that had to rebuild the index from the store.
pub(super) const FIRST_SNAPSHOT_AFTER_REBUILD: Duration = Duration::from_secs(30);
/// The least time between two snapshots that a burst of changes brings forward (see
/// [`SnapshotClock`]); a snapshot of 1,000,000 articles holds the fold lock 0.25–1 s.
const EARLY_SNAPSHOT_GAP: Duration = Duration::from_secs(60);

/// When the flusher saves the next index snapshot: never while nothing changed since the one
/// on disk ([`Folder::changes_since_snapshot`]: change-log entries, which retention's
/// deletions write too), since that one is the index the next start would load; else on its
/// schedule ([`SNAPSHOT_EVERY`]), or sooner once the changes reach half of what the next
/// start would catch up on before it gives the snapshot up and rebuilds the index from the
/// store ([`snapshot::catch_up_limit`]). Without that, a crash after a burst of ingest (a
/// cold start of many sources stores thousands of articles a second) finds a snapshot too
/// stale to use and rebuilds. Change-log entries are counted, which is at least the changed
/// articles the limit counts, so the estimate errs towards saving early.
#[derive(Debug)]
pub(super) struct SnapshotClock {
    next: Instant,
    last: Instant,
}

impl SnapshotClock {
    /// A clock whose first snapshot falls `first` after `now`.
    pub(super) fn new(now: Instant, first: Duration) -> Self {
        Self {
            next: now + first,
            last: now,
        }
    }

    /// Whether a snapshot is due at `now`, `changed` change-log entries having been written
    /// after the one on disk and the index holding `index_len` articles.
    pub(super) fn due(&self, now: Instant, changed: u64, index_len: usize) -> bool {
        changed > 0
            && (now >= self.next
                || (now.duration_since(self.last) >= EARLY_SNAPSHOT_GAP
                    && changed >= snapshot::catch_up_limit(index_len) as u64 / 2))
    }

    /// A snapshot was attempted at `now` (a failed one is tried again on the schedule, or a
    /// minute later when the changes call for it, not at once).
    pub(super) fn attempted(&mut self, now: Instant) {
        self.next = now + SNAPSHOT_EVERY;
        self.last = now;
    }
}

/// Articles stored since the database was last opened past which the daemon's shutdown and
/// `once` checkpoint the store ([`Store::checkpoint`]) before exiting. A checkpoint costs
/// sled's open (a fraction of a second) plus the replay of those articles' log; below this
/// the next start's replay is short anyway.
///
/// Not done periodically while the daemon runs: in the steady-state benchmark a checkpoint
/// five minutes in left the resident memory 14 MB higher for good (173 instead of 159 MB;
/// sled's state read back at open sits in the allocator's arenas beside what the old handle
/// freed) and stalls the store meanwhile; only a crash pays the replay.
const CHECKPOINT_ARTICLES: u64 = 20_000;
/// How long a checkpoint waits for the store handle's other users before it is skipped (the
/// next start then replays what it would have).
const CHECKPOINT_WAIT: Duration = Duration::from_secs(1);

/// Checkpoints the store on the blocking pool when enough was written since it was opened,
/// and logs the outcome.
pub(super) async fn checkpoint(store: Store) {
    let articles = store.articles_since_open();
    if articles < CHECKPOINT_ARTICLES {
        return;
    }
    let started = Instant::now();
    match tokio::task::spawn_blocking(move || store.checkpoint(CHECKPOINT_WAIT)).await {
        Ok(Ok(true)) => info!(
            articles_since_open = articles,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "store checkpointed: a restart replays nothing written before it"
        ),
        Ok(Ok(false)) => debug!("store checkpoint skipped: the store was busy"),
        Ok(Err(e)) => warn!(error.message = %e, "store checkpoint failed"),
        Err(e) => warn!(error.message = %e, "store checkpoint task failed"),
    }
}

/// The soonest the first automatic backup after a start falls (or `store.backup_every`, if
/// shorter): past the start's first polls, and soon when the last backup is overdue or there
/// is none (a daemon restarted more often than `backup_every` still gets its backups).
const FIRST_BACKUP_AFTER: Duration = Duration::from_secs(600);
/// A failed automatic backup is tried again after this (or `store.backup_every`, if shorter).
const BACKUP_RETRY: Duration = Duration::from_secs(3600);

/// How long after a start at `now` the first automatic backup falls: `every` after the
/// newest backup there is (`last`), but not sooner than [`FIRST_BACKUP_AFTER`] (or `every`,
/// if shorter) nor later than `every`.
pub(super) fn first_backup_in(now: Millis, last: Option<Millis>, every: Duration) -> Duration {
    let soonest = every.min(FIRST_BACKUP_AFTER);
    let due = last.map_or(soonest, |at| {
        let left = at.saturating_add(i64::try_from(every.as_millis()).unwrap_or(i64::MAX)) - now;
        Duration::from_millis(u64::try_from(left).unwrap_or(0))
    });
    // A last backup "in the future" (the clock was set back) waits no longer than `every`.
    due.min(every).max(soonest)
}

/// How long after a backup that took `took` the next one falls: `every` after its start (a
/// daily backup stays at its hour instead of drifting by its own length each day), but the
/// store stays open at least as long as the copy had it closed.
pub(super) fn next_backup_in(every: Duration, took: Duration) -> Duration {
    every.saturating_sub(took).max(took)
}

/// Backs the store up every `every` (`store.backup_every`) until `stop` fires, as
/// `wirefold backup` does; a failure is logged, shown in `/status` and tried again after
/// [`BACKUP_RETRY`]. A backup under way when `stop` fires is finished first.
pub(super) async fn backup_loop(
    backups: Arc<Backups>,
    store: Store,
    every: Duration,
    stop: CancellationToken,
) {
    // The newest backup: found on disk, written here, or under way here (a failed one does
    // not count, and a failure of ours is tried again after BACKUP_RETRY).
    let newest = |log: crate::storage::BackupLog| log.last.map(|b| b.at).max(log.under_way_since);
    let mut last = newest(backups.log());
    let mut wait = first_backup_in(Utc::now().timestamp_millis(), last, every);
    info!(
        every = %humantime::format_duration(every),
        first_in_s = wait.as_secs(),
        dir = %backups.root().display(),
        "automatic backups on"
    );
    loop {
        let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        backups.set_next(Some(Utc::now().timestamp_millis().saturating_add(wait_ms)));
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        // A backup asked for meanwhile (`wirefold backup`), done or still under way, counts:
        // the next falls `every` after its start, as after one of ours.
        let begun = newest(backups.log());
        if let Some(at) = begun.filter(|&at| Some(at) > last) {
            last = begun;
            let left = at.saturating_add(i64::try_from(every.as_millis()).unwrap_or(i64::MAX))
                - Utc::now().timestamp_millis();
            if left > 0 {
                wait = Duration::from_millis(u64::try_from(left).unwrap_or(0)).min(every);
                continue;
            }
        }
        let (b, s) = (backups.clone(), store.clone());
        let started = Instant::now();
        wait = match tokio::task::spawn_blocking(move || b.run(&s, BACKUP_WAIT, "schedule")).await {
            Ok(Ok(_)) => {
                last = newest(backups.log());
                next_backup_in(every, started.elapsed())
            }
            // One asked for began meanwhile: the next turn of the loop counts from it.
            Ok(Err(StoreError::BackupUnderWay { .. })) => {
                debug!("a backup asked for is under way; the automatic one is moved after it");
                every.min(BACKUP_RETRY)
            }
            // Logged and recorded by `run`.
            Ok(Err(_)) => every.min(BACKUP_RETRY),
            Err(e) => {
                warn!(error.message = %e, "store backup task failed");
                every.min(BACKUP_RETRY)
            }
        };
    }
}

/// Saves the index snapshot on the blocking pool, unless the one on disk covers every change
/// ([`Folder::save_snapshot_if_changed`]), and logs the outcome.
pub(super) async fn save_snapshot(folder: Arc<Folder>) {
    let started = Instant::now();
    let saved = tokio::task::spawn_blocking(move || {
        folder.save_snapshot_if_changed(Utc::now().timestamp_millis())
    })
    .await;
    match saved {
        Ok(Ok(None)) => debug!("index snapshot not saved again: nothing changed since the last"),
        Ok(Ok(Some(s))) => info!(
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
/// write failure (disk full, I/O error, a reopen after a backup that failed) the store refuses
/// writes: this loop then tries every 2 s whether the disk takes writes again and the store
/// reopens, which keeps what was flushed and resumes ingesting; the fault is logged once,
/// after the first try, unless that try found damage. Polls meanwhile fail fast with class
/// `store`.
/// Each new reason a recovery attempt fails for (the disk still full, then perhaps a reopen
/// that finds the store locked) is logged once as a warning, its repeats at debug. A reopen or
/// index rebuild that finds the store damaged stops the daemon, as the read-through does:
/// retrying cannot mend it.
///
/// Also saves the index snapshot, `first_snapshot` after start and then every
/// [`SNAPSHOT_EVERY`] or sooner after a burst of changes ([`SnapshotClock`]), while the store
/// takes writes.
pub(super) async fn flush_loop(
    store: Store,
    folder: Arc<Folder>,
    stop: CancellationToken,
    first_snapshot: Duration,
    damage: tokio::sync::mpsc::Sender<StoreError>,
) {
    let mut snapshots = SnapshotClock::new(Instant::now(), first_snapshot);
    let mut tick = tokio::time::interval(store.flush_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_probe: Option<Instant> = None;
    let mut reported = false;
    let mut last_reason: Option<String> = None;
    loop {
        // A fault is looked for every 2 s (`store.flush_every` may be a minute), and while
        // one waits for its next try, that try's time wakes the loop, not the flush's tick.
        let retry_at = last_probe
            .filter(|_| store.fault().is_some_and(|f| !f.damaged))
            .map(|t| tokio::time::Instant::from_std(t + RECOVERY_EVERY));
        let flush = tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick(), if retry_at.is_none() => true,
            () = tokio::time::sleep_until(
                retry_at.unwrap_or_else(|| tokio::time::Instant::now() + RECOVERY_EVERY),
            ) => false,
        };
        if let Some(fault) = store.fault() {
            if fault.damaged {
                // Reported where it was found, which stops the daemon; nothing to recover.
                continue;
            }
            // A new fault is first tried 2 s on (then every 2 s), and only then reported: what
            // it is (a full disk, or damage that the reopen after a backup found) shows then.
            let since = *last_probe.get_or_insert_with(Instant::now);
            if since.elapsed() < RECOVERY_EVERY {
                continue;
            }
            last_probe = Some(Instant::now());
            let (s, f) = (store.clone(), folder.clone());
            let reopened = tokio::task::spawn_blocking(move || {
                s.probe_space()
                    .map_err(|e| Recovery::Failed(format!("the disk still refuses writes: {e}")))?;
                // Under the fold lock, both: no poll folds between them.
                f.reload_after(
                    Utc::now().timestamp_millis(),
                    || s.reopen().map_err(|e| Recovery::of(e, "reopening failed")),
                    |e| Recovery::of(e, "rebuilding the index failed"),
                )
            })
            .await;
            if !reported && !matches!(reopened, Ok(Err(Recovery::Damaged(_)))) {
                error!(
                    error.message = %fault.message,
                    "store write failed: ingesting stops until the store reopens (tried every \
                     2 s); everything flushed so far is kept"
                );
                reported = true;
            }
            match reopened {
                Ok(Ok(index)) => {
                    reported = false;
                    last_reason = None;
                    last_probe = None;
                    info!(index, fault.message = %fault.message, "store reopened; ingesting resumes")
                }
                Ok(Err(Recovery::Damaged(e))) => stop_on_damage(&store, e, &damage),
                Ok(Err(Recovery::Failed(e))) if last_reason.as_ref() == Some(&e) => {
                    debug!(reason = %e, "store still refuses writes")
                }
                Ok(Err(Recovery::Failed(e))) => {
                    warn!(reason = %e, "store recovery failed; trying again every 2 s");
                    last_reason = Some(e);
                }
                Err(e) => warn!(error.message = %e, "store recovery task failed"),
            }
            continue;
        }
        if !flush {
            continue;
        }
        let f = folder.clone();
        match tokio::task::spawn_blocking(move || f.flush_and_publish()).await {
            Ok(Ok(())) => {
                let changed = folder.changes_since_snapshot();
                if snapshots.due(Instant::now(), changed, folder.index_len()) {
                    save_snapshot(folder.clone()).await;
                    snapshots.attempted(Instant::now());
                }
            }
            // A failed write is the store's fault now: reported on the next tick.
            Ok(Err(e)) if store.fault().is_some() => debug!(error.message = %e, "flush failed"),
            Ok(Err(e)) => warn!(error.message = %e, "flush failed"),
            Err(e) => warn!(error.message = %e, "flush task failed"),
        }
    }
}

/// How often [`flush_loop`] tries to reopen a store that stopped taking writes; the first
/// try comes this long after the fault was found.
const RECOVERY_EVERY: Duration = Duration::from_secs(2);

/// Why a recovery attempt of [`flush_loop`] did not reopen the store.
enum Recovery {
    /// Worth another try (the disk still full, the store locked): the reason, for the log.
    Failed(String),
    /// The store is damaged: another try cannot help.
    Damaged(StoreError),
}

impl Recovery {
    fn of(e: StoreError, doing: &str) -> Recovery {
        match e {
            e @ (StoreError::Corrupt { .. } | StoreError::LostWrites { .. }) => {
                Recovery::Damaged(e)
            }
            e => Recovery::Failed(format!("{doing}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_automatic_backup_follows_the_last_one_but_not_right_at_the_start() {
        let day = Duration::from_secs(86_400);
        let hour_ms = 3_600_000;
        let now = 1_000 * day.as_millis() as i64;
        // None yet: soon, but past the start's first polls.
        assert_eq!(first_backup_in(now, None, day), FIRST_BACKUP_AFTER);
        // A day after the last one.
        assert_eq!(
            first_backup_in(now, Some(now - hour_ms), day),
            day - Duration::from_secs(3600)
        );
        // Overdue (the daemon was down), or due within the first minutes: the soonest.
        assert_eq!(
            first_backup_in(now, Some(now - 30 * hour_ms), day),
            FIRST_BACKUP_AFTER
        );
        assert_eq!(
            first_backup_in(now, Some(now - 24 * hour_ms + 1000), day),
            FIRST_BACKUP_AFTER
        );
        // A last backup in the future (the clock was set back): at most `every` away.
        assert_eq!(first_backup_in(now, Some(now + hour_ms), day), day);
        // Shorter intervals than the soonest: the interval.
        let minute = Duration::from_secs(60);
        assert_eq!(first_backup_in(now, None, minute), minute);
        assert_eq!(first_backup_in(now, Some(now - 10_000), minute), minute);
    }

    #[test]
    fn the_next_automatic_backup_counts_from_the_last_ones_start() {
        let (day, secs) = (Duration::from_secs(86_400), Duration::from_secs);
        // A 20 s copy: the next one a day after this one began, not a day after its end.
        assert_eq!(next_backup_in(day, secs(20)), day - secs(20));
        // A copy longer than the interval: the store stays open as long again.
        assert_eq!(next_backup_in(secs(1), secs(3)), secs(3));
        assert_eq!(next_backup_in(secs(10), secs(6)), secs(6));
    }

    /// A backup asked for between two automatic ones moves the next automatic one to
    /// `every` after it: the daemon does not copy the store again minutes later, nor prune
    /// the one just asked for (with `backups_kept = 1`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backup_asked_for_meanwhile_moves_the_next_automatic_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store"), Duration::from_millis(100)).unwrap();
        let backups = Arc::new(Backups::new(dir.path().join("backups"), 5));
        let every = Duration::from_secs(4);
        let stop = CancellationToken::new();
        let task = tokio::spawn(backup_loop(
            backups.clone(),
            store.clone(),
            every,
            stop.clone(),
        ));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (b, s) = (backups.clone(), store.clone());
        tokio::task::spawn_blocking(move || b.run(&s, BACKUP_WAIT, "request"))
            .await
            .unwrap()
            .unwrap();
        let asked = backups.log().last.unwrap().at;
        let deadline = Instant::now() + Duration::from_secs(30);
        while backups.log().done < 2 {
            assert!(Instant::now() < deadline, "no automatic backup");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let automatic = backups.log().last.unwrap().at;
        // Without the one asked for, it fell 4 s after the start, 3 s after that one.
        assert!(
            automatic - asked >= 3_900,
            "{} ms after the backup asked for",
            automatic - asked
        );
        stop.cancel();
        task.await.unwrap();
    }

    #[test]
    fn the_snapshot_falls_due_on_its_schedule_once_anything_changed() {
        let t0 = Instant::now();
        let clock = SnapshotClock::new(t0, FIRST_SNAPSHOT_AFTER_REBUILD);
        assert!(!clock.due(t0 + Duration::from_secs(29), 1, 1_000));
        assert!(clock.due(t0 + FIRST_SNAPSHOT_AFTER_REBUILD, 1, 1_000));
        // the one on disk is the index still: nothing to write, however long ago it was
        assert!(!clock.due(t0 + FIRST_SNAPSHOT_AFTER_REBUILD, 0, 1_000));
        assert!(!clock.due(t0 + 100 * SNAPSHOT_EVERY, 0, 1_000));
    }

    #[test]
    fn a_burst_of_changes_brings_the_snapshot_forward_but_not_too_often() {
        let t0 = Instant::now();
        let mut clock = SnapshotClock::new(t0, SNAPSHOT_EVERY);
        // Half of the catch-up limit of a 1,000,000-article index: 125,000 changes.
        let half = snapshot::catch_up_limit(1_000_000) as u64 / 2;
        let minute = t0 + EARLY_SNAPSHOT_GAP;
        assert!(
            !clock.due(minute, half - 1, 1_000_000),
            "below half the limit"
        );
        assert!(
            !clock.due(minute - Duration::from_secs(1), half, 1_000_000),
            "too soon after the start"
        );
        assert!(clock.due(minute, half, 1_000_000));

        // Attempted: the next early one waits a minute, the schedule restarts.
        clock.attempted(minute);
        assert!(!clock.due(minute + Duration::from_secs(59), 2 * half, 1_000_000));
        assert!(clock.due(minute + EARLY_SNAPSHOT_GAP, half, 1_000_000));
        assert!(!clock.due(minute + EARLY_SNAPSHOT_GAP, 10, 1_000_000));
        assert!(clock.due(minute + SNAPSHOT_EVERY, 10, 1_000_000));
    }

    #[test]
    fn a_small_index_snapshots_early_after_five_thousand_changes() {
        let t0 = Instant::now();
        let clock = SnapshotClock::new(t0, SNAPSHOT_EVERY);
        let minute = t0 + EARLY_SNAPSHOT_GAP;
        assert!(!clock.due(minute, 4_999, 100));
        assert!(clock.due(minute, 5_000, 100));
    }
}
