//! The `metered` builds: the allocator under test, wrapped so that the host sees where each of
//! its calls begins and ends. The host reads the fuel left at both points, which gives the fuel
//! spent inside the allocator apart from the workload's own (`growheap-bench meter`, see
//! `bench/README.md`, "Inside the allocator").

use core::alloc::{GlobalAlloc, Layout};

/// The kind of a call, as the host counts it.
#[repr(u32)]
enum Call {
    Alloc = 0,
    AllocZeroed = 1,
    Dealloc = 2,
    Realloc = 3,
}

#[link(wasm_import_module = "meter")]
unsafe extern "C" {
    /// A call of `kind` for `size` bytes (the new size, for a realloc) begins.
    safe fn enter(kind: u32, size: usize);
    /// The call that began last ends.
    safe fn leave();
}

/// `A`, with every call between `enter` and `leave`.
pub struct Metered<A>(pub A);

// SAFETY: every call goes to `A` unchanged, with the same arguments and result.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Metered<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        enter(Call::Alloc as u32, layout.size());
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.0.alloc(layout) };
        leave();
        block
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        enter(Call::AllocZeroed as u32, layout.size());
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.0.alloc_zeroed(layout) };
        leave();
        block
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        enter(Call::Dealloc as u32, layout.size());
        // SAFETY: forwarded from the caller.
        unsafe { self.0.dealloc(block, layout) };
        leave();
    }

    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        enter(Call::Realloc as u32, new_size);
        // SAFETY: forwarded from the caller.
        let moved = unsafe { self.0.realloc(block, layout, new_size) };
        leave();
        moved
    }
}
