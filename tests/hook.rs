//! The `on_grow` hook: it sees every growth the heap makes, runs after the heap is unlocked (so it
//! may allocate from the same heap), and a panic in it ends the program instead of unwinding out
//! of the allocator.

#[path = "common/child.rs"]
mod child;

use growheap::source::FakePages;
use growheap::{GrowEvent, GrowHeap, PAGE_SIZE};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::{Mutex, OnceLock};

static HEAP: OnceLock<GrowHeap<FakePages>> = OnceLock::new();
static SEEN: Mutex<Vec<GrowEvent>> = Mutex::new(Vec::new());

/// Record the growth, and allocate and free a block of the same heap: with the heap still locked,
/// this would deadlock on the spin lock of a native build.
fn record(event: GrowEvent) {
    SEEN.lock().unwrap().push(event);
    let heap = HEAP.get().unwrap();
    let layout = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: the layout is valid; the block is freed at once with it.
    unsafe {
        let block = heap.alloc(layout);
        assert!(!block.is_null(), "the hook could not allocate from its heap");
        heap.dealloc(block, layout);
    }
}

#[test]
fn the_hook_sees_every_growth_and_may_allocate() {
    let heap = HEAP.get_or_init(|| GrowHeap::with_source(FakePages::wasi_like(64)).on_grow(record));
    let layout = Layout::from_size_align(3 * PAGE_SIZE, 8).unwrap();
    // SAFETY: the layout is valid; each block is freed once with it.
    unsafe {
        let blocks: Vec<*mut u8> = (0..4).map(|_| heap.alloc(layout)).collect();
        assert!(blocks.iter().all(|block| !block.is_null()));
        blocks.into_iter().for_each(|block| heap.dealloc(block, layout));
    }
    let seen = SEEN.lock().unwrap().clone();
    let stats = heap.stats();
    assert_eq!(seen.len() as u64, stats.grow_calls, "{seen:?}");
    assert_eq!(seen.iter().map(|e| e.new_pages - e.old_pages).sum::<usize>(), stats.pages_grown);
    assert!(seen.windows(2).all(|pair| pair[0].new_pages <= pair[1].old_pages), "{seen:?}");
}

fn panic_in_hook(_: GrowEvent) {
    panic!("a hook that panics");
}

/// The test runs itself again as a child process, whose hook panics, and reads what it printed.
#[test]
#[cfg_attr(any(miri, target_family = "wasm"), ignore = "starts a process: not under Miri, nor in wasm")]
fn a_panicking_hook_ends_the_program() {
    const TEST: &str = "a_panicking_hook_ends_the_program";
    if child::is_child(TEST) {
        let heap = GrowHeap::with_source(FakePages::wasi_like(64)).on_grow(panic_in_hook);
        let layout = Layout::from_size_align(PAGE_SIZE, 8).unwrap();
        // SAFETY: the layout is valid; the block, if any, is never used.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { heap.alloc(layout) }));
        eprintln!("unwound out of alloc: {}", caught.is_err());
        return;
    }
    let (status, printed) = child::run_as_child(TEST);
    assert!(!status.success(), "the panic did not end the program:\n{printed}");
    assert!(!printed.contains("unwound out of alloc"), "the panic unwound:\n{printed}");
    assert!(printed.contains("a hook that panics"), "{printed}");
}
