//! The model both checked drivers keep: every live block with the pattern it was filled with, and
//! the statistics that the calls so far must have produced.

use growheap::Stats;
use growheap::source::{FakePages, PAGE_SIZE};
use std::alloc::Layout;
use std::collections::BTreeMap;

/// Bytes compared at a time: slices this long compile to `memcmp` (which keeps Miri quick).
const CHUNK: usize = 4096;

/// The first byte of `bytes` that is not `fill`.
pub fn first_difference(bytes: &[u8], fill: u8) -> Option<usize> {
    first_difference_from(bytes, &[fill; CHUNK])
}

/// The first byte of `bytes` that differs from `pattern` (`CHUNK` bytes) repeated.
fn first_difference_from(bytes: &[u8], pattern: &[u8]) -> Option<usize> {
    let chunk = bytes.chunks(CHUNK).position(|c| c != &pattern[..c.len()])?;
    let start = chunk * CHUNK;
    bytes[start..].iter().zip(pattern).position(|(byte, expected)| byte != expected).map(|i| start + i)
}

/// The bytes 0, 1, ..., 255, 0, 1, ..., for as long as a chunk and one more period.
static RAMP: [u8; CHUNK + 256] = {
    let mut ramp = [0; CHUNK + 256];
    let mut at = 0;
    while at < ramp.len() {
        ramp[at] = at as u8;
        at += 1;
    }
    ramp
};

/// What a block filled with `fill` holds, a chunk at a time: byte `i` is `fill + i` (mod 256), so
/// that a copy that stops short, or lands off by other than a multiple of 256 bytes, leaves a
/// wrong byte, where a uniform fill would not show it (a block moved within its own space copies
/// from bytes that held the same fill). A slice of a static, so that no call builds it (Miri runs
/// the model tests, and would interpret every byte of a pattern built per call).
fn fill_pattern(fill: u8) -> &'static [u8] {
    &RAMP[usize::from(fill)..usize::from(fill) + CHUNK]
}

/// A live block in the model.
#[derive(Clone, Copy, Debug)]
pub struct Live {
    pub ptr: *mut u8,
    pub layout: Layout,
    /// The block holds the pattern of this value ([`fill_pattern`]).
    pub fill: u8,
}

impl Live {
    /// The block's first `len` bytes still hold its fill.
    pub fn verify(&self, len: usize) {
        // SAFETY: the block is live for at least `len` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr, len) };
        let pattern = fill_pattern(self.fill);
        if let Some(at) = first_difference_from(bytes, pattern) {
            panic!(
                "block {:p} ({:?}) corrupted at byte {at}: {:#x} != {:#x}",
                self.ptr,
                self.layout,
                bytes[at],
                pattern[at % CHUNK]
            );
        }
    }
}

/// The model of one heap, kept by its checked driver (see the module docs).
pub struct Shadow {
    /// Live blocks by address.
    live: BTreeMap<usize, Live>,
    /// The statistics fields that follow from the calls alone.
    pub expected: Stats,
    next_fill: u8,
    /// Bytes a block of a given size takes in the heap: no other block may start inside them.
    extent: fn(usize) -> usize,
    /// Calls so far, for failure messages and for checks made only every so often.
    pub steps: usize,
}

impl Shadow {
    /// An empty model of a heap whose block of `size` bytes takes `extent(size)` bytes.
    pub fn new(extent: fn(usize) -> usize) -> Self {
        Shadow { live: BTreeMap::new(), expected: Stats::ZERO, next_fill: 0, extent, steps: 0 }
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// The n-th live block in address order.
    pub fn nth_live(&self, n: usize) -> Option<*mut u8> {
        self.live.values().nth(n).map(|live| live.ptr)
    }

    /// Every live block, in address order.
    pub fn blocks(&self) -> Vec<*mut u8> {
        self.live.values().map(|live| live.ptr).collect()
    }

    /// The live block at `ptr`, its contents checked.
    pub fn get(&self, ptr: *mut u8) -> Live {
        let live = *self.live.get(&ptr.addr()).unwrap_or_else(|| panic!("{ptr:p} is not a live block"));
        live.verify(live.layout.size());
        live
    }

    /// Bytes the live blocks take in the heap, by the extent of each.
    pub fn live_bytes_taken(&self) -> usize {
        self.live.values().map(|live| (self.extent)(live.layout.size())).sum()
    }

    /// Every live block still holds its fill.
    pub fn verify_all(&self) {
        self.live.values().for_each(|live| live.verify(live.layout.size()));
    }

    /// Check a new block's place in `fake`'s memory (aligned, inside memory, off foreign and
    /// static memory, overlapping no live block), then fill it and record it.
    pub fn admit(&mut self, fake: &FakePages, ptr: *mut u8, layout: Layout) {
        let (size, align) = (layout.size(), layout.align());
        assert_eq!(ptr.addr() % align, 0, "block {ptr:p} not aligned to {align}");
        let offset = fake.offset_of(ptr);
        let bytes = (self.extent)(size);
        let memory_end = fake.pages().0 * PAGE_SIZE;
        assert!(
            offset.checked_add(bytes).is_some_and(|end| end <= memory_end),
            "block {ptr:p}+{bytes} past memory"
        );
        assert!(!fake.touches_foreign(offset, bytes), "block {ptr:p}+{bytes} in foreign or static memory");
        if let Some(before) = self.live.range(..=ptr.addr()).next_back().map(|(_, live)| live) {
            let end = before.ptr.addr() + (self.extent)(before.layout.size());
            assert!(end <= ptr.addr(), "block {ptr:p} overlaps the one at {:p}", before.ptr);
        }
        if let Some((&after, _)) = self.live.range(ptr.addr()..).next() {
            assert!(ptr.addr() + bytes <= after, "block {ptr:p}+{bytes} overlaps the one at {after:#x}");
        }
        self.next_fill = self.next_fill.wrapping_add(1).max(1);
        // SAFETY: the block is ours for `size` bytes.
        let block = unsafe { std::slice::from_raw_parts_mut(ptr, size) };
        let pattern = fill_pattern(self.next_fill);
        block.chunks_mut(CHUNK).for_each(|chunk| chunk.copy_from_slice(&pattern[..chunk.len()]));
        self.live.insert(ptr.addr(), Live { ptr, layout, fill: self.next_fill });
    }

    /// Count an allocation of `layout` that returned `ptr`.
    pub fn allocated(&mut self, fake: &FakePages, ptr: *mut u8, layout: Layout) {
        self.admit(fake, ptr, layout);
        self.expected.allocations += 1;
        self.add_live(layout.size());
    }

    /// Forget the live block at `ptr`, which is being freed, and count the free.
    pub fn freed(&mut self, ptr: *mut u8) -> Live {
        let live = self.get(ptr);
        self.live.remove(&ptr.addr());
        self.expected.deallocations += 1;
        self.expected.live_bytes -= live.layout.size();
        live
    }

    /// Count a successful realloc of `old`, whose data now lies at `moved` with `new_size` bytes:
    /// the bytes both sizes share must have kept their fill.
    pub fn reallocated(&mut self, fake: &FakePages, old: Live, moved: *mut u8, new_size: usize) {
        self.live.remove(&old.ptr.addr());
        Live { ptr: moved, ..old }.verify(old.layout.size().min(new_size));
        let layout = Layout::from_size_align(new_size, old.layout.align()).expect("test layout");
        self.admit(fake, moved, layout);
        self.expected.reallocations += 1;
        self.expected.live_bytes -= old.layout.size();
        self.add_live(new_size);
    }

    fn add_live(&mut self, bytes: usize) {
        self.expected.live_bytes += bytes;
        self.expected.peak_live_bytes = self.expected.peak_live_bytes.max(self.expected.live_bytes);
    }
}
