//! Online backups: a consistent copy of the store while the daemon runs.
//!
//! sled 0.34 has no snapshot a second process could copy from, and copying the files of an
//! open database gives a torn copy. But the store already knows how to close and reopen its
//! database in place ([`Store::checkpoint`]): every other store call waits on the handle's
//! lock meanwhile. A backup does the same with a copy in between: wait for the handle's
//! other users, flush, close, wait until sled's own threads let go of the files (their file
//! lock), copy sled's files (`conf`, `db`, `blobs/`, `snap.*`) into a new directory, fsync
//! it, rename it into place, and open the database again. The copy is what a stopped daemon
//! leaves on disk, so it opens as any store does (`store.path` pointed at it, or copied back).
//!
//! Store calls wait for the length of the copy (the store's size at the disk's copy speed):
//! async code as tasks, not on the runtime's threads (`closed.rs`). The index snapshot
//! (`index.snapshot`) is not copied,
//! since a store restored from a backup is not the one it was written for: the first start
//! on the copy builds the index from the store.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{ids, mark, Closing, Millis, Result, Store, StoreError};

/// What [`Store::backup`] did.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The new backup's directory.
    pub path: PathBuf,
    /// Bytes copied.
    pub bytes: u64,
    /// How long the store was closed for the copy.
    pub closed_for: Duration,
    /// Older backups removed to keep the configured number.
    pub removed: Vec<PathBuf>,
}

/// Backups are directories named `wirefold-YYYYMMDDTHHMMSSZ` (a suffix when two fall in one
/// second) under the backup root; only those are counted and pruned.
const PREFIX: &str = "wirefold-";
/// A copy in progress, renamed to its name once complete: a crash leaves this, never a
/// half-written backup under a backup's name.
const PARTIAL: &str = ".partial-";
/// Written into a restore's copy (`STORE.restoring-TIME`) once the copy has been opened and
/// checked: a copy without it was cut short while copying, and is no store to keep.
pub(super) const CHECKED: &str = "restore-checked";
/// Written into each backup last: every file copied, with its size and xxh3, which
/// [`restore`] checks before it copies anything. A backup that lost the end of its `db` (an
/// off-host copy or sync that stopped) otherwise opened as a smaller store, and replaced a
/// whole one without a word: sled reads a log cut at a segment's end as a clean end.
/// Backups of wirefolds before it have none, and are restored as before.
pub(super) const MANIFEST: &str = "wirefold-backup.manifest";
/// The manifest's first line.
const MANIFEST_HEAD: &str = "wirefold backup manifest 1";

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How long a backup waits for the store handle's other users before it gives up.
pub const BACKUP_WAIT: Duration = Duration::from_secs(10);

impl Store {
    /// Copies the store into a new directory under `root` (created if missing) and keeps
    /// the `keep` newest backups there, removing older ones. See the module documentation.
    /// The store stays usable whatever happens: a failed copy is removed and the database
    /// opened again; if opening fails, the store records it as its fault, as a failed
    /// write does.
    pub fn backup(&self, root: &Path, keep: usize, wait: Duration) -> Result<BackupReport> {
        self.check_writable()?;
        // One backup at a time in this process, so that pruning may clear what a crash
        // left half-written without touching a copy in progress.
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        fs::create_dir_all(root).map_err(|e| io_error("creating", root, &e))?;
        let name = backup_name(root);

        let closing = Closing::announce(&self.shared);
        let mut slot = self.shared.trees.write().unwrap_or_else(|p| p.into_inner());
        let deadline = Instant::now() + wait;
        loop {
            match slot.as_ref() {
                None => return Err(StoreError::Io("the store is being reopened".into())),
                Some(t) if std::sync::Arc::strong_count(t) == 1 => break,
                Some(_) if Instant::now() >= deadline => {
                    return Err(StoreError::Io(format!(
                        "the store stayed busy for {} s; try again",
                        wait.as_secs()
                    )))
                }
                Some(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        let closed = Instant::now();
        if let Some(t) = slot.as_ref() {
            t.db.flush()?;
        }
        drop(slot.take());
        let copied = wait_for_sled(&self.shared.path)
            .and_then(|()| copy_backup(&self.shared.path, root, &name));
        if let Err(e) = self.open_into(&mut slot) {
            // The copy is whole: it is a backup still (the store may need it now).
            if let Ok((partial, _)) = &copied {
                let _ = finish_backup(root, &name, partial);
            }
            let message = format!("reopening the store after a backup failed: {e}");
            return Err(self.note_fault(StoreError::Io(message)));
        }
        let closed_for = closed.elapsed();
        drop(slot);
        drop(closing);
        let (partial, bytes) = copied?;
        let path = finish_backup(root, &name, &partial)?;
        let removed = prune(root, keep, &path, &self.shared.path)?;
        Ok(BackupReport {
            path,
            bytes,
            closed_for,
            removed,
        })
    }
}

/// Copies the store at `store`, which no process may have open (the daemon stopped), into a
/// new backup under `root` (created if missing), as [`Store::backup`] does for a running
/// daemon, and keeps the `keep` newest backups there. The files are copied as they are,
/// never opened: the store of an older wirefold is backed up in its own schema (a backup
/// before an upgrade), and one a crash left recovers from the copy as it would in place.
/// `closed_for` in the report is the copy's length.
pub fn backup_stopped(store: &Path, root: &Path, keep: usize) -> Result<BackupReport> {
    if !holds_sled_files(store) {
        return Err(StoreError::Io(format!(
            "there is no store at {} to back up (no sled files conf and db in it)",
            store.display()
        )));
    }
    if store.join(super::CREATING_FILE).exists() {
        // Its copy would lack that file, and a restore of it is refused as damaged.
        return Err(StoreError::Io(format!(
            "the store at {} was never finished: its first open was stopped before it \
             was set up, and it holds nothing to back up (the next start sets it up)",
            store.display()
        )));
    }
    // Held until the copy is complete: a daemon started meanwhile cannot open the store.
    let _lock = lock_unused(store)?;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let owner = fs::metadata(store).map_err(|e| io_error("reading", store, &e))?;
    let made_root = !root.exists();
    fs::create_dir_all(root).map_err(|e| io_error("creating", root, &e))?;
    let started = Instant::now();
    let (path, bytes) = write_backup(store, root, &backup_name(root))?;
    let closed_for = started.elapsed();
    // Run as root for a service whose files are its own user's: the daemon must be able to
    // prune this backup, and to write into a directory made here.
    give_owner(&path, &owner)?;
    if made_root {
        let meta = fs::metadata(root).map_err(|e| io_error("reading", root, &e))?;
        set_owner(root, &meta, &owner)?;
    }
    let removed = prune(root, keep, &path, store)?;
    Ok(BackupReport {
        path,
        bytes,
        closed_for,
        removed,
    })
}

/// Copies sled's files of `store` under `root` as the backup `name`: into a partial
/// directory first, renamed to `name` once complete and synced, so that a crash never leaves
/// a half-written copy under a backup's name; a failed copy is removed. The backup's path
/// and the bytes copied.
fn write_backup(store: &Path, root: &Path, name: &str) -> Result<(PathBuf, u64)> {
    let (partial, bytes) = copy_backup(store, root, name)?;
    Ok((finish_backup(root, name, &partial)?, bytes))
}

/// The copy half of [`write_backup`], the part that needs the store closed: the partial
/// directory and the bytes copied.
fn copy_backup(store: &Path, root: &Path, name: &str) -> Result<(PathBuf, u64)> {
    let partial = root.join(format!("{PARTIAL}{name}"));
    match copy_store(store, &partial) {
        Ok(bytes) => Ok((partial, bytes)),
        Err(e) => {
            let _ = fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

/// The rest of [`write_backup`], with the store open again: the [`MANIFEST`] (a read of the
/// whole copy), then the rename to the backup's name.
fn finish_backup(root: &Path, name: &str, partial: &Path) -> Result<PathBuf> {
    let path = root.join(name);
    write_manifest(partial)
        .and_then(|()| {
            fs::rename(partial, &path).map_err(|e| io_error("renaming the copy to", &path, &e))?;
            sync_dir(root)
        })
        .inspect_err(|_| {
            let _ = fs::remove_dir_all(partial);
        })?;
    Ok(path)
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// What the restored store holds.
    pub counts: super::Counts,
    /// Where the store it replaced was moved (`None`: there was none).
    pub replaced: Option<PathBuf>,
    /// Copies that earlier restores of this store left when they were stopped before the
    /// store was replaced, removed by this one.
    pub removed: Vec<PathBuf>,
    /// The first id the restored store hands out, when its ids were moved past those the
    /// replaced store handed out (`None`: they were past them already, or no store was
    /// replaced, or it did not tell).
    pub ids_from: Option<u64>,
    /// Why no store told which ids it handed out (none was there, or it has no line of them,
    /// `ids.line`, nor a durable line that reads): the restored store may hand them out again.
    pub ids_unknown: Option<String>,
}

/// The line of the ids the store at `store` (about to be replaced) handed out: its own
/// (`ids.line`), else one past its durable line's change (`durable.line`, from a wirefold
/// before the ids' line; written without a sync, so with [`ids::RESERVE`] more for the
/// flushes it may lag). Read from those files, not sled's, and whether sled's files are
/// whole or not: the store replaced is often a damaged one. With no store there, the one an
/// interrupted restore or compaction moved aside tells: the newest `STORE.replaced-TIME` or
/// `STORE.discarded-TIME` (the start's refusal names it "the store it replaced" and says
/// "or run the restore again"), and no older one beside it may tell of more. `Err`: why
/// none tells.
fn ids_handed_out(store: &Path) -> std::result::Result<u64, String> {
    if store.is_dir() {
        return ids_handed_out_in(store);
    }
    let mut aside: Vec<PathBuf> = siblings(store, "replaced");
    aside.extend(siblings(store, DISCARDED));
    // By their stamps, which sort as times: the newest last.
    let name = store
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stamp = |p: &PathBuf| {
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        ["replaced", DISCARDED]
            .iter()
            .find_map(|what| n.strip_prefix(&format!("{name}.{what}-")))
            .unwrap_or_default()
            .to_owned()
    };
    aside.sort_by_key(stamp);
    let newest = aside.pop().ok_or_else(|| {
        format!(
            "there is no store at {} to tell (a new host?)",
            store.display()
        )
    })?;
    let below = ids_handed_out_in(&newest)?;
    Ok(aside
        .iter()
        .filter_map(|older| ids_handed_out_in(older).ok())
        .fold(below, u64::max))
}

/// [`ids_handed_out`] of the store directory `dir`.
fn ids_handed_out_in(dir: &Path) -> std::result::Result<u64, String> {
    let shown = dir.display();
    let own = ids::read(dir);
    let below = match own {
        Ok(Some(below)) => below,
        _ => match mark::read(dir) {
            Ok(Some(mark)) => mark.seq.saturating_add(1).saturating_add(ids::RESERVE),
            durable => {
                return Err(match (own, durable) {
                    (Err(why), _) => {
                        format!(
                            "the {} of the store at {shown} does not read ({why})",
                            ids::IDS_FILE
                        )
                    }
                    (_, Err(why)) => format!(
                        "the store at {shown} has no {} and its {} does not read ({why})",
                        ids::IDS_FILE,
                        mark::MARK_FILE
                    ),
                    _ => format!(
                        "the store at {shown} has neither {} nor {} (never flushed by a \
                         wirefold that writes them)",
                        ids::IDS_FILE,
                        mark::MARK_FILE
                    ),
                })
            }
        },
    };
    if below > ids::MAX_ID {
        return Err(format!(
            "the store at {shown} says its ids reached {below}, past any a store hands out \
             ({}): its {} or {} was written by something else",
            ids::MAX_ID,
            ids::IDS_FILE,
            mark::MARK_FILE
        ));
    }
    Ok(below)
}

/// Puts the backup at `backup` in place of the store at `store`, which no process may have
/// open (the daemon stopped). The backup is copied beside the store first and opened there
/// (a full read-through, and a migration if it was written by an older wirefold), so a
/// backup that does not open leaves everything as it was; only then is the store moved
/// aside to `STORE.replaced-YYYYMMDDTHHMMSSZ` and the copy renamed into its place. The
/// backup itself is never written to. The copy takes the owner of the store it replaces
/// (when run as root for a service whose files belong to its own user).
pub fn restore(backup: &Path, store: &Path, flush_every: Duration) -> Result<RestoreReport> {
    // Replaced where it is, a store reached through a symbolic link (the link left as it is).
    let store = &resolved(store);
    if backup
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(PARTIAL))
    {
        return Err(StoreError::BadBackup {
            path: backup.display().to_string(),
            message: "it is an unfinished backup (a backup stopped while copying; the next \
                      backup removes it)"
                .into(),
        });
    }
    if !backup.is_dir() {
        return Err(StoreError::BadBackup {
            path: backup.display().to_string(),
            message: if backup.exists() {
                "it is not a directory"
            } else {
                "there is no such directory"
            }
            .into(),
        });
    }
    if !holds_sled_files(backup) {
        return Err(StoreError::Io(format!(
            "{} is not a backup of a store (no sled files conf and db in it)",
            backup.display()
        )));
    }
    if let (Ok(a), Ok(b)) = (backup.canonicalize(), store.canonicalize()) {
        if a == b {
            return Err(StoreError::BadBackup {
                path: backup.display().to_string(),
                message: "it is the configured store itself, not a backup of it".into(),
            });
        }
    }
    check_manifest(backup)?;
    // A store a daemon has open is no backup: its files change while they are copied.
    let _backup_held = hold_if_unused(backup)?;
    // Held until the store is replaced: a daemon started meanwhile cannot open it.
    let lock = lock_unused(store)?;
    // With the store there and locked, no other restore of it is running: a copy beside it
    // is what one stopped before its renames left (a partial copy of the backup, or a
    // checked one that never went in), and the backup it came from is still there.
    let removed = if lock.is_some() {
        restoring_copies(store)
            .into_iter()
            .filter(|copy| fs::remove_dir_all(copy).is_ok())
            .collect()
    } else {
        Vec::new()
    };
    let parent = store
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A new host: the store's directory is yet to be made, as `run` makes it.
    fs::create_dir_all(parent).map_err(|e| io_error("creating", parent, &e))?;
    let stamp = free_stamp(store);
    let staging = beside(store, "restoring", &stamp);
    let handed_out = ids_handed_out(store);
    let checked = (|| {
        copy_store(backup, &staging)?;
        // Said of the backup: the copy it failed in is removed below.
        let opened = Store::open(&staging, flush_every).map_err(|e| match e {
            StoreError::Corrupt { message, .. } => StoreError::BadBackup {
                path: backup.display().to_string(),
                message: format!("damaged ({message})"),
            },
            StoreError::Schema { found, .. } => StoreError::BadBackup {
                path: backup.display().to_string(),
                message: format!(
                    "schema version {found}, newer than this wirefold reads ({})",
                    super::SCHEMA_VERSION
                ),
            },
            e => e,
        })?;
        let counts = opened.counts()?;
        let ids_from = match &handed_out {
            Ok(floor) => opened.move_ids_past(*floor)?,
            _ => None,
        };
        opened.flush()?;
        drop(opened);
        wait_for_sled(&staging)?;
        let mark = staging.join(CHECKED);
        fs::File::create(&mark)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error("marking the checked copy", &mark, &e))?;
        // After the open, which writes files of its own.
        if let Ok(meta) = fs::metadata(store) {
            give_owner(&staging, &meta)?;
            if holds_sled_files(store) {
                give_modes(&staging, store)?;
            }
        }
        Ok((counts, ids_from))
    })();
    let (counts, ids_from) = match checked {
        Ok(c) => c,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let replaced = put_in_place(&staging, store, &stamp, "replaced")?;
    // With no store there to lock first (one an interrupted restore had moved aside, as the
    // start's refusal says: "or run the restore again"), the copies that restore left are
    // removed now, those older than this one's: a full copy of a store each, which every
    // later open warned of.
    let mut removed = removed;
    if lock.is_none() {
        let own = beside(store, "restoring", &stamp);
        removed.extend(
            restoring_copies(store)
                .into_iter()
                .filter(|copy| copy.as_os_str() < own.as_os_str())
                .filter(|copy| fs::remove_dir_all(copy).is_ok()),
        );
    }
    Ok(RestoreReport {
        counts,
        replaced,
        removed,
        ids_from,
        ids_unknown: handed_out.err(),
    })
}

/// The stamp of a restore's (or compaction's) directories beside `store`: the time now,
/// numbered (`-002`, …) until no `STORE.restoring-`, `STORE.replaced-` or
/// `STORE.discarded-` directory of that stamp is there. So two restores within a second do
/// not meet, and the copy and the store moved aside that an interrupted one leaves have one
/// stamp, by which [`interrupted_restore`] names the one from the other (numbered each on
/// its own, a copy `…-002` was named beside an older `replaced-…` of another run).
pub(super) fn free_stamp(store: &Path) -> String {
    free_stamp_at(
        store,
        &chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string(),
    )
}

/// [`free_stamp`] at the time `now` (`YYYYMMDDTHHMMSSZ`).
pub(super) fn free_stamp_at(store: &Path, now: &str) -> String {
    let now = now.to_owned();
    (1..)
        .map(|n| {
            if n == 1 {
                now.clone()
            } else {
                format!("{now}-{n:03}")
            }
        })
        .find(|stamp| {
            ["restoring", "replaced", DISCARDED]
                .iter()
                .all(|what| !beside(store, what, stamp).exists())
        })
        .unwrap_or(now)
}

/// `STORE.WHAT-STAMP` beside `store`.
pub(super) fn beside(store: &Path, what: &str, stamp: &str) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(format!(".{what}-{stamp}"));
    PathBuf::from(name)
}

/// Puts the checked copy `staging` (`STORE.restoring-STAMP`, marked [`CHECKED`]) in place of
/// the store at `store`, which the caller holds locked: the store moved aside to
/// `STORE.ASIDE-STAMP` (`replaced`, or a compaction's `discarded`; returned, `None` where
/// there was none), then the copy renamed into its place. A failure puts back what was there
/// and removes the copy. Killed between the two renames, it leaves no store and the marked
/// copy beside it: [`interrupted_restore`] names both at the next open.
pub(super) fn put_in_place(
    staging: &Path,
    store: &Path,
    stamp: &str,
    aside: &str,
) -> Result<Option<PathBuf>> {
    let parent = store
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let replaced = if store.exists() {
        let aside = beside(store, aside, stamp);
        // A rename onto an empty directory would replace it.
        let moved = if aside.exists() {
            Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is there already", aside.display()),
            ))
        } else {
            fs::rename(store, &aside)
        };
        if let Err(e) = moved {
            let _ = fs::remove_dir_all(staging);
            return Err(io_error("moving aside", store, &e));
        }
        Some(aside)
    } else {
        None
    };
    if let Err(e) = fs::rename(staging, store) {
        let Some(aside) = &replaced else {
            let _ = fs::remove_dir_all(staging);
            return Err(io_error("renaming the copy to", store, &e));
        };
        if fs::rename(aside, store).is_ok() {
            let _ = fs::remove_dir_all(staging);
            return Err(io_error("renaming the copy to", store, &e));
        }
        // Something took the store's place meanwhile (a process that created the directory
        // in the moment it was missing): nothing is removed, and the store as it was loses
        // the name of a store being removed, which the next compaction would remove.
        let kept = beside(store, "replaced", stamp);
        let kept = if aside != &kept && !kept.exists() && fs::rename(aside, &kept).is_ok() {
            kept
        } else {
            aside.clone()
        };
        return Err(StoreError::Io(format!(
            "renaming the checked copy {} to {} failed ({e}), and something took the store's \
             place meanwhile: the store as it was is at {}; move what is at {} away and rename \
             one of the two to it",
            staging.display(),
            store.display(),
            kept.display(),
            store.display()
        )));
    }
    // It marked the copy, not the store.
    let _ = fs::remove_file(store.join(CHECKED));
    sync_dir(parent)?;
    Ok(replaced)
}

/// The copies `STORE.restoring-TIME` beside `store` that restores (and compactions) made,
/// oldest first (the stamps sort as times). A finished restore leaves none.
pub(crate) fn restoring_copies(store: &Path) -> Vec<PathBuf> {
    siblings(store, "restoring")
}

/// What a compaction names the store it replaced once the copy is in place, before it
/// removes it: `STORE.discarded-TIME`.
pub(super) const DISCARDED: &str = "discarded";

/// The stores `STORE.discarded-TIME` beside `store` that compactions were stopped while
/// removing (what is left of them), oldest first. A finished compaction leaves none.
pub(crate) fn discarded_stores(store: &Path) -> Vec<PathBuf> {
    siblings(store, DISCARDED)
}

/// The directories `STORE.WHAT-…` beside `store`, by name.
fn siblings(store: &Path, what: &str) -> Vec<PathBuf> {
    let Some(name) = store.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let parent = store
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = format!("{name}.{what}-");
    let Ok(dir) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<String> = dir
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    found.sort();
    found.into_iter().map(|n| parent.join(n)).collect()
}

/// `store` itself, or where it leads when it is a symbolic link: a restore or compaction
/// replaces the directory, and must replace it where it is (renaming the link put the new
/// store on the link's disk, and left the old one where the link led).
/// Read link by link, not canonicalized: a link whose store a stopped restore moved aside
/// leads nowhere, and must still lead to where the store's leftovers are.
pub(crate) fn resolved(store: &Path) -> PathBuf {
    let mut path = store.to_path_buf();
    // Links to links, up to the kernel's own limit on a path's links.
    for _ in 0..40 {
        let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        let Some(target) = is_link.then(|| fs::read_link(&path).ok()).flatten() else {
            break;
        };
        path = match path.parent() {
            Some(parent) if target.is_relative() => parent.join(target),
            _ => target,
        };
    }
    path
}

/// The error to give when the store at `store` is missing because a [`restore`] stopped
/// (killed) between moving the store aside and renaming its copy into place, or while
/// copying into a place where there was no store: its copy `STORE.restoring-TIME` is still
/// beside it (a finished restore leaves none). Opening would start an empty store there.
pub(crate) fn interrupted_restore(store: &Path) -> Option<StoreError> {
    // Beside where a symbolic link leads: that is where a restore or compaction works.
    let store = &resolved(store);
    if store.exists() {
        return None;
    }
    let restored = restoring_copies(store).pop()?;
    let name = store.file_name()?.to_str()?;
    let copy = restored.file_name()?.to_str()?;
    let stamp = copy.get(name.len() + ".restoring-".len()..)?;
    // A compaction moves the store aside as `discarded`, a restore as `replaced`.
    let (replaced, compaction) = ["replaced", DISCARDED]
        .iter()
        .find_map(|&what| {
            let aside = restored.with_file_name(format!("{name}.{what}-{stamp}"));
            aside.exists().then_some((aside, what == DISCARDED))
        })
        .map_or((None, false), |(aside, compaction)| {
            (Some(aside), compaction)
        });
    // The store is moved aside only after the copy was checked.
    let checked = restored.join(CHECKED).exists() || replaced.is_some();
    Some(StoreError::InterruptedRestore {
        path: store.display().to_string(),
        restored: restored.display().to_string(),
        compaction,
        replaced: replaced.map(|r| r.display().to_string()),
        checked,
    })
}

/// The device and inode of the directory at `path`, if there is one.
pub(super) fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Whether the store directory an open found (`before`, by [`identity`]) is not the one it
/// locked (`after`) while a copy of a restore or compaction is beside `store`: the store was
/// moved aside between the two, and the open made a new directory in its place, which the
/// copy's rename into place would then meet (and the next compaction took the store moved
/// aside for a leftover).
pub(super) fn swap_under_way(
    store: &Path,
    before: Option<(u64, u64)>,
    after: Option<(u64, u64)>,
) -> bool {
    before != after && !restoring_copies(store).is_empty()
}

/// Whether `dir` holds sled's two files (a store, or a backup of one).
pub(super) fn holds_sled_files(dir: &Path) -> bool {
    dir.join("conf").is_file() && dir.join("db").is_file()
}

/// Takes the store's locks, its own (`lock.rs`: held by a process that has the store open,
/// its database closed for a backup or not) and sled's on `db`, so that no daemon has it
/// open while it is copied or replaced; `None` when there is no store there.
pub(super) fn lock_unused(store: &Path) -> Result<Option<(fs::File, fs::File)>> {
    if !store.join("db").exists() {
        return Ok(None);
    }
    let own = super::lock::lock_store(store)?;
    Ok(lock_sled(store)?.map(|db| (own, db)))
}

/// sled's lock on `store/db`, which a store opened by a wirefold from before the lock of our
/// own holds alone; `None` when there is no `db`.
pub(super) fn lock_sled(store: &Path) -> Result<Option<fs::File>> {
    let Ok(db) = fs::File::open(store.join("db")) else {
        return Ok(None);
    };
    if !super::lock::try_lock(&db).unwrap_or(false) {
        return Err(StoreError::Locked {
            path: store.display().to_string(),
        });
    }
    Ok(Some(db))
}

/// The locks of the store directory `dir` (its own lock file and sled's `db`), taken where
/// the files are there, without making any (a backup may be read-only); `Locked` when a
/// process holds one: a running daemon's store given as a backup.
fn hold_if_unused(dir: &Path) -> Result<Vec<fs::File>> {
    let mut held = Vec::new();
    for name in [super::lock::LOCK_FILE, "db"] {
        let Ok(file) = fs::File::open(dir.join(name)) else {
            continue;
        };
        if !super::lock::try_lock(&file).unwrap_or(true) {
            return Err(StoreError::Locked {
                path: dir.display().to_string(),
            });
        }
        held.push(file);
    }
    Ok(held)
}

/// Calls `each` with every path under `dir` (and `dir`) and its metadata (not following
/// links).
fn walk(dir: &Path, mut each: impl FnMut(&Path, &fs::Metadata) -> Result<()>) -> Result<()> {
    let mut paths = vec![dir.to_path_buf()];
    while let Some(p) = paths.pop() {
        let meta = fs::symlink_metadata(&p).map_err(|e| io_error("reading", &p, &e))?;
        if meta.is_dir() {
            for entry in fs::read_dir(&p).map_err(|e| io_error("reading", &p, &e))? {
                paths.push(entry.map_err(|e| io_error("reading", &p, &e))?.path());
            }
        }
        each(&p, &meta)?;
    }
    Ok(())
}

/// Gives every file under `dir` (and `dir`) the owner of `like`, where it differs.
pub(super) fn give_owner(dir: &Path, like: &fs::Metadata) -> Result<()> {
    walk(dir, |p, meta| set_owner(p, meta, like))
}

/// Gives every file and directory under `dir` (and `dir`) the permissions of its namesake
/// under `like`, or, where there is none (sled names its files anew), those of `like`
/// itself for a directory and of `like/db` for a file: a new directory and sled's new files
/// take the process's umask, and made a store only its user could read readable by all.
pub(super) fn give_modes(dir: &Path, like: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| -> Result<u32> {
        Ok(fs::metadata(p)
            .map_err(|e| io_error("reading", p, &e))?
            .permissions()
            .mode())
    };
    let (dir_mode, file_mode) = (mode(like)?, mode(&like.join("db"))?);
    walk(dir, |p, meta| {
        let namesake = p.strip_prefix(dir).ok().map(|rel| like.join(rel));
        let wanted = match namesake.and_then(|n| fs::metadata(n).ok()) {
            Some(n) if n.is_dir() == meta.is_dir() => n.permissions().mode(),
            _ if meta.is_dir() => dir_mode,
            _ => file_mode,
        };
        if meta.permissions().mode() & 0o7777 != wanted & 0o7777 {
            fs::set_permissions(p, fs::Permissions::from_mode(wanted & 0o7777))
                .map_err(|e| io_error("giving the store's permissions to", p, &e))?;
        }
        Ok(())
    })
}

/// Gives `path` (whose metadata is `meta`) the owner of `like`, if it differs.
fn set_owner(path: &Path, meta: &fs::Metadata, like: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (uid, gid) = (like.uid(), like.gid());
    if (meta.uid(), meta.gid()) != (uid, gid) {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|e| io_error("giving the store's owner to", path, &e))?;
    }
    Ok(())
}

/// The daemon's backups: where they go, how many are kept, and how the last ones went, for
/// `/status` and `/metrics`. Both `POST /store/backup` and `store.backup_every` go through
/// [`Backups::run`].
#[derive(Debug)]
pub struct Backups {
    root: PathBuf,
    keep: usize,
    log: std::sync::Mutex<BackupLog>,
}

/// How the backups went, as [`Backups::log`] reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupLog {
    /// The newest backup: written by this process, or found under the root at start.
    pub last: Option<LastBackup>,
    /// The last backup that failed, if it came after the last one that succeeded.
    pub failure: Option<(Millis, String)>,
    /// Backups this process wrote, and failed to.
    pub done: u64,
    pub failed: u64,
    /// When the next automatic backup falls (`store.backup_every`), Unix ms.
    pub next: Option<Millis>,
    /// When the backup under way in this process began (Unix ms), while it is.
    pub under_way_since: Option<Millis>,
}

/// A backup that is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastBackup {
    /// When it was taken (Unix ms; from its name when found at start).
    pub at: Millis,
    pub path: PathBuf,
    /// Bytes copied and how long the store was closed, when this process wrote it.
    pub bytes: Option<u64>,
    pub closed_for_ms: Option<u64>,
}

/// Clears [`BackupLog::under_way_since`] when dropped.
struct UnderWay<'a>(&'a std::sync::Mutex<BackupLog>);

impl Drop for UnderWay<'_> {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .under_way_since = None;
    }
}

impl Backups {
    /// The backups under `root`, keeping `keep`; the newest one there (by its name) is the
    /// last backup until this process writes one.
    pub fn new(root: PathBuf, keep: usize) -> Self {
        // Absolute, so that the paths reported (to `wirefold backup`, `/status`) name the
        // copies from wherever they are read, not from the daemon's working directory.
        let root = std::path::absolute(&root).unwrap_or(root);
        let last = newest(&root);
        Self {
            root,
            keep,
            log: std::sync::Mutex::new(BackupLog {
                last,
                ..BackupLog::default()
            }),
        }
    }

    /// Where the backups go.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Backs `store` up ([`Store::backup`]), logs and records how it went; `why` says who
    /// asked (`"request"`, `"schedule"`).
    pub fn run(&self, store: &Store, wait: Duration, why: &'static str) -> Result<BackupReport> {
        // A backup's time is when it began, as its name says.
        let began = chrono::Utc::now().timestamp_millis();
        {
            let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(since) = log.under_way_since {
                let since = chrono::DateTime::from_timestamp_millis(since)
                    .map_or_else(|| since.to_string(), |t| t.to_rfc3339());
                return Err(StoreError::BackupUnderWay { since });
            }
            log.under_way_since = Some(began);
        }
        // Over however the copy ends: a panic in it must not refuse every later backup.
        let under_way = UnderWay(&self.log);
        let result = store.backup(&self.root, self.keep, wait);
        drop(under_way);
        // The reopen frees what the closed database held and allocates its state anew; the
        // free pages stayed in the heap until the next minute's trim (on a store of 100,000
        // articles, 110 MB resident after each backup instead of 61: BENCHMARKS.md, "Resident
        // memory after a backup"). Given back now.
        let trimmed = crate::memory::release_free_memory();
        tracing::debug!(
            took_ms = trimmed.as_millis() as u64,
            "free heap pages released after a backup"
        );
        let now = chrono::Utc::now().timestamp_millis();
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(r) => {
                tracing::info!(
                    path = %r.path.display(),
                    bytes = r.bytes,
                    closed_ms = r.closed_for.as_millis() as u64,
                    removed = r.removed.len(),
                    why,
                    "store backed up"
                );
                log.last = Some(LastBackup {
                    at: began,
                    path: r.path.clone(),
                    bytes: Some(r.bytes),
                    closed_for_ms: Some(
                        u64::try_from(r.closed_for.as_millis()).unwrap_or(u64::MAX),
                    ),
                });
                log.failure = None;
                log.done += 1;
            }
            Err(e) => {
                tracing::warn!(error.message = %e, why, "store backup failed");
                log.failure = Some((now, e.to_string()));
                log.failed += 1;
            }
        }
        result
    }

    /// Records when the next automatic backup falls.
    pub fn set_next(&self, at: Option<Millis>) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).next = at;
    }

    /// How the backups went so far.
    pub fn log(&self) -> BackupLog {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The newest backup under `root`, by the time in its name; `None` when there is none (or
/// no `root`).
fn newest(root: &Path) -> Option<LastBackup> {
    let entries = fs::read_dir(root).ok()?;
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let at = backup_time(&name)?;
            e.path().is_dir().then(|| LastBackup {
                at,
                path: e.path(),
                bytes: None,
                closed_for_ms: None,
            })
        })
        // One named by a clock that was once ahead is the newest only when all are.
        .max_by_key(|b| {
            let ahead = ahead_of(chrono::Utc::now().timestamp_millis());
            let name = b.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (!ahead(name), b.at, b.path.clone())
        })
}

/// Whether a backup's name is dated more than a day ahead of `now`.
fn ahead_of(now: Millis) -> impl Fn(&str) -> bool {
    move |name| backup_time(name).is_some_and(|at| at > now + 24 * 60 * 60 * 1000)
}

/// The time a backup's directory name holds (`wirefold-YYYYMMDDTHHMMSSZ`, perhaps with a
/// `-NNN` suffix), Unix ms.
/// Nothing else: a copy an operator renamed to keep it (`wirefold-…Z-before-upgrade`) is
/// not a backup pruning may remove.
fn backup_time(name: &str) -> Option<Millis> {
    let rest = name.strip_prefix(PREFIX)?;
    let stamp = rest.get(..16)?;
    match rest[16..].strip_prefix('-') {
        None if rest.len() == 16 => {}
        Some(n) if n.len() >= 3 && n.bytes().all(|b| b.is_ascii_digit()) => {}
        _ => return None,
    }
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// `wirefold-` and the time, unique under `root`.
fn backup_name(root: &Path) -> String {
    next_name(
        root,
        &format!("{PREFIX}{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")),
    )
}

/// `base`, or `base-NNN` numbered past every backup of that second under `root` (finished
/// or not): never a name that sorts before one of them. Taking the first free one, a fourth
/// backup within a second got the plain name again once pruning had removed the first, sorted
/// as the oldest, and was removed as soon as it was written (reported as done).
pub(super) fn next_name(root: &Path, base: &str) -> String {
    let numbered = |name: &str| -> Option<u32> {
        let rest = name
            .strip_prefix(PARTIAL)
            .unwrap_or(name)
            .strip_prefix(base)?;
        match rest.strip_prefix('-') {
            None if rest.is_empty() => Some(1),
            Some(n) => n.parse().ok(),
            None => None,
        }
    };
    let last = fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str().and_then(numbered))
        .max();
    match last {
        None => base.to_owned(),
        Some(n) => format!("{base}-{:03}", n.saturating_add(1)),
    }
}

/// Waits until no thread of ours still holds sled's file lock on `store/db` (its I/O threads
/// may finish a write after the last handle is dropped), so that the copy is what they left.
pub(super) fn wait_for_sled(store: &Path) -> Result<()> {
    let db = fs::File::open(store.join("db")).map_err(|e| io_error("opening", store, &e))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if super::lock::try_lock(&db).unwrap_or(false) {
            // Released by closing `db`.
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(StoreError::Io(
                "sled kept its file lock for 5 s after the store was closed".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Copies sled's files of `store` into the new directory `to` and fsyncs them; returns the
/// bytes copied.
pub(super) fn copy_store(store: &Path, to: &Path) -> Result<u64> {
    fs::create_dir(to).map_err(|e| io_error("creating", to, &e))?;
    let mut bytes = 0;
    for entry in fs::read_dir(store).map_err(|e| io_error("reading", store, &e))? {
        let entry = entry.map_err(|e| io_error("reading", store, &e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let sled_file = name == "conf" || name == "db" || name.starts_with("snap.");
        if sled_file {
            bytes += copy_file(&entry.path(), &to.join(&*name))?;
        } else if name == "blobs" {
            let blobs = to.join("blobs");
            fs::create_dir(&blobs).map_err(|e| io_error("creating", &blobs, &e))?;
            let from = entry.path();
            for blob in fs::read_dir(&from).map_err(|e| io_error("reading", &from, &e))? {
                let blob = blob.map_err(|e| io_error("reading", &from, &e))?;
                bytes += copy_file(&blob.path(), &blobs.join(blob.file_name()))?;
            }
            sync_dir(&blobs)?;
        }
    }
    sync_dir(to)?;
    Ok(bytes)
}

/// The sled files under `dir` (`conf`, `db`, `snap.*`, `blobs/*`), as paths relative to it.
fn sled_files(dir: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error("reading", dir, &e))? {
        let entry = entry.map_err(|e| io_error("reading", dir, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "conf" || name == "db" || name.starts_with("snap.") {
            files.push(name);
        } else if name == "blobs" && entry.path().is_dir() {
            let from = entry.path();
            for blob in fs::read_dir(&from).map_err(|e| io_error("reading", &from, &e))? {
                let blob = blob.map_err(|e| io_error("reading", &from, &e))?;
                files.push(format!("blobs/{}", blob.file_name().to_string_lossy()));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Size and xxh3 of the file at `path`.
fn size_and_hash(path: &Path) -> Result<(u64, u64)> {
    use std::io::Read;
    let mut file = fs::File::open(path).map_err(|e| io_error("reading", path, &e))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| io_error("reading", path, &e))?;
        if n == 0 {
            return Ok((size, hasher.digest()));
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
}

/// Writes the [`MANIFEST`] of the copy at `dir` (synced).
fn write_manifest(dir: &Path) -> Result<()> {
    use std::io::Write;
    let mut text = format!("{MANIFEST_HEAD}\n");
    for name in sled_files(dir)? {
        let (size, hash) = size_and_hash(&dir.join(&name))?;
        text.push_str(&format!("{hash:016x} {size} {name}\n"));
    }
    let path = dir.join(MANIFEST);
    fs::File::create(&path)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| io_error("writing", &path, &e))?;
    sync_dir(dir)
}

/// Checks the backup at `dir` against its [`MANIFEST`], when it has one (every file there,
/// whole and as written): what is wrong, if anything.
fn manifest_problem(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("reading", &path, &e)),
    };
    let mut lines = text.lines();
    if lines.next() != Some(MANIFEST_HEAD) {
        return Ok(Some(format!(
            "its {MANIFEST} is not one this wirefold wrote"
        )));
    }
    for line in lines {
        let mut parts = line.splitn(3, ' ');
        let parsed = match (parts.next(), parts.next(), parts.next()) {
            (Some(hash), Some(size), Some(name)) => u64::from_str_radix(hash, 16)
                .ok()
                .zip(size.parse::<u64>().ok())
                .map(|(hash, size)| (hash, size, name)),
            _ => None,
        };
        let Some((hash, size, name)) = parsed else {
            return Ok(Some(format!("its {MANIFEST} is damaged: {line:?}")));
        };
        let file = dir.join(name);
        if !file.is_file() {
            return Ok(Some(format!("{name} is missing (the backup wrote it)")));
        }
        let (found, found_hash) = size_and_hash(&file)?;
        if found != size {
            return Ok(Some(format!(
                "{name} is {found} bytes, the backup wrote {size} (cut short in a copy?)"
            )));
        }
        if found_hash != hash {
            return Ok(Some(format!(
                "{name} is not as the backup wrote it (its contents changed since)"
            )));
        }
    }
    Ok(None)
}

/// [`restore`]'s check of a backup against its [`MANIFEST`].
pub(super) fn check_manifest(dir: &Path) -> Result<()> {
    match manifest_problem(dir)? {
        None => Ok(()),
        Some(message) => Err(StoreError::BadBackup {
            path: dir.display().to_string(),
            message,
        }),
    }
}

/// A backup opened as a store in place (`store.path` pointed at it) is checked against its
/// [`MANIFEST`] first, which then goes: the store about to be written is no longer the copy
/// the manifest describes (a `restore` of it later takes it as it is then).
///
/// `opened_before`: the directory held the store's lock file before this open, so a
/// wirefold has opened it as a store since the backup (one from before manifests, which
/// leaves them): its files have changed, and the manifest only goes.
pub(super) fn adopt_backup(dir: &Path, shown: &str, opened_before: bool) -> Result<()> {
    let path = dir.join(MANIFEST);
    if !path.exists() {
        return Ok(());
    }
    if opened_before {
        tracing::info!(
            store = shown,
            "a backup's manifest left in a store opened since: removed unchecked"
        );
    } else if let Some(message) = manifest_problem(dir)? {
        return Err(StoreError::Corrupt {
            path: shown.to_owned(),
            message: format!("a backup not whole as written: {message}"),
        });
    }
    fs::remove_file(&path).map_err(|e| io_error("removing", &path, &e))?;
    sync_dir(dir)
}

fn copy_file(from: &Path, to: &Path) -> Result<u64> {
    let bytes = fs::copy(from, to).map_err(|e| io_error("copying", from, &e))?;
    fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error("syncing", to, &e))?;
    Ok(bytes)
}

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error("syncing", dir, &e))
}

/// Removes the oldest backups under `root` beyond the `keep` newest (by name, which is by
/// time), and copies a crash left half-written. Never `written`, the backup just made: one
/// named by a clock that was once ahead (`wirefold-2030…`) sorts after it, and took its place
/// among the newest, so every backup was removed as soon as it was written.
fn prune(root: &Path, keep: usize, written: &Path, store: &Path) -> Result<Vec<PathBuf>> {
    // The store itself may be one of them: a daemon serving a backup in place (its
    // `store.path` names it) with `store.backup_dir` the directory that holds it, by name or
    // through a symbolic link. It is never removed, nor a directory it lives in.
    let store = fs::canonicalize(store).ok();
    let holds_store = |path: &Path| {
        store
            .as_deref()
            .is_some_and(|s| fs::canonicalize(path).is_ok_and(|p| s.starts_with(p)))
    };
    let mut backups = Vec::new();
    for entry in fs::read_dir(root).map_err(|e| io_error("reading", root, &e))? {
        let entry = entry.map_err(|e| io_error("reading", root, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if holds_store(&entry.path()) {
            continue;
        }
        if backup_time(&name).is_some() && entry.path().is_dir() {
            backups.push(name);
        } else if name.starts_with(PARTIAL) && entry.path().is_dir() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    // Oldest first by name, which is by time; but those named more than a day ahead of the
    // clock (by a clock that was once ahead) count as the oldest: sorted by name, they were
    // the newest for years and pushed out every real backup.
    let ahead = ahead_of(chrono::Utc::now().timestamp_millis());
    backups.sort_by_key(|name| (!ahead(name), name.clone()));
    let excess = backups.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    let just_written = |name: &String| written.file_name().is_some_and(|w| *w == **name);
    for name in backups.into_iter().filter(|n| !just_written(n)) {
        if removed.len() == excess {
            break;
        }
        let path = root.join(name);
        // Another daemon serving this backup in place (a shared `backup_dir`): its store,
        // never removed under it; the next older one goes instead.
        let Ok(_claimed) = super::lock::claim_unused(&path) else {
            tracing::warn!(
                backup = %path.display(),
                "an old backup is not removed: a process has it open as its store"
            );
            continue;
        };
        fs::remove_dir_all(&path).map_err(|e| io_error("removing", &path, &e))?;
        removed.push(path);
    }
    Ok(removed)
}

pub(super) fn io_error(doing: &str, path: &Path, e: &io::Error) -> StoreError {
    StoreError::Io(format!("{doing} {}: {e}", path.display()))
}
