//! A page source for native tests: a host buffer cut into aligned 64 KiB pages.
//!
//! It behaves like wasm32 linear memory (pages only grow, page `i` starts at `i * PAGE_SIZE` from
//! an aligned base) and lets a test misbehave as a host would: cap the memory, refuse the next
//! growth, or grow pages itself ("foreign" growth) which the heap must never touch.

extern crate std;

use super::{InitialMemory, PAGE_SIZE, PageCount, PageSource};
use std::alloc::{Layout, alloc, dealloc};
use std::vec::Vec;

/// Byte written over memory the heap does not own (static data, foreign pages), so that a test
/// can prove the heap never wrote there.
pub const SENTINEL: u8 = 0xF0;

/// A fake linear memory with a hard page cap: a host buffer cut into aligned 64 KiB pages, which
/// pages only grow, and which a test can make misbehave as a host would.
#[derive(Debug)]
pub struct FakePages {
    /// Page-aligned buffer of `max_pages * PAGE_SIZE` bytes; the provenance of every pointer the
    /// heap makes.
    base: *mut u8,
    /// Pages in the buffer; fixed at creation.
    buffer_pages: usize,
    /// The cap: `memory.grow` past this fails, as a module's maximum would. At most
    /// `buffer_pages`.
    max_pages: PageCount,
    /// Current memory size; pages `[0, size)` exist.
    size: PageCount,
    /// Pages at instantiation.
    initial_pages: PageCount,
    /// Where the claimable initial space starts, or `None` if the heap may claim none of it.
    heap_base: Option<usize>,
    /// Number of upcoming `grow` calls to refuse.
    refusals_left: usize,
    /// `grow` calls refused so far, by a refusal or by the cap.
    refused: u64,
    /// `grow` calls seen so far, granted or not.
    grow_calls_seen: usize,
    /// Refuse the `grow` call with this number (counting from 0), if set.
    refuse_call_number: Option<usize>,
    /// Pages that "someone else" grows just before the next `grow` call is carried out.
    race_pages: usize,
    /// Runs of pages grown by "someone else": (first page, count).
    foreign: Vec<(PageCount, PageCount)>,
    /// Successful growths made through [`PageSource::grow`], as (old, new) sizes.
    heap_grows: Vec<(PageCount, PageCount)>,
    /// Byte that grown pages are filled with: zero, as `memory.grow` does, unless a test breaks
    /// that promise on purpose ([`FakePages::fill_grown_pages_with`]).
    grown_fill: u8,
}

impl FakePages {
    /// A memory of `initial_pages` that may grow to `max_pages`; the heap may claim the initial
    /// memory from byte `heap_base` on (as on `wasm32-unknown-unknown`). Bytes below `heap_base`
    /// stand for static data and hold [`SENTINEL`].
    ///
    /// # Panics
    /// If `initial_pages > max_pages`, `heap_base` is past the initial memory, or the host cannot
    /// allocate the buffer.
    #[must_use]
    pub fn new(initial_pages: usize, max_pages: usize, heap_base: Option<usize>) -> Self {
        assert!(initial_pages <= max_pages, "initial pages above the maximum");
        assert!(
            heap_base.is_none_or(|b| b <= initial_pages * PAGE_SIZE),
            "heap_base past the initial memory"
        );
        let layout = Self::layout(max_pages);
        // SAFETY: the layout has a non-zero size (at least one page, see `layout`).
        let base = unsafe { alloc(layout) };
        assert!(!base.is_null(), "host allocation of the fake memory failed");
        let fake = FakePages {
            base,
            buffer_pages: max_pages,
            max_pages: PageCount(max_pages),
            size: PageCount(initial_pages),
            initial_pages: PageCount(initial_pages),
            heap_base,
            refusals_left: 0,
            refused: 0,
            grow_calls_seen: 0,
            refuse_call_number: None,
            race_pages: 0,
            foreign: Vec::new(),
            heap_grows: Vec::new(),
            grown_fill: 0,
        };
        let statics_end = heap_base.unwrap_or(initial_pages * PAGE_SIZE);
        // SAFETY: `[0, statics_end)` lies inside the buffer, which is at least initial pages long.
        unsafe { base.write_bytes(SENTINEL, statics_end) };
        fake
    }

    /// Like `wasm32-unknown-unknown`: one initial page, static data up to byte 1024.
    #[must_use]
    pub fn unknown_like(max_pages: usize) -> Self {
        Self::new(1, max_pages, Some(1024))
    }

    /// Like `wasm32-wasip1`: two initial pages owned by libc; the heap claims none of them.
    #[must_use]
    pub fn wasi_like(max_pages: usize) -> Self {
        Self::new(2, max_pages, None)
    }

    fn layout(max_pages: usize) -> Layout {
        let bytes = max_pages.max(1).checked_mul(PAGE_SIZE).expect("fake memory too large");
        Layout::from_size_align(bytes, PAGE_SIZE).expect("fake memory layout")
    }

    /// Refuse the next `count` calls to `grow`, as a host whose `memory.grow` returns -1.
    pub fn refuse_next_grows(&mut self, count: usize) {
        self.refusals_left = count;
    }

    /// Refuse the `grow` call number `k` (counting from 0 over this fake's life), whenever it
    /// comes: for tests that refuse growth at every point of a run.
    pub fn refuse_grow_call(&mut self, k: usize) {
        self.refuse_call_number = Some(k);
    }

    /// Make the next `grow` call lose a race: just before it is carried out, `pages` pages are
    /// grown as by [`grow_foreign`](Self::grow_foreign), as when another thread grows memory
    /// between the heap's look at where memory ends and its own growth.
    pub fn race_next_grow(&mut self, pages: usize) {
        self.race_pages = pages;
    }

    /// Fill pages grown from now on with `byte` instead of zeros. This breaks the promise of
    /// `GROWN_PAGES_ARE_ZERO` on purpose, so that a test can see which bytes `alloc_zeroed`
    /// relied on the pages for instead of writing them.
    ///
    /// # Safety
    /// A heap over this source may then return blocks from `alloc_zeroed` that are not zero. The
    /// caller reads them only as bytes, never as values for which zero is the only valid pattern
    /// it relies on (a zeroed `Option<&T>`, say).
    pub unsafe fn fill_grown_pages_with(&mut self, byte: u8) {
        self.grown_fill = byte;
    }

    /// Lower or lift the page cap (never above the buffer made by [`new`](Self::new), never
    /// below the current size).
    pub fn set_max_pages(&mut self, max_pages: usize) {
        self.max_pages = PageCount(max_pages.clamp(self.size.0, self.buffer_pages));
    }

    /// Grow memory as someone other than the heap would (JS `Memory.grow`, libc's malloc), and
    /// fill the new pages with [`SENTINEL`]. Returns false if the cap does not allow it.
    pub fn grow_foreign(&mut self, pages: usize) -> bool {
        let Some(new_size) = self.size.0.checked_add(pages).filter(|&n| n <= self.max_pages.0) else {
            return false;
        };
        let first = self.size;
        // SAFETY: the new pages lie inside the buffer because new_size <= max_pages.
        unsafe { self.page_ptr(first).write_bytes(SENTINEL, pages * PAGE_SIZE) };
        self.size = PageCount(new_size);
        self.foreign.push((first, PageCount(pages)));
        true
    }

    /// Total pages grown by [`grow_foreign`](Self::grow_foreign).
    #[must_use]
    pub fn foreign_pages(&self) -> usize {
        self.foreign.iter().map(|(_, n)| n.0).sum()
    }

    /// Total pages grown through [`PageSource::grow`].
    #[must_use]
    pub fn heap_grown_pages(&self) -> usize {
        self.heap_grows.iter().map(|(old, new)| new.0 - old.0).sum()
    }

    /// `grow` calls refused so far, by [`refuse_next_grows`](Self::refuse_next_grows) or by the
    /// cap.
    #[must_use]
    pub fn refused_grows(&self) -> u64 {
        self.refused
    }

    /// Every successful growth made through [`PageSource::grow`], as (old, new) sizes.
    #[must_use]
    pub fn heap_grows(&self) -> &[(PageCount, PageCount)] {
        &self.heap_grows
    }

    /// Current size in pages (the host-side truth that `Stats` must agree with).
    #[must_use]
    pub fn pages(&self) -> PageCount {
        self.size
    }

    /// Pages at instantiation.
    #[must_use]
    pub fn initial_pages(&self) -> PageCount {
        self.initial_pages
    }

    /// The first byte that still holds something other than [`SENTINEL`] in memory the heap does
    /// not own (static data and foreign pages), or `None` when all of it is untouched.
    #[must_use]
    pub fn first_trespass(&self) -> Option<usize> {
        let statics = (0, self.heap_base.unwrap_or(self.initial_pages.0 * PAGE_SIZE));
        let foreign = self.foreign.iter().map(|&(first, n)| (first.0 * PAGE_SIZE, n.0 * PAGE_SIZE));
        for (start, len) in core::iter::once(statics).chain(foreign) {
            // SAFETY: every range listed here lies inside the current size, which is inside the
            // buffer, and `u8` has no invalid values.
            let bytes = unsafe { core::slice::from_raw_parts(self.base.add(start), len) };
            if let Some(i) = bytes.iter().position(|&b| b != SENTINEL) {
                return Some(start + i);
            }
        }
        None
    }

    /// Whether `[offset, offset + len)` touches memory the heap does not own: static data or
    /// foreign pages.
    #[must_use]
    pub fn touches_foreign(&self, offset: usize, len: usize) -> bool {
        let statics_end = self.heap_base.unwrap_or(self.initial_pages.0 * PAGE_SIZE);
        let end = offset.saturating_add(len);
        offset < statics_end
            || self.foreign.iter().any(|&(first, n)| {
                let (start, stop) = (first.0 * PAGE_SIZE, (first.0 + n.0) * PAGE_SIZE);
                offset < stop && start < end
            })
    }

    /// Foreign pages grown before the heap's latest growth: the ones the heap has had a chance
    /// to notice.
    #[must_use]
    pub fn foreign_pages_before_last_heap_grow(&self) -> usize {
        let Some(&(last_old, _)) = self.heap_grows.last() else { return 0 };
        self.foreign.iter().filter(|(first, _)| *first < last_old).map(|(_, n)| n.0).sum()
    }

    /// The byte offset of `ptr` from the start of the fake memory.
    #[must_use]
    pub fn offset_of(&self, ptr: *const u8) -> usize {
        ptr.addr().wrapping_sub(self.base.addr())
    }
}

// SAFETY: the buffer behind `base` is owned by this value alone and freed only by its Drop, so
// moving the value to another thread moves that ownership with it.
unsafe impl Send for FakePages {}

impl Drop for FakePages {
    fn drop(&mut self) {
        // SAFETY: `base` came from `alloc` with this very layout and is freed only here.
        unsafe { dealloc(self.base, Self::layout(self.buffer_pages)) };
    }
}

// SAFETY: the initial range and every grown page lie inside one buffer that lives as long as the
// source; grown pages are handed out once (the size only rises) and zero-filled (unless a test
// broke that through the unsafe `fill_grown_pages_with`); `page_ptr` derives from the buffer's
// own pointer, so it carries its provenance; the buffer is PAGE_SIZE-aligned, so page indices and
// addresses agree up to a multiple of PAGE_SIZE.
unsafe impl PageSource for FakePages {
    /// Grown pages are zeroed, as by `memory.grow` (unless a test breaks that on purpose).
    const GROWN_PAGES_ARE_ZERO: bool = true;

    fn initial(&mut self) -> InitialMemory {
        let end = self.page_ptr(self.initial_pages);
        let claimable_start = match self.heap_base {
            Some(offset) => self.base.wrapping_add(offset),
            None => end,
        };
        InitialMemory { claimable_start, end, pages: self.initial_pages }
    }

    fn size(&self) -> PageCount {
        self.size
    }

    fn grow(&mut self, delta: PageCount) -> Option<PageCount> {
        let race = core::mem::take(&mut self.race_pages);
        if race > 0 {
            self.grow_foreign(race);
        }
        let number = self.grow_calls_seen;
        self.grow_calls_seen += 1;
        let new_size = self.size.0.checked_add(delta.0).filter(|&n| n <= self.max_pages.0);
        let chosen = self.refuse_call_number == Some(number);
        let Some(new_size) = new_size.filter(|_| self.refusals_left == 0 && !chosen) else {
            if !chosen {
                self.refusals_left = self.refusals_left.saturating_sub(1);
            }
            self.refused += 1;
            return None;
        };
        let old = self.size;
        // SAFETY: pages [old, new_size) lie inside the buffer because new_size <= max_pages <=
        // buffer_pages. wasm's memory.grow hands out zeroed pages; so does this, unless a test
        // chose another fill.
        unsafe { self.page_ptr(old).write_bytes(self.grown_fill, delta.0 * PAGE_SIZE) };
        self.size = PageCount(new_size);
        self.heap_grows.push((old, self.size));
        Some(old)
    }

    fn page_ptr(&self, page: PageCount) -> *mut u8 {
        self.base.wrapping_add(page.0.wrapping_mul(PAGE_SIZE))
    }
}
