//! The one-shot commands: check-config, once, export, health-check.

use crate::helpers::{bin, rss, Daemon, FeedServer, TestEnv};

#[test]
fn check_config_names_every_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[http]
listen = "everywhere"
[fetch]
timeout = "0s"
colour = "blue"
[[sources]]
name = "dup"
url = "https://example.com/a.xml"
[[sources]]
name = "dup"
url = "gopher://example.com/"
interval = "often"
"#,
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "http.listen",
        "fetch.timeout",
        "fetch.colour: unknown key",
        "sources[1].name (source \"dup\"): duplicate",
        "sources[1].url (source \"dup\"): scheme \"gopher\"",
        "sources[1].interval (source \"dup\")",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }

    let env = TestEnv::new(&[("a", "https://example.com/feed".into())], "5m");
    let (code, out, err) = env.command(&["check-config"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok (1 sources, 1 enabled)"), "{out}");
}

/// `/dev/full`: every write to it fails (ENOSPC), as a write to a closed pipe does (EPIPE),
/// and `println!` panics on both.
fn full() -> std::process::Stdio {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

#[test]
fn one_shot_commands_report_a_failed_stdout_and_never_panic() {
    let env = TestEnv::new(&[("a", "https://example.com/feed".into())], "5m");
    let mut commands = vec![vec![
        "check-config".to_string(),
        "--config".into(),
        env.config.display().to_string(),
    ]];
    // The evaluation over the shared wire story and the fixtures (quick), when the corpus is here.
    if let Some(corpus) = crate::helpers::corpus("") {
        commands.push(
            ["eval", "--set", "wire", "--no-peer", "--corpus"]
                .map(String::from)
                .into_iter()
                .chain([corpus.display().to_string()])
                .collect(),
        );
    }
    for args in &commands {
        // stdout fails: the error on stderr, exit 1.
        let out = std::process::Command::new(bin())
            .args(args)
            .stdout(full())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("wirefold: error:") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
        // stderr fails too: the report is lost, the exit code is not.
        let out = std::process::Command::new(bin())
            .args(args)
            .stdout(full())
            .stderr(full())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
    // A bad configuration with stderr failing: exit 2, as with the report readable.
    let bad = env.dir().join("bad.toml");
    std::fs::write(&bad, "[http]\nlisten = \"everywhere\"\n").unwrap();
    let out = std::process::Command::new(bin())
        .args(["check-config", "--config"])
        .arg(&bad)
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_path_falls_back_to_the_environment() {
    let env = TestEnv::new(&[("a", "https://example.com/feed".into())], "5m");
    let out = std::process::Command::new(bin())
        .arg("check-config")
        .env("WIREFOLD_CONFIG", &env.config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn once_summarizes_each_source_then_export_sees_a_locked_store() {
    let server = FeedServer::start();
    server.set(
        "a.xml",
        rss(
            "A",
            &[
                (
                    "1",
                    "First item",
                    "http://a.test/1",
                    "<p>The first item has its own words.</p>",
                ),
                (
                    "2",
                    "Second item",
                    "http://a.test/2",
                    "<p>Entirely different text for the second.</p>",
                ),
            ],
        ),
    );
    let env = TestEnv::new(
        &[("a", server.url("a.xml")), ("gone", server.url("gone.xml"))],
        "5m",
    );
    let out = env.command_ok(&["once"]);
    assert!(
        out.contains("a: ok seen=2 new=2 updated=0 copies=0"),
        "{out}"
    );
    assert!(
        out.contains("gone: error [http_status(404)] HTTP status 404"),
        "{out}"
    );

    // Every source failing makes `once` fail.
    let env_bad = TestEnv::new(&[("gone", server.url("gone.xml"))], "5m");
    let (code, _, _) = env_bad.command(&["once"]);
    assert_ne!(code, 0);

    // export --since in the future selects nothing; a past time selects everything.
    let out = env.command_ok(&["export", "--since", "2999-01-01"]);
    assert_eq!(out.lines().count(), 0);
    let out = env.command_ok(&["export", "--since", "1h"]);
    assert_eq!(out.lines().count(), 2, "{out}");

    // While the daemon holds the store, export says so instead of failing obscurely.
    let daemon = Daemon::start(&env);
    let (code, _, err) = env.command(&["export"]);
    assert_ne!(code, 0);
    assert!(err.contains("locked by another process"), "{err}");

    // health-check against the live daemon, then against nothing.
    let out = std::process::Command::new(bin())
        .args(["health-check", "--url", &daemon.url("/healthz")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let out = std::process::Command::new(bin())
        .args([
            "health-check",
            "--url",
            &format!("http://{}/healthz", server.addr)
                .replace(&server.addr.port().to_string(), "1"),
        ])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
}
