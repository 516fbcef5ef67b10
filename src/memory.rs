//! The process's side of memory use: glibc allocator settings made at start, and handing
//! freed heap pages back to the system while the daemon runs.
//!
//! glibc's allocator gives every thread that allocates an arena of its own (up to 8 per core)
//! and returns freed memory to the system only from the top of a heap, above a threshold it
//! raises as the process runs. After a burst of polls that leaves tens of megabytes parked in
//! arenas, and pages freed in the middle of a heap stay resident until `malloc_trim` gives
//! them back. Elsewhere (musl, other systems) these are no-ops.

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
pub fn release_free_memory() -> Duration {
    let start = Instant::now();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim has no preconditions; it takes the arena locks itself.
        unsafe { libc::malloc_trim(0) };
    }
    start.elapsed()
}
