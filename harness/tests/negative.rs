//! The checker fails when it should: rogue growth, writes into host pages, wrong expectations,
//! traps, and guests without the stats export.

mod common;

use common::{GuestKind, PROFILES, guest_path, session, write_module};
use growheap_harness::checks::{HostCounts, compare};
use growheap_harness::recorder::{GrowRequest, Grower};
use growheap_harness::{GuestOptions, Session};

#[test]
fn growth_behind_the_heap_fails_with_guest_call_and_both_page_counts() {
    for profile in PROFILES {
        let mut session = session(GuestKind::Rogue, profile);
        session.call("allocate_megabyte").unwrap().assert_passed();
        let report = session.call("grow_behind_heap").unwrap();
        let messages: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
        let expected = report.host.expected_pages(&report.stats);
        let pages_message = messages
            .iter()
            .find(|message| message.contains("memory has"))
            .unwrap_or_else(|| panic!("({profile}) no page-count failure in {messages:?}"));
        assert!(pages_message.contains("growheap_guest_rogue.wasm"), "{pages_message}");
        assert!(pages_message.contains("grow_behind_heap"), "{pages_message}");
        assert!(
            pages_message.contains(&format!("memory has {} pages", report.pages_after)),
            "{pages_message}"
        );
        assert!(pages_message.contains(&format!("= {expected}")), "{pages_message}");
        assert_ne!(report.pages_after, expected);
        assert!(messages.iter().any(|message| message.contains("grow_calls is")), "{messages:?}");
    }
}

#[test]
fn writing_into_host_pages_fails_the_sentinel_check() {
    for profile in PROFILES {
        let mut session = session(GuestKind::Rogue, profile);
        session.grow_from_host(1).unwrap();
        let report = session.call("write_into_last_page").unwrap();
        let sentinel = report.failures.iter().find(|failure| failure.problem.contains("sentinel"));
        let failure =
            sentinel.unwrap_or_else(|| panic!("({profile}) no sentinel failure: {:?}", report.failures));
        assert_eq!(failure.call, "write_into_last_page");
        let last_byte = session.guest.pages() * 65536 - 1;
        assert!(failure.problem.contains(&format!("byte {last_byte}")), "{failure}");
    }
}

#[test]
fn a_wrong_expected_count_is_reported() {
    let mut session = session(GuestKind::Workloads, "debug");
    let report = session.call("vec_doubling").unwrap();
    report.assert_passed();
    // The same log, plus one growth the heap never made.
    let mut log = session.guest.store.data().recorder.requests.clone();
    let pages = report.pages_after;
    log.push(GrowRequest { current: pages, desired: pages + 1, granted: true, by: Grower::Guest });
    let counts = HostCounts::tally(session.guest.initial_pages, pages + 1, &log);
    let problems = compare(&counts, &report.stats);
    let calls = report.stats.grow_calls;
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&format!("grow_calls is {calls}, but the host saw {}", calls + 1)))
    );
    assert!(problems.iter().any(|p| p.starts_with("pages_grown is")), "{problems:?}");
}

#[test]
fn a_trap_is_a_failed_check_not_a_crash() {
    let module = r#"(module
        (memory (export "memory") 1)
        (func (export "growheap_stats") (result i32) i32.const 0)
        (func (export "boom") unreachable))"#;
    let path = write_module("trapping.wat", module);
    let mut session = Session::load(&path, &GuestOptions::default()).unwrap();
    // Version word 0 at address 0: the snapshot is refused before the call.
    let error = session.call("boom").unwrap_err().to_string();
    assert!(error.contains("layout version 0"), "{error}");
    let mut words = vec![0u8; 88];
    words[0] = 1;
    session.guest.memory_bytes_mut()[..88].copy_from_slice(&words);
    let report = session.call("boom").unwrap();
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].to_string().contains("call `boom`: trapped"), "{}", report.failures[0]);
}

#[test]
fn growth_during_instantiation_is_the_guests_and_must_be_explained() {
    // A start function grows 5 pages before any export is called; the snapshot (version 1, all
    // figures zero) says the heap grew nothing.
    let module = r#"(module
        (memory (export "memory") 1)
        (func $start (drop (memory.grow (i32.const 5))))
        (start $start)
        (data (i32.const 1024) "\01")
        (func (export "growheap_stats") (result i32) i32.const 1024)
        (func (export "work")))"#;
    let path = write_module("start_grows.wat", module);
    let mut session = Session::load(&path, &GuestOptions::default()).unwrap();
    assert_eq!((session.guest.initial_pages, session.guest.pages()), (1, 6));
    let report = session.call("work").unwrap();
    let problems: Vec<&str> = report.failures.iter().map(|failure| failure.problem.as_str()).collect();
    assert!(problems.iter().any(|p| p.starts_with("memory has 6 pages, but initial 1")), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("grow_calls is 0, but the host saw 1")), "{problems:?}");
}

#[test]
fn a_claim_on_the_static_data_below_heap_base_is_reported() {
    // `__heap_base` at 60,000 leaves 5,536 bytes of the one initial page to claim; the snapshot
    // says the heap manages 6,000 bytes without growing.
    let module = r#"(module
        (memory (export "memory") 1)
        (global (export "__heap_base") i32 (i32.const 60000))
        (data (i32.const 1024) "\01\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\70\17")
        (func (export "growheap_stats") (result i32) i32.const 1024)
        (func (export "work")))"#;
    let path = write_module("claims_statics.wat", module);
    let mut session = Session::load(&path, &GuestOptions::default()).unwrap();
    assert_eq!(session.guest.claimable_bytes, 65536 - 60000);
    let report = session.call("work").unwrap();
    let problems: Vec<&str> = report.failures.iter().map(|failure| failure.problem.as_str()).collect();
    assert!(
        problems.iter().any(|p| p.starts_with("heap_bytes claims 6000 bytes beyond the pages grown")),
        "{problems:?}"
    );
}

#[test]
fn a_guest_without_the_stats_export_is_an_error_that_says_why() {
    let path =
        write_module("no_export.wat", r#"(module (memory (export "memory") 1) (func (export "work")))"#);
    let mut session = Session::load(&path, &GuestOptions::default()).unwrap();
    let error = session.call("work").unwrap_err().to_string();
    assert!(error.contains("host-export"), "{error}");
    assert!(session.call("missing").unwrap_err().to_string().contains("exports no function `missing`"));
}

#[test]
fn the_guests_exist_for_both_profiles() {
    for profile in PROFILES {
        assert!(guest_path(GuestKind::Rogue, profile).is_file());
    }
}
