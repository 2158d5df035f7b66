// The peer allocators, one per cargo feature. Included (`include!`) by `bench/guest` and
// `bench/size`, so that both measure exactly the same configuration; each crate adds its own
// references (null, floor, census). `install!(Type, value)`, which each crate defines before the
// `include!`, makes the value the global allocator: as it is in `bench/size`, and behind the
// host's meter in the `metered` builds of `bench/guest`.

#[cfg(feature = "growheap")]
install!(growheap::GrowHeap, growheap::GrowHeap::new());

#[cfg(feature = "growheap-merge")]
install!(growheap::GrowHeap, growheap::GrowHeap::new().quick_lists(false));

#[cfg(feature = "growheap-compact")]
install!(growheap::CompactHeap, growheap::CompactHeap::new());

#[cfg(feature = "talc")]
install!(talc::wasm::WasmDynamicTalc, talc::wasm::new_wasm_dynamic_allocator());

#[cfg(feature = "talc-grow-claim")]
install!(
    talc::cell::TalcSyncCell<talc::wasm::WasmGrowAndClaim, talc::wasm::WasmBinning>,
    talc::cell::TalcSyncCell::new_wasm(talc::wasm::WasmGrowAndClaim)
);

#[cfg(feature = "dlmalloc")]
install!(dlmalloc::GlobalDlmalloc, dlmalloc::GlobalDlmalloc);

#[cfg(feature = "lol-alloc")]
install!(
    lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator>,
    // SAFETY: the module is single-threaded wasm (no `atomics`), so no two calls overlap.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) }
);

#[cfg(feature = "rlsf")]
install!(rlsf::GlobalTlsf, rlsf::GlobalTlsf::new());

#[cfg(feature = "rlsf-small")]
install!(rlsf::SmallGlobalTlsf, rlsf::SmallGlobalTlsf::new());

#[cfg(feature = "wee-alloc")]
install!(wee_alloc::WeeAlloc, wee_alloc::WeeAlloc::INIT);
