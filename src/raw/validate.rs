//! The whole-heap validator (feature `testing`): walks every region, block, list and slab and
//! checks each invariant written on the fields of [`RawHeap`], [`FreeIndex`], [`QuickLists`]
//! and [`SmallTier`].
//!
//! It costs a walk over the whole heap, so tests call it after every step and release builds
//! never compile it.

extern crate std;

use super::RawHeap;
use super::block::{Block, GRANULE, MIN_BLOCK, WORD};
use super::growth::{FIRST_PAYLOAD, RegionHeader};
use super::quick::{QUICK_PER_CLASS, QuickLists};
use super::small::{CLASS_COUNT, KEPT_EMPTY_MAX, SLAB_BYTES, Slab, SmallTier, class_size};
use super::tlsf::FreeIndex;
use crate::source::PageSource;
use std::collections::{BTreeMap, BTreeSet};
use std::format;
use std::string::String;

/// What [`RawHeap::validate`] says of a broken invariant.
pub type ValidationError = String;

/// Totals found by [`RawHeap::validate`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapReport {
    /// Regions of contiguous memory.
    pub regions: usize,
    /// In-use blocks of the coalescing tier, slabs and kept blocks excluded.
    pub used_blocks: usize,
    /// Freed blocks of the coalescing tier waiting whole on a quick list.
    pub kept_blocks: usize,
    /// Free blocks of the coalescing tier.
    pub free_blocks: usize,
    /// Bytes in free blocks of the coalescing tier.
    pub free_bytes: usize,
    /// Slabs of the small tier.
    pub slabs: usize,
    /// Free blocks inside slabs.
    pub small_free_blocks: usize,
    /// Live blocks inside slabs.
    pub small_live_blocks: usize,
    /// Fresh bytes above `top` in the current region.
    pub fresh_bytes: usize,
    /// Bytes spanned by all regions.
    pub region_bytes: usize,
}

/// Blocks found by the walk: free ones and in-use ones (payload -> size), and slabs.
type FoundBlocks<'a> =
    (&'a mut BTreeMap<usize, usize>, &'a mut BTreeMap<usize, usize>, &'a mut BTreeMap<usize, (Block, usize)>);

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

impl<S: PageSource> RawHeap<S> {
    /// Check every invariant of the heap. Returns totals, or a description of the first broken
    /// invariant.
    ///
    /// # Errors
    /// A message naming the broken invariant and where.
    pub fn validate(&self) -> Result<HeapReport, String> {
        let mut report = HeapReport::default();
        // Payload -> size of every free block and every slab found by the walk.
        let mut free_blocks = BTreeMap::new();
        let mut used_blocks = BTreeMap::new();
        let mut slabs = BTreeMap::new();
        let mut region = self.region;
        let mut later_region_start = usize::MAX;
        while !region.is_null() {
            let current = region == self.region;
            // SAFETY: regions are linked through headers the heap wrote at their starts.
            let RegionHeader { previous, end } = unsafe { region.read() };
            let end = if current { self.end } else { end };
            ensure!(end.addr() <= later_region_start, "region {region:p} overlaps the next one");
            later_region_start = region.addr();
            report.regions += 1;
            report.region_bytes += end.addr() - region.addr();
            let found = (&mut free_blocks, &mut used_blocks, &mut slabs);
            // SAFETY: the walk stays inside the region, whose blocks tile it.
            unsafe { self.walk_region(region, end, current, &mut report, found)? };
            region = previous;
        }
        ensure!(
            self.region.is_null() || (self.top <= self.clean && self.clean <= self.end),
            "clean {:p} outside top {:p} ..= end {:p}",
            self.clean,
            self.top,
            self.end
        );
        self.check_free_index(&free_blocks)?;
        self.check_quick_lists(&used_blocks, &mut report)?;
        self.check_small_tier(&slabs, &mut report)?;
        self.check_stats(&report)?;
        Ok(report)
    }

    /// # Safety
    /// `region` is a region of this heap ending at `end`.
    unsafe fn walk_region(
        &self,
        region: *mut RegionHeader,
        end: *mut u8,
        current: bool,
        report: &mut HeapReport,
        found: FoundBlocks<'_>,
    ) -> Result<(), String> {
        let (free_blocks, used_blocks, slabs) = found;
        let mut block = Block(region.cast::<u8>().wrapping_add(FIRST_PAYLOAD));
        let mut prev_free = false;
        loop {
            if current && block.payload() == self.top {
                ensure!(!prev_free, "free block ends at top {:p}", self.top);
                ensure!(self.top <= self.end, "top {:p} past end {:p}", self.top, self.end);
                report.fresh_bytes = self.end.addr() - self.top.addr();
                return Ok(());
            }
            ensure!(
                block.payload().addr() <= end.addr(),
                "walk left region {region:p}..{end:p} (current: {current}, top {:p}) at {:p}",
                self.top,
                block.payload()
            );
            // SAFETY: the block lies inside the region (checked above), so its header is ours.
            let (size, is_free, flag_prev_free, is_slab) =
                unsafe { (block.size(), block.is_free(), block.prev_is_free(), block.is_slab()) };
            ensure!(flag_prev_free == prev_free, "PREV_FREE wrong at {:p}", block.payload());
            if size == 0 {
                ensure!(!current, "end marker inside the current region at {:p}", block.payload());
                return Ok(());
            }
            ensure!(size % GRANULE == 0 && size >= MIN_BLOCK, "bad size {size} at {:p}", block.payload());
            let block_end = block.payload().addr().checked_add(size - WORD);
            ensure!(
                block_end.is_some_and(|e| e <= end.addr()),
                "block {:p} overruns its region",
                block.payload()
            );
            if is_free {
                ensure!(!prev_free, "two free blocks in a row at {:p}", block.payload());
                // SAFETY: a free block's footer is its last word, inside the block.
                let footer = unsafe { block.payload().wrapping_add(size - 2 * WORD).cast::<usize>().read() };
                ensure!(footer == size, "footer {footer} != size {size} at {:p}", block.payload());
                ensure!(!is_slab, "free block flagged as slab at {:p}", block.payload());
                free_blocks.insert(block.payload().addr(), size);
                report.free_blocks += 1;
                report.free_bytes += size;
            } else if is_slab {
                slabs.insert(block.payload().addr(), (block, size));
                report.slabs += 1;
            } else {
                used_blocks.insert(block.payload().addr(), size);
                report.used_blocks += 1;
            }
            prev_free = is_free;
            block = Block(block.payload().wrapping_add(size));
        }
    }

    fn check_free_index(&self, free_blocks: &BTreeMap<usize, usize>) -> Result<(), String> {
        ensure!(self.free_index.bitmaps_agree(), "free-index bitmaps disagree with the lists");
        let mut listed = 0;
        for (list, head) in self.free_index.lists() {
            let mut node = head;
            let mut prev = core::ptr::null_mut();
            while !node.is_null() {
                let size = free_blocks.get(&node.addr());
                ensure!(size.is_some(), "listed block {node:p} is not a free block of any region");
                let size = *size.unwrap_or(&0);
                ensure!(FreeIndex::list_for(size) == list, "block {node:p} of {size} on list {list:?}");
                let (next_link, prev_link) = Block(node).links();
                // SAFETY: the node is a free block (checked above), so its links are ours.
                let (next, back) = unsafe { (next_link.read(), prev_link.read()) };
                ensure!(back == prev, "broken prev link at {node:p}");
                listed += 1;
                ensure!(listed <= free_blocks.len(), "free list cycles");
                prev = node;
                node = next;
            }
        }
        ensure!(listed == free_blocks.len(), "{} free blocks, {listed} listed", free_blocks.len());
        Ok(())
    }

    /// Every kept block is an in-use block of a region, on the list of its class, once; the
    /// counts agree. Kept blocks are taken out of `report.used_blocks`.
    fn check_quick_lists(
        &self,
        used_blocks: &BTreeMap<usize, usize>,
        report: &mut HeapReport,
    ) -> Result<(), String> {
        let (lists, total) = self.quick.lists();
        let mut kept = BTreeSet::new();
        for (class, head, count) in lists {
            ensure!(count <= QUICK_PER_CLASS, "quick list {class} holds {count} blocks");
            let mut node = head;
            let mut length = 0;
            while !node.is_null() {
                let size = used_blocks.get(&node.addr()).copied();
                ensure!(size.is_some(), "kept block {node:p} is not an in-use block of any region");
                let size = size.unwrap_or(0);
                ensure!(
                    QuickLists::class_for(size) == Some(class),
                    "kept block {node:p} of {size} on list {class}"
                );
                ensure!(kept.insert(node.addr()), "quick list {class} cycles or shares {node:p}");
                length += 1;
                // SAFETY: a kept block is an in-use block of the heap (checked above), holding
                // its next link in its first word.
                node = unsafe { node.cast::<*mut u8>().read() };
            }
            ensure!(length == usize::from(count), "quick list {class}: {length} blocks, counted {count}");
        }
        ensure!(kept.len() == total, "{} kept blocks, counted {total}", kept.len());
        report.kept_blocks = kept.len();
        report.used_blocks -= kept.len();
        Ok(())
    }

    fn check_small_tier(
        &self,
        slabs: &BTreeMap<usize, (Block, usize)>,
        report: &mut HeapReport,
    ) -> Result<(), String> {
        let tier = &self.small;
        let mut listed = BTreeSet::new();
        let mut empty_current = 0;
        for class in 0..CLASS_COUNT {
            let mut node = tier.partial[class];
            let mut prev = core::ptr::null_mut();
            while !node.is_null() {
                ensure!(slabs.contains_key(&node.addr()), "partial slab {node:p} is not a slab block");
                // SAFETY: the node is a slab block of the heap (checked above).
                let header = unsafe { &*node };
                ensure!(header.class == class && header.listed, "slab {node:p} on the wrong list");
                ensure!(header.prev == prev, "broken prev link at slab {node:p}");
                ensure!(node != tier.current[class], "current slab {node:p} is listed");
                ensure!(listed.insert(node.addr()), "partial list of class {class} cycles");
                prev = node;
                node = header.next;
            }
            let current = tier.current[class];
            if !current.is_null() {
                ensure!(slabs.contains_key(&current.addr()), "current slab {current:p} is not a slab block");
                // SAFETY: as above.
                let header = unsafe { &*current };
                ensure!(header.class == class, "current slab {current:p} of another class");
                empty_current += usize::from(header.live == 0);
            }
        }
        ensure!(
            empty_current == tier.kept_empty && empty_current <= KEPT_EMPTY_MAX,
            "{empty_current} empty current slabs, counted {} (at most {KEPT_EMPTY_MAX})",
            tier.kept_empty
        );
        for (&payload, &(block, size)) in slabs {
            let slab = block.payload().cast::<Slab>();
            ensure!(payload % SLAB_BYTES == 0, "slab {slab:p} misaligned");
            // SAFETY: every slab block starts with a header the small tier wrote.
            let header = unsafe { &*slab };
            ensure!(header.class < CLASS_COUNT, "slab {slab:p} has class {}", header.class);
            let class_bytes = class_size(header.class);
            let first = SmallTier::first_block(slab);
            let end = payload + (size - WORD).min(SLAB_BYTES);
            ensure!(header.end.addr() == end, "slab {slab:p} ends at {:p}, not {end:#x}", header.end);
            let (cursor, first) = (header.cursor.addr(), first.addr());
            ensure!(first <= cursor && cursor <= end, "slab {slab:p} cursor out of range");
            ensure!((cursor - first) % class_bytes == 0, "slab {slab:p} cursor off the class grid");
            let cut = (cursor - first) / class_bytes;
            let mut free = BTreeSet::new();
            let mut node = header.free;
            while !node.is_null() {
                let at = node.addr();
                ensure!(
                    at >= first && at < cursor && (at - first) % class_bytes == 0,
                    "free block {node:p} off its slab's grid"
                );
                ensure!(free.insert(at), "free list of slab {slab:p} cycles");
                // SAFETY: the node is a free block of this slab (checked above).
                node = unsafe { node.cast::<*mut u8>().read() };
            }
            ensure!(
                header.live + free.len() == cut,
                "slab {slab:p}: {} live + {} free != {cut} cut",
                header.live,
                free.len()
            );
            ensure!(header.listed == listed.contains(&payload), "slab {slab:p} listed flag wrong");
            if tier.current[header.class] != slab {
                ensure!(header.live > 0, "empty slab {slab:p} was not released");
                ensure!(
                    header.listed == header.has_room(),
                    "slab {slab:p} has room but is not listed, or the reverse"
                );
            }
            report.small_free_blocks += free.len();
            report.small_live_blocks += header.live;
        }
        Ok(())
    }

    fn check_stats(&self, report: &HeapReport) -> Result<(), String> {
        let stats = &self.stats;
        // The initial region may start a few bytes above the claimable start, for alignment.
        let slack = stats.heap_bytes.checked_sub(report.region_bytes);
        ensure!(
            slack.is_some_and(|s| s < GRANULE),
            "heap_bytes {} vs regions {}",
            stats.heap_bytes,
            report.region_bytes
        );
        ensure!(stats.peak_live_bytes >= stats.live_bytes, "peak below live");
        ensure!(stats.allocations >= stats.deallocations, "more frees than allocations");
        ensure!(stats.live_bytes <= stats.heap_bytes, "more live bytes than heap bytes");
        let large_live = report.used_blocks as u64;
        ensure!(
            large_live <= stats.live_allocations(),
            "{large_live} large blocks in use, {} live",
            stats.live_allocations()
        );
        Ok(())
    }
}
