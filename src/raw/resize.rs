//! `realloc` in place where it can be: shrinking, growing into fresh memory or into the block
//! behind when it is free or waits on a quick list, and moving a block that shrinks while fresh
//! memory is low. When memory cannot grow, a last resort moves a block within its own space
//! merged with its free neighbours.

use super::block::{Block, MIN_BLOCK, block_size_for};
use super::small::{SLAB_BYTES, SMALL_MAX, class_of, shortest_slab};
use super::tlsf::holds_aligned;
use super::{RawHeap, aligned_with_gap};
use crate::source::PageSource;
use core::mem::MaybeUninit;
use core::ptr;

impl<S: PageSource> RawHeap<S> {
    /// Resize in place if possible, or move a block that shrinks while fresh memory is low into a
    /// free block that fits (see [`refit`](Self::refit)): the payload that now holds the data, or
    /// null when the caller must move the block to memory taken as for a new allocation.
    ///
    /// # Safety
    /// `block` is live with `old_size` and `align`.
    pub(super) unsafe fn try_resize(
        &mut self,
        block: *mut u8,
        old_size: usize,
        new_size: usize,
        align: usize,
    ) -> *mut u8 {
        let (old_small, new_small) =
            (Self::is_small(old_size.max(1), align), Self::is_small(new_size.max(1), align));
        if old_small || new_small {
            let same_class = old_small && new_small && class_of(old_size.max(1)) == class_of(new_size.max(1));
            return if same_class { block } else { ptr::null_mut() };
        }
        let Some(wanted) = block_size_for(new_size) else { return ptr::null_mut() };
        let block = Block(block);
        // SAFETY: the block is live in the coalescing tier, so its header and its neighbour's are
        // valid, and every byte we hand around below is ours.
        unsafe {
            let size = block.size();
            let next = block.next();
            if wanted <= size {
                let spare = size - wanted;
                if spare >= MIN_BLOCK && self.fresh_is_low() {
                    let moved = self.refit(block, old_size, new_size, align);
                    if !moved.is_null() {
                        return moved;
                    }
                }
                if spare >= MIN_BLOCK {
                    block.set_used(wanted, block.prev_is_free());
                    let tail = block.next();
                    tail.set_used(spare, false);
                    self.free_large(tail);
                }
                return block.payload();
            }
            if next.payload() == self.top {
                let end = block.payload().addr().checked_add(wanted);
                let fits = |heap: &Self| end.is_some_and(|e| e <= heap.end.addr());
                if !fits(self) {
                    // Memory would grow. As for an allocation, it grows only when no free block
                    // holds the block: if one does, the caller moves the block there.
                    if self.free_block_holds(wanted, align) {
                        return ptr::null_mut();
                    }
                    let extra = end.map_or(usize::MAX, |e| e - self.end.addr());
                    if !self.grow_contiguous(extra) || !fits(self) {
                        return ptr::null_mut();
                    }
                }
                block.set_used(wanted, block.prev_is_free());
                self.raise_top(block.payload().wrapping_add(wanted));
                return block.payload();
            }
            // The block behind is taken if it is free, or if it waits on a quick list, where it
            // looks in use (see `QuickLists::take_kept`).
            let (next_size, next_free) = (next.size(), next.is_free());
            if size + next_size >= wanted && (next_free || self.quick.take_kept(next.payload(), next_size)) {
                if next_free {
                    self.free_index.remove(next, next_size);
                }
                let total = size + next_size;
                let rest = total - wanted;
                if rest >= MIN_BLOCK {
                    block.set_used(wanted, block.prev_is_free());
                    let tail = block.next();
                    if next_free {
                        // A free block has no free neighbour: the rest is a free block as it is.
                        tail.set_free(rest);
                        self.free_index.insert(tail, rest);
                    } else {
                        // A kept block may have a free block behind it: freed, the rest merges
                        // with it.
                        tail.set_used(rest, false);
                        self.free_large(tail);
                    }
                } else {
                    block.set_used(total, block.prev_is_free());
                    block.next().set_prev_free(false);
                }
                return block.payload();
            }
        }
        ptr::null_mut()
    }

    /// Move a block that shrinks, while fresh memory is low, into a free block that fits, and free
    /// its old space whole: the new payload, or null (and nothing changed) if no free block fits.
    /// Never grows memory.
    ///
    /// Shrunk in place, the block would keep the front of its old space and split the rest off
    /// behind it, so a later request as large as the old block finds no room there. Moved, it takes
    /// a hole that fits, as a new allocation of its size would. That costs the copy of the new
    /// size, which wasmtime charges per byte, and saves pages only near the high-water mark, so
    /// the heap moves only while less than `FLUSH_MARGIN` of fresh memory is left (when merges
    /// happen at once too), and then on any shrink that frees a block's worth.
    ///
    /// Measured on trial builds of the code of 2026-12-04 before it (which merged frees at once
    /// while fresh memory was low, but moved a block that shrank to half its size or less whatever
    /// fresh memory was left), with `growheap-bench run --wasm DIR --only growheap,floor
    /// --workloads random-actions-realloc --runs 5 --instances 1 --seeds 100`: fuel per action,
    /// pages after the benchmark's six runs, mean pages over seeds 1 to 100 and the seeds within a
    /// footprint of 1.07. The code before gave 868.1, 50, 37.14 and 35. Moving only while fresh
    /// memory is low: at half or less 792.6, 50, 37.23 and 32; when the spare part is at least half
    /// the new size 805.6, 50, 36.99 and 51; at least a quarter 823.4, 51, 36.85 and 59; at any
    /// shrink (the code, before a grow took a neighbour waiting on a quick list) 850.5, 50, 36.79
    /// and 66. At half or less, or at any shrink while fresh memory is low: 930.0, 50, 36.79 and
    /// 66. Ten alternating rounds of `growheap-bench loop --wasm GUEST --workload
    /// random-actions-realloc --runs 20 --instances 3` put moving at half or less, moving when the
    /// spare part is at least half the new size, and the code at 1.025×, 1.033× and 1.009× the
    /// speed of the code before, and talc at 1.092×. Earlier measurements of the rule are in
    /// `bench/trials/realloc.md`.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc); `block` is a live block of the coalescing tier, allocated
    /// with `old_size` and `align`, and `new_size` needs a smaller block than it.
    #[inline(never)]
    unsafe fn refit(&mut self, block: Block, old_size: usize, new_size: usize, align: usize) -> *mut u8 {
        // SAFETY: the heap's memory is untouched by others, as the caller promises; the new
        // block was free, so it does not overlap the live one, whose bytes are ours to read
        // until it is freed after the copy.
        unsafe {
            let moved = self.alloc_large(new_size, align, false);
            if !moved.is_null() {
                ptr::copy_nonoverlapping(block.payload(), moved, old_size.min(new_size));
                self.free_moved(block.payload(), old_size, align);
            }
            moved
        }
    }

    /// The last resort of a `realloc` that moves a block of the coalescing tier into the small
    /// tier (a shrink to `SMALL_MAX` bytes or less) when no slab can be had because memory cannot
    /// grow: free the block first, its new contents kept on the stack, so that a slab can be cut
    /// from its own space, merged with its free neighbours or with fresh memory, full or as short
    /// as one block of the class (`RawHeap::slab_without_growth`). The new payload, or null, and
    /// nothing changed, when that space would not hold a slab either.
    ///
    /// Without it, at the page cap or when the host refuses, `Vec::shrink_to_fit` from more than
    /// 128 bytes to 128 or less got null and aborted the program, while its own buffer held room.
    /// Still null: a block whose space, with its free neighbours, holds no 1 KiB-aligned address
    /// with room for the slab's header and one block after it.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc); `block` is live with `old_size` and `align`, and the call to
    /// take the new block in the small tier has just failed.
    #[inline(never)]
    pub(super) unsafe fn shrink_into_own_space(
        &mut self,
        block: *mut u8,
        old_size: usize,
        new_size: usize,
        align: usize,
    ) -> *mut u8 {
        if !Self::is_small(new_size.max(1), align) || Self::is_small(old_size.max(1), align) {
            return ptr::null_mut();
        }
        let class = class_of(new_size.max(1));
        let Some(slab_size) = block_size_for(shortest_slab(class)) else { return ptr::null_mut() };
        let old = Block(block);
        // SAFETY: the block is live in the coalescing tier, so its header, its neighbours' headers
        // and the footer of a free block in front are valid; its first `new_size <= SMALL_MAX`
        // bytes are ours to read. Freed, the block merges exactly as measured here (`free_large`),
        // and `slab_without_growth` then finds at least what `holds_aligned` found: fresh memory
        // from `top` (`top_fits`), or the merged free block on a list from the slab's size up
        // (`FreeIndex::take_aligned`), so the copy back has its block.
        unsafe {
            let (start, size) = self.space_around(old);
            if !holds_aligned(start.payload().addr(), size, slab_size, SLAB_BYTES) {
                return ptr::null_mut();
            }
            let mut kept = [MaybeUninit::<u8>::uninit(); SMALL_MAX];
            ptr::copy_nonoverlapping(block, kept.as_mut_ptr().cast::<u8>(), new_size);
            self.free_large(old);
            let slab = self.slab_without_growth(class);
            let moved = self.serve_from_new_slab(slab, class);
            // A check of the reasoning above, for the heap's tests (a panic here, under the lock,
            // in a caller's debug build would be worse than the null).
            #[cfg(any(test, feature = "testing"))]
            debug_assert!(!moved.is_null(), "the freed block's space did not hold a slab");
            if !moved.is_null() {
                ptr::copy_nonoverlapping(kept.as_ptr().cast::<u8>(), moved, new_size);
            }
            moved
        }
    }

    /// The last resort of a `realloc` that grows a block of the coalescing tier when no block
    /// elsewhere can be had because memory cannot grow: take the free block in front of it, with
    /// the free block or fresh memory behind it, and move the contents down into the space they
    /// make together. The new payload, or null, and nothing changed, when there is no free block
    /// in front or the space does not hold the new size. With no free block in front, what is
    /// behind alone was tried already (`try_resize`).
    ///
    /// Without it, at the page cap or when the host refuses, a `Vec` that grew got null and aborted
    /// the program while the free block in front of its buffer held the room it lacked.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc); `block` is live with `old_size` and `align`, and the calls to
    /// resize it in place and to take a new block have just failed.
    #[inline(never)]
    pub(super) unsafe fn grow_into_own_space(
        &mut self,
        block: *mut u8,
        old_size: usize,
        new_size: usize,
        align: usize,
    ) -> *mut u8 {
        if Self::is_small(new_size.max(1), align) || Self::is_small(old_size.max(1), align) {
            return ptr::null_mut();
        }
        let Some(wanted) = block_size_for(new_size) else { return ptr::null_mut() };
        let old = Block(block);
        // SAFETY: the block is live in the coalescing tier, so its header, its neighbours' headers
        // and the footer of the free block in front are valid. The neighbours come off the index
        // before their bytes are reused; the contents move down (`aligned_with_gap` finds the
        // block's own payload at the latest, since it is aligned with a free block in front) and
        // end before the header of the block behind the space; only then are the new headers
        // written, each outside the contents' new place.
        unsafe {
            if !old.prev_is_free() {
                return ptr::null_mut();
            }
            let (start, size) = self.space_around(old);
            let next = old.next();
            let at_top = next.payload() == self.top;
            if !holds_aligned(start.payload().addr(), size, wanted, align) {
                return ptr::null_mut();
            }
            let payload = aligned_with_gap(start.payload().addr(), align).unwrap_or(block.addr());
            let moved = block.with_addr(payload);
            self.free_index.remove(start, start.size());
            if !at_top && next.is_free() {
                self.free_index.remove(next, next.size());
            }
            ptr::copy(block, moved, old_size);
            if at_top {
                // The space becomes fresh memory, as a freed block at `top` does, and the block is
                // cut from it as from fresh memory.
                self.top = start.payload();
                return self.cut_from_top(moved, wanted).payload();
            }
            // The space is one free block, its footer not written: `use_free_block` reads only its
            // header and writes the footers of what it leaves free.
            let after = Block(start.payload().wrapping_add(size));
            start.set_used(size, false);
            let used = self.use_free_block(start, wanted, align);
            after.set_prev_free(used.next() != after);
            used.payload()
        }
    }

    /// The space `block` would make if it were freed: the block, with the free block in front of
    /// it and the free block behind it, or with all fresh memory when it ends at `top`. Its start
    /// and size, as `free_large` would merge it.
    ///
    /// # Safety
    /// `block` is an in-use block of the coalescing tier.
    unsafe fn space_around(&self, block: Block) -> (Block, usize) {
        // SAFETY: the block's header and its neighbours' are valid, and so is the footer of a free
        // block in front, as the caller promises.
        unsafe {
            let (mut start, mut size) = (block, block.size());
            if block.prev_is_free() {
                start = block.prev_free();
                size += start.size();
            }
            let next = block.next();
            if next.payload() == self.top {
                size = self.end.addr() - start.payload().addr();
            } else if next.is_free() {
                size += next.size();
            }
            (start, size)
        }
    }
}
