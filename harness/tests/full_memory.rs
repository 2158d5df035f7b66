//! Memory grown to its maximum, 65,536 pages (4 GiB, the whole 32-bit address space), checked
//! from the host: the heap's statistics still explain every page, and memory freed there is
//! reused without growing, by `GrowHeap` and by `CompactHeap`. Memory64 guests of both go past
//! 4 GiB, up to a cap the host sets.

mod common;

use common::{GuestKind, PROFILES, session, session_with};
use growheap_harness::{CallReport, GuestOptions, Session};

/// The most pages a 32-bit memory can have.
const MAX_PAGES: u64 = 1 << 16;

/// Fill memory until the heap is refused, free it all, and allocate a mebibyte again. Checks
/// that every page is explained and that the mebibyte needs no growth; returns the filling call.
fn fill_release_reuse(session: &mut Session, profile: &str) -> CallReport {
    let filled = session.call("fill_memory").unwrap();
    filled.assert_passed();
    assert_eq!(filled.pages_after, filled.host.expected_pages(&filled.stats));
    assert!(filled.stats.failed_grows > 0, "{profile}: the heap was never refused");
    let report = session.call("release_filled").unwrap();
    report.assert_passed();
    assert!(report.result_i32().unwrap() > 0);
    let report = session.call("retain_megabyte").unwrap();
    report.assert_passed();
    // Memory is at its maximum, so its size alone cannot show a growth: the host's log and the
    // refusal count show that the heap did not even try one.
    assert_eq!(report.pages_before, report.pages_after, "{profile}: freed memory was not reused");
    assert!(report.guest_grows.is_empty(), "{profile}: the mebibyte asked for memory.grow");
    assert_eq!(
        report.stats.failed_grows, report.stats_before.failed_grows,
        "{profile}: the mebibyte was refused a growth before it found the freed memory"
    );
    filled
}

#[test]
fn memory_filled_to_4_gib_keeps_page_counts_and_is_reused() {
    for profile in PROFILES {
        let mut session = session(GuestKind::Workloads, profile);
        let filled = fill_release_reuse(&mut session, profile);
        assert_eq!(filled.pages_after, MAX_PAGES, "fill_memory ({profile}) stopped early");
    }
}

#[test]
fn compact_heap_fills_4_gib_keeps_page_counts_and_is_reused() {
    for profile in PROFILES {
        let mut session = session(GuestKind::WorkloadsCompact, profile);
        let filled = fill_release_reuse(&mut session, profile);
        assert_eq!(filled.pages_after, MAX_PAGES, "fill_memory ({profile}) stopped early");
    }
}

/// Fill a memory64 guest of `kind` past 4 GiB, up to a cap of 5 GiB above its initial memory
/// (wasm64 has no 4 GiB limit, so the host sets one), in both profiles.
fn grow_past_4_gib(kind: GuestKind) {
    let limit = MAX_PAGES + MAX_PAGES / 4;
    let options = GuestOptions { grow_limit: Some(limit), ..GuestOptions::default() };
    for profile in PROFILES {
        let mut session = session_with(kind, profile, &options);
        let filled = fill_release_reuse(&mut session, profile);
        assert!(filled.pages_after > MAX_PAGES, "fill_memory ({kind:?}, {profile}) stayed below 4 GiB");
        let most = session.guest.initial_pages + limit;
        assert!(filled.pages_after <= most, "fill_memory ({kind:?}, {profile}) passed the host's cap");
    }
}

#[test]
fn memory64_grows_past_4_gib_keeps_page_counts_and_is_reused() {
    grow_past_4_gib(GuestKind::Workloads64);
}

#[test]
fn memory64_compact_heap_grows_past_4_gib_keeps_page_counts_and_is_reused() {
    grow_past_4_gib(GuestKind::WorkloadsCompact64);
}
