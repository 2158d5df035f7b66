//! `tests/wasm_full.rs` for `CompactHeap`: memory grown to the end of wasm32's address space,
//! 65,536 pages, through `CompactHeap` as the global allocator. Its growth ends a granule before
//! 2^32, as `GrowHeap`'s does, by code of its own (`CompactRaw::grow`), which this test and
//! `harness/tests/full_memory.rs` reach in a real 32-bit memory.
#![cfg(growheap_single_thread)]

mod full;

use growheap::CompactHeap;

#[global_allocator]
static HEAP: CompactHeap = CompactHeap::new();

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn memory_grown_to_the_end_of_the_address_space_is_all_usable_by_compact_heap() {
    full::fill_the_address_space(&HEAP, || HEAP.stats());
}
