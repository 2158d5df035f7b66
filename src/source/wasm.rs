//! The real page source: this module's linear memory 0.
//!
//! All wasm-specific code of the crate is in this file. It serves wasm32 and wasm64 (memory64)
//! alike: `memory.size` and `memory.grow` count pages in `usize` on both. Off wasm the same type
//! exists but refuses every growth and claims no initial memory, so the crate builds, documents
//! and type-checks on every target.

use super::{InitialMemory, PageCount, PageSource};

/// Linear memory 0 of the running WebAssembly module.
///
/// A page index `i` returned by `memory.grow` becomes a pointer as
/// `core::ptr::with_exposed_provenance_mut(i * PAGE_SIZE)`: wasm pointers are plain byte offsets
/// into linear memory, and every byte of it is reachable from any pointer.
///
/// The initial free space depends on the target:
/// - `wasm32-unknown-unknown`, `wasm64-unknown-unknown` and `wasm32v1-none`, which have no
///   libc: the heap claims `[__heap_base, __heap_end)`, the free space that the linker leaves
///   after static data in the initial memory. Only the first heap to allocate claims it; a
///   second `GrowHeap` in the same module starts on freshly grown pages. An initial memory of all
///   4 GiB of wasm32 ends at 2^32, which is no address: wasm-ld's `__heap_end` wraps to 0 there,
///   and the heap claims the space up to 16 bytes before 2^32 instead.
/// - any other wasm target (`wasm32-wasip1`, ...): libc's own `malloc` owns that space, so the
///   heap claims nothing there and starts on freshly grown pages.
#[derive(Debug, Default)]
pub struct WasmMemory(());

impl WasmMemory {
    /// The page source for this module's memory 0.
    pub const fn new() -> Self {
        WasmMemory(())
    }
}

#[cfg(any(target_arch = "wasm32", target_arch = "wasm64"))]
mod imp {
    use super::super::PAGE_SIZE;
    use super::{InitialMemory, PageCount};
    use crate::{compact, raw};
    // The same intrinsics under two names; `wasm64` needs `feature(simd_wasm64)` (see lib.rs).
    #[cfg(target_arch = "wasm32")]
    use core::arch::wasm32 as wasm;
    #[cfg(target_arch = "wasm64")]
    use core::arch::wasm64 as wasm;
    use core::sync::atomic::{AtomicBool, Ordering};

    /// Set by the first heap that claims the initial free space, so that no second heap claims
    /// it too.
    static INITIAL_CLAIMED: AtomicBool = AtomicBool::new(false);

    unsafe extern "C" {
        /// First byte after the stack and static data; defined by wasm-ld.
        static __heap_base: u8;
        /// End of the initial memory; defined by wasm-ld.
        static __heap_end: u8;
    }

    /// Pages in a memory that fills the address space: 65,536 on wasm32 (4 GiB).
    const ALL_PAGES: usize = usize::MAX / PAGE_SIZE + 1;

    /// The coarser of the two heaps' granules. Both are powers of two, so it is a multiple of
    /// the other.
    const COARSER_GRANULE: usize =
        if raw::GRANULE > compact::GRANULE { raw::GRANULE } else { compact::GRANULE };

    /// Where the heap's share of an initial memory that fills the address space ends. The memory
    /// ends at 2^32 on wasm32, which is no address, so the share stops one coarser granule (16
    /// bytes) before it, as `GrowHeap`'s memory grown to that end does (`end_of_growth` in
    /// src/raw/growth.rs): every block of either heap then ends at an address.
    const LAST_END: usize = usize::MAX & !(COARSER_GRANULE - 1);

    fn address(byte: usize) -> *mut u8 {
        core::ptr::with_exposed_provenance_mut(byte)
    }

    pub fn initial() -> InitialMemory {
        // Only the addresses of the linker symbols are used, never their contents.
        let heap_base = (&raw const __heap_base).addr();
        let heap_end = (&raw const __heap_end).addr();
        // wasm-ld gives an initial memory of the whole address space (on wasm32,
        // `--initial-memory=4294967296`) a `__heap_end` of 2^32, which wraps to 0: the one case
        // where it lies below `__heap_base`, since wasm-ld refuses an initial memory too small to
        // hold the stack and static data. (Were those to fill all of it, `__heap_base` would wrap
        // to 0 too: nothing is free then, and memory cannot grow, so no count depends on `pages`.)
        let (end, pages) =
            if heap_end < heap_base { (LAST_END, ALL_PAGES) } else { (heap_end, heap_end / PAGE_SIZE) };
        let first_claim = !INITIAL_CLAIMED.swap(true, Ordering::AcqRel);
        // Without an operating system there is no libc whose `malloc` owns that space.
        let no_libc = cfg!(any(target_os = "unknown", target_os = "none"));
        let claimable_start = if no_libc && first_claim { heap_base } else { end };
        let (claimable_start, end) = (address(claimable_start), address(end));
        InitialMemory { claimable_start, end, pages: PageCount(pages) }
    }

    pub fn size() -> PageCount {
        PageCount(wasm::memory_size::<0>())
    }

    pub fn grow(delta: PageCount) -> Option<PageCount> {
        // `memory.grow` answers -1 (usize::MAX) when it refuses; that becomes `None` here and
        // nowhere else.
        match wasm::memory_grow::<0>(delta.0) {
            usize::MAX => None,
            old => Some(PageCount(old)),
        }
    }

    pub fn page_ptr(page: PageCount) -> *mut u8 {
        address(page.0 * PAGE_SIZE)
    }
}

#[cfg(not(any(target_arch = "wasm32", target_arch = "wasm64")))]
mod imp {
    use super::{InitialMemory, PageCount};

    pub fn initial() -> InitialMemory {
        let nowhere = core::ptr::null_mut();
        InitialMemory { claimable_start: nowhere, end: nowhere, pages: PageCount(0) }
    }

    pub fn size() -> PageCount {
        PageCount(0)
    }

    pub fn grow(_delta: PageCount) -> Option<PageCount> {
        None
    }

    pub fn page_ptr(_page: PageCount) -> *mut u8 {
        core::ptr::null_mut()
    }
}

// SAFETY: on wasm32 and wasm64, the initial range comes from the linker's own symbols: the free
// space between static data and the end of the initial memory, or, where that end wrapped to 0 (an
// initial memory of all 65,536 pages of wasm32), from `__heap_base` to 16 bytes before 2^32, all of
// which that memory holds. memory.grow hands out fresh, zero-filled pages (the core specification
// says so) that only this module's memory.grow caller knows of; wasm memory never shrinks, and
// addresses are plain offsets (no provenance). Off wasm nothing is ever handed out, so there is
// nothing to promise.
unsafe impl PageSource for WasmMemory {
    /// `memory.grow` fills new pages with zeros (WebAssembly core specification, `memory.grow`).
    const GROWN_PAGES_ARE_ZERO: bool = true;

    fn initial(&mut self) -> InitialMemory {
        imp::initial()
    }

    fn size(&self) -> PageCount {
        imp::size()
    }

    fn grow(&mut self, delta: PageCount) -> Option<PageCount> {
        imp::grow(delta)
    }

    fn page_ptr(&self, page: PageCount) -> *mut u8 {
        imp::page_ptr(page)
    }
}
