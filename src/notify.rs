//! The systemd notification protocol (`sd_notify(3)`), in the few lines it takes.
//!
//! Under `Type=notify` systemd passes a datagram socket in `NOTIFY_SOCKET` (a path, or an
//! abstract name written with a leading `@`) and waits for `READY=1`. With `WatchdogSec=` it
//! also sets `WATCHDOG_USEC` (and `WATCHDOG_PID`): the service must send `WATCHDOG=1` more
//! often than that or be restarted. `STATUS=` is a free-form line shown by `systemctl status`,
//! and `STOPPING=1` says that a stop is under way. `EXTEND_TIMEOUT_USEC=` asks for more time
//! than `TimeoutStartSec=` / `TimeoutStopSec=` give: [`LongPhase`] sends it while a start or a
//! stop is visibly working (a crashed store's replay, an index rebuilt from millions of
//! articles), so that a slow start is not killed and restarted in a loop while a hung one
//! still is.
//!
//! Outside systemd (`NOTIFY_SOCKET` unset) the [`Notifier`] is disabled and every call is a
//! no-op, so the daemon behaves the same wherever it runs. Send failures are returned to the
//! caller, which logs them: a notification that cannot be delivered is never fatal.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Errors of the notification socket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// `NOTIFY_SOCKET` is set but names no usable socket address.
    #[error("NOTIFY_SOCKET={value:?} is not a socket path or @abstract name: {message}")]
    BadAddress {
        /// The variable's value.
        value: String,
        /// Why it cannot be used.
        message: String,
    },
    /// Creating the client socket or sending a datagram failed.
    #[error("sending to the service manager failed: {0}")]
    Io(#[from] std::io::Error),
}

/// One state change, as `sd_notify(3)` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State<'a> {
    /// Start-up finished: the service is ready.
    Ready,
    /// Shutdown started.
    Stopping,
    /// Keep-alive ping for the watchdog.
    Watchdog,
    /// A one-line human-readable status (newlines are replaced by spaces).
    Status(&'a str),
    /// Asks for this much more time in the current state (start-up or shutdown), counted
    /// from now; only matters once the unit's own timeout has passed.
    ExtendTimeout(Duration),
}

impl State<'_> {
    fn write_to(&self, out: &mut String) {
        match self {
            State::Ready => out.push_str("READY=1"),
            State::Stopping => out.push_str("STOPPING=1"),
            State::Watchdog => out.push_str("WATCHDOG=1"),
            State::Status(s) => {
                out.push_str("STATUS=");
                out.extend(s.chars().map(|c| if c == '\n' { ' ' } else { c }));
            }
            State::ExtendTimeout(d) => {
                out.push_str("EXTEND_TIMEOUT_USEC=");
                out.push_str(&d.as_micros().to_string());
            }
        }
    }
}

/// A handle on the service manager's notification socket; disabled when there is none.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier {
            target: None,
            watchdog: None,
        }
    }

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the process environment.
    pub fn from_env() -> Result<Notifier, NotifyError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Notifier::from_values(
            var("NOTIFY_SOCKET").as_deref(),
            var("WATCHDOG_USEC").as_deref(),
            var("WATCHDOG_PID").as_deref(),
        )
    }

    /// Like [`Notifier::from_env`], with the variables' values given.
    pub fn from_values(
        socket: Option<&str>,
        watchdog_usec: Option<&str>,
        watchdog_pid: Option<&str>,
    ) -> Result<Notifier, NotifyError> {
        let Some(socket) = socket else {
            return Ok(Notifier::disabled());
        };
        let addr = parse_address(socket)?;
        let client = UnixDatagram::unbound()?;
        Ok(Notifier {
            target: Some((client, addr)),
            watchdog: watchdog_interval(watchdog_usec, watchdog_pid, std::process::id()),
        })
    }

    /// True when notifications go somewhere.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// The watchdog timeout systemd enforces, if it asked this process for pings; ping at
    /// half of it.
    pub fn watchdog_timeout(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends the states in one datagram (no-op when disabled).
    pub fn notify(&self, states: &[State<'_>]) -> Result<(), NotifyError> {
        let Some((socket, addr)) = &self.target else {
            return Ok(());
        };
        let mut msg = String::new();
        for s in states {
            if !msg.is_empty() {
                msg.push('\n');
            }
            s.write_to(&mut msg);
        }
        socket.send_to_addr(msg.as_bytes(), addr)?;
        Ok(())
    }
}

/// How often a [`LongPhase`] looks at the process's progress and reports.
const PHASE_TICK: Duration = Duration::from_secs(5);

/// Keeps the service manager informed while a long start-up or shutdown phase runs: `STATUS=`
/// names the phase at once and then with its elapsed time every few seconds, and each time
/// the process has done work since the last look (used CPU time, or read blocks from disk)
/// `EXTEND_TIMEOUT_USEC=` asks for three more periods. A phase that stops making
/// progress, a deadlock or a wedged disk, stops asking and is killed by the unit's timeout
/// as before. Stops when dropped; does nothing (no thread) when the notifier is disabled.
#[derive(Debug)]
pub struct LongPhase {
    notifier: Arc<Notifier>,
    what: Arc<Mutex<&'static str>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LongPhase {
    /// Starts reporting `what` (for example "starting: opening the store") through `notifier`,
    /// at once and then every few seconds. Failures to send are not worth a log line per
    /// report (the daemon logs its phases itself) and are ignored.
    pub fn start(notifier: Arc<Notifier>, what: &'static str) -> LongPhase {
        let _ = notifier.notify(&[State::Status(what)]);
        Self::announced(notifier, what)
    }

    /// Like [`LongPhase::start`] for a phase whose `STATUS=` the caller has just sent.
    pub fn announced(notifier: Arc<Notifier>, what: &'static str) -> LongPhase {
        Self::every(notifier, what, PHASE_TICK)
    }

    fn every(notifier: Arc<Notifier>, what: &'static str, tick: Duration) -> LongPhase {
        let shared = Arc::new(Mutex::new(what));
        let mut phase = LongPhase {
            notifier: notifier.clone(),
            what: shared.clone(),
            stop: None,
            thread: None,
        };
        if !notifier.is_enabled() {
            return phase;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let watch = move || {
            let started = Instant::now();
            let mut before = Effort::now();
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                let now = Effort::now();
                let what = *shared.lock().unwrap_or_else(PoisonError::into_inner);
                let status = format!("{what} ({} s)", started.elapsed().as_secs());
                let _ = if now.advanced_from(before, tick) {
                    notifier.notify(&[State::ExtendTimeout(3 * tick), State::Status(&status)])
                } else {
                    notifier.notify(&[State::Status(&status)])
                };
                before = now;
            }
        };
        let thread = std::thread::Builder::new()
            .name("wirefold-phase".into())
            .spawn(watch);
        if let Ok(thread) = thread {
            phase.stop = Some(stop);
            phase.thread = Some(thread);
        }
        phase
    }

    /// Names the phase now under way, in a `STATUS=` at once when the name changed.
    pub fn set(&self, what: &'static str) {
        let mut current = self.what.lock().unwrap_or_else(PoisonError::into_inner);
        if *current != what {
            *current = what;
            let _ = self.notifier.notify(&[State::Status(what)]);
        }
    }
}

impl Drop for LongPhase {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The work the process has done so far: its CPU time (all threads) and the blocks it has
/// read from disk (`getrusage(RUSAGE_SELF)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Effort {
    cpu: Duration,
    blocks_read: u64,
}

impl Effort {
    fn now() -> Effort {
        // SAFETY: `rusage` is plain integers, for which all zeroes is a valid value.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `getrusage` writes one `rusage` into the valid, exclusive `u`.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
            return Effort::default();
        }
        let time = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
                + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
        };
        Effort {
            cpu: time(u.ru_utime) + time(u.ru_stime),
            blocks_read: u64::try_from(u.ru_inblock).unwrap_or(0),
        }
    }

    /// True when, since `before`, the process read from disk or spent at least 1 % of `tick`
    /// on the CPU: a replay or a rebuild does one or the other all the time, an idle or
    /// deadlocked process neither.
    fn advanced_from(self, before: Effort, tick: Duration) -> bool {
        self.blocks_read > before.blocks_read || self.cpu.saturating_sub(before.cpu) >= tick / 100
    }
}

fn parse_address(value: &str) -> Result<SocketAddr, NotifyError> {
    let bad = |message: String| NotifyError::BadAddress {
        value: value.to_owned(),
        message,
    };
    if let Some(name) = value.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            return SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| bad(e.to_string()));
        }
        #[cfg(not(target_os = "linux"))]
        return Err(bad(format!("abstract names (@{name}) exist only on Linux")));
    }
    if !value.starts_with('/') {
        return Err(bad("not an absolute path".into()));
    }
    SocketAddr::from_pathname(value).map_err(|e| bad(e.to_string()))
}

/// The watchdog timeout from `WATCHDOG_USEC`, unless `WATCHDOG_PID` names another process.
fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(me) {
            return None;
        }
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_without_socket() {
        let n = Notifier::from_values(None, Some("1000000"), None).unwrap();
        assert!(!n.is_enabled());
        n.notify(&[State::Ready]).unwrap();
    }

    #[test]
    fn relative_path_is_refused() {
        let e = Notifier::from_values(Some("run/notify"), None, None).unwrap_err();
        assert!(e.to_string().contains("NOTIFY_SOCKET"), "{e}");
    }

    #[test]
    fn watchdog_only_for_this_pid() {
        assert_eq!(
            watchdog_interval(Some("2000000"), None, 7),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            watchdog_interval(Some("2000000"), Some("7"), 7),
            Some(Duration::from_secs(2))
        );
        assert_eq!(watchdog_interval(Some("2000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("soon"), None, 7), None);
        assert_eq!(watchdog_interval(None, None, 7), None);
    }

    #[test]
    fn sends_one_datagram_per_call_to_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::from_values(path.to_str(), None, None).unwrap();
        n.notify(&[State::Ready, State::Status("line one\nline two")])
            .unwrap();
        n.notify(&[State::Watchdog]).unwrap();
        let mut buf = [0u8; 256];
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(
            std::str::from_utf8(&buf[..len]).unwrap(),
            "READY=1\nSTATUS=line one line two"
        );
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1");
    }

    #[test]
    fn extend_timeout_is_in_microseconds() {
        let mut out = String::new();
        State::ExtendTimeout(Duration::from_secs(15)).write_to(&mut out);
        assert_eq!(out, "EXTEND_TIMEOUT_USEC=15000000");
    }

    #[test]
    fn progress_is_cpu_time_or_blocks_read() {
        let tick = Duration::from_secs(5);
        let at = |cpu_ms: u64, blocks_read: u64| Effort {
            cpu: Duration::from_millis(cpu_ms),
            blocks_read,
        };
        assert!(!at(1_000, 8).advanced_from(at(1_000, 8), tick), "idle");
        assert!(
            !at(1_049, 8).advanced_from(at(1_000, 8), tick),
            "49 ms < 1 %"
        );
        assert!(
            at(1_050, 8).advanced_from(at(1_000, 8), tick),
            "1 % of the tick"
        );
        assert!(
            at(1_000, 9).advanced_from(at(1_000, 8), tick),
            "a block read"
        );
        // A reading that failed (all zero) after a real one is no progress.
        assert!(!Effort::default().advanced_from(at(1_000, 8), tick));
        // The process's own effort only grows.
        let first = Effort::now();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let second = Effort::now();
        assert!(second.cpu >= first.cpu && second.blocks_read >= first.blocks_read);
        assert!(second.cpu > Duration::ZERO, "getrusage reads this process");
    }

    /// A busy phase reports itself at once, then asks for more time with its elapsed seconds;
    /// dropping it stops the reports.
    #[test]
    fn a_busy_long_phase_extends_the_timeout_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let n = Arc::new(Notifier::from_values(path.to_str(), None, None).unwrap());
        let tick = Duration::from_millis(50);
        n.notify(&[State::Status("starting: opening the store")])
            .unwrap();
        let phase = LongPhase::every(n, "starting: opening the store", tick);
        let mut buf = [0u8; 256];
        let mut recv = || {
            let len = server.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..len]).into_owned()
        };
        assert_eq!(recv(), "STATUS=starting: opening the store");
        phase.set("starting: opening the store"); // the same name: nothing sent
        phase.set("starting: loading the index");
        assert_eq!(recv(), "STATUS=starting: loading the index");
        // Burn CPU (more than 1 % of each tick) until an extension comes with the new name.
        let busy = std::sync::atomic::AtomicBool::new(true);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut x = 0u64;
                while busy.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            });
            let got = (0..100)
                .map(|_| recv())
                .find(|m| m.starts_with("EXTEND_TIMEOUT_USEC=150000\n"));
            busy.store(false, std::sync::atomic::Ordering::Relaxed);
            let got = got.expect("an extension within 100 reports");
            assert!(
                got.contains("\nSTATUS=starting: loading the index ("),
                "{got:?}"
            );
        });
        drop(phase);
        server.set_nonblocking(true).unwrap();
        while server.recv(&mut buf).is_ok() {} // what was sent before the drop
        std::thread::sleep(3 * tick);
        assert!(server.recv(&mut buf).is_err(), "a report after the drop");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn abstract_socket_names_work() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("wirefold-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        let n = Notifier::from_values(Some(&format!("@{name}")), None, None).unwrap();
        n.notify(&[State::Stopping]).unwrap();
        let mut buf = [0u8; 64];
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"STOPPING=1");
    }
}
