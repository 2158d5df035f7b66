//! Module size in talc's method: nothing but `alloc`, `dealloc` and `realloc` (alignment 8)
//! over the allocator chosen by cargo feature. The `null` build is the baseline to subtract.
//! growheap's builds also keep its statistics: `growheap` exports a copy of them, and
//! `growheap-export` has the crate's own exports for hosts.

#![no_std]

extern crate alloc as heap;

use core::alloc::Layout;

const ALIGN: usize = 8;

/// Make `$value` (of `$type`) the global allocator.
#[allow(unused_macros, reason = "a build whose allocator is no peer may not use it")]
macro_rules! install {
    ($type:ty, $value:expr) => {
        #[global_allocator]
        static HEAP: $type = $value;
    };
}

include!("../../shared/peers.rs");

#[cfg(feature = "growheap-export")]
#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();

/// Write growheap's statistics to `out`, as [`growheap::Stats::to_snapshot`] lays them out, so
/// that the code counting them stays in the module.
///
/// # Safety
/// `out` is valid for writes of the snapshot's words and aligned for `u64`.
#[cfg(any(feature = "growheap", feature = "growheap-merge", feature = "growheap-compact"))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stats(out: *mut [u64; growheap::SNAPSHOT_WORDS]) {
    // SAFETY: the caller promises `out` is valid and aligned.
    unsafe { out.write(HEAP.stats().to_snapshot()) }
}

#[cfg(feature = "null")]
#[global_allocator]
static HEAP: Null = Null;

/// Fails every request: the baseline.
#[cfg(feature = "null")]
struct Null;

// SAFETY: it never hands out memory, so it can break no promise about memory.
#[cfg(feature = "null")]
unsafe impl core::alloc::GlobalAlloc for Null {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

fn layout(size: usize) -> Layout {
    match Layout::from_size_align(size, ALIGN) {
        Ok(layout) => layout,
        Err(_) => core::arch::wasm32::unreachable(),
    }
}

/// # Safety
/// `size` is not zero.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn alloc(size: usize) -> *mut u8 {
    // SAFETY: the caller promises a non-zero size.
    unsafe { heap::alloc::alloc(layout(size)) }
}

/// # Safety
/// `block` came from `alloc` or `realloc` with `size`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dealloc(block: *mut u8, size: usize) {
    // SAFETY: the caller promises the block is live with this size.
    unsafe { heap::alloc::dealloc(block, layout(size)) }
}

/// # Safety
/// `block` came from `alloc` or `realloc` with `size`; `new_size` is not zero.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(block: *mut u8, size: usize, new_size: usize) -> *mut u8 {
    // SAFETY: the caller promises the block is live with this size and a valid new size.
    unsafe { heap::alloc::realloc(block, layout(size), new_size) }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
