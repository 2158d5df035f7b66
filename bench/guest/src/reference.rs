//! The two reference allocators: `Null` fails every request (the size baseline), and `Floor`
//! hands every request the same static buffer (the cost of the workload itself).
#![allow(dead_code)] // each build installs at most one of them

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;

/// Fails every request.
pub struct Null;

// SAFETY: it never hands out memory, so it can break no promise about memory.
unsafe impl GlobalAlloc for Null {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        ptr::null_mut()
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

/// The largest request random-actions makes: its table of live blocks, room for 10,000 pairs of
/// a pointer and a `Layout` (12 bytes each on wasm32), rounded up to a page.
const FLOOR_BYTES: usize = 128 * 1024;
/// The largest alignment random-actions asks for: `8 << (16 / 2)`.
const FLOOR_ALIGN: usize = 2048;

#[repr(C, align(2048))]
struct FloorBuffer(UnsafeCell<[u8; FLOOR_BYTES]>);

// SAFETY: nobody reads or writes the buffer through this type; it only lends its address.
unsafe impl Sync for FloorBuffer {}

static FLOOR_BUFFER: FloorBuffer = FloorBuffer(UnsafeCell::new([0; FLOOR_BYTES]));
const _: () = assert!(core::mem::align_of::<FloorBuffer>() == FLOOR_ALIGN);

/// Hands every request the same aligned static buffer and never moves on realloc. Blocks
/// overlap, so only a workload that never touches its blocks (random-actions) may run on it.
pub struct Floor;

// SAFETY: not a real allocator: every block aliases the same buffer. It is installed only in the
// `floor` build, and the host runs only random-actions there, which never reads or writes its
// blocks. Requests it cannot honour (too large, too aligned) get null.
unsafe impl GlobalAlloc for Floor {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() <= FLOOR_BYTES && layout.align() <= FLOOR_ALIGN {
            FLOOR_BUFFER.0.get().cast()
        } else {
            ptr::null_mut()
        }
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}

    unsafe fn realloc(&self, block: *mut u8, _: Layout, new_size: usize) -> *mut u8 {
        if new_size <= FLOOR_BYTES { block } else { ptr::null_mut() }
    }
}
