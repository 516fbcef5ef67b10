//! The ids a store handed out, bounded outside sled: `ids.line` in the store directory says
//! that no id (article, story or change-log position) at or past its number was handed out.
//!
//! A restore puts an older copy of the store in place, whose id generator is where the
//! backup left it. Without more, the restored store hands out again, a restart or two later,
//! the ids the replaced store had given articles, stories and change-feed cursors since the
//! backup: a follower's cursor then read as a position in the new log, and an article's id
//! named another article. The restore reads this line from the store it replaces (a file
//! of its own, so a store too damaged for sled to open still tells) and moves the restored
//! store's ids past it ([`super::Store::move_ids_past`]).
//!
//! Written before the first id of each open is handed out, and again before the ids reach
//! it, [`RESERVE`] further each time: to a temporary file, synced, renamed over the old one
//! and the directory synced, so that after a crash the line never lags an id that was
//! handed out. Backups copy sled's files only; a restored store writes its own line at its
//! first id.

use std::fs;
use std::path::Path;

/// File name in the store directory.
pub const IDS_FILE: &str = "ids.line";
const TMP: &str = "ids.line.tmp";
const FIRST_LINE: &str = "wirefold ids below";

/// The highest line a restore takes from a store it replaces: 2^53, the largest integer
/// JSON readers that parse numbers as doubles (JavaScript) read exactly, which the ids a
/// store hands out stay far below (sled's generator moves two million per restart). One
/// past it was not written by a store.
pub(super) const MAX_ID: u64 = 1 << 53;

/// How many ids past the one handed out the line is written at: one write (two fsyncs) per
/// this many ids, and one per open.
pub(super) const RESERVE: u64 = 1 << 20;

/// Writes the line `below` into the store directory `dir`; a failure names the file it failed
/// on.
pub(super) fn write(dir: &Path, below: u64) -> Result<(), String> {
    let (tmp, line) = (dir.join(TMP), dir.join(IDS_FILE));
    fs::write(&tmp, format!("{FIRST_LINE}\n{below}\n"))
        .and_then(|()| fs::File::open(&tmp)?.sync_all())
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    fs::rename(&tmp, &line)
        .map_err(|e| format!("renaming {} to {}: {e}", tmp.display(), line.display()))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("syncing {}: {e}", dir.display()))
}

/// The line in `dir`: `Ok(None)` when there is none, `Err` saying why one does not read.
pub(super) fn read(dir: &Path) -> Result<Option<u64>, String> {
    let Some(text) = super::mark::read_text(&dir.join(IDS_FILE))? else {
        return Ok(None);
    };
    let mut lines = text.lines();
    let below = (lines.next() == Some(FIRST_LINE))
        .then(|| lines.next()?.parse().ok())
        .flatten();
    below
        .map(Some)
        .ok_or_else(|| format!("not a line of this form: {text:.80?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_back_and_a_cut_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), Ok(None));
        write(dir.path(), 1 << 40).unwrap();
        assert_eq!(read(dir.path()), Ok(Some(1 << 40)));
        assert!(!dir.path().join(TMP).exists());
        std::fs::create_dir(dir.path().join(TMP)).unwrap();
        let e = write(dir.path(), 7).unwrap_err();
        assert!(
            e.starts_with(&format!("writing {}", dir.path().join(TMP).display())),
            "{e}"
        );
        std::fs::remove_dir(dir.path().join(TMP)).unwrap();
        assert_eq!(read(dir.path()), Ok(Some(1 << 40)));
        for cut in [
            "",
            "wirefold ids below\n",
            "wirefold ids below\n12x\n",
            "12\n",
        ] {
            std::fs::write(dir.path().join(IDS_FILE), cut).unwrap();
            assert!(read(dir.path()).is_err(), "{cut:?}");
        }
    }
}
