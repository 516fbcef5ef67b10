//! Command line: bootstrap flags only (which config, which command); everything else lives in
//! the configuration file.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

/// wirefold: polls news feeds and folds near-duplicate wire copies into stories.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Run(ConfigArg),
    /// Validate the configuration; list every problem and exit non-zero if there is one.
    CheckConfig(ConfigArg),
    /// Poll every enabled source once, print a summary per source, and exit.
    Once(ConfigArg),
    /// Print every stored article as JSON Lines on stdout (the daemon must be stopped).
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// Only articles first seen at or after TIME: RFC 3339 (2024-05-01T00:00:00Z), a date
        /// (2024-05-01) or an age such as 24h or 7d.
        #[arg(long, value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
    },
    /// Print each entry of a feed file as the ingest normalizes it with the configured
    /// boilerplate rules (display and fingerprint texts), as JSON Lines; nothing is stored.
    Normalize {
        #[command(flatten)]
        config: ConfigArg,
        /// An RSS, Atom or JSON Feed file.
        #[arg(value_name = "FEED_FILE")]
        file: PathBuf,
    },
    /// Print `[[sources]]` entries for the feeds of an OPML file (a feed reader's export) on
    /// stdout, to append to the configuration; feeds already configured are left out, and
    /// what is left out is listed on stderr.
    ImportOpml {
        #[command(flatten)]
        config: ConfigArg,
        /// Give every imported source this interval (e.g. 30m) instead of leaving it to
        /// schedule.default_interval.
        #[arg(long)]
        interval: Option<String>,
        /// The OPML file.
        #[arg(value_name = "OPML_FILE")]
        file: PathBuf,
    },
    /// Print the configured sources as an OPML subscription list on stdout, for another
    /// feed reader (or another wirefold's import-opml).
    ExportOpml(ConfigArg),
    /// Print the running daemon's status summary (from its /status).
    Stats {
        #[command(flatten)]
        daemon: DaemonArg,
        /// Show only this source, whatever its state (with more than 1,000 sources the
        /// summary lists only the failing ones).
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
    /// Ask the running daemon to poll a source now instead of at its scheduled time (after
    /// its feed was fixed, when the next try is hours away in back-off).
    PollNow {
        #[command(flatten)]
        daemon: DaemonArg,
        /// Answer as soon as the poll has started, instead of with its outcome.
        #[arg(long)]
        no_wait: bool,
        /// The source's name, as configured.
        #[arg(value_name = "SOURCE")]
        source: String,
    },
    /// Ask the running daemon for a backup of its store: a consistent copy under
    /// store.backup_dir, made while it runs (ingest waits for the copy). With --offline, the
    /// daemon stopped, copy the store's files there directly.
    Backup {
        #[command(flatten)]
        daemon: DaemonArg,
        /// The daemon is stopped: copy the store's files as they are (never opened, so an
        /// older wirefold's store keeps its schema: a backup before an upgrade). Refused while
        /// a process has the store open.
        #[arg(long)]
        offline: bool,
    },
    /// Put a backup (a directory `wirefold backup` wrote) in place of the configured store;
    /// the daemon must be stopped. The backup is checked by opening a copy of it first; the
    /// store it replaces is kept beside it as STORE.replaced-TIME.
    Restore {
        #[command(flatten)]
        config: ConfigArg,
        /// The backup's directory, e.g. /var/lib/wirefold/store.backups/wirefold-20260303T020000Z.
        #[arg(value_name = "BACKUP_DIR")]
        backup: PathBuf,
    },
    /// Rewrite the configured store into a file holding only its live data, the daemon
    /// stopped: sled's file grows under retention, and does not shrink by itself. The copy
    /// is checked against the store before it replaces it; the store as it was is removed
    /// then (kept as STORE.replaced-TIME with --keep-old).
    Compact {
        #[command(flatten)]
        config: ConfigArg,
        /// Keep the store as it was beside the compacted one, as STORE.replaced-TIME.
        #[arg(long)]
        keep_old: bool,
    },
    /// Measure folding quality and speed on labeled sets (see `wirefold::eval`).
    Eval(crate::eval::command::EvalArgs),
    /// Exit 0 if the daemon's /healthz answers OK (for container health checks).
    HealthCheck {
        #[command(flatten)]
        config: ConfigArg,
        /// The health URL, or the daemon's base URL (then /healthz is asked) [default:
        /// /healthz at the configuration's http.listen].
        #[arg(long)]
        url: Option<String>,
    },
}

/// How a client command reaches the running daemon: `--url` and `--token`, else the
/// configuration's `http.listen` and `http.token`.
#[derive(Debug, clap::Args)]
pub struct DaemonArg {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The daemon's base URL [default: from the configuration's http.listen].
    #[arg(long)]
    pub url: Option<String>,
    /// Bearer token, when the daemon has `http.token` set [default: the configuration's].
    #[arg(long, env = "WIREFOLD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// `--config PATH`, else `WIREFOLD_CONFIG`, else `./config/wirefold.toml`.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Configuration file.
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Parses `--since`.
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(age) = humantime::parse_duration(s) {
        return chrono::Duration::from_std(age)
            .ok()
            .and_then(|age| Utc::now().checked_sub_signed(age))
            .ok_or_else(|| format!("\"{s}\" reaches back before any time wirefold can store"));
    }
    Err(format!(
        "\"{s}\" is not a time; use RFC 3339 (2024-05-01T00:00:00Z), a date (2024-05-01) or an age (24h, 7d)"
    ))
}

/// `n` and its noun in the right number, for every line a person reads ("1 source",
/// "2 sources", "1 copy", "3 copies").
pub fn counted(n: u64, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// What `wirefold stats` and the page say of a network that is down, after "down": since
/// when, what every source did, how many are held and the next probe (`?` for a time not
/// known). One wording for both.
pub fn network_down(down_since: Option<&str>, held: usize, next_probe: Option<&str>) -> String {
    format!(
        "since {}: every source failed at once; {} held back until a probe gets through \
         (next {})",
        down_since.unwrap_or("?"),
        counted(held as u64, "source", "sources"),
        next_probe.unwrap_or("?"),
    )
}

/// `--token` (or `WIREFOLD_TOKEN`): trimmed as `http.token` is, and visible ASCII, as an HTTP
/// header carries it. A line break (a `WIREFOLD_TOKEN` read from a file written on Windows)
/// failed at the request as "builder error: failed to parse header value". Checked here
/// rather than by clap, whose refusal quotes the value: a secret is never shown.
pub fn parse_token(raw: &str) -> Result<String, String> {
    let token = raw.trim();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "--token (or WIREFOLD_TOKEN): a token is visible ASCII characters only \
                    (letters, digits, punctuation), with no space or line break inside; \
                    the value is not shown here"
                .into(),
        );
    }
    Ok(token.to_owned())
}

/// Writes one line to stdout. A closed stdout (`wirefold eval | head`) is returned as the
/// error it is, where `println!` panics.
pub fn say(line: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}")
}

/// Writes one line to stderr. A closed stderr loses the line, where `eprintln!` panics.
pub fn note(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_right_number() {
        assert_eq!(counted(0, "copy", "copies"), "0 copies");
        assert_eq!(counted(1, "copy", "copies"), "1 copy");
        assert_eq!(counted(2, "story", "stories"), "2 stories");
    }

    #[test]
    fn since_accepts_three_forms() {
        assert_eq!(
            parse_since("2024-05-01T00:00:00Z").unwrap().timestamp(),
            1_714_521_600
        );
        assert_eq!(
            parse_since("2024-05-01").unwrap().timestamp(),
            1_714_521_600
        );
        let age = Utc::now() - parse_since("24h").unwrap();
        assert!((age.num_seconds() - 86_400).abs() < 5);
        assert!(parse_since("yesterday-ish").is_err());
        // An age past what a time can hold is an argument error, not a panic.
        let err = parse_since("300000y").unwrap_err();
        assert!(err.contains("reaches back before"), "{err}");
    }

    #[test]
    fn a_token_is_trimmed_and_one_no_header_can_carry_is_refused() {
        assert_eq!(parse_token(" s3cret-token\r\n").unwrap(), "s3cret-token");
        for bad in ["a\nb", "tok en", "", "  ", "tökén"] {
            let e = parse_token(bad).unwrap_err();
            assert!(
                e.contains("visible ASCII") && !e.contains(bad.trim()) || bad.trim().is_empty(),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
