//! Threads sharing one locked heap: natively over the fake page source, and on
//! `wasm32-wasip1-threads` with growheap as the global allocator (its spin lock); the same for a
//! `CompactHeap`.
//!
//! Four threads allocate, free and reallocate at random, and pass blocks to each other. Every
//! block is filled with its owner's tag and checked before it is freed, so two threads handed
//! overlapping memory would show up as corruption.
#![cfg(not(growheap_single_thread))]

use std::alloc::{GlobalAlloc, Layout};
use std::sync::mpsc;

const THREADS: usize = 4;
const STEPS: usize = if cfg!(miri) { 100 } else { 20_000 };

/// A block in flight between threads.
struct Block {
    ptr: *mut u8,
    layout: Layout,
    tag: u8,
}

// SAFETY: a Block is owned by one thread at a time: it is moved through a channel, never shared.
unsafe impl Send for Block {}

impl Block {
    fn new(heap: &impl GlobalAlloc, size: usize, align: usize, tag: u8) -> Option<Block> {
        let layout = Layout::from_size_align(size, align).unwrap();
        // SAFETY: the layout is valid; a zero size is served as one byte by growheap.
        let ptr = unsafe { heap.alloc(layout) };
        if ptr.is_null() {
            return None;
        }
        // SAFETY: the block is ours for `size` bytes.
        unsafe { ptr.write_bytes(tag, size) };
        Some(Block { ptr, layout, tag })
    }

    fn check(&self) {
        // SAFETY: the block is live and `layout.size()` long.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr, self.layout.size()) };
        // Slice comparison is a memcmp: quick natively and under Miri.
        let pattern = [self.tag; 4096];
        assert!(bytes.chunks(4096).all(|c| c == &pattern[..c.len()]), "block {:p} corrupted", self.ptr);
    }

    fn resize(&mut self, heap: &impl GlobalAlloc, new_size: usize, tag: u8) {
        self.check();
        // SAFETY: the block is live with this layout; sizes are small.
        let moved = unsafe { heap.realloc(self.ptr, self.layout, new_size) };
        if moved.is_null() {
            return;
        }
        self.ptr = moved;
        self.layout = Layout::from_size_align(new_size, self.layout.align()).unwrap();
        self.tag = tag;
        // SAFETY: the block is ours for `new_size` bytes.
        unsafe { moved.write_bytes(tag, new_size) };
    }

    fn free(self, heap: &impl GlobalAlloc) {
        self.check();
        // SAFETY: the block is live with this layout and not used after this.
        unsafe { heap.dealloc(self.ptr, self.layout) };
    }
}

fn size(rng: &mut fastrand::Rng) -> usize {
    let large = if cfg!(miri) { 4096 } else { 20_000 };
    if rng.u32(0..10) < 8 { rng.usize(0..=256) } else { rng.usize(257..=large) }
}

/// Run the four threads over `heap`; every block is freed by the end.
///
/// Each thread is joined by its handle, not only by the end of the scope. The scope returns once
/// every closure has returned, but a thread then still frees its own runtime data (its handle, its
/// thread-locals) as it exits. A join waits for the exit itself, so once `share` returns, the heap's
/// live count is final. With the scope alone, the wasm check below saw threads free after it had
/// read the count in 3 of 40 runs. A bounded wait for the count (up to 1 s) made that rare; the
/// test still failed once in CI with it, its message lost, so most likely but not surely there.
/// With the joins, 400 runs passed without a wait.
fn share(heap: &(impl GlobalAlloc + Sync)) {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..THREADS).map(|_| mpsc::channel::<Block>()).unzip();
    std::thread::scope(|scope| {
        let mut threads = Vec::new();
        for (id, inbox) in receivers.into_iter().enumerate() {
            let next = senders[(id + 1) % THREADS].clone();
            threads.push(scope.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(id as u64);
                let mut mine: Vec<Block> = Vec::new();
                for step in 0..STEPS {
                    let tag = (id * 64 + step % 61 + 1) as u8;
                    while let Ok(block) = inbox.try_recv() {
                        block.free(heap);
                    }
                    match rng.u32(0..10) {
                        0..4 => mine.extend(Block::new(heap, size(&mut rng), 1 << rng.u32(0..=6), tag)),
                        4..7 if !mine.is_empty() => mine.swap_remove(rng.usize(0..mine.len())).free(heap),
                        7..9 if !mine.is_empty() => {
                            let i = rng.usize(0..mine.len());
                            mine[i].resize(heap, size(&mut rng), tag);
                        }
                        9 if !mine.is_empty() => {
                            let block = mine.swap_remove(rng.usize(0..mine.len()));
                            if let Err(returned) = next.send(block) {
                                returned.0.free(heap);
                            }
                        }
                        _ => {}
                    }
                }
                mine.into_iter().for_each(|block| block.free(heap));
                drop(next);
                // Blocks sent to us after our loop ended.
                for block in inbox {
                    block.free(heap);
                }
            }));
        }
        drop(senders);
        for thread in threads {
            thread.join().unwrap();
        }
    });
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn four_threads_share_one_locked_heap() {
    const { assert!(growheap::USES_LOCK) };
    use growheap::GrowHeap;
    use growheap::source::FakePages;
    let heap = GrowHeap::with_source(FakePages::wasi_like(if cfg!(miri) { 64 } else { 2048 }));
    share(&heap);
    let stats = heap.stats();
    assert!(stats.allocations as usize >= THREADS * STEPS / 4, "{stats}");
    assert_eq!(stats.live_bytes, 0, "{stats}");
    assert_eq!(stats.allocations, stats.deallocations, "{stats}");
    heap.validate().unwrap();
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn four_threads_share_one_locked_compact_heap() {
    use growheap::CompactHeap;
    use growheap::source::FakePages;
    let heap = CompactHeap::with_source(FakePages::wasi_like(if cfg!(miri) { 64 } else { 2048 }));
    share(&heap);
    let stats = heap.stats();
    assert!(stats.allocations as usize >= THREADS * STEPS / 4, "{stats}");
    assert_eq!(stats.live_bytes, 0, "{stats}");
    assert_eq!(stats.allocations, stats.deallocations, "{stats}");
    // Everything freed: every byte it grew is one free list again.
    assert_eq!(heap.validate().unwrap().bytes, stats.heap_bytes, "{stats}");
}

/// A `CompactHeap` beside the global heap, shared by four threads under its spin lock.
#[cfg(target_arch = "wasm32")]
static COMPACT: growheap::CompactHeap = growheap::CompactHeap::new();

/// Four threads share `COMPACT` under its spin lock.
#[cfg(target_arch = "wasm32")]
fn four_wasm_threads_share_a_compact_heap() {
    share(&COMPACT);
    let stats = COMPACT.stats();
    assert!(stats.allocations as usize >= THREADS * STEPS / 4, "{stats}");
    assert_eq!(stats.live_bytes, 0, "{stats}");
    assert_eq!(stats.allocations, stats.deallocations, "{stats}");
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();

/// Both wasm checks in one test, the global heap's first: the threads of the `CompactHeap` check
/// take their runtime data from the global heap, so the global heap's live count is read before
/// they run. (Since `share` joins its threads, they no longer free anything after it returns.)
#[cfg(target_arch = "wasm32")]
#[test]
fn four_wasm_threads_share_the_global_heap_then_a_compact_heap() {
    four_wasm_threads_share_the_global_heap();
    four_wasm_threads_share_a_compact_heap();
}

/// Four threads share the global heap under its spin lock; afterwards its live count is back
/// where it was, and the host's page count is explained by its statistics.
#[cfg(target_arch = "wasm32")]
fn four_wasm_threads_share_the_global_heap() {
    const { assert!(growheap::USES_LOCK, "a target with threads must get the spin lock") };
    let before = HEAP.stats();
    share(&HEAP);
    // Every block the threads made was freed, and the threads have exited (`share` joins them);
    // what else is live belongs to the test harness.
    let after = HEAP.stats();
    assert_eq!(after.live_allocations(), before.live_allocations(), "{after}");
    assert!(after.allocations >= before.allocations + (THREADS * STEPS / 4) as u64, "{after}");
    // With the threads gone, force a growth: the host's page count must then be explained by the
    // initial memory, the heap's growth, and the foreign pages (libc's thread stacks) it found.
    let mut more = Vec::<u8>::with_capacity(after.heap_bytes + 65536);
    more.spare_capacity_mut()[0].write(1);
    let grown = std::hint::black_box(more);
    let now = HEAP.stats();
    unsafe extern "C" {
        static __heap_end: u8;
    }
    let initial = (&raw const __heap_end).addr() / 65536;
    assert_eq!(
        core::arch::wasm32::memory_size::<0>(),
        initial + now.pages_grown + now.foreign_pages,
        "{now}"
    );
    drop(grown);
}
