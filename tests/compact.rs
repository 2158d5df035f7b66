//! `CompactHeap`'s core over the fake page source: a randomized shadow model (contents,
//! alignment, overlap, foreign pages, exact statistics, and every byte of the heap's memory
//! accounted for after every step), bad input, refused and foreign growth, the growth patterns of
//! the benchmark, shrinking blocks that move, growing blocks at the cap that move down into the
//! free block in front, and the bytes `alloc_zeroed` writes.

mod common;

use common::compact::{CheckedCompact as Model, block_bytes};
use growheap::compact::{CompactRaw, GRANULE, Limits};
use growheap::source::{FakePages, PAGE_SIZE};

/// A size from 0 to 300,000 bytes, mostly small. Under Miri, which checks every byte it touches
/// one by one, sizes stop at a few pages.
fn size(rng: &mut fastrand::Rng) -> usize {
    if cfg!(miri) {
        return [rng.usize(0..=256), rng.usize(257..=20_000)][rng.usize(0..2)];
    }
    match rng.u32(0..100) {
        0..50 => rng.usize(0..=256),
        50..85 => rng.usize(257..=10_000),
        _ => rng.usize(10_001..=300_000),
    }
}

fn align(rng: &mut fastrand::Rng) -> usize {
    match rng.u32(0..100) {
        0..80 => 1 << rng.u32(0..=3),
        80..97 => 1 << rng.u32(4..=12),
        _ => 1 << rng.u32(13..=17),
    }
}

#[test]
fn a_random_model_keeps_every_byte_and_every_count() {
    let (seeds, steps, pages) = if cfg!(miri) { (1, 200, 16) } else { (4, 4000, 4096) };
    for seed in 1..=seeds {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut model = Model::unknown_like(pages);
        for step in 0..steps {
            let live = model.live_count();
            match rng.u32(0..100) {
                0..45 => {
                    model.alloc(size(&mut rng), align(&mut rng));
                }
                45..75 if live > 0 => {
                    let ptr = model.nth_live(rng.usize(0..live)).unwrap();
                    model.dealloc(ptr);
                }
                75..95 if live > 0 => {
                    let ptr = model.nth_live(rng.usize(0..live)).unwrap();
                    model.realloc(ptr, size(&mut rng));
                }
                95..97 => model.fake().refuse_next_grows(1),
                97..98 => assert!(model.fake().grow_foreign(rng.usize(1..=3))),
                _ => {}
            }
            // Now and then start over, so that freed memory serves a fresh mix.
            if step % 1000 == 999 {
                model.free_all();
            }
        }
        model.free_all();
        assert_eq!(model.heap.source().first_trespass(), None);
        let stats = model.heap.stats();
        assert!(stats.foreign_pages > 0 && stats.failed_grows > 0, "seed {seed} tried too little: {stats:?}");
    }
}

#[test]
fn zero_sizes_get_distinct_blocks() {
    let mut model = Model::unknown_like(16);
    let blocks: Vec<_> = (0..100).map(|_| model.alloc(0, 1).unwrap()).collect();
    let distinct: std::collections::BTreeSet<_> = blocks.iter().map(|b| b.addr()).collect();
    assert_eq!(distinct.len(), 100);
    let grown = model.realloc(blocks[0], 0).unwrap();
    assert_eq!(grown, blocks[0], "a zero-size realloc keeps its block");
}

#[test]
fn an_initial_memory_with_less_than_a_granule_free_is_left_alone() {
    // Half a granule between the heap base and the end of the initial memory: nothing to claim,
    // and nothing counted in `heap_bytes` (the model checks every byte after each call).
    let base = PAGE_SIZE - GRANULE / 2;
    let mut model = Model::new(FakePages::new(1, 16, Some(base)), Some(base));
    let block = model.alloc(100, 8).unwrap();
    assert!(model.heap.source().offset_of(block) >= PAGE_SIZE, "cut from the initial memory");
    assert_eq!(model.stats().heap_bytes, model.stats().pages_grown * PAGE_SIZE);
    model.dealloc(block);
}

#[test]
fn huge_sizes_fail_once_without_growing_or_wrapping() {
    let mut model = Model::unknown_like(16);
    for size in [isize::MAX as usize - PAGE_SIZE, isize::MAX as usize - 7, usize::MAX / 4] {
        for align in [8, PAGE_SIZE, 1 << 20] {
            let size = size & !(align - 1);
            let failed = model.stats().failed_grows;
            assert_eq!(model.alloc(size, align), None);
            assert!(
                model.stats().failed_grows <= failed + 1,
                "{size} at {align}: more than one growth failed"
            );
            assert_eq!(model.alloc_zeroed(size, align), None, "zeroed: {size} at {align}");
        }
    }
    assert_eq!(model.heap.stats().pages_grown, 0);
    let block = model.alloc(100, 8).unwrap();
    assert_eq!(model.realloc(block, isize::MAX as usize - 15), None, "the block stays where it is");
    model.dealloc(block);
}

#[test]
fn alignments_above_a_page_are_kept_and_their_gaps_reused() {
    let mut model = Model::unknown_like(64);
    let big = model.alloc(100, 1 << 17).unwrap();
    assert_eq!(big.addr() % (1 << 17), 0);
    let pages = model.heap.stats().pages_grown;
    // The gap in front of the aligned block serves small requests without growing.
    for _ in 0..100 {
        model.alloc(200, 8).unwrap();
    }
    assert_eq!(model.heap.stats().pages_grown, pages);
    model.free_all();
}

#[test]
fn refused_growth_gives_null_once_then_recovers() {
    let mut model = Model::wasi_like(8);
    model.fake().refuse_next_grows(1);
    assert_eq!(model.alloc(1000, 8), None);
    assert_eq!(model.heap.source().refused_grows(), 1, "one attempt, no loop");
    let block = model.alloc(1000, 8).expect("the next growth is allowed");
    // The host's cap refuses too: null, and the block in hand stays intact.
    assert_eq!(model.alloc(8 * PAGE_SIZE, 8), None);
    assert_eq!(model.realloc(block, 8 * PAGE_SIZE), None);
    model.dealloc(block);
}

#[test]
fn the_page_cap_refuses_past_it() {
    let mut model = Model::unknown_like(64);
    model.heap.set_limits(Limits { max_pages: 3, ..model.heap.limits() });
    let block = model.alloc(3 * PAGE_SIZE - 4096, 8).unwrap();
    let pages = model.heap.stats().pages_grown;
    assert_eq!(model.alloc(2 * PAGE_SIZE, 8), None);
    assert_eq!(model.heap.source().refused_grows(), 0, "the cap refused before the host was asked");
    model.dealloc(block);
    assert!(model.alloc(2 * PAGE_SIZE, 8).is_some(), "freed memory serves without growing");
    assert_eq!(model.heap.stats().pages_grown, pages);
}

#[test]
fn min_grow_pages_cuts_grow_calls_and_wastes_less_than_a_step() {
    let grown = |min_grow_pages| {
        let mut model = Model::wasi_like(256).min_grow_pages(min_grow_pages);
        for _ in 0..200 {
            model.alloc(3000, 8).unwrap();
        }
        model.stats()
    };
    let (one, sixteen) = (grown(1), grown(16));
    assert_eq!(one.grow_calls, 10, "{one}");
    assert!(sixteen.grow_calls * 4 <= one.grow_calls, "{one}\n{sixteen}");
    assert!(sixteen.pages_grown < one.pages_grown + 16, "{one}\n{sixteen}");
}

#[test]
fn a_step_the_host_refuses_falls_back_to_the_pages_needed() {
    let mut model = Model::wasi_like(8).min_grow_pages(1000);
    assert!(model.alloc(1000, 8).is_some());
    let stats = model.stats();
    assert_eq!((stats.failed_grows, stats.pages_grown, stats.grow_calls), (1, 1, 1), "{stats}");
    // A cap below the step: the heap grows what the cap leaves.
    let mut capped = Model::wasi_like(64).min_grow_pages(16);
    capped.heap.set_limits(Limits { max_pages: 5, ..capped.heap.limits() });
    assert!(capped.alloc(1000, 8).is_some());
    assert_eq!((capped.stats().pages_grown, capped.stats().failed_grows), (5, 0));
}

#[test]
fn reserve_grows_ahead_so_the_allocation_does_not() {
    for mut model in [Model::unknown_like(64), Model::wasi_like(64)] {
        assert!(model.reserve(5 * PAGE_SIZE));
        let grown = model.stats().grow_calls;
        assert!(grown > 0);
        let block = model.alloc(5 * PAGE_SIZE, 8).unwrap();
        assert_eq!(model.stats().grow_calls, grown, "the reserved room served");
        model.dealloc(block);
        assert!(model.reserve(4 * PAGE_SIZE), "a free block holds it already");
        assert_eq!(model.stats().grow_calls, grown, "so nothing grew");

        let now = model.fake().pages().0;
        model.fake().set_max_pages(now);
        let failed = model.stats().failed_grows;
        assert!(!model.reserve(10 * PAGE_SIZE), "a refused growth makes reserve false");
        assert_eq!(model.stats().failed_grows, failed + 1);
        assert!(!model.reserve(usize::MAX), "more than any layout: false, and no growth asked");
        assert_eq!(model.stats().failed_grows, failed + 1);
    }
}

#[test]
fn foreign_pages_are_counted_and_never_touched() {
    let mut model = Model::wasi_like(64);
    let first = model.alloc(40_000, 8).unwrap();
    assert!(model.fake().grow_foreign(2));
    let second = model.alloc(40_000, 8).unwrap();
    assert_eq!(model.heap.stats().foreign_pages, 2);
    model.dealloc(first);
    model.dealloc(second);
    // Two runs of memory, one free block each: they never merge across the foreign pages.
    assert_eq!(model.heap.validate().unwrap().blocks, 2);
    assert_eq!(model.fake().first_trespass(), None, "the heap wrote into the foreign pages");
}

/// Another thread grows memory between the heap's look at where memory ends and its growth
/// ([`FakePages::race_next_grow`]): the pages planned to extend the last free block land past
/// the other thread's, and the heap grows again instead of returning null.
#[test]
fn an_allocation_whose_growth_loses_a_race_grows_again() {
    let mut model = Model::unknown_like(64);
    model.fake().race_next_grow(1);
    let block = model.alloc(100_000, 8).expect("room under the cap");
    let stats = model.heap.stats();
    assert_eq!((stats.grow_calls, stats.failed_grows, stats.foreign_pages), (2, 0, 1));
    // A block that grows in place at the end of memory moves instead when it loses the race.
    model.fake().race_next_grow(1);
    let moved = model.realloc(block, 300_000).expect("room under the cap");
    assert_ne!(moved, block);
    assert_eq!(model.heap.stats().foreign_pages, 2);
    model.free_all();
}

#[test]
fn after_freeing_everything_one_block_fills_each_run_without_growing() {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut model = Model::unknown_like(256);
    for _ in 0..2000 {
        if model.live_count() < 40 || rng.bool() {
            model.alloc(rng.usize(1..=10_000), 8).unwrap();
        } else {
            let ptr = model.nth_live(rng.usize(0..model.live_count())).unwrap();
            model.dealloc(ptr);
        }
    }
    model.free_all();
    let report = model.heap.validate().unwrap();
    assert_eq!(report.blocks, 1, "one run of memory, one free block");
    let pages = model.heap.stats().pages_grown;
    let whole = model.alloc(report.bytes, 8).unwrap();
    assert_eq!(model.heap.stats().pages_grown, pages);
    model.dealloc(whole);
}

/// Pages grown by a loop of `steps`, each allocating `size(step)` bytes, then freeing the block
/// of the step before.
fn pages_for_ratchet(steps: usize, size: impl Fn(usize) -> usize) -> usize {
    let mut model = Model::wasi_like(4096);
    let mut previous = None;
    for step in 0..steps {
        let block = model.alloc(size(step), 8).unwrap();
        if let Some(previous) = previous.replace(block) {
            model.dealloc(previous);
        }
    }
    model.heap.stats().pages_grown
}

#[test]
fn the_growth_patterns_of_the_benchmark_stay_within_their_targets() {
    // talc #51's ratchet: about a page more per step. The benchmark's target is 171 pages for
    // its own sequence; a buffer that grew by copy alone would need 64 * 65 / 2 = 2080.
    let ratchet = pages_for_ratchet(64, |step| (step + 1) * PAGE_SIZE + 1000);
    assert!(ratchet <= 171, "ratchet grew {ratchet} pages");
    // wee_alloc #106: 85,196 then 80,000 bytes, alloc and free, again and again.
    let mut model = Model::wasi_like(64);
    for round in 0..200 {
        for size in [85_196, 80_000] {
            let block = model.alloc(size, 8).unwrap();
            model.dealloc(block);
        }
        if round == 0 {
            assert_eq!(model.heap.stats().pages_grown, 2);
        }
    }
    assert_eq!(model.heap.stats().pages_grown, 2, "grew after the first round");
}

#[test]
fn a_buffer_that_doubles_by_realloc_grows_in_place_at_the_end_of_memory() {
    // Like `Vec::push`: a buffer doubling from 8 bytes to 8 MiB, with small blocks allocated in
    // between. Moved at each doubling, it would need about twice its final size.
    let mut model = Model::wasi_like(512);
    let mut buffer = model.alloc(8, 8).unwrap();
    let mut size = 8;
    while size < 8 << 20 {
        model.alloc(24, 8).unwrap();
        buffer = model.realloc(buffer, 2 * size).unwrap();
        size *= 2;
    }
    let pages = model.heap.stats().pages_grown;
    assert!(pages <= (8 << 20) / PAGE_SIZE + 1, "{pages} pages for an 8 MiB buffer");
}

#[test]
fn a_shrinking_block_moves_into_a_smaller_hole_or_else_stays() {
    let mut model = Model::wasi_like(16);
    let blocks: Vec<_> = (0..4).map(|_| model.alloc(1024, 8).unwrap()).collect();
    let big = model.alloc(8192, 8).unwrap();
    // A hole of 1,024 bytes between two live blocks, where no other free block is that small.
    let hole = blocks[2];
    model.dealloc(hole);
    let moved = model.realloc(big, 1000).unwrap();
    assert!(
        (hole.addr()..hole.addr() + 1024).contains(&moved.addr()),
        "{moved:p} is not in the hole at {hole:p}"
    );
    // No free block is now both large enough and smaller than the block: it shrinks in place.
    assert_eq!(model.realloc(moved, 500), Some(moved));
    // So does a block the same size after rounding to granules.
    assert_eq!(model.realloc(moved, 505), Some(moved));
    model.free_all();
}

/// A compact heap capped at one page and used to the byte, cut from the end of memory down: 200
/// bytes in use at the end, a block of 3,000 bytes at `align` (any gap its alignment leaves behind
/// it stays free), 2,000 bytes in use in front of it, and a block that fills the rest. Returns the
/// model, the 2,000 bytes, the block and the 200 bytes.
fn capped_heap_filled_from_the_end(align: usize) -> (Model, *mut u8, *mut u8, *mut u8) {
    let mut model = Model::wasi_like(64);
    model.heap.set_limits(Limits { max_pages: 1, ..model.heap.limits() });
    // The first block grows the page and takes its low end; the next ones come from the high end
    // of the free block, each touching the one cut before it.
    model.alloc(8, 8).unwrap();
    let behind = model.alloc(200, 8).unwrap();
    let block = model.alloc(3000, align).unwrap();
    let front = model.alloc(2000, 8).unwrap();
    assert_eq!(front.addr() + 2000, block.addr());
    model.alloc(model.validate().largest, 8).unwrap();
    let gap = behind.addr() - (block.addr() + block_bytes(3000));
    assert_eq!(model.validate().bytes, gap, "only the gap behind the block is free");
    (model, front, block, behind)
}

#[test]
fn at_the_cap_a_grow_moves_down_into_the_free_block_in_front() {
    // The space runs from the free block in front, at the block's alignment, to the end of the
    // block or of the free block behind it. The largest size that fits moves there, and one byte
    // more is null; so is a grow with no free block in front. A smaller grow leaves a tail free,
    // which held the block's old bytes: `alloc_zeroed` must clear them.
    for (align, behind_free, tail) in
        [(8, false, 0), (8, false, 64), (8, true, 0), (8, true, 64), (256, false, 0), (256, true, 64)]
    {
        let case = format!("align {align}, block behind free: {behind_free}, tail {tail}");
        let (mut model, front, block, behind) = capped_heap_filled_from_the_end(align);
        let end = if behind_free {
            model.dealloc(behind);
            behind.addr() + block_bytes(200)
        } else {
            behind.addr()
        };
        let at = front.addr().next_multiple_of(align.max(GRANULE));
        let fits = end - at;
        assert_eq!(model.realloc(block, fits), None, "{case}: no free block in front");
        model.dealloc(front);
        assert_eq!(model.realloc(block, fits + 1), None, "{case}: one byte past the space");
        let grown = model.realloc(block, fits - tail).unwrap_or_else(|| panic!("{case}: null"));
        assert_eq!(grown.addr(), at, "{case}");
        assert_eq!(model.validate().bytes, at - front.addr() + tail, "{case}: gap in front and tail free");
        if tail > 0 {
            let zeroed = model.alloc_zeroed(tail, 8).unwrap();
            assert_eq!(zeroed.addr(), at + fits - tail, "{case}: the tail");
        }
        model.free_all();
    }
}

/// A compact heap whose fake pages come back filled with 0xAB instead of zeros, breaking the
/// source's promise on purpose: every byte of a zeroed block that still holds 0xAB is one the heap
/// left to the pages.
fn lying_heap() -> CompactRaw<FakePages> {
    let mut fake = FakePages::wasi_like(16);
    // SAFETY: the test reads zeroed blocks only as bytes.
    unsafe { fake.fill_grown_pages_with(0xAB) };
    CompactRaw::new(fake, Limits::NONE)
}

/// How many leading bytes of the block are zero, and whether all the rest hold 0xAB.
///
/// # Safety
/// `block` is live for `size` bytes, all of them initialised.
unsafe fn zeroed_prefix(block: *mut u8, size: usize) -> (usize, bool) {
    assert!(!block.is_null(), "allocation failed");
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { std::slice::from_raw_parts(block, size) };
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    (zeros, bytes[zeros..].iter().all(|&b| b == 0xAB))
}

#[test]
fn alloc_zeroed_writes_only_over_memory_that_held_something() {
    let mut heap = lying_heap();
    // SAFETY: the fake memory is used only through this heap; every byte read was written by the
    // fake or the heap.
    unsafe {
        // Cut from pages just grown: only the granule where a free block's header may lie.
        let fresh = heap.alloc_zeroed(20_000, 8);
        assert_eq!(zeroed_prefix(fresh, 20_000), (GRANULE, true));
        // Reused memory is zeroed whole: this block is cut from the free rest of the page, at its
        // high end, where the one before it was.
        let used = heap.alloc(20_000, 8);
        used.write_bytes(0x55, 20_000);
        heap.dealloc(used, 20_000);
        let reused = heap.alloc_zeroed(20_000, 8);
        assert_eq!(reused, used);
        assert_eq!(zeroed_prefix(reused, 20_000).0, 20_000);
        reused.write_bytes(0x55, 20_000);
        heap.dealloc(reused, 20_000);
        // A block that starts in the free end of the page and runs into pages grown for it: the
        // old part and the first granule of the new pages are zeroed, the rest is left.
        let tail = PAGE_SIZE - 20_000;
        let straddling = heap.alloc_zeroed(tail + 30_000, 8);
        assert_eq!(straddling, fresh.wrapping_add(20_000));
        assert_eq!(zeroed_prefix(straddling, tail + 30_000), (tail + GRANULE, true));
    }
}
