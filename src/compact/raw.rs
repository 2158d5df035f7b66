//! The compact core: one address-ordered list of free blocks and no block headers. Policy only,
//! generic over where pages come from.
//!
//! A request takes the smallest free block it fits in (the lowest of that size), from its high
//! end, so that the free block keeps its place on the list; when none fits, memory grows just
//! enough (or by the `min_grow_pages` step, if more), and the block is cut from the low end of the
//! grown space instead, so that the rest stays at the end of memory for the next growth to extend.
//! A freed block merges with the free blocks it touches. A block's size is its layout's size
//! rounded up to [`GRANULE`]: `dealloc` and `realloc` are told the layout, so no block needs a
//! header.

use crate::pages::{Grower, Limits, MAX_GROWTHS_PER_BLOCK};
use crate::source::{PAGE_SIZE, PageCount, PageSource};
use crate::stats::Stats;
use core::ptr;

/// Every block is a multiple of this, and aligned to it: a free block must hold its link and its
/// size.
pub const GRANULE: usize = 2 * size_of::<usize>();

/// A free block, written over its first bytes.
#[repr(C)]
struct FreeBlock {
    /// The next free block, at a higher address, or null.
    next: *mut FreeBlock,
    /// Bytes in this block, a multiple of [`GRANULE`].
    size: usize,
}

/// The core of [`CompactHeap`](crate::CompactHeap) over the page source `S`.
///
/// Every byte of the heap's memory (but for the rounding of its initial space to granules) is in a
/// live block or in one free block of `free`. No two free blocks touch (they would have been
/// merged), so the memory most recently grown is the end of the last free block, unless a live
/// block sits there.
pub struct CompactRaw<S: PageSource> {
    source: S,
    /// The limits and the frontier.
    grower: Grower,
    started: bool,
    /// The free blocks, lowest address first.
    free: *mut FreeBlock,
    /// End of the memory the heap grew last (or of its initial space); null before it has any.
    end: *mut u8,
    /// From the first granule past this mark to the end of memory, every byte is zero, if the
    /// source promises zero pages, but for live blocks and the link and size at the start of each
    /// free block: those pages were grown and nothing else was written there. Raised past every
    /// block freed ([`release_used`](Self::release_used)): its bytes fall below the mark, and the
    /// link and size of a free block merged behind it into the granule after. Every other release
    /// puts back the tail of a free block, pages just grown, or the gap a grow at the cap leaves in
    /// front of the block it moves, which touch no free block behind them, so no link and size are
    /// left inside a merged block.
    clean: *mut u8,
    stats: Stats,
}

/// Totals of the free list, from [`CompactRaw::validate`].
#[cfg(any(test, feature = "testing"))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FreeReport {
    /// Free blocks.
    pub blocks: usize,
    /// Bytes in them.
    pub bytes: usize,
    /// Bytes in the largest.
    pub largest: usize,
}

// SAFETY: the core owns its source and every block it tracks; its pointers point only into
// memory it owns, so moving it to another thread moves that ownership along.
unsafe impl<S: PageSource + Send> Send for CompactRaw<S> {}

/// `size` rounded up to a whole number of granules (at least one). `size` is at most
/// `isize::MAX`, as every `Layout` size is, so this cannot overflow.
const fn block_size(size: usize) -> usize {
    let size = if size == 0 { 1 } else { size };
    (size + GRANULE - 1) & !(GRANULE - 1)
}

/// `addr` rounded up to `align` (a power of two), or `None` past `usize`.
fn align_up(addr: usize, align: usize) -> Option<usize> {
    Some(addr.checked_add(align - 1)? & !(align - 1))
}

impl<S: PageSource> CompactRaw<S> {
    /// A heap over `source` that grows within `limits`.
    pub const fn new(source: S, limits: Limits) -> Self {
        CompactRaw {
            source,
            grower: Grower::new(limits),
            started: false,
            free: ptr::null_mut(),
            end: ptr::null_mut(),
            clean: ptr::null_mut(),
            stats: Stats::ZERO,
        }
    }

    /// The limits it grows within.
    pub const fn limits(&self) -> Limits {
        self.grower.limits()
    }

    /// Grow within `limits` from now on (for `const` builders).
    pub const fn set_limits(&mut self, limits: Limits) {
        self.grower.set_limits(limits);
    }

    /// The statistics so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The statistics so far, borrowed (the host export reads a few fields after every call).
    #[cfg(feature = "host-export")]
    pub(crate) fn stats_ref(&self) -> &Stats {
        &self.stats
    }

    /// The page source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The page source, mutably (tests use it to misbehave as a host would: refuse a growth,
    /// grow pages themselves).
    ///
    /// # Safety
    /// The source must keep every page it has handed out where it is, for as long as the heap
    /// lives: do not replace it, swap it or move out of it, since the heap's blocks point into
    /// its memory.
    pub unsafe fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// Walk the free list (feature `testing`): sorted, no two blocks touching, each aligned to
    /// and a multiple of [`GRANULE`], inside the memory the source has. Returns its totals.
    ///
    /// # Errors
    /// The first broken invariant, described.
    #[cfg(any(test, feature = "testing"))]
    pub fn validate(&self) -> Result<FreeReport, crate::raw::ValidationError> {
        extern crate std;
        use std::format;
        let memory_end = self.source.page_ptr(PageCount(0)).addr() + self.source.size().0 * PAGE_SIZE;
        let mut report = FreeReport::default();
        let mut previous_end = 0;
        let mut block = self.free;
        while !block.is_null() {
            // SAFETY: every block on the list is free and ours.
            let size = unsafe { (*block).size };
            let start = block.addr();
            if start % GRANULE != 0 || size % GRANULE != 0 || size == 0 {
                return Err(format!("free block {block:p} of {size} bytes is not whole granules"));
            }
            if report.blocks > 0 && start <= previous_end {
                return Err(format!("free block {block:p} touches or precedes the one before"));
            }
            if start.checked_add(size).is_none_or(|end| end > memory_end) {
                return Err(format!("free block {block:p} of {size} bytes runs past memory"));
            }
            previous_end = start + size;
            report.blocks += 1;
            report.bytes += size;
            report.largest = report.largest.max(size);
            // SAFETY: as above.
            block = unsafe { (*block).next };
        }
        Ok(report)
    }

    /// A block of `size` bytes aligned to `align`, or null.
    ///
    /// # Safety
    /// The heap's memory has not been touched by anyone else since it was handed out; `size` and
    /// `align` make a valid `Layout`.
    pub unsafe fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.alloc_block(size, align) };
        if !block.is_null() {
            self.stats.allocations += 1;
            self.add_live(size);
        }
        block
    }

    /// A block of `size` zero bytes aligned to `align`, or null. Zeros are written only where
    /// memory may hold something else: up to the first granule past the clean mark, and over the
    /// first granule, where a block cut from the start of a free block finds its link and
    /// size.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    pub unsafe fn alloc_zeroed(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.alloc(size, align) };
        if !block.is_null() {
            let mut dirty_end = block.addr() + size;
            if S::GROWN_PAGES_ARE_ZERO {
                let clean = self.clean.addr().saturating_add(GRANULE);
                dirty_end = dirty_end.min(clean.max(block.addr() + GRANULE));
            }
            // SAFETY: the block is ours for `size` bytes, of which these are the first.
            unsafe { block.write_bytes(0, dirty_end - block.addr()) };
        }
        block
    }

    /// Free a block.
    ///
    /// # Safety
    /// `block` came from this heap with `size` and is not used any more.
    pub unsafe fn dealloc(&mut self, block: *mut u8, size: usize) {
        self.stats.deallocations += 1;
        self.stats.live_bytes = self.stats.live_bytes.saturating_sub(size);
        // SAFETY: forwarded from the caller.
        unsafe { self.release_used(block, block_size(size)) };
    }

    /// Grow memory now, unless a free block holds `bytes` already, so that an allocation of
    /// `bytes` at an alignment up to [`GRANULE`] will not grow. False if the growth was refused,
    /// or if `bytes` is more than any `Layout` holds.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    pub unsafe fn reserve(&mut self, bytes: usize) -> bool {
        if bytes > isize::MAX as usize {
            return false;
        }
        self.start();
        let size = block_size(bytes);
        let mut growths = 0;
        loop {
            // SAFETY: forwarded from the caller.
            let (fitting, last) = unsafe { self.find_best(size, GRANULE, usize::MAX) };
            if !fitting.is_null() {
                return true;
            }
            // Look again after each growth: another thread's growth may have got in first (see
            // `MAX_GROWTHS_PER_BLOCK`).
            if growths == MAX_GROWTHS_PER_BLOCK || !self.grow_for(last, size, GRANULE) {
                return false;
            }
            growths += 1;
        }
    }

    /// Resize a block. A block that shrinks moves into a free block smaller than itself, if one
    /// fits, and else shrinks in place; a block that grows takes the free block behind it if that
    /// has room, else moves into a free block, else grows in place at the end of memory, else moves
    /// to memory grown for it, else moves down into the space it makes with the free block in front
    /// of it (`grow_into_own_space`). Null (and the block untouched) when none of these has room.
    ///
    /// A shrink moves because a free block smaller than the old one, filled, leaves less free
    /// memory cut up than the tail of the old block would, and the old block is freed whole. On
    /// random-actions with realloc it took the mean pages over seeds 1 to 100 from 31.83 to 30.20,
    /// for 20% more fuel (`bench/trials/compact-heap.md`).
    ///
    /// # Safety
    /// As for [`dealloc`](Self::dealloc); `align` is the block's alignment, and `new_size` with
    /// it makes a valid `Layout`.
    pub unsafe fn realloc(&mut self, block: *mut u8, size: usize, align: usize, new_size: usize) -> *mut u8 {
        let (old, new) = (block_size(size), block_size(new_size));
        // A block of the same size after rounding stays: no free block is smaller and fits.
        let shrinks = new <= old;
        // SAFETY: the block is ours for `old` bytes; a tail it no longer needs changes hands, and
        // a block it moves to was free, but for the last resort, which moves it down into the
        // free block in front and its own space and copies with `ptr::copy`.
        unsafe {
            if !shrinks && self.grow_in_place(block, old, new, false) {
                return self.resized(block, size, new_size);
            }
            // A free block elsewhere, before growing memory; when shrinking, one smaller than
            // the block.
            let mut moved =
                self.best_fit(new, align.max(GRANULE), false, if shrinks { old } else { usize::MAX }).0;
            if moved.is_null() {
                if shrinks {
                    self.release_used(block.wrapping_add(new), old - new);
                    return self.resized(block, size, new_size);
                }
                if self.grow_in_place(block, old, new, true) {
                    return self.resized(block, size, new_size);
                }
                moved = self.alloc_block(new_size, align);
                if moved.is_null() {
                    moved = self.grow_into_own_space(block, old, size, new, align);
                    return if moved.is_null() { moved } else { self.resized(moved, size, new_size) };
                }
            }
            ptr::copy_nonoverlapping(block, moved, size.min(new_size));
            self.release_used(block, old);
            self.resized(moved, size, new_size)
        }
    }

    /// Count a successful `realloc` from `size` to `new_size` bytes; returns `block`.
    fn resized(&mut self, block: *mut u8, size: usize, new_size: usize) -> *mut u8 {
        self.stats.reallocations += 1;
        self.stats.live_bytes = self.stats.live_bytes.saturating_sub(size);
        self.add_live(new_size);
        block
    }

    fn add_live(&mut self, bytes: usize) {
        self.stats.live_bytes += bytes;
        if self.stats.live_bytes > self.stats.peak_live_bytes {
            self.stats.peak_live_bytes = self.stats.live_bytes;
        }
    }

    /// Best fit over the free blocks, growing memory if none fits (see the module docs).
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    unsafe fn alloc_block(&mut self, size: usize, align: usize) -> *mut u8 {
        let (size, align) = (block_size(size), align.max(GRANULE));
        self.start();
        // SAFETY: forwarded from the caller.
        unsafe {
            let (mut block, mut last) = self.best_fit(size, align, false, usize::MAX);
            let mut growths = 0;
            // One growth is enough unless another thread's growth got in first (see
            // `MAX_GROWTHS_PER_BLOCK`).
            while block.is_null() && growths < MAX_GROWTHS_PER_BLOCK && self.grow_for(last, size, align) {
                growths += 1;
                (block, last) = self.best_fit(size, align, true, usize::MAX);
            }
            block
        }
    }

    /// Cut a block of `size` bytes (whole granules) at `align` (at least a granule) from the
    /// smallest free block it fits in that is smaller than `bound` bytes: from its high end, or
    /// from its low end if `low`. Returns the block, or null and the last free block.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    unsafe fn best_fit(
        &mut self,
        size: usize,
        align: usize,
        low: bool,
        bound: usize,
    ) -> (*mut u8, *mut FreeBlock) {
        // SAFETY: every block on the list is free and ours; the parts we cut stay inside it.
        unsafe {
            let (best, last) = self.find_best(size, align, bound);
            if best.is_null() {
                return (ptr::null_mut(), last);
            }
            let free = *best;
            let high = (free.addr() + (*free).size - size) & !(align - 1);
            let at = if low { high - ((high - free.addr()) & !(align - 1)) } else { high };
            let (block, rest) = Self::cut(best, at, size);
            self.release(block.wrapping_add(size), rest);
            (block, last)
        }
    }

    /// The slot of the free list that holds the smallest free block, smaller than `bound` bytes,
    /// that a block of `size` bytes at `align` fits in (the lowest of that size), or null; and
    /// the last free block.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    unsafe fn find_best(
        &mut self,
        size: usize,
        align: usize,
        bound: usize,
    ) -> (*mut *mut FreeBlock, *mut FreeBlock) {
        let mut last = ptr::null_mut::<FreeBlock>();
        let mut best: *mut *mut FreeBlock = ptr::null_mut();
        let mut best_size = bound;
        // SAFETY: every block on the list is free and ours.
        unsafe {
            let mut link: *mut *mut FreeBlock = &raw mut self.free;
            while !(*link).is_null() {
                let free = *link;
                last = free;
                let free_size = (*free).size;
                // The highest place the block fits, if it fits.
                if free_size >= size
                    && ((free.addr() + free_size - size) & !(align - 1)) >= free.addr()
                    && free_size < best_size
                {
                    best = link;
                    best_size = free_size;
                    if free_size == size {
                        break;
                    }
                }
                link = &raw mut (*free).next;
            }
        }
        (best, last)
    }

    /// Cut `[at, at + size)` out of the free block `*link`, which holds it: the bytes in front
    /// stay that free block. Returns the block and the number of bytes behind it, which the
    /// caller must [`release`](Self::release). Takes no `self`, so that `link` may point into it.
    ///
    /// # Safety
    /// `link` is a slot of the free list, and its block holds the range.
    unsafe fn cut(link: *mut *mut FreeBlock, at: usize, size: usize) -> (*mut u8, usize) {
        // SAFETY: the free block is ours and holds the range, as the caller promises.
        unsafe {
            let free = *link;
            let free_end = free.addr() + (*free).size;
            if at == free.addr() {
                *link = (*free).next;
            } else {
                (*free).size = at - free.addr();
            }
            (free.cast::<u8>().with_addr(at), free_end - at - size)
        }
    }

    /// The slot of the free list that holds the first free block at or above `at`.
    fn slot_at(&mut self, at: usize) -> *mut *mut FreeBlock {
        let mut link: *mut *mut FreeBlock = &raw mut self.free;
        // SAFETY: list blocks are free and ours.
        unsafe {
            while !(*link).is_null() && (*link).addr() < at {
                link = &raw mut (**link).next;
            }
        }
        link
    }

    /// Put `[block, block + size)` back, merged with the free blocks it touches.
    ///
    /// # Safety
    /// The range is ours, granule-aligned, and neither live nor free.
    unsafe fn release(&mut self, block: *mut u8, size: usize) {
        if size == 0 {
            return;
        }
        // SAFETY: list blocks are free and ours; the range is ours.
        unsafe {
            let mut before: *mut *mut FreeBlock = ptr::null_mut();
            let mut link: *mut *mut FreeBlock = &raw mut self.free;
            while !(*link).is_null() && (*link).addr() < block.addr() {
                before = link;
                link = &raw mut (**link).next;
            }
            let mut next = *link;
            let mut start = block.cast::<FreeBlock>();
            let mut end = block.addr() + size;
            if next.addr() == end {
                end += (*next).size;
                next = (*next).next;
            }
            if !before.is_null() {
                let prev = *before;
                if prev.addr() + (*prev).size == block.addr() {
                    start = prev;
                    link = before;
                }
            }
            start.write(FreeBlock { next, size: end - start.addr() });
            *link = start;
        }
    }

    /// [`release`](Self::release) bytes that a live block held, and raise the clean mark past
    /// them.
    ///
    /// # Safety
    /// As for [`release`](Self::release).
    unsafe fn release_used(&mut self, block: *mut u8, size: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.release(block, size) };
        let end = block.wrapping_add(size);
        if end.addr() > self.clean.addr() {
            self.clean = end;
        }
    }

    /// Claim the initial free space, once.
    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let initial = self.source.initial();
        self.grower.frontier = initial.pages;
        let start = initial.claimable_start.map_addr(|a| a.next_multiple_of(GRANULE));
        let end = initial.end.map_addr(|a| a & !(GRANULE - 1));
        if start < end {
            self.end = end;
            self.stats.heap_bytes += initial.end.addr() - initial.claimable_start.addr();
            // SAFETY: the source promises the initial range is ours.
            unsafe { self.release(start, end.addr() - start.addr()) };
            // Nobody promises what the initial memory holds.
            self.clean = end;
        }
    }

    /// Grow `[block, block + old)` to `new` bytes where it is: into the free block behind it, if
    /// that has room, or else, if `may_grow`, after growing memory if that free block, or the
    /// block itself, ends where memory does.
    ///
    /// # Safety
    /// The block is live and ours for `old` bytes, and `old < new`.
    unsafe fn grow_in_place(&mut self, block: *mut u8, old: usize, new: usize, may_grow: bool) -> bool {
        let (at, wanted) = (block.addr() + old, new - old);
        let mut link = self.slot_at(at);
        // SAFETY: list blocks are free and ours; what we take stays inside the one behind, and the
        // header rewritten for its rest lies inside it too, aligned to a granule as `block`,
        // `old` and `new` are.
        unsafe {
            let room = if (*link).addr() == at { (**link).size } else { 0 };
            if room < wanted {
                if !may_grow
                    || at + room != self.end.addr()
                    || !self.grower.at_frontier(&self.source)
                    || !self.grow(Some(wanted - room))
                {
                    return false;
                }
                // The grown pages merged into the block behind, or became it.
                link = self.slot_at(at);
            }
            let behind = *link;
            // Someone else may have grown memory between our check and our growth (threads).
            if behind.addr() != at || (*behind).size < wanted {
                return false;
            }
            // The rest of the free block stays free where it is, now starting past the block: it
            // still touches neither the block in front nor the next free block, so it needs no
            // merge and keeps its slot.
            let rest = (*behind).size - wanted;
            let next = (*behind).next;
            *link = if rest == 0 {
                next
            } else {
                let moved = block.wrapping_add(new).cast::<FreeBlock>();
                moved.write(FreeBlock { next, size: rest });
                moved
            };
        }
        true
    }

    /// Grow `[block, block + old)`, which holds `size` bytes, to `new` bytes in the space it makes
    /// with the free block in front of it and the free block behind it, if any, moving the bytes
    /// down: the last resort of a grow, once memory cannot grow. Returns the moved block, or null
    /// (and nothing changed) when no free block touches the front or the space is too small at
    /// `align`.
    ///
    /// # Safety
    /// The block is live, ours for `old` bytes and aligned to `align`; `size <= old < new`.
    unsafe fn grow_into_own_space(
        &mut self,
        block: *mut u8,
        old: usize,
        size: usize,
        new: usize,
        align: usize,
    ) -> *mut u8 {
        let mut front_link: *mut *mut FreeBlock = ptr::null_mut();
        let mut link: *mut *mut FreeBlock = &raw mut self.free;
        // SAFETY: list blocks are free and ours. The space runs from the free block in front to the
        // end of the one behind, or of the block: all of it ours, and no other block in it. The
        // copy may overlap, so it is a `ptr::copy`; before it, only the list slot of the free block
        // in front is written, which lies outside the space.
        unsafe {
            while !(*link).is_null() && (*link).addr() < block.addr() {
                front_link = link;
                link = &raw mut (**link).next;
            }
            if front_link.is_null() || (*front_link).addr() + (**front_link).size != block.addr() {
                return ptr::null_mut();
            }
            let front = *front_link;
            let (mut end, mut next) = (block.addr() + old, *link);
            if next.addr() == end {
                end += (*next).size;
                next = (*next).next;
            }
            match align_up(front.addr(), align.max(GRANULE)) {
                Some(at) if at <= end && end - at >= new => {
                    *front_link = next;
                    let moved = front.cast::<u8>().with_addr(at);
                    ptr::copy(block, moved, size);
                    self.release(front.cast(), at - front.addr());
                    // The rest holds what is left of the block's old bytes: the clean mark goes
                    // past it.
                    self.release_used(moved.wrapping_add(new), end - at - new);
                    moved
                }
                _ => ptr::null_mut(),
            }
        }
    }

    /// Grow memory so that a block of `size` at `align` fits; `last` is the last free block.
    /// False if refused.
    fn grow_for(&mut self, last: *mut FreeBlock, size: usize, align: usize) -> bool {
        // SAFETY: `last`, if not null, is a free block of ours.
        let needed = match unsafe { last.as_ref() } {
            // The last free block ends where memory ends: grow it.
            Some(block)
                if self.grower.at_frontier(&self.source) && last.addr() + block.size == self.end.addr() =>
            {
                align_up(last.addr(), align).and_then(|at| at.checked_add(size)).map(|e| e - self.end.addr())
            }
            // New pages start on a page boundary.
            _ => size.checked_add(align.saturating_sub(PAGE_SIZE)),
        };
        self.grow(needed)
    }

    /// Grow memory by enough pages for `bytes` (`None`: more than `usize` holds) and put them on
    /// the free list. False if refused.
    fn grow(&mut self, bytes: Option<usize>) -> bool {
        let needed = bytes.map(PageCount::covering);
        let Some((old, pages)) = self.grower.grow(&mut self.source, &mut self.stats, needed) else {
            return false;
        };
        let start = self.source.page_ptr(old);
        // The end of a memory that fills the address space is no address: stop a granule short.
        let room = (usize::MAX - start.addr()) & !(GRANULE - 1);
        self.end = start.wrapping_add(pages.bytes().unwrap_or(usize::MAX).min(room));
        // SAFETY: the source promises the new pages are ours.
        unsafe { self.release(start, self.end.addr() - start.addr()) };
        true
    }
}
