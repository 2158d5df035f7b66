//! random-actions, as in talc's WebAssembly benchmark (`wasm-perf` in talc's repository):
//! random allocations (sizes 1..=10000, alignment `8 << (random u16).trailing_zeros() / 2`),
//! frees of a random live block, and in the second mode reallocations of one to a random size,
//! until 100,000 actions have succeeded. Each action is drawn from 4 kinds without realloc and 5
//! with it: two allocate, two free, the fifth reallocates, so the modes make 50/50 and 40/40/20
//! of them. Below 50 live blocks the next action is an allocation. Blocks are never touched, so
//! the `floor` reference can run it too.
//!
//! As in talc's, the table of live blocks is a `Vec` taken from the allocator under test at the
//! start of each run (room for 10,000 blocks, 120,000 bytes on wasm32) and freed at its end, and
//! one generator, at fastrand's fixed default seed when the instance starts, runs on from one run
//! to the next: each run of an instance gets the next stretch of the sequence.

use alloc::vec::Vec;
use core::alloc::Layout;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Successful actions in one run.
const ACTIONS_PER_RUN: u32 = 100_000;
/// Below this many live blocks, the next action is an allocation.
const MIN_LIVE: usize = 50;
/// The live table's room when a run starts, as in talc's benchmark.
const TABLE_ROOM: usize = 10_000;
/// A run gives up after this many failed requests (an allocator out of memory).
const MAX_FAILURES: u32 = 100_000;
const MAX_SIZE: usize = 10_000;

/// The state of the instance's generator between runs (fastrand's global generator in talc's).
static GENERATOR: AtomicU64 = AtomicU64::new(crate::FASTRAND_DEFAULT_SEED);

/// Requests that got null in the latest run, timed or seeded.
static FAILURES: AtomicU32 = AtomicU32::new(0);

/// Requests that got null in the latest run, for the host: a run that did all its actions may
/// still have had some refused, each followed by another draw of the sequence.
#[unsafe(no_mangle)]
pub extern "C" fn random_actions_failures() -> u32 {
    FAILURES.load(Ordering::Relaxed)
}

/// Successful actions in one run, for the host.
#[unsafe(no_mangle)]
pub extern "C" fn random_actions_per_run() -> u32 {
    ACTIONS_PER_RUN
}

/// One run: `with_realloc` 0 = alloc+dealloc, 1 = alloc+dealloc+realloc, on the next stretch of
/// the instance's sequence. Returns the successful actions, which is fewer than
/// `random_actions_per_run()` only if the allocator ran out of memory. Every block is freed at the
/// end.
#[unsafe(no_mangle)]
pub extern "C" fn random_actions(with_realloc: u32) -> u32 {
    let mut rng = fastrand::Rng::with_seed(GENERATOR.load(Ordering::Relaxed));
    let score = run(&mut rng, with_realloc);
    GENERATOR.store(rng.get_seed(), Ordering::Relaxed);
    score
}

/// One run as [`random_actions`], on the start of another seed's sequence: the host's sweep over
/// many sequences, which tells one seed's luck from an allocator's habit. It leaves the instance's
/// generator alone.
#[unsafe(no_mangle)]
pub extern "C" fn random_actions_seeded(with_realloc: u32, seed: u32) -> u32 {
    run(&mut fastrand::Rng::with_seed(u64::from(seed)), with_realloc)
}

/// Inlined into both exports, so that the timed one keeps the generator in locals.
#[inline(always)]
fn run(rng: &mut fastrand::Rng, with_realloc: u32) -> u32 {
    let mut live: Vec<(*mut u8, Layout)> = Vec::new();
    if live.try_reserve_exact(TABLE_ROOM).is_err() {
        return 0;
    }
    let kinds = if with_realloc == 0 { 4 } else { 5 };
    let (mut score, mut failures) = (0u32, 0u32);
    while score < ACTIONS_PER_RUN && failures < MAX_FAILURES {
        let action = rng.usize(0..kinds);
        let done = if live.len() < MIN_LIVE || action < 2 {
            let size = rng.usize(1..=MAX_SIZE);
            let align = 8 << (rng.u16(..).trailing_zeros() / 2);
            let layout = Layout::from_size_align(size, align).expect("align is a power of two");
            // SAFETY: the size is not zero.
            let block = unsafe { alloc::alloc::alloc(layout) };
            !block.is_null() && keep(&mut live, block, layout)
        } else if action < 4 {
            let index = rng.usize(0..live.len());
            let (block, layout) = live.swap_remove(index);
            // SAFETY: the block is live and was allocated with `layout`.
            unsafe { alloc::alloc::dealloc(block, layout) };
            true
        } else {
            let index = rng.usize(0..live.len());
            let new_size = rng.usize(1..=MAX_SIZE);
            let (block, layout) = live[index];
            // SAFETY: the block is live with `layout`; `new_size` is not zero and, rounded up
            // to the alignment, far below `isize::MAX`.
            let moved = unsafe { alloc::alloc::realloc(block, layout, new_size) };
            if !moved.is_null() {
                let layout =
                    Layout::from_size_align(new_size, layout.align()).expect("same alignment, small size");
                live[index] = (moved, layout);
            }
            !moved.is_null()
        };
        if done {
            score += 1;
        } else {
            failures += 1;
        }
    }
    for &(block, layout) in &live {
        // SAFETY: every block in the table is live with its layout.
        unsafe { alloc::alloc::dealloc(block, layout) };
    }
    FAILURES.store(failures, Ordering::Relaxed);
    score
}

/// Put a new block in the table; when the table is full and cannot grow (an allocator out of
/// memory), free the block and say the allocation failed. talc's benchmark lets `Vec::push`
/// grow it, which no run here comes near: the live count wanders around `MIN_LIVE`.
#[inline(always)]
fn keep(live: &mut Vec<(*mut u8, Layout)>, block: *mut u8, layout: Layout) -> bool {
    if live.len() == live.capacity() && live.try_reserve(1).is_err() {
        // SAFETY: the block was just allocated with `layout` and is not kept.
        unsafe { alloc::alloc::dealloc(block, layout) };
        return false;
    }
    live.push((block, layout));
    true
}
