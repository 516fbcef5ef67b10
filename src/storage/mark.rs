//! The durable line's mark outside sled: `durable.line` in the store directory says which
//! change-log position a flush had made durable, and when.
//!
//! sled recovers a prefix of its log without complaint. So a store whose files lost their
//! tail (a damaged or truncated `db`, or an older copy of the files put in their place) opens
//! as an older store, and reading it through finds nothing wrong: every record left is whole.
//! Only something outside sled's files can tell. A store whose change log ends before its
//! mark lost writes it had made durable: it is refused at open ([`StoreError::LostWrites`])
//! rather than served, exported or written on, and the operator decides (a backup, or the
//! mark removed to go on with what is left).
//!
//! Written after each flush that moved the line ([`Store::flush`]): to a temporary file,
//! renamed over the old one, without an fsync. The flush made sled's files durable first,
//! so after a crash the mark can lag the store, never lead it. A mark that does not read (a
//! crash cut it short) is ignored with a warning and written again at the next flush. The
//! change log's end never moves back: retention keeps the newest position it pruned
//! (`changes_pruned_through`). Backups copy sled's files only, so a store restored from one
//! has no mark until its first flush.

use std::fs;
use std::io;
use std::path::Path;

use super::{Millis, Result, StoreError};

/// File name in the store directory.
pub const MARK_FILE: &str = "durable.line";
const TMP: &str = "durable.line.tmp";
const FIRST_LINE: &str = "wirefold durable line";

/// What a mark says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mark {
    /// The change-log position a flush had made durable.
    pub seq: u64,
    /// When (Unix ms).
    pub at: Millis,
}

/// Writes the mark of `seq`, made durable by a flush at `at`, into the store directory `dir`;
/// a failure names the file it failed on (the temporary one, or the mark).
pub(super) fn write(dir: &Path, seq: u64, at: Millis) -> Result<(), String> {
    let (tmp, mark) = (dir.join(TMP), dir.join(MARK_FILE));
    fs::write(&tmp, format!("{FIRST_LINE}\nseq {seq}\nat {at}\n"))
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    fs::rename(&tmp, &mark)
        .map_err(|e| format!("renaming {} to {}: {e}", tmp.display(), mark.display()))
}

/// The mark in `dir`: `Ok(None)` when there is none, `Err` saying why one does not read.
pub(super) fn read(dir: &Path) -> Result<Option<Mark>, String> {
    let Some(text) = read_text(&dir.join(MARK_FILE))? else {
        return Ok(None);
    };
    parse(&text)
        .map(Some)
        .ok_or_else(|| format!("not a mark of this form: {text:.80?}"))
}

/// The text of the line file at `path` (this mark, or `ids.line`): `Ok(None)` when there is
/// none, `Err` saying why it does not read.
pub(super) fn read_text(path: &Path) -> Result<Option<String>, String> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn parse(text: &str) -> Option<Mark> {
    let mut lines = text.lines();
    if lines.next()? != FIRST_LINE {
        return None;
    }
    let seq = lines.next()?.strip_prefix("seq ")?.parse().ok()?;
    let at = lines.next()?.strip_prefix("at ")?.parse().ok()?;
    Some(Mark { seq, at })
}

/// Checks the store in `dir` (named `shown`), whose change log ends at `end`, against its
/// mark; returns the position the mark holds (0 without one) or
/// [`StoreError::LostWrites`].
pub(super) fn check(dir: &Path, shown: &str, end: Option<u64>) -> Result<u64> {
    match read(dir) {
        Ok(Some(mark)) if end.is_none_or(|end| end < mark.seq) => Err(StoreError::LostWrites {
            path: shown.to_owned(),
            end,
            seq: mark.seq,
            flushed_at: chrono::DateTime::from_timestamp_millis(mark.at)
                .map_or_else(|| format!("{} ms", mark.at), |t| t.to_rfc3339()),
            mark: dir.join(MARK_FILE).display().to_string(),
        }),
        Ok(mark) => Ok(mark.map_or(0, |m| m.seq)),
        Err(why) => {
            tracing::warn!(
                file = %dir.join(MARK_FILE).display(),
                reason = %why,
                "the store's durable line mark does not read (a crash while it was written?): \
                 not checked this time; the next flush writes it again"
            );
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_reads_back_and_a_cut_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), Ok(None));
        write(dir.path(), 42, 1_700_000_000_000).unwrap();
        let mark = Mark {
            seq: 42,
            at: 1_700_000_000_000,
        };
        assert_eq!(read(dir.path()), Ok(Some(mark)));
        assert!(!dir.path().join(TMP).exists());
        // A write that fails says on which file: here the temporary one.
        std::fs::create_dir(dir.path().join(TMP)).unwrap();
        let e = write(dir.path(), 43, 1_700_000_000_000).unwrap_err();
        assert!(
            e.starts_with(&format!("writing {}", dir.path().join(TMP).display())),
            "{e}"
        );
        std::fs::remove_dir(dir.path().join(TMP)).unwrap();
        for cut in [
            "",
            "wirefold durable line\nseq 4",
            "wirefold durable line\nseq x\nat 1\n",
        ] {
            std::fs::write(dir.path().join(MARK_FILE), cut).unwrap();
            assert!(read(dir.path()).is_err(), "{cut:?}");
            // Not checked: the store opens.
            assert_eq!(check(dir.path(), "s", None).unwrap(), 0);
        }
    }

    #[test]
    fn a_log_that_ends_before_the_mark_lost_writes() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 42, 1_700_000_000_000).unwrap();
        assert_eq!(check(dir.path(), "s", Some(42)).unwrap(), 42);
        assert_eq!(check(dir.path(), "s", Some(50)).unwrap(), 42);
        for end in [Some(41), None] {
            let e = check(dir.path(), "s", end).unwrap_err();
            assert!(matches!(e, StoreError::LostWrites { seq: 42, .. }), "{e}");
            let said = e.to_string();
            assert!(
                said.contains("2023-11-14T22:13:20+00:00")
                    && said.contains(&dir.path().join(MARK_FILE).display().to_string()),
                "{said}"
            );
        }
    }
}
