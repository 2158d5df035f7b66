//! `growheap-profile`: growheap's policy, run natively over the fake page source, where
//! callgrind can count instructions per function and many seeds run in a second.
//!
//! The wasm benchmark (`scripts/bench`) gives the figures we report, from one fixed seed. This
//! tool is for deciding a design change: its instruction counts track wasmtime fuel closely, and
//! its page means over many seeds separate a real change in fragmentation from the luck of one
//! seed. See `bench/README.md` ("Profiling natively").
//!
//! ```text
//! growheap-profile run [--realloc] [--talc | --floor] [--runs N]
//!     N runs (default 3) of random-actions on one heap, for callgrind; --talc and --floor run
//!     talc's policy and the workload floor instead of growheap. The first run is the one in
//!     which memory grows: `--runs 1` and `--runs 2` tell its instructions from a later run's
//! growheap-profile seeds [--realloc] [N]
//!     mean pages grown over N seeds (default 40)
//! growheap-profile ratchet
//!     where talc #51's ratchet puts each buffer
//! growheap-profile bench-pages
//!     pages grown after each of the wasm benchmark's six runs (warm-up and five timed) of both
//!     random-actions modes, on a heap that starts with the guest's free initial memory
//! growheap-profile growths
//!     what the heap held at each growth of random-actions
//! growheap-profile classes [N]
//!     the footprint of size classes without coalescing, over N seeds (default 40): the design
//!     that would skip list work, measured on the same sequences without building it
//! growheap-profile moves
//!     reallocs that moved their block, and the bytes they copied, for growheap and talc; and
//!     the moves among grows, among shrinks to more than half, and among shrinks to half or less
//! growheap-profile long-list
//!     the time of an allocation that no block on its free list fits, against that list's length,
//!     for growheap and talc
//! ```

mod long_list;
mod moves;

use core::alloc::{GlobalAlloc, Layout};
use growheap::source::FakePages;
use growheap::{GrowHeap, PAGE_SIZE};
use std::process::ExitCode;

/// fastrand's fixed default seed, the one the wasm benchmark uses.
const BENCH_SEED: u64 = 0x0ef6_f79e_d30b_a75a;
const ACTIONS_PER_RUN: usize = 100_000;
const MIN_LIVE: usize = 50;
const MAX_SIZE: usize = 10_000;
/// The wasm guest's table of live blocks, which it takes from the allocator at the start of each
/// run: room for 10,000 pairs of a pointer and a `Layout`, 12 bytes each on wasm32. Here it is
/// only asked for and given back, as the wasm guest's table would be; the bookkeeping itself is
/// a host `Vec`.
const TABLE: Layout = match Layout::from_size_align(120_000, 4) {
    Ok(layout) => layout,
    Err(_) => panic!("a valid layout"),
};
/// Pages the fake memory may grow to.
const FAKE_PAGES: usize = 4096;

/// One action of random-actions, as in `bench/guest/src/random_actions.rs`.
enum Action {
    Alloc(Layout),
    Free(usize),
    Realloc(usize, usize),
}

/// The next action, drawn as the wasm guest draws it: fastrand's `usize` draws are `u32` draws on
/// wasm32, and this host's would use other bits of the generator's output.
fn next_action(rng: &mut fastrand::Rng, live: usize, with_realloc: bool) -> Action {
    let mut below = |bound: usize| rng.u32(0..bound as u32) as usize;
    let kind = below(if with_realloc { 5 } else { 4 });
    if live < MIN_LIVE || kind < 2 {
        let size = 1 + below(MAX_SIZE);
        let align = 8 << (rng.u16(..).trailing_zeros() / 2);
        Action::Alloc(Layout::from_size_align(size, align).expect("power-of-two alignment"))
    } else if kind < 4 {
        Action::Free(below(live))
    } else {
        let index = below(live);
        Action::Realloc(index, 1 + below(MAX_SIZE))
    }
}

/// Run random-actions once on `heap`, on the next stretch of `rng`'s sequence, calling
/// `after_alloc` after every allocation; every block is freed at the end.
fn random_actions<H: GlobalAlloc>(
    heap: &H,
    rng: &mut fastrand::Rng,
    with_realloc: bool,
    mut after_alloc: impl FnMut(&H),
) {
    // SAFETY: the layout's size is not zero.
    let table = unsafe { heap.alloc(TABLE) };
    assert!(!table.is_null(), "out of fake memory");
    let mut live: Vec<(*mut u8, Layout)> = Vec::with_capacity(TABLE.size() / 12);
    for _ in 0..ACTIONS_PER_RUN {
        match next_action(rng, live.len(), with_realloc) {
            Action::Alloc(layout) => {
                // SAFETY: the size is not zero.
                let block = unsafe { heap.alloc(layout) };
                assert!(!block.is_null(), "out of fake memory");
                live.push((block, layout));
                after_alloc(heap);
            }
            Action::Free(index) => {
                let (block, layout) = live.swap_remove(index);
                // SAFETY: the block is live with this layout.
                unsafe { heap.dealloc(block, layout) };
            }
            Action::Realloc(index, new_size) => {
                let (block, layout) = live[index];
                // SAFETY: the block is live with this layout; the new size is small and not zero.
                let moved = unsafe { heap.realloc(block, layout, new_size) };
                assert!(!moved.is_null(), "out of fake memory");
                live[index] = (moved, Layout::from_size_align(new_size, layout.align()).expect("small size"));
            }
        }
    }
    for (block, layout) in live {
        // SAFETY: as above.
        unsafe { heap.dealloc(block, layout) };
    }
    // SAFETY: the table is live with its layout.
    unsafe { heap.dealloc(table, TABLE) };
}

/// The generator of the wasm benchmark's sequence, which an instance runs on from one run to the
/// next.
fn bench_rng() -> fastrand::Rng {
    fastrand::Rng::with_seed(BENCH_SEED)
}

/// The workload floor, as in the wasm benchmark: every request gets the same aligned buffer, and
/// realloc never moves. What it costs is the workload's own cost.
struct Floor(*mut u8);

// SAFETY: random-actions never touches its blocks, so handing every request the same buffer is
// sound for it (and only for it); the buffer holds the largest request (the table) at the largest
// alignment.
unsafe impl GlobalAlloc for Floor {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.map_addr(|a| a.next_multiple_of(layout.align()))
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    unsafe fn realloc(&self, block: *mut u8, _: Layout, _: usize) -> *mut u8 {
        block
    }
}

/// Free bytes in the bench guest's initial memory: 17 initial pages, `__heap_base` at 1,056,816
/// (the values of the growheap build's exports `memory` and `__heap_base`, read in Node). The fake
/// gets them in its one initial page. `__heap_base` moves when the heap's static changes size, and
/// the page counts can move with it: in a trial build whose static was 16 bytes smaller,
/// random-actions with realloc grew 40 pages instead of 39 after the fifth run.
const GUEST_INITIAL_FREE: usize = 17 * PAGE_SIZE - 1_056_816;
/// Runs per instance in the wasm benchmark: one warm-up, five timed.
const BENCH_RUNS: usize = 6;

fn fresh_heap() -> GrowHeap<FakePages> {
    GrowHeap::with_source(FakePages::unknown_like(FAKE_PAGES))
}

/// talc over a claimed arena: its allocation policy (wasm's binning), without `memory.grow`.
fn talc_heap() -> impl GlobalAlloc {
    let arena: &'static mut [u8] = Vec::leak(vec![0u8; FAKE_PAGES * PAGE_SIZE]);
    // SAFETY: the arena is leaked, so it outlives the allocator, and nothing else uses it.
    let claim = unsafe { talc::source::Claim::new(arena.as_mut_ptr(), arena.len()) };
    talc::cell::TalcCell::<_, talc::wasm::WasmBinning>::new(claim)
}

fn run(with_realloc: bool, talc: bool, floor: bool, runs: usize) {
    let mut rng = bench_rng();
    if floor {
        let buffer = Vec::leak(vec![0u8; TABLE.size() + PAGE_SIZE]);
        (0..runs).for_each(|_| random_actions(&Floor(buffer.as_mut_ptr()), &mut rng, with_realloc, |_| {}));
    } else if talc {
        let heap = talc_heap();
        (0..runs).for_each(|_| random_actions(&heap, &mut rng, with_realloc, |_| {}));
    } else {
        let heap = fresh_heap();
        (0..runs).for_each(|_| random_actions(&heap, &mut rng, with_realloc, |_| {}));
        println!("{}", heap.stats());
    }
}

fn seeds(with_realloc: bool, count: u64) {
    let (mut pages, mut floor) = (0.0, 0.0);
    for seed in 0..count {
        let heap = fresh_heap();
        random_actions(&heap, &mut fastrand::Rng::with_seed(seed * 7919 + 1), with_realloc, |_| {});
        let stats = heap.stats();
        pages += stats.pages_grown as f64;
        floor += stats.peak_live_bytes as f64 / PAGE_SIZE as f64;
    }
    let n = count as f64;
    println!("{count} seeds: mean pages grown {:.3}, mean peak live {:.3} pages", pages / n, floor / n);
}

/// Pages grown after each run of the benchmark's sequence, as one wasm instance runs it.
fn bench_pages() {
    for with_realloc in [false, true] {
        let heap = GrowHeap::with_source(FakePages::new(1, FAKE_PAGES, Some(PAGE_SIZE - GUEST_INITIAL_FREE)));
        let mut rng = bench_rng();
        let pages: Vec<String> = (0..BENCH_RUNS)
            .map(|_| {
                random_actions(&heap, &mut rng, with_realloc, |_| {});
                heap.stats().pages_grown.to_string()
            })
            .collect();
        let mode = if with_realloc { "alloc+dealloc+realloc" } else { "alloc+dealloc" };
        println!("{mode}: pages grown after each run: {}", pages.join(" "));
    }
}

fn ratchet() {
    let heap = GrowHeap::with_source(FakePages::wasi_like(FAKE_PAGES));
    let mut held: Option<(*mut u8, Layout)> = None;
    let mut base = None;
    for step in 0..64 {
        let layout = Layout::from_size_align((step + 1) * PAGE_SIZE - 100, 8).expect("small size");
        // SAFETY: the size is not zero.
        let block = unsafe { heap.alloc(layout) };
        assert!(!block.is_null(), "out of fake memory");
        let base = *base.get_or_insert(block.addr());
        if let Some((old, old_layout)) = held.replace((block, layout)) {
            // SAFETY: the previous buffer is live with its layout.
            unsafe { heap.dealloc(old, old_layout) };
        }
        let start = (block.addr() - base) as f64 / PAGE_SIZE as f64;
        let end = start + layout.size() as f64 / PAGE_SIZE as f64;
        println!(
            "step {step:2}: buffer at pages {start:6.2}..{end:6.2}, {} pages grown",
            heap.stats().pages_grown
        );
    }
}

fn growths() {
    let heap = fresh_heap();
    let mut grow_calls = 0;
    random_actions(&heap, &mut bench_rng(), false, |heap| {
        let stats = heap.stats();
        if stats.grow_calls != grow_calls {
            grow_calls = stats.grow_calls;
            let report = heap.validate().expect("a valid heap");
            println!(
                "{:3} pages: live {:8} B, free {:7} B in {:3} blocks, {:2} slabs",
                stats.pages_grown, stats.live_bytes, report.free_bytes, report.free_blocks, report.slabs
            );
        }
    });
}

/// The block size a size-class allocator with `per_doubling` classes per power of two would
/// use for `size` bytes: a 4-byte header, 16-byte granules, classes spaced geometrically.
fn class_bytes(size: usize, per_doubling: u32) -> usize {
    let needed = (size + 4).max(16);
    let steps = (needed as f64).log2() * f64::from(per_doubling);
    let class = 2f64.powf(steps.ceil() / f64::from(per_doubling));
    (class.ceil() as usize).next_multiple_of(16)
}

/// Footprint of size classes without coalescing: each class reuses only its own freed blocks, so
/// it holds as many blocks as it ever had live at once. Counted in bytes, before any rounding to
/// pages, and divided by the peak of live bytes: a floor for such a design.
fn classes(count: u64) {
    for per_doubling in [4, 8, 16] {
        let mut ratios = Vec::new();
        for seed in 0..count {
            let mut rng = fastrand::Rng::with_seed(seed * 7919 + 1);
            let mut live: Vec<(usize, usize)> = Vec::new();
            let (mut live_bytes, mut peak) = (0usize, 0usize);
            let mut per_class = std::collections::BTreeMap::<usize, (usize, usize)>::new();
            for _ in 0..ACTIONS_PER_RUN {
                match next_action(&mut rng, live.len(), false) {
                    Action::Alloc(layout) => {
                        let class = class_bytes(layout.size(), per_doubling);
                        live.push((layout.size(), class));
                        live_bytes += layout.size();
                        peak = peak.max(live_bytes);
                        let (now, most) = per_class.entry(class).or_default();
                        *now += 1;
                        *most = (*most).max(*now);
                    }
                    Action::Free(index) => {
                        let (size, class) = live.swap_remove(index);
                        live_bytes -= size;
                        per_class.get_mut(&class).expect("a live class").0 -= 1;
                    }
                    Action::Realloc(..) => unreachable!("the alloc+dealloc mode has no realloc"),
                }
            }
            let held: usize = per_class.iter().map(|(class, (_, most))| class * most).sum();
            ratios.push(held as f64 / peak as f64);
        }
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        let (low, high) = ratios.iter().fold((f64::MAX, 0f64), |(l, h), &r| (l.min(r), h.max(r)));
        println!(
            "{per_doubling:2} classes per doubling: footprint mean {mean:.3} (min {low:.3}, max {high:.3})"
        );
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let count = args.iter().find_map(|a| a.parse().ok()).unwrap_or(40);
    let runs = match args.iter().position(|a| a == "--runs").map(|at| args.get(at + 1).map(|n| n.parse())) {
        None => 3,
        Some(Some(Ok(runs))) => runs,
        Some(_) => {
            eprintln!("--runs needs a number");
            return ExitCode::FAILURE;
        }
    };
    match args.first().map(String::as_str) {
        Some("run") => run(flag("--realloc"), flag("--talc"), flag("--floor"), runs),
        Some("seeds") => seeds(flag("--realloc"), count),
        Some("bench-pages") => bench_pages(),
        Some("ratchet") => ratchet(),
        Some("growths") => growths(),
        Some("classes") => classes(count),
        Some("moves") => moves::moves(),
        Some("long-list") => long_list::long_list(),
        _ => {
            eprintln!(
                "usage: growheap-profile run [--realloc] [--talc | --floor] [--runs N] | seeds [--realloc] [N] | bench-pages | ratchet | growths | classes [N] | moves | long-list"
            );
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
