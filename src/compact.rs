//! [`CompactHeap`]: fewer pages and a smaller module, for programs that count bytes before time.

mod raw;

pub use crate::pages::Limits;
#[cfg(any(test, feature = "testing"))]
pub use raw::FreeReport;
pub use raw::{CompactRaw, GRANULE};

use crate::lock::HeapLock;
use crate::source::{PageSource, WasmMemory};
use crate::{Call, Outcome, Stats};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

/// A global allocator for fewer pages and a smaller module: one address-ordered list of free
/// blocks, best fit, no block headers (README, "CompactHeap").
///
/// Install it with
/// `#[global_allocator] static HEAP: growheap::CompactHeap = growheap::CompactHeap::new();`.
///
/// It keeps the same [`Stats`] as [`GrowHeap`](crate::GrowHeap), counts foreign pages the same
/// way and, with the `host-export` feature, shows them to hosts the same way. Every call walks
/// the free list, so it is several times slower than `GrowHeap` when many blocks are free.
pub struct CompactHeap<S: PageSource = WasmMemory> {
    heap: HeapLock<CompactRaw<S>>,
    #[cfg(feature = "host-export")]
    export: crate::export::Publisher,
}

impl CompactHeap {
    /// A heap over this module's memory that grows on demand, as little as it can, with no cap.
    #[must_use]
    pub const fn new() -> Self {
        Self::with_source(WasmMemory::new())
    }
}

impl Default for CompactHeap {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: PageSource> CompactHeap<S> {
    /// A heap over another page source (tests use a fake one).
    #[must_use]
    pub const fn with_source(source: S) -> Self {
        CompactHeap {
            heap: HeapLock::new(CompactRaw::new(source, Limits::NONE)),
            #[cfg(feature = "host-export")]
            export: crate::export::Publisher::new(),
        }
    }

    /// Cap the pages this heap may grow in total. Past the cap, allocations that need more
    /// memory return null and count in [`Stats::failed_grows`].
    #[must_use]
    pub const fn max_pages(mut self, pages: usize) -> Self {
        let heap = self.heap.get_mut();
        heap.set_limits(Limits { max_pages: pages, ..heap.limits() });
        self
    }

    /// Grow at least `pages` pages per `memory.grow`, fewer only if the cap leaves fewer, as
    /// [`GrowHeap::min_grow_pages`](crate::GrowHeap::min_grow_pages) does.
    #[must_use]
    pub const fn min_grow_pages(mut self, pages: usize) -> Self {
        let heap = self.heap.get_mut();
        heap.set_limits(Limits { min_grow_pages: pages, ..heap.limits() });
        self
    }

    /// The statistics so far.
    pub fn stats(&self) -> Stats {
        self.heap.with(|heap: &mut CompactRaw<S>| heap.stats()).unwrap_or_default()
    }

    /// Grow memory now, unless a free block is large enough already, so that an allocation of
    /// `bytes` (alignment up to 8) can be served without growing. False if the growth was
    /// refused, if `bytes` exceeds `isize::MAX`, or if the heap is busy (a call from inside it,
    /// on single-threaded wasm). As [`GrowHeap::reserve`](crate::GrowHeap::reserve), it saves
    /// `memory.grow` calls later, not the cost of the first writes to the new pages, and is a
    /// hint only where threads share the heap (another thread may take the memory first).
    pub fn reserve(&self, bytes: usize) -> bool {
        // SAFETY: the heap's memory is only handed out through this allocator.
        self.call(Call::Other, |heap| unsafe { heap.reserve(bytes) }).unwrap_or(false)
    }

    /// Walk the free list and check it (feature `testing`); see [`CompactRaw::validate`].
    ///
    /// # Errors
    /// The first broken invariant, described.
    #[cfg(any(test, feature = "testing"))]
    pub fn validate(&self) -> Result<FreeReport, crate::raw::ValidationError> {
        self.heap.with(|heap: &mut CompactRaw<S>| heap.validate()).unwrap_or_else(|| Err("heap busy".into()))
    }

    /// Run `f`, a call of kind `call`, on the heap, and show the outcome to hosts (feature
    /// `host-export`).
    #[inline]
    fn call<R: Outcome>(
        &self,
        #[cfg_attr(not(feature = "host-export"), allow(unused_variables))] call: Call,
        f: impl FnOnce(&mut CompactRaw<S>) -> R,
    ) -> Option<R> {
        self.heap.with(|heap| {
            #[cfg(feature = "host-export")]
            let before = (heap.stats_ref().grow_calls, heap.stats_ref().failed_grows);
            let result = f(heap);
            #[cfg(feature = "host-export")]
            {
                let stats = heap.stats_ref();
                if stats.grow_calls != before.0 {
                    crate::export::note_growth((stats.grow_calls - before.0) as u32);
                }
                // A call that grew or failed changed the growth counters too.
                let changed = (stats.grow_calls, stats.failed_grows) != before;
                let call = if changed || !result.succeeded() { Call::Other } else { call };
                self.export.publish(stats, call);
            }
            result
        })
    }
}

// SAFETY: blocks come from `CompactRaw`, which hands out each byte to one live block at a time,
// aligned as the layout asks, and keeps the contents of a reallocated block up to the smaller
// size. Null is returned, never a trap, when memory cannot be had.
unsafe impl<S: PageSource> GlobalAlloc for CompactHeap<S> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the heap's memory is only handed out through this allocator, and `layout` is
        // a valid layout.
        self.call(Call::Alloc, |heap| unsafe { heap.alloc(layout.size(), layout.align()) })
            .unwrap_or(ptr::null_mut())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        self.call(Call::Alloc, |heap| unsafe { heap.alloc_zeroed(layout.size(), layout.align()) })
            .unwrap_or(ptr::null_mut())
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller promises `block` came from this allocator with `layout`.
        self.call(Call::Dealloc, |heap| unsafe { heap.dealloc(block, layout.size()) });
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller promises `block` came from this allocator with `layout`, and that
        // `new_size` makes a valid layout with its alignment.
        self.call(Call::Realloc, |heap| unsafe {
            heap.realloc(block, layout.size(), layout.align(), new_size)
        })
        .unwrap_or(ptr::null_mut())
    }
}
