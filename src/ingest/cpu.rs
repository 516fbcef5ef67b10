//! The threads that parse, normalize and fold fetched bodies.
//!
//! That work is CPU-bound and runs one body per core at a time (see [`CpuPool::new`]). It used
//! to run on tokio's blocking pool, whose four threads it shares with the store reads of the
//! HTTP handlers, flushes and retention; over a day every one of those threads ran some
//! bodies, and every thread that runs the boilerplate rules keeps its own lazy-DFA caches of
//! each rule's regex (the `regex` crate pools one cache per thread). Running the bodies on
//! exactly one thread per permit keeps those caches, and the parser's and normalizer's
//! thread-local buffers, on as many threads as there are cores.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{oneshot, Semaphore};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a job did not run to its end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CpuError {
    /// The pool was shut down (its permits closed or its threads gone).
    #[error("the ingest threads are gone")]
    Closed,
    /// The job panicked (a bug); the thread survives and takes the next job.
    #[error("an ingest job panicked")]
    Panicked,
}

/// A fixed set of threads, one per permit, that run blocking jobs handed over from async code.
#[derive(Debug)]
pub struct CpuPool {
    permits: Arc<Semaphore>,
    /// The threads that started, one permit each.
    threads: u32,
    jobs: Mutex<Sender<Job>>,
}

impl CpuPool {
    /// A pool of `threads` threads (at least one) named `wirefold-cpu`, with as many permits:
    /// a job waits (asynchronously) for a permit before it is queued, so the queue never holds
    /// more bodies than there are threads. Falls back to fewer threads if the system refuses
    /// to start some (none started: every job then fails with [`CpuError::Closed`]).
    pub fn new(threads: usize) -> CpuPool {
        let threads = threads.max(1);
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for _ in 0..threads {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name("wirefold-cpu".into())
                .spawn(move || work(&rx));
            if spawned.is_ok() {
                started += 1;
            }
        }
        let permits = Arc::new(Semaphore::new(started));
        if started == 0 {
            permits.close();
        }
        CpuPool {
            permits,
            threads: u32::try_from(started).unwrap_or(u32::MAX),
            jobs: Mutex::new(tx),
        }
    }

    /// Waits until no job runs or is queued, then closes the pool: later [`run`](Self::run)s
    /// fail with [`CpuError::Closed`]. A job outlives its caller (a poll cancelled at shutdown
    /// leaves its body being folded), so shutdown waits here before the store's last flush:
    /// otherwise that job could write after it, or die half-way when the process exits.
    pub async fn close(&self) {
        // Every job holds a permit from before it is queued until it has run.
        let all = self.permits.acquire_many(self.threads).await;
        self.permits.close();
        drop(all);
    }

    /// One thread per core.
    pub fn per_core() -> CpuPool {
        CpuPool::new(std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// Runs `f` on one of the pool's threads once one is free, and returns what it returned.
    pub async fn run<R, F>(&self, f: F) -> Result<R, CpuError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| CpuError::Closed)?;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let out = catch_unwind(AssertUnwindSafe(f)).map_err(|_| CpuError::Panicked);
            // The caller may have gone away (its poll cancelled): nothing to tell then.
            let _ = tx.send(out);
        });
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .map_err(|_| CpuError::Closed)?;
        rx.await.map_err(|_| CpuError::Closed)?
    }
}

/// A pool thread: takes jobs until the pool is dropped.
fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_on_its_own_threads_and_survives_a_panic() {
        let pool = CpuPool::new(2);
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .ok()
            .flatten();
        assert_eq!(name.as_deref(), Some("wirefold-cpu"));
        let r: Result<(), _> = pool.run(|| panic!("a bug")).await;
        assert!(matches!(r, Err(CpuError::Panicked)));
        let jobs = (0..8u64).map(|i| pool.run(move || i * 2));
        let sum: u64 = futures_sum(jobs).await;
        assert_eq!(sum, 56);
    }

    #[tokio::test]
    async fn close_waits_for_a_job_whose_caller_gave_up() {
        let pool = Arc::new(CpuPool::new(2));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done2 = Arc::clone(&done);
        let caller = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move {
                pool.run(move || {
                    let _ = started_tx.send(());
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    done2.store(true, std::sync::atomic::Ordering::SeqCst);
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started_rx.recv())
            .await
            .expect("join")
            .expect("the job started");
        caller.abort();
        pool.close().await;
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        assert!(matches!(pool.run(|| ()).await, Err(CpuError::Closed)));
    }

    async fn futures_sum(
        jobs: impl Iterator<Item = impl std::future::Future<Output = Result<u64, CpuError>>>,
    ) -> u64 {
        let mut sum = 0;
        for j in jobs {
            sum += j.await.unwrap_or(0);
        }
        sum
    }
}
