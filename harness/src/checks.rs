//! The page-count checks: the heap's statistics against what the host counted itself.

use crate::recorder::{GrowRequest, Grower, PAGE_BYTES};
use growheap::Stats;

/// What the host knows about memory, from `Memory::size` and its growth log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostCounts {
    /// Pages the module declares, before any of its code runs.
    pub initial_pages: u64,
    /// Pages now.
    pub pages: u64,
    /// `memory.grow` requests from the guest that grew memory.
    pub guest_grow_calls: u64,
    /// Pages those requests added.
    pub guest_pages_grown: u64,
    /// `memory.grow` requests from the guest that returned -1.
    pub guest_refused: u64,
    /// Pages the host grew itself.
    pub host_pages: u64,
    /// Of those, the pages grown before the guest's latest growth: the ones the heap has had a
    /// chance to notice as foreign.
    pub host_pages_before_last_guest_grow: u64,
}

impl HostCounts {
    /// Tally the growth log of a guest that had `initial_pages` and now has `pages`.
    #[must_use]
    pub fn tally(initial_pages: u64, pages: u64, requests: &[GrowRequest]) -> HostCounts {
        let mut counts = HostCounts { initial_pages, pages, ..HostCounts::default() };
        for request in requests {
            match (request.by, request.granted) {
                (Grower::Guest, true) => {
                    counts.guest_grow_calls += 1;
                    counts.guest_pages_grown += request.delta();
                    counts.host_pages_before_last_guest_grow = counts.host_pages;
                }
                (Grower::Guest, false) => counts.guest_refused += 1,
                (Grower::Host, true) => counts.host_pages += request.delta(),
                (Grower::Host, false) => {}
            }
        }
        counts
    }

    /// Pages memory should have if the heap's figures are right.
    #[must_use]
    pub fn expected_pages(&self, stats: &Stats) -> u64 {
        // Saturating: the guest writes `pages_grown`, and a wrapped sum could match by chance.
        self.initial_pages.saturating_add(stats.pages_grown as u64).saturating_add(self.host_pages)
    }
}

/// Each disagreement between the heap's statistics and the host's counts, described with both
/// figures. Empty when they agree.
#[must_use]
pub fn compare(host: &HostCounts, stats: &Stats) -> Vec<String> {
    let mut problems = Vec::new();
    let expected_pages = host.expected_pages(stats);
    let unexplained_pages = host.pages != expected_pages;
    if unexplained_pages {
        problems.push(format!(
            "memory has {} pages, but initial {} + pages_grown {} + host-grown {} = {expected_pages}",
            host.pages, host.initial_pages, stats.pages_grown, host.host_pages
        ));
    }
    if stats.grow_calls != host.guest_grow_calls {
        problems.push(format!(
            "grow_calls is {}, but the host saw {} memory.grow calls from the guest succeed",
            stats.grow_calls, host.guest_grow_calls
        ));
    }
    if stats.pages_grown as u64 != host.guest_pages_grown {
        problems.push(format!(
            "pages_grown is {}, but the guest's memory.grow calls added {} pages",
            stats.pages_grown, host.guest_pages_grown
        ));
    }
    if stats.failed_grows < host.guest_refused {
        problems.push(format!(
            "failed_grows is {}, but the host refused {} memory.grow calls from the guest",
            stats.failed_grows, host.guest_refused
        ));
    }
    if stats.foreign_pages as u64 != host.host_pages_before_last_guest_grow {
        // The host cannot tell the heap's `memory.grow` from another one in the guest. When pages
        // are unexplained, someone in the guest grew memory beside the heap: the latest growth
        // may be theirs, and the heap rightly counts their pages as foreign.
        let beside_the_heap = if unexplained_pages {
            "; memory also grew beside the heap (see the page count), and pages grown by anyone \
             but the heap count as foreign to it"
        } else {
            ""
        };
        problems.push(format!(
            "foreign_pages is {}, but the host grew {} pages before the guest's latest \
             memory.grow{beside_the_heap}",
            stats.foreign_pages, host.host_pages_before_last_guest_grow
        ));
    }
    problems
}

/// Each way the statistics after a call (`after`) contradict themselves or the ones before it
/// (`before`), in a guest whose initial memory holds `claimable_bytes` that a heap may claim
/// (above `__heap_base`, where the module exports it). The host cannot count bytes or calls
/// itself, but it can hold the heap to what must always be true of them: counters never go back,
/// no more bytes are live than the heap's peak, nor more at peak than it manages, no more blocks
/// freed than made, and the bytes it manages are the pages it grew plus one fixed claim on the
/// claimable part of the initial memory. Empty when they agree.
#[must_use]
pub fn consistency(before: &Stats, after: &Stats, claimable_bytes: u64) -> Vec<String> {
    let mut problems = Vec::new();
    // Every field but the live bytes only ever rises.
    for ((name, was), (_, is)) in before.named_fields().zip(after.named_fields()) {
        if name != "live_bytes" && is < was {
            problems.push(format!("{name} went back from {was} to {is}"));
        }
    }
    if after.live_bytes > after.peak_live_bytes || after.peak_live_bytes > after.heap_bytes {
        problems.push(format!(
            "live_bytes {} <= peak_live_bytes {} <= heap_bytes {} does not hold",
            after.live_bytes, after.peak_live_bytes, after.heap_bytes
        ));
    }
    if after.deallocations > after.allocations {
        problems.push(format!(
            "deallocations is {}, more than the {} allocations",
            after.deallocations, after.allocations
        ));
    }
    let claim = |s: &Stats| {
        (s.heap_bytes as u64).checked_sub((s.pages_grown as u64).saturating_mul(PAGE_BYTES as u64))
    };
    match (claim(before), claim(after)) {
        (_, None) => problems.push(format!(
            "heap_bytes is {}, less than the {} pages grown",
            after.heap_bytes, after.pages_grown
        )),
        (_, Some(claimed)) if claimed > claimable_bytes => problems.push(format!(
            "heap_bytes claims {claimed} bytes beyond the pages grown, more than the {claimable_bytes} bytes of initial memory above the static data"
        )),
        (Some(was), Some(is)) if before.heap_bytes > 0 && was != is => problems.push(format!(
            "heap_bytes less the pages grown went from {was} to {is}: the initial claim changed"
        )),
        _ => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(current: u64, desired: u64, granted: bool, by: Grower) -> GrowRequest {
        GrowRequest { current, desired, granted, by }
    }

    /// Guest +2, host +3, guest refused, guest +1: the heap has seen the host's pages.
    fn log() -> Vec<GrowRequest> {
        vec![
            request(17, 19, true, Grower::Guest),
            request(19, 22, true, Grower::Host),
            request(22, 999, false, Grower::Guest),
            request(22, 23, true, Grower::Guest),
        ]
    }

    fn agreeing_stats() -> Stats {
        Stats { grow_calls: 2, pages_grown: 3, failed_grows: 1, foreign_pages: 3, ..Stats::ZERO }
    }

    #[test]
    fn tally_counts_each_grower_apart() {
        let counts = HostCounts::tally(17, 23, &log());
        assert_eq!((counts.guest_grow_calls, counts.guest_pages_grown, counts.guest_refused), (2, 3, 1));
        assert_eq!((counts.host_pages, counts.host_pages_before_last_guest_grow), (3, 3));
    }

    #[test]
    fn agreeing_figures_pass() {
        assert_eq!(compare(&HostCounts::tally(17, 23, &log()), &agreeing_stats()), Vec::<String>::new());
    }

    #[test]
    fn host_pages_after_the_last_guest_growth_are_not_yet_foreign() {
        let mut log = log();
        log.push(request(23, 25, true, Grower::Host));
        let counts = HostCounts::tally(17, 25, &log);
        assert_eq!(compare(&counts, &agreeing_stats()), Vec::<String>::new());
    }

    #[test]
    fn each_wrong_figure_is_reported_with_both_numbers() {
        let counts = HostCounts::tally(17, 23, &log());
        let wrong = [
            (
                Stats { pages_grown: 4, ..agreeing_stats() },
                "memory has 23 pages, but initial 17 + pages_grown 4",
            ),
            (Stats { grow_calls: 5, ..agreeing_stats() }, "grow_calls is 5, but the host saw 2"),
            (Stats { failed_grows: 0, ..agreeing_stats() }, "failed_grows is 0, but the host refused 1"),
            (Stats { foreign_pages: 0, ..agreeing_stats() }, "foreign_pages is 0, but the host grew 3"),
        ];
        for (stats, expected) in wrong {
            let problems = compare(&counts, &stats);
            assert!(
                problems.iter().any(|problem| problem.starts_with(expected)),
                "{expected:?} not in {problems:?}"
            );
        }
    }

    #[test]
    fn foreign_pages_grown_beside_the_heap_are_not_blamed_on_it() {
        // The heap grows 2 pages, a rogue `memory.grow` 2 more, and the heap 1: it counts the
        // rogue's pages as foreign, which no host growth explains.
        let rogue_log = [
            request(17, 19, true, Grower::Guest),
            request(19, 21, true, Grower::Guest),
            request(21, 22, true, Grower::Guest),
        ];
        let stats = Stats { grow_calls: 2, pages_grown: 3, foreign_pages: 2, ..Stats::ZERO };
        let problems = compare(&HostCounts::tally(17, 22, &rogue_log), &stats);
        assert!(
            problems[0].starts_with("memory has 22 pages, but initial 17 + pages_grown 3"),
            "{problems:?}"
        );
        let foreign = problems.iter().find(|problem| problem.starts_with("foreign_pages is 2"));
        assert!(foreign.is_some_and(|problem| problem.contains("memory also grew beside the heap")));
        // Without unexplained pages, the message blames no one else.
        let problems =
            compare(&HostCounts::tally(17, 23, &log()), &Stats { foreign_pages: 0, ..agreeing_stats() });
        assert!(problems.iter().all(|problem| !problem.contains("beside the heap")), "{problems:?}");
    }

    /// A heap that claimed the 1,000 claimable bytes of its initial memory and grew 2 pages.
    fn consistent_stats() -> Stats {
        Stats {
            grow_calls: 2,
            pages_grown: 2,
            heap_bytes: 1000 + 2 * PAGE_BYTES,
            live_bytes: 500,
            peak_live_bytes: 900,
            allocations: 7,
            deallocations: 3,
            ..Stats::ZERO
        }
    }

    #[test]
    fn consistent_figures_pass() {
        let after =
            Stats { grow_calls: 3, pages_grown: 3, heap_bytes: 1000 + 3 * PAGE_BYTES, ..consistent_stats() };
        assert_eq!(consistency(&consistent_stats(), &after, 1000), Vec::<String>::new());
        assert_eq!(consistency(&Stats::ZERO, &consistent_stats(), 1000), Vec::<String>::new());
    }

    #[test]
    fn each_inconsistency_is_reported() {
        let before = consistent_stats();
        let wrong = [
            (Stats { allocations: 6, ..before }, "allocations went back from 7 to 6"),
            (Stats { live_bytes: 901, ..before }, "live_bytes 901 <= peak_live_bytes 900"),
            (Stats { peak_live_bytes: 200_000, ..before }, "live_bytes 500 <= peak_live_bytes 200000"),
            (Stats { deallocations: 8, ..before }, "deallocations is 8, more than the 7"),
            (Stats { heap_bytes: 1000, ..before }, "heap_bytes is 1000, less than the 2 pages"),
            (Stats { heap_bytes: 999 + 2 * PAGE_BYTES, ..before }, "heap_bytes less the pages grown went"),
            (Stats { heap_bytes: 1001 + 2 * PAGE_BYTES, ..before }, "heap_bytes claims 1001 bytes beyond"),
        ];
        for (after, expected) in wrong {
            let problems = consistency(&before, &after, 1000);
            assert!(
                problems.iter().any(|problem| problem.starts_with(expected)),
                "{expected:?} not in {problems:?}"
            );
        }
    }
}
