//! `alloc_zeroed` writes zeros only where memory may hold something else: never over pages
//! that `memory.grow` has just zero-filled and no block has covered since.
//!
//! The fake page source zero-fills grown pages like `memory.grow`. Here it is told to fill them
//! with [`FILL`] instead, breaking its promise on purpose: every byte of a zeroed block that
//! still holds `FILL` is one the heap relied on the pages for and did not write. (The model and
//! fuzz tests check, with honest pages, that every zeroed block reads as zeros.)

use growheap::raw::{Limits, RawHeap};
use growheap::source::{FakePages, InitialMemory, PAGE_SIZE, PageCount, PageSource};
use std::alloc::Layout;

const FILL: u8 = 0xAB;

/// A heap whose fake pages come back filled with [`FILL`].
fn lying_heap() -> RawHeap<FakePages> {
    let mut fake = FakePages::wasi_like(64);
    // SAFETY: the tests read zeroed blocks only as bytes.
    unsafe { fake.fill_grown_pages_with(FILL) };
    RawHeap::new(fake, Limits::NONE)
}

/// The bytes of a block of `size` at `ptr`.
///
/// # Safety
/// `ptr` is live for `size` bytes, all of them initialised.
unsafe fn bytes<'a>(ptr: *mut u8, size: usize) -> &'a [u8] {
    assert!(!ptr.is_null(), "allocation failed");
    // SAFETY: forwarded from the caller.
    unsafe { std::slice::from_raw_parts(ptr, size) }
}

/// Whether every byte of `bytes` is `value`. Compares 4 KiB slices at a time, which compiles to
/// `memcmp` (and keeps Miri quick).
fn all_are(bytes: &[u8], value: u8) -> bool {
    let pattern = [value; 4096];
    bytes.chunks(4096).all(|chunk| chunk == &pattern[..chunk.len()])
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

#[test]
fn a_block_cut_from_fresh_pages_is_not_written() {
    let mut heap = lying_heap();
    // SAFETY: the fake memory is only used through this heap; every byte read was written by
    // the fake or the heap.
    unsafe {
        let block = heap.alloc_zeroed(layout(100_000));
        assert!(all_are(bytes(block, 100_000), FILL), "fresh pages were zeroed again");
    }
}

#[test]
fn memory_given_back_to_fresh_space_is_zeroed_when_cut_again() {
    let mut heap = lying_heap();
    // SAFETY: as above.
    unsafe {
        let first = heap.alloc(layout(20_000));
        first.write_bytes(0x55, 20_000);
        // The block ends at the top of the heap, so freeing it gives its bytes back to fresh
        // memory; the next block is cut at the same place and reaches 10,000 bytes further.
        heap.dealloc(first, layout(20_000));
        let second = heap.alloc_zeroed(layout(30_000));
        assert_eq!(second, first);
        let written = bytes(second, 30_000);
        // Everything the first block covered is zeroed; the pages beyond it are relied on.
        assert!(all_are(&written[..20_000], 0), "the old block's bytes were not all zeroed");
        let zeroed = 20_000 + written[20_000..].iter().take_while(|&&b| b == 0).count();
        assert!(zeroed < 20_000 + 64, "{zeroed} bytes zeroed, past the old block and its header");
        assert!(all_are(&written[zeroed..], FILL));
    }
}

#[test]
fn reused_and_small_blocks_are_always_zeroed() {
    let mut heap = lying_heap();
    // SAFETY: as above.
    unsafe {
        let keep = heap.alloc(layout(1000));
        let reused = heap.alloc(layout(5000));
        let _pin = heap.alloc(layout(1000));
        reused.write_bytes(0x55, 5000);
        heap.dealloc(reused, layout(5000));
        let again = heap.alloc_zeroed(layout(5000));
        assert_eq!(again, reused, "the freed block is reused");
        assert!(all_are(bytes(again, 5000), 0));
        // Small blocks live in slabs whose other blocks come and go: always written.
        let small = heap.alloc_zeroed(layout(100));
        assert!(all_are(bytes(small, 100), 0));
        heap.dealloc(keep, layout(1000));
    }
}

#[test]
fn the_initial_free_space_is_zeroed() {
    // On wasm32-unknown-unknown the heap starts in memory that was not grown for it.
    let mut fake = FakePages::unknown_like(64);
    let initial = fake.initial();
    // SAFETY: the claimable range belongs to the fake and nobody uses it yet.
    unsafe {
        initial.claimable_start.write_bytes(FILL, initial.end.addr() - initial.claimable_start.addr());
    }
    let mut heap = RawHeap::new(fake, Limits::NONE);
    // SAFETY: as above.
    unsafe {
        let block = heap.alloc_zeroed(layout(10_000));
        assert!(block.addr() < initial.end.addr(), "the block comes from the initial space");
        assert!(all_are(bytes(block, 10_000), 0));
    }
}

/// The fake pages, without the promise that grown pages are zero.
struct NoPromise(FakePages);

// SAFETY: every call goes to the fake, which keeps all of the trait's promises; this source
// only makes fewer (`GROWN_PAGES_ARE_ZERO` keeps its default, false).
unsafe impl PageSource for NoPromise {
    fn initial(&mut self) -> InitialMemory {
        self.0.initial()
    }
    fn size(&self) -> PageCount {
        self.0.size()
    }
    fn grow(&mut self, delta: PageCount) -> Option<PageCount> {
        self.0.grow(delta)
    }
    fn page_ptr(&self, page: PageCount) -> *mut u8 {
        self.0.page_ptr(page)
    }
}

#[test]
fn a_source_without_the_promise_gets_every_byte_zeroed() {
    let mut fake = FakePages::wasi_like(64);
    // SAFETY: the test reads the zeroed block only as bytes.
    unsafe { fake.fill_grown_pages_with(FILL) };
    let mut heap = RawHeap::new(NoPromise(fake), Limits::NONE);
    // SAFETY: as above.
    unsafe {
        let block = heap.alloc_zeroed(layout(3 * PAGE_SIZE));
        assert!(all_are(bytes(block, 3 * PAGE_SIZE), 0));
    }
}

/// A growth that loses a race seals the current region, and the fresh memory left in it becomes
/// a free block, with the heap's own words in it (its header, its links in the free index, its
/// footer, the end marker). When the next growth is refused, the same call looks at the free
/// blocks again and may take that one, merged with a kept slab given back just below it. It lies
/// above the mark of clean memory read at the start of the call, but is not zero.
#[test]
fn a_region_sealed_by_a_lost_race_is_zeroed_when_the_same_call_takes_it() {
    let mut heap = RawHeap::new(FakePages::wasi_like(64), Limits::NONE);
    // SAFETY: every block is freed with its layout; the zeroed one is read only as bytes.
    unsafe {
        // Fills the first region's first page exactly.
        let first = heap.alloc(layout(PAGE_SIZE - 40));
        assert_eq!(heap.stats().pages_grown, 1);
        // A slab cut at the start of the next page, then kept empty.
        let small = heap.alloc(layout(8));
        assert_eq!(heap.stats().pages_grown, 2);
        heap.dealloc(small, layout(8));
        let size = PAGE_SIZE - 8;
        let source = heap.source_mut();
        source.race_next_grow(1);
        source.refuse_grow_call(3);
        let zeroed = heap.alloc_zeroed(layout(size));
        assert_eq!(heap.source().refused_grows(), 1, "the second growth of the call was refused");
        assert!(zeroed <= small && small < zeroed.wrapping_add(size), "the kept slab serves it");
        let block = bytes(zeroed, size);
        let first_dirty = block.iter().position(|&byte| byte != 0);
        assert_eq!(first_dirty, None, "byte {first_dirty:?} of the zeroed block is not zero");
        heap.dealloc(zeroed, layout(size));
        heap.dealloc(first, layout(PAGE_SIZE - 40));
    }
    heap.validate().expect("a valid heap");
}
