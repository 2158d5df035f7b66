//! A checked driver for the raw heap over the fake page source: every call is verified against a
//! shadow model (contents, alignment, overlap, foreign pages, exact statistics) and followed by
//! the whole-heap validator.
#![allow(dead_code)]

pub mod actions;
pub mod compact;
pub mod shadow;

use growheap::Stats;
use growheap::raw::{HeapReport, Limits, RawHeap};
use growheap::source::FakePages;
use shadow::{Shadow, first_difference};
use std::alloc::Layout;

/// `stats` agree with a model's call figures (`expected`) and with the fake host's growth
/// figures, after `step` calls.
pub fn assert_stats_agree(stats: &Stats, expected: &Stats, fake: &FakePages, step: usize) {
    let e = expected;
    assert_eq!(
        (
            stats.allocations,
            stats.deallocations,
            stats.reallocations,
            stats.live_bytes,
            stats.peak_live_bytes
        ),
        (e.allocations, e.deallocations, e.reallocations, e.live_bytes, e.peak_live_bytes),
        "call statistics differ from the model after step {step}"
    );
    assert_eq!(stats.grow_calls as usize, fake.heap_grows().len(), "grow_calls vs host");
    assert_eq!(stats.pages_grown, fake.heap_grown_pages(), "pages_grown vs host");
    assert_eq!(stats.foreign_pages, fake.foreign_pages_before_last_heap_grow(), "foreign_pages vs host");
    assert_eq!(fake.pages().0, fake.initial_pages().0 + stats.pages_grown + fake.foreign_pages());
}

pub struct Checked {
    pub heap: RawHeap<FakePages>,
    model: Shadow,
    /// Whether refusals come only from the fake (no cap in `Limits`): then `failed_grows` must
    /// equal the fake's count exactly.
    refusals_only_from_source: bool,
    /// Run the validator after every call (else only on `check`).
    pub validate_each_step: bool,
    /// Whether freed blocks may wait on quick lists; when not, the validator must see none.
    quick_lists: bool,
}

impl Checked {
    pub fn new(fake: FakePages, limits: Limits) -> Self {
        Checked {
            heap: RawHeap::new(fake, limits),
            // A zero-sized block still takes a byte.
            model: Shadow::new(|size| size.max(1)),
            refusals_only_from_source: limits.max_pages == usize::MAX,
            validate_each_step: true,
            quick_lists: true,
        }
    }

    /// The same heap with its quick lists turned off: every free merges at once.
    pub fn without_quick_lists(mut self) -> Self {
        self.heap.set_quick_lists(false);
        self.quick_lists = false;
        self
    }

    pub fn unknown_like(max_pages: usize) -> Self {
        Self::new(FakePages::unknown_like(max_pages), Limits::NONE)
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

    /// Allocate and check; `None` when the heap returned null (which must have counted a failed
    /// growth).
    pub fn alloc(&mut self, size: usize, align: usize) -> Option<*mut u8> {
        self.alloc_with(size, align, false)
    }

    pub fn alloc_zeroed(&mut self, size: usize, align: usize) -> Option<*mut u8> {
        self.alloc_with(size, align, true)
    }

    fn alloc_with(&mut self, size: usize, align: usize, zeroed: bool) -> Option<*mut u8> {
        let layout = Layout::from_size_align(size, align).expect("test layout");
        let failed_before = self.stats().failed_grows;
        // SAFETY: the heap's memory is touched only through blocks it handed out.
        let ptr = unsafe { if zeroed { self.heap.alloc_zeroed(layout) } else { self.heap.alloc(layout) } };
        if ptr.is_null() {
            assert!(self.stats().failed_grows > failed_before, "null for {layout:?} without a failed growth");
            self.after_step();
            return None;
        }
        if zeroed {
            // SAFETY: the block is ours for `size` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(ptr, size) };
            assert_eq!(first_difference(bytes, 0), None, "alloc_zeroed gave non-zero bytes");
        }
        self.model.allocated(self.heap.source(), ptr, layout);
        self.after_step();
        Some(ptr)
    }

    pub fn dealloc(&mut self, ptr: *mut u8) {
        let live = self.model.freed(ptr);
        // SAFETY: the block is live with this layout.
        unsafe { self.heap.dealloc(ptr, live.layout) };
        self.after_step();
    }

    pub fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> Option<*mut u8> {
        let live = self.model.get(ptr);
        let failed_before = self.stats().failed_grows;
        // SAFETY: the block is live with this layout; test sizes are far below isize::MAX.
        let moved = unsafe { self.heap.realloc(ptr, live.layout, new_size) };
        if moved.is_null() {
            assert!(self.stats().failed_grows > failed_before, "realloc null without a failed growth");
            live.verify(live.layout.size());
            self.after_step();
            return None;
        }
        self.model.reallocated(self.heap.source(), live, moved, new_size);
        self.after_step();
        Some(moved)
    }

    /// `reserve`, checked: false only with a growth refused on the way (counted), or for more
    /// bytes than any layout holds, asked without growing.
    pub fn reserve(&mut self, bytes: usize) -> bool {
        let failed = self.stats().failed_grows;
        // SAFETY: the heap's memory is touched only through blocks it handed out.
        let ok = unsafe { self.heap.reserve(bytes) };
        self.after_step();
        let refused = self.stats().failed_grows - failed;
        if bytes > isize::MAX as usize {
            assert!(!ok && refused == 0, "reserve({bytes}): {ok}, {refused} growths refused");
        } else if !ok {
            assert!(refused > 0, "reserve({bytes}) said false with no growth refused");
        }
        ok
    }

    /// Merge the blocks waiting on quick lists and release empty slabs (`RawHeap::trim`); none
    /// waits afterwards.
    pub fn trim(&mut self) {
        self.heap.trim();
        self.after_step();
        assert_eq!(self.validate_heap().kept_blocks, 0, "trim left blocks waiting on quick lists");
    }

    pub fn free_all(&mut self) {
        self.model.blocks().into_iter().for_each(|ptr| self.dealloc(ptr));
    }

    fn after_step(&mut self) {
        self.model.steps += 1;
        self.check_stats();
        if self.validate_each_step {
            self.validate_heap();
        }
        // Scanning foreign memory is costly; every 256 steps is enough to catch a trespass.
        if self.model.steps % 256 == 0 {
            self.check_no_trespass();
        }
    }

    /// Statistics equal to the model (user-call fields) and to the fake host (growth fields).
    pub fn check_stats(&self) {
        let stats = self.stats();
        let fake = self.heap.source();
        assert_stats_agree(&stats, &self.model.expected, fake, self.model.steps);
        if self.refusals_only_from_source {
            assert_eq!(stats.failed_grows, fake.refused_grows(), "failed_grows vs host refusals");
        }
    }

    fn validate_heap(&self) -> HeapReport {
        let steps = self.model.steps;
        let report = self.heap.validate().unwrap_or_else(|e| panic!("heap invalid after step {steps}: {e}"));
        assert!(
            self.quick_lists || report.kept_blocks == 0,
            "a block waits on a turned-off quick list (step {steps})"
        );
        report
    }

    fn check_no_trespass(&self) {
        if let Some(at) = self.heap.source().first_trespass() {
            panic!("the heap wrote to memory it does not own, at byte {at:#x} (step {})", self.model.steps);
        }
    }

    /// The validator, the statistics and the foreign-memory check, all at once.
    pub fn validate(&self) -> HeapReport {
        self.check_stats();
        self.check_no_trespass();
        self.validate_heap()
    }

    /// After everything is freed and the heap is trimmed, the heap holds no block and
    /// one allocation as large as the current region's whole free space succeeds without
    /// growing: no fragmentation was leaked.
    pub fn check_reuse_after_free_all(&mut self) {
        assert_eq!(self.live_count(), 0, "free everything first");
        self.heap.trim();
        let report = self.validate();
        assert_eq!(
            (report.used_blocks, report.kept_blocks, report.slabs),
            (0, 0, 0),
            "blocks left after freeing all: {report:?}"
        );
        // Each closed region is one free block at most; the current one is all fresh memory.
        assert!(report.free_blocks < report.regions.max(1), "fragments left: {report:?}");
        let word = size_of::<usize>();
        let whole = report.fresh_bytes.saturating_sub(word) & !7;
        if whole > 0 {
            let grown = self.stats().pages_grown;
            let block = self.alloc(whole, 8).expect("the whole free space must be one block");
            assert_eq!(self.stats().pages_grown, grown, "serving the free space must not grow");
            self.dealloc(block);
        }
    }

    /// Every live block still holds its fill.
    pub fn verify_all(&self) {
        self.model.verify_all();
    }
}
