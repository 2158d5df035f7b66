//! The bad-input matrix: each case must give null or a clean success, never a trap, a wrap or
//! corruption, and the heap must keep working afterwards. Every case runs over both kinds of
//! start (with and without an initial free region), natively and, with the rest of `tests/`,
//! as 32-bit wasm under `cargo test --target wasm32-wasip1`.

mod common;

use common::Checked;
use growheap::PAGE_SIZE;
use growheap::raw::Limits;
use growheap::source::FakePages;
use std::alloc::Layout;

/// Only layouts that `Layout` accepts can reach an allocator.
fn valid(size: usize, align: usize) -> bool {
    Layout::from_size_align(size, align).is_ok()
}

/// Sizes at the edge of the address space: half of it, and within a page of 4 GiB.
const HUGE: [usize; 5] = [
    usize::MAX / 2,
    isize::MAX as usize - 8,
    u32::MAX as usize - 15,
    u32::MAX as usize - (PAGE_SIZE - 1),
    u32::MAX as usize / 2 + 1,
];

struct Case {
    name: &'static str,
    run: fn(&mut Checked),
}

const CASES: &[Case] = &[
    Case {
        name: "size 0 gives distinct, freeable blocks",
        run: |heap| {
            let a = heap.alloc(0, 1).unwrap();
            let b = heap.alloc(0, 8).unwrap();
            assert_ne!(a, b);
            heap.dealloc(a);
            heap.dealloc(b);
        },
    },
    Case {
        name: "huge sizes give null",
        run: |heap| {
            for size in HUGE.into_iter().filter(|&s| valid(s, 8)) {
                assert!(heap.alloc(size, 8).is_none(), "{size}");
                assert!(heap.alloc_zeroed(size, 8).is_none(), "{size}");
            }
        },
    },
    Case {
        name: "the largest sizes a layout allows, at each alignment, give null",
        run: |heap| {
            // `Layout` allows a size while it plus `align - 1` stays within `isize::MAX`: with the
            // heap's header and rounding added, these must not wrap (on wasm32 too, where they
            // are 2 GiB).
            for shift in [3, 4, 12, 16, 20, 28] {
                let align = 1usize << shift;
                let largest = isize::MAX as usize - (align - 1);
                for size in [largest, largest - 1, largest - PAGE_SIZE] {
                    assert!(valid(size, align), "{size} at 2^{shift}");
                    assert!(heap.alloc(size, align).is_none(), "{size} at 2^{shift}");
                    assert!(heap.alloc_zeroed(size, align).is_none(), "zeroed: {size} at 2^{shift}");
                }
            }
        },
    },
    Case {
        name: "alignments 2^16 to 2^31: aligned blocks or null, also zeroed and reallocated",
        run: |heap| {
            for shift in 16..usize::BITS.min(32) {
                let align = 1usize << shift;
                if !valid(100, align) {
                    continue;
                }
                // The fake's 64 pages hold a block aligned to 2^20 at most.
                let fits = align <= 1 << 20;
                if let Some(block) = heap.alloc(100, align) {
                    let grown = heap.realloc(block, 5000).expect("a grow in place or a move");
                    let shrunk = heap.realloc(grown, 50).expect("a shrink");
                    heap.dealloc(shrunk);
                } else {
                    assert!(!fits, "null at 2^{shift}");
                }
                match heap.alloc_zeroed(100, align) {
                    Some(block) => heap.dealloc(block),
                    None => assert!(!fits, "zeroed: null at 2^{shift}"),
                }
            }
        },
    },
    Case {
        name: "realloc to 0 and back",
        run: |heap| {
            let block = heap.alloc(5000, 16).unwrap();
            let block = heap.realloc(block, 0).unwrap();
            let block = heap.realloc(block, 300).unwrap();
            heap.dealloc(block);
        },
    },
    Case {
        name: "realloc to huge sizes gives null and keeps the block",
        run: |heap| {
            for start in [40, 5000] {
                let block = heap.alloc(start, 8).unwrap();
                for size in HUGE.into_iter().filter(|&s| valid(s, 8)) {
                    assert!(heap.realloc(block, size).is_none(), "{start} -> {size}");
                }
                heap.dealloc(block);
            }
        },
    },
    Case {
        name: "reserve of huge sizes is refused",
        run: |heap| {
            for size in HUGE {
                assert!(!heap.reserve(size), "{size}");
            }
        },
    },
];

fn starts(limits: Limits) -> [Checked; 2] {
    [Checked::new(FakePages::unknown_like(64), limits), Checked::new(FakePages::wasi_like(64), limits)]
}

/// After a case: the heap still serves blocks, and everything freed is whole again.
fn still_works(heap: &mut Checked) {
    let block = heap.alloc(PAGE_SIZE, 8).expect("the heap still works");
    heap.dealloc(block);
    heap.free_all();
    heap.check_reuse_after_free_all();
}

#[test]
fn every_case_gives_null_or_success_and_the_heap_goes_on() {
    for case in CASES {
        for mut heap in starts(Limits::NONE) {
            // A block that lives through the case must come out intact.
            let witness = heap.alloc(777, 8).unwrap();
            (case.run)(&mut heap);
            heap.verify_all();
            heap.dealloc(witness);
            still_works(&mut heap);
            eprintln!("ok: {}", case.name);
        }
    }
}

#[test]
fn max_pages_zero_refuses_growth_but_uses_the_initial_space() {
    let [mut with_initial, mut without] = starts(Limits { max_pages: 0, min_grow_pages: 1 });
    assert!(with_initial.alloc(1000, 8).is_some(), "the initial free region needs no growth");
    assert!(with_initial.alloc(2 * PAGE_SIZE, 8).is_none());
    assert!(without.alloc(16, 8).is_none(), "no initial region and no growth allowed");
    assert_eq!(without.stats().failed_grows, 1);
    assert_eq!(without.stats().pages_grown, 0);
}

#[test]
fn min_grow_pages_above_the_memory_maximum_falls_back_to_what_is_needed() {
    for mut heap in starts(Limits { max_pages: usize::MAX, min_grow_pages: 1 << 20 }) {
        let block = heap.alloc(3 * PAGE_SIZE, 8).expect("the heap asks again for what it needs");
        assert!(heap.stats().pages_grown <= 4);
        heap.dealloc(block);
        still_works(&mut heap);
    }
}

/// One seeded run of mixed work, checked throughout; returns how many growths it asked for.
fn mixed_run(heap: &mut Checked, seed: u64) -> usize {
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..400 {
        let live = heap.live_count();
        match rng.u32(0..10) {
            0..5 => drop(heap.alloc(rng.usize(0..3 * PAGE_SIZE), 1 << rng.u32(0..=13))),
            5..8 if live > 0 => {
                let block = heap.nth_live(rng.usize(0..live)).unwrap();
                heap.dealloc(block);
            }
            8..10 if live > 0 => {
                let block = heap.nth_live(rng.usize(0..live)).unwrap();
                heap.realloc(block, rng.usize(0..2 * PAGE_SIZE));
            }
            _ => {}
        }
    }
    heap.stats().grow_calls as usize + heap.stats().failed_grows as usize
}

#[test]
fn growth_refused_at_every_point_of_a_long_run() {
    let fresh = || Checked::new(FakePages::wasi_like(1024), Limits::NONE);
    let attempts = mixed_run(&mut fresh(), 42);
    assert!(attempts > 10, "the run must grow often to be worth refusing");
    for k in 0..attempts {
        let mut heap = fresh();
        heap.validate_each_step = k % 4 == 0;
        heap.fake().refuse_grow_call(k);
        mixed_run(&mut heap, 42);
        assert!(heap.stats().failed_grows >= 1, "growth number {k} was refused");
        heap.validate();
        heap.free_all();
        heap.check_reuse_after_free_all();
    }
}
