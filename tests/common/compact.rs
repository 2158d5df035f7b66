//! A checked driver for `CompactHeap`'s core over the fake page source, as [`Checked`] is for
//! `GrowHeap`'s: contents, alignment, overlap, exact statistics and foreign pages after every
//! call, and every byte of the heap's memory in a live block or a free one.
//!
//! [`Checked`]: super::Checked

use super::assert_stats_agree;
use super::shadow::{Shadow, first_difference};
use growheap::compact::{CompactRaw, FreeReport, GRANULE, Limits};
use growheap::source::FakePages;
use growheap::{PAGE_SIZE, Stats};
use std::alloc::Layout;

/// Bytes a block of `size` takes in the compact heap: whole granules, at least one.
pub fn block_bytes(size: usize) -> usize {
    size.max(1).next_multiple_of(GRANULE)
}

pub struct CheckedCompact {
    pub heap: CompactRaw<FakePages>,
    model: Shadow,
    /// Bytes of the initial claim lost to rounding its start up to a granule.
    rounding: usize,
}

impl CheckedCompact {
    /// A heap over `fake`, whose claimable initial memory starts at `heap_base` (as given to
    /// `FakePages::new`).
    pub fn new(fake: FakePages, heap_base: Option<usize>) -> Self {
        // No claim at all (and nothing counted) when the rounded start leaves no granule.
        let initial_end = fake.initial_pages().0 * PAGE_SIZE;
        let rounding = heap_base.map_or(0, |base| {
            let start = base.next_multiple_of(GRANULE);
            if start < initial_end & !(GRANULE - 1) { start - base } else { 0 }
        });
        CheckedCompact {
            heap: CompactRaw::new(fake, Limits::NONE),
            model: Shadow::new(block_bytes),
            rounding,
        }
    }

    /// Over `FakePages::unknown_like`, whose heap base is byte 1024.
    pub fn unknown_like(max_pages: usize) -> Self {
        Self::new(FakePages::unknown_like(max_pages), Some(1024))
    }

    /// Over `FakePages::wasi_like`, which leaves the heap no initial memory.
    pub fn wasi_like(max_pages: usize) -> Self {
        Self::new(FakePages::wasi_like(max_pages), None)
    }

    /// Grow at least `pages` pages at a time.
    #[must_use]
    pub fn min_grow_pages(mut self, pages: usize) -> Self {
        self.heap.set_limits(Limits { min_grow_pages: pages, ..self.heap.limits() });
        self
    }

    pub fn fake(&mut self) -> &mut FakePages {
        // SAFETY: the tests only call `FakePages`'s methods through this, and none of them gives
        // back or moves a page; no test replaces the source.
        unsafe { self.heap.source_mut() }
    }

    pub fn stats(&self) -> Stats {
        self.heap.stats()
    }

    pub fn live_count(&self) -> usize {
        self.model.live_count()
    }

    /// The n-th live block in address order.
    pub fn nth_live(&self, n: usize) -> Option<*mut u8> {
        self.model.nth_live(n)
    }

    /// Allocate and check; `None` when the heap returned null, which must have counted one failed
    /// growth, or two when a larger `min_grow_pages` step was refused first.
    pub fn alloc(&mut self, size: usize, align: usize) -> Option<*mut u8> {
        self.alloc_with(size, align, false)
    }

    /// As [`alloc`](Self::alloc), and every byte of the block must be zero.
    pub fn alloc_zeroed(&mut self, size: usize, align: usize) -> Option<*mut u8> {
        self.alloc_with(size, align, true)
    }

    fn alloc_with(&mut self, size: usize, align: usize, zeroed: bool) -> Option<*mut u8> {
        let layout = Layout::from_size_align(size, align).expect("test layout");
        let failed = self.stats().failed_grows;
        // SAFETY: the heap's memory is touched only through blocks it handed out; the layout is
        // valid.
        let ptr = unsafe {
            if zeroed { self.heap.alloc_zeroed(size, align) } else { self.heap.alloc(size, align) }
        };
        if ptr.is_null() {
            // A larger step than needed (`min_grow_pages`) may be refused first.
            let failures = self.stats().failed_grows - failed;
            assert!((1..=2).contains(&failures), "null after {failures} failed growths");
            self.check();
            return None;
        }
        if zeroed {
            // SAFETY: the block is ours for `size` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(ptr, size) };
            assert_eq!(first_difference(bytes, 0), None, "alloc_zeroed gave non-zero bytes");
        }
        self.model.allocated(self.heap.source(), ptr, layout);
        self.check();
        Some(ptr)
    }

    pub fn dealloc(&mut self, ptr: *mut u8) {
        let live = self.model.freed(ptr);
        // SAFETY: the block is live with this size.
        unsafe { self.heap.dealloc(ptr, live.layout.size()) };
        self.check();
    }

    pub fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> Option<*mut u8> {
        let live = self.model.get(ptr);
        let (size, align) = (live.layout.size(), live.layout.align());
        let failed = self.stats().failed_grows;
        // SAFETY: the block is live with this size and alignment; test sizes are valid.
        let moved = unsafe { self.heap.realloc(ptr, size, align, new_size) };
        if moved.is_null() {
            // A growth in place may be refused before the move's.
            assert!(self.stats().failed_grows > failed, "realloc null without a failed growth");
            live.verify(size);
            self.check();
            return None;
        }
        self.model.reallocated(self.heap.source(), live, moved, new_size);
        self.check();
        Some(moved)
    }

    /// Reserve room for `bytes`: after `true`, a free block holds them, so that their
    /// allocation will not grow; `false` only past any `Layout` or with a growth refused.
    pub fn reserve(&mut self, bytes: usize) -> bool {
        let failed = self.stats().failed_grows;
        // SAFETY: the heap's memory is touched only through blocks it handed out.
        let reserved = unsafe { self.heap.reserve(bytes) };
        self.check();
        if reserved {
            let largest = self.validate().largest;
            assert!(largest >= block_bytes(bytes), "reserved {bytes} bytes, largest free block {largest}");
        } else if bytes <= isize::MAX as usize {
            assert!(self.stats().failed_grows > failed, "reserve false without a failed growth");
        }
        reserved
    }

    pub fn free_all(&mut self) {
        self.model.blocks().into_iter().for_each(|ptr| self.dealloc(ptr));
    }

    /// Every live block still holds its fill.
    pub fn verify_all(&self) {
        self.model.verify_all();
    }

    /// With every block freed, the largest free block serves one allocation of its whole size
    /// without growing: merging left no two free blocks touching.
    pub fn check_reuse_after_free_all(&mut self) {
        assert_eq!(self.live_count(), 0, "free everything first");
        let report = self.validate();
        if report.largest > 0 {
            let grown = self.stats().pages_grown;
            let whole = self.alloc(report.largest, GRANULE).expect("the largest free block must serve");
            assert_eq!(self.stats().pages_grown, grown, "serving a free block must not grow");
            self.dealloc(whole);
        }
    }

    /// The free list, checked; its totals.
    pub fn validate(&self) -> FreeReport {
        let steps = self.model.steps;
        self.heap.validate().unwrap_or_else(|error| panic!("free list after step {steps}: {error}"))
    }

    /// Statistics equal to the model and to the host; the free list valid; every byte of the
    /// heap's memory in a live block or a free one.
    fn check(&mut self) {
        self.model.steps += 1;
        let stats = self.stats();
        let fake = self.heap.source();
        assert_stats_agree(&stats, &self.model.expected, fake, self.model.steps);
        let free = self.validate();
        let live = self.model.live_bytes_taken();
        let claimed = stats.heap_bytes.saturating_sub(self.rounding);
        assert_eq!(free.bytes + live, claimed, "bytes lost or found: {free:?}, {live} live");
        // Scanning foreign memory is costly; every 256 steps is enough to catch a trespass.
        if self.model.steps % 256 == 0 {
            assert_eq!(fake.first_trespass(), None, "wrote to static or foreign memory");
        }
    }
}
