//! Whether the daemon's previous run on a store stopped cleanly: a file `wirefold.running` in
//! the store directory while a daemon runs on it, removed by its clean stop. Found at the
//! next start, it says the previous run ended otherwise (killed, crashed, power lost, a
//! second stop signal): sled then recovered the store from its log, and the writes of that
//! run's last `store.flush_every` may be missing (the polls fetch them again). Backups copy
//! sled's files only, so a restored store carries no marker.

use std::fs;
use std::io;
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
    /// `started` in Unix milliseconds).
    pub fn claim(store_dir: &Path, pid: u32, started: i64) -> io::Result<(RunMarker, PreviousRun)> {
        let path = store_dir.join(RUNNING_FILE);
        let previous = match fs::read_to_string(&path) {
            Ok(text) => {
                let mut words = text.split_whitespace();
                let pid = words.next().and_then(|w| w.parse().ok());
                let started = words.next().and_then(|w| w.parse().ok());
                PreviousRun::Unclean { started, pid }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => PreviousRun::Clean,
            Err(e) => return Err(e),
        };
        fs::write(&path, format!("{pid} {started}\n"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_did_not_release_its_marker_is_told_at_the_next_claim() {
        let dir = tempfile::tempdir().unwrap();
        let (first, previous) = RunMarker::claim(dir.path(), 41, 1_000).unwrap();
        assert_eq!(previous, PreviousRun::Clean);
        first.release().unwrap();
        let (_killed, previous) = RunMarker::claim(dir.path(), 42, 2_000).unwrap();
        assert_eq!(previous, PreviousRun::Clean);
        // The run of pid 42 never released its marker.
        let (next, previous) = RunMarker::claim(dir.path(), 43, 3_000).unwrap();
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
        fs::write(dir.path().join(RUNNING_FILE), "garbage").unwrap();
        let (_, previous) = RunMarker::claim(dir.path(), 44, 4_000).unwrap();
        assert_eq!(
            previous,
            PreviousRun::Unclean {
                started: None,
                pid: None
            }
        );
    }
}
