//! Memory grown by the host between calls: filled with a sentinel that the guest never
//! overwrites, counted in `foreign_pages` once the heap grows past it.

mod common;

use common::{GuestKind, PROFILES, in_each_profile, session};

const HOST_PAGES: u64 = 3;

#[test]
fn host_pages_stay_untouched_and_count_as_foreign() {
    for (kind, profile) in in_each_profile([GuestKind::Workloads, GuestKind::Workloads64]) {
        let mut session = session(kind, profile);
        session.call("retain_megabyte").unwrap().assert_passed();
        let run = session.grow_from_host(HOST_PAGES).unwrap();
        assert_eq!(run.first_page + HOST_PAGES, session.guest.pages());

        for kept in 2..=4 {
            let report = session.call("retain_megabyte").unwrap();
            report.assert_passed();
            assert_eq!(report.result_i32(), Some(kept));
            assert!(
                !report.guest_grows.is_empty(),
                "({kind:?}, {profile}) retaining a megabyte did not grow memory"
            );
            assert_eq!(
                report.stats.foreign_pages as u64, HOST_PAGES,
                "({kind:?}, {profile}) host pages not counted"
            );
            assert!(report.guest_grows.iter().all(|grow| grow.current >= run.first_page + HOST_PAGES));
        }
    }
}

#[test]
fn host_growth_between_every_call_keeps_counts() {
    for profile in PROFILES {
        let mut session = session(GuestKind::Workloads, profile);
        for round in 1..=4u64 {
            session.grow_from_host(round).unwrap();
            let report = session.call("retain_megabyte").unwrap();
            report.assert_passed();
            let host_total: u64 = (1..=round).sum();
            assert_eq!(report.host.host_pages, host_total);
            assert_eq!(report.stats.foreign_pages as u64, host_total, "({profile}) round {round}");
        }
    }
}
