//! Where the small tier's slabs come from: blocks of the coalescing tier, 1 KiB at a payload
//! aligned to 1 KiB, so that a small block masks to its slab's start. When memory cannot grow, a
//! shorter slab, with room for as little as one block of its class, is cut where a full one does
//! not fit.

use super::block::{Block, WORD, block_size_for};
use super::small::{SLAB_BYTES, shortest_slab};
use super::{RawHeap, aligned_with_gap};
use crate::source::PageSource;
use core::ptr;

impl<S: PageSource> RawHeap<S> {
    /// A block of the small tier's `class`: from a slab of the class with room, else from a new
    /// slab, which may grow memory; null when memory cannot be had.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    pub(super) unsafe fn alloc_small(&mut self, class: usize) -> *mut u8 {
        // SAFETY: the small tier holds only our memory.
        if let Some(block) = unsafe { self.small.take(class) } {
            return block;
        }
        // SAFETY: forwarded from the caller.
        let mut slab = unsafe { self.alloc_large(SLAB_BYTES - WORD, SLAB_BYTES, true) };
        if slab.is_null() {
            // SAFETY: as above.
            slab = unsafe { self.slab_without_growth(class) };
        }
        // SAFETY: the slab, if any, was just taken for the small tier.
        unsafe { self.serve_from_new_slab(slab, class) }
    }

    /// A slab for `class` from what the heap holds, without growing memory: in fresh memory or in
    /// a free block that holds a full one, else in the first that holds at least the shortest
    /// (see [`shortest_slab`]), which then takes all the room it has up to a full slab's. Null if
    /// none fits. Asked after a growth was refused and the empty slabs kept for reuse were given
    /// back, so that a small request gets null only when no free space holds a slab for it at a
    /// 1 KiB-aligned payload. Out of line: it walks every free block, and runs only then.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    #[inline(never)]
    pub(super) unsafe fn slab_without_growth(&mut self, class: usize) -> *mut u8 {
        let (Some(full), Some(shortest)) =
            (block_size_for(SLAB_BYTES - WORD), block_size_for(shortest_slab(class)))
        else {
            return ptr::null_mut();
        };
        for wanted in [full, shortest] {
            if let Some(lowest) = self.top_fits(wanted, SLAB_BYTES) {
                let size = (self.end.addr() - lowest.addr()).min(full);
                // SAFETY: `top_fits` checked that `wanted` bytes lie in fresh memory from `lowest`,
                // and `size` bytes do too, up to `end`.
                return unsafe { self.cut_from_top(lowest, size) }.payload();
            }
            // SAFETY: the index holds only our free blocks; a block it finds holds `wanted` bytes
            // at its aligned payload, and `size` bytes too: all it has from there, or a full slab.
            unsafe {
                let free = self.free_index.take_aligned(wanted, SLAB_BYTES);
                if !free.is_null() {
                    // Where `take_aligned` found the payload; never `None` for a block it found.
                    let aligned = aligned_with_gap(free.addr(), SLAB_BYTES).unwrap_or(free.addr());
                    let size = (free.addr() + Block(free).size() - aligned).min(full);
                    return self.use_free_block(Block(free), size, SLAB_BYTES).payload();
                }
            }
        }
        ptr::null_mut()
    }

    /// Make `slab`, a block of the coalescing tier just taken for the small tier (or null), the
    /// current slab of `class`, and take a block from it: its payload, or null without a slab.
    ///
    /// # Safety
    /// `slab` is null or the payload of an in-use block of the coalescing tier that nothing else
    /// refers to, at a payload aligned to `SLAB_BYTES`, with room for a block of `class`.
    pub(super) unsafe fn serve_from_new_slab(&mut self, slab: *mut u8, class: usize) -> *mut u8 {
        if slab.is_null() {
            return slab;
        }
        // SAFETY: as the caller promises; the slab, just installed, has room for a block.
        unsafe {
            self.install_slab(slab, class);
            self.small.take(class).unwrap_or(ptr::null_mut())
        }
    }

    /// Make `slab` the current slab of `class`, with no block taken from it yet.
    ///
    /// # Safety
    /// As for [`serve_from_new_slab`](Self::serve_from_new_slab), and `slab` is not null.
    pub(super) unsafe fn install_slab(&mut self, slab: *mut u8, class: usize) {
        let slab = Block(slab);
        // SAFETY: the slab was just allocated, so its header is ours; its payload runs to the
        // next block's header (clamped to SLAB_BYTES so that every block masks to the slab's
        // start), and the small tier owns it from now on.
        unsafe {
            let size = slab.size();
            slab.set_slab(size, slab.prev_is_free());
            self.small.install(slab.payload(), (size - WORD).min(SLAB_BYTES), class);
        }
    }
}
