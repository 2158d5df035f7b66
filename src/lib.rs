#![doc = include_str!("../README.md")]
#![no_std]

#[cfg(feature = "host-export")]
pub mod export;
mod lock;
pub mod raw;
pub mod source;
mod stats;

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;
use lock::HeapLock;
use raw::{Limits, RawHeap};
pub use source::PAGE_SIZE;
use source::WasmMemory;
pub use stats::{GrowEvent, Stats};

/// The global allocator: install it with
/// `#[global_allocator] static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();`.
///
/// Everything a `static` needs is `const`: configure it with the builder methods in the same
/// line. See the [crate docs](crate) for the design.
pub struct GrowHeap {
    limits: Limits,
    on_grow: Option<fn(GrowEvent)>,
    heap: HeapLock<RawHeap<WasmMemory>>,
}

impl GrowHeap {
    /// A heap that grows memory on demand, a page at a time, with no cap.
    #[must_use]
    pub const fn new() -> Self {
        Self::build(Limits::NONE, None)
    }

    const fn build(limits: Limits, on_grow: Option<fn(GrowEvent)>) -> Self {
        GrowHeap { limits, on_grow, heap: HeapLock::new(RawHeap::new(WasmMemory::new(), limits)) }
    }

    /// Cap the pages this heap may grow in total. Past the cap, allocations that need more
    /// memory return null and count in [`Stats::failed_grows`].
    #[must_use]
    pub const fn max_pages(self, pages: usize) -> Self {
        Self::build(Limits { max_pages: pages, ..self.limits }, self.on_grow)
    }

    /// Grow at least `pages` pages per `memory.grow` (fewer only if the cap leaves fewer). Fewer,
    /// larger growths matter where `memory.grow` is slow (browsers) or detaches JS views.
    #[must_use]
    pub const fn min_grow_pages(self, pages: usize) -> Self {
        Self::build(Limits { min_grow_pages: pages, ..self.limits }, self.on_grow)
    }

    /// Call `hook` after each successful growth of memory by this heap, once the heap is
    /// unlocked again: the hook may allocate. A JS host uses this to rebuild its views of memory.
    #[must_use]
    pub const fn on_grow(self, hook: fn(GrowEvent)) -> Self {
        Self::build(self.limits, Some(hook))
    }

    /// The statistics so far.
    pub fn stats(&self) -> Stats {
        self.heap.with(|heap: &mut RawHeap<WasmMemory>| heap.stats()).unwrap_or_default()
    }

    /// Grow memory now so that an allocation of `bytes` (alignment up to 8) can be served without
    /// growing. False if the growth was refused.
    pub fn reserve(&self, bytes: usize) -> bool {
        // SAFETY: the heap's memory is only handed out through this allocator.
        self.call(|heap| unsafe { heap.reserve(bytes) }).unwrap_or(false)
    }

    /// Run `f` on the heap, then report its growth to the hook outside the lock.
    #[inline]
    fn call<R>(&self, f: impl FnOnce(&mut RawHeap<WasmMemory>) -> R) -> Option<R> {
        let (result, growth) = self.heap.with(|heap| {
            let result = f(heap);
            #[cfg(feature = "host-export")]
            export::publish(heap.stats());
            (result, heap.growth_pending().then(|| heap.take_growth()))
        })?;
        if let Some(growth) = growth {
            #[cfg(feature = "host-export")]
            export::note_growth(growth.events().count() as u32);
            if let Some(hook) = self.on_grow {
                growth.events().for_each(hook);
            }
        }
        Some(result)
    }
}

impl Default for GrowHeap {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: blocks come from `RawHeap`, which hands out each byte to one live block at a time,
// aligned as the layout asks, and leaves the contents of a reallocated block intact up to the
// smaller size. Null is returned, never a trap, when memory cannot be had.
unsafe impl GlobalAlloc for GrowHeap {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the heap's memory is only handed out through this allocator.
        self.call(|heap| unsafe { heap.alloc(layout) }).unwrap_or(ptr::null_mut())
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        self.call(|heap| unsafe { heap.alloc_zeroed(layout) }).unwrap_or(ptr::null_mut())
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller promises `block` came from this allocator with `layout`.
        self.call(|heap| unsafe { heap.dealloc(block, layout) });
    }

    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller promises `block` came from this allocator with `layout` and that
        // `new_size` is valid for it.
        self.call(|heap| unsafe { heap.realloc(block, layout, new_size) }).unwrap_or(ptr::null_mut())
    }
}
