//! Memory grown to its maximum, 65,536 pages (4 GiB, the whole 32-bit address space), checked
//! from the host: the heap's statistics still explain every page, and memory freed there is
//! reused without growing.

mod common;

use common::{GuestKind, PROFILES, session};

/// The most pages a 32-bit memory can have.
const MAX_PAGES: u64 = 1 << 16;

#[test]
fn memory_filled_to_4_gib_keeps_page_counts_and_is_reused() {
    for profile in PROFILES {
        let mut session = session(GuestKind::Workloads, profile);
        let report = session.call("fill_memory").unwrap();
        report.assert_passed();
        assert_eq!(report.pages_after, MAX_PAGES, "fill_memory ({profile}) stopped early");
        assert_eq!(report.pages_after, report.host.expected_pages(&report.stats));
        assert!(report.stats.failed_grows > 0, "{profile}: the heap was never refused");
        let report = session.call("release_filled").unwrap();
        report.assert_passed();
        assert!(report.result_i32().unwrap() > 0);
        let report = session.call("retain_megabyte").unwrap();
        report.assert_passed();
        assert_eq!(report.pages_before, report.pages_after, "{profile}: freed memory was not reused");
    }
}
