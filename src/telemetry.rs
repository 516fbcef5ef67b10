//! Logging setup: tracing to stderr, human-readable text by default, JSON when configured.
//!
//! `RUST_LOG` overrides the configured level. Under systemd, when stderr *is* the journal
//! stream named by `JOURNAL_STREAM` (device and inode compared, as `systemd.exec(5)` asks),
//! text logs drop colours and timestamps (journald stamps every line itself) and start with
//! a syslog priority prefix such as `<4>`, which journald turns into the entry's priority, so
//! `journalctl -p warning` works. JSON logs are left as they are: one object per line.

use std::fmt;
use std::sync::{Mutex, OnceLock};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt as tfmt, reload, EnvFilter, Layer, Registry};

use crate::config::LogFormat;

/// The installed filter, for [`set_level`]: its reload handle and the configured directive
/// it was last set from (`None` when `RUST_LOG` chose it, which configuration never changes).
struct Installed {
    handle: reload::Handle<EnvFilter, Registry>,
    configured: Mutex<Option<String>>,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// The log filter `directives` (`log.level` or `RUST_LOG`) describe, refused when it would
/// not log what an operator asked for: an empty filter, or a bare word that is not a level
/// (`warning`, `verbose`: `EnvFilter` reads a bare word as a target's name, and such a filter
/// silences every line of the daemon). A module's level is given as `target=level`.
pub fn parse_filter(directives: &str) -> Result<EnvFilter, String> {
    let directives = directives.trim();
    if directives.is_empty() {
        return Err("empty; use a level (error, warn, info, debug, trace, off) or directives such as info,wirefold=debug".into());
    }
    let mut bare_trace = false;
    for d in directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        if !d.contains('=') && d.parse::<tracing::level_filters::LevelFilter>().is_err() {
            return Err(format!(
                "\"{d}\" is not a level (error, warn, info, debug, trace, off); a module's level is target=level"
            ));
        }
        bare_trace |= d.eq_ignore_ascii_case("trace");
    }
    let filter = EnvFilter::try_new(directives).map_err(|e| format!("not a log filter: {e}"))?;
    // sled logs the store's records at trace level as raw bytes: every stored source URL
    // with its password and token, every article. A bare `trace` keeps it at debug; a
    // directive that names sled (`sled=trace`) is taken as asked.
    Ok(match SLED_AT_DEBUG.parse() {
        Ok(sled) if bare_trace && !directives.contains("sled") => filter.add_directive(sled),
        _ => filter,
    })
}

/// The directive a bare `trace` filter gets (see [`parse_filter`]).
const SLED_AT_DEBUG: &str = "sled=debug";

/// Installs the global subscriber. Safe to call once; later calls are ignored. `RUST_LOG`,
/// when set and not empty, overrides `level`; one that [`parse_filter`] refuses is ignored,
/// with a warning once the subscriber is in place.
pub fn init(format: LogFormat, level: &str) {
    let from_env = std::env::var(EnvFilter::DEFAULT_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    let mut env_refused = None;
    let env_filter = from_env.and_then(|v| match parse_filter(&v) {
        Ok(f) => Some(f),
        Err(e) => {
            env_refused = Some((v, e));
            None
        }
    });
    let (filter, configured) = match env_filter {
        Some(f) => (f, None),
        None => (
            parse_filter(level).unwrap_or_else(|_| EnvFilter::new("info")),
            Some(level.to_owned()),
        ),
    };
    let (filter, handle) = reload::Layer::new(filter);
    let journald = stderr_is_journal();
    let ansi = !journald && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let lines = tfmt::layer()
        .with_writer(std::io::stderr)
        // A failed write is otherwise reported with `eprintln!`, which panics when stderr is
        // the broken pipe itself (a log reader that went away): the line is lost, not the
        // task that logged it.
        .log_internal_errors(false)
        .with_target(false);
    let lines = match (format, journald) {
        (LogFormat::Json, _) => lines.json().flatten_event(true).boxed(),
        (LogFormat::Text, true) => {
            let inner = tfmt::format()
                .with_target(false)
                .with_ansi(false)
                .without_time();
            lines
                .with_ansi(false)
                .event_format(JournalFormat { inner })
                .boxed()
        }
        (LogFormat::Text, false) => lines.with_ansi(ansi).boxed(),
    };
    if tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .try_init()
        .is_ok()
    {
        let _ = INSTALLED.set(Installed {
            handle,
            configured: Mutex::new(configured),
        });
    }
    if let Some((value, e)) = env_refused {
        tracing::warn!(RUST_LOG = %value, error.message = %e, level, "RUST_LOG ignored; the configuration's log.level is in force");
    }
}

/// What [`set_level`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelChange {
    /// The filter now follows the new directive.
    Applied,
    /// The directive is the one in force.
    Unchanged,
    /// `RUST_LOG` set the filter at start, and it stays in force.
    EnvironmentWins,
    /// [`init`] did not install the subscriber (another was installed first: tests).
    NotInstalled,
}

/// Replaces the log filter with `level` (an `EnvFilter` directive such as `debug` or
/// `info,wirefold=debug`) while the daemon runs: the configuration reload's way to turn
/// debug lines on and off without a restart.
pub fn set_level(level: &str) -> Result<LevelChange, String> {
    let Some(installed) = INSTALLED.get() else {
        return Ok(LevelChange::NotInstalled);
    };
    let mut configured = installed
        .configured
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match configured.as_deref() {
        None => return Ok(LevelChange::EnvironmentWins),
        Some(current) if current == level => return Ok(LevelChange::Unchanged),
        Some(_) => {}
    }
    let filter = parse_filter(level)?;
    installed
        .handle
        .reload(filter)
        .map_err(|e| format!("the log filter could not be replaced: {e}"))?;
    *configured = Some(level.to_owned());
    Ok(LevelChange::Applied)
}

/// True when stderr is connected to the journal: `JOURNAL_STREAM` is `DEVICE:INODE` of the
/// stream systemd connected, and only a matching stderr counts (a child started from a
/// service with its stderr redirected must not believe it writes to the journal).
pub fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some(expected) = value.to_str().and_then(parse_journal_stream) else {
        return false;
    };
    stderr_identity() == Some(expected)
}

/// Parses `JOURNAL_STREAM`'s `DEVICE:INODE`.
fn parse_journal_stream(value: &str) -> Option<(u64, u64)> {
    let (dev, ino) = value.trim().split_once(':')?;
    Some((dev.parse().ok()?, ino.parse().ok()?))
}

#[cfg(unix)]
fn stderr_identity() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn stderr_identity() -> Option<(u64, u64)> {
    None
}

/// The syslog priority journald reads from a `<N>` line prefix.
pub fn syslog_priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// Text lines for the journal: `<N>` priority prefix, then the plain formatter's line; every
/// line of a multi-line event gets the prefix.
struct JournalFormat<F> {
    inner: F,
}

impl<S, N, F> FormatEvent<S, N> for JournalFormat<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let priority = syslog_priority(event.metadata().level());
        let mut text = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut text), event)?;
        // journald makes every line of its stream an entry of its own and reads the prefix of
        // each: a message of several lines (a refused configuration's problems) keeps its
        // priority on all of them, so `journalctl -p err` shows the whole of it.
        for line in text.split_inclusive('\n') {
            write!(writer, "<{priority}>{line}")?;
        }
        Ok(())
    }
}

thread_local! {
    /// Set while [`quietly_catching_panics`] runs on this thread.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err(message)` without the panic's report on stderr.
///
/// Only panics on the calling thread are silenced: the first call wraps the process's panic
/// hook once in one that skips the report while this thread is inside `f`. (Swapping the hook
/// for a silent one around `f`, as before, silenced every thread meanwhile, and two
/// overlapping calls — a store reopened while another opens, parallel tests — could leave the
/// silent hook installed for good.)
pub(crate) fn quietly_catching_panics<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static WRAP_HOOK: std::sync::Once = std::sync::Once::new();
    WRAP_HOOK.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                report(info);
            }
        }));
    });
    let outer = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(outer));
    result.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_that_would_silence_the_daemon_is_refused() {
        for good in [
            "info",
            "WARN",
            " debug ",
            "off",
            "info,wirefold=debug",
            "warn,hyper=off,",
        ] {
            assert!(parse_filter(good).is_ok(), "{good}");
        }
        for (bad, says) in [
            ("warning", "\"warning\" is not a level"),
            ("verbose", "\"verbose\" is not a level"),
            ("info,wirefold", "\"wirefold\" is not a level"),
            ("", "empty"),
            ("  ", "empty"),
            ("info,wirefold=dbg", "not a log filter"),
        ] {
            match parse_filter(bad) {
                Err(e) => assert!(e.contains(says), "{bad:?}: {e}"),
                Ok(_) => panic!("{bad:?} accepted"),
            }
        }
    }

    /// sled's trace lines are the store's records as bytes, credentials of stored source URLs
    /// included: a bare `trace` keeps sled at debug.
    #[test]
    fn a_bare_trace_keeps_the_stores_raw_records_out() {
        let shown = |f: &str| parse_filter(f).map(|f| f.to_string()).unwrap_or_default();
        assert!(shown("trace").contains("sled=debug"), "{}", shown("trace"));
        assert!(shown("info,TRACE").contains("sled=debug"));
        for kept in ["debug", "info,wirefold=trace", "trace,sled=trace"] {
            assert!(
                !shown(kept).contains("sled=debug"),
                "{kept}: {}",
                shown(kept)
            );
        }
    }

    #[test]
    fn journal_stream_is_device_colon_inode() {
        assert_eq!(parse_journal_stream("8:12345"), Some((8, 12345)));
        assert_eq!(parse_journal_stream("8:12345\n"), Some((8, 12345)));
        assert_eq!(parse_journal_stream("8"), None);
        assert_eq!(parse_journal_stream("a:b"), None);
    }

    /// What the journal format writes for the events `emit` logs.
    fn journal_lines(emit: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::layer::SubscriberExt;
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let out = buffer.clone();
        let inner = tfmt::format()
            .with_target(false)
            .with_ansi(false)
            .without_time();
        let subscriber = tracing_subscriber::registry().with(
            tfmt::layer()
                .with_writer(move || out.clone())
                .with_ansi(false)
                .event_format(JournalFormat { inner }),
        );
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn every_line_of_a_journal_entry_carries_its_priority() {
        let text = journal_lines(|| {
            tracing::error!(error.message = %"invalid configuration:\n  a: bad\n  b: worse", "not reloaded");
            tracing::warn!("one line");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        for line in &lines[..3] {
            assert!(line.starts_with("<3>"), "{text}");
        }
        assert!(lines[0].starts_with("<3>ERROR not reloaded"), "{text}");
        assert_eq!(lines[2], "<3>  b: worse", "{text}");
        assert!(lines[3].starts_with("<4> WARN one line"), "{text}");
    }

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(syslog_priority(&Level::ERROR), 3);
        assert_eq!(syslog_priority(&Level::WARN), 4);
        assert_eq!(syslog_priority(&Level::INFO), 6);
        assert_eq!(syslog_priority(&Level::DEBUG), 7);
    }

    #[test]
    fn a_panic_becomes_an_error_and_only_its_own_thread_is_silenced() {
        let r: Result<(), String> = super::quietly_catching_panics(|| panic!("sled says no"));
        assert_eq!(r.unwrap_err(), "sled says no");
        let quiet_here = || super::QUIET.with(std::cell::Cell::get);
        assert!(!quiet_here(), "the calling thread is loud again afterwards");

        // While another thread is inside, this one is not silenced.
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let (inside, entered) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            super::quietly_catching_panics(|| {
                inside.send(()).ok();
                wait.recv().ok();
                panic!("on the other thread")
            })
        });
        entered.recv().expect("the other thread entered");
        assert!(!quiet_here(), "another thread's call silenced this one");
        go.send(()).expect("the other thread waits");
        let r: Result<(), String> = other.join().expect("the panic was caught");
        assert_eq!(r.unwrap_err(), "on the other thread");
    }
}
