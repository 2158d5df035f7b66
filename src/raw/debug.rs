//! Debug checks (feature `debug-checks`): freed memory is poisoned, and a free of a pointer this
//! heap never handed out, or of a block already freed, is caught with a clear message.
//!
//! Cost: every free writes [`POISON`] over the whole block (a `memset` of its size) and walks
//! the region list (one entry per run of contiguous memory, usually one to three). A small
//! block is also looked up on its slab's free list: at most 1 KiB / class size entries.

use super::RawHeap;
use super::block::{Block, GRANULE, MIN_BLOCK, WORD, block_size_for};
use super::growth::RegionHeader;
use super::small::{SMALL_ALIGN, Slab, SmallTier, class_of, class_size, slab_of};
use crate::source::PageSource;
use core::alloc::Layout;
use core::fmt;

/// The byte written over freed memory.
pub const POISON: u8 = 0xDD;

/// Why a free was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The pointer lies in no region of this heap, or is misaligned for any block of it.
    NotFromThisHeap {
        /// The pointer given to `dealloc` or `realloc`.
        ptr: *mut u8,
    },
    /// The pointer lies in memory the heap has taken back (freed, then merged into fresh
    /// memory), so it is not a live block.
    NotLive {
        /// The pointer given to `dealloc` or `realloc`.
        ptr: *mut u8,
    },
    /// The block was freed already.
    DoubleFree {
        /// The pointer given to `dealloc` or `realloc`.
        ptr: *mut u8,
    },
    /// The block's header does not fit the layout: freed with another layout than it was
    /// allocated with, or its header was overwritten.
    LayoutMismatch {
        /// The pointer given to `dealloc` or `realloc`.
        ptr: *mut u8,
        /// The layout it was freed with.
        layout: Layout,
    },
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // On a copy: bound through `&self`, each `ptr` would be a reference, and `{:p}` would
        // print where that reference lives instead of the block.
        match *self {
            FreeError::NotFromThisHeap { ptr } => {
                write!(f, "free of {ptr:p}, which this heap never handed out")
            }
            FreeError::NotLive { ptr } => {
                write!(f, "free of {ptr:p}, which is not a live block (freed already?)")
            }
            FreeError::DoubleFree { ptr } => write!(f, "double free of {ptr:p}"),
            FreeError::LayoutMismatch { ptr, layout } => write!(
                f,
                "free of {ptr:p} with {layout:?}, which is not the layout it was allocated with \
                 (or its header was overwritten)"
            ),
        }
    }
}

/// Where a pointer lies, for [`RawHeap::check_free`].
enum Place {
    HandedOut,
    Fresh,
    Outside,
}

impl<S: PageSource> RawHeap<S> {
    /// Check that `ptr` may be freed with `layout`: it lies in this heap, is not free already,
    /// and its block fits the layout.
    ///
    /// # Errors
    /// What is wrong with the free.
    pub fn check_free(&self, ptr: *mut u8, layout: Layout) -> Result<(), FreeError> {
        let size = layout.size().max(1);
        let small = Self::is_small(size, layout.align());
        // A large block's extent comes from its header, checked below against the layout.
        let extent = if small { class_size(class_of(size)) } else { 1 };
        let align = if small { SMALL_ALIGN } else { GRANULE };
        match self.region_of(ptr, extent) {
            _ if ptr.addr() % align != 0 => return Err(FreeError::NotFromThisHeap { ptr }),
            Place::HandedOut => {}
            Place::Fresh => return Err(FreeError::NotLive { ptr }),
            Place::Outside => return Err(FreeError::NotFromThisHeap { ptr }),
        }
        if small {
            return self.check_small_free(ptr, layout, class_of(size));
        }
        let block = Block(ptr);
        // SAFETY: `ptr` lies in handed-out memory of a region (checked above) and is
        // GRANULE-aligned, so the word before it is inside the region too.
        let (block_size, free, slab) = unsafe { (block.size(), block.is_free(), block.is_slab()) };
        // The word before a pointer that is no block's is data: only a size that makes a whole
        // block inside handed-out memory is a header worth reading further.
        let whole =
            block_size >= MIN_BLOCK && matches!(self.region_of(ptr, block_size - WORD), Place::HandedOut);
        if !whole {
            return Err(FreeError::LayoutMismatch { ptr, layout });
        }
        if free || self.quick.holds(ptr, block_size) {
            return Err(FreeError::DoubleFree { ptr });
        }
        if slab || block_size_for(size).is_none_or(|needed| block_size < needed) {
            return Err(FreeError::LayoutMismatch { ptr, layout });
        }
        Ok(())
    }

    /// Where `[ptr, ptr + size)` lies: below `top` in some region (memory blocks were cut
    /// from), in fresh memory, or outside the heap.
    fn region_of(&self, ptr: *mut u8, size: usize) -> Place {
        let mut region = self.region;
        while !region.is_null() {
            let current = region == self.region;
            // SAFETY: regions are linked through headers the heap wrote at their starts.
            let RegionHeader { previous, end } = unsafe { region.read() };
            let limit = if current { self.top } else { end };
            let start = region.addr() + size_of::<RegionHeader>() + WORD;
            let stop = ptr.addr().saturating_add(size);
            if ptr.addr() >= start && stop <= limit.addr() {
                return Place::HandedOut;
            }
            if current && ptr.addr() >= limit.addr() && stop <= self.end.addr() {
                return Place::Fresh;
            }
            region = previous;
        }
        Place::Outside
    }

    /// A small block must sit on the class grid of a slab of its class, and be neither on the
    /// slab's free list nor past its cursor.
    fn check_small_free(&self, ptr: *mut u8, layout: Layout, class: usize) -> Result<(), FreeError> {
        let slab = slab_of(ptr);
        let header_word = slab.cast::<u8>().wrapping_sub(WORD);
        if !matches!(self.region_of(header_word, WORD + size_of::<Slab>()), Place::HandedOut) {
            return Err(FreeError::LayoutMismatch { ptr, layout });
        }
        // SAFETY: the slab's block header and slab header lie in handed-out memory (checked
        // above); whether they really are a slab is what the flag tells.
        let (is_slab, header) = unsafe { (Block(slab.cast()).is_slab(), &*slab) };
        let first = SmallTier::first_block(slab).addr();
        let on_grid = ptr.addr() >= first && (ptr.addr() - first) % class_size(class) == 0;
        if !is_slab || header.class != class || !on_grid {
            return Err(FreeError::LayoutMismatch { ptr, layout });
        }
        if ptr.addr() >= header.cursor.addr() {
            return Err(FreeError::DoubleFree { ptr });
        }
        let mut node = header.free;
        while !node.is_null() {
            if node == ptr {
                return Err(FreeError::DoubleFree { ptr });
            }
            // SAFETY: listed blocks are free blocks of this slab, holding their next link.
            node = unsafe { node.cast::<*mut u8>().read() };
        }
        Ok(())
    }
}
