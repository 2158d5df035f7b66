//! The host export (feature `host-export`): statistics any host can read without guest glue.
//!
//! - `growheap_stats() -> *const u64` points at eleven little-endian `u64` in linear memory: the
//!   layout version ([`LAYOUT_VERSION`]), then the ten [`Stats`] fields in declaration order. The
//!   snapshot is refreshed by each call.
//! - `growheap_epoch() -> u32` changes after every growth of memory made by the heap, so a JS
//!   host can compare it before reusing a cached view of `memory.buffer`.
//!
//! Both report the [`GrowHeap`] that served the latest allocator call: each call copies its
//! statistics here (a few dozen bytes), which is the price of the feature.

use crate::Stats;
use crate::lock::HeapLock;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Version of the snapshot layout; bumped if the fields ever change.
pub const LAYOUT_VERSION: u64 = 1;

/// Number of `u64` in the snapshot: the version and ten fields.
pub const SNAPSHOT_WORDS: usize = 11;

/// Statistics of the heap that served the latest call.
static LATEST: HeapLock<Stats> = HeapLock::new(Stats::ZERO);
/// Growths of memory made by the heap so far.
static EPOCH: AtomicU32 = AtomicU32::new(0);
/// The snapshot `growheap_stats` points at. `AtomicU64` has the layout of `u64`.
static SNAPSHOT: [AtomicU64; SNAPSHOT_WORDS] = [const { AtomicU64::new(0) }; SNAPSHOT_WORDS];

/// Publish the statistics after a call.
#[inline]
pub(crate) fn publish(stats: Stats) {
    LATEST.with(|latest| *latest = stats);
}

/// Count `growths` growths of memory.
#[inline]
pub(crate) fn note_growth(growths: u32) {
    EPOCH.fetch_add(growths, Ordering::Release);
}

/// The snapshot as the host sees it.
fn snapshot(stats: &Stats) -> [u64; SNAPSHOT_WORDS] {
    [
        LAYOUT_VERSION,
        stats.grow_calls,
        stats.failed_grows,
        stats.pages_grown as u64,
        stats.foreign_pages as u64,
        stats.heap_bytes as u64,
        stats.live_bytes as u64,
        stats.peak_live_bytes as u64,
        stats.allocations,
        stats.deallocations,
        stats.reallocations,
    ]
}

/// Refresh the snapshot and return a pointer to it (exported as `growheap_stats`).
#[unsafe(no_mangle)]
pub extern "C" fn growheap_stats() -> *const u64 {
    let stats = LATEST.with(|latest| *latest).unwrap_or_default();
    for (slot, value) in SNAPSHOT.iter().zip(snapshot(&stats)) {
        slot.store(value.to_le(), Ordering::Relaxed);
    }
    SNAPSHOT.as_ptr().cast()
}

/// The growth epoch (exported as `growheap_epoch`).
#[unsafe(no_mangle)]
pub extern "C" fn growheap_epoch() -> u32 {
    EPOCH.load(Ordering::Acquire)
}
