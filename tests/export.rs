//! The host export (feature `host-export`): after every allocator call, the snapshot behind
//! `growheap_stats` equals the statistics of the heap that served the call.
//!
//! A call rewrites only the words it can change, unless it grew memory, failed, had a growth
//! refused on its way to success, or was served by another heap than the call before. This test
//! mixes three heaps, refused growth and every kind of call, so that a word left stale by any of
//! those paths shows; one of the heaps is a `CompactHeap`.
//!
//! The export is one set of statics per module, so everything runs in one test.
#![cfg(feature = "host-export")]

use core::alloc::{GlobalAlloc, Layout};
use growheap::export::{LAYOUT_VERSION, SNAPSHOT_WORDS, growheap_epoch, growheap_stats};
use growheap::source::FakePages;
use growheap::{CompactHeap, GrowHeap, Stats};

/// What the test needs of a heap: `GrowHeap` and `CompactHeap` both show themselves to hosts.
trait Heap: GlobalAlloc {
    fn stats(&self) -> Stats;
    /// `reserve`, whatever it answers.
    fn reserve(&self, bytes: usize);
    /// `GrowHeap::trim`; `CompactHeap` has none.
    fn trim(&self) {}
}

impl Heap for GrowHeap<FakePages> {
    fn stats(&self) -> Stats {
        GrowHeap::stats(self)
    }

    fn reserve(&self, bytes: usize) {
        GrowHeap::reserve(self, bytes);
    }

    fn trim(&self) {
        GrowHeap::trim(self);
    }
}

impl Heap for CompactHeap<FakePages> {
    fn stats(&self) -> Stats {
        CompactHeap::stats(self)
    }

    fn reserve(&self, bytes: usize) {
        CompactHeap::reserve(self, bytes);
    }
}

/// The statistics the export shows now.
fn shown() -> Stats {
    // SAFETY: `growheap_stats` points at `SNAPSHOT_WORDS` words that live as long as the program;
    // no allocator call runs while they are read (this test is single-threaded).
    let words = unsafe { *growheap_stats().cast::<[u64; SNAPSHOT_WORDS]>() };
    assert_eq!(words[0], LAYOUT_VERSION, "layout version");
    Stats::from_snapshot(&words).expect("the version was checked")
}

#[test]
fn the_snapshot_follows_the_heap_that_served_the_latest_call() {
    assert_eq!(shown(), Stats::ZERO, "before any call");

    // Three heaps, the second and the third (a `CompactHeap`) with caps they run into, so that
    // some calls fail.
    let (first, capped) = (
        GrowHeap::with_source(FakePages::wasi_like(512)),
        GrowHeap::with_source(FakePages::wasi_like(512)).max_pages(6),
    );
    let compact = CompactHeap::with_source(FakePages::wasi_like(512)).max_pages(6);
    let heaps: [&dyn Heap; 3] = [&first, &capped, &compact];
    let mut live: Vec<(usize, *mut u8, Layout)> = Vec::new();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut epoch = growheap_epoch();
    let mut calls = [0usize; 6];

    for _ in 0..20_000 {
        let which = rng.usize(..heaps.len());
        let heap = heaps[which];
        let kind = rng.usize(..calls.len());
        calls[kind] += 1;
        // SAFETY: every block is freed or reallocated once, by the heap that made it, with the
        // layout it was made with.
        unsafe {
            match kind {
                0 | 1 => {
                    let size = if rng.u8(..) < 8 { rng.usize(1..200_000) } else { rng.usize(1..3_000) };
                    let layout = Layout::from_size_align(size, 1 << rng.u32(0..6)).unwrap();
                    let block = if kind == 0 { heap.alloc(layout) } else { heap.alloc_zeroed(layout) };
                    if !block.is_null() {
                        live.push((which, block, layout));
                    }
                }
                2 | 3 if !live.is_empty() => {
                    let index = rng.usize(..live.len());
                    let (owner, block, layout) = live[index];
                    let heap = heaps[owner];
                    if kind == 2 {
                        live.swap_remove(index);
                        heap.dealloc(block, layout);
                    } else {
                        let new_size = rng.usize(1..5_000);
                        let moved = heap.realloc(block, layout, new_size);
                        if !moved.is_null() {
                            live[index] =
                                (owner, moved, Layout::from_size_align(new_size, layout.align()).unwrap());
                        }
                    }
                    assert_eq!(shown(), heap.stats(), "after call kind {kind} on heap {owner}");
                    continue;
                }
                4 => heap.reserve(rng.usize(1..100_000)),
                _ => {
                    // Stats and trim change nothing the export shows.
                    let before = shown();
                    heap.trim();
                    let _ = heap.stats();
                    assert_eq!(shown(), before, "trim or stats changed the snapshot");
                    continue;
                }
            }
        }
        assert_eq!(shown(), heap.stats(), "after call kind {kind} on heap {which}");
        let now = growheap_epoch();
        assert!(now >= epoch, "the epoch went back");
        epoch = now;
    }

    let grown: u64 = heaps.iter().map(|heap| heap.stats().grow_calls).sum();
    assert_eq!(u64::from(epoch), grown, "the epoch counts every growth of every heap");
    for capped in &heaps[1..] {
        assert!(capped.stats().failed_grows > 0, "a capped heap never failed: the test lost its edge");
    }
    assert!(calls.iter().all(|&n| n > 1000), "some kind of call was rare: {calls:?}");

    // An allocation that succeeds after a refused growth and grows nothing: at the cap, the heap
    // gives back the empty slab it kept for reuse and serves the request there. The refusal must
    // show.
    let heap = GrowHeap::with_source(FakePages::wasi_like(512)).max_pages(1);
    let small = Layout::from_size_align(8, 8).unwrap();
    // A block of a whole slab's kilobyte, header included.
    let slab_sized = Layout::from_size_align(1024 - 16, 8).unwrap();
    let mut held = Vec::new();
    // SAFETY: each block is freed once, with the layout it was made with.
    unsafe {
        let block = heap.alloc(small);
        assert!(!block.is_null());
        // Its slab stays with its class, empty.
        heap.dealloc(block, small);
        loop {
            let refused_before = heap.stats().failed_grows;
            let block = heap.alloc(slab_sized);
            assert!(!block.is_null(), "the kept slab's space did not serve the request at the cap");
            held.push(block);
            if heap.stats().failed_grows > refused_before {
                assert_eq!(heap.stats().pages_grown, 1);
                assert_eq!(shown(), heap.stats(), "after an allocation that a refusal preceded");
                break;
            }
        }
        for block in held {
            heap.dealloc(block, slab_sized);
        }
    }
}
