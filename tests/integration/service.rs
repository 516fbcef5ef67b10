//! Running under a service manager: the `sd_notify` protocol against a real `NOTIFY_SOCKET`
//! bound by the test, journald-style logs when stderr is the journal stream, JSON logs when
//! configured.

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::Duration;

use crate::fixtures::{html, paragraphs, HARBOUR};
use crate::helpers::{rss, Daemon, FeedServer, TestEnv};

/// A notification socket like systemd's: a datagram socket in a temp dir.
struct NotifySocket {
    _dir: tempfile::TempDir,
    path: String,
    socket: UnixDatagram,
}

impl NotifySocket {
    fn bind() -> NotifySocket {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind notify socket");
        // Only so that a daemon that never notifies fails the test instead of hanging it.
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        NotifySocket {
            _dir: dir,
            path: path.display().to_string(),
            socket,
        }
    }

    /// The next datagram, as text.
    fn recv(&self) -> String {
        let mut buf = [0u8; 4096];
        let n = self
            .socket
            .recv(&mut buf)
            .expect("a notification within 30s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Datagrams until one contains `line`; returns all of them, that one last.
    fn recv_until(&self, line: &str) -> Vec<String> {
        let mut got = Vec::new();
        loop {
            let m = self.recv();
            let done = m.lines().any(|l| l == line);
            got.push(m);
            if done {
                return got;
            }
        }
    }
}

/// A phase's report every few seconds ("STATUS=starting: ... (5 s)", perhaps with an
/// `EXTEND_TIMEOUT_USEC=`): sent only when a phase runs long, as on a loaded machine.
fn is_progress_report(m: &str) -> bool {
    m.lines()
        .all(|l| l.starts_with("EXTEND_TIMEOUT_USEC=") || l.ends_with(" s)"))
}

fn one_feed(server: &FeedServer) -> TestEnv {
    server.set(
        "agency.xml",
        rss(
            "Agency",
            &[(
                "a-1",
                "Valmora approves deeper shipping channel",
                "http://agency.test/1",
                &html(&paragraphs(HARBOUR)),
            )],
        ),
    );
    TestEnv::new(&[("agency", server.url("agency.xml"))], "1s")
}

#[test]
fn notify_protocol_ready_watchdog_stopping() {
    let server = FeedServer::start();
    let env = one_feed(&server);
    let notify = NotifySocket::bind();
    // WatchdogSec=200ms: pings are due every 100 ms.
    let daemon = Daemon::start_with(
        &env.config,
        &[
            ("NOTIFY_SOCKET", notify.path.as_str()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );

    // Start-up names its phases first (the store opens, the index loads), then READY=1.
    let mut start = notify.recv_until("READY=1");
    let first = start.pop().unwrap_or_default();
    start.retain(|m| !is_progress_report(m));
    assert_eq!(
        start,
        [
            "STATUS=starting: opening the store",
            "STATUS=starting: loading the index"
        ],
        "before READY=1"
    );
    let mut lines = first.lines();
    assert_eq!(lines.next(), Some("READY=1"), "READY datagram: {first:?}");
    let status = lines.next().unwrap_or_default();
    assert!(
        status.starts_with("STATUS=1 source (") && status.contains("articles in"),
        "{first:?}"
    );
    // /healthz answers once READY=1 was sent: the store is open and HTTP bound.
    assert_eq!(crate::helpers::http_get(&daemon.url("/healthz")).0, 200);

    // Three watchdog pings in a row, nothing else in them.
    for _ in 0..3 {
        let got = notify.recv_until("WATCHDOG=1");
        assert!(
            got.iter()
                .all(|m| !m.contains("READY=1") && !m.contains("STOPPING=1")),
            "{got:?}"
        );
    }

    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let tail = notify.recv_until("STOPPING=1");
    let last = tail.last().expect("STOPPING=1 datagram");
    assert!(last.contains("STATUS=stopping"), "{last:?}");
    // After STOPPING=1, the shutdown's phases in order and nothing else (a stop this quick
    // asks for no more time); the socket is empty once the process is gone.
    notify.socket.set_nonblocking(true).expect("nonblocking");
    let mut after = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n) = notify.socket.recv(&mut buf) {
        after.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    after.retain(|m| !is_progress_report(m));
    assert_eq!(
        after,
        [
            "STATUS=stopping: flushing the store",
            "STATUS=stopping: saving the index snapshot",
            "STATUS=stopping: checkpointing the store"
        ],
        "after STOPPING=1"
    );
}

#[test]
fn without_watchdog_usec_there_are_no_pings() {
    let server = FeedServer::start();
    let env = one_feed(&server);
    let notify = NotifySocket::bind();
    let daemon = Daemon::start_with(&env.config, &[("NOTIFY_SOCKET", notify.path.as_str())]);
    let start = notify.recv_until("READY=1");
    assert!(start.last().is_some_and(|m| m.starts_with("READY=1\n")));
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let rest = notify.recv_until("STOPPING=1");
    assert!(rest.iter().all(|m| !m.contains("WATCHDOG")), "{rest:?}");
}

/// Runs the daemon with stderr in a file until READY=1, stops it, returns the file's text.
fn run_logging_to_file(env: &TestEnv, extra_env: &[(&str, &str)], journal: bool) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let meta = log.metadata().expect("stat");
    let notify = NotifySocket::bind();
    let mut cmd = crate::helpers::wirefold();
    cmd.arg("run")
        .arg("--config")
        .arg(&env.config)
        .env_remove("WIREFOLD_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("JOURNAL_STREAM")
        .env("NOTIFY_SOCKET", &notify.path)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    if journal {
        cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    notify.recv_until("READY=1");
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().expect("wait");
    let text = std::fs::read_to_string(&log_path).expect("read log");
    assert!(status.success(), "exit {status:?}; log:\n{text}");
    text
}

#[test]
fn journal_logs_have_priorities_and_no_colours_or_timestamps() {
    let server = FeedServer::start();
    let env = one_feed(&server);
    let text = run_logging_to_file(&env, &[], true);
    assert!(text.contains("wirefold ready"), "{text}");
    for line in text.lines() {
        assert!(!line.contains('\u{1b}'), "colour in {line:?}");
        let rest = line
            .strip_prefix("<6>")
            .or_else(|| line.strip_prefix("<7>"))
            .or_else(|| line.strip_prefix("<4>"))
            .or_else(|| line.strip_prefix("<3>"))
            .unwrap_or_else(|| panic!("no priority prefix: {line:?}"));
        // The level comes first: no timestamp of our own.
        let level = rest.split_whitespace().next().unwrap_or_default();
        assert!(
            ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"].contains(&level),
            "{line:?}"
        );
    }
}

#[test]
fn a_journal_stream_that_is_not_stderr_is_ignored() {
    let server = FeedServer::start();
    let env = one_feed(&server);
    // JOURNAL_STREAM inherited from a parent whose stderr went elsewhere: plain text logs.
    let text = run_logging_to_file(&env, &[("JOURNAL_STREAM", "1:1")], false);
    assert!(text.contains("wirefold ready"), "{text}");
    assert!(text.lines().all(|l| !l.starts_with('<')), "{text}");
}

#[test]
fn json_logs_when_configured_even_under_journald() {
    let server = FeedServer::start();
    let env = one_feed(&server);
    let text = run_logging_to_file(&env, &[("WIREFOLD_LOG__FORMAT", "json")], true);
    let mut ready = false;
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        ready |= v["message"] == "wirefold ready";
    }
    assert!(ready, "{text}");
}
