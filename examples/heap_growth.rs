//! Watch growheap grow memory, phase by phase.
//!
//! ```sh
//! cargo build --release --example heap_growth --target wasm32-wasip1
//! growheap-harness run target/wasm32-wasip1/release/examples/heap_growth.wasm
//! ```
//! (`scripts/demo` does both.) Each row shows the heap's statistics after a phase, and
//! `memory.size` as the host sees it.

use growheap::{GrowHeap, PAGE_SIZE, Stats};
use std::hint::black_box;

/// The heap may grow at most 64 pages (4 MiB): the last phase asks for more.
#[cfg_attr(target_arch = "wasm32", global_allocator)]
static HEAP: GrowHeap = GrowHeap::new().max_pages(64);

#[cfg(target_arch = "wasm32")]
fn memory_pages() -> usize {
    core::arch::wasm32::memory_size::<0>()
}

#[cfg(not(target_arch = "wasm32"))]
fn memory_pages() -> usize {
    0
}

struct Table {
    previous: Stats,
}

impl Table {
    fn new() -> Self {
        println!(
            "{:<28} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9} {:>9} {:>7}",
            "phase", "grows", "failed", "+pages", "pages", "heap KiB", "live KiB", "peak KiB", "memory"
        );
        Table { previous: HEAP.stats() }
    }

    fn row(&mut self, phase: &str) -> Stats {
        let now = HEAP.stats();
        println!(
            "{:<28} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9} {:>9} {:>7}",
            phase,
            now.grow_calls,
            now.failed_grows,
            now.pages_grown - self.previous.pages_grown,
            now.pages_grown,
            now.heap_bytes / 1024,
            now.live_bytes / 1024,
            now.peak_live_bytes / 1024,
            memory_pages(),
        );
        self.previous = now;
        now
    }
}

fn strings(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("item {i}: {}", "#".repeat(i % 40))).collect()
}

fn main() {
    if cfg!(not(target_arch = "wasm32")) {
        eprintln!("build this example for wasm32-wasip1 and run it under wasmtime (see its docs)");
        return;
    }
    let mut table = Table::new();

    let mut doubling = Vec::new();
    for i in 0..(256 * 1024u32) {
        doubling.push(black_box(i));
    }
    table.row("vector doubling to 1 MiB");
    drop(black_box(doubling));
    table.row("  ...dropped");

    let many = black_box(strings(20_000));
    table.row("20,000 small strings");
    drop(many);
    let before_reuse = HEAP.stats().pages_grown;
    let again = black_box(strings(20_000));
    let reuse = table.row("freed, then built again");
    assert_eq!(reuse.pages_grown, before_reuse, "building again must reuse the freed memory");
    drop(again);

    let large = black_box(vec![7u8; 2 * 1024 * 1024]);
    table.row("one 2 MiB buffer");
    drop(large);

    let mut refused = Vec::<u8>::new();
    let answer = refused.try_reserve_exact(8 * 1024 * 1024);
    let after = table.row("8 MiB refused by max_pages");
    assert!(answer.is_err() && after.failed_grows > 0, "the cap must refuse");

    println!();
    println!(
        "memory.size {} pages; heap grew {} pages in {} calls; {} foreign pages",
        memory_pages(),
        after.pages_grown,
        after.grow_calls,
        after.foreign_pages
    );
    println!("({} KiB per page)", PAGE_SIZE / 1024);
    println!();
    print!("{after}");
}
