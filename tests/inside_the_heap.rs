//! Code that runs inside a heap while the heap is locked: a page source that calls into its own
//! heap, or that panics.
//!
//! A call into a heap from inside the same heap gets null (for `stats`, zeros; for `reserve`,
//! false; a `dealloc` or a `realloc` leaves its block as it was) on single-threaded wasm, and the
//! outer call keeps the heap. With a real lock (threads, native)
//! such a call deadlocks, so those tests run only where the busy flag is the lock. A panic inside
//! the heap ends the program: a global allocator may not unwind.

#[path = "common/child.rs"]
mod child;

use growheap::source::{FakePages, InitialMemory, PageCount, PageSource};
use growheap::{CompactHeap, GrowHeap, PAGE_SIZE, Stats};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// A fake memory whose `grow` first calls `before_growing`, with the heap that owns it still
/// locked.
struct ReenteringPages {
    pages: FakePages,
    before_growing: fn(),
}

// SAFETY: every call goes to the fake memory, which keeps the promises; `before_growing` touches none
// of its pages (the heap refuses it).
unsafe impl PageSource for ReenteringPages {
    const GROWN_PAGES_ARE_ZERO: bool = FakePages::GROWN_PAGES_ARE_ZERO;

    fn initial(&mut self) -> InitialMemory {
        self.pages.initial()
    }

    fn size(&self) -> PageCount {
        self.pages.size()
    }

    fn grow(&mut self, delta: PageCount) -> Option<PageCount> {
        (self.before_growing)();
        self.pages.grow(delta)
    }

    fn page_ptr(&self, page: PageCount) -> *mut u8 {
        self.pages.page_ptr(page)
    }
}

/// What the calls from inside got: blocks handed out or `reserve`s granted (should stay 0) and
/// calls made.
static BLOCKS_HANDED_OUT: AtomicUsize = AtomicUsize::new(0);
static CALLS_FROM_INSIDE: AtomicUsize = AtomicUsize::new(0);

/// A live block of [`LIVE`]'s layout, allocated before the outer call, that the calls from inside
/// try to resize and to free; null while there is none.
static LIVE_BLOCK: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
const LIVE: Layout = match Layout::from_size_align(100, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("a valid layout"),
};

/// What the test needs of a heap besides `GlobalAlloc`.
trait Heap: GlobalAlloc {
    fn stats(&self) -> Stats;
    fn reserve(&self, bytes: usize) -> bool;
}

impl Heap for GrowHeap<ReenteringPages> {
    fn stats(&self) -> Stats {
        GrowHeap::stats(self)
    }

    fn reserve(&self, bytes: usize) -> bool {
        GrowHeap::reserve(self, bytes)
    }
}

impl Heap for CompactHeap<ReenteringPages> {
    fn stats(&self) -> Stats {
        CompactHeap::stats(self)
    }

    fn reserve(&self, bytes: usize) -> bool {
        CompactHeap::reserve(self, bytes)
    }
}

/// Calls from inside `heap`, after a `stats()` that saw `allocations_seen`: each would find the
/// heap open if the call before it had released the outer call's flag on its way out. Allocations
/// and `reserve` must get nothing; the `realloc` and `dealloc` of [`LIVE_BLOCK`] must leave it
/// where it is, with its bytes (checked after the outer call).
fn call_from_inside(heap: &impl Heap, allocations_seen: u64) {
    // SAFETY: the layouts are valid; a block, if one came, is counted and never used or freed (the
    // test fails on it); `LIVE_BLOCK` is live with `LIVE`, and a `realloc` that returns null
    // leaves it so.
    unsafe {
        for zeroed in [false, false, true] {
            let block = if zeroed { heap.alloc_zeroed(LIVE) } else { heap.alloc(LIVE) };
            BLOCKS_HANDED_OUT.fetch_add(usize::from(!block.is_null()), Ordering::Relaxed);
        }
        BLOCKS_HANDED_OUT.fetch_add(usize::from(heap.reserve(100)), Ordering::Relaxed);
        let live = LIVE_BLOCK.load(Ordering::Relaxed);
        if !live.is_null() {
            let moved = heap.realloc(live, LIVE, 5000);
            BLOCKS_HANDED_OUT.fetch_add(usize::from(!moved.is_null()), Ordering::Relaxed);
            heap.dealloc(live, LIVE);
        }
    }
    CALLS_FROM_INSIDE.fetch_add(1, Ordering::Relaxed);
    assert_eq!(allocations_seen, 0, "stats() from inside the heap read the heap");
}

static GROW_HEAP: OnceLock<GrowHeap<ReenteringPages>> = OnceLock::new();
static COMPACT_HEAP: OnceLock<CompactHeap<ReenteringPages>> = OnceLock::new();

fn reenter_grow_heap() {
    let heap = GROW_HEAP.get().unwrap();
    call_from_inside(heap, heap.stats().allocations);
}

fn reenter_compact_heap() {
    let heap = COMPACT_HEAP.get().unwrap();
    call_from_inside(heap, heap.stats().allocations);
}

/// Allocate a block that needs growth from `heap`, whose source calls into it while it grows, with
/// a block of its own live since before; then check that those calls got nothing and changed
/// nothing, and that the heap is whole.
fn grow_with_calls_from_inside(heap: &impl Heap, validate: impl Fn()) {
    #[allow(
        clippy::assertions_on_constants,
        reason = "compiled everywhere: fail, not deadlock, if run where the lock is real"
    )]
    {
        assert!(!growheap::USES_LOCK, "with a real lock, a call from inside deadlocks");
    }
    let (blocks_before, calls_before) =
        (BLOCKS_HANDED_OUT.load(Ordering::Relaxed), CALLS_FROM_INSIDE.load(Ordering::Relaxed));
    let layout = Layout::from_size_align(3 * PAGE_SIZE, 8).unwrap();
    // SAFETY: the layouts are valid; each block is written inside its bounds and freed once, the
    // live block after the calls from inside, which may not free it.
    unsafe {
        let live = heap.alloc(LIVE);
        assert!(!live.is_null(), "the live block failed");
        for i in 0..LIVE.size() {
            live.add(i).write(i as u8);
        }
        let stats = heap.stats();
        LIVE_BLOCK.store(live, Ordering::Relaxed);
        let block = heap.alloc(layout);
        assert!(!block.is_null(), "the outer allocation failed");
        block.write_bytes(0xA5, layout.size());
        heap.dealloc(block, layout);
        LIVE_BLOCK.store(std::ptr::null_mut(), Ordering::Relaxed);
        let after = heap.stats();
        assert_eq!(
            (after.deallocations, after.reallocations, after.live_bytes),
            (stats.deallocations + 1, 0, stats.live_bytes),
            "a call from inside freed or resized the live block: {after:?}"
        );
        assert!((0..LIVE.size()).all(|i| live.add(i).read() == i as u8), "the live block changed");
        heap.dealloc(live, LIVE);
    }
    assert!(CALLS_FROM_INSIDE.load(Ordering::Relaxed) > calls_before, "the source never grew");
    assert_eq!(
        BLOCKS_HANDED_OUT.load(Ordering::Relaxed),
        blocks_before,
        "a call from inside the heap was handed a block while the heap was locked"
    );
    validate();
}

#[test]
#[cfg_attr(not(target_family = "wasm"), ignore = "a real lock here: a call from inside deadlocks")]
fn grow_heap_refuses_every_call_from_inside() {
    let heap = GROW_HEAP.get_or_init(|| {
        GrowHeap::with_source(ReenteringPages {
            pages: FakePages::wasi_like(16),
            before_growing: reenter_grow_heap,
        })
    });
    grow_with_calls_from_inside(heap, || {
        heap.validate().expect("the heap is whole");
    });
    assert_eq!(heap.stats().allocations, 2, "only the live block and the outer allocation counted");
}

#[test]
#[cfg_attr(not(target_family = "wasm"), ignore = "a real lock here: a call from inside deadlocks")]
fn compact_heap_refuses_every_call_from_inside() {
    let heap = COMPACT_HEAP.get_or_init(|| {
        CompactHeap::with_source(ReenteringPages {
            pages: FakePages::wasi_like(16),
            before_growing: reenter_compact_heap,
        })
    });
    grow_with_calls_from_inside(heap, || {
        heap.validate().expect("the heap is whole");
    });
    assert_eq!(heap.stats().allocations, 2, "only the live block and the outer allocation counted");
}

fn panic_inside() {
    panic!("a page source that panics");
}

/// The test runs itself again as a child process, whose page source panics while the heap grows,
/// and reads what it printed. Before every locked section ended in an explicit unlock, the panic
/// unwound out of `alloc` with the heap unlocked halfway through the call.
#[test]
#[cfg_attr(any(miri, target_family = "wasm"), ignore = "starts a process: not under Miri, nor in wasm")]
fn a_panic_inside_the_heap_ends_the_program() {
    const TEST: &str = "a_panic_inside_the_heap_ends_the_program";
    if child::is_child(TEST) {
        let layout = Layout::from_size_align(3 * PAGE_SIZE, 8).unwrap();
        let grow_heap = GrowHeap::with_source(ReenteringPages {
            pages: FakePages::wasi_like(16),
            before_growing: panic_inside,
        });
        let compact_heap = CompactHeap::with_source(ReenteringPages {
            pages: FakePages::wasi_like(16),
            before_growing: panic_inside,
        });
        let heap: &dyn GlobalAlloc =
            if std::env::var_os("COMPACT").is_some() { &compact_heap } else { &grow_heap };
        // SAFETY: the layout is valid; the block, if any, is never used.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { heap.alloc(layout) }));
        eprintln!("unwound out of alloc: {}", caught.is_err());
        return;
    }
    for compact in [false, true] {
        let (status, printed) = child::run_as_child(TEST, compact.then_some(("COMPACT", "1")));
        assert!(!status.success(), "compact {compact}: the panic did not end the program:\n{printed}");
        assert!(
            !printed.contains("unwound out of alloc"),
            "compact {compact}: the panic unwound:\n{printed}"
        );
        assert!(printed.contains("a page source that panics"), "compact {compact}: {printed}");
        assert!(printed.contains("may not unwind out of the allocator"), "compact {compact}: {printed}");
    }
}
