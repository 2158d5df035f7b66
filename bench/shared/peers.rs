// The peer allocators, one `#[global_allocator]` per cargo feature. Included (`include!`) by
// `bench/guest` and `bench/size`, so that both measure exactly the same configuration; each
// crate adds its own references (null, floor, census).

#[cfg(feature = "growheap")]
#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();

#[cfg(feature = "growheap-merge")]
#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new().quick_lists(false);

#[cfg(feature = "growheap-compact")]
#[global_allocator]
static HEAP: growheap::CompactHeap = growheap::CompactHeap::new();

#[cfg(feature = "talc")]
#[global_allocator]
static HEAP: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(feature = "talc-grow-claim")]
#[global_allocator]
static HEAP: talc::cell::TalcSyncCell<talc::wasm::WasmGrowAndClaim, talc::wasm::WasmBinning> =
    talc::cell::TalcSyncCell::new_wasm(talc::wasm::WasmGrowAndClaim);

#[cfg(feature = "dlmalloc")]
#[global_allocator]
static HEAP: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[cfg(feature = "lol-alloc")]
#[global_allocator]
// SAFETY: the module is single-threaded wasm (no `atomics`), so no two calls overlap.
static HEAP: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[cfg(feature = "rlsf")]
#[global_allocator]
static HEAP: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

#[cfg(feature = "rlsf-small")]
#[global_allocator]
static HEAP: rlsf::SmallGlobalTlsf = rlsf::SmallGlobalTlsf::new();

#[cfg(feature = "wee-alloc")]
#[global_allocator]
static HEAP: wee_alloc::WeeAlloc = wee_alloc::WeeAlloc::INIT;
