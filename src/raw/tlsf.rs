//! The free-block index of the coalescing tier: two-level segregated lists with bitmaps (TLSF).
//!
//! Sizes below [`LINEAR_LIMIT`] get one list per [`GRANULE`]. Above it, each power of two is cut
//! into [`SL_COUNT`] lists. A search looks at the first few blocks of the request's own list,
//! then takes the head of the first non-empty list above it, where every block fits: a few bit
//! operations, never a scan. The one walk comes last, before memory grows
//! ([`FreeIndex::take_aligned`]).

use super::aligned_with_gap;
use super::block::{Block, GRANULE};
use core::ptr;

/// log2 of the number of second-level lists per power of two: 5 at most, for the `u32` bitmaps.
/// Measured as for `SPLIT_MIN` (in `raw.rs`), before the quick lists: 4 gave 36.060 / 31.000 mean
/// pages, 31 / 40 pages on the benchmark's sequence and 522.1 / 1211.9 fuel, against 35.990 /
/// 31.000, 31 / 39 and 523.4 / 1215.0 for 5. With them: 4 gave 445.0 / 1092.2 fuel, 33 / 43 pages
/// and 40.16 / 32.53 mean pages, against 443.5 / 1088.4, 33 / 43 and 40.17 / 32.65. With the lists'
/// margin (then 32 KiB) and `SPLIT_MIN` 128, on the workload before its correction of 2026-12-03: 4
/// gave 446.4 / 1108.2, 33 / 42 and 39.52 / 31.88, against 448.4 / 1106.2, 32 / 42 and 39.59 /
/// 31.92.
const SL_LOG: u32 = 5;
/// Blocks of a request's own list looked at before the search rounds up. Measured as for
/// `SPLIT_MIN`, before the quick lists: 1 gave 36.030 / 30.975 mean pages, 31 / 40 pages and
/// 523.3 / 1217.8 fuel; 2 gave 36.025 / 31.040, 31 / 39 and 523.3 / 1214.8; 4 gave 35.990 / 31.000,
/// 31 / 39 and 523.4 / 1215.0; 8 (and 16) gave 36.000 / 31.000, 31 / 39 and 527.6 / 1219.9. With
/// them: 1 gave 445.2 / 1094.5 fuel, 33 / 42 pages and 40.19 / 32.69 mean pages; 4 gave 443.5 /
/// 1088.4, 33 / 43 and 40.17 / 32.65; 8 gave 444.3 / 1089.8, 33 / 43 and 40.21 / 32.65. With the
/// lists' margin (then 32 KiB) and `SPLIT_MIN` 128, on the workload before its correction: 1 gave
/// 452.0 / 1116.2, 32 / 41 and 39.55 / 31.94; 4 gave 448.4 / 1106.2, 32 / 42 and 39.59 / 31.92; 8
/// gave 449.2 / 1104.7, 32 / 42 and 39.61 / 31.93.
const OWN_LIST_TRIES: usize = 4;
/// Second-level lists per power of two.
const SL_COUNT: usize = 1 << SL_LOG;
/// Below this size, lists are exact: one per granule.
const LINEAR_LIMIT: usize = SL_COUNT * GRANULE;
const LINEAR_SHIFT: u32 = LINEAR_LIMIT.trailing_zeros();
/// First-level slots: a power of two at least the number of first-level lists in use (one for
/// the linear range, one per power of two above it), so that masking an index proves it in
/// bounds and the compiler drops the bounds checks (about a tenth of the fuel of a search).
const FL_COUNT: usize = usize::BITS as usize;

static_assertions::const_assert!(
    (usize::BITS - LINEAR_SHIFT + 1) as usize <= FL_COUNT && FL_COUNT.is_power_of_two()
);
static_assertions::const_assert!(SL_COUNT.is_power_of_two());
static_assertions::const_assert!(SL_COUNT <= u32::BITS as usize);

/// Free blocks of the coalescing tier, by size.
pub(crate) struct FreeIndex {
    /// Bit `f` is set iff `second_level[f] != 0`.
    first_level: usize,
    /// Bit `s` of `second_level[f]` is set iff `heads[f][s]` is not null.
    second_level: [u32; FL_COUNT],
    /// Head of each doubly linked list of free blocks (payload pointers), or null when empty.
    /// Every block on list `(f, s)` has a size that maps to `(f, s)`.
    heads: [[*mut u8; SL_COUNT]; FL_COUNT],
}

/// The list a block of `size` belongs on.
const fn list_of(size: usize) -> (usize, usize) {
    // The masks change nothing (both indices are in range already); they only show it.
    if size < LINEAR_LIMIT {
        (0, (size / GRANULE) % SL_COUNT)
    } else {
        let log = usize::BITS - 1 - size.leading_zeros();
        let first = (log - LINEAR_SHIFT + 1) as usize;
        let second = (size >> (log - SL_LOG)) - SL_COUNT;
        (first % FL_COUNT, second % SL_COUNT)
    }
}

impl FreeIndex {
    pub(crate) const fn new() -> Self {
        FreeIndex {
            first_level: 0,
            second_level: [0; FL_COUNT],
            heads: [[ptr::null_mut(); SL_COUNT]; FL_COUNT],
        }
    }

    /// Put a free block of `size` on its list.
    ///
    /// # Safety
    /// `block` is free, owned by the heap, `size` is its size, and it is on no list.
    pub(crate) unsafe fn insert(&mut self, block: Block, size: usize) {
        let (f, s) = list_of(size);
        let head = self.heads[f][s];
        let (next, prev) = block.links();
        // SAFETY: a free block has room for both links (MIN_BLOCK) and is ours; `head`, when
        // not null, is a free block on this list, so its prev link is ours to write.
        unsafe {
            next.write(head);
            prev.write(ptr::null_mut());
            if head.is_null() {
                // The list was empty: its bits were clear.
                self.second_level[f] |= 1 << s;
                self.first_level |= 1 << f;
            } else {
                Block(head).links().1.write(block.payload());
            }
        }
        self.heads[f][s] = block.payload();
    }

    /// Take a free block of `size` off its list.
    ///
    /// # Safety
    /// `block` is on the list for `size` (inserted with that size and not removed since).
    pub(crate) unsafe fn remove(&mut self, block: Block, size: usize) {
        let (next_link, prev_link) = block.links();
        // SAFETY: the block is on a list, so its links are valid, and so are its neighbours'.
        unsafe {
            let next = next_link.read();
            let prev = prev_link.read();
            if !next.is_null() {
                Block(next).links().1.write(prev);
            }
            if prev.is_null() {
                // Only the head of a list needs the list's index, so only its removal maps it.
                let (f, s) = list_of(size);
                self.set_head(f, s, next);
            } else {
                Block(prev).links().0.write(next);
            }
        }
    }

    /// Make `head` the head of list `(f, s)`, clearing the list's bits when it is null.
    fn set_head(&mut self, f: usize, s: usize, head: *mut u8) {
        self.heads[f][s] = head;
        if head.is_null() {
            self.second_level[f] &= !(1 << s);
            if self.second_level[f] == 0 {
                self.first_level &= !(1 << f);
            }
        }
    }

    /// The first non-empty list above list `(f, s)`: every block on it is larger than any
    /// block on `(f, s)`.
    fn list_above(&self, f: usize, s: usize) -> Option<(usize, usize)> {
        // Shifting twice keeps each shift below the width, also for the last list.
        let here = self.second_level[f] & ((u32::MAX << s) << 1);
        // A non-zero bitmap has fewer trailing zeros than bits: the masks only show it.
        if here != 0 {
            return Some((f, here.trailing_zeros() as usize % SL_COUNT));
        }
        let above = self.first_level & ((usize::MAX << f) << 1);
        if above == 0 {
            return None;
        }
        let f = above.trailing_zeros() as usize % FL_COUNT;
        Some((f, self.second_level[f].trailing_zeros() as usize % SL_COUNT))
    }

    /// Take a free block of at least `size` off its list: its payload, or null if there is none
    /// among the first few of the request's own list and the lists above it (null rather than
    /// `Option<Block>`, which wasm would return through memory).
    ///
    /// The request's own list holds blocks both smaller and larger than `size`; the first few
    /// are tried before rounding up, so that a block freed with exactly this size is found
    /// again (a rounded-up search would pass it by and cut fresh memory instead). The rest of the
    /// own list is left to [`take_aligned`](Self::take_aligned), before memory grows: walked here,
    /// every request that no list above serves would cost a visit of every block on it.
    ///
    /// # Safety
    /// The index holds only blocks that are free and owned by the heap.
    #[inline(always)]
    pub(crate) unsafe fn take_fitting(&mut self, size: usize) -> *mut u8 {
        let (f, s) = list_of(size);
        let mut node = self.heads[f][s];
        for _ in 0..OWN_LIST_TRIES {
            if node.is_null() {
                break;
            }
            let block = Block(node);
            // SAFETY: listed blocks are free blocks of the heap: header and links are valid.
            unsafe {
                let block_size = block.size();
                if block_size >= size {
                    self.remove(block, block_size);
                    return node;
                }
                node = block.links().0.read();
            }
        }
        // Every block above the request's own list fits.
        let Some((f, s)) = self.list_above(f, s) else { return ptr::null_mut() };
        let head = self.heads[f][s];
        // SAFETY: the head of a non-empty list is a listed free block; its next link and its
        // successor are valid.
        unsafe {
            let next = Block(head).links().0.read();
            self.set_head(f, s, next);
            if !next.is_null() {
                Block(next).links().1.write(ptr::null_mut());
            }
        }
        head
    }

    /// Whether a free block holds `size` bytes at a payload aligned to `align` (see
    /// [`take_aligned`](Self::take_aligned)).
    pub(crate) fn has_aligned(&self, size: usize, align: usize) -> bool {
        // SAFETY: the index holds only free blocks of the heap.
        !unsafe { self.first_aligned(size, align) }.is_null()
    }

    /// Take a free block that holds `size` bytes at a payload aligned to `align`, placed as
    /// `aligned_with_gap` places it, or null: the last search before memory grows, after
    /// [`take_fitting`](Self::take_fitting) of the request's search size (`search_size` in
    /// `raw.rs`) found nothing. Walks every block from the list of `size` up. That finds the blocks
    /// of the request's own list past the first few, which `take_fitting` does not look at, and,
    /// for an alignment above the granule, a block smaller than the search size that still holds
    /// the block where it lies, as the space a freed block of the same layout leaves does. After
    /// `take_fitting`, no list above the search size's own one holds a block, so the walk ends at
    /// that list.
    ///
    /// # Safety
    /// As for [`take_fitting`](Self::take_fitting).
    #[inline(never)]
    pub(crate) unsafe fn take_aligned(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller; what is found is a listed free block, so its header
        // is valid.
        unsafe {
            let found = self.first_aligned(size, align);
            if !found.is_null() {
                self.remove(Block(found), Block(found).size());
            }
            found
        }
    }

    /// The first listed block, from the list of `size` up, that holds `size` bytes at a payload
    /// aligned to `align`, or null. Every block on those lists is looked at.
    ///
    /// # Safety
    /// As for [`take_fitting`](Self::take_fitting).
    unsafe fn first_aligned(&self, size: usize, align: usize) -> *mut u8 {
        let mut list = Some(list_of(size));
        while let Some((f, s)) = list {
            let mut node = self.heads[f][s];
            while !node.is_null() {
                // SAFETY: listed blocks are free blocks of the heap: header and links are valid.
                unsafe {
                    if holds_aligned(node.addr(), Block(node).size(), size, align) {
                        return node;
                    }
                    node = Block(node).links().0.read();
                }
            }
            list = self.list_above(f, s);
        }
        ptr::null_mut()
    }

    /// Every list head with its list index, for the validator.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn lists(&self) -> impl Iterator<Item = ((usize, usize), *mut u8)> + '_ {
        self.heads
            .iter()
            .enumerate()
            .flat_map(|(f, row)| row.iter().enumerate().map(move |(s, &head)| ((f, s), head)))
    }

    /// Whether the bitmaps agree with the list heads, for the validator.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn bitmaps_agree(&self) -> bool {
        self.lists().all(|((f, s), head)| (self.second_level[f] >> s & 1 == 1) != head.is_null())
            && (0..FL_COUNT).all(|f| (self.first_level >> f & 1 == 1) == (self.second_level[f] != 0))
    }

    /// The list a block of `size` belongs on, for the validator.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn list_for(size: usize) -> (usize, usize) {
        list_of(size)
    }
}

/// Whether a free block at `payload` of `block_size` bytes holds `size` bytes at the payload
/// aligned to `align` that `aligned_with_gap` gives: the gap in front of it is empty or a free
/// block, and what is left behind it is split off or kept by `RawHeap::use_free_block`.
#[inline(always)]
pub(super) fn holds_aligned(payload: usize, block_size: usize, size: usize, align: usize) -> bool {
    aligned_with_gap(payload, align)
        .and_then(|aligned| aligned.checked_add(size))
        .is_some_and(|end| end - payload <= block_size)
}
