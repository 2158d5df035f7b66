//! Memory grown to the end of wasm32's address space: 65,536 pages, 4 GiB, the most a 32-bit
//! memory can have. The end of the last page, 2^32, is no 32-bit address, so the heap must
//! neither wrap to 0 there nor hand out a block that ends there.
//!
//! A test binary of its own: it leaves memory full, which would starve the growth tests of
//! `tests/wasm.rs`. Run with `cargo test --target wasm32-wasip1` (wasmtime runner),
//! `--target wasm32-wasip2` (wasmtime command line) and `--target wasm32-unknown-unknown`
//! (wasm-bindgen-test in Node).
#![cfg(growheap_single_thread)]

mod full;

use growheap::GrowHeap;

#[global_allocator]
static HEAP: GrowHeap = GrowHeap::new();

#[cfg_attr(target_os = "unknown", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_os = "unknown"), test)]
fn memory_grown_to_the_end_of_the_address_space_is_all_usable() {
    full::fill_the_address_space(&HEAP, || HEAP.stats());
}
