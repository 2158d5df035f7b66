//! Fuzz both cores (`GrowHeap`'s, then `CompactHeap`'s, on the same input) over the fake page
//! source. The body is shared with `tests/fuzz_seeded.rs`: alloc, alloc_zeroed, dealloc, realloc,
//! reserve, refused growth, foreign growth, cap and lift, with contents, alignment, overlap,
//! statistics and the validator checked after every action.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::actions::run(data));
