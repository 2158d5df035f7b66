//! The `debug-checks` feature: poison on free, and clear answers for double frees, foreign
//! pointers and wrong layouts. Run with `cargo test --features debug-checks --test debug_checks`.
#![cfg(feature = "debug-checks")]

#[path = "common/child.rs"]
mod child;

use growheap::GrowHeap;
use growheap::raw::{FreeError, Limits, POISON, RawHeap};
use growheap::source::FakePages;
use std::alloc::{GlobalAlloc, Layout};

fn heap() -> RawHeap<FakePages> {
    RawHeap::new(FakePages::wasi_like(64), Limits::NONE)
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// Allocate through the raw heap.
fn alloc(heap: &mut RawHeap<FakePages>, size: usize) -> *mut u8 {
    // SAFETY: the fake's memory is touched only through blocks the heap hands out.
    let ptr = unsafe { heap.alloc(layout(size)) };
    assert!(!ptr.is_null());
    ptr
}

fn free(heap: &mut RawHeap<FakePages>, ptr: *mut u8, size: usize) {
    heap.check_free(ptr, layout(size)).expect("a live block may be freed");
    // SAFETY: checked just above that the block is live with this layout.
    unsafe { heap.dealloc(ptr, layout(size)) };
}

#[test]
fn a_small_double_free_is_caught() {
    let mut heap = heap();
    let keep = alloc(&mut heap, 24);
    let block = alloc(&mut heap, 24);
    let _after = alloc(&mut heap, 24);
    free(&mut heap, block, 24);
    assert_eq!(heap.check_free(block, layout(24)), Err(FreeError::DoubleFree { ptr: block }));
    assert_eq!(heap.check_free(keep, layout(24)), Ok(()));
}

/// Blocks of 64 KiB or more are merged at once; smaller ones first wait on a quick list while
/// fresh memory lasts.
const MERGED_AT_ONCE: usize = 70_000;

#[test]
fn a_large_double_free_is_caught_even_after_merging() {
    let mut heap = heap();
    let first = alloc(&mut heap, MERGED_AT_ONCE);
    let second = alloc(&mut heap, MERGED_AT_ONCE);
    let _pin = alloc(&mut heap, MERGED_AT_ONCE);
    free(&mut heap, first, MERGED_AT_ONCE);
    assert_eq!(heap.check_free(first, layout(MERGED_AT_ONCE)), Err(FreeError::DoubleFree { ptr: first }));
    // `second` merges into the free block before it: its header must still say "free".
    free(&mut heap, second, MERGED_AT_ONCE);
    assert_eq!(heap.check_free(second, layout(MERGED_AT_ONCE)), Err(FreeError::DoubleFree { ptr: second }));
}

#[test]
fn a_double_free_of_a_block_on_a_quick_list_is_caught() {
    let mut heap = heap();
    // Freed blocks wait on quick lists only while 128 KiB or more of fresh memory is left.
    // SAFETY: the fake's memory is touched only through blocks the heap hands out.
    assert!(unsafe { heap.reserve(512 * 1024) });
    let first = alloc(&mut heap, 5000);
    let second = alloc(&mut heap, 5000);
    let _pin = alloc(&mut heap, 5000);
    free(&mut heap, first, 5000);
    free(&mut heap, second, 5000);
    // Both wait whole on the same quick list, their headers still saying "in use".
    assert_eq!(heap.validate().map(|report| report.kept_blocks), Ok(2));
    assert_eq!(heap.check_free(first, layout(5000)), Err(FreeError::DoubleFree { ptr: first }));
    assert_eq!(heap.check_free(second, layout(5000)), Err(FreeError::DoubleFree { ptr: second }));
    // Merged by `trim`, they are one free block, and still not free twice.
    heap.trim();
    assert_eq!(heap.validate().map(|report| (report.kept_blocks, report.free_blocks)), Ok((0, 1)));
    assert_eq!(heap.check_free(first, layout(5000)), Err(FreeError::DoubleFree { ptr: first }));
    assert_eq!(heap.check_free(second, layout(5000)), Err(FreeError::DoubleFree { ptr: second }));
}

#[test]
fn a_block_given_back_to_fresh_memory_is_not_live() {
    let mut heap = heap();
    let block = alloc(&mut heap, MERGED_AT_ONCE);
    free(&mut heap, block, MERGED_AT_ONCE);
    assert_eq!(heap.check_free(block, layout(MERGED_AT_ONCE)), Err(FreeError::NotLive { ptr: block }));
    // A smaller block that ends at the top goes back too, rather than wait on a quick list.
    let block = alloc(&mut heap, 5000);
    free(&mut heap, block, 5000);
    assert_eq!(heap.check_free(block, layout(5000)), Err(FreeError::NotLive { ptr: block }));
}

#[test]
fn foreign_pointers_are_refused() {
    let mut heap = heap();
    let _block = alloc(&mut heap, 100);
    let mut on_the_stack = [0u8; 64];
    let stack = on_the_stack.as_mut_ptr();
    assert_eq!(heap.check_free(stack, layout(64)), Err(FreeError::NotFromThisHeap { ptr: stack }));
    let misaligned = alloc(&mut heap, 5000).wrapping_add(4);
    assert_eq!(
        heap.check_free(misaligned, layout(5000)),
        Err(FreeError::NotFromThisHeap { ptr: misaligned })
    );
}

#[test]
fn a_wrong_layout_is_refused() {
    let mut heap = heap();
    let block = alloc(&mut heap, 5000);
    let wrong = layout(9000);
    assert_eq!(heap.check_free(block, wrong), Err(FreeError::LayoutMismatch { ptr: block, layout: wrong }));
}

/// The word before a pointer that is no block's is data, which may read as any size: the check
/// answers, and never trips over it.
#[test]
fn a_pointer_into_a_block_gets_an_answer_whatever_the_word_before_it() {
    let mut heap = heap();
    let block = alloc(&mut heap, 4096);
    for word in [0usize, 1, 8, 15, 16, 48, 4096, usize::MAX] {
        // A pointer 1 KiB into the block, aligned as blocks are, after the word.
        let inside = block.wrapping_add(1024);
        // SAFETY: the block is ours for 4096 bytes, and the word lies inside it.
        unsafe { inside.cast::<usize>().sub(1).write(word) };
        let verdict = heap.check_free(inside, Layout::from_size_align(300, 16).unwrap());
        assert!(verdict.is_err(), "a pointer into a block, header word {word}, passed: {verdict:?}");
    }
    free(&mut heap, block, 4096);
}

#[test]
fn freed_memory_is_poisoned() {
    let mut heap = heap();
    let block = alloc(&mut heap, 5000);
    let _pin = alloc(&mut heap, 5000);
    // SAFETY: the block is live for 5000 bytes.
    unsafe { block.write_bytes(0x11, 5000) };
    free(&mut heap, block, 5000);
    // The first words hold free-list links and the last a footer; the middle is poison.
    // SAFETY: the freed block still belongs to the heap's memory, which outlives this read.
    let middle = unsafe { std::slice::from_raw_parts(block.add(64), 4000) };
    assert!(middle.iter().all(|&b| b == POISON));
}

/// A double free through `GlobalAlloc` prints a clear message and ends the program: it may not
/// unwind out of the allocator. The test runs itself again as a child process, which does the
/// double free, and reads what the child printed.
#[test]
#[cfg_attr(any(miri, target_family = "wasm"), ignore = "starts a process: not under Miri, nor in wasm")]
fn the_global_allocator_panics_with_a_clear_message_and_aborts() {
    const TEST: &str = "the_global_allocator_panics_with_a_clear_message_and_aborts";
    if child::is_child(TEST) {
        let heap = GrowHeap::with_source(FakePages::wasi_like(16));
        let layout = layout(48);
        // SAFETY: the layout is valid; the block is freed once here, and the second free is
        // refused before it reaches the heap.
        unsafe {
            let block = heap.alloc(layout);
            let _after = heap.alloc(layout);
            heap.dealloc(block, layout);
            eprintln!("block {block:p}");
            let caught =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| heap.dealloc(block, layout)));
            eprintln!("unwound out of dealloc: {}", caught.is_err());
        }
        return;
    }
    let (status, printed) = child::run_as_child(TEST, None);
    assert!(!status.success(), "the double free did not end the program:\n{printed}");
    assert!(!printed.contains("unwound out of dealloc"), "the panic unwound:\n{printed}");
    let block = printed.lines().find_map(|line| line.strip_prefix("block ")).expect("the child's block");
    assert!(printed.contains(&format!("growheap: double free of {block}")), "{printed}");
}
