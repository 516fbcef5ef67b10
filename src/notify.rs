//! The systemd notification protocol (`sd_notify(3)`), in the few lines it takes.
//!
//! Under `Type=notify` systemd passes a datagram socket in `NOTIFY_SOCKET` (a path, or an
//! abstract name written with a leading `@`) and waits for `READY=1`. With `WatchdogSec=` it
//! also sets `WATCHDOG_USEC` (and `WATCHDOG_PID`): the service must send `WATCHDOG=1` more
//! often than that or be restarted. `STATUS=` is a free-form line shown by `systemctl status`,
//! and `STOPPING=1` says that a stop is under way.
//!
//! Outside systemd (`NOTIFY_SOCKET` unset) the [`Notifier`] is disabled and every call is a
//! no-op, so the daemon behaves the same wherever it runs. Send failures are returned to the
//! caller, which logs them: a notification that cannot be delivered is never fatal.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

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
