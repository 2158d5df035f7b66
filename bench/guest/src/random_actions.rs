//! random-actions, as in talc's WebAssembly benchmark: random allocations (sizes 1..=10000,
//! alignment `8 << (random u16).trailing_zeros() / 2`), frees of a random live block, and in the
//! second mode reallocations to a random size, until 100,000 actions have succeeded. At least 50
//! blocks stay live. Blocks are never touched, so the `floor` reference can run it too.
//!
//! The table of live blocks is a static array, not a `Vec`: the workload's bookkeeping must not
//! go through the allocator under test (the floor would hand it the shared buffer).

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::ptr;

/// Successful actions in one run.
const ACTIONS_PER_RUN: u32 = 100_000;
/// Below this many live blocks, the next action is an allocation.
const MIN_LIVE: usize = 50;
/// Room in the live table; at this many live blocks, the next allocation becomes a free.
const MAX_LIVE: usize = 8192;
/// A run gives up after this many failed requests (an allocator out of memory).
const MAX_FAILURES: u32 = 100_000;
const MAX_SIZE: usize = 10_000;

#[derive(Clone, Copy)]
struct Block {
    ptr: *mut u8,
    layout: Layout,
}

struct LiveTable(UnsafeCell<[Block; MAX_LIVE]>);

// SAFETY: the module is single-threaded; only `random_actions` touches the table, and it does
// not re-enter itself.
unsafe impl Sync for LiveTable {}

static LIVE: LiveTable =
    LiveTable(UnsafeCell::new([Block { ptr: ptr::null_mut(), layout: Layout::new::<u8>() }; MAX_LIVE]));

/// Successful actions in one run, for the host.
#[unsafe(no_mangle)]
pub extern "C" fn random_actions_per_run() -> u32 {
    ACTIONS_PER_RUN
}

/// One run: `with_realloc` 0 = alloc+dealloc, 1 = alloc+dealloc+realloc. Returns the successful
/// actions, which is fewer than `random_actions_per_run()` only if the allocator ran out of
/// memory. Every block is freed at the end.
#[unsafe(no_mangle)]
pub extern "C" fn random_actions(with_realloc: u32) -> u32 {
    run(crate::seeded_rng(), with_realloc)
}

/// One run as [`random_actions`], on the sequence of another seed: the host's sweep over many
/// sequences, which tells one seed's luck from an allocator's habit.
#[unsafe(no_mangle)]
pub extern "C" fn random_actions_seeded(with_realloc: u32, seed: u32) -> u32 {
    run(fastrand::Rng::with_seed(u64::from(seed)), with_realloc)
}

/// Inlined into both exports, so that the timed one compiles as it did before the sweep existed
/// (the generator stays in locals).
#[inline(always)]
fn run(mut rng: fastrand::Rng, with_realloc: u32) -> u32 {
    // SAFETY: single-threaded and not re-entered (see `LiveTable`), so this is the only reference.
    let live = unsafe { &mut *LIVE.0.get() };
    let kinds = if with_realloc == 0 { 2 } else { 3 };
    let (mut count, mut score, mut failures) = (0usize, 0u32, 0u32);
    while score < ACTIONS_PER_RUN && failures < MAX_FAILURES {
        let mut action = rng.u32(0..kinds);
        if count < MIN_LIVE {
            action = 0;
        } else if count == MAX_LIVE && action == 0 {
            action = 1;
        }
        let done = match action {
            0 => {
                let size = rng.usize(1..=MAX_SIZE);
                let align = 8 << (rng.u16(..).trailing_zeros() / 2);
                let layout = Layout::from_size_align(size, align).expect("align is a power of two");
                // SAFETY: the size is not zero.
                let block = unsafe { alloc::alloc::alloc(layout) };
                if !block.is_null() {
                    live[count] = Block { ptr: block, layout };
                    count += 1;
                }
                !block.is_null()
            }
            1 => {
                let index = rng.usize(0..count);
                let Block { ptr, layout } = live[index];
                count -= 1;
                live[index] = live[count];
                // SAFETY: the block is live and was allocated with `layout`.
                unsafe { alloc::alloc::dealloc(ptr, layout) };
                true
            }
            _ => {
                let index = rng.usize(0..count);
                let new_size = rng.usize(1..=MAX_SIZE);
                let Block { ptr, layout } = live[index];
                // SAFETY: the block is live with `layout`; `new_size` is not zero and, rounded up
                // to the alignment, far below `isize::MAX`.
                let moved = unsafe { alloc::alloc::realloc(ptr, layout, new_size) };
                if !moved.is_null() {
                    let layout = Layout::from_size_align(new_size, layout.align())
                        .expect("same alignment, small size");
                    live[index] = Block { ptr: moved, layout };
                }
                !moved.is_null()
            }
        };
        if done {
            score += 1;
        } else {
            failures += 1;
        }
    }
    for block in &live[..count] {
        // SAFETY: every block in the table is live with its layout.
        unsafe { alloc::alloc::dealloc(block.ptr, block.layout) };
    }
    score
}
