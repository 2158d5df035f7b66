//! A guest without std, so that it builds for `wasm32v1-none` as well as for
//! `wasm32-unknown-unknown`. Neither has a libc whose `malloc` owns the free space the linker
//! leaves in the initial memory, so on both the heap must serve its first blocks from there
//! without growing memory (`harness/tests/initial_memory.rs`).

#![no_std]

extern crate alloc;

use alloc::boxed::Box;
use core::hint::black_box;

#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();

/// Allocate a block of 100 bytes, keep it, and return its address.
#[unsafe(no_mangle)]
pub extern "C" fn allocate_small() -> usize {
    let block = black_box(Box::new([7u8; 100]));
    Box::leak(block).as_ptr().addr()
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
