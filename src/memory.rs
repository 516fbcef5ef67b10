//! The process's side of memory use: glibc allocator settings made at start, the global
//! allocator that keeps the store's log buffers for reuse, and handing freed heap pages back
//! to the system while the daemon runs.
//!
//! glibc's allocator gives every thread that allocates an arena of its own (up to 8 per core)
//! and returns freed memory to the system only from the top of a heap, above a threshold it
//! raises as the process runs. After a burst of polls that leaves tens of megabytes parked in
//! arenas, and pages freed in the middle of a heap stay resident until `malloc_trim` gives
//! them back. Elsewhere (musl, other systems) the glibc settings and the trim are no-ops; the
//! pool of log buffers works with any system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::{Duration, Instant};

/// Two arenas and a fixed 1 MiB trim threshold took the cold ingest's peak RSS from 89 to
/// 66 MB at the same speed (BENCHMARKS.md, issue 8). Settings given in the environment
/// (`MALLOC_ARENA_MAX`, `MALLOC_TRIM_THRESHOLD_`) win. Call first thing in `main`, before any
/// other thread exists.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            // SAFETY: mallopt only sets allocator parameters; the caller runs this before
            // any other thread exists.
            unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
        }
        if std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_none() {
            // SAFETY: as above.
            unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20) };
        }
    }
}

/// Gives free pages inside the allocator's heaps back to the system (`malloc_trim(0)`, which
/// since glibc 2.8 releases whole free pages anywhere in every arena, not only at the top).
/// Returns how long it took. It walks the free lists of all arenas while holding each arena's
/// lock: milliseconds for a heap of a few hundred megabytes, so the daemon calls it from its
/// once-a-minute maintenance on a blocking thread, not after every poll.
/// The pooled log buffers go back to the system first.
pub fn release_free_memory() -> Duration {
    let start = Instant::now();
    LOG_BUFFERS.drain();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim has no preconditions; it takes the arena locks itself.
        unsafe { libc::malloc_trim(0) };
    }
    start.elapsed()
}

/// Size of the store's log buffers: sled's segment size (its default, which the store keeps).
pub const LOG_BUFFER_BYTES: usize = 512 * 1024;
/// Their alignment (sled's `AlignedBuf`).
const LOG_BUFFER_ALIGN: usize = 8192;
/// How many freed log buffers are kept: on the cold bench's farm four did no better than two
/// (BENCHMARKS.md, issue 8, "Session 23").
const POOLED: usize = 2;

/// Freed blocks of one layout kept for the next allocation of that layout (at most
/// [`POOLED`]); every block in it came from [`System`] with that layout.
struct Pool {
    slots: [AtomicPtr<u8>; POOLED],
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            slots: [const { AtomicPtr::new(null_mut()) }; POOLED],
        }
    }

    fn fits(layout: Layout) -> bool {
        layout == LOG_BUFFER
    }

    /// A kept block, if there is one.
    fn take(&self) -> Option<*mut u8> {
        self.slots.iter().find_map(|slot| {
            let p = slot.swap(null_mut(), Ordering::Acquire);
            (!p.is_null()).then_some(p)
        })
    }

    /// Keeps `ptr`; false when the pool is full.
    fn keep(&self, ptr: *mut u8) -> bool {
        self.slots.iter().any(|slot| {
            slot.compare_exchange(null_mut(), ptr, Ordering::Release, Ordering::Relaxed)
                .is_ok()
        })
    }

    /// Gives every kept block back to the system.
    fn drain(&self) {
        while let Some(p) = self.take() {
            // SAFETY: every block in the pool came from `System` with this layout, and
            // `take` handed it out once.
            unsafe { System.dealloc(p, LOG_BUFFER) };
        }
    }
}

/// The layout of a log buffer (checked when compiling).
const LOG_BUFFER: Layout = match Layout::from_size_align(LOG_BUFFER_BYTES, LOG_BUFFER_ALIGN) {
    Ok(layout) => layout,
    Err(_) => panic!("the log buffer's layout is invalid"),
};

static LOG_BUFFERS: Pool = Pool::new();

/// The global allocator of the `wirefold` binary: the system's, except that freed log
/// buffers of the store are kept for the next one.
///
/// sled writes its log through buffers of one segment ([`LOG_BUFFER_BYTES`], 8 KiB-aligned)
/// and allocates a new one each time it seals the last: every 512 KiB written and every
/// flush. glibc maps a block that large on its own and unmaps it when it is freed, so each
/// buffer came from the kernel a page fault at a time, zeroed: in a cold ingest of 1,000
/// feeds × 30 items, ~700 buffers and more than half of the process's page faults
/// (BENCHMARKS.md, issue 8). Up to two freed buffers (1 MiB) wait for the next one;
/// [`release_free_memory`] gives them back, so a daemon at rest holds none for long.
pub struct Allocator;

// SAFETY: every block comes from `System`; a pooled block is one `System` allocated with
// the layout it is handed out again for, and is handed out at most once (see `Pool`).
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Pool::fits(layout) {
            if let Some(p) = LOG_BUFFERS.take() {
                return p;
            }
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Pool::fits(layout) && LOG_BUFFERS.keep(ptr) {
            return;
        }
        // SAFETY: `ptr` came from `System` with `layout` (see above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Pooled blocks are not zeroed; the system's fresh pages are.
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`, pooled or not.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_keeps_log_buffers_up_to_its_size_and_gives_them_back() {
        let pool = Pool::new();
        let layout = LOG_BUFFER;
        assert!(Pool::fits(layout));
        assert!(!Pool::fits(
            Layout::from_size_align(LOG_BUFFER_BYTES, 8).unwrap()
        ));
        assert!(!Pool::fits(
            Layout::from_size_align(LOG_BUFFER_BYTES / 2, 8192).unwrap()
        ));
        assert_eq!(pool.take(), None);
        // SAFETY: a valid non-zero layout; each block is freed once, below or by `drain`.
        let blocks: Vec<*mut u8> = (0..POOLED + 1)
            .map(|_| unsafe { System.alloc(layout) })
            .collect();
        assert!(blocks.iter().all(|p| !p.is_null()));
        for &p in &blocks[..POOLED] {
            assert!(pool.keep(p));
        }
        assert!(!pool.keep(blocks[POOLED]), "a full pool keeps no more");
        // SAFETY: the pool refused it, so it is still ours.
        unsafe { System.dealloc(blocks[POOLED], layout) };
        let again = pool.take().expect("a kept block");
        assert!(blocks.contains(&again));
        assert!(pool.keep(again));
        pool.drain();
        assert_eq!(pool.take(), None, "drained");
    }

    #[test]
    fn the_pooled_size_is_the_stores_log_buffer() {
        // sled allocates its log buffers one segment long; the store keeps sled's default.
        assert_eq!(sled::Config::new().segment_size, LOG_BUFFER_BYTES);
    }
}
