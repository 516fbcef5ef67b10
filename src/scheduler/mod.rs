//! The scheduler: polls each enabled source at its own pace, never two polls of one source at
//! once, at most `fetch.concurrency` polls in flight over all sources.
//!
//! # Design
//! A min-heap of `(due, source)` lives in one task. It sleeps until the earliest due time,
//! hands every due source to a poll task (which waits for a permit of the global semaphore
//! before it fetches) and takes the source off the heap until that task reports back with the
//! source's next due time. A source that is not on the heap cannot be started again, which is
//! what rules out overlapping polls. On cancellation the loop stops handing out work and the
//! in-flight tasks are cancelled or finish, tracked by the caller's [`TaskTracker`].

pub mod policy;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::{ScheduleConfig, SourceConfig};
use crate::ingest::{poll_source, IngestContext};

/// Live scheduler figures for status and readiness.
#[derive(Debug, Default)]
pub struct SchedulerStats {
    /// True while the loop runs.
    pub running: AtomicBool,
    /// Polls holding a permit right now.
    pub in_flight: AtomicUsize,
}

/// Runs the scheduling loop until `cancel` fires.
pub async fn run(
    ctx: IngestContext,
    sources: Vec<SourceConfig>,
    schedule: ScheduleConfig,
    concurrency: usize,
    stats: Arc<SchedulerStats>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let sources: Arc<Vec<SourceConfig>> = Arc::new(sources);
    let permits = Arc::new(Semaphore::new(concurrency));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut heap: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
    let now = Instant::now();
    let wall = Utc::now().timestamp_millis();
    let mut overdue = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        let stored_next = ctx
            .store
            .source_state(&s.name)
            .ok()
            .flatten()
            .and_then(|st| st.next_poll);
        match stored_next {
            // Still in the future: keep the schedule the previous run made.
            Some(next) if next > wall => {
                let delay = Duration::from_millis((next - wall) as u64).min(s.interval);
                heap.push(Reverse((now + delay, i)));
            }
            // Never polled, or overdue after a restart: spread below.
            _ => overdue.push(i),
        }
    }
    let spread: Vec<(&str, Duration)> = overdue
        .iter()
        .map(|&i| (sources[i].name.as_str(), sources[i].interval))
        .collect();
    for (&i, delay) in overdue
        .iter()
        .zip(policy::startup_delays(&spread, schedule.startup_spread))
    {
        heap.push(Reverse((now + delay, i)));
    }
    stats.running.store(true, Ordering::SeqCst);
    info!(sources = sources.len(), "scheduler started");
    loop {
        let next_due = heap.peek().map(|Reverse((t, _))| *t);
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            Some((i, due)) = done_rx.recv() => heap.push(Reverse((due, i))),
            () = sleep_until_opt(next_due) => {
                let now = Instant::now();
                while let Some(Reverse((due, i))) = heap.peek().copied() {
                    if due > now {
                        break;
                    }
                    heap.pop();
                    let lag = now.saturating_duration_since(due);
                    crate::metrics::scheduler_lag(lag);
                    if lag > Duration::from_secs(1) {
                        debug!(source = %sources[i].name, lag_ms = lag.as_millis() as u64, "poll starts late");
                    }
                    spawn_poll(&ctx, &sources, i, &schedule, &permits, &stats, &done_tx, &cancel, &tracker);
                }
            }
        }
    }
    stats.running.store(false, Ordering::SeqCst);
    info!("scheduler stopped");
}

#[allow(clippy::too_many_arguments)]
fn spawn_poll(
    ctx: &IngestContext,
    sources: &Arc<Vec<SourceConfig>>,
    i: usize,
    schedule: &ScheduleConfig,
    permits: &Arc<Semaphore>,
    stats: &Arc<SchedulerStats>,
    done: &mpsc::UnboundedSender<(usize, Instant)>,
    cancel: &CancellationToken,
    tracker: &TaskTracker,
) {
    let (ctx, sources, schedule, permits, stats, done, cancel) = (
        ctx.clone(),
        sources.clone(),
        schedule.clone(),
        permits.clone(),
        stats.clone(),
        done.clone(),
        cancel.clone(),
    );
    tracker.spawn(async move {
        let source = &sources[i];
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        stats.in_flight.fetch_add(1, Ordering::SeqCst);
        let report = tokio::select! {
            r = poll_source(&ctx, source) => Some(r),
            () = cancel.cancelled() => None,
        };
        stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        let Some(mut report) = report else {
            return;
        };
        let delay = policy::next_delay(
            &source.name,
            source.interval,
            schedule.min_interval,
            schedule.max_interval,
            report.state.failures,
            report.result.as_ref().err().and_then(|e| e.retry_after()),
            report.state.polls,
        );
        let next_ms = Utc::now().timestamp_millis() + delay.as_millis() as i64;
        report.state.next_poll = Some(next_ms);
        match ctx.store.put_source_state(&source.name, &report.state) {
            // The store refuses writes until it is reopened; that is reported once, not here.
            Ok(()) | Err(crate::storage::StoreError::Faulted(_)) => {}
            Err(e) => warn!(source = %source.name, error.message = %e, "cannot record next poll"),
        }
        let _ = done.send((i, Instant::now() + delay));
    });
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
