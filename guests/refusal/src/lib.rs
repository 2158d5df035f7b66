//! Growth refusal: the heap may grow at most [`HEAP_MAX_PAGES`] pages, and the host may cap
//! memory lower still. Each workload returns a count the host checks; none may trap.

use core::hint::black_box;
use std::alloc::{Layout, alloc, dealloc};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The heap's own cap, in pages.
pub const HEAP_MAX_PAGES: usize = 16;

#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new().max_pages(HEAP_MAX_PAGES);

/// Each held block is one page: the heap runs out after at most `HEAP_MAX_PAGES` of them.
const BLOCK: Layout = match Layout::from_size_align(growheap::PAGE_SIZE, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("one page is a valid layout"),
};

/// More slots than the cap can ever fill, so running out of slots means growth was never refused.
const SLOTS: usize = 4 * HEAP_MAX_PAGES;

/// Addresses of held blocks; a fixed array, so holding them never allocates.
static HELD: Mutex<([usize; SLOTS], usize)> = Mutex::new(([0; SLOTS], 0));

/// How many blocks the latest [`release_held`] freed.
static LAST_RELEASED: AtomicUsize = AtomicUsize::new(0);

/// Hold page-sized blocks from `std::alloc::alloc` until it returns null; how many were had.
/// Panics if null never came.
#[unsafe(no_mangle)]
pub extern "C" fn hold_until_refused() -> i32 {
    let mut held = HELD.lock().expect("single-threaded");
    let (slots, count) = &mut *held;
    while *count < SLOTS {
        // SAFETY: the layout has a non-zero size.
        let block = unsafe { alloc(BLOCK) };
        if block.is_null() {
            return *count as i32;
        }
        // SAFETY: the block holds `BLOCK.size()` bytes owned here.
        unsafe { block.write_bytes(0x5A, BLOCK.size()) };
        slots[*count] = black_box(block).expose_provenance();
        *count += 1;
    }
    panic!("{SLOTS} pages allocated and growth was never refused");
}

/// `Vec::try_reserve` of more than the cap allows must fail without trapping: 1 when it did.
#[unsafe(no_mangle)]
pub extern "C" fn try_reserve_refused() -> i32 {
    let mut bytes: Vec<u8> = Vec::new();
    let refused = bytes.try_reserve(black_box(2 * HEAP_MAX_PAGES * growheap::PAGE_SIZE)).is_err();
    // The vector escapes, so the allocation cannot be optimised away.
    black_box(&mut bytes);
    i32::from(refused)
}

/// Free every held block; how many there were.
#[unsafe(no_mangle)]
pub extern "C" fn release_held() -> i32 {
    let mut held = HELD.lock().expect("single-threaded");
    let (slots, count) = &mut *held;
    for &address in &slots[..*count] {
        // SAFETY: each address came from `alloc(BLOCK)` in `hold_until_refused` and is freed once.
        unsafe { dealloc(std::ptr::with_exposed_provenance_mut(address), BLOCK) };
    }
    let released = *count;
    *count = 0;
    LAST_RELEASED.store(released, Ordering::Relaxed);
    released as i32
}

/// After release, the freed memory serves as many page-sized blocks as were held: each is
/// allocated, filled and checked, then all are freed. Returns how many were had (0 if none).
#[unsafe(no_mangle)]
pub extern "C" fn allocate_after_release() -> i32 {
    let wanted = LAST_RELEASED.load(Ordering::Relaxed);
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    for seed in 0..wanted {
        let mut block: Vec<u8> = Vec::new();
        if blocks.try_reserve(1).is_err() || block.try_reserve_exact(BLOCK.size()).is_err() {
            break;
        }
        block.resize(BLOCK.size(), seed as u8);
        blocks.push(black_box(block));
    }
    assert!(blocks.iter().enumerate().all(|(seed, block)| block.iter().all(|&byte| byte == seed as u8)));
    blocks.len() as i32
}
