//! Test harness: a real feed server on 127.0.0.1 and the real `wirefold` binary on a temp store.
//!
//! Output of the daemon is kept and printed only when a test fails (or with `TEST_LOG=1`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One served feed: body and content type.
/// The API key that opens the feed server's `keyed/` feeds.
pub const KEY: &str = "k3y-0f-the-w1re";

#[derive(Clone)]
pub struct Served {
    pub body: Vec<u8>,
    pub content_type: &'static str,
}

/// A loopback HTTP server whose feeds a test can change between polls. Honours ETag, except
/// under `plain/`: those feeds are sent whole on every request, with no validator. Feeds
/// under `private/` answer 401 without `alice:s3cret` as basic authentication, those under
/// `keyed/` without [`KEY`] as `X-Api-Key`.
pub struct FeedServer {
    pub addr: SocketAddr,
    feeds: Arc<RwLock<HashMap<String, Served>>>,
    hits: Arc<Mutex<HashMap<String, u32>>>,
    _rt: tokio::runtime::Runtime,
}

impl FeedServer {
    pub fn start() -> FeedServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("test runtime");
        let feeds: Arc<RwLock<HashMap<String, Served>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let app = Router::new()
            .route("/{*path}", get(serve))
            .with_state((feeds.clone(), hits.clone()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind feed server");
        let addr = listener.local_addr().expect("addr");
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FeedServer {
            addr,
            feeds,
            hits,
            _rt: rt,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    pub fn set(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.set_typed(path, body, "application/rss+xml");
    }

    pub fn set_typed(&self, path: &str, body: impl Into<Vec<u8>>, content_type: &'static str) {
        self.feeds.write().unwrap().insert(
            path.trim_start_matches('/').to_owned(),
            Served {
                body: body.into(),
                content_type,
            },
        );
    }

    pub fn hits(&self, path: &str) -> u32 {
        *self
            .hits
            .lock()
            .unwrap()
            .get(path.trim_start_matches('/'))
            .unwrap_or(&0)
    }
}

type ServerState = (
    Arc<RwLock<HashMap<String, Served>>>,
    Arc<Mutex<HashMap<String, u32>>>,
);

async fn serve(
    State((feeds, hits)): State<ServerState>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == "Basic YWxpY2U6czNjcmV0");
    if path.starts_with("private/") && !authorized {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let keyed = headers.get("x-api-key").is_some_and(|v| v == KEY);
    if path.starts_with("keyed/") && !keyed {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(feed) = feeds.read().unwrap().get(&path).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if path.starts_with("plain/") {
        return ([(header::CONTENT_TYPE, feed.content_type)], feed.body).into_response();
    }
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&feed.body));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, feed.content_type.to_owned()),
            (header::ETAG, etag),
        ],
        feed.body,
    )
        .into_response()
}

/// A temporary directory with a config file for the daemon.
pub struct TestEnv {
    /// Kept so the directory lives as long as the test needs it.
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The sled directory.
    pub store: PathBuf,
}

impl TestEnv {
    /// Writes a config whose sources are `(name, url)` with a short interval.
    pub fn new(sources: &[(&str, String)], interval: &str) -> TestEnv {
        Self::custom(sources, interval, "", "")
    }

    /// Like [`TestEnv::new`], with the store at `store` (default: in the temp directory).
    pub fn with_store(sources: &[(&str, String)], interval: &str, store: Option<&Path>) -> TestEnv {
        Self::build(sources, interval, "", "", store)
    }

    /// Like [`TestEnv::new`], with extra lines for the `[fetch]` and `[schedule]` sections.
    pub fn custom(
        sources: &[(&str, String)],
        interval: &str,
        fetch_extra: &str,
        schedule_extra: &str,
    ) -> TestEnv {
        Self::build(sources, interval, fetch_extra, schedule_extra, None)
    }

    fn build(
        sources: &[(&str, String)],
        interval: &str,
        fetch_extra: &str,
        schedule_extra: &str,
        store: Option<&Path>,
    ) -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store.map_or_else(|| dir.path().join("store"), Path::to_path_buf);
        let mut toml = format!(
            r#"
[store]
path = "{}"
flush_every = "100ms"
[http]
listen = "127.0.0.1:0"
shutdown_grace = "3s"
[fetch]
timeout = "5s"
connect_timeout = "2s"
concurrency = 4
{fetch_extra}
[schedule]
min_interval = "1s"
default_interval = "{interval}"
startup_spread = "200ms"
# Test feeds carry old dates: keep the configured cadence instead of slowing down.
adaptive = false
{schedule_extra}
[log]
level = "info,wirefold=debug"
"#,
            store.display()
        );
        for (name, url) in sources {
            toml.push_str(&format!(
                "[[sources]]\nname = \"{name}\"\nurl = \"{url}\"\ninterval = \"{interval}\"\n"
            ));
        }
        let config = dir.path().join("wirefold.toml");
        std::fs::write(&config, toml).expect("write config");
        TestEnv {
            _dir: dir,
            config,
            store,
        }
    }

    /// Appends `text` (TOML: more sources, `[[normalize.rules]]` entries) to the config.
    pub fn append_config(&self, text: &str) {
        let mut toml = std::fs::read_to_string(&self.config).expect("read config");
        toml.push_str(text);
        std::fs::write(&self.config, toml).expect("write config");
    }

    /// The temporary directory (for file sources).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    /// Runs a one-shot command of the binary and returns (exit code, stdout, stderr).
    /// The binary running `args` on this configuration (and on no other the environment
    /// names), for a test that sets more of its environment or runs it as a child.
    pub fn wirefold(&self, args: &[&str]) -> Command {
        let mut cmd = wirefold();
        cmd.args(args)
            .arg("--config")
            .arg(&self.config)
            .env_remove("WIREFOLD_CONFIG");
        cmd
    }

    pub fn command(&self, args: &[&str]) -> (i32, String, String) {
        let out = self
            .wirefold(args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run wirefold");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs a one-shot command that must succeed and returns its stdout; a failure shows the
    /// command, its exit code and both outputs.
    pub fn command_ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.command(args);
        assert_eq!(
            code, 0,
            "wirefold {args:?} exited {code}\nstdout:\n{out}\nstderr:\n{err}"
        );
        out
    }

    /// The stored articles as `export` prints them, one JSON value each.
    pub fn export(&self) -> Vec<serde_json::Value> {
        self.command_ok(&["export"])
            .lines()
            .map(|l| serde_json::from_str(l).expect("export prints JSON lines"))
            .collect()
    }
}

/// The binary as a command whose HTTP goes to the test's loopback servers, never through a
/// proxy the machine running the tests is set up with (a test that wants one names it).
pub fn wirefold() -> Command {
    let mut cmd = Command::new(bin());
    let proxy = wirefold::fetch::guard::PROXY_VARIABLES;
    for var in proxy.iter().chain(&["NO_PROXY", "no_proxy"]) {
        cmd.env_remove(var);
    }
    cmd
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirefold")
}

/// The real daemon as a child process.
pub struct Daemon {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    /// The thread that reads the daemon's stderr into `log`; it ends when the pipe closes.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    /// Starts `wirefold run` and waits until it says it is ready.
    pub fn start(env: &TestEnv) -> Daemon {
        Self::start_with(&env.config, &[])
    }

    pub fn start_with(config: &Path, extra_env: &[(&str, &str)]) -> Daemon {
        Self::spawn(config, extra_env, true, None)
    }

    /// Starts `wirefold run` like [`Daemon::start`], sends it SIGHUP `after` the spawn (while
    /// it may still read its configuration), then waits until it says it is ready.
    pub fn start_hung_up_after(config: &Path, after: Duration) -> Daemon {
        Self::spawn(config, &[], true, Some(after))
    }

    /// Starts `wirefold run` like [`Daemon::start`], then closes its stderr once it said it
    /// is ready: every later log line fails to write (EPIPE), as when a log reader goes away
    /// (`wirefold run | head`). [`Daemon::log`] holds the lines up to ready.
    pub fn start_then_close_log(env: &TestEnv) -> Daemon {
        Self::spawn(&env.config, &[], false, None)
    }

    fn spawn(
        config: &Path,
        extra_env: &[(&str, &str)],
        keep_log: bool,
        hangup_after: Option<Duration>,
    ) -> Daemon {
        let mut cmd = wirefold();
        cmd.arg("run")
            .arg("--config")
            .arg(config)
            .env_remove("WIREFOLD_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn wirefold");
        let stderr = child.stderr.take().expect("stderr");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if std::env::var_os("TEST_LOG").is_some() {
                        eprintln!("[daemon] {line}");
                    }
                    let ready = line.contains("wirefold ready");
                    if ready {
                        if let Some(addr) = line
                            .split_whitespace()
                            .find_map(|w| w.strip_prefix("addr="))
                            .and_then(|a| a.parse().ok())
                        {
                            let _ = tx.send(addr);
                        }
                    }
                    log.lock().unwrap().push(line);
                    if ready && !keep_log {
                        break; // drops the pipe's read end
                    }
                }
            })
        };
        if let Some(after) = hangup_after {
            std::thread::sleep(after);
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGHUP);
            }
        }
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let exited = child.try_wait().ok().flatten();
                let _ = child.kill();
                panic!(
                    "daemon did not become ready (exit: {exited:?}):\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Daemon {
            child: Some(child),
            addr,
            log,
            reader: Some(reader),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The daemon's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = http_get(&self.url(path));
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    pub fn status(&self) -> serde_json::Value {
        self.get_json("/status")
    }

    /// Polls /status until `pred` holds, or panics with the last status and the log.
    pub fn wait_for(
        &self,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        self.wait_for_within(what, Duration::from_secs(30), pred)
    }

    /// [`Daemon::wait_for`] with another deadline (for work that is slow in a debug build).
    pub fn wait_for_within(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; last status:\n{s:#}\nlog:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits up to 30 s until the log contains `needle`, or panics with the log.
    pub fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL: the process dies wherever it is, no shutdown, no flush.
    pub fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// `VmHWM` (peak resident memory) of the daemon, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid().expect("running")))
                .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// Waits up to `limit` for the daemon to exit by itself; returns its exit code and its
    /// log, or panics with the log (killing it) if it is still running then.
    pub fn wait_exit(mut self, limit: Duration) -> (Option<i32>, String) {
        let mut child = self.child.take().expect("running");
        let status = self.reap(&mut child, limit, "the daemon did not exit in time");
        // The pipe is closed: the reader ends once it has the last lines.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status.code(), self.log())
    }

    /// Waits up to `limit` for `child` (this daemon's process) to exit; kills it and panics
    /// with `what` and the log if it is still running then.
    fn reap(&self, child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} ({limit:?}):\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGHUP: the daemon reloads its sources.
    pub fn hangup(&self) {
        let pid = self.child.as_ref().expect("running").id() as i32;
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid, libc::SIGHUP);
        }
    }

    /// Sends SIGTERM and returns the exit code and how long the exit took.
    pub fn terminate(mut self) -> (Option<i32>, Duration) {
        let mut child = self.child.take().expect("running");
        let pid = child.id() as i32;
        let start = Instant::now();
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let status = self.reap(
            &mut child,
            Duration::from_secs(20),
            "daemon ignored SIGTERM",
        );
        (status.code(), start.elapsed())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            if std::thread::panicking() {
                eprintln!("daemon log:\n{}", self.log());
            }
        }
    }
}

/// A blocking GET over loopback; returns status and body.
pub fn http_get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .expect("client");
        let resp = client.get(url).send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    })
}

/// An RSS 2.0 document titled `title` with items numbered `numbers`: guid `{tag}{n}`, the
/// headline and a sentence naming the number.
pub fn numbered_rss(title: &str, tag: &str, numbers: &[u32]) -> String {
    let items: Vec<(String, String, String, String)> = numbers
        .iter()
        .map(|n| {
            (
                format!("{tag}{n}"),
                format!("{title} item {n} arrives"),
                format!("http://{tag}.test/{n}"),
                format!(
                    "<p>The {title} desk's item number {n} arrived on the wire this morning.</p>"
                ),
            )
        })
        .collect();
    let refs: Vec<_> = items
        .iter()
        .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
        .collect();
    rss(title, &refs)
}

/// An RSS 2.0 document with the given items `(guid, title, link, description)`.
pub fn rss(title: &str, items: &[(&str, &str, &str, &str)]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>{}</title><link>http://example.invalid/</link><description>test</description>\n",
        xml_escape(title)
    );
    for (guid, t, link, desc) in items {
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>{}</link><description>{}</description><pubDate>Mon, 17 Apr 2023 10:05:00 GMT</pubDate></item>\n",
            xml_escape(guid),
            xml_escape(t),
            xml_escape(link),
            xml_escape(desc)
        ));
    }
    s.push_str("</channel></rss>\n");
    s
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Path of a file in the shared corpus (`../shared/corpus` from the project root), if present.
pub fn corpus(rel: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../shared/corpus"),
        root.join("../../shared/corpus"),
    ]
    .into_iter()
    .map(|p| p.join(rel))
    .find(|p| p.exists())
}

/// The value of the unlabelled counter or the series `name` (with its labels) in `metrics`.
pub fn metric(metrics: &str, name: &str) -> Option<u64> {
    let prefix = format!("{name} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

/// Reads a number at a JSON pointer.
pub fn num(v: &serde_json::Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {v:#}"))
}
