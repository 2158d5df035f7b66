//! The small tier: size classes with LIFO free lists, cut from slabs by a bump cursor.
//!
//! Requests of at most [`SMALL_MAX`] bytes and alignment at most [`GRANULE`] are served here
//! without any header: `dealloc` gets the `Layout`, so the class is known on the way back. A slab
//! is a block of the coalescing tier flagged as such; the tier never sees the blocks inside it.

use super::block::GRANULE;
use core::ptr;

/// Largest request served by the small tier.
pub(crate) const SMALL_MAX: usize = 256;
/// Requests up to this size have one class per granule.
const LINEAR_MAX: usize = 128;
/// Step between classes above `LINEAR_MAX`: 16 bytes, so the waste is below 1/8 of the block.
const WIDE_STEP: usize = 16;
/// Number of size classes.
pub(crate) const CLASS_COUNT: usize = LINEAR_MAX / GRANULE + (SMALL_MAX - LINEAR_MAX) / WIDE_STEP;
/// Bytes a new slab asks the coalescing tier for.
pub(crate) const SLAB_REQUEST: usize = 4096 - 2 * GRANULE;

static_assertions::const_assert_eq!(class_size(CLASS_COUNT - 1), SMALL_MAX);
static_assertions::const_assert!(WIDE_STEP * 8 <= LINEAR_MAX + WIDE_STEP);
static_assertions::const_assert!(SLAB_REQUEST >= 8 * SMALL_MAX);

/// The class that serves `size` bytes (`1..=SMALL_MAX`).
pub(crate) const fn class_of(size: usize) -> usize {
    debug_assert!(size >= 1 && size <= SMALL_MAX);
    if size <= LINEAR_MAX {
        (size - 1) / GRANULE
    } else {
        LINEAR_MAX / GRANULE + (size - LINEAR_MAX - 1) / WIDE_STEP
    }
}

/// The block size of class `class`.
pub(crate) const fn class_size(class: usize) -> usize {
    let linear = LINEAR_MAX / GRANULE;
    if class < linear { (class + 1) * GRANULE } else { LINEAR_MAX + (class - linear + 1) * WIDE_STEP }
}

/// The largest class whose blocks fit in `bytes`, if any.
const fn largest_class_within(bytes: usize) -> Option<usize> {
    if bytes < GRANULE {
        None
    } else if bytes < LINEAR_MAX + WIDE_STEP {
        Some(if bytes >= LINEAR_MAX { LINEAR_MAX / GRANULE - 1 } else { bytes / GRANULE - 1 })
    } else if bytes >= SMALL_MAX {
        Some(CLASS_COUNT - 1)
    } else {
        Some(LINEAR_MAX / GRANULE + (bytes - LINEAR_MAX) / WIDE_STEP - 1)
    }
}

/// Size-class free lists and the slab being cut.
pub(crate) struct SmallTier {
    /// LIFO list of free blocks per class, linked through their first word; null when empty.
    /// Every block on `free_lists[c]` is `class_size(c)` bytes inside some slab.
    pub(crate) free_lists: [*mut u8; CLASS_COUNT],
    /// Next unused byte of the current slab; `cursor <= slab_end`. Bytes in
    /// `[cursor, slab_end)` belong to no block.
    pub(crate) cursor: *mut u8,
    /// End of the current slab's payload (null before the first slab).
    pub(crate) slab_end: *mut u8,
}

impl SmallTier {
    pub(crate) const fn new() -> Self {
        SmallTier {
            free_lists: [ptr::null_mut(); CLASS_COUNT],
            cursor: ptr::null_mut(),
            slab_end: ptr::null_mut(),
        }
    }

    /// A free block of `class`: reused from its list, else cut from the slab. `None` when both
    /// are empty; the caller then starts a new slab.
    ///
    /// # Safety
    /// The lists and the slab hold only memory the heap owns and no live block.
    #[inline]
    pub(crate) unsafe fn take(&mut self, class: usize) -> Option<*mut u8> {
        let head = self.free_lists[class];
        if !head.is_null() {
            // SAFETY: a listed block is free, ours, and holds its next link in its first word
            // (every class is at least GRANULE >= one pointer).
            self.free_lists[class] = unsafe { head.cast::<*mut u8>().read() };
            return Some(head);
        }
        let size = class_size(class);
        if self.slab_end.addr() - self.cursor.addr() >= size {
            let block = self.cursor;
            self.cursor = block.wrapping_add(size);
            return Some(block);
        }
        None
    }

    /// Give a block of `class` back.
    ///
    /// # Safety
    /// `block` was handed out by [`take`](Self::take) for `class` and is no longer used.
    #[inline]
    pub(crate) unsafe fn put(&mut self, block: *mut u8, class: usize) {
        if block.wrapping_add(class_size(class)) == self.cursor {
            // The block is the last one cut from the slab: give its bytes back to the cursor.
            self.cursor = block;
            return;
        }
        // SAFETY: the block is ours again and at least one pointer wide; GRANULE alignment
        // covers a pointer's alignment.
        unsafe { block.cast::<*mut u8>().write(self.free_lists[class]) };
        self.free_lists[class] = block;
    }

    /// Start cutting a new slab `[start, end)`. What is left of the old slab goes to the free
    /// list of the largest class it holds, so no byte is stranded for good.
    ///
    /// # Safety
    /// `[start, end)` is memory the heap owns and gives to the small tier for good.
    pub(crate) unsafe fn start_slab(&mut self, start: *mut u8, end: *mut u8) {
        let leftover = self.slab_end.addr() - self.cursor.addr();
        if let Some(class) = largest_class_within(leftover) {
            // SAFETY: the leftover bytes belong to no block and lie in the old slab.
            unsafe { self.put(self.cursor, class) };
        }
        self.cursor = start;
        self.slab_end = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_every_small_size_with_little_waste() {
        for size in 1..=SMALL_MAX {
            let class = class_of(size);
            let block = class_size(class);
            assert!(block >= size, "class {class} ({block} B) too small for {size}");
            assert!(class == 0 || class_size(class - 1) < size, "{size} not in its smallest class");
            // Below 64 bytes the granule dominates; above, the waste stays under 1/8.
            assert!(block - size < GRANULE || (block - size) * 8 <= block, "waste at {size}");
            assert_eq!(block % GRANULE, 0);
        }
    }

    #[test]
    fn leftover_goes_to_the_largest_class_it_holds() {
        assert_eq!(largest_class_within(7), None);
        for bytes in GRANULE..SMALL_MAX * 2 {
            let class = largest_class_within(bytes).unwrap();
            assert!(class_size(class) <= bytes);
            assert!(class + 1 == CLASS_COUNT || class_size(class + 1) > bytes, "at {bytes}");
        }
    }
}
