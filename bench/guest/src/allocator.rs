//! The allocator under test: one `#[global_allocator]` per cargo feature. `std-dlmalloc`
//! installs none, which leaves Rust's default (dlmalloc inside std).

include!("../../shared/peers.rs");

#[cfg(feature = "growheap-step4")]
#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new().min_grow_pages(4);

#[cfg(feature = "growheap-step16")]
#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new().min_grow_pages(16);

#[cfg(feature = "growheap-export")]
#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();

#[cfg(feature = "null")]
#[global_allocator]
static HEAP: crate::reference::Null = crate::reference::Null;

#[cfg(feature = "floor")]
#[global_allocator]
static HEAP: crate::reference::Floor = crate::reference::Floor;

#[cfg(feature = "census")]
#[global_allocator]
static HEAP: crate::census::Census<dlmalloc::GlobalDlmalloc> =
    crate::census::Census::new(dlmalloc::GlobalDlmalloc);
