//! Filling wasm32's whole address space, shared by `tests/wasm_full.rs` (`GrowHeap`) and
//! `tests/wasm_full_compact.rs` (`CompactHeap`): each is a test binary of its own, with its heap as
//! the global allocator, since the fill leaves memory full.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::memory_size;
use growheap::{PAGE_SIZE, Stats};

/// The most pages a 32-bit memory can have.
const MAX_PAGES: usize = 1 << 16;

unsafe extern "C" {
    /// End of the initial memory, from the linker.
    static __heap_end: u8;
}

/// Grow memory to 65,536 pages through `heap`, the global allocator, whose statistics `read_stats`
/// reads, and check that all of it was usable: no block ends past the address space, the heap
/// handed out what it grew but for less than two pages, and 1 GiB fits again once everything is
/// freed, without growing.
pub fn fill_the_address_space<H: GlobalAlloc>(heap: &H, read_stats: impl Fn() -> Stats) {
    let initial_pages = (&raw const __heap_end).addr() / PAGE_SIZE;
    // Blocks from 1 GiB down to 16 bytes: each size until the heap refuses it, then half of it.
    // Only the last bytes of each block are touched, so the host commits little memory.
    let mut blocks: Vec<(*mut u8, Layout)> = Vec::with_capacity(256);
    // Room for whatever the test harness and a failing assertion allocate once memory is full.
    let reserve = Layout::from_size_align(1 << 20, 16).unwrap();
    // SAFETY: the layout is non-zero; the block is freed below with it.
    let reserved = unsafe { heap.alloc(reserve) };
    assert!(!reserved.is_null());
    let mut size = 1 << 30;
    while size >= 16 {
        let layout = Layout::from_size_align(size, 16).unwrap();
        // SAFETY: the layout is non-zero; every block is freed below with it.
        let block = unsafe { heap.alloc(layout) };
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
    unsafe { heap.dealloc(reserved, reserve) };
    let stats = read_stats();
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
            heap.dealloc(block, layout);
        }
    }
    // Everything is free again: a gigabyte fits without growing (memory cannot grow anyway).
    let layout = Layout::from_size_align(1 << 30, 16).unwrap();
    // SAFETY: the layout is non-zero; the block is freed with it.
    unsafe {
        let block = heap.alloc(layout);
        assert!(!block.is_null(), "{:?}", read_stats());
        heap.dealloc(block, layout);
    }
    assert_eq!(read_stats().pages_grown, stats.pages_grown);
}
