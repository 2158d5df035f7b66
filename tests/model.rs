//! The randomized shadow-model test: 300,000 operations over six seeds (and 10,000 more under a
//! tight cap), every block filled and verified, statistics compared with the model after every
//! step, the validator run after every step.

mod common;

use common::Checked;
use growheap::raw::Limits;
use growheap::source::FakePages;

/// A size from 0 to 1 MiB, mostly small, as programs ask. Under Miri, which checks every byte
/// it touches one by one, sizes stop at a few pages.
fn size(rng: &mut fastrand::Rng) -> usize {
    if cfg!(miri) {
        return [rng.usize(0..=256), rng.usize(257..=20_000)][rng.usize(0..2)];
    }
    match rng.u32(0..100) {
        0..50 => rng.usize(0..=256),
        50..80 => rng.usize(257..=8192),
        80..96 => rng.usize(8193..=65536 + 4096),
        _ => rng.usize(65536..=1 << 20),
    }
}

/// An alignment from 1 to 128 KiB, mostly natural.
fn align(rng: &mut fastrand::Rng) -> usize {
    match rng.u32(0..100) {
        0..70 => 1 << rng.u32(0..=3),
        70..95 => 1 << rng.u32(4..=12),
        _ => 1 << rng.u32(13..=17),
    }
}

/// Run the model; returns the final statistics.
fn run(seed: u64, steps: usize, fake: FakePages) -> growheap::Stats {
    run_on(seed, steps, Checked::new(fake, Limits::NONE))
}

fn run_on(seed: u64, steps: usize, mut heap: Checked) -> growheap::Stats {
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..steps {
        let live = heap.live_count();
        // Keep between a few and a few hundred blocks alive.
        let pick = if live > 300 {
            rng.u32(50..100)
        } else if live < 5 {
            rng.u32(0..50)
        } else {
            rng.u32(0..100)
        };
        match pick {
            0..40 => drop(heap.alloc(size(&mut rng), align(&mut rng))),
            40..50 => drop(heap.alloc_zeroed(size(&mut rng), align(&mut rng))),
            50..80 if live > 0 => {
                let block = heap.nth_live(rng.usize(0..live)).unwrap();
                heap.dealloc(block);
            }
            80..99 if live > 0 => {
                let block = heap.nth_live(rng.usize(0..live)).unwrap();
                heap.realloc(block, size(&mut rng));
            }
            // Now and then the host misbehaves: it grows memory itself, or refuses a growth.
            99 => {
                if rng.bool() {
                    let pages = rng.usize(1..=3);
                    heap.fake().grow_foreign(pages);
                } else {
                    heap.fake().refuse_next_grows(1);
                }
            }
            _ => {}
        }
    }
    heap.verify_all();
    heap.validate();
    heap.free_all();
    assert_eq!(heap.stats().live_bytes, 0);
    heap.check_reuse_after_free_all();
    heap.stats()
}

/// The run met every situation it is meant to: growth, foreign growth, refusals, reuse.
fn assert_eventful(stats: &growheap::Stats) {
    if cfg!(miri) {
        return;
    }
    assert!(stats.grow_calls > 10, "{stats}");
    assert!(stats.foreign_pages > 0, "{stats}");
    assert!(stats.failed_grows > 0, "{stats}");
    assert!(stats.reallocations > 1000, "{stats}");
}

const STEPS: usize = if cfg!(miri) { 150 } else { 50_000 };
const MAX_PAGES: usize = if cfg!(miri) { 64 } else { 4096 };

#[test]
fn shadow_model_unknown_like() {
    for seed in [1, 2] {
        assert_eventful(&run(seed, STEPS, FakePages::unknown_like(MAX_PAGES)));
    }
}

#[test]
fn shadow_model_wasi_like() {
    for seed in [3, 4] {
        assert_eventful(&run(seed, STEPS, FakePages::wasi_like(MAX_PAGES)));
    }
}

#[test]
fn shadow_model_without_quick_lists() {
    for (seed, fake) in [(6, FakePages::unknown_like(MAX_PAGES)), (7, FakePages::wasi_like(MAX_PAGES))] {
        let heap = Checked::new(fake, Limits::NONE).without_quick_lists();
        assert_eventful(&run_on(seed, STEPS, heap));
    }
}

#[test]
fn shadow_model_under_a_tight_cap() {
    // Memory so small that growth is refused often: the heap must stay consistent throughout.
    let stats = run(5, STEPS / 5, FakePages::unknown_like(if cfg!(miri) { 8 } else { 40 }));
    assert!(cfg!(miri) || stats.failed_grows > 100, "{stats}");
}
