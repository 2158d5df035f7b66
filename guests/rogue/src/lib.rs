//! A guest that misbehaves on purpose: the harness must report each of these as a failure.

use core::arch::wasm32;
use core::hint::black_box;

#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();

/// Pages grown behind the heap's back by [`grow_behind_heap`].
const ROGUE_PAGES: usize = 2;

/// Allocate a little (the heap is coherent), then grow memory directly with `memory.grow`:
/// memory now has pages that neither the heap's statistics nor the host account for.
#[unsafe(no_mangle)]
pub extern "C" fn grow_behind_heap() -> i32 {
    black_box(vec![1u8; 4096]);
    let old = wasm32::memory_grow::<0>(ROGUE_PAGES);
    assert_ne!(old, usize::MAX, "the rogue growth was refused");
    ROGUE_PAGES as i32
}

/// Write one byte into the last page of memory, which this module does not own: when the host
/// has grown pages, they are the last ones.
#[unsafe(no_mangle)]
pub extern "C" fn write_into_last_page() -> i32 {
    let last_byte = wasm32::memory_size::<0>() * growheap::PAGE_SIZE - 1;
    let target: *mut u8 = core::ptr::with_exposed_provenance_mut(last_byte);
    // SAFETY: the address is below `memory.size`, so the store is in bounds and cannot trap.
    // Nothing in this module owns that byte: overwriting foreign memory is this guest's purpose.
    unsafe { target.write_volatile(0) };
    1
}

/// A plain allocation that grows memory, for a session to check before misbehaving.
#[unsafe(no_mangle)]
pub extern "C" fn allocate_megabyte() -> i32 {
    let block = black_box(vec![7u8; 1 << 20]);
    i32::from(block.iter().all(|&byte| byte == 7))
}
