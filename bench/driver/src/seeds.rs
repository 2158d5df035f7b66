//! random-actions over many seeds. The main tables run one fixed sequence, as talc's benchmark
//! does, so a page more or less there can be the luck of that sequence. Here every allocator
//! runs the same other sequences, each once on a fresh instance, and the report counts how often
//! and by how much each one grows more pages than growheap.

use crate::allocators::Allocator;
use crate::host::{Engines, Modules};

/// One allocator's pages grown on each seed of one mode.
pub struct Sweep {
    pub allocator: &'static Allocator,
    pub realloc: bool,
    /// Pages grown, by seed (the seeds are `1..=pages.len()`).
    pub pages: Vec<u64>,
    /// Every run did all its actions, with no request refused on the way.
    pub complete: bool,
}

/// The seeds of a sweep of `count`: fastrand sequences other than the benchmark's.
fn seeds(count: u32) -> impl Iterator<Item = u32> {
    1..=count
}

/// Run every seed once, each on a fresh (unmetered) instance.
pub fn sweep(
    engines: &Engines,
    modules: &Modules,
    allocator: &'static Allocator,
    realloc: bool,
    count: u32,
) -> wasmtime::Result<Sweep> {
    let mut pages = Vec::new();
    let mut complete = true;
    for seed in seeds(count) {
        let mut guest = engines.free_guest(modules)?;
        let wanted = guest.call0("random_actions_per_run")?;
        complete &= guest.call2("random_actions_seeded", u32::from(realloc), seed)? == wanted
            && guest.call0("random_actions_failures")? == 0;
        pages.push(guest.pages_grown());
    }
    Ok(Sweep { allocator, realloc, pages, complete })
}

/// Peak live bytes of each seed's sequence, from the census build.
pub fn peaks(engines: &Engines, census: &Modules, realloc: bool, count: u32) -> wasmtime::Result<Vec<u64>> {
    seeds(count)
        .map(|seed| {
            let mut guest = engines.free_guest(census)?;
            guest.call_unit("census_reset")?;
            guest.call2("random_actions_seeded", u32::from(realloc), seed)?;
            guest.call_u64("census_peak")
        })
        .collect()
}
