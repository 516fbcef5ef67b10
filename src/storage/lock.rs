//! The store's own lock: `wirefold.lock` in the store directory, `flock`ed by the process
//! that has the store open ([`Store::open`]) for as long as its [`Store`] lives.
//!
//! sled locks its `db` file too, but only while its database is open, and the daemon closes
//! it now and then for a while: an online backup for the length of the copy (seconds per GB),
//! a checkpoint, a reopen after a full disk. In that gap another process (`wirefold restore`,
//! `backup --offline`, `once`, `export`, a second daemon) found the store unused and opened,
//! copied or replaced it under the daemon. This lock is held through those gaps.
//!
//! [`Store`]: super::Store
//! [`Store::open`]: super::Store::open

use std::fs;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::{Result, StoreError};

/// The lock's file name in the store directory.
pub const LOCK_FILE: &str = "wirefold.lock";

/// Takes the lock of the store at `store`, creating the directory and the file when
/// missing; held until the returned file is closed. `Locked` when another process (or
/// another [`super::Store`] of this one) holds it.
pub(super) fn lock_store(store: &Path) -> Result<fs::File> {
    let io = |what: &str, e: std::io::Error| {
        StoreError::Io(format!("{what} {}: {e}", store.join(LOCK_FILE).display()))
    };
    fs::create_dir_all(store).map_err(|e| io("creating the directory of", e))?;
    let file = open_lock_file(store).map_err(|e| io("opening", e))?;
    match try_lock(&file) {
        Ok(true) => Ok(file),
        Ok(false) => Err(StoreError::Locked {
            path: store.display().to_string(),
        }),
        Err(e) => Err(io("locking", e)),
    }
}

/// Opens the lock file for reading (all `flock` needs, so a file another user made serves
/// too), creating it when missing with the owner of the store directory: made by root (a
/// `backup --offline` or `restore` for a service with its own user), it must not keep the
/// daemon from opening it.
fn open_lock_file(store: &Path) -> std::io::Result<fs::File> {
    let path = store.join(LOCK_FILE);
    match fs::File::open(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        opened => return opened,
    }
    match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(file) => {
            use std::os::unix::fs::MetadataExt;
            if let (Ok(dir), Ok(own)) = (fs::metadata(store), file.metadata()) {
                if (dir.uid(), dir.gid()) != (own.uid(), own.gid()) {
                    // Best effort: only root may, and only root needs to.
                    let _ = std::os::unix::fs::fchown(&file, Some(dir.uid()), Some(dir.gid()));
                }
            }
            Ok(file)
        }
        // Made by another process in between.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fs::File::open(&path),
        Err(e) => Err(e),
    }
}

/// For removing the directory at `dir` (an old backup): `Err(())` when a process holds the
/// lock of a store there (a daemon serving that backup in place, its `store.path` naming
/// it); else the lock, taken when the directory has a lock file, to be held through the
/// removal so that no store opens there meanwhile.
pub(super) fn claim_unused(dir: &Path) -> std::result::Result<Option<fs::File>, ()> {
    let Ok(file) = fs::File::open(dir.join(LOCK_FILE)) else {
        return Ok(None);
    };
    match try_lock(&file) {
        Ok(false) => Err(()),
        _ => Ok(Some(file)),
    }
}

/// Takes an exclusive `flock` on `file` without waiting: `false` when another open file
/// (another process's, or another of this one's) holds it. Released when `file` is closed.
pub(super) fn try_lock(file: &fs::File) -> std::io::Result<bool> {
    // SAFETY: flock on a descriptor the caller owns; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(e)
    }
}
