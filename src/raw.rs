//! The allocator core: policy only, generic over where pages come from.
//!
//! [`RawHeap`] takes `&mut self` and knows nothing of locks or of wasm. It has two tiers:
//! - the **small tier** (`small`): 16 size classes up to 128 bytes, served from 1 KiB slabs of
//!   one class each, with no per-block header; a slab whose blocks are all free is given back;
//! - the **coalescing tier** (`block`, `tlsf`): blocks with a one-word header, free blocks on
//!   two-level segregated lists, neighbours merged on free. A freed block under 64 KiB first
//!   waits whole on a **quick list** of its size class (`quick`) for the next request of that
//!   class; the quick lists are emptied into the two-level lists, with merging, when fresh
//!   memory runs low and before memory grows, and while fresh memory is low a freed block
//!   merges at once.
//!
//! Both are fed by the **bump region**: memory is a list of regions, each a run of contiguous
//! pages (or the initial free space). Blocks tile a region from its start up to `top`; above
//! `top` is fresh memory (`fresh`). A block freed just below `top` gives its bytes back to the
//! region. When fresh memory runs out the heap grows memory (`growth`): pages that start where the
//! current region ends extend it, any others open a new region, and pages in between (grown by
//! someone else) are counted as foreign and never touched. `realloc` resizes in place where it
//! can (`resize`).

mod block;
#[cfg(feature = "debug-checks")]
mod debug;
mod fresh;
mod growth;
mod quick;
mod resize;
mod slabs;
mod small;
mod tlsf;
#[cfg(any(test, feature = "testing"))]
mod validate;

pub use crate::pages::Limits;
use crate::pages::{Grower, MAX_GROWTHS_PER_BLOCK};
use crate::source::PageSource;
use crate::stats::Stats;
pub(crate) use block::GRANULE;
use block::{Block, MIN_BLOCK, WORD, block_size_for};
use core::alloc::Layout;
use core::ptr;
pub use growth::GrowthLog;
use growth::RegionHeader;
use quick::QuickLists;
use small::{Freed, SLAB_BYTES, SMALL_ALIGN, SMALL_MAX, SmallTier, class_of};
use tlsf::FreeIndex;

#[cfg(feature = "debug-checks")]
pub use debug::{FreeError, POISON};
#[cfg(any(test, feature = "testing"))]
pub use validate::{HeapReport, ValidationError};

/// Smallest remainder split off a reused free block. A smaller one stays with the block: a
/// sliver that small is rarely reused and costs a list insert now and a merge later.
///
/// Measured before the quick lists, on random-actions in wasm32's layout, alloc+dealloc / with
/// realloc, with four own-list tries: mean pages over 200 seeds (`growheap-profile seeds 200` and
/// `seeds --realloc 200`, run on `wasm32-wasip1`), pages on the benchmark's sequence
/// (`growheap-profile bench-pages`) and fuel per action (`scripts/bench --only growheap,floor,talc
/// --runs 1 --instances 1 --seeds 0`). 64 gave 35.910 / 30.925 mean pages, 32 / 39 pages and
/// 533.6 / 1228.4 fuel; 128 gave 35.950 / 30.940, 31 / 40 and 529.6 / 1224.0; 256 gave
/// 35.990 / 31.000, 31 / 39 and 523.4 / 1215.0; 512 gave 36.205 / 31.100, 31 / 40 and
/// 514.5 / 1207.3. With the quick lists (trial builds, `scripts/bench --only growheap,floor
/// --workloads random-actions,random-actions-realloc,small-objects --runs 1 --instances 1 --seeds
/// 100`: fuel, pages on the benchmark's sequence, mean pages over seeds 1 to 100), 128 gave 445.0 /
/// 1097.8, 33 / 42 and 40.25 / 32.56; 256 gave 443.5 / 1088.4, 33 / 43 and 40.17 / 32.65; 512 gave
/// 441.4 / 1100.0, 33 / 42 and 40.20 / 32.64, and small objects 29 pages instead of 28. With the
/// lists also emptied when fresh memory runs low ([`quick::FLUSH_MARGIN`], then 32 KiB), on the
/// workload before its correction of 2026-12-03, the same figures and the pages of small objects:
/// 64 gave 452.7 / 1114.2, 32 / 42, 39.62 / 31.92 and 27; 128 gave 448.4 / 1106.2, 32 / 42, 39.59 /
/// 31.92 and 27; 256 gave 447.2 / 1114.6, 32 / 42, 39.62 / 31.94 and 28; 512 gave 446.4 / 1112.9,
/// 32 / 41, 39.76 / 31.98 and 29.
const SPLIT_MIN: usize = 128;

/// The allocator core over the page source `S`. See the [module docs](self).
pub struct RawHeap<S: PageSource> {
    source: S,
    /// The limits and the frontier.
    grower: Grower,
    /// False until the first call claims the initial memory.
    started: bool,
    /// Payload pointer of the next block cut from fresh memory \[tag:top]. Blocks tile the current
    /// region up to `top - WORD`; `[top - WORD, end)` is fresh. `top <= end`, and no free block
    /// of the coalescing tier ends at `top` (it would have been given back). Null with no region.
    top: *mut u8,
    /// End of the current region.
    end: *mut u8,
    /// Start of the memory of the current region that no block has covered since its pages were
    /// grown \[tag:clean]: the highest `top` so far, or `end` where nothing is known. Zero from
    /// here to `end` when `S::GROWN_PAGES_ARE_ZERO`, so `alloc_zeroed` writes no zeros there.
    clean: *mut u8,
    /// The current region, whose header links to the ones before; null with no region.
    region: *mut RegionHeader,
    free_index: FreeIndex,
    /// Freed blocks of the coalescing tier waiting whole for a request of their class; they
    /// look in use to the rest of the heap.
    quick: QuickLists,
    small: SmallTier,
    stats: Stats,
    growth: GrowthLog,
    /// Size of the last block of a page or more cut from fresh memory (see
    /// `RawHeap::placement` in `fresh.rs`); 0 before the first.
    last_big: usize,
}

// SAFETY: a RawHeap owns its source and every block it tracks; its raw pointers point only into
// memory it owns, so moving it to another thread moves that ownership along.
unsafe impl<S: PageSource + Send> Send for RawHeap<S> {}

impl<S: PageSource> RawHeap<S> {
    /// A heap over `source`; nothing is claimed or grown until the first allocation.
    pub const fn new(source: S, limits: Limits) -> Self {
        RawHeap {
            source,
            grower: Grower::new(limits),
            started: false,
            top: ptr::null_mut(),
            end: ptr::null_mut(),
            clean: ptr::null_mut(),
            region: ptr::null_mut(),
            free_index: FreeIndex::new(),
            quick: QuickLists::new(),
            small: SmallTier::new(),
            stats: Stats::ZERO,
            growth: GrowthLog::EMPTY,
            last_big: 0,
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

    /// Keep freed blocks under 64 KiB whole on quick lists for the next request of their size
    /// class (the default), or merge every freed block at once (see `quick.rs`). Blocks already
    /// kept wait for the next merge of the lists.
    pub const fn set_quick_lists(&mut self, enabled: bool) {
        self.quick.set_enabled(enabled);
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

    /// The page source (tests use it to misbehave as a host would).
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

    /// Whether memory grew since the last [`take_growth`](Self::take_growth).
    #[inline]
    pub fn growth_pending(&self) -> bool {
        !self.growth.is_empty()
    }

    /// The growths made since the last call to this method.
    pub fn take_growth(&mut self) -> GrowthLog {
        core::mem::replace(&mut self.growth, GrowthLog::EMPTY)
    }

    /// Allocate a block for `layout`. Null when memory cannot be had.
    ///
    /// # Safety
    /// The heap's memory has not been touched by anyone else since it was handed out.
    pub unsafe fn alloc(&mut self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.alloc_block(layout.size(), layout.align()) };
        if !block.is_null() {
            self.stats.allocations += 1;
            self.add_live(layout.size());
        }
        block
    }

    /// Allocate a zero-filled block for `layout`.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    pub unsafe fn alloc_zeroed(&mut self, layout: Layout) -> *mut u8 {
        self.start();
        // With no region yet, the block will come from grown pages: zero if the source says so.
        let clean = if S::GROWN_PAGES_ARE_ZERO { self.clean.addr() } else { usize::MAX };
        let region = self.region;
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.alloc(layout) };
        if block.is_null() {
            return block;
        }
        // A block of the coalescing tier cut from fresh memory just now is zero from the old
        // `clean` on [ref:clean]; every other block lies wholly below it (reused blocks lie below
        // `top`, older regions below the current one), but for one: a growth that lost a race
        // sealed the region (`seal_region`), whose fresh memory became a free block with the
        // heap's words in it, and a refused growth then sent this call to the free blocks, which
        // gave it that one (`alloc_fresh`). It lies below the region opened by the call. Small
        // blocks share slabs: always zeroed.
        let size = layout.size();
        let sealed_during_call = self.region != region && block < self.region.cast();
        let dirty = if sealed_during_call || Self::is_small(size.max(1), layout.align()) {
            size
        } else {
            clean.saturating_sub(block.addr()).min(size)
        };
        // SAFETY: the block was just allocated with at least `size >= dirty` bytes.
        unsafe { block.write_bytes(0, dirty) };
        block
    }

    /// Free a block.
    ///
    /// # Safety
    /// `block` came from this heap with this `layout` and is not used any more.
    pub unsafe fn dealloc(&mut self, block: *mut u8, layout: Layout) {
        self.stats.deallocations += 1;
        // Saturating: a wrong layout from the caller must not make the allocator panic.
        self.stats.live_bytes = self.stats.live_bytes.saturating_sub(layout.size());
        // SAFETY: forwarded from the caller.
        unsafe { self.free_block(block, layout.size(), layout.align()) };
    }

    /// Resize a block to `new_size` bytes, in place where possible (while fresh memory is low, a
    /// block that shrinks by a block's worth or more moves to a free block that fits, if there is
    /// one; see `refit`). Null (and the old block untouched) when memory cannot be had.
    ///
    /// # Safety
    /// As for [`dealloc`](Self::dealloc), and `new_size` rounded up to `layout.align()` does not
    /// exceed `isize::MAX`.
    pub unsafe fn realloc(&mut self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old_size, align) = (layout.size(), layout.align());
        // SAFETY: forwarded from the caller.
        let resized = unsafe { self.try_resize(block, old_size, new_size, align) };
        let result = if !resized.is_null() {
            resized
        } else {
            // SAFETY: forwarded from the caller; the new block is distinct from the old one,
            // which stays valid until it is freed after the copy. When no new block could be had,
            // the shrink into the small tier and the grow into the space in front of the block get
            // the calls they ask for: the block, live, its layout and the new size.
            unsafe {
                let mut moved = self.alloc_block(new_size, align);
                if !moved.is_null() {
                    ptr::copy_nonoverlapping(block, moved, old_size.min(new_size));
                    self.free_moved(block, old_size, align);
                } else {
                    // A shrink into the small tier may take its slab from the block's own space,
                    // and a grow may take the free space in front of the block.
                    moved = self.shrink_into_own_space(block, old_size, new_size, align);
                    if moved.is_null() {
                        moved = self.grow_into_own_space(block, old_size, new_size, align);
                    }
                    if moved.is_null() {
                        return moved;
                    }
                }
                moved
            }
        };
        self.stats.reallocations += 1;
        self.stats.live_bytes = self.stats.live_bytes.saturating_sub(old_size);
        self.add_live(new_size);
        result
    }

    /// Grow memory ahead of time so that an allocation of `bytes` (alignment up to 8) needs no
    /// growth. False if the growth was refused and no memory the heap holds makes room: not the
    /// empty slabs kept for reuse, given back, and for a small request, not a slab of its class or
    /// a free space that holds a shorter slab (`slab_without_growth`). Such a shorter slab is cut
    /// at once and made its class's current slab, since the allocation, if the host allowed growth
    /// again by then, would grow memory for a full slab instead.
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    pub unsafe fn reserve(&mut self, bytes: usize) -> bool {
        self.start();
        let class = (bytes <= SMALL_MAX).then(|| class_of(bytes.max(1)));
        if class.is_some_and(|class| self.small.can_take(class)) {
            return true;
        }
        self.flush_quick();
        // A small request may need a whole new slab, aligned to its size.
        let (request, align) =
            if class.is_some() { (SLAB_BYTES - WORD, SLAB_BYTES) } else { (bytes, GRANULE) };
        let Some(size) = block_size_for(request) else { return false };
        // Look again after each growth: another thread's growth may have got in first (see
        // `MAX_GROWTHS_PER_BLOCK`).
        let mut growths = 0;
        loop {
            // The walk `alloc_fresh` makes before memory grows finds every free block that holds
            // the request.
            if self.fits_without_growth(size, align) {
                return true;
            }
            if growths == MAX_GROWTHS_PER_BLOCK || !self.grow_for(size, align) {
                // As in `alloc_fresh` and `alloc_small`: kept slabs, given back, may make room.
                self.release_kept_slabs();
                if self.fits_without_growth(size, align) {
                    return true;
                }
                // A small request takes a shorter slab where no full one fits. Cut it now: the
                // allocation itself would first grow memory for a full slab, if the host allowed
                // it by then.
                let Some(class) = class else { return false };
                // SAFETY: forwarded from the caller; a slab it returns was just taken for the
                // small tier.
                return unsafe {
                    let slab = self.slab_without_growth(class);
                    !slab.is_null() && {
                        self.install_slab(slab, class);
                        true
                    }
                };
            }
            growths += 1;
        }
    }

    /// Whether fresh memory or a free block holds `size` bytes at `align`: what `alloc_fresh`
    /// looks at before memory grows.
    fn fits_without_growth(&self, size: usize, align: usize) -> bool {
        self.top_fits(size, align).is_some() || self.free_index.has_aligned(size, align)
    }

    fn add_live(&mut self, bytes: usize) {
        self.stats.live_bytes += bytes;
        if self.stats.live_bytes > self.stats.peak_live_bytes {
            self.stats.peak_live_bytes = self.stats.live_bytes;
        }
    }

    /// Whether a request goes to the small tier.
    const fn is_small(size: usize, align: usize) -> bool {
        size <= SMALL_MAX && align <= SMALL_ALIGN
    }

    /// # Safety
    /// As for [`alloc`](Self::alloc).
    #[inline(always)]
    unsafe fn alloc_block(&mut self, size: usize, align: usize) -> *mut u8 {
        // Zero-sized requests get a real, distinct block of the smallest class.
        let size = size.max(1);
        if Self::is_small(size, align) {
            // SAFETY: forwarded from the caller.
            unsafe { self.alloc_small(class_of(size)) }
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { self.alloc_large(size, align, true) }
        }
    }

    /// # Safety
    /// `block` was allocated with `size` and `align` and is no longer used.
    #[inline(always)]
    unsafe fn free_block(&mut self, block: *mut u8, size: usize, align: usize) {
        let size = size.max(1);
        if Self::is_small(size, align) {
            // SAFETY: forwarded from the caller.
            unsafe { self.free_small(block, class_of(size)) };
        } else {
            #[cfg(feature = "debug-checks")]
            // SAFETY: the block is ours for `size` bytes until it is freed just below.
            unsafe {
                block.write_bytes(POISON, size)
            };
            // SAFETY: a large block has a valid header; nobody uses it any more, so it may wait
            // on a quick list. One that ends at `top` goes back to fresh memory instead, and one
            // freed while fresh memory is low merges at once.
            unsafe {
                let block = Block(block);
                let size = block.size();
                let at_top = block.payload().wrapping_add(size) == self.top;
                if at_top || self.fresh_is_low() || !self.quick.push(block.payload(), size) {
                    self.free_large(block);
                }
            }
        }
    }

    /// [`free_block`](Self::free_block) out of line, for the old space of a block that moved:
    /// `realloc` has two such frees, and a move costs a copy anyway.
    ///
    /// # Safety
    /// As for [`free_block`](Self::free_block).
    #[inline(never)]
    unsafe fn free_moved(&mut self, block: *mut u8, size: usize, align: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.free_block(block, size, align) }
    }

    /// Free a block of the small tier. Out of line, as `alloc_small` is: the common free is of
    /// the coalescing tier.
    ///
    /// # Safety
    /// `block` is a live small block of `class`, no longer used.
    #[inline(never)]
    unsafe fn free_small(&mut self, block: *mut u8, class: usize) {
        #[cfg(feature = "debug-checks")]
        // SAFETY: the whole class-sized block is ours until it is freed just below.
        unsafe {
            block.write_bytes(POISON, small::class_size(class))
        };
        // SAFETY: small blocks are freed to the class they were taken from; an empty slab is an
        // in-use block of the coalescing tier that the small tier let go of.
        unsafe {
            if let Freed::EmptySlab(slab) = self.small.put(block, class) {
                self.free_large(Block(slab.cast()));
            }
        }
    }

    /// Merge every block waiting on a quick list into the coalescing tier, and give back every
    /// slab that holds no live block, including the ones kept as their class's current slab.
    /// After everything is freed, this leaves the heap with no block at all.
    pub fn trim(&mut self) {
        self.flush_quick();
        self.release_empty_slabs();
    }

    /// Merge every block waiting on a quick list into the coalescing tier. Done before memory
    /// grows, so that growth happens only when no free block fits, and when fresh memory runs
    /// low ([`quick::FLUSH_MARGIN`]).
    #[inline(never)]
    fn flush_quick(&mut self) {
        let mut from = 0;
        while let Some((class, mut kept)) = self.quick.take_next_list(from) {
            while !kept.is_null() {
                // SAFETY: the quick lists hold only in-use blocks of the coalescing tier that
                // nobody uses any more, each listed once and linked through its first word,
                // which is read before `free_large` may write over it.
                unsafe {
                    let next = kept.cast::<*mut u8>().read();
                    self.free_large(Block(kept));
                    kept = next;
                }
            }
            from = class + 1;
        }
    }

    /// When memory cannot grow: give back the empty slabs kept as their class's current slab, if
    /// there are any, so that their space can hold the request (a slab is 1 KiB, and a released
    /// one may merge with free neighbours or with fresh memory) rather than the call getting null.
    /// True if there were any: then look again. Not done before every growth: on random-actions
    /// that cost 1% more fuel with realloc, over the eight heap bases of `scripts/layouts`, for
    /// no page on average.
    pub(super) fn release_kept_slabs(&mut self) -> bool {
        let any = self.small.kept_empty != 0;
        if any {
            self.release_empty_slabs();
        }
        any
    }

    /// Whether a free block holds `size` bytes at `align` once the blocks waiting on quick lists
    /// have merged. Asked before a block at `top` grows memory to grow in place: if one holds it,
    /// the block moves there, as a new allocation would, and memory does not grow. Out of line, as
    /// it runs only then.
    #[inline(never)]
    pub(super) fn free_block_holds(&mut self, size: usize, align: usize) -> bool {
        if !self.quick.is_empty() {
            self.flush_quick();
        }
        self.free_index.has_aligned(size, align)
    }

    /// Give back every slab that holds no live block, including the ones kept as their class's
    /// current slab. Out of line: it runs only when memory cannot grow and in `trim`.
    #[inline(never)]
    fn release_empty_slabs(&mut self) {
        for class in 0..small::CLASS_COUNT {
            if self.small.kept_empty == 0 {
                break;
            }
            let slab = self.small.detach_if_empty(class);
            if !slab.is_null() {
                // SAFETY: a detached empty slab is an in-use block of the coalescing tier that
                // nothing refers to any more.
                unsafe { self.free_large(Block(slab.cast())) };
            }
        }
    }

    /// A block of the coalescing tier: its payload, or null when memory cannot be had. Takes a
    /// block from its class's quick list, else reuses a free block if one fits, else cuts fresh
    /// memory ([`alloc_fresh`](Self::alloc_fresh), which walks the free blocks before memory
    /// grows) if `fresh_too` (emptying the quick lists first when fresh memory is short), else
    /// gives null: with `fresh_too` false it never grows memory. One function for both, so that
    /// the search and split of a free block are compiled once where the module is built for size
    /// (inlined, `fresh_too` is a constant).
    ///
    /// # Safety
    /// As for [`alloc`](Self::alloc).
    #[inline]
    unsafe fn alloc_large(&mut self, size: usize, align: usize, fresh_too: bool) -> *mut u8 {
        let Some(block_size) = block_size_for(size) else { return ptr::null_mut() };
        if align <= GRANULE {
            // SAFETY: the quick lists hold only blocks the heap kept; a kept block stays in use.
            let kept = unsafe { self.quick.pop(block_size) };
            if !kept.is_null() {
                return kept;
            }
        }
        let Some(search) = search_size(block_size, align) else { return ptr::null_mut() };
        // SAFETY: the index holds only our free blocks.
        let mut free = unsafe { self.free_index.take_fitting(search) };
        if !free.is_null() {
            // SAFETY: `free` was a free block of at least `search` bytes, which holds the block
            // at any alignment.
            return unsafe { self.use_free_block(Block(free), block_size, align).payload() };
        }
        if !fresh_too {
            return free;
        }
        let fresh_left = block_size.saturating_add(quick::FLUSH_MARGIN);
        if !self.quick.is_empty() && self.top_fits(fresh_left, align).is_none() {
            // Fresh memory would run low, or memory grow: merge the kept blocks first and look
            // again.
            self.flush_quick();
            // SAFETY: as above.
            free = unsafe { self.free_index.take_fitting(search) };
        }
        if !free.is_null() {
            // SAFETY: `free` was a free block of at least `search` bytes.
            return unsafe { self.use_free_block(Block(free), block_size, align).payload() };
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.alloc_fresh(block_size, align) }
    }

    /// Take `size` bytes at `align` out of the free block `block`; what is left on either side
    /// goes back to the index.
    ///
    /// # Safety
    /// `block` was just taken off the index and is at least `size`; when `align > GRANULE`, it
    /// holds `size` bytes from the payload position `aligned_with_gap` gives in it (which a block
    /// of `search_size` does at any address).
    unsafe fn use_free_block(&mut self, block: Block, size: usize, align: usize) -> Block {
        // SAFETY: the free block's header is valid and all of its bytes are ours.
        unsafe {
            let total = block.size();
            let mut used = block;
            if align > GRANULE {
                // The caller guarantees the aligned position exists inside the block.
                let payload = aligned_with_gap(block.payload().addr(), align).unwrap_or(0);
                let gap = payload - block.payload().addr();
                if gap > 0 {
                    block.set_free(gap);
                    self.free_index.insert(block, gap);
                    used = Block(block.payload().with_addr(payload));
                }
            }
            let front = used.payload().addr() - block.payload().addr();
            let rest = total - front - size;
            let next = Block(block.payload().wrapping_add(total));
            if rest >= SPLIT_MIN {
                let tail = Block(used.payload().wrapping_add(size));
                tail.set_free(rest);
                self.free_index.insert(tail, rest);
                used.set_used(size, front > 0);
            } else {
                used.set_used(size + rest, front > 0);
                next.set_prev_free(false);
            }
            used
        }
    }

    /// Free a block of the coalescing tier, merging it with free neighbours or giving it back to
    /// fresh memory.
    ///
    /// # Safety
    /// `block` is an in-use block of the coalescing tier.
    unsafe fn free_large(&mut self, block: Block) {
        // SAFETY: the block's header is valid; neighbours' headers are valid because blocks tile
        // the region, and a sealed region ends with an end marker.
        unsafe {
            // A check of the heap's own bookkeeping, for its tests. A second free by the caller
            // is caught before the lock by the `debug-checks` feature; here, in a caller's debug
            // build, the panic would start under the lock, and its message, formatted into a
            // `String`, would ask this heap for memory: refused by the busy flag, or waited for
            // forever under the spin lock.
            #[cfg(any(test, feature = "testing"))]
            debug_assert!(!block.is_free(), "double free of {:p}", block.payload());
            let mut start = block;
            let mut size = block.size();
            if block.prev_is_free() {
                let prev = block.prev_free();
                let prev_size = prev.size();
                self.free_index.remove(prev, prev_size);
                start = prev;
                size += prev_size;
            }
            let next = block.next();
            #[cfg(feature = "debug-checks")]
            let block_size = block.size();
            if next.payload() == self.top {
                self.top = start.payload();
                #[cfg(feature = "debug-checks")]
                block.mark_freed(block_size);
                return;
            }
            #[cfg(feature = "debug-checks")]
            if start != block {
                // The block is now inside its neighbour: keep its header saying "free" so that
                // a second free is still caught.
                block.mark_freed(block_size);
            }
            if next.is_free() {
                let next_size = next.size();
                self.free_index.remove(next, next_size);
                size += next_size;
            } else {
                next.set_prev_free(true);
            }
            start.set_free(size);
            self.free_index.insert(start, size);
        }
    }
}

/// The size of free block to look for to serve a block of `block_size` at `align`: an aligned
/// request needs room for the block, for moving it up to the alignment, and for the gap in front
/// to be a free block of its own. `None` on overflow.
const fn search_size(block_size: usize, align: usize) -> Option<usize> {
    if align <= GRANULE {
        return Some(block_size);
    }
    match block_size.checked_add(align) {
        Some(sum) => sum.checked_add(MIN_BLOCK),
        None => None,
    }
}

/// The first payload address at or above `from` aligned to `align`, leaving a gap that is either
/// empty or large enough to be a free block. `None` if it would pass the end of the address space.
fn aligned_with_gap(from: usize, align: usize) -> Option<usize> {
    let mask = align - 1;
    let aligned = from.checked_add(mask)? & !mask;
    if aligned == from || aligned - from >= MIN_BLOCK {
        Some(aligned)
    } else {
        Some(from.checked_add(MIN_BLOCK)?.checked_add(mask)? & !mask)
    }
}

#[cfg(test)]
mod tests;
