//! The fuzz body: bytes become a sequence of heap actions, run on `GrowHeap`'s core through
//! [`Checked`] and then on `CompactHeap`'s through [`CheckedCompact`], each action checked. The
//! cargo-fuzz target in `fuzz/` and the seeded test `tests/fuzz_seeded.rs` both run it.

use super::Checked;
use super::compact::CheckedCompact;
use growheap::raw::Limits;
use growheap::source::FakePages;

/// Pages the fake memory may reach: several MiB, enough for multi-page blocks, small enough to
/// keep each run quick.
const MAX_PAGES: usize = 256;

/// Reads the input a few bytes at a time; an exhausted input reads as zeros.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        first
    }

    fn size(&mut self) -> usize {
        // Up to 4 pages and a bit: 18 bits of size.
        let raw =
            usize::from(self.byte()) | usize::from(self.byte()) << 8 | usize::from(self.byte() & 3) << 16;
        match self.byte() % 4 {
            // Mostly small sizes, as programs use. Miri checks bytes one by one: keep it quick.
            0 | 1 => raw % 300,
            2 => raw % 20_000,
            _ if cfg!(miri) => raw % 20_000,
            _ => raw,
        }
    }

    fn align(&mut self) -> usize {
        // 1 to 128 KiB, mostly small.
        let shift = self.byte() % 32;
        1 << if shift < 18 { shift / 4 } else { shift - 14 }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The calls the fuzz body makes, on either heap's checked driver.
trait Driver {
    fn live_count(&self) -> usize;
    fn nth_live(&self, n: usize) -> Option<*mut u8>;
    /// False when the heap returned null.
    fn alloc(&mut self, size: usize, align: usize) -> bool;
    fn alloc_zeroed(&mut self, size: usize, align: usize);
    fn dealloc(&mut self, block: *mut u8);
    fn realloc(&mut self, block: *mut u8, new_size: usize);
    fn reserve(&mut self, bytes: usize) -> bool;
    fn grow_calls(&self) -> u64;
    fn fake(&mut self) -> &mut FakePages;
}

impl Driver for Checked {
    fn live_count(&self) -> usize {
        Checked::live_count(self)
    }
    fn nth_live(&self, n: usize) -> Option<*mut u8> {
        Checked::nth_live(self, n)
    }
    fn alloc(&mut self, size: usize, align: usize) -> bool {
        Checked::alloc(self, size, align).is_some()
    }
    fn alloc_zeroed(&mut self, size: usize, align: usize) {
        Checked::alloc_zeroed(self, size, align);
    }
    fn dealloc(&mut self, block: *mut u8) {
        Checked::dealloc(self, block);
    }
    fn realloc(&mut self, block: *mut u8, new_size: usize) {
        Checked::realloc(self, block, new_size);
    }
    fn reserve(&mut self, bytes: usize) -> bool {
        Checked::reserve(self, bytes)
    }
    fn grow_calls(&self) -> u64 {
        self.stats().grow_calls
    }
    fn fake(&mut self) -> &mut FakePages {
        Checked::fake(self)
    }
}

impl Driver for CheckedCompact {
    fn live_count(&self) -> usize {
        CheckedCompact::live_count(self)
    }
    fn nth_live(&self, n: usize) -> Option<*mut u8> {
        CheckedCompact::nth_live(self, n)
    }
    fn alloc(&mut self, size: usize, align: usize) -> bool {
        CheckedCompact::alloc(self, size, align).is_some()
    }
    fn alloc_zeroed(&mut self, size: usize, align: usize) {
        CheckedCompact::alloc_zeroed(self, size, align);
    }
    fn dealloc(&mut self, block: *mut u8) {
        CheckedCompact::dealloc(self, block);
    }
    fn realloc(&mut self, block: *mut u8, new_size: usize) {
        CheckedCompact::realloc(self, block, new_size);
    }
    fn reserve(&mut self, bytes: usize) -> bool {
        CheckedCompact::reserve(self, bytes)
    }
    fn grow_calls(&self) -> u64 {
        self.stats().grow_calls
    }
    fn fake(&mut self) -> &mut FakePages {
        CheckedCompact::fake(self)
    }
}

/// Run the actions `data` describes on `GrowHeap`'s core and then on `CompactHeap`'s, checking
/// everything after each one; then free everything and check that the freed memory serves a
/// large block again.
pub fn run(data: &[u8]) {
    let mut input = Input(data);
    // The first byte picks the start (bit 0), whether freed blocks wait on `GrowHeap`'s quick
    // lists (bit 1), and whether both heaps grow at least 3 pages at a time (bit 2).
    let setup = input.byte();
    let fake =
        if setup & 1 == 0 { FakePages::unknown_like(MAX_PAGES) } else { FakePages::wasi_like(MAX_PAGES) };
    let min_grow_pages = if setup & 4 == 0 { 1 } else { 3 };
    let mut heap = Checked::new(fake, Limits { min_grow_pages, ..Limits::NONE });
    if setup & 2 != 0 {
        heap = heap.without_quick_lists();
    }
    drive(&mut heap, Input(input.0));
    heap.verify_all();
    heap.free_all();
    assert_eq!(heap.stats().live_bytes, 0);
    heap.check_reuse_after_free_all();

    let mut compact = if setup & 1 == 0 {
        CheckedCompact::unknown_like(MAX_PAGES)
    } else {
        CheckedCompact::wasi_like(MAX_PAGES)
    }
    .min_grow_pages(min_grow_pages);
    drive(&mut compact, input);
    compact.verify_all();
    compact.free_all();
    assert_eq!(compact.stats().live_bytes, 0);
    compact.check_reuse_after_free_all();
}

fn drive(heap: &mut impl Driver, mut input: Input) {
    let mut capped = false;
    while !input.is_empty() {
        let live = heap.live_count();
        match input.byte() % 8 {
            0 => {
                heap.alloc(input.size(), input.align());
            }
            1 => heap.alloc_zeroed(input.size(), input.align()),
            2 if live > 0 => {
                let block = heap.nth_live(usize::from(input.byte()) % live).unwrap();
                heap.dealloc(block);
            }
            3 if live > 0 => {
                let block = heap.nth_live(usize::from(input.byte()) % live).unwrap();
                heap.realloc(block, input.size());
            }
            4 => {
                // What a true reserve promises: the allocation it was for does not grow memory.
                let size = input.size();
                if heap.reserve(size) {
                    let grow_calls = heap.grow_calls();
                    assert!(heap.alloc(size, 8), "null for {size} bytes after reserve said true");
                    assert_eq!(heap.grow_calls(), grow_calls, "memory grew for {size} bytes after reserve");
                }
            }
            5 => heap.fake().refuse_next_grows(1),
            6 => {
                // Someone else grows memory now, or just before the heap's next growth, as another
                // thread would between the heap's look at where memory ends and its own growth.
                let byte = input.byte();
                let pages = usize::from(byte % 3) + 1;
                if byte & 4 == 0 {
                    heap.fake().grow_foreign(pages);
                } else {
                    heap.fake().race_next_grow(pages);
                }
            }
            7 => {
                // Cap memory where it is now, or lift the cap again.
                let now = heap.fake().pages().0;
                heap.fake().set_max_pages(if capped { MAX_PAGES } else { now });
                capped = !capped;
            }
            _ => {}
        }
    }
}
