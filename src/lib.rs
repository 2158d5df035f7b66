// The README without its images (see `build.rs`).
#![doc = include_str!(concat!(env!("OUT_DIR"), "/crate-docs.md"))]
#![no_std]
// `core::arch::wasm64` (for `memory.grow`) is still unstable; wasm64 targets need nightly and
// `-Z build-std` anyway.
#![cfg_attr(target_arch = "wasm64", feature(simd_wasm64))]

pub mod compact;
#[cfg(feature = "host-export")]
pub mod export;
mod lock;
mod pages;
pub mod raw;
pub mod source;
mod stats;

pub use compact::CompactHeap;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr;
use lock::{HeapLock, Locked};
use raw::{Limits, RawHeap};
pub use source::PAGE_SIZE;
use source::{PageSource, WasmMemory};
pub use stats::{FIELD_NAMES, GrowEvent, SNAPSHOT_VERSION, SNAPSHOT_WORDS, Stats};

/// Whether the heap takes a spin lock on this target (true wherever threads can exist), or a
/// plain cell (single-threaded wasm). See `build.rs` and the `lock` module for how that is decided.
pub const USES_LOCK: bool = cfg!(not(all(growheap_single_thread, not(target_feature = "atomics"))));

/// The global allocator: install it with
/// `#[global_allocator] static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();`.
///
/// Everything a `static` needs is `const`: configure it with the builder methods in the same
/// line. See the [crate docs](crate) for the design. The page source `S` is this module's
/// linear memory unless you bring your own ([`GrowHeap::with_source`]).
pub struct GrowHeap<S: PageSource = WasmMemory> {
    on_grow: Option<fn(GrowEvent)>,
    heap: HeapLock<RawHeap<S>>,
    #[cfg(feature = "host-export")]
    export: export::Publisher,
}

impl GrowHeap {
    /// A heap over this module's memory that grows on demand, by as few pages as each request
    /// needs, with no cap.
    #[must_use]
    pub const fn new() -> Self {
        Self::with_source(WasmMemory::new())
    }
}

impl<S: PageSource> GrowHeap<S> {
    /// A heap over another page source (tests use a fake one).
    #[must_use]
    pub const fn with_source(source: S) -> Self {
        GrowHeap {
            on_grow: None,
            heap: HeapLock::new(RawHeap::new(source, Limits::NONE)),
            #[cfg(feature = "host-export")]
            export: export::Publisher::new(),
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

    /// Grow at least `pages` pages per `memory.grow` (fewer only if the cap leaves fewer). Fewer,
    /// larger growths detach a JS host's views of memory less often, and save time where
    /// `memory.grow` is slow. In `scripts/bench` it was not: a growth by one page took about 2 µs
    /// under Node 20, and under Node as under wasmtime, 2 growths instead of 31 did not make the
    /// run that grows measurably faster (README, "Benchmarks").
    #[must_use]
    pub const fn min_grow_pages(mut self, pages: usize) -> Self {
        let heap = self.heap.get_mut();
        heap.set_limits(Limits { min_grow_pages: pages, ..heap.limits() });
        self
    }

    /// With `false`, merge every freed block with its free neighbours at once, instead of
    /// keeping freed blocks under 64 KiB whole on quick lists for the next request of their size
    /// class (README, "How it works"). The lists already give way while less than 128 KiB of
    /// fresh memory is left, near the high-water mark, so on the benchmark's random-actions this
    /// saves no page on average and runs slower than talc (README, "Benchmarks"); it is for a
    /// program that wants every free merged while fresh memory lasts too.
    #[must_use]
    pub const fn quick_lists(mut self, enabled: bool) -> Self {
        self.heap.get_mut().set_quick_lists(enabled);
        self
    }

    /// Call `hook` after each successful growth of memory by this heap, once the heap is
    /// unlocked again: the hook may allocate. A JS host uses this to rebuild its views of memory.
    #[must_use]
    pub const fn on_grow(mut self, hook: fn(GrowEvent)) -> Self {
        self.on_grow = Some(hook);
        self
    }

    /// The statistics so far.
    pub fn stats(&self) -> Stats {
        self.heap.with(|heap: &mut RawHeap<S>| heap.stats()).unwrap_or_default()
    }

    /// Grow memory now so that an allocation of `bytes` (alignment up to 8) can be served without
    /// growing. False if the growth was refused and no memory the heap holds makes room, if `bytes`
    /// exceeds `isize::MAX`, or if the heap is busy (a call from inside it, on single-threaded
    /// wasm; with threads that call deadlocks, see README, "Drawbacks"). This saves `memory.grow`
    /// calls later, not the cost of the first writes to the new pages, which is paid when they
    /// happen (README, "Benchmarks"). Where threads share the heap it is a hint only: another
    /// thread may take the memory first.
    pub fn reserve(&self, bytes: usize) -> bool {
        // SAFETY: the heap's memory is only handed out through this allocator.
        self.call(Call::Other, |heap| unsafe { heap.reserve(bytes) }).unwrap_or(false)
    }

    /// Give back to the general pool every slab of small blocks that holds no live block, and merge
    /// every freed block that waits on a quick list. Up to two slabs stay with their class when
    /// they empty, so that a block allocated and freed in a loop does not take and return a slab
    /// each time, and freed blocks under 64 KiB wait whole for a request of their size class until
    /// fresh memory runs low (less than 128 KiB left) or memory would grow; `trim` releases both.
    /// Memory is not returned to the host (wasm memory cannot shrink), but becomes free for any
    /// size.
    pub fn trim(&self) {
        self.heap.with(|heap: &mut RawHeap<S>| heap.trim());
    }

    /// Run the whole-heap validator (feature `testing`).
    ///
    /// # Errors
    /// The first broken invariant, described.
    #[cfg(any(test, feature = "testing"))]
    pub fn validate(&self) -> Result<raw::HeapReport, raw::ValidationError> {
        self.heap.with(|heap: &mut RawHeap<S>| heap.validate()).unwrap_or_else(|| Err("heap busy".into()))
    }

    /// Panic, outside the lock, if `block` may not be freed with `layout` (feature
    /// `debug-checks`).
    #[cfg(feature = "debug-checks")]
    fn assert_freeable(&self, block: *mut u8, layout: Layout) {
        if let Some(Err(error)) = self.heap.with(|heap: &mut RawHeap<S>| heap.check_free(block, layout)) {
            let _abort = AbortOnUnwind;
            panic!("growheap: {error}");
        }
    }

    /// Run `f`, a call of kind `call`, on the heap; a call that grew memory goes on in
    /// [`finish_growth`](Self::finish_growth).
    #[inline]
    fn call<R: Outcome>(
        &self,
        #[cfg_attr(not(feature = "host-export"), allow(unused_variables))] call: Call,
        f: impl FnOnce(&mut RawHeap<S>) -> R,
    ) -> Option<R> {
        let mut heap = self.heap.lock()?;
        #[cfg(feature = "host-export")]
        let failed_before = heap.stats_ref().failed_grows;
        let result = f(&mut heap);
        if heap.growth_pending() {
            self.finish_growth(heap);
            return Some(result);
        }
        #[cfg(feature = "host-export")]
        {
            // A call that failed, or was refused a growth on its way to success, changed the
            // growth counters too.
            let refused = heap.stats_ref().failed_grows != failed_before;
            let call = if refused || !result.succeeded() { Call::Other } else { call };
            self.export.publish(heap.stats_ref(), call);
        }
        heap.unlock();
        Some(result)
    }

    /// End a call that grew memory: publish every field (feature `host-export`), take the call's
    /// growths and count them in the epoch, all before the lock is released, so that no other
    /// thread's call can add to the log first and a host sees the new epoch once the call
    /// returns; then hand the growths to the hook, outside the lock. Out of line, and given the
    /// lock itself (one pointer), so that the growths are copied only here: most calls do not
    /// grow.
    #[cold]
    #[inline(never)]
    fn finish_growth(&self, mut heap: Locked<'_, RawHeap<S>>) {
        #[cfg(feature = "host-export")]
        self.export.publish(heap.stats_ref(), Call::Other);
        let growth = heap.take_growth();
        #[cfg(feature = "host-export")]
        export::note_growth(growth.events().count() as u32);
        heap.unlock();
        if let Some(hook) = self.on_grow {
            let abort = AbortOnUnwind;
            growth.events().for_each(hook);
            core::mem::forget(abort);
        }
    }
}

/// Ends the program if dropped while a panic unwinds. A global allocator must not unwind (the
/// docs of `GlobalAlloc`), so a panic raised inside one, by a debug check or by a user's
/// `on_grow` hook, must stop there: the panic's message is printed, and this drop, panicking
/// again during the unwinding, makes the runtime abort. Where panics abort anyway (wasm's
/// default) nothing changes.
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        panic!("growheap: a panic may not unwind out of the allocator");
    }
}

/// The kind of an allocator call: it decides which statistics the call can change, so that the
/// host export (feature `host-export`) rewrites only those.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "host-export"), allow(dead_code))]
enum Call {
    /// A successful `alloc` or `alloc_zeroed`: live and peak bytes, allocations.
    Alloc,
    /// A successful `realloc`: live and peak bytes, reallocations.
    Realloc,
    /// A `dealloc`: live bytes, deallocations.
    Dealloc,
    /// Anything else, and any call that grew memory, failed, or had a growth refused: every field.
    Other,
}

/// Whether a call's result says it succeeded.
trait Outcome {
    #[cfg_attr(not(feature = "host-export"), allow(dead_code))]
    fn succeeded(&self) -> bool;
}

impl Outcome for *mut u8 {
    fn succeeded(&self) -> bool {
        !self.is_null()
    }
}

impl Outcome for () {
    fn succeeded(&self) -> bool {
        true
    }
}

impl Outcome for bool {
    fn succeeded(&self) -> bool {
        *self
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
unsafe impl<S: PageSource> GlobalAlloc for GrowHeap<S> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the heap's memory is only handed out through this allocator.
        self.call(Call::Alloc, |heap| unsafe { heap.alloc(layout) }).unwrap_or(ptr::null_mut())
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        self.call(Call::Alloc, |heap| unsafe { heap.alloc_zeroed(layout) }).unwrap_or(ptr::null_mut())
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        #[cfg(feature = "debug-checks")]
        self.assert_freeable(block, layout);
        // A free never grows memory, so it has no growth to report: no `call`.
        self.heap.with(|heap| {
            // SAFETY: the caller promises `block` came from this allocator with `layout`.
            unsafe { heap.dealloc(block, layout) };
            #[cfg(feature = "host-export")]
            self.export.publish(heap.stats_ref(), Call::Dealloc);
        });
    }

    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        #[cfg(feature = "debug-checks")]
        self.assert_freeable(block, layout);
        // SAFETY: the caller promises `block` came from this allocator with `layout` and that
        // `new_size` is valid for it.
        self.call(Call::Realloc, |heap| unsafe { heap.realloc(block, layout, new_size) })
            .unwrap_or(ptr::null_mut())
    }
}
