//! The seam between allocation policy and memory: where pages come from.
//!
//! [`RawHeap`](crate::raw::RawHeap) asks a [`PageSource`] for pages and nothing else. On wasm32
//! and wasm64 the source is [`WasmMemory`], which wraps `memory.size` and `memory.grow`. In
//! tests it is `FakePages` (feature `testing`), a host buffer with a page cap, a refusal switch
//! and a "someone else grew memory" switch.

mod wasm;
pub use wasm::WasmMemory;

#[cfg(any(test, feature = "testing"))]
mod fake;
#[cfg(any(test, feature = "testing"))]
pub use fake::{FakePages, SENTINEL};

/// Size of one WebAssembly page: 64 KiB.
pub const PAGE_SIZE: usize = 65536;

/// A number of 64 KiB pages, or a page index (the page that starts at `index * PAGE_SIZE`).
///
/// Kept apart from byte counts so that the two cannot be mixed up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageCount(pub usize);

impl PageCount {
    /// The number of bytes in this many pages, or `None` if that does not fit in `usize`.
    #[must_use]
    pub const fn bytes(self) -> Option<usize> {
        self.0.checked_mul(PAGE_SIZE)
    }

    /// The fewest pages that hold `bytes` bytes.
    #[must_use]
    pub const fn covering(bytes: usize) -> PageCount {
        PageCount(bytes.div_ceil(PAGE_SIZE))
    }
}

/// What the module's memory looked like before the heap's first growth.
#[derive(Clone, Copy, Debug)]
pub struct InitialMemory {
    /// First byte the heap may claim (for wasm32-unknown-unknown, `__heap_base`).
    pub claimable_start: *mut u8,
    /// End of the initial memory: the heap may claim `[claimable_start, end)`. On targets where
    /// someone else owns that space (wasi-libc's malloc on `wasm32-wasip1`) this equals
    /// `claimable_start`, and the heap claims nothing. An initial memory that fills the address
    /// space (4 GiB on wasm32) ends where no address is; `end` then stops short of that end (16
    /// bytes short for [`WasmMemory`]), while `pages` counts all of it.
    pub end: *mut u8,
    /// Number of pages the module's memory had at instantiation, even when they fill the address
    /// space. Growth found beyond it that the heap did not make is counted as foreign.
    pub pages: PageCount,
}

/// A source of linear-memory pages: `memory.grow` and friends.
///
/// # Safety
/// [`RawHeap`](crate::raw::RawHeap) writes to every page this trait hands it, so implementors
/// promise:
/// - [`initial`](Self::initial) describes memory that is valid for reads and writes, is not used
///   by anyone else, and stays so for as long as the source lives;
/// - when [`grow`](Self::grow) returns `Some(old)`, the pages `old.0 .. old.0 + delta.0` exist,
///   are valid for reads and writes through [`page_ptr`](Self::page_ptr), and nobody else uses
///   them; pages are never taken away again;
/// - [`page_ptr`](Self::page_ptr) returns a pointer to the first byte of a page, carrying
///   provenance over every page that exists now or later (on wasm32 there is no provenance to
///   lose: the address alone is the pointer);
/// - page indices and pointers agree: `page_ptr(PageCount(i)).addr()` is `i * PAGE_SIZE` plus a
///   constant offset that is a multiple of `PAGE_SIZE`;
/// - if [`GROWN_PAGES_ARE_ZERO`](Self::GROWN_PAGES_ARE_ZERO) is true, every byte of the pages
///   that `grow` adds is zero when it returns.
pub unsafe trait PageSource {
    /// Whether the pages `grow` adds are filled with zeros, as `memory.grow` guarantees. The heap
    /// then skips writing zeros over them in `alloc_zeroed`. False unless a source promises it.
    const GROWN_PAGES_ARE_ZERO: bool = false;

    /// The memory as it was before the heap grew anything. Called once, on first use.
    fn initial(&mut self) -> InitialMemory;

    /// The current size of memory, in pages.
    fn size(&self) -> PageCount;

    /// Grow memory by `delta` pages. Returns the old size (the index of the first new page), or
    /// `None` when the host refuses (where `memory.grow` returns -1).
    fn grow(&mut self, delta: PageCount) -> Option<PageCount>;

    /// A pointer to the first byte of page `page`. The heap asks only for pages that exist, so
    /// the address is always inside the address space, even when memory fills all of it (the
    /// page after the last one of a 4 GiB wasm32 memory would start at 2^32, which is no
    /// address).
    fn page_ptr(&self, page: PageCount) -> *mut u8;
}
