//! Memory grown to the end of wasm32's address space: 65,536 pages, 4 GiB, the most a 32-bit
//! memory can have. The end of the last page, 2^32, is no 32-bit address, so the heap must
//! neither wrap to 0 there nor hand out a block that ends there.
//!
//! A test binary of its own: it leaves memory full, which would starve the growth tests of
//! `tests/wasm.rs`. Run with `cargo test --target wasm32-wasip1` (wasmtime runner),
//! `--target wasm32-wasip2` (wasmtime command line) and `--target wasm32-unknown-unknown`
//! (wasm-bindgen-test in Node).
#![cfg(growheap_single_thread)]

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::memory_size;
use growheap::{GrowHeap, PAGE_SIZE};

#[global_allocator]
static HEAP: GrowHeap = GrowHeap::new();

/// The most pages a 32-bit memory can have.
const MAX_PAGES: usize = 1 << 16;

unsafe extern "C" {
    /// End of the initial memory, from the linker.
    static __heap_end: u8;
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn memory_grown_to_the_end_of_the_address_space_is_all_usable() {
    let initial_pages = (&raw const __heap_end).addr() / PAGE_SIZE;
    // Blocks from 1 GiB down to 16 bytes: each size until the heap refuses it, then half of it.
    // Only the last bytes of each block are touched, so the host commits little memory.
    let mut blocks: Vec<(*mut u8, Layout)> = Vec::with_capacity(256);
    // Room for whatever the test harness and a failing assertion allocate once memory is full.
    let reserve = Layout::from_size_align(1 << 20, 16).unwrap();
    // SAFETY: the layout is non-zero; the block is freed below with it.
    let reserved = unsafe { HEAP.alloc(reserve) };
    assert!(!reserved.is_null());
    let mut size = 1 << 30;
    while size >= 16 {
        let layout = Layout::from_size_align(size, 16).unwrap();
        // SAFETY: the layout is non-zero; every block is freed below with it.
        let block = unsafe { HEAP.alloc(layout) };
        if block.is_null() {
            size /= 2;
            continue;
        }
        let end = block.addr().checked_add(size);
        assert!(end.is_some(), "a block of {size} bytes at {block:p} ends past the address space");
        // SAFETY: the block holds `size` bytes.
        unsafe { block.add(size - 1).write(0x5A) };
        blocks.push((block, layout));
    }
    // SAFETY: allocated above with this layout.
    unsafe { HEAP.dealloc(reserved, reserve) };
    let stats = HEAP.stats();
    assert_eq!(memory_size::<0>(), MAX_PAGES, "the heap stopped before memory was full: {stats:?}");
    assert_eq!(memory_size::<0>(), initial_pages + stats.pages_grown + stats.foreign_pages, "{stats:?}");
    // What the heap grew is what it handed out, but for headers, rounding and the test's own
    // allocations.
    let grown = stats.pages_grown * PAGE_SIZE;
    let handed_out = reserve.size() + blocks.iter().map(|(_, layout)| layout.size()).sum::<usize>();
    assert!(
        grown - handed_out.min(grown) < 2 * PAGE_SIZE,
        "grew {grown} bytes but handed out {handed_out}: {stats:?}"
    );
    blocks.sort_unstable_by_key(|(block, _)| block.addr());
    for pair in blocks.windows(2) {
        let ((first, layout), (second, _)) = (pair[0], pair[1]);
        assert!(first.addr() + layout.size() <= second.addr(), "{first:p} and {second:p} overlap");
    }
    for (block, layout) in blocks.drain(..) {
        // SAFETY: allocated above with this layout, and freed once.
        unsafe {
            assert_eq!(block.add(layout.size() - 1).read(), 0x5A);
            HEAP.dealloc(block, layout);
        }
    }
    // Everything is free again: a gigabyte fits without growing (memory cannot grow anyway).
    let layout = Layout::from_size_align(1 << 30, 16).unwrap();
    // SAFETY: the layout is non-zero; the block is freed with it.
    unsafe {
        let block = HEAP.alloc(layout);
        assert!(!block.is_null(), "{:?}", HEAP.stats());
        HEAP.dealloc(block, layout);
    }
    assert_eq!(HEAP.stats().pages_grown, stats.pages_grown);
}
