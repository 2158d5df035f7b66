//! The host export (feature `host-export`): statistics any host can read without guest glue.
//!
//! - `growheap_stats() -> *const u64` (an `i32` to the host on wasm32, an `i64` on wasm64)
//!   points at eleven little-endian `u64` in linear memory: [`Stats::to_snapshot`], that is the
//!   layout version ([`LAYOUT_VERSION`]) and then the ten [`Stats`] fields in declaration order.
//!   A host decodes it with [`Stats::from_snapshot`], which needs no feature.
//! - A `wasm32-wasip1` command (a `bin`) exports only `_start` and its memory unless told
//!   otherwise: ask the linker for both symbols, for example in `build.rs` with
//!   `cargo:rustc-link-arg-bins=--export=growheap_stats` (and the same for `growheap_epoch`).
//! - `growheap_epoch() -> u32` changes after every growth of memory made by the heap, so a JS
//!   host can compare it before reusing a cached view of `memory.buffer`.
//!
//! Both report the heap ([`GrowHeap`](crate::GrowHeap) or [`CompactHeap`](crate::CompactHeap))
//! that served the latest allocator call. Each call writes the snapshot words it changed (three at
//! most); a call served by a different heap than the one before, and a call that grew memory,
//! failed, or had a growth refused on its way to success, writes all ten fields.

pub use crate::stats::{SNAPSHOT_VERSION as LAYOUT_VERSION, SNAPSHOT_WORDS};
use crate::{Call, Stats};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Id of the heap whose statistics the snapshot shows; [`NO_ID`] before the first call.
static SHOWN: AtomicU32 = AtomicU32::new(NO_ID);
/// The id of no heap: a heap's id before its first call, and what [`SHOWN`] starts with. The two
/// differ, so that a heap's first call finds it is not the one shown.
const UNASSIGNED: u32 = 0;
const NO_ID: u32 = u32::MAX;
/// The next heap id to hand out.
static NEXT_ID: AtomicU32 = AtomicU32::new(1);
/// Growths of memory made by the heap so far.
static EPOCH: AtomicU32 = AtomicU32::new(0);
/// The snapshot `growheap_stats` points at, always current. `AtomicU64` has the layout of `u64`.
static SNAPSHOT: [AtomicU64; SNAPSHOT_WORDS] = {
    let mut words = [const { AtomicU64::new(0) }; SNAPSHOT_WORDS];
    words[0] = AtomicU64::new(LAYOUT_VERSION.to_le());
    words
};

/// Snapshot words of the fields a call may change when it neither grows memory nor fails.
const LIVE_BYTES: usize = 6;
const PEAK_LIVE_BYTES: usize = 7;
const ALLOCATIONS: usize = 8;
const DEALLOCATIONS: usize = 9;
const REALLOCATIONS: usize = 10;

/// A heap's place in the export: its id, handed out at its first call ([`UNASSIGNED`] before).
pub(crate) struct Publisher {
    id: AtomicU32,
}

impl Publisher {
    pub(crate) const fn new() -> Self {
        Publisher { id: AtomicU32::new(UNASSIGNED) }
    }

    /// Hand this heap its id, at its first call. Called under the heap's lock, so a heap never
    /// gets two. After 2^32 heaps the ids wrap: a heap may then share one with a heap from long
    /// ago, which is harmless unless both still serve calls.
    #[cold]
    #[inline(never)]
    fn assign_id(&self) -> u32 {
        let id = loop {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            if id != UNASSIGNED && id != NO_ID {
                break id;
            }
        };
        self.id.store(id, Ordering::Relaxed);
        id
    }

    /// Show `stats`, this heap's statistics after `call`, in the snapshot.
    ///
    /// Out of line. Inlined into the four allocator calls it saved 5.5 fuel per action on
    /// random-actions (555.7 against 561.2) and cost 92 bytes of module size (6,011 against
    /// 5,919): `scripts/bench` at commits c8bc68e and 768ba28. Module size is a target of the
    /// benchmark; the cost of this feature is not.
    #[inline(never)]
    pub(crate) fn publish(&self, stats: &Stats, call: Call) {
        let _writing = writer::exclusive();
        let id = self.id.load(Ordering::Relaxed);
        if SHOWN.load(Ordering::Relaxed) != id || call == Call::Other {
            let id = if id == UNASSIGNED { self.assign_id() } else { id };
            SHOWN.store(id, Ordering::Relaxed);
            write_all(stats);
            return;
        }
        write(LIVE_BYTES, stats.live_bytes as u64);
        match call {
            Call::Alloc => {
                write(PEAK_LIVE_BYTES, stats.peak_live_bytes as u64);
                write(ALLOCATIONS, stats.allocations);
            }
            Call::Realloc => {
                write(PEAK_LIVE_BYTES, stats.peak_live_bytes as u64);
                write(REALLOCATIONS, stats.reallocations);
            }
            Call::Dealloc => write(DEALLOCATIONS, stats.deallocations),
            Call::Other => {}
        }
    }
}

/// One writer of the snapshot at a time, so that two heaps on two threads cannot mix their
/// fields. Every word is atomic, so this is about consistency, not memory safety.
#[cfg(all(growheap_single_thread, not(target_feature = "atomics")))]
mod writer {
    /// Proof of being the only writer, which costs nothing here: there is one thread, and a
    /// publish calls nothing that could publish.
    pub(super) struct Alone;

    #[inline(always)]
    pub(super) fn exclusive() -> Alone {
        Alone
    }
}

#[cfg(not(all(growheap_single_thread, not(target_feature = "atomics"))))]
mod writer {
    static WRITER: spin::Mutex<()> = spin::Mutex::new(());

    #[inline(always)]
    pub(super) fn exclusive() -> spin::MutexGuard<'static, ()> {
        WRITER.lock()
    }
}

#[inline(always)]
fn write(word: usize, value: u64) {
    SNAPSHOT[word].store(value.to_le(), Ordering::Relaxed);
}

/// Write every field. Out of line: most calls change only three.
#[inline(never)]
fn write_all(stats: &Stats) {
    for (word, value) in stats.to_snapshot().into_iter().enumerate() {
        write(word, value);
    }
}

/// Count `growths` growths of memory.
#[inline]
pub(crate) fn note_growth(growths: u32) {
    EPOCH.fetch_add(growths, Ordering::Release);
}

/// A pointer to the snapshot (exported as `growheap_stats`). The snapshot is kept current by
/// every allocator call; read it between calls.
#[unsafe(no_mangle)]
pub extern "C" fn growheap_stats() -> *const u64 {
    SNAPSHOT.as_ptr().cast()
}

/// The growth epoch (exported as `growheap_epoch`).
#[unsafe(no_mangle)]
pub extern "C" fn growheap_epoch() -> u32 {
    EPOCH.load(Ordering::Acquire)
}
