//! `growheap-profile moves`: how often realloc moves a block, and how many bytes it copies, for
//! growheap and for talc's policy on the same sequence. Under wasmtime 48, `memory.copy` costs
//! one unit of fuel per byte, so the copies weigh on the realloc mode's fuel as much as the
//! allocator's own work does.

use crate::{bench_rng, fresh_heap, random_actions, talc_heap};
use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

/// Counts realloc calls, the ones that moved the block, and the bytes those moves copied; and
/// calls and moves by what the call asked: to grow, to shrink to more than half, or to shrink to
/// half or less.
struct Moves<H> {
    inner: H,
    reallocs: Cell<u64>,
    moved: Cell<u64>,
    copied: Cell<u64>,
    by_kind: [(Cell<u64>, Cell<u64>); 3],
}

/// The kinds of [`Moves::by_kind`], in order.
const KINDS: [&str; 3] = ["grow", "shrink above half", "shrink to half or less"];

// SAFETY: every call is forwarded unchanged to the inner allocator; the wrapper only counts.
unsafe impl<H: GlobalAlloc> GlobalAlloc for Moves<H> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's promises are passed on as they are.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        unsafe { self.inner.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let result = unsafe { self.inner.realloc(block, layout, new_size) };
        self.reallocs.set(self.reallocs.get() + 1);
        let kind = match new_size {
            n if n > layout.size() => 0,
            n if n * 2 > layout.size() => 1,
            _ => 2,
        };
        let (calls, moves) = &self.by_kind[kind];
        calls.set(calls.get() + 1);
        if !result.is_null() && result != block {
            moves.set(moves.get() + 1);
            self.moved.set(self.moved.get() + 1);
            self.copied.set(self.copied.get() + layout.size().min(new_size) as u64);
        }
        result
    }
}

fn count<H: GlobalAlloc>(name: &str, inner: H) {
    let heap = Moves {
        inner,
        reallocs: Cell::new(0),
        moved: Cell::new(0),
        copied: Cell::new(0),
        by_kind: Default::default(),
    };
    random_actions(&heap, &mut bench_rng(), true, |_| {});
    let (reallocs, moved, copied) = (heap.reallocs.get(), heap.moved.get(), heap.copied.get());
    println!(
        "{name:<9} {reallocs} reallocs, {moved} moved ({:.1}%), {copied} bytes copied ({:.1} per action)",
        moved as f64 * 100.0 / reallocs as f64,
        copied as f64 / crate::ACTIONS_PER_RUN as f64
    );
    for ((calls, moves), kind) in heap.by_kind.iter().zip(KINDS) {
        let (calls, moves) = (calls.get(), moves.get());
        println!("  {kind:<22} {calls} calls, {moves} moved ({:.1}%)", moves as f64 * 100.0 / calls as f64);
    }
}

/// One run of random-actions with realloc, on the benchmark's seed.
pub fn moves() {
    count("growheap", fresh_heap());
    count("talc", talc_heap());
}
