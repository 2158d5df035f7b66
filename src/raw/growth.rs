//! Where the heap's memory comes from: the initial free space, growth, and regions.
//!
//! Memory is a list of regions, each a run of contiguous pages (or the initial free space) that
//! starts with a [`RegionHeader`]. Pages grown where the current region ends extend it; any
//! others seal it and open a new one, and the pages in between, grown by someone else, are
//! counted as foreign and never touched.

use super::block::{Block, GRANULE, MIN_BLOCK, WORD};
use super::{RawHeap, aligned_with_gap};
use crate::pages::MAX_GROWTHS_PER_BLOCK;
use crate::source::{PageCount, PageSource};
use crate::stats::GrowEvent;

/// Start of every region: links the regions for the validator and marks where they end.
#[repr(C)]
pub(super) struct RegionHeader {
    /// The region opened before this one, or null.
    pub(super) previous: *mut RegionHeader,
    /// End of the region; written when the region is sealed (the current one uses `RawHeap::end`).
    pub(super) end: *mut u8,
}

/// Offset of the first payload from a region's start: the region header, then one header word,
/// rounded to the granule.
pub(super) const FIRST_PAYLOAD: usize = (size_of::<RegionHeader>() + WORD).next_multiple_of(GRANULE);

/// Most growths one call can make: those of one block cut from fresh memory
/// ([`MAX_GROWTHS_PER_BLOCK`]), and before them the growth of a `realloc` that tried to extend
/// its block at `top` and lost a race with another thread's growth.
pub(super) const MAX_GROWTHS_PER_CALL: usize = MAX_GROWTHS_PER_BLOCK + 1;

/// Growth made during the current call, reported to the `on_grow` hook after the lock is
/// released.
#[derive(Clone, Copy, Debug)]
pub struct GrowthLog {
    /// How many of `events` hold a growth.
    len: usize,
    events: [GrowEvent; MAX_GROWTHS_PER_CALL],
}

impl GrowthLog {
    /// No growth yet.
    pub(super) const EMPTY: GrowthLog =
        GrowthLog { len: 0, events: [GrowEvent { old_pages: 0, new_pages: 0 }; MAX_GROWTHS_PER_CALL] };

    /// Record a growth. When the log is full (its owner never drained it), the growth is not
    /// recorded: the log serves the hook, and the statistics count every growth anyway.
    fn push(&mut self, event: GrowEvent) {
        if let Some(slot) = self.events.get_mut(self.len) {
            *slot = event;
            self.len += 1;
        }
    }

    /// The growths, oldest first.
    pub fn events(&self) -> impl Iterator<Item = GrowEvent> + '_ {
        self.events.iter().take(self.len).copied()
    }

    /// Whether nothing grew.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for GrowthLog {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<S: PageSource> RawHeap<S> {
    /// Claim the initial free space, once.
    pub(super) fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        self.quick.open();
        let initial = self.source.initial();
        self.grower.frontier = initial.pages;
        let claimed = initial.end.addr().saturating_sub(initial.claimable_start.addr());
        let start = initial.claimable_start.map_addr(|a| a.next_multiple_of(GRANULE));
        if initial.end.addr().saturating_sub(start.addr()) >= FIRST_PAYLOAD + MIN_BLOCK {
            // SAFETY: the source promises the initial range is ours.
            unsafe { self.open_region(start, initial.end) };
            // The initial memory did not come from `grow`: nothing is known to be zero there.
            self.clean = self.end;
            self.stats.heap_bytes += claimed;
        }
    }

    /// Grow memory so that a block of `size` at `align` fits at the top. False if refused.
    pub(super) fn grow_for(&mut self, size: usize, align: usize) -> bool {
        let needed = if self.growth_extends_region() {
            aligned_with_gap(self.top.addr(), align)
                .and_then(|p| p.checked_add(size))
                .map(|end| end - self.end.addr())
        } else {
            // A new region starts on a page boundary. Up to a page, the alignment holds there,
            // so the payload lies where it would in a region at address 0. Above a page, the
            // payload is the next aligned address, a whole number of pages past the start (so the
            // gap in front of it is a free block), and at most `align` bytes past it: where it
            // would lie in a region at address 0, the worst case.
            aligned_with_gap(FIRST_PAYLOAD, align).and_then(|p| p.checked_add(size))
        };
        self.grow_pages(needed.map(PageCount::covering))
    }

    /// Grow memory by `extra` bytes only if the new pages will extend the current region. False
    /// if the growth was refused, or if the pages did not extend the region after all: another
    /// thread grew memory between the check and the growth, so they opened a new region (they
    /// are kept there, but the current region did not grow).
    pub(super) fn grow_contiguous(&mut self, extra: usize) -> bool {
        let region = self.region;
        self.growth_extends_region()
            && extra != usize::MAX
            && self.grow_pages(Some(PageCount::covering(extra)))
            && self.region == region
    }

    /// Whether pages grown now would extend the current region: memory still ends where the
    /// region does (with a region, `frontier` is the page just past its end).
    fn growth_extends_region(&self) -> bool {
        !self.region.is_null() && self.grower.at_frontier(&self.source)
    }

    /// Grow by `needed` pages (`None`: more than memory holds), or by `min_grow_pages` if more,
    /// within the cap, and take the new pages in. False if refused.
    fn grow_pages(&mut self, needed: Option<PageCount>) -> bool {
        let Some((old, pages)) = self.grower.grow(&mut self.source, &mut self.stats, needed) else {
            return false;
        };
        self.growth.push(GrowEvent { old_pages: old.0, new_pages: old.0 + pages.0 });
        self.take_pages(old, pages);
        true
    }

    /// Take in `pages` pages grown from page `old`: they extend the current region if they start
    /// where it ends, and else open a new one.
    fn take_pages(&mut self, old: PageCount, pages: PageCount) {
        let start = self.source.page_ptr(old);
        let end = end_of_growth(start, pages);
        if !self.region.is_null() && start == self.end {
            self.end = end;
            if !S::GROWN_PAGES_ARE_ZERO {
                self.clean = end;
            }
        } else {
            // SAFETY: the source promises the new pages are ours.
            unsafe {
                self.seal_region();
                self.open_region(start, end);
            }
        }
    }

    /// Start a new region `[start, end)`.
    ///
    /// # Safety
    /// The range is ours, `start` is GRANULE-aligned and the range holds at least
    /// `FIRST_PAYLOAD + MIN_BLOCK` bytes.
    unsafe fn open_region(&mut self, start: *mut u8, end: *mut u8) {
        let header = start.cast::<RegionHeader>();
        // SAFETY: the range is ours and aligned for the header, which fits in FIRST_PAYLOAD.
        unsafe { header.write(RegionHeader { previous: self.region, end }) };
        self.region = header;
        self.top = start.wrapping_add(FIRST_PAYLOAD);
        self.end = end;
        self.clean = if S::GROWN_PAGES_ARE_ZERO { self.top } else { end };
    }

    /// Close the current region for good: its fresh memory becomes a free block, followed by an
    /// end marker so that no block looks past the region.
    ///
    /// # Safety
    /// The current region, if any, is ours.
    unsafe fn seal_region(&mut self) {
        if self.region.is_null() {
            return;
        }
        let tail = (self.end.addr() - self.top.addr()) & !(GRANULE - 1);
        // SAFETY: `[top - WORD, end)` is fresh memory of this region [ref:top]; the end marker
        // goes in the last header slot of that range, and the tail block before it.
        unsafe {
            if tail >= MIN_BLOCK {
                let free = Block(self.top);
                free.set_free(tail);
                self.free_index.insert(free, tail);
                Block(self.top.wrapping_add(tail)).set_end_marker(true);
            } else {
                Block(self.top).set_end_marker(false);
            }
            (*self.region).end = self.end;
        }
    }
}

/// Where `pages` pages grown at `start` end. The end of a memory that fills the address space
/// (4 GiB on wasm32) is no address: it would wrap to 0. There the heap's memory ends one granule
/// before it, so that every block ends at an address.
pub(super) fn end_of_growth(start: *mut u8, pages: PageCount) -> *mut u8 {
    let room = (usize::MAX - start.addr()) & !(GRANULE - 1);
    start.wrapping_add(pages.bytes().unwrap_or(usize::MAX).min(room))
}
