//! Fresh memory: the part of the current region above `top`, which no block has covered since
//! it was grown (or given back). Blocks are cut from its low end, except a buffer that grows by
//! copying, whose new copy goes to the high end (see [`RawHeap::placement`]).

use super::block::{Block, GRANULE, MIN_BLOCK};
use super::quick::FLUSH_MARGIN;
use super::{RawHeap, aligned_with_gap};
use crate::pages::MAX_GROWTHS_PER_BLOCK;
use crate::source::{PAGE_SIZE, PageSource};
use core::ptr;

/// Blocks at least this large may be cut from the high end of fresh memory (see
/// `RawHeap::placement`).
const HIGH_PLACEMENT_MIN: usize = PAGE_SIZE;

impl<S: PageSource> RawHeap<S> {
    /// Cut a block from fresh memory, growing memory if needed: its payload, or null. Before
    /// memory grows, the free blocks are walked for one that the quick search of the free lists
    /// passed over (`FreeIndex::take_aligned`): memory grows only when no free block holds the
    /// block. When the growth is refused, the empty slabs kept for reuse are given back
    /// (`release_kept_slabs`) and both places are looked at once more, without growing again:
    /// those slabs, and the fresh memory of a region that a growth losing a race sealed during
    /// this call (now a free block), are the heap's only memory that no search has seen by then.
    /// Out of line, so that the reuse path stays small.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    #[inline(never)]
    pub(super) unsafe fn alloc_fresh(&mut self, block_size: usize, align: usize) -> *mut u8 {
        self.start();
        let (mut growths, mut walk, mut refused) = (0, true, false);
        loop {
            if let Some(lowest) = self.top_fits(block_size, align) {
                let payload = self.placement(lowest, block_size, align, growths > 0);
                if block_size >= HIGH_PLACEMENT_MIN {
                    self.last_big = block_size;
                }
                // SAFETY: `top_fits` checked that the block lies in fresh memory, and
                // `placement` only moves it up within fresh memory.
                return unsafe { self.cut_from_top(payload, block_size) }.payload();
            }
            if walk {
                walk = false;
                // SAFETY: the index holds only our free blocks; a block it finds holds the block
                // at `align`.
                unsafe {
                    let free = self.free_index.take_aligned(block_size, align);
                    if !free.is_null() {
                        return self.use_free_block(Block(free), block_size, align).payload();
                    }
                }
            }
            if refused {
                return ptr::null_mut();
            }
            if growths == MAX_GROWTHS_PER_BLOCK || !self.grow_for(block_size, align) {
                if !self.release_kept_slabs() {
                    return ptr::null_mut();
                }
                (walk, refused) = (true, true);
                continue;
            }
            growths += 1;
        }
    }

    /// Move `top` up to `new_top`, past memory now covered by a block \[ref:clean].
    pub(super) fn raise_top(&mut self, new_top: *mut u8) {
        self.top = new_top;
        if new_top > self.clean {
            self.clean = new_top;
        }
    }

    /// Whether less than [`FLUSH_MARGIN`] of fresh memory is left in the current region (or there
    /// is no region): freed blocks then merge at once instead of waiting on a quick list.
    #[inline(always)]
    pub(super) fn fresh_is_low(&self) -> bool {
        self.end.addr() - self.top.addr() < FLUSH_MARGIN
    }

    /// Where a block of `size` aligned to `align` would start if cut from fresh memory now, if
    /// it fits in the current region.
    pub(super) fn top_fits(&self, size: usize, align: usize) -> Option<*mut u8> {
        if self.top.is_null() {
            return None;
        }
        let payload = aligned_with_gap(self.top.addr(), align)?;
        let block_end = payload.checked_add(size)?;
        (block_end <= self.end.addr()).then(|| self.top.with_addr(payload))
    }

    /// Where to cut a block from fresh memory, given the lowest place it fits.
    ///
    /// A block of a page or more that is larger than the last such block goes at the high end of
    /// fresh memory instead, and the space below becomes a free block. That is a buffer growing
    /// by allocate-copy-free: once the smaller copy is freed, its space and the free block merge
    /// below the new copy, and the next, larger copy fits there instead of above (talc #51's
    /// ratchet: 165 pages instead of 189).
    ///
    /// Every other block goes low, and so does a block that memory was `grown` for: then fresh
    /// memory holds only the block and the rest of its last page, which is worth more above the
    /// block, for the next one, than below it as a free block too small for blocks of this size
    /// (32 zeroed buffers of 100,000 bytes, kept: 49 pages instead of 64; with
    /// `min_grow_pages(4)`, 52 instead of 64).
    fn placement(&self, lowest: *mut u8, size: usize, align: usize, grown: bool) -> *mut u8 {
        if size < HIGH_PLACEMENT_MIN || size <= self.last_big || grown {
            return lowest;
        }
        let highest = (self.end.addr() - size) & !(align.max(GRANULE) - 1);
        if highest - lowest.addr() >= MIN_BLOCK { lowest.with_addr(highest) } else { lowest }
    }

    /// Cut a block from fresh memory at `payload`; any gap below it becomes a free block.
    ///
    /// # Safety
    /// `payload` came from [`top_fits`](Self::top_fits) for `size` just now.
    pub(super) unsafe fn cut_from_top(&mut self, payload: *mut u8, size: usize) -> Block {
        let gap = payload.addr() - self.top.addr();
        // SAFETY: the gap and the block lie in fresh memory below `end`, which we own; the block
        // before `top` is in use [ref:top], so the gap block's PREV_FREE is clear.
        unsafe {
            if gap > 0 {
                let front = Block(self.top);
                front.set_free(gap);
                self.free_index.insert(front, gap);
            }
            let block = Block(payload);
            block.set_used(size, gap > 0);
            self.raise_top(payload.wrapping_add(size));
            block
        }
    }
}
