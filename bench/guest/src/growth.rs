//! Growth patterns, one step per call so that the host can read the memory size after each step:
//!
//! - 0 ratchet (talc #51): step `s` allocates `(s + 1)` pages less 100 bytes, then frees the
//!   previous buffer;
//! - 1 page churn: a 24-byte block pinned at step 0, then each step allocates and frees 65,520
//!   bytes;
//! - 2 wee_alloc #106: each step allocates and frees 85,196 bytes, then 80,000 bytes;
//! - 3 zeroed buffers: each step allocates a zero-filled buffer of 100,000 bytes (what
//!   `vec![0u8; 100_000]` asks for) and keeps it, as a program loading data would.
//!
//! A step returns 1, or 0 if an allocation failed. `growth_finish` frees what is still held.

use alloc::alloc::{Layout, alloc, alloc_zeroed, dealloc};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

const PAGE: usize = 65536;
const RATCHET_STEPS: u32 = 64;
const RATCHET_SHORT_OF_PAGE: usize = 100;
const CHURN_STEPS: u32 = 1000;
const CHURN_BYTES: usize = 65_520;
const PINNED_BYTES: usize = 24;
const WEE_ROUNDS: u32 = 200;
const WEE_SIZES: [usize; 2] = [85_196, 80_000];
const ZEROED_STEPS: u32 = 32;
const ZEROED_BYTES: usize = 100_000;

/// The last zeroed buffer kept; each buffer's first word points to the one kept before it.
static ZEROED: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());

/// The block held between steps (the ratchet's buffer, or churn's pinned block).
static HELD: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());
/// Its size in bytes.
static HELD_SIZE: AtomicU32 = AtomicU32::new(0);

/// Steps in `pattern` (0 if unknown).
#[unsafe(no_mangle)]
pub extern "C" fn growth_steps(pattern: u32) -> u32 {
    match pattern {
        0 => RATCHET_STEPS,
        1 => CHURN_STEPS,
        2 => WEE_ROUNDS,
        3 => ZEROED_STEPS,
        _ => 0,
    }
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).expect("small size, align 8")
}

/// Allocate `size` bytes and write their first and last byte, or null. The pointer goes through
/// `black_box`, or the compiler would drop an allocation that is freed unused.
fn touched_block(size: usize) -> *mut u8 {
    // SAFETY: the size is not zero.
    let block = core::hint::black_box(unsafe { alloc(layout(size)) });
    if !block.is_null() {
        // SAFETY: the block holds `size` bytes.
        unsafe {
            block.write(1);
            block.add(size - 1).write(1);
        }
    }
    block
}

/// Free the held block, if any.
fn release_held() {
    let held = HELD.swap(ptr::null_mut(), Ordering::Relaxed);
    if !held.is_null() {
        let size = HELD_SIZE.load(Ordering::Relaxed) as usize;
        // SAFETY: `HELD` holds a live block of `HELD_SIZE` bytes, align 8, and was just cleared.
        unsafe { dealloc(held, layout(size)) };
    }
}

fn hold(block: *mut u8, size: usize) {
    HELD.store(block, Ordering::Relaxed);
    HELD_SIZE.store(size as u32, Ordering::Relaxed);
}

/// Allocate and free `size` bytes; false if the allocation failed.
fn alloc_and_free(size: usize) -> bool {
    let block = touched_block(size);
    if !block.is_null() {
        // SAFETY: just allocated with this layout.
        unsafe { dealloc(block, layout(size)) };
    }
    !block.is_null()
}

/// Run step `step` of `pattern`.
#[unsafe(no_mangle)]
pub extern "C" fn growth_step(pattern: u32, step: u32) -> u32 {
    let ok = match pattern {
        0 => {
            let size = (step as usize + 1) * PAGE - RATCHET_SHORT_OF_PAGE;
            let bigger = touched_block(size);
            if !bigger.is_null() {
                release_held();
                hold(bigger, size);
            }
            !bigger.is_null()
        }
        1 => {
            if step == 0 {
                let pinned = touched_block(PINNED_BYTES);
                hold(pinned, PINNED_BYTES);
            }
            !HELD.load(Ordering::Relaxed).is_null() && alloc_and_free(CHURN_BYTES)
        }
        2 => WEE_SIZES.iter().all(|&size| alloc_and_free(size)),
        3 => {
            // SAFETY: the size is not zero.
            let block = unsafe { alloc_zeroed(layout(ZEROED_BYTES)) };
            if !block.is_null() {
                // SAFETY: the block holds ZEROED_BYTES, enough for a pointer at align 8.
                unsafe { block.cast::<*mut u8>().write(ZEROED.load(Ordering::Relaxed)) };
                ZEROED.store(block, Ordering::Relaxed);
            }
            !block.is_null()
        }
        _ => false,
    };
    u32::from(ok)
}

/// Free what the pattern still holds.
#[unsafe(no_mangle)]
pub extern "C" fn growth_finish() {
    release_held();
    let mut block = ZEROED.swap(ptr::null_mut(), Ordering::Relaxed);
    while !block.is_null() {
        // SAFETY: every buffer on the chain is live, holds ZEROED_BYTES at align 8, and starts
        // with the pointer to the one before it; the chain was just detached.
        unsafe {
            let before = block.cast::<*mut u8>().read();
            dealloc(block, layout(ZEROED_BYTES));
            block = before;
        }
    }
}
