//! The workload's own count of live bytes: a wrapper that sums `layout.size()` over live blocks
//! and keeps the peak. Only the `census` build installs it; the request sequence is the same
//! for every allocator, so the host takes peak live bytes from that build.
#![allow(dead_code)] // only the census build uses the wrapper

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Counts live bytes around an inner allocator.
pub struct Census<A>(A);

impl<A> Census<A> {
    pub const fn new(inner: A) -> Self {
        Census(inner)
    }
}

fn add_live(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn remove_live(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the inner allocator; the wrapper only counts.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Census<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's promises are passed on as they are.
        let block = unsafe { self.0.alloc(layout) };
        if !block.is_null() {
            add_live(layout.size());
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        remove_live(layout.size());
        // SAFETY: as in `alloc`.
        unsafe { self.0.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let moved = unsafe { self.0.realloc(block, layout, new_size) };
        if !moved.is_null() {
            remove_live(layout.size());
            add_live(new_size);
        }
        moved
    }
}

/// Peak live bytes since the last `census_reset` (0 in every build but `census`).
#[unsafe(no_mangle)]
pub extern "C" fn census_peak() -> u64 {
    PEAK.load(Ordering::Relaxed) as u64
}

/// Start a new peak from the bytes live now.
#[unsafe(no_mangle)]
pub extern "C" fn census_reset() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}
