//! Loading and validating configurations from real files in a temporary directory.

use super::*;
use std::collections::HashMap;

fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    let toml = toml.replace("STORE", &dir.path().join("db").display().to_string());
    std::fs::write(&path, toml).unwrap();
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load_with_env(&path, Some(env))
}

fn problems(r: Result<Config, ConfigError>) -> Vec<String> {
    match r {
        Err(ConfigError::Invalid { problems, .. }) => {
            problems.iter().map(|p| p.to_string()).collect()
        }
        other => panic!("expected invalid config, got {other:?}"),
    }
}

const GOOD: &str = r#"
    [store]
    path = "STORE"
    [[sources]]
    name = "a"
    url = "https://example.com/feed.xml"
    interval = "10m"
    [[sources]]
    name = "b"
    url = "file:///tmp/feed.xml"
    enabled = false
    [[sources]]
    name = "c"
    url = "./feeds/local.xml"
"#;

#[test]
fn good_config_is_typed() {
    let c = load(GOOD, &[]).unwrap();
    assert_eq!(c.sources.len(), 3);
    // A plain path is a file relative to the config file's directory.
    assert_eq!(c.sources[2].url.scheme(), "file");
    let dir = c.path.parent().unwrap();
    assert_eq!(
        c.sources[2].url.to_file_path().unwrap(),
        dir.join("feeds/local.xml")
    );
    assert_eq!(c.sources[0].interval, Duration::from_secs(600));
    assert_eq!(c.sources[1].interval, Duration::from_secs(900));
    assert!(!c.sources[1].enabled);
    assert_eq!(c.enabled_sources().count(), 2);
    assert_eq!(c.http.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.fetch.max_body_bytes, 16 * 1024 * 1024);
    assert_eq!(c.fetch.per_host_concurrency.get(), 2);
    assert_eq!(c.fetch.per_host_spacing, Duration::ZERO);
    assert_eq!(c.fetch.permanent_redirect_polls, 3);
    assert!(c.fetch.refuse_private_redirects && c.fetch.refuse_private_dns);
    assert_eq!(c.schedule.max_backoff, Duration::from_secs(6 * 3600));
    assert!(c.schedule.adaptive);
}

#[test]
fn env_overrides_nested_keys() {
    let c = load(
        GOOD,
        &[
            ("WIREFOLD_HTTP__LISTEN", "127.0.0.1:9999"),
            ("WIREFOLD_FETCH__CONCURRENCY", "4"),
            ("WIREFOLD_FETCH__USER_AGENT", "Zeitungsschau/1 (München)"),
        ],
    )
    .unwrap();
    assert_eq!(c.http.listen.port(), 9999);
    assert_eq!(c.fetch.concurrency.get(), 4);
    // Not ASCII, and still a header value the HTTP client sends.
    assert!(crate::fetch::Fetcher::new(&c.fetch).is_ok());
}

#[test]
fn every_problem_is_listed_with_its_key() {
    let bad = r#"
        colour = "blue"
        [store]
        path = "STORE"
        [http]
        listen = "localhost"
        [fetch]
        timeout = "0s"
        concurency = 3
        per_host_concurrency = 0
        per_host_spacing = "often"
        stall_timeout = "soon"
        private_hosts = ["ok.example", "http://bad/"]
        user_agent = "desk\u0001/1"
        [schedule]
        min_interval = "2h"
        max_interval = "1h"
        [[sources]]
        name = "a"
        url = "not a url"
        shade = "red"
        [[sources]]
        name = "a"
        url = "ftp://example.com/x"
        interval = "soon"
        [[sources]]
        name = "c"
        url = "feeds/local.xml"
        [[sources]]
        name = ".."
        url = "https://feeds.example/up"
        [[sources]]
        name = "cut-off"
        [[sources]]
        name = "no-scheme"
        url = "//zed:PW9@feeds.example/rss?token=T9&ed=2"
        [[sources]]
        name = "keyed"
        url = "feeds.example/rss?apikey=K9"
        [[sources]]
        name = "path"
        url = "//srv/feeds/a.xml"
        [[sources]]
        name = "slashed"
        url = "//user:pa/ss9@h.example/feed"
        [[sources]]
        name = "elsewhere"
        url = "file://fileserver/feeds/a.xml"
        [[sources]]
        name = "local"
        url = "file://localhost/tmp/a.xml"
    "#;
    let p = problems(load(bad, &[]));
    let joined = p.join("\n");
    for needle in [
        "colour: unknown key",
        "fetch.concurency: unknown key",
        "fetch.per_host_concurrency: 0 is out of range; allowed: 1 to 100000",
        "fetch.per_host_spacing: \"often\" is not a duration",
        "fetch.stall_timeout: \"soon\" is not a duration",
        "fetch.private_hosts[1]: must be a host name",
        "fetch.user_agent: not a header value",
        "http.listen",
        "fetch.timeout: must be longer than zero",
        "schedule.min_interval: 2h is longer than schedule.max_interval (1h): it must not be",
        "sources[0].url (source \"a\")",
        "sources[0].shade (source \"a\"): unknown key",
        "sources[1].name (source \"a\"): duplicate source name",
        "sources[1].url (source \"a\"): scheme \"ftp\" is not allowed",
        "sources[1].interval (source \"a\"): \"soon\" is not a duration",
        "sources[2].url (source \"c\"): \"feeds/local.xml\" is not a URL (relative URL without a base); a file beside the configuration is written \"./feeds/local.xml\"",
        "sources[3].name (source \"..\"): must not be dots alone",
        "sources[4].url (source \"cut-off\"): missing: every source needs its feed's URL",
        // A scheme-relative URL is no file path; neither problem shows a credential.
        "sources[5].url (source \"no-scheme\"): \"//xxxxx@feeds.example/rss?token=xxxxx&ed=2\" is not a URL (relative URL without a base); a feed on the web is written with its scheme: \"https://xxxxx@feeds.example/rss?token=xxxxx&ed=2\"",
        "sources[6].url (source \"keyed\"): \"feeds.example/rss?apikey=xxxxx\" is not a URL (relative URL without a base); a file beside the configuration is written \"./feeds.example/rss?apikey=xxxxx\"",
    ] {
        assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
    }
    assert!(!joined.contains("PW9") && !joined.contains("T9") && !joined.contains("K9"));
    // A path written with two slashes is the path it always was; one with a password
    // holding a `/` is not.
    assert!(!joined.contains("sources[7].url"), "{joined}");
    assert!(joined.contains("sources[8].url"), "{joined}");
    assert!(!joined.contains("ss9"), "{joined}");
    // Another machine's file failed at every poll; `localhost` is this one.
    assert!(
        joined.contains(
            "sources[9].url (source \"elsewhere\"): \"file://fileserver/feeds/a.xml\" is not a \
             file on this machine: a file URL is written file:///path/to/feed.xml"
        ),
        "{joined}"
    );
    assert!(!joined.contains("sources[10]"), "{joined}");
}

#[test]
fn retention_defaults_to_30_days_and_can_be_off() {
    let c = load(GOOD, &[]).unwrap();
    assert_eq!(c.store.retention, Some(Duration::from_secs(30 * 86_400)));
    let c = load(GOOD, &[("WIREFOLD_STORE__RETENTION", "off")]).unwrap();
    assert_eq!(c.store.retention, None);
    let c = load(GOOD, &[("WIREFOLD_STORE__RETENTION", "7d")]).unwrap();
    assert_eq!(c.store.retention, Some(Duration::from_secs(7 * 86_400)));
}

#[test]
fn automatic_backups_are_off_by_default_and_take_a_duration() {
    assert_eq!(load(GOOD, &[]).unwrap().store.backup_every, None);
    let c = load(GOOD, &[("WIREFOLD_STORE__BACKUP_EVERY", "1d")]).unwrap();
    assert_eq!(c.store.backup_every, Some(Duration::from_secs(86_400)));
    let c = load(GOOD, &[("WIREFOLD_STORE__BACKUP_EVERY", "off")]).unwrap();
    assert_eq!(c.store.backup_every, None);
    let p = problems(load(GOOD, &[("WIREFOLD_STORE__BACKUP_EVERY", "daily")]));
    assert!(
        p[0].starts_with("store.backup_every: \"daily\" is not a duration"),
        "{p:?}"
    );
    // "1m" is a minute, not a month: each backup replaces the oldest kept one, said.
    let c = load(GOOD, &[("WIREFOLD_STORE__BACKUP_EVERY", "1m")]).unwrap();
    assert_eq!(
        c.warnings(),
        [
            "store.backup_every is 1m: a backup that often keeps none older than 3m \
          (backups_kept = 3); a month is \"30d\""
        ]
    );
    let c = load(GOOD, &[("WIREFOLD_STORE__BACKUP_EVERY", "1h")]).unwrap();
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
}

#[test]
fn a_concurrency_past_any_machine_is_refused() {
    for key in ["CONCURRENCY", "PER_HOST_CONCURRENCY"] {
        let var = format!("WIREFOLD_FETCH__{key}");
        let p = problems(load(GOOD, &[(&var, "9223372036854775807")]));
        let name = key.to_ascii_lowercase();
        assert_eq!(
            p,
            [format!(
                "fetch.{name}: 9223372036854775807 is out of range; allowed: 1 to 100000 \
                 (set by the environment variable {var})"
            )]
        );
        assert!(load(GOOD, &[(&var, "100000")]).is_ok());
    }
}

/// A restore moves the store directory aside with everything in it: backups kept inside
/// the store went with it.
#[test]
fn backups_inside_the_store_are_refused() {
    for inside in ["STORE", "STORE/", "STORE/nightly", "STORE/../db/./nightly"] {
        let p = problems(load(
            &format!("[store]\npath = \"STORE\"\nbackup_dir = \"{inside}\"\n"),
            &[],
        ));
        assert!(
            p.len() == 1
                && p[0].starts_with("store.backup_dir: ")
                && p[0].contains("inside store.path"),
            "{inside}: {p:?}"
        );
    }
    for outside in ["STORE.backups", "STORE-nightly", "STORE/../nightly"] {
        load(
            &format!("[store]\npath = \"STORE\"\nbackup_dir = \"{outside}\"\n"),
            &[],
        )
        .unwrap();
    }
}

/// A store path that is no directory of its own (`.`, `..`, `/`) is refused by name; it was
/// refused with a message about `store.backup_dir`, a key never set (config audit, session
/// 65).
#[test]
fn a_store_path_that_is_no_directory_of_its_own_is_refused_by_name() {
    for path in [".", "./", "..", "/", "data/..", "/."] {
        let p = problems(load(&format!("[store]\npath = \"{path}\"\n"), &[]));
        assert_eq!(
            p,
            [format!(
                "store.path: \"{path}\" is not a directory of its own (the current, a parent or \
                 the root directory): compaction and restore move the store's directory aside \
                 whole; give it one, such as \"data/wirefold\""
            )],
            "{path}"
        );
    }
}

/// Through a symbolic link too (helper audit, session 65): a store path that is a link to
/// the directory the backups are under, or a backup directory reached through a link to the
/// store, passed the lexical check, and a compaction then removed every backup with the old
/// store.
#[cfg(unix)]
#[test]
fn backups_inside_the_store_through_a_symbolic_link_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("sstore");
    let link = dir.path().join("slink");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    for (store, backups) in [(&link, &real), (&real, &link)] {
        let p = problems(load(
            &format!(
                "[store]\npath = \"{}\"\nbackup_dir = \"{}\"\n",
                store.display(),
                backups.join("backups").display()
            ),
            &[],
        ));
        assert!(
            p.len() == 1 && p[0].contains("inside store.path"),
            "{store:?}, {backups:?}: {p:?}"
        );
    }
    // A `..` after a link is the target's parent (the recheck: lexically, `link/../store`
    // was taken for a store beside the link, and the backups went inside the real store).
    let deep = dir.path().join("elsewhere/deep");
    let store = dir.path().join("elsewhere/store");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::create_dir_all(&store).unwrap();
    std::fs::create_dir_all(dir.path().join("x")).unwrap();
    std::os::unix::fs::symlink(&deep, dir.path().join("x/link")).unwrap();
    let p = problems(load(
        &format!(
            "[store]\npath = \"{}\"\nbackup_dir = \"{}\"\n",
            dir.path().join("x/link/../store").display(),
            store.join("bk").display()
        ),
        &[],
    ));
    assert!(p.len() == 1 && p[0].contains("inside store.path"), "{p:?}");
    // Beside it, through the link, is outside.
    load(
        &format!(
            "[store]\npath = \"{}\"\nbackup_dir = \"{}.backups\"\n",
            link.display(),
            real.display()
        ),
        &[],
    )
    .unwrap();
}

/// Too short to work (helper audit, session 65): `store.flush_every = "1ns"` kept an idle
/// daemon at 68 % of a core, `http.request_timeout = "1ns"` answered every `/status` 408.
#[test]
fn durations_too_short_to_work_are_refused() {
    let p = problems(load(
        GOOD,
        &[
            ("WIREFOLD_STORE__FLUSH_EVERY", "1ns"),
            ("WIREFOLD_HTTP__REQUEST_TIMEOUT", "999ms"),
        ],
    ));
    assert_eq!(
        p,
        [
            "store.flush_every: \"1ns\" is shorter than the 10ms allowed; flushing more often \
             keeps the daemon busy doing nothing else (set by the environment variable \
             WIREFOLD_STORE__FLUSH_EVERY)",
            "http.request_timeout: \"999ms\" is shorter than the 1s allowed; a shorter one \
             answers most requests with 408 (set by the environment variable \
             WIREFOLD_HTTP__REQUEST_TIMEOUT)",
        ]
    );
    let c = load(
        GOOD,
        &[
            ("WIREFOLD_STORE__FLUSH_EVERY", "10ms"),
            ("WIREFOLD_HTTP__REQUEST_TIMEOUT", "1s"),
        ],
    )
    .unwrap();
    assert_eq!(c.store.flush_every, Duration::from_millis(10));
}

/// A string of digits is told what its number would be with a unit; one with a fraction
/// that durations are whole (humantime's own message quoted "60.5" as "60").
#[test]
fn a_number_given_as_a_duration_string_says_how_to_write_it() {
    let p = problems(load(
        GOOD,
        &[
            ("WIREFOLD_FETCH__TIMEOUT", "60"),
            ("WIREFOLD_SCHEDULE__DEFAULT_INTERVAL", "60.5"),
        ],
    ));
    let joined = p.join("\n");
    assert!(
        joined
            .contains("\"60\" is not a duration (a number without a unit: \"60s\" is 60 seconds)"),
        "{joined}"
    );
    assert!(
        joined.contains("\"60.5\" is not a duration (a number with a fraction and no unit"),
        "{joined}"
    );
}

#[test]
fn retention_shorter_than_the_window_is_refused() {
    let p = problems(load(
        GOOD,
        &[
            ("WIREFOLD_STORE__RETENTION", "1h"),
            ("WIREFOLD_FETCH__TIMEOUT", "never"),
        ],
    ));
    let joined = p.join("\n");
    assert!(
        joined.contains("store.retention: must not be shorter than dedup.window"),
        "{joined}"
    );
    assert!(joined.contains("fetch.timeout"), "{joined}");
    let p = problems(load(GOOD, &[("WIREFOLD_STORE__RETENTION", "a while")]));
    assert!(
        p[0].starts_with("store.retention: \"a while\" is not a duration"),
        "{p:?}"
    );
}

/// A duration past what the clock can add (~292 billion years) panicked the daemon where it
/// was added: at start, in every reload after it, or in the scheduler, which stopped polling.
#[test]
fn a_duration_longer_than_a_century_is_refused() {
    let huge = "500000000000y";
    let keys = [
        (
            "WIREFOLD_SCHEDULE__MAX_RETRY_AFTER",
            "schedule.max_retry_after",
        ),
        (
            "WIREFOLD_SCHEDULE__NETWORK_PROBE_INTERVAL",
            "schedule.network_probe_interval",
        ),
        ("WIREFOLD_SCHEDULE__MAX_BACKOFF", "schedule.max_backoff"),
        ("WIREFOLD_STORE__RETENTION", "store.retention"),
        ("WIREFOLD_STORE__BACKUP_EVERY", "store.backup_every"),
    ];
    let env: Vec<(&str, &str)> = keys.iter().map(|(v, _)| (*v, huge)).collect();
    let p = problems(load(GOOD, &env));
    let joined = p.join("\n");
    for (_, key) in keys {
        let needle = format!("{key}: \"{huge}\" is longer than the 100 years any duration may be");
        assert!(joined.contains(&needle), "missing {needle:?} in:\n{joined}");
    }
    // a century itself is allowed, in years as humantime counts them (365.25 days)
    let c = load(
        GOOD,
        &[
            ("WIREFOLD_SCHEDULE__MAX_RETRY_AFTER", "100y"),
            ("WIREFOLD_SCHEDULE__MAX_INTERVAL", "36525d"),
            ("WIREFOLD_STORE__RETENTION", "1200months"),
        ],
    )
    .unwrap();
    assert_eq!(c.schedule.max_retry_after.as_secs(), 36525 * 86400);
    let p = problems(load(GOOD, &[("WIREFOLD_STORE__RETENTION", "1201months")]));
    assert_eq!(p.len(), 1, "{p:?}");
}

#[test]
fn a_duration_with_a_wrong_unit_is_refused_where_it_would_do_harm() {
    // "500m" is 500 minutes: a crash would lose that much unflushed ingest
    let p = problems(load(
        GOOD,
        &[
            ("WIREFOLD_STORE__FLUSH_EVERY", "500m"),
            ("WIREFOLD_FETCH__TIMEOUT", "20h"),
            ("WIREFOLD_FETCH__PER_HOST_SPACING", "2h"),
            ("WIREFOLD_HTTP__REQUEST_TIMEOUT", "11m"),
            ("WIREFOLD_HTTP__SHUTDOWN_GRACE", "1day"),
        ],
    ));
    let joined = p.join("\n");
    for needle in [
        "store.flush_every: \"500m\" is longer than the 1m allowed; a crash loses",
        "fetch.timeout: \"20h\" is longer than the 10m allowed",
        "fetch.per_host_spacing: \"2h\" is longer than the 10m allowed",
        "http.request_timeout: \"11m\" is longer than the 10m allowed",
        "http.shutdown_grace: \"1day\" is longer than the 10m allowed",
    ] {
        assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
    }
    assert_eq!(p.len(), 5, "{joined}");
    // the bounds themselves are allowed
    let c = load(
        GOOD,
        &[
            ("WIREFOLD_STORE__FLUSH_EVERY", "1m"),
            ("WIREFOLD_FETCH__TIMEOUT", "10m"),
            ("WIREFOLD_FETCH__PER_HOST_SPACING", "10m"),
        ],
    )
    .unwrap();
    assert_eq!(c.store.flush_every, Duration::from_secs(60));
}

#[test]
fn a_default_interval_that_is_not_a_duration_is_one_problem() {
    let p = problems(load(
        GOOD,
        &[("WIREFOLD_SCHEDULE__DEFAULT_INTERVAL", "10 parsecs")],
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("schedule.default_interval: \"10 parsecs\" is not a duration"),
        "{p:?}"
    );
    let p = problems(load(GOOD, &[("WIREFOLD_SCHEDULE__DEFAULT_INTERVAL", "3d")]));
    assert_eq!(
        p,
        ["schedule.default_interval: 3d must lie between schedule.min_interval (1m) and schedule.max_interval (6h) (the defaults are 15m, 1m and 6h) (set by the environment variable WIREFOLD_SCHEDULE__DEFAULT_INTERVAL)"]
    );
}

#[test]
fn unwritable_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let bad = GOOD.replace("STORE", &file.join("db").display().to_string());
    let p = problems(load(&bad, &[]));
    assert!(p.iter().any(|p| p.starts_with("store.path")), "{p:?}");
}

#[test]
fn a_value_of_the_wrong_type_in_the_file_is_refused_with_its_place() {
    let read_error = |r: Result<Config, ConfigError>| match r {
        Err(ConfigError::Read { message, .. }) => message,
        other => panic!("expected a read error, got {other:?}"),
    };
    // Each would have been turned into something else: a store in the directory "5", a
    // source enabled by a 2, a body cap of 2 bytes.
    let cases = [
        (
            "[store]\npath = 5\n",
            "line 2, column 8: invalid type: integer `5`, expected a string",
        ),
        (
            "[[sources]]\nname = \"a\"\nurl = \"https://example.com/\"\nenabled = 2\n",
            "line 4, column 11: invalid type: integer `2`, expected a boolean",
        ),
        (
            "[fetch]\nmax_body_bytes = 1.5\n",
            "line 2, column 18: invalid type: floating point `1.5`, expected a whole number, 0 or more",
        ),
        // Said as an operator says it, not as Rust's types.
        (
            "[fetch]\nconcurrency = -1\n",
            "line 2, column 15: invalid value: integer `-1`, expected a whole number, 0 or more",
        ),
        (
            "[fetch]\nconcurrency = 99999999999999999999999\n",
            "line 2, column 15: invalid type: integer `99999999999999999999999` (out of range), expected a whole number, 0 or more",
        ),
        (
            "[store]\npath = \"x\"\npath = \"y\"\n",
            "line 3, column 1: duplicate key",
        ),
        // Each of these was read field by field in order, as the section's keys: the log
        // format and level, the user agent, a source's name and URL.
        (
            "log = [\"json\", \"debug\"]\n",
            "log: an array, not a section: write [log] and its keys",
        ),
        (
            "fetch = [\"agent/9\"]\n",
            "fetch: an array, not a section: write [fetch] and its keys",
        ),
        (
            "sources = [[\"a\", \"https://example.com/\"]]\n",
            "sources: entry 1 is an array, not a table: write each entry as [[sources]]",
        ),
        // One bracket makes a table, not the list of sources (it said "expected a sequence"
        // alone).
        (
            "[sources]\nname = \"a\"\nurl = \"https://example.com/\"\n",
            "line 1, column 1: invalid type: map, expected a sequence; sources is a table, not \
             a list: write each entry as [[sources]] (two brackets) with its keys on the lines \
             below it",
        ),
        (
            "[normalize.rules]\nname = \"x\"\n",
            "line 1, column 1: invalid type: map, expected a sequence; normalize.rules is a \
             table, not a list: write each entry as [[normalize.rules]] (two brackets)",
        ),
        (
            "[normalize]\nrules = [{ name = \"x\" }, [\"y\"]]\n",
            "normalize.rules: entry 2 is an array, not a table",
        ),
        (
            "[dedup]\nsimhash_max_distance = -1\n",
            "line 2, column 24: invalid value: integer `-1`, expected a whole number, 0 or more",
        ),
        (
            "fetch = 5\n",
            "line 1, column 9: invalid type: integer `5`, expected a table of keys ([section], or { key = … })",
        ),
        // A quoted key with a dot was read as the dotted key: `store.path` set with
        // nothing said (config audit, session 65). A header name may hold one.
        (
            "\"store.path\" = \"x\"\n",
            "\"store.path\": a quoted key holding a dot is read as the dotted key store.path; \
             write it without the quotes",
        ),
        (
            "[[sources]]\nname = \"a\"\nurl = \"https://example.com/\"\n\"fetch.timeout\" = \"1s\"\n",
            "sources[0].\"fetch.timeout\": a quoted key holding a dot is read as the dotted \
             key sources[0].fetch.timeout",
        ),
        // Beyond i64: it failed in the layering without its key or place.
        (
            "[fetch]\nmax_body_bytes = 10000000000000000000\n",
            "line 2, column 18: number out of range: at most 9223372036854775807",
        ),
        (
            "[dedup]\nsimhash_max_distance = 5000000000\n",
            "line 2, column 24: invalid value: integer `5000000000` (out of range), expected a whole number, 0 or more",
        ),
        // A secret written as a number is not quoted back (a header's value, the API token).
        (
            "[[sources]]\nname = \"a\"\nurl = \"https://example.com/\"\nheaders = { \"X-Api-Key\" = 9876543210129 }\n",
            "line 4, column 27: invalid type: integer (its value not shown), expected a string",
        ),
        (
            "[[sources]]\nname = \"a\"\nurl = \"https://example.com/\"\n[sources.headers]\nX-Api-Key = 1.5e135\n",
            "line 5, column 13: invalid type: floating point (its value not shown), expected a string",
        ),
        (
            "[http]\ntoken = 12345678901234567890\n",
            "line 2, column 9: invalid type: integer (its value not shown)",
        ),
        (
            "http.token = 12345678901234567890\n",
            "line 1, column 14: invalid type: integer (its value not shown)",
        ),
        (
            "[[sources]]\nname = \"a\"\nurl = \"https://example.com/\"\nheaders = \"Authorization: Bearer S3CRET\"\n",
            "line 4, column 11: invalid type: string (its value not shown), expected",
        ),
        // A value holding quotes or backticks of its own.
        (
            "[[sources]]\nname = \"a\"\nurl = \"https://example.com/\"\nheaders = 'Cookie: s=\"C00K\"; t=`x` y'\n",
            "line 4, column 11: invalid type: string (its value not shown), expected",
        ),
        ("http = \"S3CRET\"\n", "line 1, column 8: invalid type: string (its value not shown)"),
        (
            "[[sources]]\nname = \"a\"\nurl = \"https://example.com/\"\nheaders = {\n  \"X-Api-Key\" = 9876543210129,\n}\n",
            "line 5, column 17: invalid type: integer (its value not shown), expected a string",
        ),
    ];
    for (file, expected) in cases {
        let message = read_error(load(file, &[]));
        assert!(message.starts_with(expected), "{file:?}: {message}");
    }
    // A syntax error among the headers quotes what it expected, as anywhere.
    let message = read_error(load(
        "[[sources]]\nname = \"a\"\nurl = \"https://example.com/\"\n[sources.headers]\nX-Api-Key = 'S3CRET\n",
        &[],
    ));
    assert!(!message.contains("not shown"), "{message}");
    // A bare number given as a duration says how to write one; other strings do not.
    for (file, key) in [
        ("[fetch]\ntimeout = 20\n", "timeout"),
        ("[schedule]\nmin_interval = 1.5\n", "min_interval"),
        (
            "sources = [{ name = \"a\", url = \"https://example.com/\", interval = 900 }]\n",
            "interval",
        ),
    ] {
        let message = read_error(load(file, &[]));
        let hint = format!("({key} is a duration: a string with its unit, e.g. {key} = \"900s\"");
        assert!(message.contains(&hint), "{file:?}: {message}");
    }
    let message = read_error(load("[store]\npath = 5\n", &[]));
    assert!(message.ends_with("expected a string"), "{message}");
    // The environment's values are all strings, and still set numbers and switches; a
    // number where a number goes is fine in the file too.
    let c = load(
        &format!("{GOOD}\n[dedup]\nmin_similarity = 1\n"),
        &[
            ("WIREFOLD_FETCH__REFUSE_PRIVATE_DNS", "false"),
            ("WIREFOLD_STORE__BACKUPS_KEPT", "7"),
        ],
    )
    .unwrap();
    assert!(!c.fetch.refuse_private_dns);
    assert_eq!(c.store.backups_kept, 7);
    // ...but not a fraction where a whole number goes: 1.5 backups were 2.
    let p = problems(load(GOOD, &[("WIREFOLD_STORE__BACKUPS_KEPT", "1.5")]));
    assert_eq!(
        p,
        [
            r#"store.backups_kept: "1.5" is not a whole number (set by the environment variable WIREFOLD_STORE__BACKUPS_KEPT)"#
        ]
    );
    // A whole number too large for its key, or below 0 where it cannot be, is said to be out
    // of range, as the file's reading says it (it was "not a whole number").
    for (value, said) in [
        (
            "99999999999999999999999",
            "99999999999999999999999 is out of range",
        ),
        ("5000000000", "5000000000 is out of range"),
        ("-1", "-1 is out of range"),
        ("+5000000000", "+5000000000 is out of range"),
        ("+3x", r#""+3x" is not a whole number"#),
        // Spaces are not the reader's to ignore.
        (" 5", r#"" 5" is not a whole number"#),
    ] {
        let p = problems(load(
            GOOD,
            &[("WIREFOLD_FETCH__PERMANENT_REDIRECT_POLLS", value)],
        ));
        assert_eq!(
            p,
            [format!(
                "fetch.permanent_redirect_polls: {said} (set by the environment variable WIREFOLD_FETCH__PERMANENT_REDIRECT_POLLS)"
            )]
        );
    }
}

#[test]
fn a_variable_that_sets_no_key_says_why_and_the_others_are_still_checked() {
    // Before, the first of these stopped the reading with the reader's words about the
    // types it reads into ("expected struct LogSettings for key `log`"), naming no variable.
    let p = problems(load(
        GOOD,
        &[
            ("WIREFOLD_LOG", "debug"),
            ("WIREFOLD_FETCH__PRIVATE_HOSTS", "a.example,b.example"),
            ("WIREFOLD_SOURCES", "https://example.com/feed"),
            ("WIREFOLD_FETCH__CONCURRENCY", "many"),
            ("WIREFOLD_FETCH__REFUSE_PRIVATE_DNS", "maybe"),
            ("WIREFOLD_DEDUP__MIN_SIMILARITY", "high"),
            ("WIREFOLD_LOG__LEVEL__CRATE", "debug"),
            ("WIREFOLD_SCHEDULE_MIN_INTERVAL", "1m"),
            ("WIREFOLD_FETCH__TIMEOUT", "0s"),
            // Switch words were read as 1 and 0 for numbers (config audit, session 65);
            // for a switch or text they are what they say.
            ("WIREFOLD_STORE__BACKUPS_KEPT", "Yes"),
            ("WIREFOLD_DEDUP__MIN_CONTAINMENT", "on"),
            ("WIREFOLD_SCHEDULE__ADAPTIVE", "off"),
            ("WIREFOLD_FETCH__USER_AGENT", "yes"),
        ],
    ));
    let mut p = p;
    p.sort();
    let var = |name: &str| format!(" (set by the environment variable {name})");
    let mut expected = vec![
        format!(
            "log: a section, not a value: set its keys one by one, as WIREFOLD_LOG__<KEY>{}",
            var("WIREFOLD_LOG")
        ),
        format!(
            "fetch.private_hosts: a list, which the environment cannot set: write it in the file{}",
            var("WIREFOLD_FETCH__PRIVATE_HOSTS")
        ),
        format!(
            "sources: a list, which the environment cannot set: write it in the file{}",
            var("WIREFOLD_SOURCES")
        ),
        format!(
            r#"fetch.concurrency: "many" is not a whole number{}"#,
            var("WIREFOLD_FETCH__CONCURRENCY")
        ),
        format!(
            r#"fetch.refuse_private_dns: "maybe" is not true or false{}"#,
            var("WIREFOLD_FETCH__REFUSE_PRIVATE_DNS")
        ),
        format!(
            r#"dedup.min_similarity: "high" is not a number{}"#,
            var("WIREFOLD_DEDUP__MIN_SIMILARITY")
        ),
        format!(
            "log.level.crate: unknown key: a variable sets one key of a section, as WIREFOLD_LOG__<KEY>{}",
            var("WIREFOLD_LOG__LEVEL__CRATE")
        ),
        format!(
            "schedule_min_interval: unknown key; a section's key takes two underscores: WIREFOLD_SCHEDULE__MIN_INTERVAL{}",
            var("WIREFOLD_SCHEDULE_MIN_INTERVAL")
        ),
        format!(
            r#"store.backups_kept: "Yes" is not a whole number{}"#,
            var("WIREFOLD_STORE__BACKUPS_KEPT")
        ),
        format!(
            r#"dedup.min_containment: "on" is not a number{}"#,
            var("WIREFOLD_DEDUP__MIN_CONTAINMENT")
        ),
        // A problem of the file's validation is still found beside them.
        format!(
            "fetch.timeout: must be longer than zero{}",
            var("WIREFOLD_FETCH__TIMEOUT")
        ),
    ];
    expected.sort();
    assert_eq!(p, expected);
    // An unknown section is named with the variable that set a key of it; two underscores
    // after the prefix get a hint; the same key in two spellings is refused, whatever the
    // environment's order, naming both.
    let p = problems(load(
        GOOD,
        &[
            ("WIREFOLD_SCHEDULER__DEFAULT_INTERVAL", "5m"),
            ("WIREFOLD__LOG__LEVEL", "debug"),
            ("WIREFOLD_FETCH__CONCURRENCY", "5"),
            ("wirefold_fetch__concurrency", "many"),
        ],
    ));
    let mut p = p;
    p.sort();
    assert_eq!(
        p,
        [
            format!(
                "_log: unknown key; one underscore after WIREFOLD: WIREFOLD_LOG__LEVEL{}",
                var("WIREFOLD__LOG__LEVEL")
            ),
            format!(
                "fetch.concurrency: set twice, also by the environment variable WIREFOLD_FETCH__CONCURRENCY: keep one{}",
                var("wirefold_fetch__concurrency")
            ),
            format!("scheduler: unknown key{}", var("WIREFOLD_SCHEDULER__DEFAULT_INTERVAL")),
        ]
    );
    // WIREFOLD_CONFIG names the file, whatever its bytes.
    assert!(load(GOOD, &[("WIREFOLD_CONFIG", "/tmp/elsewhere.toml")]).is_ok());
    // The prefix is matched in any case, as the reader applies it, and the variable is
    // named as it was set.
    let p = problems(load(GOOD, &[("wirefold_log__level", "loud")]));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("log.level: \"loud\" is not a level")
            && p[0].ends_with(&var("wirefold_log__level")),
        "{p:?}"
    );
}

#[test]
fn missing_file_is_a_read_error() {
    let r = Config::load(Path::new("/nonexistent/wirefold.toml"));
    assert!(matches!(r, Err(ConfigError::Read { message, .. }) if message == "no such file"));
    // A directory is named as one, not as missing.
    let dir = tempfile::tempdir().unwrap();
    let r = Config::load(dir.path());
    assert!(
        matches!(&r, Err(ConfigError::Read { message, .. }) if message.contains("a directory")),
        "{r:?}"
    );
    // A device and a link to nothing are named for what they are (they were "no such file").
    let message = |path: &Path| match Config::load(path) {
        Err(ConfigError::Read { message, .. }) => message,
        other => panic!("{other:?}"),
    };
    assert!(message(Path::new("/dev/null")).starts_with("not a regular file"));
    #[cfg(unix)]
    {
        let link = dir.path().join("w.toml");
        std::os::unix::fs::symlink(dir.path().join("gone.toml"), &link).unwrap();
        assert_eq!(message(&link), "a symbolic link to no file");
        // A link to a device (`-c <(…)` is a link to a pipe) is what it leads to.
        let to_device = dir.path().join("null.toml");
        std::os::unix::fs::symlink("/dev/null", &to_device).unwrap();
        assert!(message(&to_device).starts_with("not a regular file"));
    }
    // Text in another encoding says where (it said "stream did not contain valid UTF-8").
    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"[store]\npath = \"data\"\n# Caf\xe9 feeds\n").unwrap();
    assert_eq!(
        message(&latin1),
        "line 3, column 6: not UTF-8 text (a file saved in another encoding, such as \
         Latin-1 or UTF-16?)"
    );
}

#[test]
fn shipped_default_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PATH);
    let c = Config::load_with_env(&path, Some(HashMap::new())).unwrap();
    assert!(c.sources.len() >= 5);
}

#[test]
fn operator_rules_are_read_and_each_bad_field_is_named() {
    let good = format!(
        "{GOOD}\n{}",
        r#"
    [[normalize.rules]]
    name = "newsletter-plug"
    position = "whole"
    pattern = "(?i)sign up for our newsletter.*"
    drop_from_display = true
    [[normalize.rules]]
    name = "desk-tag"
    position = "leading"
    pattern = "\\[[A-Z]+ DESK\\]\\s*"
    kind = "dateline"
    "#
    );
    let c = load(&good, &[]).unwrap();
    let names: Vec<&str> = c.normalize.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["newsletter-plug", "desk-tag"]);
    assert!(c.normalize.rules[0].drop_from_display);
    assert_eq!(c.normalize.rules[1].kind.as_deref(), Some("dateline"));
    // No rules: the daemon runs the built-in table alone.
    assert!(load(GOOD, &[]).unwrap().normalize.rules.is_empty());

    let bad = r#"
    [store]
    path = "STORE"
    [[normalize.rules]]
    position = "whole"
    pattern = "x"
    [[normalize.rules]]
    name = "byline-by"
    position = "leading"
    pattern = "By .*"
    [[normalize.rules]]
    name = "twice"
    position = "whole"
    pattern = "a+"
    [[normalize.rules]]
    name = "twice"
    position = "whole"
    pattern = "b+"
    [[normalize.rules]]
    name = "unclosed"
    position = "inline"
    pattern = "(sign up"
    [[normalize.rules]]
    name = "everything"
    position = "inline"
    pattern = "x*"
    [[normalize.rules]]
    name = "sideways"
    position = "middle"
    pattern = "x"
    [[normalize.rules]]
    name = "odd-kind"
    position = "trailing"
    pattern = "x"
    kind = "headline"
    [[normalize.rules]]
    name = "blank"
    position = "whole"
    pattern = "  "
    [[normalize.rules]]
    name = "typo"
    position = "whole"
    pattern = "x"
    drop_from_dispaly = true
    [[normalize.rules]]
    name = "byline-by"
    position = "middle"
    pattern = "(unclosed"
    kind = "headline"
    [[normalize.rules]]
    name = "anything"
    position = "whole"
    pattern = ".+"
    "#;
    let p = problems(load(bad, &[]));
    let joined = p.join("\n");
    for needle in [
        "normalize.rules[0].name: must not be empty",
        "normalize.rules[1].name: \"byline-by\" is the name of a built-in rule",
        "normalize.rules[3].name: duplicate rule name \"twice\"",
        "normalize.rules[4].pattern: rule \"unclosed\": not a valid pattern",
        "normalize.rules[5].pattern: rule \"everything\": matches the empty string",
        "normalize.rules[6].position: rule \"sideways\": \"middle\" is not a position",
        "normalize.rules[7].kind: rule \"odd-kind\": \"headline\" is not a kind",
        "normalize.rules[8].pattern: rule \"blank\": must not be empty",
        "normalize.rules[9].drop_from_dispaly: unknown key",
        // Every problem of one rule, in one run.
        "normalize.rules[10].name: \"byline-by\" is the name of a built-in rule",
        "normalize.rules[10].position: rule \"byline-by\": \"middle\" is not a position",
        "normalize.rules[10].kind: rule \"byline-by\": \"headline\" is not a kind",
        "normalize.rules[10].pattern: rule \"byline-by\": not a valid pattern",
        "normalize.rules[11].pattern: rule \"anything\": matches any text whole",
    ] {
        assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
    }
    // A pattern's error quotes it as written, not the anchored form the rule runs.
    assert!(joined.contains("(sign up"), "{joined}");
    assert!(!joined.contains("^(?:"), "{joined}");
    // `twice`'s first entry is fine; only the second is a problem.
    assert!(!joined.contains("normalize.rules[2]"), "{joined}");
    // On one line for a log line, the regex's own caret drawing included.
    let one = load(bad, &[]).unwrap_err().one_line();
    assert!(!one.contains('\n'), "{one}");
    assert!(one.contains("not a valid pattern"), "{one}");
}

/// The commented `[[normalize.rules]]` example in the shipped configuration, uncommented,
/// loads and does what it says.
#[test]
fn the_shipped_rule_example_is_valid() {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/wirefold.toml"),
    )
    .unwrap();
    let mut lines = shipped
        .lines()
        .skip_while(|l| *l != "# [[normalize.rules]]");
    let mut example = String::new();
    if let Some(header) = lines.next() {
        example.push_str(&header[2..]);
        example.push('\n');
    }
    for l in lines.take_while(|l| l.starts_with("# ") && l.contains(" = ")) {
        example.push_str(&l[2..]);
        example.push('\n');
    }
    assert!(
        example.contains("pattern = "),
        "no example found:\n{example}"
    );
    let c = load(&format!("{GOOD}\n{example}"), &[]).unwrap();
    assert_eq!(c.normalize.rules.len(), 1);
    let rules = c.normalize.operator_table().unwrap().unwrap();
    let name = c.normalize.rules[0].name.as_str();
    let note = "This story was produced in partnership with the Harbour Reporting Project.";
    assert_eq!(rules.matching(note), vec![name]);
    assert!(rules
        .matching("The story was produced in a hurry.")
        .is_empty());
}

#[test]
fn the_local_url_reaches_an_unspecified_listen_address_over_loopback() {
    let url = |listen: &str| {
        load(GOOD, &[("WIREFOLD_HTTP__LISTEN", listen)])
            .unwrap()
            .http
            .local_url()
    };
    assert_eq!(
        url("0.0.0.0:9090").as_deref(),
        Some("http://127.0.0.1:9090")
    );
    assert_eq!(url("[::]:9090").as_deref(), Some("http://[::1]:9090"));
    assert_eq!(url("10.1.2.3:80").as_deref(), Some("http://10.1.2.3:80"));
    assert_eq!(url("127.0.0.1:0"), None);
}

#[test]
fn the_daemons_clients_read_the_http_section_whatever_else_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    // A store the reader cannot write and a source edited into a bad URL since the start.
    let toml = format!(
        "[store]\npath = \"{}\"\n[http]\nlisten = \"0.0.0.0:9191\"\n[[sources]]\nname = \"a\"\nurl = \"not a url\"\n",
        file.join("db").display()
    );
    std::fs::write(&path, toml).unwrap();
    assert!(matches!(
        Config::load_with_env(&path, Some(HashMap::new())),
        Err(ConfigError::Invalid { .. })
    ));
    let http = Config::load_http_with_env(&path, Some(HashMap::new())).unwrap();
    assert_eq!(http.local_url().as_deref(), Some("http://127.0.0.1:9191"));
    // A problem of the http section itself still counts, and only it is listed.
    let env = HashMap::from([(
        "WIREFOLD_HTTP__LISTEN".to_string(),
        "everywhere".to_string(),
    )]);
    match Config::load_http_with_env(&path, Some(env)) {
        Err(ConfigError::Invalid { problems, .. }) => {
            let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
            assert_eq!(keys, ["http.listen"]);
        }
        other => panic!("expected the listen address refused, got {other:?}"),
    }
}

/// A value of the wrong type outside the part a command reads (a source's `interval = 5`,
/// typed for `"5m"`) stops the daemon's reload, not `health-check`, `stats`, `import-opml`
/// or `normalize`; one inside it still does, named at its place in the file.
#[test]
fn a_wrong_type_elsewhere_leaves_a_commands_part_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    let file = |text: &str| std::fs::write(&path, text).unwrap();
    let typo = "[store]\npath = \"/var/lib/w\"\nflush_every = 5\n\
                [http]\nlisten = \"127.0.0.1:9191\"\n\
                [[sources]]\nname = \"a\"\nurl = \"http://a.example/feed\"\ninterval = 5\n";
    file(typo);
    let env = || Some(HashMap::new());
    let whole = Config::load_with_env(&path, env()).unwrap_err().to_string();
    assert!(whole.contains("line 9"), "{whole}");
    let (http, store) = Config::load_client_with_env(&path, env()).unwrap();
    assert_eq!(http.local_url().as_deref(), Some("http://127.0.0.1:9191"));
    assert_eq!(store, Some(PathBuf::from("/var/lib/w")));
    assert!(Config::load_normalize(&path).is_ok());
    // The sources' own typo stops the import, named where it is.
    let import = Config::load_sources(&path).unwrap_err().to_string();
    assert!(import.contains("line 9"), "{import}");
    // Only the store's: the import reads on.
    file(&typo.replace("interval = 5", "interval = \"5m\""));
    let whole = Config::load_with_env(&path, env()).unwrap_err().to_string();
    assert!(whole.contains("line 3"), "{whole}");
    assert_eq!(Config::load_sources(&path).unwrap().0.len(), 1);
    // In the listener's part: refused, at its line in the file.
    file(&typo.replace("\"127.0.0.1:9191\"", "9191"));
    let client = Config::load_client_with_env(&path, env())
        .unwrap_err()
        .to_string();
    assert!(client.contains("line 5"), "{client}");
}

/// `stats`, `health-check` and `poll-now` read the daemon's address from the store's marker
/// file: a store the operator cannot write (the service's own) is still read (helper audit,
/// session 65: any problem of `store.path` dropped it, and the commands then said that no
/// daemon answers, or that port 0 names no address).
#[test]
fn a_client_reads_the_marker_of_a_store_it_could_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let store = file.join("store");
    std::fs::write(
        &path,
        format!(
            "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
            store.display()
        ),
    )
    .unwrap();
    let whole = Config::load_with_env(&path, Some(HashMap::new()))
        .unwrap_err()
        .to_string();
    assert!(whole.contains("store.path"), "{whole}");
    let (_, read) = Config::load_client_with_env(&path, Some(HashMap::new())).unwrap();
    assert_eq!(read, Some(store));
}

#[test]
fn the_public_url_is_a_link_base_or_a_specific_problem() {
    let base = |raw: &str| load(GOOD, &[("WIREFOLD_HTTP__PUBLIC_URL", raw)]);
    assert_eq!(load(GOOD, &[]).unwrap().http.public_url, None);
    for (raw, want) in [
        ("https://news.example.org", "https://news.example.org"),
        ("https://news.example.org/", "https://news.example.org"),
        (
            "https://proxy.example.org/wirefold/",
            "https://proxy.example.org/wirefold",
        ),
        ("http://10.0.0.5:8080", "http://10.0.0.5:8080"),
    ] {
        assert_eq!(
            base(raw).unwrap().http.public_url.as_deref(),
            Some(want),
            "{raw}"
        );
    }
    for (raw, why) in [
        ("news.example.org", "is not an absolute URL"),
        ("ftp://news.example.org", "must be an http or https URL"),
        (
            "https://me:secret@news.example.org",
            "user name or password",
        ),
        ("https://news.example.org/?x=1", "query or fragment"),
        ("https://news.example.org/#top", "query or fragment"),
    ] {
        let p = problems(base(raw)).join("\n");
        assert!(p.starts_with("http.public_url: "), "{raw}: {p}");
        assert!(p.contains(why), "{raw}: {p}");
        // Refused for its password, it does not repeat it.
        assert!(!p.contains("secret"), "{raw}: {p}");
    }
}

#[test]
fn a_reload_names_the_sections_that_need_a_restart() {
    let a = load(GOOD, &[]).unwrap();
    let mut b = a.clone();
    b.sources.pop();
    b.sources[0].interval = Duration::from_secs(60);
    b.schedule.max_backoff = Duration::from_secs(600);
    assert!(a.sections_differing(&b).is_empty(), "sources and schedule");
    b.fetch.timeout = Duration::from_secs(3);
    b.fetch.user_agent = "desk/1".into();
    assert!(
        a.sections_differing(&b).is_empty(),
        "fetch, its limits excepted"
    );
    b.fetch.concurrency = NonZeroUsize::new(3).unwrap();
    b.http.token = Some(secrecy::SecretString::from("another-token-0123456789"));
    b.log.level = "debug".into();
    assert_eq!(
        a.sections_differing(&b),
        ["http", "fetch.concurrency"],
        "the level is applied"
    );
    b.log.format = LogFormat::Json;
    assert_eq!(
        a.sections_differing(&b),
        ["http", "fetch.concurrency", "log"]
    );
}

#[test]
fn the_environment_variable_behind_a_problem_is_named_and_the_token_variable_ignored() {
    // WIREFOLD_TOKEN is the command line's token for `stats` and `poll-now`: a daemon
    // started in the same shell must not read it as a key of the file.
    let c = load(GOOD, &[("WIREFOLD_TOKEN", "abcdefghijklmnopqrstu")]);
    assert!(c.is_ok(), "{c:?}");
    let p = problems(load(
        GOOD,
        &[("WIREFOLD_HTTP__LISTN", "1"), ("WIREFOLD_HTTP__LISTEN", "")],
    ));
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p.iter().any(|p| p.starts_with("http.listn: unknown key")
            && p.ends_with("(set by the environment variable WIREFOLD_HTTP__LISTN)")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|p| p.starts_with("http.listen:")
            && p.ends_with("(set by the environment variable WIREFOLD_HTTP__LISTEN)")),
        "{p:?}"
    );
    // A problem in the file names no variable.
    let p = problems(load(&format!("{GOOD}\n[http]\nlistn = 1\n"), &[]));
    assert_eq!(p, ["http.listn: unknown key"]);
}

#[test]
fn a_log_level_that_would_silence_the_daemon_is_a_problem() {
    for (level, says) in [
        ("warning", r#"log.level: "warning" is not a level"#),
        ("", "log.level: empty"),
    ] {
        let p = problems(load(&format!("{GOOD}\n[log]\nlevel = \"{level}\"\n"), &[]));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with(says), "{p:?}");
    }
    assert!(load(&format!("{GOOD}\n[log]\nlevel = \"warn,hyper=off\"\n"), &[]).is_ok());
}

#[test]
fn a_store_path_with_a_trailing_slash_keeps_its_backups_beside_it() {
    let c = load(&GOOD.replace("\"STORE\"", "\"STORE/./\""), &[]).unwrap();
    let store = c.store.path.display().to_string();
    assert!(store.ends_with("/db"), "{store}");
    assert_eq!(
        c.store.backup_dir.display().to_string(),
        format!("{store}.backups")
    );
    // A backup directory that is a file is a problem now, not at the first backup.
    let file = tempfile::NamedTempFile::new().unwrap();
    let p = problems(load(
        &GOOD.replace(
            "path = \"STORE\"",
            &format!(
                "path = \"STORE\"\nbackup_dir = \"{}\"",
                file.path().display()
            ),
        ),
        &[],
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("store.backup_dir:") && p[0].ends_with("is not a directory"),
        "{p:?}"
    );
}

#[test]
fn a_source_name_with_a_control_character_is_refused_without_echoing_it() {
    let toml = format!(
        "{GOOD}\n[[sources]]\nname = \"evil\\n2026-12-05T00:00:00Z ERROR forged\"\nurl = \"https://x.example/f\"\nintervl = \"1h\"\n"
    );
    let p = problems(load(&toml, &[]));
    let refused = "sources[3].name: must not contain control characters (line breaks, tabs, \
                   escapes) or direction overrides, line separators and the noncharacters \
                   U+FFFE, U+FFFF";
    assert!(p.iter().any(|p| p == refused), "{p:?}");
    assert!(p.iter().all(|p| !p.contains("forged")), "{p:?}");
    // A right-to-left override or a line separator turns how the name reads in a log.
    // U+FFFF made an OPML export that no XML reader opens.
    for invisible in ["\\u202E", "\\u2028", "\\uFFFF", "\\uFFFE"] {
        let toml = format!(
            "{GOOD}\n[[sources]]\nname = \"evil{invisible}gpj.exe\"\nurl = \"https://x.example/f\"\n"
        );
        let p = problems(load(&toml, &[]));
        assert!(p.iter().any(|p| p == refused), "{invisible}: {p:?}");
    }
    // Letters of any script are names.
    let toml =
        format!("{GOOD}\n[[sources]]\nname = \"وكالة أنباء\"\nurl = \"https://x.example/f\"\n");
    assert!(load(&toml, &[]).is_ok());
    // A value a message quotes reaches the terminal, the log and `stats` escaped: a refused
    // reload's log level retitled the operator's window (observability audit, session 66).
    let toml = format!("{GOOD}\n[log]\nlevel = \"info\\u001b]0;pwned\\u0007\"\n");
    let e = load(&toml, &[]).unwrap_err();
    for shown in [e.to_string(), e.one_line()] {
        assert!(
            shown.contains(r#"log.level: "info\u{1b}]0;pwned\u{7}" is not a level"#),
            "{shown}"
        );
        assert!(!shown.contains(['\u{1b}', '\u{7}']), "{shown}");
    }
}

#[test]
fn a_reload_applies_fetch_only_when_a_per_poll_key_changed() {
    let a = load(GOOD, &[]).unwrap();
    let mut b = a.clone();
    assert!(!a.fetch.per_poll_differs(&b.fetch), "the same");
    b.fetch.concurrency = NonZeroUsize::new(3).unwrap();
    b.fetch.per_host_concurrency = NonZeroUsize::new(7).unwrap();
    assert!(
        !a.fetch.per_poll_differs(&b.fetch),
        "the pools' sizes wait for a restart: no new client for them"
    );
    for change in [
        |f: &mut FetchConfig| f.timeout = Duration::from_secs(3),
        |f: &mut FetchConfig| f.max_body_bytes += 1,
        |f: &mut FetchConfig| f.per_host_spacing = Duration::from_millis(250),
        |f: &mut FetchConfig| f.private_hosts.push("intranet.example".into()),
    ] {
        let mut c = b.fetch.clone();
        change(&mut c);
        assert!(a.fetch.per_poll_differs(&c));
        assert!(c.per_poll_differs(&b.fetch));
    }
}

#[test]
fn a_source_url_is_shown_without_its_credentials() {
    for (raw, shown) in [
        (
            "https://feeds.example.org/world.rss",
            "https://feeds.example.org/world.rss",
        ),
        (
            "https://alice:s3cret@feeds.example.org/private.rss",
            "https://alice:xxxxx@feeds.example.org/private.rss",
        ),
        // A user name alone is a token as often as not.
        (
            "https://T0KEN123@feeds.example.org/private.rss",
            "https://xxxxx@feeds.example.org/private.rss",
        ),
        // Not a URL (an unencoded `/` in the password, an empty host): redacted by its text.
        (
            "https://reader:ab/cdPW@feeds.example.com/rss?token=T0K&page=2#top",
            "https://xxxxx@feeds.example.com/rss?token=xxxxx&page=2#top",
        ),
        (
            "https://reader:PW@/feed?token=T0K",
            "https://xxxxx@/feed?token=xxxxx",
        ),
        // Keys spelt as words of their own.
        (
            "https://api.example/v1?access_key=AK&subscription-key=SK&privateKey=PK&turkey=1",
            "https://api.example/v1?access_key=xxxxx&subscription-key=xxxxx&privateKey=xxxxx&turkey=1",
        ),
        (
            "https://api.example.org/news?q=baku&apiKey=abc123&page=2",
            "https://api.example.org/news?q=baku&apiKey=xxxxx&page=2",
        ),
        (
            "https://reader.example.com/feed?TOKEN=t0k&sig=zz%2F1",
            "https://reader.example.com/feed?TOKEN=xxxxx&sig=xxxxx",
        ),
        // Spelt with a hyphen, in camel case, or ending in a secret's name.
        (
            "https://a.example/f?access-token=AT7&X-Amz-Signature=f00&client-secret=cs&page=2",
            "https://a.example/f?access-token=xxxxx&X-Amz-Signature=xxxxx&client-secret=xxxxx&page=2",
        ),
        (
            "https://a.example/f?accessToken=AT7&csrf_token=c&sessionId=s",
            "https://a.example/f?accessToken=xxxxx&csrf_token=xxxxx&sessionId=xxxxx",
        ),
        // Names that only contain a secret's name are not secrets.
        (
            "https://news.example.org/search?keyword=ukraine&monkey=1",
            "https://news.example.org/search?keyword=ukraine&monkey=1",
        ),
        ("file:///srv/feeds/a.xml", "file:///srv/feeds/a.xml"),
        ("not a url?token=1", "not a url?token=xxxxx"),
        // A `#` or `?` in the password, no scheme or a scheme-relative form, a scheme in
        // capitals, an `@` in the query, other separators: hidden all the same.
        (
            "https://zed:RE#LOADPW@127.0.0.1/feed",
            "https://xxxxx@127.0.0.1/feed",
        ),
        (
            "https://zed:RE?LOADPW@127.0.0.1/feed",
            "https://xxxxx@127.0.0.1/feed",
        ),
        (
            "TOKEN105@feeds.example.com/rss",
            "xxxxx@feeds.example.com/rss",
        ),
        (
            "//user:SCHEMEREL@127.0.0.1:99999/x",
            "//xxxxx@127.0.0.1:99999/x",
        ),
        (
            "HTTP://user:BADPORT@127.0.0.1:99999/x",
            "HTTP://xxxxx@127.0.0.1:99999/x",
        ),
        (
            "https://h.example:99999/f?email=a@b.example&token=T0K",
            "https://xxxxx@b.example&token=xxxxx",
        ),
        (
            "https://h.example:99999/f?a=1;token=SEMI#access_token=FRAG",
            "https://h.example:99999/f?a=1;token=xxxxx#access_token=xxxxx",
        ),
        // A URL in the query is no scheme of the text's; a path's `@` is no user's.
        (
            "//user:PW1@127.0.0.1:99999/x?next=http://a.example/",
            "//xxxxx@127.0.0.1:99999/x?next=http://a.example/",
        ),
        (
            "TOKEN2@h.example:99999/feed?u=https://x.example/",
            "xxxxx@h.example:99999/feed?u=https://x.example/",
        ),
        ("feeds/me@home.xml", "feeds/me@home.xml"),
        (
            "TOKEN@h.example/feed?e=a@b.example",
            "xxxxx@b.example",
        ),
        (
            "https//user:PW2@h.example/feed",
            "xxxxx@h.example/feed",
        ),
        (
            "x?next=http://u:PW4@a.example/",
            "xxxxx@a.example/",
        ),
        ("é://user:PW5@h/feed", "xxxxx@h/feed"),
        // Private trackers' and podcast hosts' keys, session ids.
        (
            "https://t.example/rss?passkey=P&authkey=A&PHPSESSID=S&sid=12&id=7",
            "https://t.example/rss?passkey=xxxxx&authkey=xxxxx&PHPSESSID=xxxxx&sid=12&id=7",
        ),
        // A URL that parses, with a credential after a `;` (in the query, as a path
        // parameter), in its fragment, or with its name's letters escaped; the other
        // parameters as written.
        (
            "https://h.example/f?a=1;token=SEMI#access_token=FRAG",
            "https://h.example/f?a=1;token=xxxxx#access_token=xxxxx",
        ),
        (
            "https://h.example/feed;jsessionid=PATHSID?q=b%20c+d",
            "https://h.example/feed;jsessionid=xxxxx?q=b%20c+d",
        ),
        (
            "https://h.example/f?key=K&a=b;api_key=AK",
            "https://h.example/f?key=xxxxx&a=b;api_key=xxxxx",
        ),
        (
            "https://h.example/f?api%5Fkey=ESCAPED&page=2",
            "https://h.example/f?api%5Fkey=xxxxx&page=2",
        ),
        // A path that reads like a parameter is the path.
        (
            "https://h.example/a/token=1/feed.xml",
            "https://h.example/a/token=1/feed.xml",
        ),
        // A path parameter's value ends with its segment; after a `;`, a later segment is
        // the path again.
        (
            "https://h.example/a;jsessionid=S1D/rss.xml",
            "https://h.example/a;jsessionid=xxxxx/rss.xml",
        ),
        (
            "https://h.example/a;x/token=1/feed.xml",
            "https://h.example/a;x/token=1/feed.xml",
        ),
        ("https://h.example/f#top", "https://h.example/f#top"),
    ] {
        assert_eq!(shown_url(raw), shown, "{raw}");
    }
}

#[test]
fn a_feeds_base_for_its_links_has_no_credentials() {
    for (raw, base) in [
        (
            "https://alice:s3cret@h.example/f.xml?token=T&page=2",
            "https://h.example/f.xml?page=2",
        ),
        (
            "https://T0K@h.example/f.xml?api_key=K",
            "https://h.example/f.xml",
        ),
        (
            "https://h.example/f.xml?id=3",
            "https://h.example/f.xml?id=3",
        ),
        // The other parameters as they were written.
        (
            "https://h.example/f.xml?a&q=b%20c&token=T&sid=12",
            "https://h.example/f.xml?a&q=b%20c&sid=12",
        ),
        // Path parameters, a credential or not.
        (
            "https://h.example/feed;token=T;v=2/x;jsessionid=S",
            "https://h.example/feed;v=2/x",
        ),
        // Pairs separated by `;`, the last one a credential.
        (
            "https://h.example/f.xml?a=1;token=T&b=2;sig=S",
            "https://h.example/f.xml?a=1;b=2",
        ),
        ("file:///srv/feeds/a.xml", "file:///srv/feeds/a.xml"),
    ] {
        assert_eq!(without_credentials(raw), base, "{raw}");
    }
}

#[test]
fn the_urls_in_a_message_are_shown_without_their_credentials() {
    for (raw, shown) in [
        ("connection refused", "connection refused"),
        (
            "error sending request for url (http://127.0.0.1:1/feed.xml?token=T0KEN): refused",
            "error sending request for url (http://127.0.0.1:1/feed.xml?token=xxxxx): refused",
        ),
        (
            "redirect loop: https://a.example/x?sig=1 → http://b:pw@b.example/y → https://a.example/x?sig=1",
            "redirect loop: https://a.example/x?sig=xxxxx → http://b:xxxxx@b.example/y → https://a.example/x?sig=xxxxx",
        ),
        (
            "Location \"https://cdn.example/f?apikey=K\": bad",
            "Location \"https://cdn.example/f?apikey=xxxxx\": bad",
        ),
        (
            "see https://example.org/help?topic=feeds, then http://x@y.example/",
            "see https://example.org/help?topic=feeds, then http://xxxxx@y.example/",
        ),
        (
            "moved to https://a.example/f?key=K. (was https://a.example/(old)?key=J)",
            "moved to https://a.example/f?key=xxxxx. (was https://a.example/(old)?key=xxxxx)",
        ),
        // A scheme in capitals, as a server may write a Location.
        (
            "Location \"HTTP://user:PW@127.0.0.1:99999/x\": invalid port number",
            "Location \"HTTP://xxxxx@127.0.0.1:99999/x\": invalid port number",
        ),
        // A session id as a path parameter, the message's only credential.
        (
            "error sending request for url (http://127.0.0.1:1/feed;jsessionid=S1D): refused",
            "error sending request for url (http://127.0.0.1:1/feed;jsessionid=xxxxx): refused",
        ),
    ] {
        assert_eq!(shown_text(raw), shown, "{raw}");
    }
}

#[test]
fn a_sources_headers_are_checked_and_their_values_never_shown() {
    let c = load(
        r#"
        [store]
        path = "STORE"
        [[sources]]
        name = "paid"
        url = "https://api.example.com/wire.xml"
        headers = { "X-Api-Key" = "s3cret-key-value", Cookie = "session=abc", "User-Agent" = "our-monitor/2", "X.Trace" = "1" }
        "#,
        &[],
    )
    .unwrap();
    let h = &c.sources[0].headers;
    let names: Vec<&str> = h.iter().map(|(n, _)| n.as_str()).collect();
    // A header's name may hold a dot, unlike a setting's.
    assert_eq!(names, ["cookie", "user-agent", "x-api-key", "x.trace"]);
    assert!(h.iter().all(|(_, v)| v.is_sensitive()));
    let shown = format!("{c:?}");
    assert!(shown.contains("x-api-key"), "{shown}");
    assert!(
        !shown.contains("s3cret") && !shown.contains("abc"),
        "{shown}"
    );

    let found = problems(load(
        r#"
        [store]
        path = "STORE"
        [[sources]]
        name = "bad"
        url = "https://alice:pw@api.example.com/wire.xml"
        headers = { "X Api" = "1", "If-None-Match" = "x", Host = "other", Authorization = "Bearer t", "X-Key" = "line\nbreak-s3cret" }
        [[sources]]
        name = "local"
        url = "file:///tmp/feed.xml"
        headers = { "X-Api-Key" = "k" }
        "#,
        &[],
    ));
    let expected = [
        r#"sources[0].headers.X Api (source "bad"): "X Api" is not a header name"#,
        r#"sources[0].headers.If-None-Match (source "bad"): If-None-Match is set by wirefold itself"#,
        r#"sources[0].headers.Host (source "bad"): Host is set by wirefold itself"#,
        r#"sources[0].headers.Authorization (source "bad"): the URL carries a password too"#,
        r#"sources[0].headers.X-Key (source "bad"): not a header value"#,
        r#"sources[1].headers (source "local"): headers are sent with http and https requests only"#,
    ];
    for e in expected {
        assert!(found.iter().any(|p| p.starts_with(e)), "{e}\nin {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    assert!(!found.iter().any(|p| p.contains("s3cret")), "{found:#?}");
}

#[test]
fn a_header_value_takes_its_secret_from_the_environment() {
    let toml = r#"
        [store]
        path = "STORE"
        [[sources]]
        name = "paid"
        url = "https://api.example.com/wire.xml"
        headers = { Authorization = "Bearer ${WIRE_TOKEN}", "X-Price" = "$5 a month" }
        "#;
    let c = load(toml, &[("WIRE_TOKEN", "t0ken-from-env")]).unwrap();
    let auth = c.sources[0]
        .headers
        .iter()
        .find(|(n, _)| n.as_str() == "authorization")
        .map(|(_, v)| v.to_str().unwrap().to_owned());
    assert_eq!(auth.as_deref(), Some("Bearer t0ken-from-env"));
    // A `$` without a brace is itself.
    assert!(c.sources[0]
        .headers
        .iter()
        .any(|(n, v)| n.as_str() == "x-price" && v == "$5 a month"));

    let found = problems(load(toml, &[]));
    assert_eq!(
        found,
        [
            r#"sources[0].headers.Authorization (source "paid"): ${WIRE_TOKEN}: WIRE_TOKEN is not set in the environment"#
        ],
    );
    let found = problems(load(toml, &[("WIRE_TOKEN", " ")]));
    assert_eq!(
        found,
        [
            r#"sources[0].headers.Authorization (source "paid"): ${WIRE_TOKEN}: WIRE_TOKEN is empty in the environment"#
        ],
    );
    let found = problems(load(&toml.replace("${WIRE_TOKEN}", "${WIRE TOKEN}"), &[]));
    assert!(
        found[0].contains(r#""${" starts a variable: write ${NAME}"#),
        "{found:?}"
    );
    // A value with a line break from the environment is refused without being shown.
    let found = problems(load(toml, &[("WIRE_TOKEN", "two\nlines-s3cret")]));
    assert!(
        found[0]
            .ends_with("not a header value: only visible ASCII, spaces and tabs, no line breaks"),
        "{found:?}"
    );
    assert!(!found[0].contains("s3cret"));
}

#[test]
fn likely_mistakes_are_warned_about_not_refused() {
    let source = |name: &str, url: &str, extra: &str| {
        format!("[[sources]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}\n")
    };
    let warnings = |sources: &[String]| {
        load(
            &format!("[store]\npath = \"STORE\"\n{}", sources.concat()),
            &[],
        )
        .unwrap()
        .warnings()
    };
    assert_eq!(load(GOOD, &[]).unwrap().warnings(), Vec::<String>::new());
    let none = warnings(&[]);
    assert!(
        none.len() == 1 && none[0].starts_with("no source is configured"),
        "{none:?}"
    );
    let off = warnings(&[source("a", "https://example.com/f", "enabled = false")]);
    assert!(
        off.len() == 1 && off[0].starts_with("none of the 1 configured"),
        "{off:?}"
    );
    // The same feed under two names, however its host is spelled; a third copy is named
    // once more. Other headers (another account's feed) or a disabled one are no mistake.
    let twice = warnings(&[
        source("a", "https://example.com/f?key=secret", ""),
        source("b", "https://EXAMPLE.com/f?key=secret", ""),
        source("c", "https://example.com/f?key=secret", ""),
        source(
            "d",
            "https://example.com/f?key=secret",
            "headers = { Authorization = \"Bearer x\" }",
        ),
        source("e", "https://example.com/f?key=secret", "enabled = false"),
        source("f", "https://example.com/f?key=secret#latest", ""),
    ]);
    assert_eq!(twice.len(), 1, "{twice:?}");
    assert!(
        twice[0].starts_with("sources \"a\", \"b\", \"c\" and \"f\" poll the same URL"),
        "{twice:?}"
    );
    assert!(twice[0].contains("fetches it 4 times"), "{twice:?}");
    assert!(twice.iter().all(|w| !w.contains("secret")), "{twice:?}");
    let pair = warnings(&[
        source("a", "https://example.com/f", ""),
        source("b", "https://example.com/f", ""),
    ]);
    assert!(
        pair[0].starts_with("sources \"a\" and \"b\" poll the same URL")
            && pair[0].contains("fetches it twice"),
        "{pair:?}"
    );
    // Hundreds of the same feed: one line, a few names.
    let many: Vec<String> = (0..500)
        .map(|i| source(&format!("s{i}"), "https://example.com/f", ""))
        .collect();
    let many = warnings(&many);
    assert_eq!(many.len(), 1, "{many:?}");
    assert!(
        many[0].starts_with("sources \"s0\", \"s1\", \"s2\", \"s3\", \"s4\" and 495 more poll"),
        "{many:?}"
    );
}

#[test]
fn one_refused_value_is_one_problem_not_a_cascade() {
    // Each typo would also have failed the rules that compare it with other keys, against
    // the stand-in used in its place.
    for (section, only) in [
        (
            "[schedule]\nmax_interval = \"abc\"\n",
            "schedule.max_interval: \"abc\" is not a duration",
        ),
        (
            "[schedule]\nmin_interval = \"2h\"\nmax_interval = \"1h\"\n",
            "schedule.min_interval: 2h is longer than schedule.max_interval (1h)",
        ),
        (
            "[fetch]\ntimeout = \"-5s\"\n",
            "fetch.timeout: \"-5s\" is not a duration",
        ),
    ] {
        let toml = format!(
            "[store]\npath = \"STORE\"\n{section}[[sources]]\nname = \"a\"\n\
             url = \"https://example.com/f\"\ninterval = \"2h\"\n"
        );
        let found = problems(load(&toml, &[]));
        assert_eq!(found.len(), 1, "{section}: {found:?}");
        assert!(found[0].starts_with(only), "{section}: {found:?}");
    }
    // A source's interval is still checked against bounds that are sound.
    let found = problems(load(
        "[store]\npath = \"STORE\"\n[[sources]]\nname = \"a\"\nurl = \"https://example.com/f\"\ninterval = \"30h\"\n",
        &[],
    ));
    assert!(
        found.len() == 1 && found[0].contains("outside schedule bounds"),
        "{found:?}"
    );
}

#[test]
fn a_token_is_visible_ascii_of_16_characters_or_more() {
    let with = |token: &str| {
        load(
            &format!("[store]\npath = \"STORE\"\n[http]\ntoken = \"{token}\"\n"),
            &[],
        )
    };
    assert!(with("0123456789abcdef-+/=").is_ok());
    for bad in [
        "short-token",
        "ünïcødé-tøkèn-0123",
        "with a space 0123456789",
    ] {
        let found = problems(with(bad));
        assert!(
            found.len() == 1
                && found[0].starts_with("http.token: must be at least 16 visible ASCII"),
            "{bad}: {found:?}"
        );
        assert!(!found[0].contains(bad), "the token is not echoed");
    }
}

#[test]
fn a_message_is_shown_without_control_characters_and_cut() {
    assert_eq!(shown_message("plain: ok"), "plain: ok");
    assert_eq!(
        shown_message("tag </ti\u{1b}[31m>\nFAKE\u{202e}x https://u:pw@h.example/f?token=T"),
        "tag </ti\\u{1b}[31m>\\nFAKE\\u{202e}x https://u:xxxxx@h.example/f?token=xxxxx"
    );
    let long = format!("é{}", "Z".repeat(5000));
    let shown = shown_message(&long);
    assert!(shown.len() <= MESSAGE_MAX_BYTES + 32, "{}", shown.len());
    assert!(
        shown.ends_with(&format!("… ({} bytes more)", long.len() - 1024)),
        "{shown}"
    );
}

/// A problem between two keys gives both values, and the default when one was not set:
/// `fetch.timeout = "8s"` alone clashed with the 10 s default of a key the file never named.
#[test]
fn a_clash_between_two_keys_names_both_values() {
    let with = |section: &str| {
        problems(load(
            &format!(
                "[store]\npath = \"STORE\"\n{section}[[sources]]\nname = \"a\"\n\
                 url = \"https://example.com/f\"\n"
            ),
            &[],
        ))
    };
    assert_eq!(
        with("[fetch]\ntimeout = \"8s\"\n"),
        ["fetch.connect_timeout: 10s is longer than fetch.timeout (8s): it must not be (its default is 10s)"]
    );
    // Durations as an operator writes them, not `1month 13h 26m 24s`.
    let p = with("[dedup]\nwindow = \"31d\"\n");
    assert!(
        p.iter()
            .any(|p| p.starts_with("store.retention: must not be shorter than dedup.window (31d)")),
        "{p:?}"
    );
    assert_eq!(
        with("[schedule]\nmax_backoff = \"30s\"\n"),
        ["schedule.max_backoff: 30s is shorter than schedule.min_interval (1m): it must not be"]
    );
    use super::validate::shown_duration;
    for (secs, shown) in [
        (90, "90s"),
        (120, "2m"),
        (7200, "2h"),
        (86_400 * 365, "365d"),
    ] {
        assert_eq!(shown_duration(std::time::Duration::from_secs(secs)), shown);
    }
    assert_eq!(
        shown_duration(std::time::Duration::from_millis(1500)),
        "1s 500ms"
    );
}

/// `dedup.simhash_max_distance` accepts a candidate whatever its similarity: past 12 bits,
/// unrelated stories of one length folded (32 was allowed).
#[test]
fn a_simhash_distance_that_folds_unrelated_stories_is_refused() {
    let with = |d: u32| {
        load(
            &format!("{GOOD}\n[dedup]\nsimhash_max_distance = {d}\n"),
            &[],
        )
    };
    assert_eq!(with(12).unwrap().dedup.simhash_max_distance, 12);
    let p = problems(with(13));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("dedup.simhash_max_distance: 13 is out of range; allowed: 0 to 12"),
        "{p:?}"
    );
}

/// The scheduler holds the enabled sources; while every source is enabled it shares the
/// list instead of a second copy of it.
#[test]
fn the_scheduler_shares_the_source_list_while_every_source_is_enabled() {
    let toml = "[[sources]]\nname = \"a\"\nurl = \"https://a.example/feed\"\n\
                [[sources]]\nname = \"b\"\nurl = \"https://b.example/feed\"\n";
    let mut c = load(toml, &[]).unwrap();
    let live = LiveSources::new(std::mem::take(&mut c.sources), c.schedule.clone(), 0);
    let now = live.get();
    assert!(Arc::ptr_eq(&now.enabled_list(), &now.list));

    let mut c = load(&format!("{toml}enabled = false\n"), &[]).unwrap();
    let next = LiveSources::prepare(std::mem::take(&mut c.sources), c.schedule.clone());
    live.install(next, 1);
    let now = live.get();
    let enabled = now.enabled_list();
    assert!(!Arc::ptr_eq(&enabled, &now.list));
    let names: Vec<&str> = enabled.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a"]);
}

/// A problem of a key checked against another that a variable set names the variable: the
/// file alone does not explain it.
#[test]
fn a_bound_set_by_the_environment_is_named_where_it_refuses_a_key() {
    let p = problems(load(GOOD, &[("WIREFOLD_SCHEDULE__MIN_INTERVAL", "15m")]));
    assert!(
        p.iter().any(|p| p.contains("10m is outside schedule bounds; allowed: 15m to 6h \
             (schedule.min_interval set by the environment variable WIREFOLD_SCHEDULE__MIN_INTERVAL)")),
        "{p:?}"
    );
    let p = problems(load(GOOD, &[("WIREFOLD_DEDUP__WINDOW", "40d")]));
    assert!(
        p.iter().any(|p| p
            .starts_with("store.retention: must not be shorter than dedup.window (40d)")
            && p.ends_with(
                "(dedup.window set by the environment variable WIREFOLD_DEDUP__WINDOW)"
            )),
        "{p:?}"
    );
    // Set in the file: nothing more said.
    let p = problems(load(
        &GOOD.replace("[store]", "[dedup]\nwindow = \"40d\"\n[store]"),
        &[],
    ));
    assert!(p.iter().all(|p| !p.contains("environment")), "{p:?}");
    // Only the variable that did it: a value bad in itself, or outside the other bound.
    let p = problems(load(
        &GOOD.replace("interval = \"10m\"", "interval = \"abc\""),
        &[("WIREFOLD_SCHEDULE__MIN_INTERVAL", "15m")],
    ));
    assert!(p.iter().all(|p| !p.contains("environment")), "{p:?}");
    let p = problems(load(
        &GOOD.replace("interval = \"10m\"", "interval = \"10s\""),
        &[("WIREFOLD_SCHEDULE__MAX_INTERVAL", "12h")],
    ));
    assert!(p.iter().all(|p| !p.contains("environment")), "{p:?}");
    let p = problems(load(
        GOOD,
        &[
            ("WIREFOLD_DEDUP__WINDOW", "40d"),
            ("WIREFOLD_STORE__RETENTION", "banana"),
        ],
    ));
    assert!(
        p.iter().all(|p| !p.contains("dedup.window set by")),
        "{p:?}"
    );
    // Any key the message names: the default interval within bounds a variable moved.
    let p = problems(load(
        &GOOD.replace("interval = \"10m\"", "interval = \"2h\""),
        &[("WIREFOLD_SCHEDULE__MIN_INTERVAL", "30m")],
    ));
    assert!(
        p.iter().any(|p| p.starts_with("schedule.default_interval")
            && p.ends_with("(schedule.min_interval set by the environment variable WIREFOLD_SCHEDULE__MIN_INTERVAL)")),
        "{p:?}"
    );
}

/// Two names apart only in how Unicode spells them show as one in `/status`, the log and
/// `/metrics`: refused, naming the first.
#[test]
fn source_names_that_look_the_same_are_refused() {
    let two = |a: &str, b: &str| {
        problems(load(
            &format!(
                "[store]\npath = \"STORE\"\n\
                 [[sources]]\nname = \"{a}\"\nurl = \"https://a.example/f\"\n\
                 [[sources]]\nname = \"{b}\"\nurl = \"https://b.example/f\"\n"
            ),
            &[],
        ))
    };
    for (a, b) in [
        ("Caf\\u00e9", "Cafe\\u0301"),
        ("news", "news\\u200b"),
        ("news", "ne\\u00adws"),
        ("news", "news\\u3164"),
        ("news", "news\\U000E0001"),
        ("news", "news\\u2800"),
    ] {
        let p = two(a, b);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("looks the same as sources[0].name")
                && p[0].contains("another Unicode form"),
            "{p:?}"
        );
    }
    let p = two("news", "news");
    assert!(
        p[0].ends_with("duplicate source name; every name must be unique"),
        "{p:?}"
    );
    // Joiners change how letters join and emoji combine: names apart.
    for (a, b) in [
        (
            "\\u0645\\u06cc\\u200c\\u062e\\u0648\\u0627\\u0647\\u0645",
            "\\u0645\\u06cc\\u062e\\u0648\\u0627\\u0647\\u0645",
        ),
        (
            "\\U0001F468\\u200d\\U0001F469 family",
            "\\U0001F468\\U0001F469 family",
        ),
    ] {
        let p = problems(load(
            &format!(
                "[store]\npath = \"STORE\"\n[[sources]]\nname = \"{a}\"\nurl = \"https://a.example/f\"\n\
                 [[sources]]\nname = \"{b}\"\nurl = \"https://b.example/f\"\n\
                 [[sources]]\nname = \"x\"\nurl = \"not a url\"\n"
            ),
            &[],
        ));
        assert!(p.iter().all(|p| !p.contains("looks the same")), "{p:?}");
    }
    // A name of invisible characters alone shows as nothing in the log, /status and
    // /metrics; one joiner between letters is a name like any other.
    for (name, refused) in [
        ("\\u200b", true),
        ("\\u200b\\u00ad \\u2060", true),
        ("\\u200d", true),
        ("\\u3164\\U000E0041", true),
        ("\\ufe0f", true),
        ("\\u2800\\u2800", true),
        ("a\\u200db", false),
    ] {
        let p = problems(load(
            &format!(
                "[store]\npath = \"STORE\"\n[[sources]]\nname = \"{name}\"\n\
                 url = \"https://a.example/f\"\n\
                 [[sources]]\nname = \"x\"\nurl = \"not a url\"\n"
            ),
            &[],
        ));
        let shown = p
            .iter()
            .any(|p| p.starts_with("sources[0].name") && p.contains("only invisible characters"));
        assert_eq!(shown, refused, "{name:?}: {p:?}");
    }
    // Letters apart are names apart, in any case.
    assert!(load(
        "[store]\npath = \"STORE\"\n[[sources]]\nname = \"News\"\nurl = \"https://a.example/f\"\n\
         [[sources]]\nname = \"news\"\nurl = \"https://b.example/f\"\n",
        &[]
    )
    .is_ok());
}

/// A reload of a file that holds no settings, or settings but no `[[sources]]` (an editor
/// mid-write, a failed copy, a file read before its sources were written) would drop every
/// source: refused while sources run, with how to mean it. `sources = []` is taken.
#[test]
fn a_reload_of_a_file_without_sources_is_refused_while_sources_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    let store = dir.path().join("db").display().to_string();
    // Four sources in effect, one of them disabled (three would be dropped); and a set whose
    // only source is disabled (nothing polls, nothing to drop).
    let sources = |disabled: &[bool]| {
        let mut text = format!("[store]\npath = {store:?}\n");
        for (i, off) in disabled.iter().enumerate() {
            text += &format!(
                "[[sources]]\nname = \"s{i}\"\nurl = \"./{i}.xml\"\nenabled = {}\n",
                !off
            );
        }
        std::fs::write(&path, text).unwrap();
        Config::load(&path).unwrap().sources
    };
    let (three, idle) = (sources(&[false, false, true, false]), sources(&[true]));
    let again = |text: &str, running: usize| {
        std::fs::write(&path, text).unwrap();
        Config::load_again(&path, if running == 0 { &idle } else { &three })
    };
    for blank in [
        "",
        "\n  \n",
        "# all sources moved to feeds.toml\n\n# [[sources]]\n",
    ] {
        match again(blank, 3) {
            Err(ConfigError::Read { message, .. }) => assert_eq!(
                message,
                "the file holds no settings (it is empty or only comments); not taken, \
                 because it would drop all 3 enabled sources (if that is meant, write `sources = []`)"
            ),
            other => panic!("{blank:?}: {other:?}"),
        }
        // Nothing polls: read as at start (all defaults).
        let first = again(blank, 0);
        assert!(
            !matches!(&first, Err(ConfigError::Read { message, .. }) if message.contains("no settings")),
            "{first:?}"
        );
    }
    let none = again(&format!("sources = []\n[store]\npath = {store:?}\n"), 3).unwrap();
    assert!(none.sources.is_empty());
    // Cut off before its first `[[sources]]`.
    let settings_only = format!("[store]\npath = {store:?}\n[http]\nlisten = \"127.0.0.1:0\"\n");
    match again(&settings_only, 3) {
        Err(ConfigError::Read { message, .. }) => assert_eq!(
            message,
            "the file has no sources (no [[sources]] entry: cut off, or still being written?); \
             not taken, because it would drop all 3 enabled sources (if that is meant, write \
             `sources = []`)"
        ),
        other => panic!("{other:?}"),
    }
    assert!(again(&settings_only, 0).unwrap().sources.is_empty());
    let kept = again(
        &format!("[store]\npath = {store:?}\n[[sources]]\nname = \"a\"\nurl = \"./a.xml\"\n"),
        3,
    )
    .unwrap();
    assert_eq!(kept.sources.len(), 1);
}
