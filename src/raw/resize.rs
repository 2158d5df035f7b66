//! `realloc` in place where it can be: shrinking, growing into fresh memory or into the free
//! block behind, and moving a block that shrinks to half its size or less.

use super::RawHeap;
use super::block::{Block, MIN_BLOCK, block_size_for};
use super::small::class_of;
use crate::source::PageSource;
use core::ptr;

impl<S: PageSource> RawHeap<S> {
    /// Resize in place if possible, or move a block that shrinks to half or less into a free
    /// block that fits (see [`refit`](Self::refit)): the payload that now holds the data, or null
    /// when the caller must move the block to memory taken as for a new allocation.
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
                if spare >= wanted {
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
                    let extra = end.map_or(usize::MAX, |e| e - self.end.addr());
                    if !self.grow_contiguous(extra) || !fits(self) {
                        return ptr::null_mut();
                    }
                }
                block.set_used(wanted, block.prev_is_free());
                self.raise_top(block.payload().wrapping_add(wanted));
                return block.payload();
            }
            if next.is_free() && size + next.size() >= wanted {
                let next_size = next.size();
                self.free_index.remove(next, next_size);
                let total = size + next_size;
                let rest = total - wanted;
                if rest >= MIN_BLOCK {
                    block.set_used(wanted, block.prev_is_free());
                    let tail = block.next();
                    tail.set_free(rest);
                    self.free_index.insert(tail, rest);
                } else {
                    block.set_used(total, block.prev_is_free());
                    block.next().set_prev_free(false);
                }
                return block.payload();
            }
        }
        ptr::null_mut()
    }

    /// Move a block that shrinks to half its size or less into a free block that fits, and free
    /// its old space whole: the new payload, or null (and nothing changed) if no free block
    /// fits. Never grows memory.
    ///
    /// Shrunk in place, the block would keep the front of its old space and split the rest off
    /// behind it, so a later request as large as the old block finds no room there. Moved, it takes
    /// a hole that fits, as a new allocation of its size would. The copy is at most the new size,
    /// so at most half the space it frees. Measured before the quick lists, on random-actions with
    /// realloc in wasm32's layout (`growheap-profile bench-pages` and `seeds --realloc 200` run on
    /// `wasm32-wasip1`, see `bench/README.md`): the benchmark's sequence grows 39 pages instead of
    /// 41, and the mean over 200 seeds falls from 32.08 to 31.00 pages. The price is the copies:
    /// 1214.3 fuel per action instead of 1034.9 (`scripts/bench`), since wasmtime charges
    /// `memory.copy` per byte, and 5% of the wall-clock speed under wasmtime, 8% under Node
    /// (`scripts/bench --only growheap,std-dlmalloc,talc,floor --workloads random-actions-realloc
    /// --seeds 0` on both builds, one after the other). In trial builds, moving on every shrink
    /// gave 30.55 mean pages for 1626.5 fuel, and moving at a quarter or less 31.70 for 1084.7.
    /// With the quick lists the trade is the same (`scripts/bench --only growheap,floor --workloads
    /// random-actions-realloc --runs 1 --instances 1 --seeds 100` on trial builds): 43 pages and
    /// 32.65 mean pages over seeds 1 to 100 for 1088.4 fuel; without the move, 44 and 33.75 for
    /// 919.3. With the lists' margin and `SPLIT_MIN` 128 (`quick::FLUSH_MARGIN`): 42 and 31.92
    /// for 1106.2; without the move, 43 and 33.16 for 939.5. In wall-clock time the move costs
    /// less than in fuel: six alternating rounds of `growheap-bench loop --workload
    /// random-actions-realloc --runs 20 --instances 3` on builds with and without it, and on talc,
    /// put growheap at a median 0.861× and 0.889× talc's speed (before the margin, six rounds of
    /// `growheap-bench run` had given 0.862× and 0.880×).
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc); `block` is a live block of the coalescing tier, allocated
    /// with `old_size` and `align`, and `new_size` needs a block of at most half of its size.
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
}
