//! Start-up: [`App::build`] and [`App::build_with`] open the store (read through for damage at
//! open or later, as [`StoreCheck`] says), load the index from its snapshot or rebuild it while
//! the built-in boilerplate rules compile, and build the HTTP client and the ingest context;
//! [`App::with_notifier`] adds the service manager's socket. [`App::build_reporting`] names
//! each phase as it starts, for the service manager's `STATUS=` ([`crate::notify::LongPhase`]).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use tracing::info;

use super::{App, StoreCheck};
use crate::config::{Config, LiveSources};
use crate::fetch::host_limit::HostLimiter;
use crate::fetch::{CurrentFetcher, Fetcher};
use crate::fold::{snapshot, Folder};
use crate::ingest::{IngestContext, IngestOptions};
use crate::normalize::Rules;
use crate::notify::Notifier;
use crate::storage::Store;

impl App {
    /// Opens the store (read through for damage first), rebuilds the index from it and builds
    /// the HTTP client.
    pub fn build(config: Config) -> anyhow::Result<App> {
        Self::build_with(config, StoreCheck::AtOpen)
    }

    /// Like [`App::build`], reading the store through `check`.
    pub fn build_with(config: Config, check: StoreCheck) -> anyhow::Result<App> {
        Self::build_reporting(config, check, &|_| {})
    }

    /// Like [`App::build_with`], calling `phase` with the name of each phase as it starts
    /// ("starting: opening the store", "starting: loading the index").
    pub fn build_reporting(
        mut config: Config,
        check: StoreCheck,
        phase: &dyn Fn(&'static str),
    ) -> anyhow::Result<App> {
        let started = Instant::now();
        // Compiling the built-in boilerplate rules takes ~110 M instructions (BENCHMARKS.md,
        // "Session 26"; ~200 M before their forward-only automata): done on
        // a thread of its own while the store opens and the index is loaded (from the snapshot
        // or rebuilt: the longer part of a restart), and waited for before the first fetch, so
        // that polls start as before (bodies folded in the order they come in). Should the
        // thread not start, the first ingest compiles them (`Rules::shared_default`).
        let compiling = std::thread::Builder::new()
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
        // The index snapshot is read while sled opens the store.
        let prefetch = snapshot::Prefetch::start(path, &config.dedup);
        phase("starting: opening the store");
        let store = match check {
            StoreCheck::AtOpen => Store::open_with(path, every, cache)?,
            StoreCheck::AfterReady => Store::open_unverified(path, every, cache)?,
        };
        let now = Utc::now().timestamp_millis();
        phase("starting: loading the index");
        let (folder, index_source) =
            Folder::open_prefetched(store.clone(), config.dedup.clone(), now, prefetch)?;
        let fetcher = Fetcher::new(&config.fetch)?;
        if let Ok(compiling) = compiling {
            // A panic there would be a bug of the built-in rules; the first ingest meets it.
            let _ = compiling.join();
        }
        // The operator's rules (checked when the configuration was read) beside the built-in
        // ones, which the table shares with `Rules::shared_default`; the fold re-derives
        // stored candidates' texts with the same table.
        let rules = config
            .normalize
            .operator_table()
            .context("compiling normalize.rules")?;
        if let Some(rules) = &rules {
            folder.use_rules(Arc::clone(rules));
        }
        info!(
            store = %config.store.path.display(),
            index = folder.index_len(),
            operator_rules = config.normalize.rules.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "store open"
        );
        let hosts = Arc::new(HostLimiter::new(
            config.fetch.per_host_concurrency.get(),
            config.fetch.per_host_spacing,
        ));
        hosts.set_max_cooldown(config.schedule.max_retry_after);
        hosts.know(config.sources.iter().filter_map(crate::ingest::source_host));
        Ok(App {
            ctx: IngestContext {
                fetcher: Arc::new(CurrentFetcher::new(fetcher)),
                store,
                folder: Arc::new(folder),
                rules,
                hosts,
                errors: Arc::default(),
                clock: Arc::default(),
                options: Arc::new(IngestOptions::new(config.fetch.permanent_redirect_polls)),
                cpu: crate::ingest::cpu_pool(),
            },
            sources: Arc::new(LiveSources::new(
                std::mem::take(&mut config.sources),
                config.schedule.clone(),
                Utc::now().timestamp_millis(),
            )),
            config: Arc::new(config),
            notifier: Arc::new(Notifier::disabled()),
            index_source,
        })
    }

    /// Sends service-manager notifications (`READY=1`, watchdog, status) through `notifier`.
    pub fn with_notifier(mut self, notifier: Arc<Notifier>) -> App {
        self.notifier = notifier;
        self
    }
}
