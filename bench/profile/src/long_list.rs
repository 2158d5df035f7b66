//! `growheap-profile long-list`: the cost of an allocation against the length of the free list
//! it is looked for on.
//!
//! Free blocks of 4,100 bytes, kept apart by live 200-byte blocks, fill one list of growheap's
//! free index; then blocks of 4,200 bytes are allocated, which none of them fits and which fresh
//! memory, reserved ahead, holds. Nothing on the list can serve them, so their cost should not
//! depend on how long it is. Wall-clock time, the median of five rounds: a comparison within one
//! run, not a figure to carry elsewhere.

use crate::{fresh_heap, talc_heap};
use core::alloc::{GlobalAlloc, Layout};
use std::time::Instant;

const FREED: Layout = layout(4100);
const SEPARATOR: Layout = layout(200);
const ASKED: Layout = layout(4200);
const ALLOCATIONS: usize = 5000;
const ROUNDS: usize = 5;

const fn layout(size: usize) -> Layout {
    match Layout::from_size_align(size, 8) {
        Ok(layout) => layout,
        Err(_) => panic!("a valid layout"),
    }
}

/// Nanoseconds per allocation of `ASKED` on a fresh heap after `holes` blocks of `FREED` were
/// freed between live separators.
fn nanos_per_allocation<H: GlobalAlloc>(heap: H, holes: usize) -> f64 {
    // SAFETY: every layout has a non-zero size; each block is freed at most once, with its
    // layout.
    unsafe {
        let freed: Vec<_> = (0..holes).map(|_| (heap.alloc(FREED), heap.alloc(SEPARATOR))).collect();
        assert!(freed.iter().all(|(block, separator)| !block.is_null() && !separator.is_null()));
        freed.iter().for_each(|&(block, _)| heap.dealloc(block, FREED));
        // Memory for all of them, so that no growth is timed: one block, written over so that the
        // host's page faults are not timed either, and freed.
        let room = layout(ALLOCATIONS * (ASKED.size() + 16));
        let reserved = heap.alloc(room);
        assert!(!reserved.is_null(), "out of fake memory");
        reserved.write_bytes(1, room.size());
        heap.dealloc(reserved, room);
        let start = Instant::now();
        for _ in 0..ALLOCATIONS {
            assert!(!heap.alloc(ASKED).is_null(), "out of fake memory");
        }
        start.elapsed().as_nanos() as f64 / ALLOCATIONS as f64
    }
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

pub fn long_list() {
    println!("free blocks on the list | growheap ns per allocation | talc ns per allocation");
    for holes in [0, 10, 100, 1000, 5000] {
        let growheap = median((0..ROUNDS).map(|_| nanos_per_allocation(fresh_heap(), holes)).collect());
        let talc = median((0..ROUNDS).map(|_| nanos_per_allocation(talc_heap(), holes)).collect());
        println!("{holes:>23} | {growheap:>26.1} | {talc:>22.1}");
    }
}
