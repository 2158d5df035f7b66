//! The host export (feature `host-export`): statistics any host can read without guest glue.
//!
//! - `growheap_stats() -> *const u64` points at eleven little-endian `u64` in linear memory:
//!   [`Stats::to_snapshot`], that is the layout version ([`LAYOUT_VERSION`]) and then the ten
//!   [`Stats`] fields in declaration order. Each call refreshes the snapshot. A host decodes it
//!   with [`Stats::from_snapshot`], which needs no feature.
//! - A `wasm32-wasip1` command (a `bin`) exports only `_start` and its memory unless told
//!   otherwise: ask the linker for both symbols, for example in `build.rs` with
//!   `cargo:rustc-link-arg-bins=--export=growheap_stats` (and the same for `growheap_epoch`).
//! - `growheap_epoch() -> u32` changes after every growth of memory made by the heap, so a JS
//!   host can compare it before reusing a cached view of `memory.buffer`.
//!
//! Both report the [`GrowHeap`] that served the latest allocator call: each call copies its
//! statistics here (a few dozen bytes), which is the price of the feature.

use crate::Stats;
use crate::lock::HeapLock;
pub use crate::stats::{SNAPSHOT_VERSION as LAYOUT_VERSION, SNAPSHOT_WORDS};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

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

/// Refresh the snapshot and return a pointer to it (exported as `growheap_stats`).
#[unsafe(no_mangle)]
pub extern "C" fn growheap_stats() -> *const u64 {
    let stats = LATEST.with(|latest| *latest).unwrap_or_default();
    for (slot, value) in SNAPSHOT.iter().zip(stats.to_snapshot()) {
        slot.store(value.to_le(), Ordering::Relaxed);
    }
    SNAPSHOT.as_ptr().cast()
}

/// The growth epoch (exported as `growheap_epoch`).
#[unsafe(no_mangle)]
pub extern "C" fn growheap_epoch() -> u32 {
    EPOCH.load(Ordering::Acquire)
}
