//! The allocators the benchmark knows, in table order. Each is a cargo feature of
//! `bench/guest` and `bench/size`, and its guest is `<name>.wasm`.

/// What a build is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A real allocator: every workload.
    Peer,
    /// Hands out one static buffer: random-actions only (its blocks overlap).
    Floor,
    /// Fails everything: module size only.
    Null,
    /// Counts live bytes over dlmalloc: the source of peak live bytes, not a row of its own.
    Census,
    /// growheap with a larger `min_grow_pages`: the grow-call comparison.
    Step(u32),
    /// growheap with its `host-export` feature: what keeping the snapshot current costs.
    Export,
    /// growheap with the guest's `prepare_heap` export: its first run taken apart
    /// (`first_run.rs`), no row of its own. A build of its own, so that the export changes
    /// nothing in the build the other tables measure.
    Apart,
}

pub struct Allocator {
    pub name: &'static str,
    pub label: &'static str,
    pub role: Role,
}

pub const ALLOCATORS: &[Allocator] = &[
    Allocator { name: "growheap", label: "growheap", role: Role::Peer },
    Allocator { name: "growheap-merge", label: "growheap quick_lists(false)", role: Role::Peer },
    Allocator { name: "growheap-compact", label: "growheap CompactHeap", role: Role::Peer },
    Allocator { name: "talc", label: "talc 5 (WasmGrowAndExtend, default)", role: Role::Peer },
    Allocator { name: "talc-grow-claim", label: "talc 5 (WasmGrowAndClaim)", role: Role::Peer },
    Allocator { name: "std-dlmalloc", label: "std default (dlmalloc)", role: Role::Peer },
    Allocator { name: "dlmalloc", label: "dlmalloc crate", role: Role::Peer },
    Allocator { name: "lol-alloc", label: "lol_alloc FreeListAllocator", role: Role::Peer },
    Allocator { name: "rlsf", label: "rlsf GlobalTlsf", role: Role::Peer },
    Allocator { name: "rlsf-small", label: "rlsf SmallGlobalTlsf", role: Role::Peer },
    Allocator { name: "wee-alloc", label: "wee_alloc 0.4.5", role: Role::Peer },
    Allocator { name: "floor", label: "workload floor", role: Role::Floor },
    Allocator { name: "null", label: "null (always fails)", role: Role::Null },
    Allocator { name: "census", label: "census (live-byte count)", role: Role::Census },
    Allocator { name: "growheap-step4", label: "growheap min_grow_pages(4)", role: Role::Step(4) },
    Allocator { name: "growheap-step16", label: "growheap min_grow_pages(16)", role: Role::Step(16) },
    Allocator { name: "growheap-export", label: "growheap with host-export", role: Role::Export },
    Allocator { name: "growheap-apart", label: "growheap with prepare_heap", role: Role::Apart },
];

/// The allocators the ratios are taken against.
pub const TALC: &str = "talc";
pub const STD: &str = "std-dlmalloc";
pub const GROWHEAP: &str = "growheap";
/// growheap with its `host-export` feature.
pub const EXPORT: &str = "growheap-export";
/// growheap with `prepare_heap`, for its first run taken apart.
pub const APART: &str = "growheap-apart";

pub fn find(name: &str) -> Option<&'static Allocator> {
    ALLOCATORS.iter().find(|allocator| allocator.name == name)
}
