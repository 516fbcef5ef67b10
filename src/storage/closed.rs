//! While a backup (or a checkpoint, or a reopen after a failure) has the database closed,
//! every store call waits on the handle's lock. From a blocking thread that is fine; from
//! async code it holds one of the runtime's few worker threads (one per core) for the whole
//! copy, and a backup of a large store takes seconds to minutes: with the polls that finish
//! meanwhile holding every worker, `/healthz` stopped answering and the watchdog went unfed.
//!
//! So a closer announces itself ([`Closing`]) a moment before it takes the lock, and async
//! callers await [`Store::until_open`] before their store calls: they wait as tasks, not as
//! threads. A caller that checked just before the announcement has [`CLOSE_GRACE`] to take
//! its handle, and the closer then waits for it to finish as it waits for any other user.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Shared, Store};

/// How long a closer waits between announcing itself and taking the handle's lock.
pub(super) const CLOSE_GRACE: Duration = Duration::from_millis(20);

/// The database is (about to be) closed while this lives.
pub(super) struct Closing<'a>(&'a Shared);

impl<'a> Closing<'a> {
    /// Announces a close, then gives callers that had not seen it [`CLOSE_GRACE`].
    pub(super) fn announce(shared: &'a Shared) -> Self {
        shared.closers.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(CLOSE_GRACE);
        Closing(shared)
    }
}

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        if self.0.closers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.reopened.notify_waiters();
        }
    }
}

impl Store {
    /// Waits, as a task and without holding a thread, while a backup, checkpoint or reopen
    /// has the database closed. Async code calls it before a store call.
    pub async fn until_open(&self) {
        loop {
            let reopened = self.shared.reopened.notified();
            tokio::pin!(reopened);
            // Registered before the check, so a reopen between the two is not missed.
            reopened.as_mut().enable();
            if !self.is_closed() {
                return;
            }
            reopened.await;
        }
    }

    /// Whether a backup, checkpoint or reopen has the database closed (or is about to).
    pub fn is_closed(&self) -> bool {
        self.shared.closers.load(Ordering::SeqCst) > 0
    }

    /// Holds the database's handle until the returned value is dropped, as a long store
    /// call does: a backup meanwhile announces its close and waits for it (tests).
    #[cfg(test)]
    pub(crate) fn hold_handle(&self) -> Box<dyn std::any::Any + Send> {
        Box::new(self.t())
    }
}
