//! The checker fails when it should: rogue growth, writes into host pages, wrong expectations,
//! traps, and guests without the stats export.

mod common;

use common::{GuestKind, PROFILES, blocks_cover_memory, session, write_module};
use growheap_harness::checks::{HostCounts, compare};
use growheap_harness::recorder::{GrowRequest, Grower, PAGE_BYTES};
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

/// The panic message of `check`, which must panic.
fn panic_message(check: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)).unwrap_err();
    payload.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn a_refusal_the_host_did_not_make_is_told_from_one_it_made() {
    // One page, no declared maximum: a 32-bit memory may hold 65,536. Each export adds to
    // `failed_grows` (the third word of the snapshot at 1,024) in its own way.
    let module = r#"(module
        (memory (export "memory") 1)
        (data (i32.const 1024) "\01")
        (func (export "growheap_stats") (result i32) i32.const 1024)
        (func $count (param $refusals i64)
            (i64.store (i32.const 1040) (i64.add (i64.load (i32.const 1040)) (local.get $refusals))))
        (func (export "grow_past_maximum")
            (if (i32.eq (memory.grow (i32.const 65536)) (i32.const -1)) (then (call $count (i64.const 1)))))
        (func (export "count_a_refusal_twice")
            (if (i32.eq (memory.grow (i32.const 65536)) (i32.const -1)) (then (call $count (i64.const 2)))))
        (func (export "claim_a_refusal") (call $count (i64.const 1))))"#;
    let path = write_module("refusals.wat", module);
    let mut session = Session::load(&path, &GuestOptions::default()).unwrap();
    // Past the memory's maximum, wasmtime still asks the limiter, which logs the refusal.
    let honest = session.call("grow_past_maximum").unwrap();
    honest.assert_passed();
    let past_maximum = GrowRequest { current: 1, desired: 65537, granted: false, by: Grower::Guest };
    assert_eq!(honest.guest_grows, [past_maximum]);
    honest.assert_refused_by_host();
    // Both lies pass the checks of every call, which only hold `failed_grows` to at least the
    // host's refusals (a heap's own cap refuses without asking the host).
    let twice = session.call("count_a_refusal_twice").unwrap();
    twice.assert_passed();
    let message = panic_message(|| twice.assert_refused_by_host());
    assert!(
        message.contains("failed_grows rose by 2, but the host refused 1 memory.grow calls"),
        "{message}"
    );
    let claimed = session.call("claim_a_refusal").unwrap();
    claimed.assert_passed();
    let message = panic_message(|| claimed.assert_refused_by_host());
    assert!(message.contains("the host refused no memory.grow, but failed_grows rose by 1"), "{message}");
}

/// A guest whose blocks overlap, leave memory unused or lie past it fails the host's check of
/// them, whatever its statistics say; in wasm32 words and in memory64 ones.
#[test]
fn blocks_that_overlap_or_leave_memory_unused_are_reported() {
    let page = PAGE_BYTES;
    for word_bytes in [4, 8] {
        // Four pages with the static data in the first; the list of blocks ends it.
        let mut memory = vec![0u8; 4 * page];
        let list = page - 64;
        let mut check = |blocks: &[[usize; 2]], heap_base: Option<usize>| {
            let words = blocks.iter().flatten().flat_map(|word| word.to_le_bytes()[..word_bytes].to_vec());
            memory[list..].iter_mut().zip(words).for_each(|(byte, word)| *byte = word);
            blocks_cover_memory(&memory, list, blocks.len(), heap_base, word_bytes)
        };
        let covering = [[page, 2 * page], [3 * page, page - 16]];
        assert_eq!(check(&covering, Some(list)), Ok(3 * page - 16));
        assert_eq!(check(&covering, None), Ok(3 * page - 16));
        let overlapping = [[page, 2 * page], [3 * page - 16, page]];
        let problem = check(&overlapping, Some(list)).unwrap_err();
        assert!(problem.starts_with("a block at 0x2fff0 starts below 0x30000"), "{problem}");
        let problem = check(&[[3 * page, 2 * page]], Some(list)).unwrap_err();
        assert!(problem.starts_with("a block ends at 0x50000, past memory"), "{problem}");
        // A block inside the list itself, and the list below the static data's end.
        let problem = check(&[[page - 56, 16], [page, 3 * page]], Some(list)).unwrap_err();
        assert!(problem.starts_with("a block at 0xffc8 starts below"), "{problem}");
        let problem = check(&covering, Some(page)).unwrap_err();
        assert!(problem.starts_with("a block at 0xffc0 starts below 0x10000"), "{problem}");
        // Two pages and more left unused, above the static data or, where its end is not known,
        // above the lowest block.
        for heap_base in [Some(list), None] {
            let problem = check(&[[page, page]], heap_base).unwrap_err();
            assert!(problem.ends_with("from 0xffc0 to the end of memory were not handed out"), "{problem}");
        }
    }
}
