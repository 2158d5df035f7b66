//! Quick lists: freed blocks of the coalescing tier kept whole, by size class, for the next
//! request of their class.
//!
//! A free that merges its block with its neighbours and files the result on a two-level list, and
//! an allocation that finds it there and splits it again, touch the block's neighbours and the
//! list heads each time. Most blocks freed are soon asked for again at about the same size, so a
//! freed block under [`QUICK_MAX`] bytes first goes on the quick list of its class instead: one
//! link written into the block itself, nothing else touched. The next request of that class pops
//! it whole.
//!
//! A block on a quick list still looks in use to its neighbours, so it is never merged while it
//! waits; only a `realloc` that grows the block in front of it takes it, whole or in part
//! ([`QuickLists::take_kept`]). Before memory grows, and before fresh memory runs low
//! ([`FLUSH_MARGIN`]), the heap empties every quick list into the coalescing tier
//! (`RawHeap::flush_quick`), so that growth still happens only when no free block fits; so does
//! `trim`. While fresh memory is low, a freed block is not kept at all: it merges at once. Each
//! class keeps at most [`QUICK_PER_CLASS`] blocks; a free past that goes to the coalescing tier at
//! once. Turned off (`GrowHeap::quick_lists(false)`), the lists keep no block: every free merges at
//! once, even while fresh memory lasts.
//!
//! Classes split each power of two into [`CLASSES_PER_DOUBLING`] steps. A block of size `s`
//! waits on the list of the largest class bound at or below `s`; a request of `b` bytes looks on
//! the list of the smallest bound at or above `b`. So every block on that list is large enough,
//! and less than three steps (3/16 of the request) larger than asked. When that list is empty,
//! the request also takes the newest block of the list below, if it is large enough: that is
//! often one freed with this very size.

use super::block::{Block, GRANULE};
use core::ptr;

/// Blocks of this size or more never wait on a quick list: they are merged at once. Measured
/// with `scripts/bench --only growheap,floor --workloads
/// random-actions,small-objects,ratchet,page-churn,wee-alloc-106,zeroed-buffers --runs 1
/// --instances 1 --seeds 0` on trial builds (fuel per action or step; pages did not change):
/// 4 KiB gave random-actions 491.3 and talc #51's ratchet 682.1; 64 KiB gave 443.5 and 830.3;
/// 1 MiB gave 446.5 and 3902.1, and page churn 463.1 instead of 390.1. Random-actions asks for
/// at most 10,000 bytes; the patterns that move multi-page buffers pay for keeping them.
pub(crate) const QUICK_MAX: usize = 65536;

/// log2 of the classes per power of two.
const STEP_LOG: u32 = 4;
/// Classes per power of two. Measured on trial builds with `scripts/bench --only growheap,floor
/// --workloads random-actions,random-actions-realloc,small-objects --runs 1 --instances 1 --seeds
/// 100`: random-actions in both modes (alloc+dealloc / with realloc), fuel per action, pages on the
/// benchmark's sequence and mean pages over seeds 1 to 100. With 8 blocks per class, 4 classes gave
/// 446.0 / 1028.7 fuel, 35 / 45 pages and 42.78 / 34.48 mean pages; 8 gave 440.6 / 1053.8, 34 / 45
/// and 41.06 / 33.26; 16 gave 452.2 / 1119.4, 33 / 42 and 40.11 / 32.80. Without quick lists:
/// 523.4 / 1215.0, 31 / 39 and 38.76 / 31.00. 16 costs the fewest pages. With 4 blocks per class,
/// 16 gave 443.5 / 1089.9, 33 / 43 and 40.17 / 32.65, and 32 gave 475.5 / 1162.6, 32 / 44 and
/// 39.76 / 32.61. With [`FLUSH_MARGIN`] (then 32 KiB) and `SPLIT_MIN` 128, 8 gave 452.1 / 1071.2,
/// 33 / 43 and 40.53 / 32.60, against 448.4 / 1106.2, 32 / 42 and 39.59 / 31.92 for 16.
pub(crate) const CLASSES_PER_DOUBLING: usize = 1 << STEP_LOG;
/// The smallest block of the coalescing tier is a granule or more: classes start at its power.
const FIRST_LOG: u32 = GRANULE.trailing_zeros();
/// Number of classes: every power of two from `GRANULE` up to `QUICK_MAX`.
const CLASS_COUNT: usize = (QUICK_MAX.trailing_zeros() - FIRST_LOG) as usize * CLASSES_PER_DOUBLING;
/// Slots of the per-class arrays: a power of two, so that `% CLASS_SLOTS` proves an index in
/// bounds and the compiler drops the check, with room for one more class, that of `QUICK_MAX`
/// itself: a request in the last step below `QUICK_MAX` looks there and finds it empty.
const CLASS_SLOTS: usize = (CLASS_COUNT + 1).next_power_of_two();

/// Fresh memory the heap keeps in hand. Below it the quick lists give way to merging, at both
/// ends:
/// - a request that no quick list and no free block serves is cut from fresh memory, but if that
///   would leave less than this much of it in the region (or memory would grow), every kept block
///   is merged first and the free blocks searched again;
/// - a block freed while less than this much fresh memory is left merges at once, as with the
///   lists turned off (`RawHeap::fresh_is_low`).
///
/// Fresh memory is the only memory that serves any size. While little of it is left the heap is
/// near its high-water mark, where a block kept unmerged leaves a hole that the next growth
/// could have used; below it, the lists keep their speed.
///
/// Measured on trial builds of 20d0cd5, with `growheap-bench run --wasm DIR --only growheap,floor
/// --workloads random-actions,random-actions-realloc,small-objects,ratchet,page-churn,wee-alloc-106
/// --runs 5 --instances 1 --seeds 100`: random-actions without / with realloc, fuel per action,
/// pages after the benchmark's six runs, mean pages over seeds 1 to 100 and the seeds whose
/// footprint is within 1.07. Merging on allocation only, at 32 KiB (the code of 20d0cd5), gave
/// 442.1 / 847.0 fuel, 47 / 53 pages, 41.00 / 38.09 mean pages and 18 / 2 seeds; with the lists
/// turned off, 547.9 / 966.0, 46 / 50, 40.03 / 37.12. With frees merging too, below a margin of
/// their own while the allocation side kept 32 KiB: 16 KiB gave 446.2 / 853.9, 47 / 51, 40.65 /
/// 37.73 and 40 / 12; 32 KiB 446.9 / 856.7, 47 / 51, 40.41 / 37.55 and 56 / 15; 64 KiB 448.0 /
/// 873.1, 47 / 51, 40.20 / 37.16 and 67 / 33; 128 KiB 451.5 / 877.9, 47 / 51, 40.08 / 37.13 and
/// 78 / 37; 256 KiB 457.8 / 889.9, 46 / 51, 40.04 / 37.15 and 81 / 38; 1 MiB 507.5 / 946.4, 46 /
/// 51, 40.05 / 37.12 and 79 / 39. One margin for both ends: 64 KiB gave 446.8 / 858.3, 47 / 51,
/// 40.11 / 37.21 and 75 / 30; 128 KiB gave 452.5 / 868.1, 46 / 50, 39.99 / 37.14 and 85 / 35: as
/// few pages as the lists turned off, for a tenth of the fuel that turning them off costs (a sixth
/// with realloc). With the shrink rule that followed (`refit` in `resize.rs`), the code gave
/// 452.5 / 850.5, 46 / 50, 39.99 / 36.79 and 85 / 66; since a grow also takes a neighbour that
/// waits on a quick list, with realloc it gave 819.3, 50, 36.84 and 60 (and 823.2, 50, 36.81 once
/// the heap's static moved to `.bss` and the heap 16 bytes up). Small objects and page
/// churn moved by less than 4 fuel per step, wee_alloc #106's loop by 1, and talc #51's ratchet
/// fell from 705.8 to 694.8. Ten alternating rounds of `growheap-bench loop --wasm GUEST --workload
/// W --runs 20 --instances 3` on the code, the builds with one margin of 64 and 128 KiB, the one
/// that merged frees below 256 KiB, and talc, put them at 1.016×, 1.001× and 0.976× the code's
/// speed without realloc, and 0.992×, 0.990× and 0.981× with it.
///
/// The sweeps of the allocation side alone, on the code and workload of before, are in
/// `bench/trials/footprint.md`.
pub(crate) const FLUSH_MARGIN: usize = 128 * 1024;

/// Most blocks a class keeps. Measured as for [`CLASSES_PER_DOUBLING`], with 16 classes: 2 gave
/// 459.4 / 1114.3 fuel, 33 / 42 pages and 40.36 / 32.65 mean pages; 3 gave 449.1 / 1100.9, 33 /
/// 42 and 40.26 / 32.58; 4 gave 443.5 / 1088.4, 33 / 43 and 40.17 / 32.65; 8 gave 452.2 /
/// 1119.4, 33 / 42 and 40.11 / 32.80; 16 gave 463.4 / 1127.2, 32 / 43 and 40.08 / 32.77. With
/// [`FLUSH_MARGIN`] at 32 KiB and `SPLIT_MIN` 128, on the workload before its correction of
/// 2026-12-03: 3 gave 455.4 / 1101.6, 32 / 43 and 39.67 / 31.86; 4 gave 448.4 / 1106.2, 32 / 42
/// and 39.59 / 31.92; 8 gave 460.5 / 1133.6, 32 / 41 and 39.63 / 31.96.
/// Fewer blocks per class mean fewer hits, more hold more blocks unmerged, which makes each flush
/// dearer.
pub(crate) const QUICK_PER_CLASS: u8 = 4;

static_assertions::const_assert!(QUICK_MAX.is_power_of_two() && QUICK_MAX > GRANULE);
static_assertions::const_assert!(CLASS_SLOTS <= 256 && CLASS_SLOTS % COUNTS_PER_GROUP == 0);
// The class of `QUICK_MAX` has a slot of its own: the modulo never folds it onto a small class.
static_assertions::const_assert_eq!(class_at_or_below(QUICK_MAX), CLASS_COUNT);

/// Counts a flush reads at a time: the bytes of a `u64`.
const COUNTS_PER_GROUP: usize = 8;
/// Groups of counts.
const GROUPS: usize = CLASS_SLOTS / COUNTS_PER_GROUP;

/// The class whose bound is the largest at or below `size` (`GRANULE <= size < QUICK_MAX`).
const fn class_at_or_below(size: usize) -> usize {
    let log = usize::BITS - 1 - size.leading_zeros();
    let step = (size >> (log - STEP_LOG)) & (CLASSES_PER_DOUBLING - 1);
    (((log - FIRST_LOG) as usize) * CLASSES_PER_DOUBLING + step) % CLASS_SLOTS
}

/// The classes whose bounds are the largest at or below `size` and the smallest at or above it
/// (`GRANULE <= size < QUICK_MAX`), worked out together: classes are numbered in the order of
/// their bounds, across powers of two too, so the one above is the one below or the next. For a
/// size in the last step below `QUICK_MAX`, the class above is that of `QUICK_MAX` itself, which
/// stays empty.
///
/// Worked out apart (the class above as the class of `size` rounded up to a bound), the two
/// cost an allocation of 129 to 256 bytes on small objects, whose `pop` mostly misses, 364.8
/// fuel inside the allocator instead of 351.8, and random-actions 2.9 more per action (3.5 with
/// realloc), for the same pages (`scripts/meter`; `bench/trials/small-objects.md`).
/// `class_at_or_below` keeps its own copy of the first half: written as `classes_around(size).0`,
/// it cost the module 75 bytes.
const fn classes_around(size: usize) -> (usize, usize) {
    let log = usize::BITS - 1 - size.leading_zeros();
    let shift = log - STEP_LOG;
    let step = (size >> shift) & (CLASSES_PER_DOUBLING - 1);
    let below = ((log - FIRST_LOG) as usize) * CLASSES_PER_DOUBLING + step;
    let between_bounds = size & ((1 << shift) - 1) != 0;
    (below % CLASS_SLOTS, (below + between_bounds as usize) % CLASS_SLOTS)
}

/// The quick lists. See the [module docs](self).
pub(crate) struct QuickLists {
    /// Head of each class's singly linked list (payload pointers, linked through their first
    /// word), or null.
    heads: [*mut u8; CLASS_SLOTS],
    /// Blocks on each class's list.
    counts: [u8; CLASS_SLOTS],
    /// Blocks on all lists: zero means there is nothing to flush.
    total: usize,
    /// Blocks of this size or more are neither kept nor looked for: [`QUICK_MAX`] once the lists
    /// are open, 0 before (nothing is freed before the heap starts) and while they are turned
    /// off, so that neither a free nor an allocation works out a class.
    keep_below: usize,
    /// Whether [`open`](Self::open) ran.
    opened: bool,
    /// Whether the lists are turned off.
    turned_off: bool,
}

impl QuickLists {
    /// Lists that keep nothing until [`open`](Self::open). All zeros, so that a `static` heap
    /// with the default settings is too (see `Grower`'s `limits_from_none` in `pages.rs`).
    pub(crate) const fn new() -> Self {
        QuickLists {
            heads: [ptr::null_mut(); CLASS_SLOTS],
            counts: [0; CLASS_SLOTS],
            total: 0,
            keep_below: 0,
            opened: false,
            turned_off: false,
        }
    }

    /// Start keeping blocks, unless the lists are turned off; the heap calls it as it starts.
    pub(crate) const fn open(&mut self) {
        self.opened = true;
        self.keep_below = if self.turned_off { 0 } else { QUICK_MAX };
    }

    /// Keep freed blocks once open (the default), or from now on refuse every block, so that
    /// each free merges at once. Blocks already kept are no longer taken, and wait for the next
    /// flush.
    pub(crate) const fn set_enabled(&mut self, enabled: bool) {
        self.turned_off = !enabled;
        if self.opened {
            self.open();
        }
    }

    /// Whether any block waits.
    pub(crate) const fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Keep the in-use block `block` of `size` bytes for a later request: false, and nothing
    /// kept, when it is too large or its class is full (always, once the lists are turned off).
    ///
    /// # Safety
    /// `block` is an in-use block of the coalescing tier of `size` bytes that nobody uses any
    /// more; its first word is ours to write.
    #[inline(always)]
    pub(crate) unsafe fn push(&mut self, block: *mut u8, size: usize) -> bool {
        if size >= self.keep_below {
            return false;
        }
        let class = class_at_or_below(size);
        if self.counts[class] >= QUICK_PER_CLASS {
            return false;
        }
        // SAFETY: the caller gives us the block's payload, at least a granule long.
        unsafe { block.cast::<*mut u8>().write(self.heads[class]) };
        self.heads[class] = block;
        self.counts[class] += 1;
        self.total += 1;
        true
    }

    /// A kept block of at least `size` bytes (and less than 3/16 more), or null (always, once
    /// the lists are turned off).
    ///
    /// # Safety
    /// The lists hold only blocks kept by [`push`](Self::push) and not taken since.
    #[inline(always)]
    pub(crate) unsafe fn pop(&mut self, size: usize) -> *mut u8 {
        if size >= self.keep_below {
            return ptr::null_mut();
        }
        let (below, above) = classes_around(size);
        let mut class = above;
        let mut head = self.heads[class];
        if head.is_null() {
            // The list below holds blocks both smaller and larger than `size`; its newest is
            // often one freed with this very size.
            class = below;
            head = self.heads[class];
            // SAFETY: a kept block is an in-use block, whose header is valid.
            if head.is_null() || unsafe { Block(head).size() } < size {
                return ptr::null_mut();
            }
        }
        // SAFETY: a kept block holds the next link in its first word.
        self.heads[class] = unsafe { head.cast::<*mut u8>().read() };
        self.counts[class] -= 1;
        self.total -= 1;
        head
    }

    /// Take `block`, a kept block of `size` bytes, off its list if it waits there: whether it did.
    /// For a `realloc` that grows its block into the neighbour behind it, which looks in use while
    /// it waits. Only the neighbour's class list is read, at most [`QUICK_PER_CLASS`] blocks.
    ///
    /// # Safety
    /// `block` is a block of the coalescing tier (in use, or waiting here) of `size` bytes, and
    /// the lists hold only blocks kept by [`push`](Self::push) and not taken since.
    pub(crate) unsafe fn take_kept(&mut self, block: *mut u8, size: usize) -> bool {
        // The end marker of a sealed region (size 0) and blocks too large to keep are on no list.
        if !(GRANULE..self.keep_below).contains(&size) {
            return false;
        }
        let class = class_at_or_below(size);
        let mut link: *mut *mut u8 = &mut self.heads[class];
        // SAFETY: `link` is the class's head or the first word of a kept block, which holds the
        // link to the next one, and the list ends in null; unlinking `block` writes only the
        // link that pointed to it.
        unsafe {
            while !(*link).is_null() {
                if *link == block {
                    *link = block.cast::<*mut u8>().read();
                    self.counts[class] -= 1;
                    self.total -= 1;
                    return true;
                }
                link = (*link).cast();
            }
        }
        false
    }

    /// Take off the whole list of the lowest class at or above `from` that holds a block: that
    /// class, and the list's first block, each block linking to the next through its first word
    /// (null after the last). `None` once no list at or above `from` holds a block.
    ///
    /// A flush calls this until it gives `None`, so it costs what the kept blocks cost, not a
    /// visit of every class: it reads the counts eight classes at a time and stops as soon as
    /// nothing waits. Before, a flush copied the lists out and reset them whole, 1,284 bytes
    /// each way on wasm32 (`memory.copy` and `memory.fill`, which wasmtime charges by the byte),
    /// then visited all 256 classes; in the first run of random-actions, as memory grows, the
    /// heap flushes several hundred times (see `bench/trials/first-run.md`).
    pub(crate) fn take_next_list(&mut self, from: usize) -> Option<(usize, *mut u8)> {
        let mut group = from / COUNTS_PER_GROUP;
        if group >= GROUPS {
            return None;
        }
        // Counts below `from` in its group are masked off.
        let mut waiting = self.group_counts(group) & (u64::MAX << (from % COUNTS_PER_GROUP * 8));
        while self.total != 0 {
            if waiting != 0 {
                let class = group * COUNTS_PER_GROUP + waiting.trailing_zeros() as usize / 8;
                let class = class % CLASS_SLOTS;
                self.total -= usize::from(self.counts[class]);
                self.counts[class] = 0;
                return Some((class, core::mem::replace(&mut self.heads[class], ptr::null_mut())));
            }
            group += 1;
            if group == GROUPS {
                break;
            }
            waiting = self.group_counts(group);
        }
        None
    }

    /// The counts of group `group` (classes `8 * group` to `8 * group + 7`) as one word, the
    /// lowest class in the lowest byte.
    fn group_counts(&self, group: usize) -> u64 {
        let start = group * COUNTS_PER_GROUP % CLASS_SLOTS;
        let mut counts = [0; COUNTS_PER_GROUP];
        counts.copy_from_slice(&self.counts[start..][..COUNTS_PER_GROUP]);
        u64::from_le_bytes(counts)
    }

    /// Whether `block`, of `size` bytes, waits on its class's list (feature `debug-checks`:
    /// a second free of a kept block).
    #[cfg(feature = "debug-checks")]
    pub(crate) fn holds(&self, block: *mut u8, size: usize) -> bool {
        if size >= QUICK_MAX {
            return false;
        }
        let mut node = self.heads[class_at_or_below(size)];
        while !node.is_null() {
            if node == block {
                return true;
            }
            // SAFETY: a kept block holds the next link in its first word.
            node = unsafe { node.cast::<*mut u8>().read() };
        }
        false
    }

    /// Every list with its class, length and total, for the validator.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn lists(&self) -> (impl Iterator<Item = (usize, *mut u8, u8)> + '_, usize) {
        let lists = self.heads.iter().zip(&self.counts).enumerate().map(|(c, (&h, &n))| (c, h, n));
        (lists, self.total)
    }

    /// The class a kept block of `size` belongs to, for the validator.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn class_for(size: usize) -> Option<usize> {
        (size < QUICK_MAX).then(|| class_at_or_below(size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists as the heap has them once it started.
    fn open_lists() -> QuickLists {
        let mut lists = QuickLists::new();
        lists.open();
        lists
    }

    #[test]
    fn lists_keep_nothing_until_open_and_stay_off_if_turned_off_before() {
        let mut block = [0usize; 4];
        let block = block.as_mut_ptr().cast::<u8>();
        // SAFETY: the block is a live local array of 32 bytes, unused otherwise.
        unsafe {
            let mut lists = QuickLists::new();
            assert!(!lists.push(block, 32) && lists.is_empty());
            lists.open();
            assert!(lists.push(block, 32));
            assert_eq!(lists.pop(32), block);

            let mut off = QuickLists::new();
            off.set_enabled(false);
            off.open();
            assert!(!off.push(block, 32) && off.is_empty());
            off.set_enabled(true);
            assert!(off.push(block, 32));
        }
    }

    #[test]
    fn every_block_on_the_list_a_request_reads_is_large_enough() {
        // Block sizes are multiples of the granule: the smallest and largest of each class.
        let mut bounds = [(usize::MAX, 0); CLASS_SLOTS];
        for size in (GRANULE..QUICK_MAX).step_by(GRANULE) {
            let (low, high) = &mut bounds[class_at_or_below(size)];
            (*low, *high) = ((*low).min(size), (*high).max(size));
        }
        for request in (GRANULE..QUICK_MAX).step_by(GRANULE) {
            let class = classes_around(request).1;
            let (smallest, largest) = bounds[class];
            if smallest == usize::MAX {
                // Rounded up to QUICK_MAX: a class no block is kept in.
                assert_eq!(class, CLASS_COUNT, "request {request}");
                continue;
            }
            assert!(smallest >= request, "request {request}: class {class} holds {smallest}");
            assert!((largest - request) * CLASSES_PER_DOUBLING < request * 3, "request {request}");
        }
    }

    #[test]
    fn classes_are_in_range_and_ordered() {
        let mut last = 0;
        for size in (GRANULE..QUICK_MAX).step_by(GRANULE) {
            let class = class_at_or_below(size);
            assert!(class < CLASS_COUNT && class >= last, "size {size}: class {class} after {last}");
            last = class;
        }
    }

    #[test]
    fn the_class_above_is_the_class_of_the_size_rounded_up_to_a_bound() {
        for size in GRANULE..QUICK_MAX {
            let log = usize::BITS - 1 - size.leading_zeros();
            let bound_step = 1 << (log - STEP_LOG);
            let rounded_up = (size + bound_step - 1) & !(bound_step - 1);
            let (below, above) = classes_around(size);
            assert_eq!(above, class_at_or_below(rounded_up), "size {size}");
            assert_eq!(above - below, usize::from(rounded_up != size), "size {size}");
        }
    }

    #[test]
    fn a_full_class_and_a_large_block_are_refused() {
        let mut lists = open_lists();
        let mut blocks = [[0usize; 4]; QUICK_PER_CLASS as usize + 1];
        for block in &mut blocks[..QUICK_PER_CLASS as usize] {
            // SAFETY: each block is a live local array of 32 bytes, unused otherwise.
            assert!(unsafe { lists.push(block.as_mut_ptr().cast(), 32) });
        }
        let extra = blocks[QUICK_PER_CLASS as usize].as_mut_ptr().cast();
        // SAFETY: as above.
        unsafe {
            assert!(!lists.push(extra, 32));
            assert!(!lists.push(extra, QUICK_MAX));
            assert!(lists.pop(QUICK_MAX).is_null());
            assert!(!lists.pop(32).is_null());
            let mut taken = 0;
            let mut from = 0;
            while let Some((class, mut block)) = lists.take_next_list(from) {
                while !block.is_null() {
                    taken += 1;
                    block = block.cast::<*mut u8>().read();
                }
                from = class + 1;
            }
            assert_eq!(taken, QUICK_PER_CLASS as usize - 1);
            assert!(lists.is_empty() && lists.pop(32).is_null());
        }
    }

    #[test]
    fn turned_off_lists_keep_nothing_and_give_what_they_held_to_the_next_flush() {
        let mut lists = open_lists();
        let mut blocks = [[0usize; 4]; 2];
        let [held, refused] = blocks.each_mut().map(|block| block.as_mut_ptr().cast::<u8>());
        // SAFETY: each block is a live local array of 32 bytes, unused otherwise.
        unsafe {
            assert!(lists.push(held, 32));
            lists.set_enabled(false);
            assert!(!lists.push(refused, 32));
            assert!(lists.pop(32).is_null() && !lists.is_empty());
            assert_eq!(lists.take_next_list(0), Some((class_at_or_below(32), held)));
            assert!(lists.is_empty());
            lists.set_enabled(true);
            assert!(lists.push(refused, 32));
            assert_eq!(lists.pop(32), refused);
        }
    }

    #[test]
    fn a_flush_takes_every_list_once_in_class_order() {
        // Classes 0, 7 and 8 (the first group's first and last, the second group's first), one
        // in the middle, and the largest class a block can have (the last of its group).
        let sizes = [GRANULE, GRANULE + 7, GRANULE + 8, 1000, QUICK_MAX - GRANULE];
        let classes = sizes.map(class_at_or_below);
        assert_eq!([classes[0], classes[1], classes[2], classes[4] % COUNTS_PER_GROUP], [0, 7, 8, 7]);
        assert!(classes.windows(2).all(|pair| pair[0] < pair[1]), "distinct classes, in order");
        let mut blocks = [[0usize; 4]; 10];
        let mut lists = open_lists();
        for (pair, &size) in blocks.chunks_mut(2).zip(sizes.iter().rev()) {
            for block in pair {
                // SAFETY: each block is a live local array of 32 bytes, unused otherwise; `push`
                // only writes the link into its first word, whatever size it is told.
                assert!(unsafe { lists.push(block.as_mut_ptr().cast(), size) });
            }
        }
        let mut from = 0;
        let (mut seen, mut lists_taken) = ([0; 5], 0);
        while let Some((class, mut block)) = lists.take_next_list(from) {
            let mut length = 0;
            while !block.is_null() {
                length += 1;
                // SAFETY: every block taken holds the link `push` wrote in its first word.
                block = unsafe { block.cast::<*mut u8>().read() };
            }
            assert_eq!(length, 2, "class {class}");
            seen[lists_taken] = class;
            lists_taken += 1;
            from = class + 1;
        }
        assert_eq!((seen, lists_taken), (classes, classes.len()));
        assert!(lists.is_empty());
        assert!(lists.take_next_list(0).is_none() && lists.take_next_list(CLASS_SLOTS).is_none());
        // A list below `from` is left alone.
        // SAFETY: the block's list was taken above, so it is on no list and unused.
        assert!(unsafe { lists.push(blocks[0].as_mut_ptr().cast(), GRANULE) });
        assert!(lists.take_next_list(class_at_or_below(GRANULE) + 1).is_none());
        assert_eq!(lists.take_next_list(0).map(|(class, _)| class), Some(class_at_or_below(GRANULE)));
    }
}
