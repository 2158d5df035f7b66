//! Memory grown to its maximum, 65,536 pages (4 GiB, the whole 32-bit address space), checked
//! from the host: the heap's statistics still explain every page, and memory freed there is
//! reused without growing, by `GrowHeap` and by `CompactHeap`. Memory64 guests of both go past
//! 4 GiB, up to a cap the host sets.

mod common;

use common::{GuestKind, PROFILES, assert_filled_blocks_cover_memory, session, session_with};
use growheap_harness::{CallReport, GuestOptions, Session};

/// The most pages a 32-bit memory can have.
const MAX_PAGES: u64 = 1 << 16;

/// Fill memory until the heap is refused, free it all, and allocate a mebibyte again. Checks
/// that every page is explained (the checks of each call), that the blocks the heap handed out
/// cover all of memory above the static data but less than two pages, that each refusal the host
/// made was of a request past `most_pages`, the most pages memory may have, and that the mebibyte
/// needs no growth; returns the filling call.
fn fill_release_reuse(session: &mut Session, profile: &str, most_pages: u64) -> CallReport {
    let filled = session.call("fill_memory").unwrap();
    filled.assert_passed();
    let count = usize::try_from(filled.result_i32().unwrap()).unwrap();
    assert!(count > 0, "{profile}: nothing was allocated");
    assert_filled_blocks_cover_memory(session, count, profile);
    for request in filled.guest_grows.iter().filter(|request| !request.granted) {
        assert!(request.desired > most_pages, "{profile}: {request:?} was refused, but fits");
    }
    let report = session.call("release_filled").unwrap();
    report.assert_passed();
    assert_eq!(report.result_i32(), filled.result_i32(), "{profile}: not every block was freed");
    let report = session.call("retain_megabyte").unwrap();
    report.assert_passed();
    // Memory may be at its maximum, where its size alone cannot show a growth: the host's log
    // shows that the heap did not even try one, and the heap counts no refusal either.
    assert!(report.guest_grows.is_empty(), "{profile}: the mebibyte asked for memory.grow");
    assert_eq!(
        report.stats.failed_grows, report.stats_before.failed_grows,
        "{profile}: the mebibyte was refused a growth before it found the freed memory"
    );
    filled
}

/// Fill a wasm32 guest of `kind` to 4 GiB, in both profiles.
fn fill_4_gib(kind: GuestKind) {
    for profile in PROFILES {
        let mut session = session(kind, profile);
        let filled = fill_release_reuse(&mut session, profile, MAX_PAGES);
        assert_eq!(filled.pages_after, MAX_PAGES, "fill_memory ({kind:?}, {profile}) stopped early");
        // Whether the host hears of the refusals depends on the heap. `CompactHeap` asks for
        // growth past 65,536 pages, and wasmtime 48 asks the limiter, which logs the refusal:
        // `LocalMemory::grow` (wasmtime-48.0.8/src/runtime/vm/memory.rs, lines 651-658) passes it
        // the memory's maximum, which `StoreLimits::memory_growing` (src/runtime/limits.rs, lines
        // 337-355) refuses to pass. (Only growth that a memory of 1-byte pages cannot represent is
        // refused before the limiter hears of it, lines 643-649.) `GrowHeap` does not ask for a
        // block whose end a 32-bit `usize` cannot address: it refuses it itself, unseen by any
        // host (27 times, once for each block size, on 2026-12-04). Either way the host's evidence
        // that memory was full when the heap said null is the blocks, which cover it; the heap's
        // own count must only hold at least the host's refusals, which the checks see to.
        assert!(filled.stats.failed_grows > 0, "({kind:?}, {profile}) the heap counted no refusal");
    }
}

#[test]
fn memory_filled_to_4_gib_keeps_page_counts_and_is_reused() {
    fill_4_gib(GuestKind::Workloads);
}

#[test]
fn compact_heap_fills_4_gib_keeps_page_counts_and_is_reused() {
    fill_4_gib(GuestKind::WorkloadsCompact);
}

/// Fill a memory64 guest of `kind` past 4 GiB, up to a cap of 5 GiB above its initial memory
/// (wasm64 has no 4 GiB limit, so the host sets one), in both profiles.
fn grow_past_4_gib(kind: GuestKind) {
    let limit = MAX_PAGES + MAX_PAGES / 4;
    let options = GuestOptions { grow_limit: Some(limit), ..GuestOptions::default() };
    for profile in PROFILES {
        let mut session = session_with(kind, profile, &options);
        let most = session.guest.initial_pages + limit;
        let filled = fill_release_reuse(&mut session, profile, most);
        // The last blocks, of 16 bytes, need one page at most: the heap was refused them only
        // with memory at the cap.
        assert_eq!(filled.pages_after, most, "fill_memory ({kind:?}, {profile}) stopped short of the cap");
        // Every refusal is the host's cap, which the limiter logs.
        filled.assert_refused_by_host();
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
