//! The `wirefold` binary: parses the command line, loads the configuration, sets up logging,
//! runs the command and maps the result to an exit code. Everything else is in the library.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use wirefold::app::{App, OnceOutcome, StoreCheck};
use wirefold::cli::{self, Cli, Command, ConfigArg};
use wirefold::config::{Config, ConfigError};
use wirefold::export;
use wirefold::notify::{LongPhase, Notifier};
use wirefold::telemetry;

/// The system's allocator, keeping the store's log buffers for reuse (`memory::Allocator`).
#[global_allocator]
static ALLOCATOR: wirefold::memory::Allocator = wirefold::memory::Allocator;

fn main() -> ExitCode {
    wirefold::memory::tune_allocator();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A URL an error quotes (`--url` as typed, a reqwest error's) without the
            // credentials in it: the line may go to a CI log or a container's health record.
            let message = format!("{e:#}");
            let shown = wirefold::config::shown_text(&message);
            cli::note(format_args!("wirefold: error: {shown}"));
            ExitCode::FAILURE
        }
    }
}

/// `wirefold import-opml`: the file's new feeds as `[[sources]]` entries on stdout, what is
/// left out and why on stderr. The configuration (when one is named or the default file
/// exists) gives the sources already there and the schedule's bounds for `--interval`.
fn import_opml(
    arg: &ConfigArg,
    interval: Option<&str>,
    file: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    use wirefold::config::opml;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let feeds = opml::feeds(&bytes).with_context(|| file.display().to_string())?;
    if feeds.is_empty() {
        anyhow::bail!(
            "{}: no feeds in it (no <outline> with an xmlUrl)",
            file.display()
        );
    }
    let (configured, schedule) = match optional_config(arg) {
        Some(path) => Config::load_sources(&path)?,
        None => (Vec::new(), Default::default()),
    };
    let interval = interval
        .map(|raw| opml::check_interval(raw, &schedule))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let found = feeds.len();
    let import = opml::plan(feeds, &configured, &schedule);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# {} from {} (wirefold import-opml)",
        cli::counted(import.sources.len() as u64, "source", "sources"),
        opml::one_line(&file.display().to_string())
    )?;
    out.write_all(opml::to_toml(&import.sources, interval.as_deref()).as_bytes())?;
    out.flush()?;
    cli::note(format_args!(
        "{} in {}: {} to add, {} left out",
        cli::counted(found as u64, "feed", "feeds"),
        file.display(),
        import.sources.len(),
        import.skipped.len()
    ));
    for s in &import.skipped {
        cli::note(format_args!("  - {s}"));
    }
    for n in &import.notes {
        cli::note(format_args!("  - {n}"));
    }
    Ok(ExitCode::SUCCESS)
}

/// The configuration file for a command that can do without one: the one named (`--config`,
/// `WIREFOLD_CONFIG`), else the default file if it exists, else none.
fn optional_config(arg: &ConfigArg) -> Option<std::path::PathBuf> {
    let path = Config::resolve_path(arg.config.as_deref());
    let named =
        arg.config.is_some() || std::env::var_os("WIREFOLD_CONFIG").is_some_and(|p| !p.is_empty());
    (named || path.exists()).then_some(path)
}

fn load(arg: &ConfigArg) -> Result<Config, ConfigError> {
    Config::load(&Config::resolve_path(arg.config.as_deref()))
}

/// The running daemon's base URL and token for the client commands (`stats`, `poll-now`,
/// `backup`, `health-check`): `--url` when given; else from the configuration
/// (`http.token`, and the address the daemon running on its `store.path` bound, else
/// `http.listen`; environment overrides included), so that a container whose
/// `WIREFOLD_HTTP__LISTEN` moved the port checks the right one; else, when no
/// configuration was named and the default file is absent, `WIREFOLD_HTTP__LISTEN` or
/// `http://127.0.0.1:8080`. The
/// token is the configuration's either way (`--url` names where the daemon is, not who may
/// ask it).
fn daemon_url(url: Option<String>, arg: &ConfigArg) -> anyhow::Result<(String, Option<String>)> {
    let token_of = |http: &wirefold::config::HttpConfig| {
        http.token
            .as_ref()
            .map(|t| secrecy::ExposeSecret::expose_secret(t).to_owned())
    };
    if let Some(url) = url {
        // The configuration is only asked for its token: one that does not load is no reason
        // to refuse a command told where the daemon is.
        let token = optional_config(arg)
            .and_then(|path| Config::load_http(&path).ok())
            .and_then(|http| token_of(&http));
        return Ok((daemon_base(&url)?, token));
    }
    let Some(path) = optional_config(arg) else {
        return Ok((wirefold::config::fallback_local_url(), None));
    };
    let (http, store) = Config::load_client(&path)?;
    let token = token_of(&http);
    // The address the daemon bound, as it marked the store: `http.listen` may have been
    // edited since, for the next restart.
    let bound = store
        .as_deref()
        .and_then(wirefold::storage::listening)
        .and_then(wirefold::config::local_url);
    let base = bound.or_else(|| http.local_url()).ok_or_else(|| {
        // Port 0 is known only from a running daemon's mark in its store.
        let store = store.as_deref().map_or_else(
            || "the store".to_owned(),
            |s| format!("the store {}", s.display()),
        );
        anyhow::anyhow!(
            "{}: http.listen {} has port 0, chosen when the daemon starts, and {store} names \
             no address a daemon listens on: is the daemon running? (If it runs on another \
             store, pass --url.)",
            path.display(),
            http.listen
        )
    })?;
    Ok((base, token))
}

/// `--url` as the daemon's base: an `http://` or `https://` URL without query, and without
/// a trailing slash or one of the daemon's own endpoints (an operator pastes the
/// `…/status` or `…/healthz` they watch). A path before it stays: a daemon behind a proxy
/// at `https://news.example.org/wirefold`.
fn daemon_base(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        anyhow::anyhow!("--url {url:?} is not a URL ({e}); write it as http://127.0.0.1:8080")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
        anyhow::bail!(
            "--url {url:?} is not an http:// or https:// URL; write it as http://127.0.0.1:8080"
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        anyhow::bail!("--url {url:?} has a query or fragment; give the daemon's base URL only");
    }
    let mut base = parsed.as_str().trim_end_matches('/');
    for endpoint in ["/status", "/healthz", "/readyz", "/metrics"] {
        if let Some(stem) = base.strip_suffix(endpoint) {
            base = stem;
            break;
        }
    }
    Ok(base.trim_end_matches('/').to_owned())
}

/// `health-check --url`: a URL of `/healthz` or `/readyz` as given; otherwise the daemon's
/// base as `stats --url` reads it ([`daemon_base`]) with `/healthz` added. The base alone
/// fetched the page for people, which needs the token when one is set.
fn health_url(given: &str) -> String {
    let trimmed = given.trim_end_matches('/');
    if trimmed.ends_with("/healthz") || trimmed.ends_with("/readyz") {
        return given.to_owned();
    }
    // The base as `stats --url` reads it: a path prefix kept (behind a proxy), a pasted
    // `/status` dropped; what is no base URL is asked as given, and fails as such.
    match daemon_base(given) {
        Ok(base) => format!("{base}/healthz"),
        Err(_) => given.to_owned(),
    }
}

/// The daemon's base URL and the token to send it: the command line's, else the
/// configuration's ([`daemon_url`]).
fn daemon_address(arg: cli::DaemonArg) -> anyhow::Result<(String, Option<String>)> {
    // Empty (`WIREFOLD_TOKEN=` in an env file): none given, the configuration's is sent.
    let given = arg
        .token
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(cli::parse_token)
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?;
    let (url, configured) = daemon_url(arg.url, &arg.config)?;
    Ok((url, given.or(configured)))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Blocking threads run parsing, folding and store reads: CPU and disk work that gains
    // nothing from more threads than a few per core, while each extra thread costs memory
    // (stack, allocator arena). tokio's default allows 512.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads((2 * cores).max(4))
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::CheckConfig(arg) => match load(&arg) {
            Ok(c) => {
                let rules = match c.normalize.rules.len() {
                    0 => String::new(),
                    n => format!(
                        ", {} of its own",
                        cli::counted(n as u64, "boilerplate rule", "boilerplate rules")
                    ),
                };
                for w in c.warnings() {
                    cli::note(format_args!("warning: {w}"));
                }
                cli::say(format_args!(
                    "{}: ok ({}, {} enabled{rules})",
                    c.path.display(),
                    cli::counted(c.sources.len() as u64, "source", "sources"),
                    c.enabled_sources().count()
                ))?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                cli::note(format_args!("{e}"));
                Ok(ExitCode::from(2))
            }
        },
        Command::Run(arg) => {
            // Before anything slow (a configuration of thousands of sources, the runtime): a
            // SIGHUP from here on is kept for the reload handler instead of ending the process.
            early_hangup::catch();
            let config = load(&arg)?;
            telemetry::init(config.log.format, &config.log.level);
            for w in config.warnings() {
                tracing::warn!(path = %config.path.display(), "configuration: {w}");
            }
            let rt = runtime()?;
            rt.block_on(async {
                let notifier = Arc::new(Notifier::from_env().unwrap_or_else(|e| {
                    tracing::warn!(error.message = %e, "service manager notifications disabled");
                    Notifier::disabled()
                }));
                let shutdown = CancellationToken::new();
                tokio::spawn(shutdown_on_signal(shutdown.clone())?);
                let hangups = hangups()?;
                let listener = wirefold::app::bind(&config.http).await?;
                // Probes get an answer while the store opens, not a connection left waiting.
                let early =
                    wirefold::http::StartingServer::start(&listener, config.http.request_timeout)?;
                // A store replayed after a crash, or an index rebuilt from millions of
                // articles, can outlast TimeoutStartSec: ask for more time while it works.
                let starting = LongPhase::start(notifier.clone(), "starting: opening the store");
                early.set_phase("starting: opening the store");
                let app = App::build_reporting(config, StoreCheck::AfterReady, &|p| {
                    starting.set(p);
                    early.set_phase(p);
                })?;
                drop(starting);
                early.stop();
                let app = app.with_notifier(notifier);
                app.run(listener, shutdown, |_| {}, hangups).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Once(arg) => {
            let config = load(&arg)?;
            telemetry::init(config.log.format, &config.log.level);
            let rt = runtime()?;
            let stop = CancellationToken::new();
            let reports = rt.block_on(async {
                // Before the store opens: a stop from then on leaves it flushed and marked
                // clean, as the daemon's does (a second signal exits at once).
                tokio::spawn(shutdown_on_signal(stop.clone())?);
                let app = App::build(config)?;
                anyhow::Ok(app.once_until(&stop).await)
            })?;
            let mut out = std::io::stdout().lock();
            let mut failed = 0;
            for (name, outcome) in &reports {
                let r = match outcome {
                    OnceOutcome::NotStarted => {
                        writeln!(out, "{name}: not polled: stopped")?;
                        continue;
                    }
                    OnceOutcome::CutOff => {
                        writeln!(
                            out,
                            "{name}: cut off: stopped while polled (http.shutdown_grace ran out)"
                        )?;
                        continue;
                    }
                    OnceOutcome::Polled(r) => r,
                    OnceOutcome::HostPaused { host, left } => {
                        let left = Duration::from_secs(left.as_secs().max(1));
                        writeln!(
                            out,
                            "{name}: not polled: {host} asked for a pause (Retry-After), {} left",
                            humantime::format_duration(left)
                        )?;
                        continue;
                    }
                };
                match &r.result {
                    Ok(s) => writeln!(
                        out,
                        "{name}: ok seen={} new={} updated={} copies={} unchanged={}{}",
                        s.seen,
                        s.new,
                        s.updated,
                        s.copies,
                        s.unchanged,
                        if s.not_modified {
                            " (not modified)"
                        } else {
                            ""
                        }
                    )?,
                    Err(e) => {
                        failed += 1;
                        writeln!(
                            out,
                            "{name}: error [{}] {}",
                            e.class(),
                            wirefold::config::shown_message(&e.to_string())
                        )?;
                    }
                }
            }
            // A run stopped before its polls were done did not do its work: no success for
            // a script to go on from.
            let stopped = reports
                .iter()
                .any(|(_, r)| matches!(r, OnceOutcome::NotStarted | OnceOutcome::CutOff));
            Ok(
                if stopped || !reports.is_empty() && failed == reports.len() {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                },
            )
        }
        Command::Export { config, since } => {
            let config = load(&config)?;
            // Warnings only (the store's, such as a durable line mark that does not read), on
            // stderr: stdout is the export.
            telemetry::init(config.log.format, "warn");
            let n = export::export(&config, since, &mut std::io::stdout().lock())?;
            cli::note(format_args!("exported {n} articles"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Normalize { config, file } => {
            // Without a configuration named or found, the built-in rules alone: checking how
            // a feed normalizes needs no daemon set up.
            let normalize = match optional_config(&config) {
                Some(path) => Config::load_normalize(&path)?,
                None => wirefold::config::NormalizeConfig::default(),
            };
            let n = wirefold::inspect::normalize_file(
                &normalize,
                &file,
                &mut std::io::stdout().lock(),
            )?;
            cli::note(format_args!(
                "normalized {n} entries with the built-in rules and {} of normalize.rules",
                normalize.rules.len()
            ));
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportOpml {
            config,
            interval,
            file,
        } => import_opml(&config, interval.as_deref(), &file),
        Command::ExportOpml(config) => {
            let path = Config::resolve_path(config.config.as_deref());
            let (sources, schedule) = Config::load_sources(&path)?;
            let title = format!("wirefold sources ({})", path.display());
            let mut out = std::io::stdout().lock();
            out.write_all(
                wirefold::config::opml::to_opml(&sources, &title, schedule.default_interval)
                    .as_bytes(),
            )?;
            out.flush()?;
            for s in sources.iter().filter(|s| !s.headers.is_empty()) {
                cli::note(format_args!(
                    "source \"{}\": its headers are not written (OPML has no place for them); add them again after an import",
                    s.name
                ));
            }
            cli::note(format_args!(
                "{} from {}",
                cli::counted(sources.len() as u64, "source", "sources"),
                path.display()
            ));
            Ok(ExitCode::SUCCESS)
        }
        Command::PollNow {
            daemon,
            no_wait,
            source,
        } => {
            let (url, token) = daemon_address(daemon)?;
            let rt = runtime()?;
            let text = rt.block_on(wirefold::stats::poll_now(
                &url,
                token.as_deref(),
                &source,
                !no_wait,
            ))?;
            cli::note(format_args!("{text}"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { daemon, offline } if offline => {
            let config = load(&daemon.config)?;
            let store = &config.store;
            let r = wirefold::storage::backup_stopped(
                &store.path,
                &store.backup_dir,
                store.backups_kept,
            )
            .map_err(|e| anyhow::anyhow!("backing up {}: {e}", store.path.display()))?;
            cli::note(format_args!(
                "store backed up to {} ({:.1} MiB in {:.1} s, the daemon stopped)",
                r.path.display(),
                r.bytes as f64 / (1024.0 * 1024.0),
                r.closed_for.as_secs_f64()
            ));
            for removed in &r.removed {
                cli::note(format_args!(
                    "removed the older backup {}",
                    removed.display()
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { daemon, .. } => {
            let (url, token) = daemon_address(daemon)?;
            let rt = runtime()?;
            let text = rt.block_on(wirefold::stats::backup(&url, token.as_deref()))?;
            cli::note(format_args!("{text}"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { config, backup } => {
            let config = load(&config)?;
            let store = &config.store.path;
            let r = wirefold::storage::restore(&backup, store, config.store.flush_every).map_err(
                |e| anyhow::anyhow!("restoring {} to {}: {e}", backup.display(), store.display()),
            )?;
            cli::note(format_args!(
                "restored {} and {} from {} to {}",
                cli::counted(r.counts.articles, "article", "articles"),
                cli::counted(r.counts.stories, "story", "stories"),
                backup.display(),
                store.display()
            ));
            if let Some(old) = r.replaced {
                cli::note(format_args!(
                    "the store it replaced is at {}; remove it once the daemon serves the restored one",
                    old.display()
                ));
            }
            for copy in r.removed {
                cli::note(format_args!(
                    "removed {}, left by a restore that was stopped",
                    copy.display()
                ));
            }
            if let Some(first) = r.ids_from {
                cli::note(format_args!(
                    "its ids now start at {first}, past those the replaced store handed out: change-feed cursors from the replaced store get 410 cursor_expired"
                ));
            }
            if let Some(why) = r.ids_unknown {
                cli::note(format_args!(
                    "warning: which ids the store it stands in for handed out is unknown: {why}; the restored store may give articles, stories and change-feed cursors ids it gave, and followers should start again without a cursor"
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Compact { config, keep_old } => {
            let config = load(&config)?;
            // The store's warnings, as `export` shows them.
            telemetry::init(config.log.format, "warn");
            let store = &config.store.path;
            let r = wirefold::storage::compact(store, config.store.flush_every, keep_old)
                .map_err(|e| anyhow::anyhow!("compacting {}: {e}", store.display()))?;
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            for copy in &r.removed {
                cli::note(format_args!(
                    "removed {}, left by a restore or compaction that was stopped",
                    copy.display()
                ));
            }
            if !r.replaced {
                cli::note(format_args!(
                    "{} is compact already: a copy of it took {:.1} MiB on disk, the store {:.1} MiB; it was left as it was",
                    store.display(),
                    mib(r.after),
                    mib(r.before)
                ));
                return Ok(ExitCode::SUCCESS);
            }
            cli::note(format_args!(
                "compacted {}: {:.1} MiB on disk before, {:.1} MiB after ({}, {}; {} keys copied in {:.1} s)",
                store.display(),
                mib(r.before),
                mib(r.after),
                cli::counted(r.counts.articles, "article", "articles"),
                cli::counted(r.counts.stories, "story", "stories"),
                r.entries,
                r.took.as_secs_f64()
            ));
            if let Some(old) = r.kept {
                cli::note(format_args!(
                    "the store as it was is at {}; remove it once the daemon serves the compacted one",
                    old.display()
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { daemon, source } => {
            let (url, token) = daemon_address(daemon)?;
            let rt = runtime()?;
            let text = rt.block_on(wirefold::stats::stats(
                &url,
                token.as_deref(),
                source.as_deref(),
            ))?;
            // A closed stdout (`wirefold stats | head -0`) is an error to report, not a panic.
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval(args) => {
            wirefold::eval::command::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::HealthCheck { config, url } => {
            let url = match url {
                Some(url) => health_url(&url),
                None => match daemon_url(None, &config) {
                    Ok((base, _)) => format!("{base}/healthz"),
                    // The daemon runs on the configuration it read at its start (or its last
                    // good reload): a file edited since into one that does not load, which a
                    // reload refuses and the daemon survives, says nothing of its health.
                    Err(e) if e.downcast_ref::<ConfigError>().is_some() => {
                        let base = wirefold::config::fallback_local_url();
                        cli::note(format_args!(
                            "{e:#}\nasking {base} (WIREFOLD_HTTP__LISTEN, else the default \
                             http.listen) instead"
                        ));
                        format!("{base}/healthz")
                    }
                    Err(e) => {
                        cli::note(format_args!("{e:#}"));
                        return Ok(ExitCode::FAILURE);
                    }
                },
            };
            let rt = runtime()?;
            let ok = rt.block_on(async {
                let client = wirefold::stats::client(std::time::Duration::from_secs(5))?;
                anyhow::Ok(client.get(&url).send().await?.status().is_success())
            });
            let shown = |text: String| wirefold::config::shown_text(&text).into_owned();
            match ok {
                Ok(true) => Ok(ExitCode::SUCCESS),
                Ok(false) => {
                    cli::note(format_args!("{}", shown(format!("{url}: not healthy"))));
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => {
                    cli::note(format_args!("{}", shown(format!("{url}: {e:#}"))));
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// Installs the SIGINT and SIGTERM handlers *now* and returns a future that cancels `token`
/// on either. Installing them before the daemon reports ready matters: a service manager may
/// stop the service right after `READY=1`, and a signal that arrived before a lazily
/// installed handler would kill the process without flushing the store.
#[cfg(unix)]
fn shutdown_on_signal(
    token: CancellationToken,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        token.cancel();
        // A second one (Ctrl-C again) means "now": the stop may be waiting for its grace
        // periods (`http.shutdown_grace`), and the operator chose not to.
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::warn!("a second stop signal: exiting now without finishing the stop; the store is left as after a crash and the next start reads it through");
        std::process::exit(1);
    })
}

/// Installs the SIGHUP handler *now* (a SIGHUP before it would end the process) and returns
/// a channel with one message per signal: the daemon reloads its sources on each.
#[cfg(unix)]
fn hangups() -> std::io::Result<tokio::sync::mpsc::UnboundedReceiver<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    // One that came while the configuration was read may ask for an edit made after it was
    // read: reloaded once the daemon runs.
    if early_hangup::seen() {
        let _ = tx.send(());
    }
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if tx.send(()).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// A SIGHUP before [`hangups`] installs the reload handler: its default action ends the
/// process, so a reload asked for in the first moments of a start (by a script, a container
/// runtime) killed the daemon. [`catch`](early_hangup::catch) installs a handler that only
/// remembers it; tokio's handler, installed later, calls it too, which does no harm.
#[cfg(unix)]
mod early_hangup {
    use std::sync::atomic::{AtomicBool, Ordering};

    static SEEN: AtomicBool = AtomicBool::new(false);

    extern "C" fn remember(_: libc::c_int) {
        // Async-signal-safe: an atomic store, nothing else.
        SEEN.store(true, Ordering::SeqCst);
    }

    pub fn catch() {
        // SAFETY: `remember` only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(
                libc::SIGHUP,
                remember as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }

    pub fn seen() -> bool {
        SEEN.load(Ordering::SeqCst)
    }
}

#[cfg(not(unix))]
mod early_hangup {
    pub fn catch() {}
}

#[cfg(not(unix))]
fn hangups() -> std::io::Result<tokio::sync::mpsc::UnboundedReceiver<()>> {
    Ok(tokio::sync::mpsc::unbounded_channel().1)
}

#[cfg(not(unix))]
fn shutdown_on_signal(
    token: CancellationToken,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async move {
        let _ = tokio::signal::ctrl_c().await;
        token.cancel();
    })
}

#[cfg(test)]
mod tests {
    use super::{daemon_base, health_url};

    #[test]
    fn a_health_check_given_the_daemons_base_asks_its_healthz() {
        assert_eq!(
            health_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(
            health_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(
            health_url("http://127.0.0.1:8080/healthz"),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(
            health_url("https://news.example.org/wirefold/healthz"),
            "https://news.example.org/wirefold/healthz"
        );
        // Behind a proxy, and pasted from the status the operator watches.
        assert_eq!(
            health_url("https://news.example.org/wirefold/"),
            "https://news.example.org/wirefold/healthz"
        );
        assert_eq!(
            health_url("http://127.0.0.1:8080/status"),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(
            health_url("http://127.0.0.1:8080/readyz"),
            "http://127.0.0.1:8080/readyz"
        );
    }

    #[test]
    fn a_pasted_endpoint_url_is_taken_as_the_daemons_base() {
        for (given, base) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/status", "http://127.0.0.1:8080"),
            ("http://localhost:8080/healthz/", "http://localhost:8080"),
            (
                "https://news.example.org/wirefold/",
                "https://news.example.org/wirefold",
            ),
            (
                "https://news.example.org/wirefold/metrics",
                "https://news.example.org/wirefold",
            ),
            (
                "http://127.0.0.1:8080/statusboard",
                "http://127.0.0.1:8080/statusboard",
            ),
        ] {
            assert_eq!(daemon_base(given).unwrap(), base, "{given}");
        }
        for (given, says) in [
            ("127.0.0.1:8080", "http://"),
            ("localhost:8080", "http://"),
            ("ftp://127.0.0.1/", "http://"),
            ("http://127.0.0.1:8080/status?source=x", "query"),
        ] {
            let e = daemon_base(given).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(given), "{given}: {e}");
        }
    }
}
