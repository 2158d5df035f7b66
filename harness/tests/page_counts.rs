//! Every workload, on every kind of guest module (wasm32 and memory64, and over `CompactHeap`),
//! in debug and release: the heap's statistics agree with the host's page counts and growth log
//! after each call, and on a fresh instance each workload grows no more pages than the host
//! allows it.

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
        }
        assert!(session.guest.pages() > session.guest.initial_pages, "{kind:?} ({profile}) never grew");
    }
}

/// The most pages `workload` may grow on a fresh instance of a guest of `kind`, counted by the
/// host. Three workloads hold a known amount at their peak: `vec_doubling` a final 8 MiB (128
/// pages, as it grows in place), `realloc_ladder` one block of 4 MiB and `free_and_reuse` 256
/// blocks of 16 KiB (64 pages each). Where the heap claims the initial memory that follows the
/// static data (plain modules) a block's header and the module's own small allocations fit there;
/// a wasip1 reactor leaves that memory to its libc, so each needs one page more. The other two
/// are bounded by what the heaps grew on 2026-12-04, above the peak of live bytes by the small
/// tier's classes and slabs (`small_strings`: 40,000 strings of 10 bytes at most, 13.4 pages of
/// live data on wasm32, 20.8 on wasm64) and by alignment up to 128 KiB (`alignment_mix`, 18.0
/// pages of live data).
fn ceiling(kind: GuestKind, workload: &str) -> u64 {
    let no_initial_claim = u64::from(matches!(kind, GuestKind::WorkloadsReactor));
    let compact = matches!(kind, GuestKind::WorkloadsCompact | GuestKind::WorkloadsCompact64);
    let wasm64 = matches!(kind, GuestKind::Workloads64 | GuestKind::WorkloadsCompact64);
    match workload {
        "vec_doubling" => 128 + no_initial_claim,
        "realloc_ladder" | "free_and_reuse" => 64 + no_initial_claim,
        "small_strings" if wasm64 => 25,
        "small_strings" => 17 + no_initial_claim,
        "alignment_mix" if compact => 25,
        "alignment_mix" => 28,
        _ => unreachable!("no ceiling for {workload}"),
    }
}

/// Each workload on a fresh instance grows no more pages than its [`ceiling`].
fn each_workload_within_its_ceiling(kind: GuestKind) {
    for profile in PROFILES {
        for workload in WORKLOADS {
            let report = session(kind, profile).call(workload).unwrap();
            report.assert_passed();
            let grown: u64 = report
                .guest_grows
                .iter()
                .filter(|request| request.granted)
                .map(|request| request.delta())
                .sum();
            let most = ceiling(kind, workload);
            assert!(grown <= most, "{workload} ({kind:?}, {profile}) grew {grown} pages, more than {most}");
        }
    }
}

#[test]
fn plain_module_workloads_keep_page_counts() {
    run_every_workload(GuestKind::Workloads);
    each_workload_within_its_ceiling(GuestKind::Workloads);
}

#[test]
fn compact_heap_workloads_keep_page_counts() {
    run_every_workload(GuestKind::WorkloadsCompact);
    each_workload_within_its_ceiling(GuestKind::WorkloadsCompact);
}

#[test]
fn memory64_module_workloads_keep_page_counts() {
    run_every_workload(GuestKind::Workloads64);
    each_workload_within_its_ceiling(GuestKind::Workloads64);
}

#[test]
fn memory64_compact_heap_workloads_keep_page_counts() {
    run_every_workload(GuestKind::WorkloadsCompact64);
    each_workload_within_its_ceiling(GuestKind::WorkloadsCompact64);
}

#[test]
fn wasip1_reactor_workloads_keep_page_counts() {
    run_every_workload(GuestKind::WorkloadsReactor);
    each_workload_within_its_ceiling(GuestKind::WorkloadsReactor);
}

#[test]
fn wasip1_command_start_keeps_page_counts() {
    for profile in PROFILES {
        let mut session = session(GuestKind::WorkloadsCommand, profile);
        let report = session.call("_start").unwrap();
        report.assert_passed();
        // The checks hold `grow_calls` to the host's count of granted requests.
        assert!(report.host.guest_grow_calls > 0, "_start ({profile}) never grew memory");
        assert_eq!(report.guest_refused(), 0, "_start ({profile}) was refused a memory.grow");
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
