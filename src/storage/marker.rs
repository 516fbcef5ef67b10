//! Whether the daemon's previous run on a store stopped cleanly: a file `wirefold.running` in
//! the store directory while a daemon runs on it, removed by its clean stop. Found at the
//! next start, it says the previous run ended otherwise (killed, crashed, power lost, a
//! second stop signal): sled then recovered the store from its log, and the writes of that
//! run's last `store.flush_every` may be missing (the polls fetch them again). Backups copy
//! sled's files only, so a restored store carries no marker.
//!
//! The daemon also writes the address it bound: `wirefold health-check` and `stats` ask
//! that one ([`listening`]), not `http.listen` as the file says now, which may have been
//! edited for the next restart (or be port 0, chosen at start).

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The marker's file name in the store directory.
pub const RUNNING_FILE: &str = "wirefold.running";

/// How the previous run on the store ended, as the marker tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousRun {
    /// It stopped cleanly, or there was none.
    Clean,
    /// It did not stop cleanly: the marker it left, with what it recorded of itself.
    Unclean {
        /// When that run started (Unix milliseconds), if the marker says.
        started: Option<i64>,
        /// Its process id, if the marker says.
        pid: Option<u32>,
    },
}

/// The marker of the running daemon; [`RunMarker::release`] at a clean stop removes it.
#[derive(Debug)]
pub struct RunMarker {
    path: PathBuf,
}

impl RunMarker {
    /// Reads the marker a previous run left in `store_dir`, then writes this run's (`pid`,
    /// `started` in Unix milliseconds, and the address its HTTP server `listen`s on, if it
    /// serves).
    pub fn claim(
        store_dir: &Path,
        pid: u32,
        started: i64,
        listen: Option<SocketAddr>,
    ) -> io::Result<(RunMarker, PreviousRun)> {
        let path = store_dir.join(RUNNING_FILE);
        // Any marker is an unclean stop, whatever its bytes: one that is no UTF-8 failed the
        // read, was never replaced, and every later stop looked clean.
        let previous = match fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let mut words = text.split_whitespace();
                let pid = words.next().and_then(|w| w.parse().ok());
                let started = words.next().and_then(|w| w.parse().ok());
                PreviousRun::Unclean { started, pid }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => PreviousRun::Clean,
            Err(e) => return Err(e),
        };
        let listen = listen.map(|a| format!(" {a}")).unwrap_or_default();
        fs::write(&path, format!("{pid} {started}{listen}\n"))?;
        Ok((RunMarker { path }, previous))
    }

    /// Removes the marker: the run stopped cleanly.
    pub fn release(self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// The address the daemon running on `store_dir` bound, as its marker says; `None` when no
/// daemon marks the store (stopped, or `wirefold once`) or the marker cannot be read. After an
/// unclean stop the marker names an address nobody listens on any more, and the question
/// fails as it would have.
pub fn listening(store_dir: &Path) -> Option<SocketAddr> {
    let text = fs::read_to_string(store_dir.join(RUNNING_FILE)).ok()?;
    text.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_did_not_release_its_marker_is_told_at_the_next_claim() {
        let dir = tempfile::tempdir().unwrap();
        let (first, previous) = RunMarker::claim(dir.path(), 41, 1_000, None).unwrap();
        assert_eq!(previous, PreviousRun::Clean);
        first.release().unwrap();
        let (_killed, previous) = RunMarker::claim(dir.path(), 42, 2_000, None).unwrap();
        assert_eq!(previous, PreviousRun::Clean);
        // The run of pid 42 never released its marker.
        let (next, previous) = RunMarker::claim(dir.path(), 43, 3_000, None).unwrap();
        assert_eq!(
            previous,
            PreviousRun::Unclean {
                started: Some(2_000),
                pid: Some(42)
            }
        );
        next.release().unwrap();
        assert!(!dir.path().join(RUNNING_FILE).exists());
        // A marker that says nothing readable still says the run did not stop cleanly.
        for garbage in [&b"garbage"[..], b"garbage\x00\xff"] {
            fs::write(dir.path().join(RUNNING_FILE), garbage).unwrap();
            let (_, previous) = RunMarker::claim(dir.path(), 44, 4_000, None).unwrap();
            assert_eq!(
                previous,
                PreviousRun::Unclean {
                    started: None,
                    pid: None
                }
            );
            assert_eq!(
                fs::read_to_string(dir.path().join(RUNNING_FILE)).unwrap(),
                "44 4000\n",
                "replaced by this run's"
            );
        }
    }

    #[test]
    fn the_marker_names_the_address_the_daemon_bound() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(listening(dir.path()), None);
        let addr: SocketAddr = "127.0.0.1:41234".parse().unwrap();
        let (marker, _) = RunMarker::claim(dir.path(), 45, 5_000, Some(addr)).unwrap();
        assert_eq!(listening(dir.path()), Some(addr));
        marker.release().unwrap();
        assert_eq!(listening(dir.path()), None);
        // `wirefold once` serves nothing; an older marker has two words.
        let (marker, previous) = RunMarker::claim(dir.path(), 46, 6_000, None).unwrap();
        assert_eq!(previous, PreviousRun::Clean);
        assert_eq!(listening(dir.path()), None);
        drop(marker);
        let (_, previous) = RunMarker::claim(dir.path(), 47, 7_000, Some(addr)).unwrap();
        assert_eq!(
            previous,
            PreviousRun::Unclean {
                started: Some(6_000),
                pid: Some(46)
            }
        );
    }
}
