//! Asking for pages: what both heap cores share about growing memory. The limits a builder set,
//! the page just past all memory the heap knows of (to tell its growths from someone else's), and
//! the rule for how many pages to ask for.

use crate::source::{PageCount, PageSource};
use crate::stats::Stats;

/// Most growths a heap core makes for one block. It plans each growth so that the block fits
/// after it, so one is enough, unless another thread grows memory between the core's look at
/// where memory ends and its own growth: the new pages then lie past the other thread's and do not
/// join the heap's memory as planned, and the core grows again for the block.
pub(crate) const MAX_GROWTHS_PER_BLOCK: usize = 4;

/// Limits set by the builder of [`GrowHeap`](crate::GrowHeap) or
/// [`CompactHeap`](crate::CompactHeap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most pages this heap may grow in total; `usize::MAX` for no cap.
    pub max_pages: usize,
    /// Fewest pages per `memory.grow` (unless the cap leaves fewer).
    pub min_grow_pages: usize,
}

impl Limits {
    /// No cap, one page at a time.
    pub const NONE: Limits = Limits { max_pages: usize::MAX, min_grow_pages: 1 };
}

/// The growing side of a heap core.
pub(crate) struct Grower {
    /// The limits, each field XORed with that of [`Limits::NONE`]: a heap with no limits then
    /// holds only zeros here, so that a `static` heap with the default settings is all zeros and
    /// goes to `.bss`, where it takes no room in the module (`harness/tests/module_data.rs`).
    limits_from_none: Limits,
    /// The page just past all memory the heap knows of: growth that starts beyond it was made by
    /// someone else.
    pub(crate) frontier: PageCount,
}

/// `limits` with each field XORed with that of [`Limits::NONE`]: its own inverse.
const fn toggle_none(limits: Limits) -> Limits {
    Limits {
        max_pages: limits.max_pages ^ Limits::NONE.max_pages,
        min_grow_pages: limits.min_grow_pages ^ Limits::NONE.min_grow_pages,
    }
}

impl Grower {
    pub(crate) const fn new(limits: Limits) -> Self {
        Grower { limits_from_none: toggle_none(limits), frontier: PageCount(0) }
    }

    pub(crate) const fn limits(&self) -> Limits {
        toggle_none(self.limits_from_none)
    }

    pub(crate) const fn set_limits(&mut self, limits: Limits) {
        self.limits_from_none = toggle_none(limits);
    }

    /// Whether memory still ends where the heap's memory does: nobody else grew it since.
    pub(crate) fn at_frontier<S: PageSource>(&self, source: &S) -> bool {
        source.size() == self.frontier
    }

    /// Grow memory by `needed` pages (`None`: more than any memory holds), or by
    /// `min_grow_pages` if that is more and the cap allows it; if the host refuses the larger
    /// step, ask once more for `needed` alone. Counts the growth in `stats`. Returns
    /// the first new page and the pages grown, or `None`, counted in `failed_grows`, if the cap or
    /// the host refused.
    pub(crate) fn grow<S: PageSource>(
        &mut self,
        source: &mut S,
        stats: &mut Stats,
        needed: Option<PageCount>,
    ) -> Option<(PageCount, PageCount)> {
        let limits = self.limits();
        let allowed = limits.max_pages.saturating_sub(stats.pages_grown);
        let grown = match needed {
            Some(needed) if needed.0 <= allowed && needed.bytes().is_some() => {
                let wanted = PageCount(needed.0.max(limits.min_grow_pages.min(allowed)));
                match source.grow(wanted) {
                    Some(old) => Some((old, wanted)),
                    None if wanted > needed => {
                        // The host refused the bigger step; the step we truly need may still fit.
                        stats.failed_grows += 1;
                        source.grow(needed).map(|old| (old, needed))
                    }
                    None => None,
                }
            }
            _ => None,
        };
        let Some((old, pages)) = grown else {
            stats.failed_grows += 1;
            return None;
        };
        self.frontier = stats.count_growth(old, pages, self.frontier);
        Some((old, pages))
    }
}
