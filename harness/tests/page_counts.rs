//! Every workload, on every kind of guest module (wasm32 and memory64, and over `CompactHeap`),
//! in debug and release: the heap's statistics agree with the host's page counts and growth log
//! after each call.

mod common;

use common::{GuestKind, PROFILES, session};

const WORKLOADS: [&str; 5] =
    ["vec_doubling", "small_strings", "realloc_ladder", "free_and_reuse", "alignment_mix"];

fn run_every_workload(kind: GuestKind) {
    for profile in PROFILES {
        let mut session = session(kind, profile);
        for workload in WORKLOADS {
            let report = session.call(workload).unwrap();
            report.assert_passed();
            assert!(report.result_i32().unwrap() > 0, "{workload} ({profile}) did nothing");
            assert_eq!(report.pages_after, report.host.expected_pages(&report.stats));
        }
        assert!(session.guest.pages() > session.guest.initial_pages, "{kind:?} ({profile}) never grew");
    }
}

#[test]
fn plain_module_workloads_keep_page_counts() {
    run_every_workload(GuestKind::Workloads);
}

#[test]
fn compact_heap_workloads_keep_page_counts() {
    run_every_workload(GuestKind::WorkloadsCompact);
}

#[test]
fn memory64_module_workloads_keep_page_counts() {
    run_every_workload(GuestKind::Workloads64);
}

#[test]
fn memory64_compact_heap_workloads_keep_page_counts() {
    run_every_workload(GuestKind::WorkloadsCompact64);
}

#[test]
fn wasip1_reactor_workloads_keep_page_counts() {
    run_every_workload(GuestKind::WorkloadsReactor);
}

#[test]
fn wasip1_command_start_keeps_page_counts() {
    for profile in PROFILES {
        let mut session = session(GuestKind::WorkloadsCommand, profile);
        let report = session.call("_start").unwrap();
        report.assert_passed();
        assert!(report.stats.grow_calls > 0, "_start ({profile}) never grew the heap");
        assert_eq!(report.stats.grow_calls, report.guest_grows.len() as u64);
    }
}

#[test]
fn each_memory_grow_is_logged_with_sizes_that_chain() {
    for profile in PROFILES {
        let mut session = session(GuestKind::Workloads, profile);
        let report = session.call("vec_doubling").unwrap();
        report.assert_passed();
        let grows = &report.guest_grows;
        assert!(grows.len() > 1, "vec_doubling ({profile}) grew only {} times", grows.len());
        assert_eq!(grows[0].current, report.pages_before);
        assert!(grows.windows(2).all(|pair| pair[0].desired == pair[1].current));
        assert_eq!(grows.last().unwrap().desired, report.pages_after);
    }
}

#[test]
fn reused_memory_does_not_grow_again() {
    for profile in PROFILES {
        let mut session = session(GuestKind::Workloads, profile);
        session.call("vec_doubling").unwrap().assert_passed();
        let again = session.call("vec_doubling").unwrap();
        again.assert_passed();
        assert_eq!(again.pages_before, again.pages_after, "({profile}) freed memory was not reused");
        assert!(again.guest_grows.is_empty());
    }
}
