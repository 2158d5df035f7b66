//! Growth statistics: plain data, cheap to copy, updated in O(1) by every call.

use crate::source::PageCount;
use core::fmt;

/// A growth of linear memory made by the heap, as seen by the `on_grow` hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrowEvent {
    /// Memory size before the growth, in pages.
    pub old_pages: usize,
    /// Memory size after the growth, in pages.
    pub new_pages: usize,
}

/// What the heap has done so far. Read it with [`GrowHeap::stats`](crate::GrowHeap::stats) or
/// [`CompactHeap::stats`](crate::CompactHeap::stats).
///
/// If nobody else grows memory, `memory.size` in pages equals the module's initial pages plus
/// `pages_grown`; when someone does, `foreign_pages` accounts for the rest (as of the heap's last
/// growth).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Successful `memory.grow` calls made by this heap.
    pub grow_calls: u64,
    /// Growth attempts refused: `memory.grow` returned -1, `max_pages` was reached, or the
    /// request needs more than any memory can hold (then no `memory.grow` is made). A larger
    /// `min_grow_pages` step that is refused counts too, even when the smaller retry succeeds.
    pub failed_grows: u64,
    /// Pages obtained by this heap's successful `memory.grow` calls, in total.
    pub pages_grown: usize,
    /// Pages found grown by someone else: gaps between where this heap's memory ended and where
    /// its next growth began.
    pub foreign_pages: usize,
    /// Bytes of linear memory this heap manages: the initial free region it claimed plus the
    /// pages it grew (the whole pages, though at the 4 GiB end of wasm32's memory the heap leaves
    /// the last 16 bytes unused; `usize::MAX` if a memory that started empty grew to 4 GiB).
    pub heap_bytes: usize,
    /// Sum of `layout.size()` over live allocations.
    pub live_bytes: usize,
    /// Highest `live_bytes` so far.
    pub peak_live_bytes: usize,
    /// Successful `alloc` and `alloc_zeroed` calls.
    pub allocations: u64,
    /// `dealloc` calls.
    pub deallocations: u64,
    /// Successful `realloc` calls; a realloc counts here only, whether it moved or not.
    pub reallocations: u64,
}

/// Version of the snapshot layout of [`Stats::to_snapshot`]; bumped if the fields ever change.
pub const SNAPSHOT_VERSION: u64 = 1;

/// Number of `u64` in a snapshot: the version and ten fields.
pub const SNAPSHOT_WORDS: usize = 11;

/// The names of the fields of [`Stats`], in declaration order.
pub const FIELD_NAMES: [&str; SNAPSHOT_WORDS - 1] = [
    "grow_calls",
    "failed_grows",
    "pages_grown",
    "foreign_pages",
    "heap_bytes",
    "live_bytes",
    "peak_live_bytes",
    "allocations",
    "deallocations",
    "reallocations",
];

impl Stats {
    /// All zero, usable in `const` context.
    pub const ZERO: Stats = Stats {
        grow_calls: 0,
        failed_grows: 0,
        pages_grown: 0,
        foreign_pages: 0,
        heap_bytes: 0,
        live_bytes: 0,
        peak_live_bytes: 0,
        allocations: 0,
        deallocations: 0,
        reallocations: 0,
    };

    /// The snapshot a host reads (feature `host-export`): [`SNAPSHOT_VERSION`], then the ten
    /// fields in declaration order, each as a `u64`.
    #[must_use]
    pub const fn to_snapshot(&self) -> [u64; SNAPSHOT_WORDS] {
        [
            SNAPSHOT_VERSION,
            self.grow_calls,
            self.failed_grows,
            self.pages_grown as u64,
            self.foreign_pages as u64,
            self.heap_bytes as u64,
            self.live_bytes as u64,
            self.peak_live_bytes as u64,
            self.allocations,
            self.deallocations,
            self.reallocations,
        ]
    }

    /// Read a snapshot back; `None` if its version is not [`SNAPSHOT_VERSION`]. Sizes that do
    /// not fit this host's `usize` saturate.
    #[must_use]
    pub fn from_snapshot(words: &[u64; SNAPSHOT_WORDS]) -> Option<Stats> {
        if words[0] != SNAPSHOT_VERSION {
            return None;
        }
        let size = |word: u64| usize::try_from(word).unwrap_or(usize::MAX);
        Some(Stats {
            grow_calls: words[1],
            failed_grows: words[2],
            pages_grown: size(words[3]),
            foreign_pages: size(words[4]),
            heap_bytes: size(words[5]),
            live_bytes: size(words[6]),
            peak_live_bytes: size(words[7]),
            allocations: words[8],
            deallocations: words[9],
            reallocations: words[10],
        })
    }

    /// Count a growth by `pages` pages that began at page `old`, made by a heap whose memory
    /// ended at page `frontier`: pages in between were grown by someone else. Returns the new
    /// frontier.
    pub(crate) fn count_growth(
        &mut self,
        old: PageCount,
        pages: PageCount,
        frontier: PageCount,
    ) -> PageCount {
        self.grow_calls += 1;
        self.pages_grown += pages.0;
        // Saturating: a memory that starts empty and grows to 4 GiB on wasm32 holds one byte more
        // than `usize` counts.
        self.heap_bytes = self.heap_bytes.saturating_add(pages.bytes().unwrap_or(usize::MAX));
        self.foreign_pages += old.0.saturating_sub(frontier.0);
        frontier.max(PageCount(old.0 + pages.0))
    }

    /// Each field's name and value, in declaration order: the order of [`FIELD_NAMES`] and of
    /// the snapshot after its version word.
    pub fn named_fields(&self) -> impl Iterator<Item = (&'static str, u64)> {
        FIELD_NAMES.into_iter().zip(self.to_snapshot().into_iter().skip(1))
    }

    /// Allocations not yet freed.
    #[must_use]
    pub const fn live_allocations(&self) -> u64 {
        self.allocations.saturating_sub(self.deallocations)
    }

    /// Bytes the heap manages beyond the live ones: free blocks, headers, rounding, slack.
    #[must_use]
    pub const fn idle_bytes(&self) -> usize {
        self.heap_bytes.saturating_sub(self.live_bytes)
    }

    /// Memory managed per byte at peak, in thousandths: `heap_bytes * 1000 / peak_live_bytes`.
    /// 1000 would be a perfect fit; `None` before anything was allocated.
    #[must_use]
    pub const fn footprint_permille(&self) -> Option<u64> {
        if self.peak_live_bytes == 0 {
            return None;
        }
        Some((self.heap_bytes as u64).saturating_mul(1000) / self.peak_live_bytes as u64)
    }
}

impl fmt::Display for Stats {
    /// A two-column table, one field a row.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.named_fields().try_for_each(|(name, value)| writeln!(f, "{name:<16} {value:>12}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_back_and_other_versions_are_refused() {
        let stats =
            Stats { grow_calls: 1, failed_grows: 2, pages_grown: 3, reallocations: 10, ..Stats::ZERO };
        let mut words = stats.to_snapshot();
        assert_eq!(words[0], SNAPSHOT_VERSION);
        assert_eq!(Stats::from_snapshot(&words), Some(stats));
        words[0] += 1;
        assert_eq!(Stats::from_snapshot(&words), None);
    }
}
