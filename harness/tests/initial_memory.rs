//! An initial memory of 65,536 pages, the whole 32-bit address space (a module linked with
//! `--initial-memory=4294967296`): wasm-ld's `__heap_end` is 2^32 there, which wraps to 0. Checked
//! from the host: on `wasm32-unknown-unknown` both heaps serve all of it without growing, count no
//! foreign pages, and see null without trapping once it is full; on `wasm32-wasip1`, where the
//! heap claims none of the initial memory, it sees null at once. And the nearest initial memory
//! that `__heap_end` describes, 65,535 pages, whose last page the heap grows. Last, an ordinary
//! initial memory without std: on `wasm32v1-none` as on `wasm32-unknown-unknown` the heap serves
//! its first block from the free space the linker leaves there.

mod common;

use common::{GuestKind, PROFILES, assert_filled_blocks_cover_memory, session};
use growheap::PAGE_SIZE;
use growheap_harness::{CallReport, Session};

/// The most pages a 32-bit memory can have.
const MAX_PAGES: u64 = 1 << 16;

/// Bytes in 4 GiB, the whole 32-bit address space.
const ADDRESS_SPACE: usize = 1 << 32;

/// Fill memory, then free it all and allocate a mebibyte again; every call's checks pass, and
/// memory ends full. Checks from the host that the blocks the heap handed out cover all of memory
/// above the static data (about a mebibyte: the stack and the guest's data) but less than two
/// pages, so that each null the guest saw came when memory was full, and that the mebibyte asks
/// for no growth. Returns the filling call.
fn fill_release_reuse(session: &mut Session, what: &str) -> CallReport {
    let filled = session.call("fill_memory").unwrap();
    filled.assert_passed();
    let stats = &filled.stats;
    assert_eq!(filled.pages_after, MAX_PAGES, "{what}: {stats:?}");
    let count = usize::try_from(filled.result_i32().unwrap()).unwrap();
    assert!(count > 0, "{what}: nothing was allocated: {stats:?}");
    let handed_out = assert_filled_blocks_cover_memory(session, count, what);
    // The heap's own account agrees: it was refused (whether the host saw each refusal depends on
    // the heap: see `tests/full_memory.rs`), and claimed and handed out as much.
    assert!(stats.failed_grows > 0, "{what}: the heap was never refused: {stats:?}");
    assert!(stats.live_bytes >= handed_out, "{what}: {handed_out} bytes handed out: {stats:?}");
    assert!(stats.heap_bytes > ADDRESS_SPACE - (2 << 20), "{what}: the heap claimed too little: {stats:?}");
    assert!(stats.heap_bytes - stats.live_bytes < 2 * PAGE_SIZE, "{what}: handed out too little: {stats:?}");
    let released = session.call("release_filled").unwrap();
    released.assert_passed();
    assert_eq!(released.result_i32(), filled.result_i32(), "{what}: not every block was freed");
    let reused = session.call("retain_megabyte").unwrap();
    reused.assert_passed();
    assert!(reused.guest_grows.is_empty(), "{what}: the mebibyte asked for memory.grow");
    filled
}

#[test]
fn an_initial_memory_of_4_gib_serves_allocations_without_growing() {
    for kind in [GuestKind::WorkloadsInitialFull, GuestKind::WorkloadsCompactInitialFull] {
        for profile in PROFILES {
            let what = format!("{kind:?} ({profile})");
            let mut session = session(kind, profile);
            assert_eq!(session.guest.initial_pages, MAX_PAGES, "{what}: not linked with 4 GiB");
            let filled = fill_release_reuse(&mut session, &what);
            assert_eq!((filled.host.guest_grow_calls, filled.host.guest_pages_grown), (0, 0), "{what}");
        }
    }
}

#[test]
fn an_initial_memory_one_page_short_of_4_gib_serves_allocations_and_grows_the_last_page() {
    for profile in PROFILES {
        let what = format!("65,535 initial pages ({profile})");
        let mut session = session(GuestKind::WorkloadsInitialAlmostFull, profile);
        assert_eq!(session.guest.initial_pages, MAX_PAGES - 1, "{what}: not linked with 65,535 pages");
        let filled = fill_release_reuse(&mut session, &what);
        assert_eq!((filled.host.guest_grow_calls, filled.host.guest_pages_grown), (1, 1), "{what}");
    }
}

#[test]
fn wasip1_heap_beside_an_initial_memory_of_4_gib_sees_null_without_trapping() {
    for profile in PROFILES {
        let what = format!("wasip1 reactor ({profile})");
        let mut session = session(GuestKind::WorkloadsReactorInitialFull, profile);
        assert_eq!(session.guest.initial_pages, MAX_PAGES, "{what}: not linked with 4 GiB");
        // wasi-libc's malloc owns the initial memory, and memory cannot grow: nothing is free.
        let filled = session.call("fill_memory").unwrap();
        filled.assert_passed();
        let stats = &filled.stats;
        assert_eq!(filled.result_i32(), Some(0), "{what}: {stats:?}");
        filled.assert_refused_by_host();
        assert_eq!(stats.heap_bytes, 0, "{what}: claimed memory that wasi-libc owns: {stats:?}");
    }
}

/// No libc owns the free space after the static data of a guest without std, on `wasm32v1-none`
/// as on `wasm32-unknown-unknown`: the heap takes it, and its first block grows no memory.
#[test]
fn without_std_the_first_block_comes_from_the_initial_memory() {
    for kind in [GuestKind::Bare, GuestKind::BareV1None] {
        for profile in PROFILES {
            let what = format!("{kind:?} ({profile})");
            let mut session = session(kind, profile);
            let initial_bytes = session.guest.initial_pages * PAGE_SIZE as u64;
            let heap_base = initial_bytes - session.guest.claimable_bytes;
            let report = session.call("allocate_small").unwrap();
            report.assert_passed();
            let stats = &report.stats;
            // Seen by the host: the block lies in the initial memory above the static data, and
            // the guest asked for no growth.
            let block = report.result_i32().map(|address| u64::from(address as u32));
            assert!(block.is_some_and(|b| b >= heap_base && b < initial_bytes), "{what}: block at {block:?}");
            assert!(report.guest_grows.is_empty(), "{what}: asked for memory.grow: {stats:?}");
            assert!(stats.heap_bytes > 0, "{what}: claimed none of the initial memory: {stats:?}");
        }
    }
}
