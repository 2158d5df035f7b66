//! growheap as the global allocator inside wasm: run with `cargo test --target wasm32-wasip1`
//! (wasmtime runner), `--target wasm32-wasip2` (a component, under the wasmtime command line)
//! and `--target wasm32-unknown-unknown` (wasm-bindgen-test in Node).
//!
//! Each test checks what the heaps return and their statistics; those that grow `HEAP` also check
//! its statistics against `memory.size`, the host's own page count.
#![cfg(growheap_single_thread)]

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::memory_size;
use core::hint::black_box;
use growheap::{CompactHeap, GrowHeap, PAGE_SIZE, Stats};

#[global_allocator]
static HEAP: GrowHeap = GrowHeap::new();

/// A second heap in the same memory, capped at 4 pages. Its pages are foreign to `HEAP`.
static CAPPED: GrowHeap = GrowHeap::new().max_pages(4);

/// A third heap, with its quick lists turned off; one test uses it. It grows four pages at once,
/// so that fresh memory is not low (at least 128 KiB) when the test frees, and the lists, if they
/// were on, would keep the freed blocks.
static MERGING: GrowHeap = GrowHeap::new().max_pages(4).min_grow_pages(4).quick_lists(false);

/// A heap that starts empty and keeps every block of the one test that uses it, so that each of
/// its requests grows memory.
static BOUNDARY: GrowHeap = GrowHeap::new();

/// A fifth and a sixth heap, on one page each; one test fills each (`fill_to_the_cap`).
static FILLED_FOR_SHRINK: GrowHeap = GrowHeap::new().max_pages(1);
static FILLED_FOR_GROW: GrowHeap = GrowHeap::new().max_pages(1);

/// A `CompactHeap` in the same memory, capped at 3 pages; one test uses it. Its pages are foreign
/// to `HEAP` too.
static COMPACT: CompactHeap = CompactHeap::new().max_pages(3);

unsafe extern "C" {
    /// End of the initial memory, from the linker.
    static __heap_end: u8;
}

fn initial_pages() -> usize {
    (&raw const __heap_end).addr() / PAGE_SIZE
}

/// After a growth by `HEAP` (and no other growth since), the host's page count is explained.
fn assert_pages_explained(stats: &Stats, capped: &Stats) {
    assert_eq!(
        memory_size::<0>(),
        initial_pages() + stats.pages_grown + capped.pages_grown + other_foreign(stats, capped),
        "memory.size vs initial + grown: {stats:?}"
    );
}

/// Foreign pages `HEAP` saw that `CAPPED` did not grow (`MERGING`'s, the filled heaps', `COMPACT`'s,
/// and libc's malloc on wasip1).
fn other_foreign(stats: &Stats, capped: &Stats) -> usize {
    stats.foreign_pages.saturating_sub(capped.pages_grown)
}

/// Allocate `bytes` that the optimizer cannot remove, touching every page.
fn touched(bytes: usize) -> Vec<u8> {
    let mut buffer = black_box(Vec::<u8>::with_capacity(bytes));
    for page in (0..bytes).step_by(4096) {
        buffer.spare_capacity_mut()[page].write(1);
    }
    black_box(buffer)
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn single_threaded_wasm_pays_for_no_lock() {
    const { assert!(!growheap::USES_LOCK) };
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn growth_is_what_the_host_sees() {
    let before = HEAP.stats();
    // More than the heap has in all: it must grow.
    let bytes = before.heap_bytes + 2 * PAGE_SIZE;
    let buffer = touched(bytes);
    let after = HEAP.stats();
    assert!(after.pages_grown > before.pages_grown, "{before:?} -> {after:?}");
    assert!(after.heap_bytes >= bytes);
    assert_pages_explained(&after, &CAPPED.stats());
    drop(buffer);
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn page_boundary_sizes_grow_at_most_k_plus_one_pages() {
    let mut held = Vec::new();
    for k in 1..=8 {
        for size in [k * PAGE_SIZE - 16, k * PAGE_SIZE, k * PAGE_SIZE + 16] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            let before = BOUNDARY.stats().pages_grown;
            // SAFETY: the size is not zero.
            let block = unsafe { BOUNDARY.alloc(layout) };
            assert!(!block.is_null(), "{size} bytes");
            let grown = BOUNDARY.stats().pages_grown - before;
            assert!(grown <= k + 1, "{size} bytes grew {grown} pages");
            // Once the heap has grown, less than a page of fresh memory is left after each
            // request (the initial memory it may claim first can hold more).
            assert!(before == 0 || grown + 1 >= k, "{size} bytes grew only {grown} pages");
            held.push((block, layout));
        }
    }
    assert!(BOUNDARY.stats().pages_grown >= 8 * 9 / 2 * 3 - 8, "{:?}", BOUNDARY.stats());
    for (block, layout) in held {
        // SAFETY: the block is live with this layout.
        unsafe { BOUNDARY.dealloc(block, layout) };
    }
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn freeing_then_allocating_again_grows_nothing() {
    let build = || -> Vec<String> {
        (0..2000).map(|i| format!("string number {i:>6} {}", "x".repeat(i % 300))).collect()
    };
    let first = black_box(build());
    drop(first);
    let grown = HEAP.stats().pages_grown;
    for _ in 0..5 {
        let again = black_box(build());
        drop(again);
    }
    assert_eq!(HEAP.stats().pages_grown, grown, "the same work again must reuse freed memory");
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn refused_growth_gives_null_then_the_heap_goes_on() {
    let big = Layout::from_size_align(5 * PAGE_SIZE, 8).unwrap();
    let small = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: layouts are non-zero; blocks are freed with the layout they were made with.
    unsafe {
        let failed = CAPPED.stats().failed_grows;
        assert!(CAPPED.alloc(big).is_null(), "5 pages exceed the cap of 4");
        assert_eq!(CAPPED.stats().failed_grows, failed + 1);
        let block = CAPPED.alloc(small);
        assert!(!block.is_null(), "a small block still fits under the cap");
        block.write_bytes(7, 100);
        CAPPED.dealloc(block, small);
    }
    // HEAP's next growth finds CAPPED's pages and counts them as foreign. Ask for more than HEAP
    // has, so that it must grow.
    let buffer = touched(HEAP.stats().heap_bytes + PAGE_SIZE);
    let (stats, capped) = (HEAP.stats(), CAPPED.stats());
    assert!(stats.foreign_pages >= capped.pages_grown, "{stats:?} vs {capped:?}");
    assert_pages_explained(&stats, &capped);
    drop(buffer);
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn without_quick_lists_two_freed_neighbours_merge_at_once() {
    let (one, two) = (Layout::from_size_align(1000, 8).unwrap(), Layout::from_size_align(1800, 8).unwrap());
    // SAFETY: layouts are non-zero; blocks are freed with the layout they were made with.
    unsafe {
        let first = MERGING.alloc(one);
        let second = MERGING.alloc(one);
        // Keeps the two away from fresh memory, which would take them back.
        let pin = MERGING.alloc(one);
        assert!(!first.is_null() && !second.is_null() && !pin.is_null());
        MERGING.dealloc(first, one);
        MERGING.dealloc(second, one);
        // With the lists on, both would wait unmerged and this block would be cut from the fresh
        // memory above `pin` (nearly four pages).
        let merged = MERGING.alloc(two);
        assert_eq!(merged, first, "the two freed neighbours serve a block neither could alone");
        assert_eq!(MERGING.stats().pages_grown, 4);
        MERGING.dealloc(merged, two);
        MERGING.dealloc(pin, one);
    }
}

/// Fill the rest of `heap`'s one page with blocks too big for the small tier, down to the last
/// bytes, so that nothing fits anywhere but in the space of the blocks the caller made. The blocks,
/// to be freed with their layouts; the page must have filled.
fn fill_to_the_cap(heap: &GrowHeap) -> Vec<(*mut u8, Layout)> {
    let mut fillers = Vec::new();
    for size in [4096, 1024, 256, 160, 136] {
        let layout = Layout::from_size_align(size, 8).unwrap();
        loop {
            // SAFETY: the layout is non-zero.
            let filler = unsafe { heap.alloc(layout) };
            if filler.is_null() {
                break;
            }
            fillers.push((filler, layout));
        }
    }
    assert!(heap.stats().failed_grows > 0, "the page never filled");
    fillers
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn at_the_cap_a_shrink_to_a_small_size_takes_room_from_its_own_block() {
    let heap = &FILLED_FOR_SHRINK;
    let (big, small) = (Layout::from_size_align(3000, 8).unwrap(), Layout::from_size_align(100, 8).unwrap());
    // SAFETY: layouts are non-zero; blocks are freed with the layout they were made with, and the
    // shrunk block with its new one.
    unsafe {
        let block = heap.alloc(big);
        assert!(!block.is_null());
        block.write_bytes(7, 3000);
        let fillers = fill_to_the_cap(heap);
        let refused = heap.stats().failed_grows;
        // What `Vec::shrink_to_fit` asks for: null here would abort the program.
        let shrunk = heap.realloc(block, big, 100);
        assert!(!shrunk.is_null(), "null at the cap although the block's own space held room");
        assert!(core::slice::from_raw_parts(shrunk, 100).iter().all(|&b| b == 7), "contents lost");
        assert_eq!(heap.stats().failed_grows, refused + 1, "one refused growth, no more");
        assert_eq!(heap.stats().pages_grown, 1);
        heap.dealloc(shrunk, small);
        for (filler, layout) in fillers {
            heap.dealloc(filler, layout);
        }
    }
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn at_the_cap_a_grow_takes_the_free_block_in_front() {
    let heap = &FILLED_FOR_GROW;
    let (front, old) = (Layout::from_size_align(2000, 8).unwrap(), Layout::from_size_align(3000, 8).unwrap());
    // SAFETY: layouts are non-zero; blocks are freed with the layout they were made with, and the
    // grown block with its new one.
    unsafe {
        let first = heap.alloc(front);
        let block = heap.alloc(old);
        assert!(!first.is_null() && !block.is_null());
        for (at, byte) in core::slice::from_raw_parts_mut(block, 3000).iter_mut().enumerate() {
            *byte = at as u8;
        }
        let fillers = fill_to_the_cap(heap);
        heap.dealloc(first, front);
        // What a `Vec` that grows asks for: null here would abort the program. The free block in
        // front and the block's own space hold it together.
        let grown = heap.realloc(block, old, 4900);
        assert_eq!(grown, first, "null at the cap although the space in front held room");
        let contents = core::slice::from_raw_parts(grown, 3000);
        assert!(contents.iter().enumerate().all(|(at, &byte)| byte == at as u8), "contents lost");
        assert_eq!(heap.stats().pages_grown, 1);
        heap.dealloc(grown, Layout::from_size_align(4900, 8).unwrap());
        for (filler, layout) in fillers {
            heap.dealloc(filler, layout);
        }
    }
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn bad_input_gets_null_not_a_trap() {
    // SAFETY: every non-null block is freed with its layout.
    unsafe {
        let zero = Layout::from_size_align(0, 1).unwrap();
        let block = HEAP.alloc(zero);
        assert!(!block.is_null());
        HEAP.dealloc(block, zero);
        for align in [1 << 16, 1 << 17, 1 << 20] {
            let layout = Layout::from_size_align(24, align).unwrap();
            let block = HEAP.alloc(layout);
            assert!(!block.is_null() && block.addr() % align == 0, "align {align}");
            HEAP.dealloc(block, layout);
        }
        // A size near `isize::MAX` (2 GiB on wasm32) and an alignment of 1 GiB, far past the cap:
        // null, with no wrap in the arithmetic (`tests/wasm_full.rs` reaches the 4 GiB end).
        let huge = Layout::from_size_align(isize::MAX as usize - PAGE_SIZE, 8).unwrap();
        assert!(CAPPED.alloc(huge).is_null());
        let huge_align = Layout::from_size_align(PAGE_SIZE, 1 << 30).unwrap();
        assert!(CAPPED.alloc(huge_align).is_null());
    }
    // The heap still works.
    assert_eq!(black_box(vec![3u8; 1000]).iter().map(|&b| b as usize).sum::<usize>(), 3000);
}

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn compact_heap_grows_what_the_host_sees_and_refuses_past_its_cap() {
    let layout = |size| Layout::from_size_align(size, 8).unwrap();
    // SAFETY: every non-null block is written within its size and freed with its layout; the
    // block in hand stays valid when a realloc returns null.
    unsafe {
        let pages_before = memory_size::<0>();
        let block = COMPACT.alloc(layout(40_000));
        assert!(!block.is_null());
        block.write_bytes(5, 40_000);
        let stats = COMPACT.stats();
        assert_eq!(memory_size::<0>() - pages_before, stats.pages_grown, "{stats:?}");
        // Growing in place at the end of memory grows only what is missing.
        let grown = COMPACT.realloc(block, layout(40_000), 2 * PAGE_SIZE + 1000);
        assert_eq!(grown, block, "the block grew where it was");
        assert_eq!(COMPACT.stats().pages_grown, 3);
        assert_eq!(memory_size::<0>() - pages_before, 3);
        // The cap refuses more: null, and the block keeps its bytes.
        assert!(COMPACT.realloc(grown, layout(2 * PAGE_SIZE + 1000), 4 * PAGE_SIZE).is_null());
        assert!(COMPACT.alloc(layout(PAGE_SIZE + 1)).is_null());
        assert!(std::slice::from_raw_parts(grown, 40_000).iter().all(|&b| b == 5));
        // The realloc asked twice (in place, then for a move), the alloc once.
        assert_eq!(COMPACT.stats().failed_grows, 3);
        // Alignment above a page, and zero sizes, inside what it holds.
        COMPACT.dealloc(grown, layout(2 * PAGE_SIZE + 1000));
        let aligned = Layout::from_size_align(100, 1 << 16).unwrap();
        let block = COMPACT.alloc(aligned);
        assert!(!block.is_null() && block.addr() % (1 << 16) == 0);
        let zero = Layout::from_size_align(0, 1).unwrap();
        let (a, b) = (COMPACT.alloc(zero), COMPACT.alloc(zero));
        assert!(!a.is_null() && !b.is_null() && a != b);
        for (block, layout) in [(a, zero), (b, zero), (block, aligned)] {
            COMPACT.dealloc(block, layout);
        }
        let stats = COMPACT.stats();
        assert_eq!((stats.pages_grown, stats.live_bytes, stats.allocations), (3, 0, 4), "{stats:?}");
        // Its three pages are one free block again, cut from the high end: a page, the page in
        // front of it, and the rest. With the page in front freed, a grow of the last page to two
        // moves down into it, although memory cannot grow.
        let page = layout(PAGE_SIZE);
        let (block, front, rest) = (COMPACT.alloc(page), COMPACT.alloc(page), COMPACT.alloc(page));
        assert!(!rest.is_null() && front.addr() + PAGE_SIZE == block.addr());
        for i in 0..PAGE_SIZE {
            block.add(i).write(i as u8);
        }
        COMPACT.dealloc(front, page);
        let moved = COMPACT.realloc(block, page, 2 * PAGE_SIZE);
        assert_eq!(moved, front, "the block moved down into the free page in front");
        assert!((0..PAGE_SIZE).all(|i| moved.add(i).read() == i as u8));
        for (block, size) in [(moved, 2 * PAGE_SIZE), (rest, PAGE_SIZE)] {
            COMPACT.dealloc(block, layout(size));
        }
        let stats = COMPACT.stats();
        assert_eq!((stats.pages_grown, stats.live_bytes, stats.reallocations), (3, 0, 2), "{stats:?}");
        assert!(stats.failed_grows > 3, "the grow was refused first: {stats:?}");
    }
}
