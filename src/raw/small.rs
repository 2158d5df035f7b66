//! The small tier: size classes served from 1 KiB slabs, one class per slab.
//!
//! Requests of at most [`SMALL_MAX`] bytes and alignment at most [`SMALL_ALIGN`] are served here
//! without any per-block header: `dealloc` gets the `Layout`, so the class is known on the way
//! back, and the slab is found by masking the pointer (slabs are [`SLAB_BYTES`]-aligned).
//!
//! A slab is a block of the coalescing tier, flagged as such. It starts with a [`Slab`] header,
//! then blocks of its class: some cut by a bump cursor, the rest on its free list. Each class
//! has a *current* slab that serves allocations, and a list of *partial* slabs that have free
//! blocks. A slab whose last block is freed goes back to the coalescing tier at once, unless it
//! is its class's current slab and fewer than [`KEPT_EMPTY_MAX`] empty slabs are kept (so that
//! one block allocated and freed in a loop does not take and return a slab each time).

use core::ptr;

/// Alignment of every small block, and the step between classes. Requests aligned above it go
/// to the coalescing tier.
pub(crate) const SMALL_ALIGN: usize = 8;

/// Largest request served by the small tier. Up to 128 bytes a slab beats a block with a header
/// (rounded to 16 bytes); above it, the class rounding and the bytes lost at the end of each slab
/// cost more than the header. Measured with `scripts/bench`, small tier up to 256 bytes (24
/// classes) against up to 128: small objects (8..=256 bytes) grew 28 pages and 27, for 2121.6
/// and 2162.7 fuel per object; random-actions stayed at 31 pages, for 552.6 and 543.7 fuel per
/// action (38.75 mean pages over 40 seeds both ways, `growheap-profile seeds`).
///
/// Measured again with the quick lists (2026-11-25), in wall-clock time too: five alternating
/// rounds of `growheap-bench loop --wasm GUEST --workload small-objects --runs 10 --instances 3` on
/// trial builds put small objects at 1.066× the speed of this code with no small tier at all; up to
/// 128 bytes at 1.046× with 2 KiB slabs and 1.013× with 4 KiB slabs; up to 256 bytes at 1.102× with
/// 2 KiB slabs and 1.084× with 4 KiB slabs; talc ran at 1.156×. Up to 256 bytes in 2 KiB slabs,
/// small objects cost 2072.7 fuel per object instead of 2194.6 but grew 28 pages instead of 27, and
/// random-actions cost 451.7 / 1105.4 fuel per action instead of 446.8 / 1102.1, for 39.84 / 32.10
/// mean pages over seeds 1 to 100 instead of 39.59 / 31.92 (`scripts/bench --only growheap,floor
/// --workloads random-actions,random-actions-realloc,small-objects --runs 1 --instances 1 --seeds
/// 100`). In six alternating rounds of `loop` it ran random-actions at 1.000× and 0.98× this code's
/// speed. Part of the small-objects gain is not the allocator's: the workload's own functions are
/// inlined differently in each build. Under `perf` (`loop --runs 20 --instances 3`, 5 kHz) the
/// allocator's functions took 197 samples against 268 here, half of the difference in the whole
/// module's (1,541 against 1,685). The pages and the fuel of random-actions kept 128 bytes and 1
/// KiB.
pub(crate) const SMALL_MAX: usize = 128;
/// Number of size classes: one per 8 bytes.
pub(crate) const CLASS_COUNT: usize = SMALL_MAX / SMALL_ALIGN;
/// Slots of the per-class arrays: a power of two, so that indexing with `class % CLASS_SLOTS`
/// needs no bounds check; any slots past `CLASS_COUNT` stay null.
const CLASS_SLOTS: usize = CLASS_COUNT.next_power_of_two();
/// Size and alignment of a slab's payload.
pub(crate) const SLAB_BYTES: usize = 1024;
/// Where a slab's first block starts, after its header.
const FIRST_BLOCK: usize = size_of::<Slab>().next_multiple_of(SMALL_ALIGN);

static_assertions::const_assert_eq!(class_size(CLASS_COUNT - 1), SMALL_MAX);
static_assertions::const_assert!(SLAB_BYTES.is_power_of_two());
// Even the largest class fits seven times in a slab (the slab loses one word to its block header
// at the end). Every class in use keeps a slab, so smaller slabs waste less where small requests
// are few. Random-actions (about 1% small requests), mean pages over 200 seeds with
// `growheap-profile seeds` (alloc+dealloc / with realloc), and small objects with
// `scripts/bench --only growheap,floor,talc --runs 1 --instances 1`:
// 4 KiB grew 32 pages on the benchmark's seed where 2 KiB grew 31; 2 KiB 36.22 / 32.09 mean
// pages, small objects 27 pages at 2143.7 fuel; 1 KiB 36.10 / 32.01, 27 pages at 2149.6 fuel;
// 512 bytes 36.04 / 31.97, but small objects 29 pages at 2164.5 fuel.
static_assertions::const_assert!(FIRST_BLOCK + 7 * SMALL_MAX <= SLAB_BYTES - SMALL_ALIGN);

/// The payload of the shortest slab that holds a block of `class`: its header and one block. Cut
/// only when memory cannot grow and no full slab fits (`RawHeap::slab_without_growth`); it lies at
/// a 1 KiB-aligned payload as every slab does.
pub(crate) const fn shortest_slab(class: usize) -> usize {
    FIRST_BLOCK + class_size(class)
}

/// The class that serves `size` bytes (`1..=SMALL_MAX`).
pub(crate) const fn class_of(size: usize) -> usize {
    debug_assert!(size >= 1 && size <= SMALL_MAX);
    (size - 1) / SMALL_ALIGN
}

/// The block size of class `class`.
pub(crate) const fn class_size(class: usize) -> usize {
    (class + 1) * SMALL_ALIGN
}

/// The header at the start of every slab.
#[repr(C)]
pub(crate) struct Slab {
    /// The class whose blocks this slab holds.
    pub(crate) class: usize,
    /// Blocks handed out and not yet freed.
    pub(crate) live: usize,
    /// Free blocks, linked through their first word; null when empty.
    pub(crate) free: *mut u8,
    /// Next byte to cut a block from; `cursor <= end`. Bytes in `[cursor, end)` belong to no
    /// block.
    pub(crate) cursor: *mut u8,
    /// End of the slab's payload.
    pub(crate) end: *mut u8,
    /// Neighbours on the class's partial list, null at its ends; meaningless while the slab is
    /// not listed (taking it off the list leaves them as they were).
    pub(crate) next: *mut Slab,
    pub(crate) prev: *mut Slab,
    /// Whether this slab is on its class's partial list \[tag:partial]: it is not the current
    /// slab, holds at least one live block, and has room for one more (a free block or bytes
    /// past the cursor). A slab that is neither current nor listed is full.
    pub(crate) listed: bool,
}

impl Slab {
    /// Whether one more block of the slab's class fits.
    pub(crate) fn has_room(&self) -> bool {
        !self.free.is_null() || self.end.addr() - self.cursor.addr() >= class_size(self.class)
    }
}

/// What a freed block leaves behind.
pub(crate) enum Freed {
    /// Nothing to do.
    Kept,
    /// The slab holds no live block and is not current: give it back to the coalescing tier.
    EmptySlab(*mut Slab),
}

/// Most current slabs kept while they hold no live block, over all classes. Keeping one spares a
/// block allocated and freed in a loop from taking and returning a slab each time; keeping one
/// for every class costs a slab per class ever used. Mean pages over 40 seeds of random-actions
/// (`bench/profile`): one per class 39.20, none 38.70, a budget of 2 38.78.
pub(crate) const KEPT_EMPTY_MAX: usize = 2;

/// Per-class slabs.
pub(crate) struct SmallTier {
    /// The slab each class allocates from, or null.
    pub(crate) current: [*mut Slab; CLASS_SLOTS],
    /// Head of each class's partial list \[ref:partial], or null.
    pub(crate) partial: [*mut Slab; CLASS_SLOTS],
    /// Current slabs that hold no live block \[tag:kept_empty]; at most `KEPT_EMPTY_MAX`.
    pub(crate) kept_empty: usize,
}

/// The slab that holds `block`.
pub(crate) fn slab_of(block: *mut u8) -> *mut Slab {
    block.map_addr(|a| a & !(SLAB_BYTES - 1)).cast()
}

impl SmallTier {
    pub(crate) const fn new() -> Self {
        SmallTier {
            current: [ptr::null_mut(); CLASS_SLOTS],
            partial: [ptr::null_mut(); CLASS_SLOTS],
            kept_empty: 0,
        }
    }

    /// A block of `class` from the current slab, or else from a partial slab that becomes
    /// current. `None` when neither has one; the caller then brings a new slab.
    ///
    /// # Safety
    /// Every slab the tier knows of is ours and consistent.
    #[inline]
    pub(crate) unsafe fn take(&mut self, class: usize) -> Option<*mut u8> {
        let slab = self.current[class % CLASS_SLOTS];
        if !slab.is_null() {
            // SAFETY: the current slab is ours.
            if let Some(block) = unsafe { Self::take_from(slab, class) } {
                // SAFETY: as above.
                if unsafe { (*slab).live } == 1 {
                    // It was empty [ref:kept_empty].
                    self.kept_empty -= 1;
                }
                return Some(block);
            }
        }
        let partial = self.partial[class % CLASS_SLOTS];
        if partial.is_null() {
            return None;
        }
        // SAFETY: a listed slab is ours; it has a free block [ref:partial].
        unsafe {
            self.unlist(partial);
            self.current[class % CLASS_SLOTS] = partial;
            Self::take_from(partial, class)
        }
    }

    /// Whether [`take`](Self::take) would find a block of `class` without a new slab.
    pub(crate) fn can_take(&self, class: usize) -> bool {
        let slab = self.current[class % CLASS_SLOTS];
        // SAFETY: a current slab is ours [ref:partial]; a listed one has room.
        (!slab.is_null() && unsafe { (*slab).has_room() }) || !self.partial[class % CLASS_SLOTS].is_null()
    }

    /// # Safety
    /// `slab` is a slab of `class` that the heap owns.
    #[inline]
    unsafe fn take_from(slab: *mut Slab, class: usize) -> Option<*mut u8> {
        // SAFETY: the header and every block of the slab are ours; a free block holds its next
        // link in its first word (every class is at least one pointer wide).
        unsafe {
            let header = &mut *slab;
            let block = header.free;
            if !block.is_null() {
                header.free = block.cast::<*mut u8>().read();
                header.live += 1;
                return Some(block);
            }
            let size = class_size(class);
            if header.end.addr() - header.cursor.addr() >= size {
                let block = header.cursor;
                header.cursor = block.wrapping_add(size);
                header.live += 1;
                return Some(block);
            }
            None
        }
    }

    /// Make `[payload, payload + capacity)` (SLAB_BYTES-aligned) the current slab of `class`.
    /// The old current slab, if it still has free blocks, goes on the partial list.
    ///
    /// # Safety
    /// The range is ours and given to the small tier until the slab is released.
    pub(crate) unsafe fn install(&mut self, payload: *mut u8, capacity: usize, class: usize) {
        debug_assert!(payload.addr() % SLAB_BYTES == 0 && capacity <= SLAB_BYTES);
        let slab = payload.cast::<Slab>();
        let first = payload.wrapping_add(FIRST_BLOCK);
        // SAFETY: the range is ours and aligned for the header.
        unsafe {
            slab.write(Slab {
                class,
                live: 0,
                free: ptr::null_mut(),
                cursor: first,
                end: payload.wrapping_add(capacity),
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                listed: false,
            });
        }
        self.kept_empty += 1;
        let old = core::mem::replace(&mut self.current[class % CLASS_SLOTS], slab);
        // SAFETY: the old current slab is ours; a current slab is never listed. A new slab is
        // installed only when the current one is full, but a slab with room must not be lost.
        unsafe {
            if !old.is_null() && (*old).live > 0 && (*old).has_room() {
                self.list(old);
            }
        }
    }

    /// Give a block of `class` back to its slab.
    ///
    /// # Safety
    /// `block` was handed out by [`take`](Self::take) for `class` and is no longer used.
    #[inline]
    pub(crate) unsafe fn put(&mut self, block: *mut u8, class: usize) -> Freed {
        let slab = slab_of(block);
        // SAFETY: the block lies in a slab of ours (slabs are SLAB_BYTES-aligned and the block
        // was cut from one), so the header is ours; the block is free now.
        unsafe {
            let header = &mut *slab;
            header.live -= 1;
            if block.wrapping_add(class_size(class)) == header.cursor {
                // The last block cut: give its bytes back to the cursor.
                header.cursor = block;
            } else {
                block.cast::<*mut u8>().write(header.free);
                header.free = block;
            }
            if slab == self.current[class % CLASS_SLOTS] {
                if header.live > 0 {
                    return Freed::Kept;
                }
                if self.kept_empty < KEPT_EMPTY_MAX {
                    self.kept_empty += 1;
                    return Freed::Kept;
                }
                self.current[class % CLASS_SLOTS] = ptr::null_mut();
                return Freed::EmptySlab(slab);
            }
            if header.live == 0 {
                if header.listed {
                    self.unlist(slab);
                }
                return Freed::EmptySlab(slab);
            }
            if !header.listed {
                // It had been full; now it has room.
                self.list(slab);
            }
        }
        Freed::Kept
    }

    /// The current slab of `class` if it holds no live block, detached from its class (the
    /// caller gives it back to the coalescing tier), else null.
    pub(crate) fn detach_if_empty(&mut self, class: usize) -> *mut Slab {
        let slot = &mut self.current[class % CLASS_SLOTS];
        // SAFETY: a current slab is ours.
        if slot.is_null() || unsafe { (**slot).live } != 0 {
            return ptr::null_mut();
        }
        // It was empty [ref:kept_empty].
        self.kept_empty -= 1;
        core::mem::replace(slot, ptr::null_mut())
    }

    /// # Safety
    /// `slab` is ours, not current and not listed.
    unsafe fn list(&mut self, slab: *mut Slab) {
        // SAFETY: the slab and the list head are ours.
        unsafe {
            let class = (*slab).class;
            let head = self.partial[class % CLASS_SLOTS];
            (*slab).next = head;
            (*slab).prev = ptr::null_mut();
            (*slab).listed = true;
            if !head.is_null() {
                (*head).prev = slab;
            }
            self.partial[class % CLASS_SLOTS] = slab;
        }
    }

    /// # Safety
    /// `slab` is on its class's partial list.
    unsafe fn unlist(&mut self, slab: *mut Slab) {
        // SAFETY: the slab and its list neighbours are ours.
        unsafe {
            let Slab { next, prev, class, .. } = *slab;
            if prev.is_null() {
                self.partial[class % CLASS_SLOTS] = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*slab).listed = false;
        }
    }

    /// First block offset in a slab, for the validator.
    #[cfg(any(test, feature = "testing", feature = "debug-checks"))]
    pub(crate) const fn first_block(slab: *mut Slab) -> *mut u8 {
        slab.cast::<u8>().wrapping_add(FIRST_BLOCK)
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
            assert!(block - size < SMALL_ALIGN, "waste at {size}");
            assert_eq!(block % SMALL_ALIGN, 0);
        }
    }
}
