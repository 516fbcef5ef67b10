//! The daemon in process, with its real HTTP server on loopback: what answers while a backup
//! has the store closed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::*;

/// `/status` waits for a closed store within the request timeout less a second, then says
/// why with `503 store_closed` (not the timeout's bare 408); `/metrics` and `/healthz` answer
/// meanwhile; once the backup is done `/status` answers again.
#[test]
fn while_a_backup_has_the_store_closed_status_says_so_and_metrics_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    let toml = format!(
        "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"3s\"\n\
         [[sources]]\nname = \"gone\"\nurl = \"{}\"\n",
        dir.path().join("store").display(),
        dir.path().join("missing.xml").display()
    );
    std::fs::write(&path, toml).unwrap();
    let config = Config::load_with_env(&path, Some(HashMap::new())).unwrap();
    let app = App::build(config).unwrap();
    let store = app.ctx.store.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let shutdown = CancellationToken::new();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (_hangups_tx, hangups) = tokio::sync::mpsc::unbounded_channel();
    let running = rt.spawn(app.run(
        shutdown.clone(),
        move |addr| {
            let _ = addr_tx.send(addr);
        },
        hangups,
    ));
    let addr = addr_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let get = |path: &str| {
        let url = format!("http://{addr}{path}");
        rt.block_on(async {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };
    // Not asked for /status before: its one-second cache would answer.
    assert_eq!(get("/healthz").0, 200);
    assert!(store.size_on_disk() > 0);

    // A store call holds the handle: the backup announces its close and waits for it.
    let held = store.hold_handle();
    let (s, root) = (store.clone(), dir.path().join("backups"));
    let backup = std::thread::spawn(move || s.backup(&root, 1, Duration::from_secs(20)));
    while !store.is_closed() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let asked = Instant::now();
    let (code, body) = get("/status");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("\"store_closed\""), "{body}");
    // Within the request timeout (3 s), after the second it leaves for the request.
    assert!(
        asked.elapsed() < Duration::from_millis(2900),
        "{:?}",
        asked.elapsed()
    );
    let (code, metrics) = get("/metrics");
    assert_eq!(code, 200);
    // The store's size as last measured, not a wait for the closed store.
    let bytes = metrics
        .lines()
        .find_map(|l| l.strip_prefix("wirefold_store_bytes "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(bytes.is_some_and(|b| b > 0.0), "{metrics}");
    assert_eq!(get("/healthz"), (200, "ok\n".into()));

    drop(held);
    backup.join().unwrap().unwrap();
    assert_eq!(get("/status").0, 200);
    shutdown.cancel();
    rt.block_on(running).unwrap().unwrap();
}
