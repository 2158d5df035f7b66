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
/// - `wasm32-unknown-unknown` and `wasm64-unknown-unknown`: the heap claims
///   `[__heap_base, __heap_end)`, the free space that the linker leaves after static data in the
///   initial memory. Only the first heap to allocate claims it; a second `GrowHeap` in the same
///   module starts on freshly grown pages.
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

    fn address(byte: usize) -> *mut u8 {
        core::ptr::with_exposed_provenance_mut(byte)
    }

    pub fn initial() -> InitialMemory {
        // Only the addresses of the linker symbols are used, never their contents.
        let heap_base = (&raw const __heap_base).addr();
        let heap_end = (&raw const __heap_end).addr();
        let pages = PageCount(heap_end / PAGE_SIZE);
        let first_claim = !INITIAL_CLAIMED.swap(true, Ordering::AcqRel);
        let claimable_start = if cfg!(target_os = "unknown") && first_claim { heap_base } else { heap_end };
        InitialMemory { claimable_start: address(claimable_start), end: address(heap_end), pages }
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

// SAFETY: on wasm32 and wasm64, the initial range comes from the linker's own symbols and
// memory.grow hands out fresh, zero-filled pages (the core specification says so) that only this
// module's memory.grow caller knows of; wasm memory never shrinks, and addresses are plain offsets
// (no provenance). Off wasm nothing is ever handed out, so there is nothing to promise.
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
