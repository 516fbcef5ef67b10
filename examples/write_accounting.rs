//! What a steady daemon's store writes, three ways: the bytes handed to `pwrite` (`wchar` of
//! `/proc/self/io`), the kernel's `write_bytes` accounting, and what the block device that
//! holds the store wrote (`/sys/dev/block/MAJOR:MINOR/stat`, every process's writes).
//!
//! A store of 10,000 source states (the steady bench's sources), then UPDATES of them at
//! random, flushed every PER_FLUSH updates: at a 15-minute interval 10,000 sources make ~11
//! polls a second, so the daemon's flush every 500 ms covers ~5 of them.
//!
//! ```sh
//! cargo run --release --example write_accounting -- 5 13000
//! ```
//!
//! Run it on a quiet machine: the device figure counts everyone's writes.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use wirefold::storage::{SourceState, Store};

fn io_counter(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn device_written(path: &Path) -> u64 {
    let Ok(dev) = std::fs::metadata(path).map(|m| m.dev()) else {
        return 0;
    };
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/stat"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(6)?.parse::<u64>().ok())
        .map_or(0, |sectors| sectors * 512)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|v| v.parse::<u64>());
    let per_flush = args.next().unwrap_or(Ok(5))?.max(1);
    let updates = args.next().unwrap_or(Ok(13_000))?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), Duration::from_secs(60))?;
    let state = |i: u64| SourceState {
        polls: i,
        feed_title: Some(format!("Feed number {i}")),
        etag: Some(format!("\"{i:016x}\"")),
        ..SourceState::default()
    };
    for i in 0..10_000u64 {
        store.put_source_state(&format!("source-{i:05}"), &state(i))?;
    }
    store.flush()?;
    std::thread::sleep(Duration::from_secs(5));
    let (wchar0, wb0, dev0) = (
        io_counter("wchar"),
        io_counter("write_bytes"),
        device_written(dir.path()),
    );
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut flushes = 0u64;
    for n in 0..updates {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        store.put_source_state(&format!("source-{:05}", x % 10_000), &state(n))?;
        if (n + 1) % per_flush == 0 {
            store.flush()?;
            flushes += 1;
        }
    }
    store.flush()?;
    // Past the kernel's writeback of anything left dirty (the device counts it then).
    std::thread::sleep(Duration::from_secs(6));
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "{updates} updates, {flushes} flushes: handed to pwrite {:.1} MB, write_bytes {:.1} MB, \
         device {:.1} MB",
        mb(io_counter("wchar").saturating_sub(wchar0)),
        mb(io_counter("write_bytes").saturating_sub(wb0)),
        mb(device_written(dir.path()).saturating_sub(dev0)),
    );
    Ok(())
}
