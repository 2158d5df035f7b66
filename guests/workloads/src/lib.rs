//! Allocation workloads for the harness, each an exported function without parameters that
//! checks its own data and panics (a trap, for the host) when something is wrong. Each returns
//! a count of what it did, so its work cannot be optimised away.

use core::hint::black_box;
use std::alloc::{Layout, alloc, dealloc, realloc};
use std::sync::Mutex;

#[cfg(not(feature = "compact"))]
#[global_allocator]
static HEAP: growheap::GrowHeap = growheap::GrowHeap::new();

/// The same workloads over `CompactHeap` (feature `compact`).
#[cfg(feature = "compact")]
#[global_allocator]
static HEAP: growheap::CompactHeap = growheap::CompactHeap::new();

/// The byte expected at `index` of a block filled by [`fill`] with `seed`.
fn pattern(seed: usize, index: usize) -> u8 {
    (seed.wrapping_mul(31) ^ index.wrapping_mul(7)) as u8
}

fn fill(block: &mut [u8], seed: usize) {
    block.iter_mut().enumerate().for_each(|(index, byte)| *byte = pattern(seed, index));
}

fn holds_pattern(block: &[u8], seed: usize) -> bool {
    block.iter().enumerate().all(|(index, &byte)| byte == pattern(seed, index))
}

/// Push a million `u64` one at a time: the vector doubles its buffer about twenty times.
#[unsafe(no_mangle)]
pub extern "C" fn vec_doubling() -> i32 {
    let mut numbers: Vec<u64> = Vec::new();
    for number in 0..1 << 20 {
        numbers.push(black_box(number));
    }
    assert!(numbers.iter().enumerate().all(|(index, &number)| number == index as u64));
    black_box(numbers).len() as i32
}

/// Forty thousand short strings, kept together, then dropped.
#[unsafe(no_mangle)]
pub extern "C" fn small_strings() -> i32 {
    let strings: Vec<String> = (0..40_000).map(|index| format!("item-{index}")).collect();
    let strings = black_box(strings);
    assert!(strings.iter().enumerate().all(|(index, text)| *text == format!("item-{index}")));
    strings.len() as i32
}

/// One block reallocated from 1 byte up to 4 MiB and back down, its contents checked at each
/// rung.
#[unsafe(no_mangle)]
pub extern "C" fn realloc_ladder() -> i32 {
    const TOP: usize = 4 << 20;
    let sizes: Vec<usize> = (0..=TOP.trailing_zeros()).map(|shift| 1 << shift).collect();
    let mut layout = Layout::from_size_align(1, 1).expect("1 byte is a valid layout");
    // SAFETY: the layout has a non-zero size.
    let mut block = unsafe { alloc(layout) };
    assert!(!block.is_null());
    // SAFETY: `block` holds `layout.size()` bytes that this function owns.
    unsafe { block.write(pattern(1, 0)) };
    let mut rungs = 0;
    for &size in sizes.iter().skip(1).chain(sizes.iter().rev().skip(1)) {
        // SAFETY: `block` came from this allocator with `layout`; `size` is non-zero and small.
        block = unsafe { realloc(block, layout, size) };
        assert!(!block.is_null());
        let kept = layout.size().min(size);
        layout = Layout::from_size_align(size, 1).expect("sizes up to 4 MiB are valid");
        // SAFETY: realloc returned a block of `size` bytes, owned here.
        let bytes = unsafe { std::slice::from_raw_parts_mut(block, size) };
        assert!(holds_pattern(&bytes[..kept], 1), "realloc to {size} lost contents");
        fill(bytes, 1);
        rungs += 1;
    }
    // SAFETY: `block` came from this allocator with `layout`.
    unsafe { dealloc(black_box(block), layout) };
    rungs
}

/// Allocate 256 blocks of 16 KiB, free them, allocate them again: the second round must fit
/// in the memory freed by the first, so the heap does not grow.
#[unsafe(no_mangle)]
pub extern "C" fn free_and_reuse() -> i32 {
    let round = |seed: usize| -> Vec<Vec<u8>> {
        (0..256)
            .map(|index| {
                let mut block = vec![0; 16 << 10];
                fill(&mut block, seed + index);
                black_box(block)
            })
            .collect()
    };
    drop(round(1));
    let pages_before = HEAP.stats().pages_grown;
    let second = round(2);
    assert_eq!(HEAP.stats().pages_grown, pages_before, "the second round grew memory");
    assert!(second.iter().enumerate().all(|(index, block)| holds_pattern(block, 2 + index)));
    second.len() as i32
}

/// Blocks at every alignment from 8 bytes to 128 KiB, with sizes around the alignment, all
/// live at once.
#[unsafe(no_mangle)]
pub extern "C" fn alignment_mix() -> i32 {
    let layouts: Vec<Layout> = (3..=17)
        .flat_map(|shift| {
            let align = 1usize << shift;
            [align / 2 + 1, align, 3 * align + 5].map(|size| Layout::from_size_align(size, align))
        })
        .map(|layout| layout.expect("power-of-two alignments up to 128 KiB are valid"))
        .collect();
    let blocks: Vec<*mut u8> = layouts
        .iter()
        .enumerate()
        .map(|(seed, layout)| {
            // SAFETY: every layout has a non-zero size.
            let block = unsafe { alloc(*layout) };
            assert!(!block.is_null(), "{layout:?} refused");
            assert_eq!(block.addr() % layout.align(), 0, "{layout:?} misaligned");
            // SAFETY: the block holds `layout.size()` bytes owned here.
            fill(unsafe { std::slice::from_raw_parts_mut(block, layout.size()) }, seed);
            black_box(block)
        })
        .collect();
    for (seed, (&block, layout)) in blocks.iter().zip(&layouts).enumerate() {
        // SAFETY: the block is live and holds `layout.size()` bytes.
        assert!(holds_pattern(unsafe { std::slice::from_raw_parts(block, layout.size()) }, seed));
        // SAFETY: `block` came from this allocator with `layout`.
        unsafe { dealloc(block, *layout) };
    }
    blocks.len() as i32
}

/// Blocks kept alive across calls by [`retain_megabyte`].
static RETAINED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// Keep one more filled mebibyte alive, and check all kept so far: memory grows on each call.
/// Returns how many are kept.
#[unsafe(no_mangle)]
pub extern "C" fn retain_megabyte() -> i32 {
    let mut retained = RETAINED.lock().expect("single-threaded");
    let mut block = vec![0; 1 << 20];
    fill(&mut block, retained.len());
    retained.push(black_box(block));
    assert!(retained.iter().enumerate().all(|(seed, block)| holds_pattern(block, seed)));
    retained.len() as i32
}

/// Free everything [`retain_megabyte`] kept; how many blocks that was.
#[unsafe(no_mangle)]
pub extern "C" fn release_retained() -> i32 {
    let mut retained = RETAINED.lock().expect("single-threaded");
    let count = retained.len();
    retained.clear();
    retained.shrink_to_fit();
    count as i32
}

/// Blocks held by [`fill_memory`]: address and size.
static FILLED: Mutex<Vec<[usize; 2]>> = Mutex::new(Vec::new());

/// Allocate until memory cannot grow any more: blocks from 1 GiB down to 16 bytes, each size
/// until the heap refuses it, the last byte of each written (so that the host commits little
/// memory). On a wasm32 host that allows it, memory ends at 65,536 pages, the whole 32-bit
/// address space; on wasm64, at the host's cap. Returns how many blocks are held: 0, without
/// trapping, when the heap has no memory even for the list of them.
#[unsafe(no_mangle)]
pub extern "C" fn fill_memory() -> i32 {
    let mut filled = FILLED.lock().expect("single-threaded");
    // Room for every block, taken before memory is full.
    if filled.try_reserve(256).is_err() {
        return 0;
    }
    let mut size = 1 << 30;
    while size >= 16 {
        let layout = Layout::from_size_align(size, 16).expect("sizes up to 1 GiB are valid");
        // SAFETY: the layout has a non-zero size.
        let block = unsafe { alloc(layout) };
        if block.is_null() {
            size /= 2;
            continue;
        }
        assert!(block.addr().checked_add(size).is_some(), "a block ends past the address space");
        // SAFETY: the block holds `size` bytes owned here.
        unsafe { block.add(size - 1).write(pattern(size, 0)) };
        filled.push([block.expose_provenance(), size]);
    }
    filled.len() as i32
}

/// Check and free what [`fill_memory`] holds; how many blocks that was.
#[unsafe(no_mangle)]
pub extern "C" fn release_filled() -> i32 {
    let mut filled = FILLED.lock().expect("single-threaded");
    let count = filled.len();
    for [address, size] in filled.drain(..) {
        let block = std::ptr::with_exposed_provenance_mut::<u8>(address);
        let layout = Layout::from_size_align(size, 16).expect("it was valid when allocated");
        // SAFETY: `fill_memory` allocated this block with `layout` and wrote its last byte.
        unsafe {
            assert_eq!(block.add(size - 1).read(), pattern(size, 0));
            dealloc(block, layout);
        }
    }
    count as i32
}

/// Where the blocks held by [`fill_memory`] are listed, for the host to check them itself: as many
/// `[address, size]` pairs of `usize` as `fill_memory` returned, in the order allocated.
#[unsafe(no_mangle)]
pub extern "C" fn filled_blocks() -> usize {
    FILLED.lock().expect("single-threaded").as_ptr().expose_provenance()
}

/// Where the heap's `static` lies, for the host's check that no data segment of the module
/// covers it (`harness/tests/module_data.rs`).
#[unsafe(no_mangle)]
pub extern "C" fn heap_static_address() -> i32 {
    (&raw const HEAP).addr() as i32
}

/// Bytes in the heap's `static` (see [`heap_static_address`]).
#[unsafe(no_mangle)]
pub extern "C" fn heap_static_bytes() -> i32 {
    size_of_val(&HEAP) as i32
}
