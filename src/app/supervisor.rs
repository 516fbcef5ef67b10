//! The supervisor's side of the app: notifications to the service manager (`READY=1`,
//! `STOPPING=1`, the watchdog and the one-line `STATUS=`) and the task that pings the watchdog
//! while the store answers.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::App;
use crate::cli::counted;
use crate::notify::State;

impl App {
    pub(super) fn send(&self, states: &[State<'_>]) {
        if let Err(e) = self.notifier.notify(states) {
            warn!(error.message = %e, "cannot notify the service manager");
        }
    }

    pub(super) fn clone_parts(&self) -> App {
        App {
            config: self.config.clone(),
            sources: self.sources.clone(),
            ctx: self.ctx.clone(),
            notifier: self.notifier.clone(),
            index_source: self.index_source,
        }
    }

    /// Pings the watchdog at half its timeout (only while the store answers, so a wedged
    /// store gets the service restarted) and refreshes `STATUS=` every 30 s at most.
    pub(super) async fn supervise(self, stop: CancellationToken) {
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
            // The durable counters: read without the database's handle, so a backup that has
            // it closed does not stop the pings.
            let store_ok = self.ctx.store.counts().is_ok();
            if self.notifier.watchdog_timeout().is_some() && store_ok {
                self.send(&[State::Watchdog]);
            }
            if last_status.elapsed() >= status_every && !self.ctx.store.is_closed() {
                last_status = Instant::now();
                // One store read per source: on the blocking pool, not on a runtime thread,
                // and not while a backup has the store closed (the line waits for the next).
                let app = self.clone_parts();
                if let Ok(line) = tokio::task::spawn_blocking(move || app.summary()).await {
                    self.send(&[State::Status(&line)]);
                }
            }
        }
    }

    /// One line for `systemctl status`: sources, failures, counts, store size. Failing is
    /// what `/status` and `wirefold stats` count so (`failing` or `down`): a source gone
    /// (410, not polled any more) was counted too.
    pub fn summary(&self) -> String {
        let live = self.sources.get();
        let sources: Vec<_> = live.enabled().collect();
        let failing = sources
            .iter()
            .filter(|s| {
                let Ok(Some(st)) = self.ctx.store.source_state(&s.name) else {
                    return false;
                };
                let entry = crate::http::source_entry(s, &live.schedule, st, None);
                matches!(crate::http::health_of(&entry), "failing" | "down")
            })
            .count();
        let counts = self.ctx.store.counts().unwrap_or_default();
        format!(
            "{} ({failing} failing); {} in {}; store {} MiB",
            counted(sources.len() as u64, "source", "sources"),
            counted(counts.articles, "article", "articles"),
            counted(counts.stories, "story", "stories"),
            self.ctx.store.size_on_disk() / (1024 * 1024)
        )
    }
}
