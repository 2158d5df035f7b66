//! The allocator under test: one global allocator per cargo feature. `std-dlmalloc` installs
//! none, which leaves Rust's default (dlmalloc inside std). With the `metered` feature as well,
//! the allocator sits behind the host's meter (`crate::meter`); `std-dlmalloc` then installs
//! std's `System`, which is the same dlmalloc.

/// Make `$value` (of `$type`) the global allocator, behind the meter in the `metered` builds.
#[allow(unused_macros, reason = "a build whose allocator is no peer may not use it")]
macro_rules! install {
    ($type:ty, $value:expr) => {
        #[cfg(not(feature = "metered"))]
        #[global_allocator]
        static HEAP: $type = $value;

        #[cfg(feature = "metered")]
        #[global_allocator]
        static HEAP: crate::meter::Metered<$type> = crate::meter::Metered($value);
    };
}

include!("../../shared/peers.rs");

#[cfg(feature = "growheap-step4")]
install!(growheap::GrowHeap, growheap::GrowHeap::new().min_grow_pages(4));

#[cfg(feature = "growheap-step16")]
install!(growheap::GrowHeap, growheap::GrowHeap::new().min_grow_pages(16));

#[cfg(feature = "growheap-export")]
install!(growheap::GrowHeap, growheap::GrowHeap::new());

// Not through `install!`: `prepare_heap` below calls the heap itself.
#[cfg(feature = "growheap-apart")]
#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();

#[cfg(feature = "null")]
install!(crate::reference::Null, crate::reference::Null);

#[cfg(feature = "floor")]
install!(crate::reference::Floor, crate::reference::Floor);

#[cfg(feature = "census")]
install!(
    crate::census::Census<dlmalloc::GlobalDlmalloc>,
    crate::census::Census::new(dlmalloc::GlobalDlmalloc)
);

#[cfg(all(feature = "std-dlmalloc", feature = "metered"))]
install!(std::alloc::System, std::alloc::System);

/// Prepare a fresh growheap instance for the first-run measurement: grow memory now so that an
/// allocation of `bytes` will not need to grow it, as `GrowHeap::reserve` does, and with `touch`
/// also write one byte in every 4 KiB of that memory, so that the host has backed every page
/// before the first run. The bytes are written through a block of `bytes` that is freed at once:
/// the block lies at the top of the heap, so freeing it gives its memory back to fresh memory
/// and the heap is as it was, with memory grown. 1 on success, 0 if growth was refused.
#[cfg(feature = "growheap-apart")]
#[unsafe(no_mangle)]
pub extern "C" fn prepare_heap(bytes: u32, touch: u32) -> u32 {
    const PAGE_OF_HOST: usize = 4096;
    let bytes = bytes as usize;
    if touch == 0 {
        return u32::from(HEAP.reserve(bytes));
    }
    let Ok(layout) = core::alloc::Layout::from_size_align(bytes.max(1), 16) else { return 0 };
    // SAFETY: the layout's size is not zero.
    let block = unsafe { alloc::alloc::alloc(layout) };
    if block.is_null() {
        return 0;
    }
    for offset in (0..bytes).step_by(PAGE_OF_HOST) {
        // SAFETY: `offset < bytes`, inside the block; volatile, so that the writes stay.
        unsafe { block.add(offset).write_volatile(1) };
    }
    // SAFETY: allocated just above with this layout.
    unsafe { alloc::alloc::dealloc(block, layout) };
    1
}
