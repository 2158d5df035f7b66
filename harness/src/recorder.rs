//! Every `memory.grow` the store sees, recorded by a `ResourceLimiter`, with an optional cap.

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// Bytes in a WebAssembly page.
pub const PAGE_BYTES: usize = 65536;

/// Who asked for the growth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grower {
    /// The guest's own `memory.grow` (its heap, or anyone else inside it).
    Guest,
    /// The host, through `Memory::grow`, between guest calls.
    Host,
}

/// One request to grow linear memory, in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrowRequest {
    /// Pages before the request.
    pub current: u64,
    /// Pages asked for in total.
    pub desired: u64,
    /// Whether memory did grow (false: `memory.grow` returned -1).
    pub granted: bool,
    /// Who asked.
    pub by: Grower,
}

impl GrowRequest {
    /// Pages the request would add.
    #[must_use]
    pub fn delta(&self) -> u64 {
        self.desired - self.current
    }
}

/// The store's `ResourceLimiter`: applies the memory cap of [`StoreLimits`] and logs every
/// growth request that changes the size. Requests made while instantiating are logged too:
/// `Guest::load` drops the one that creates the memory, and keeps any growth a start function
/// made, as the guest's.
pub struct GrowthRecorder {
    limits: StoreLimits,
    /// Every non-empty growth request, in order.
    pub requests: Vec<GrowRequest>,
    /// Who the next requests come from; the host sets `Host` around its own growth.
    pub grower: Grower,
    /// Index of the request just granted, until the engine confirms or fails it.
    just_granted: Option<usize>,
}

impl GrowthRecorder {
    /// A recorder that lets memory grow up to `max_pages` pages in total, or without a cap.
    #[must_use]
    pub fn new(max_pages: Option<u64>) -> Self {
        let mut limits = StoreLimitsBuilder::new();
        if let Some(pages) = max_pages {
            limits =
                limits.memory_size(usize::try_from(pages).unwrap_or(usize::MAX).saturating_mul(PAGE_BYTES));
        }
        GrowthRecorder {
            limits: limits.build(),
            requests: Vec::new(),
            grower: Grower::Guest,
            just_granted: None,
        }
    }
}

impl ResourceLimiter for GrowthRecorder {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.just_granted = None;
        let granted = self.limits.memory_growing(current, desired, maximum)?;
        if desired > current {
            let pages = |bytes: usize| (bytes / PAGE_BYTES) as u64;
            let request =
                GrowRequest { current: pages(current), desired: pages(desired), granted, by: self.grower };
            self.just_granted = granted.then_some(self.requests.len());
            self.requests.push(request);
        }
        Ok(granted)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // Allowed by the cap, refused by the engine (over the memory's maximum, or out of
        // host memory): the request did not grow memory after all. Wasmtime 48 also calls this
        // without asking `memory_growing` first, for a size that a memory of custom page size
        // cannot hold (`LocalMemory::grow` in src/runtime/vm/memory.rs); the last granted request
        // would then be marked refused, wrongly. No guest of this crate uses custom page sizes,
        // and the page check of the call would still hold the counts to the memory's size.
        if let Some(index) = self.just_granted.take() {
            self.requests[index].granted = false;
        }
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}
