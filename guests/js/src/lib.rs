//! The guest of `examples/js-host`, for `wasm32-unknown-unknown`: plain C-ABI imports and
//! exports, no wasm-bindgen. Each growth of memory by the heap calls the host's `on_grow`, so the
//! host can rebuild its views of `memory.buffer` at once.

use growheap::{GrowEvent, GrowHeap};

#[link(wasm_import_module = "growheap_host")]
unsafe extern "C" {
    /// The host's hook: memory grew from `old_pages` to `new_pages`.
    safe fn on_grow(old_pages: u32, new_pages: u32);
}

fn tell_host(event: GrowEvent) {
    on_grow(event.old_pages as u32, event.new_pages as u32);
}

#[global_allocator]
static HEAP: GrowHeap = GrowHeap::new().on_grow(tell_host);

/// The byte at `index` of a block made by [`make_filled`] with `seed` (the host computes the same).
fn pattern(seed: u32, index: usize) -> u8 {
    (seed as usize + index * 7) as u8
}

/// A block of `len` bytes filled with the pattern of `seed`, owned by the host from now on:
/// free it with [`free_filled`]. Null if memory could not be had.
#[unsafe(no_mangle)]
pub extern "C" fn make_filled(len: u32, seed: u32) -> *mut u8 {
    let mut bytes: Vec<u8> = Vec::new();
    if bytes.try_reserve_exact(len as usize).is_err() {
        return core::ptr::null_mut();
    }
    bytes.extend((0..len as usize).map(|index| pattern(seed, index)));
    Box::into_raw(bytes.into_boxed_slice()).cast()
}

/// Free a block made by [`make_filled`].
///
/// # Safety
/// `block` and `len` come from one call of [`make_filled`], and the block is freed only once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_filled(block: *mut u8, len: u32) {
    let slice = core::ptr::slice_from_raw_parts_mut(block, len as usize);
    // SAFETY: the caller promises this is the boxed slice `make_filled` leaked, freed once.
    drop(unsafe { Box::from_raw(slice) });
}
