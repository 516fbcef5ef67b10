//! The store's errors, and how sled's become them.

use sled::transaction::TransactionError;

use super::SCHEMA_VERSION;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process (usually a running daemon) holds the store's lock.
    #[error("the store at {path} is locked by another process (is the daemon running?)")]
    Locked {
        /// Store directory.
        path: String,
    },
    /// sled reported on-disk corruption.
    #[error("the store{} is damaged ({message}); restore it from a backup, or move it away to start with an empty store", at_path(.path))]
    Corrupt {
        /// Store directory.
        path: String,
        /// What sled or the decoder said.
        message: String,
    },
    /// The store's change log ends before a position a flush had made durable (its mark,
    /// `durable.line`): its files lost writes, though what is left reads whole (`mark.rs`).
    #[error("the store at {path} lost writes it had made durable: its change log ends at {}, but a flush at {flushed_at} had made change {seq} durable ({mark}); its files were damaged or cut short, or an older copy of them was put in their place. Restore a backup (wirefold restore); or, to go on with what is left, remove {mark}", end_of(*.end))]
    LostWrites {
        /// Store directory.
        path: String,
        /// Where its change log ends (`None`: it is empty).
        end: Option<u64>,
        /// The position the mark holds.
        seq: u64,
        /// When the flush that wrote the mark was (RFC 3339).
        flushed_at: String,
        /// The mark's file.
        mark: String,
    },
    /// The store was written by a newer wirefold, or by something else entirely.
    #[error("the store at {path} has schema version {found}; this wirefold reads version {SCHEMA_VERSION} and older (a newer wirefold wrote it: run that one, or restore a backup)")]
    Schema {
        /// Store directory.
        path: String,
        /// Version found on disk.
        found: String,
    },
    /// A backup handed to `restore` is not whole as written (its manifest), or does not
    /// open as a store (damaged, or a newer schema);
    /// nothing was changed.
    #[error("the backup at {path} cannot be restored: {message}; the store was left as it was (restore another backup)")]
    BadBackup {
        /// The backup's directory.
        path: String,
        /// Why it does not open.
        message: String,
    },
    /// `compact` found its copy of the store not the same as the store; nothing was changed.
    #[error("compacting the store at {path} failed: {message}; the store was left as it was")]
    CompactFailed {
        /// Store directory.
        path: String,
        /// What differed.
        message: String,
    },
    /// The store is missing and a `restore` (or `compact`) stopped between moving it aside
    /// and renaming the checked copy into its place, or while copying the backup where there was no
    /// store: nothing is opened, lest an empty store start there.
    #[error("{}", interrupted_restore(path, restored, replaced.as_deref(), *checked, *compaction))]
    InterruptedRestore {
        /// Store directory.
        path: String,
        /// The copy the restore made (`STORE.restoring-TIME`).
        restored: String,
        /// The store it moved aside (`STORE.replaced-TIME`), if that is beside it.
        replaced: Option<String>,
        /// Whether the copy was complete and checked (else it was cut short while copying).
        checked: bool,
        /// Whether the store moved aside is a compaction's (`STORE.discarded-TIME`).
        compaction: bool,
    },
    /// A read or write failed (disk full, permissions, …).
    #[error("store I/O failed: {0}")]
    Io(String),
    /// An earlier write failed; nothing is written until the store is reopened.
    #[error("the store refuses writes since an earlier write failed ({0}); it is reopened once the disk accepts writes again")]
    Faulted(String),
    /// A backup was asked for while another one of this process was under way: refused at
    /// once rather than queued behind it, each waiting on a thread of its own and each
    /// then copying the store again.
    #[error("a backup is under way since {since}; its outcome shows in /status (backups.last)")]
    BackupUnderWay {
        /// When it began (RFC 3339).
        since: String,
    },
    /// A stored record could not be decoded.
    #[error("stored record {tree}/{key} cannot be decoded: {message}")]
    Decode {
        /// Tree name.
        tree: &'static str,
        /// Hex of the key.
        key: String,
        /// Decoder message.
        message: String,
    },
}

fn interrupted_restore(
    path: &str,
    restored: &str,
    replaced: Option<&str>,
    checked: bool,
    compaction: bool,
) -> String {
    if !checked {
        return format!(
            "there is no store at {path}, and a restore was stopped while copying the backup \
             (or is still copying it): {restored} is an unfinished copy; restore the backup \
             again, or remove {restored} to start with an empty store"
        );
    }
    match replaced {
        // A compaction is not run again: there is no store to compact.
        Some(r) if compaction => format!(
            "there is no store at {path}, and a compaction stopped before it finished: \
             {restored} is its checked copy of the compacted store, {r} the store it \
             compacted; rename the one to keep to {path}, or remove {restored} to start with \
             an empty store"
        ),
        Some(r) => format!(
            "there is no store at {path}, and a restore stopped before it finished: \
             {restored} is its checked copy of the backup, {r} the store it replaced; rename \
             the one to keep to {path} (or run the restore again), or remove {restored} to \
             start with an empty store"
        ),
        None => format!(
            "there is no store at {path}, and a restore or compaction stopped before it \
             finished: {restored} is its checked copy (of the backup, or the compacted \
             store); rename it to {path} (or run the restore again), or remove {restored} to \
             start with an empty store"
        ),
    }
}

fn end_of(end: Option<u64>) -> String {
    end.map_or_else(|| "nothing (it is empty)".into(), |e| format!("change {e}"))
}

fn at_path(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { at, .. } => StoreError::Corrupt {
                path: String::new(),
                message: match at {
                    Some(at) => format!("sled found corrupted data at {at:?}"),
                    None => "sled found corrupted data".into(),
                },
            },
            e => StoreError::Io(e.to_string()),
        }
    }
}

impl StoreError {
    /// Names the store directory in a damage report that lacks it.
    pub(crate) fn at(self, shown: &str) -> Self {
        match self {
            StoreError::Corrupt { path, message } if path.is_empty() => StoreError::Corrupt {
                path: shown.to_owned(),
                message,
            },
            e => e,
        }
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => e.into(),
        }
    }
}

/// What a failed [`sled::open`] of the store at `path` means to an operator.
pub(super) fn classify_open_error(path: &str, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::Locked {
                path: path.to_owned(),
            }
        }
        sled::Error::Corruption { at, .. } => StoreError::Corrupt {
            path: path.to_owned(),
            message: match at {
                Some(at) => format!("sled found corrupted data at {at:?}"),
                None => "sled found corrupted data".into(),
            },
        },
        sled::Error::ReportableBug(_) => StoreError::Corrupt {
            path: path.to_owned(),
            message: e.to_string(),
        },
        sled::Error::Io(io) => StoreError::Io(format!("opening {path}: {io}")),
        other => StoreError::Corrupt {
            path: path.to_owned(),
            message: other.to_string(),
        },
    }
}
