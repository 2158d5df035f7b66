//! Blocks of the coalescing tier: one header word in front of every block, a footer in free ones.
//!
//! A block is named by its payload pointer `p`, which is [`GRANULE`]-aligned. The block owns the
//! bytes `[p - WORD, p - WORD + size)`: its header word, then `size - WORD` payload bytes. The
//! next block in memory therefore starts at `p + size`.
//!
//! ```text
//!   p - WORD      p                                      p + size - 2*WORD   p + size - WORD
//!   | header      | payload ...  (free: next, prev link)  ...  | (free: footer) | next header
//! ```
//!
//! The header holds the size (a multiple of [`GRANULE`]) and three flags. A free block repeats
//! its size in its last word (the footer), so that the block after it can find its start.

/// Bytes in a machine word: a header, a footer, a link.
pub(crate) const WORD: usize = size_of::<usize>();

/// Payload alignment and size granule of every block. Requests with this alignment or less need
/// no alignment work.
pub(crate) const GRANULE: usize = 16;

/// The smallest block: header, two free-list links and a footer.
pub(crate) const MIN_BLOCK: usize = (4 * WORD).next_multiple_of(GRANULE);

/// Header flag: this block is free (it is on a free list of the coalescing tier).
const FREE: usize = 1;
/// Header flag: the block just before this one is free, so its footer is valid.
const PREV_FREE: usize = 2;
/// Header flag: this block is a slab that the small tier cuts into size-class blocks.
const SLAB: usize = 4;
const FLAGS: usize = FREE | PREV_FREE | SLAB;

static_assertions::const_assert!(GRANULE.is_power_of_two() && GRANULE >= WORD);
static_assertions::const_assert!(FLAGS < GRANULE);
static_assertions::const_assert_eq!(MIN_BLOCK % GRANULE, 0);

/// A block of the coalescing tier, named by its payload pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Block(pub(crate) *mut u8);

impl Block {
    /// The payload pointer: what the allocator hands out.
    pub(crate) const fn payload(self) -> *mut u8 {
        self.0
    }

    fn header_ptr(self) -> *mut usize {
        self.0.wrapping_sub(WORD).cast()
    }

    /// # Safety
    /// The block's header word lies in memory the heap owns and has been written.
    unsafe fn header(self) -> usize {
        // SAFETY: the caller promises the header word is owned and initialised; it is
        // WORD-aligned because the payload is GRANULE-aligned and GRANULE >= WORD.
        unsafe { self.header_ptr().read() }
    }

    /// # Safety
    /// The block's header word lies in memory the heap owns.
    unsafe fn set_header(self, word: usize) {
        // SAFETY: as in `header`, without needing it initialised.
        unsafe { self.header_ptr().write(word) }
    }

    /// Size in bytes, header included.
    ///
    /// # Safety
    /// As for [`header`](Self::header).
    pub(crate) unsafe fn size(self) -> usize {
        // SAFETY: forwarded from the caller.
        unsafe { self.header() & !FLAGS }
    }

    /// # Safety
    /// As for [`header`](Self::header).
    pub(crate) unsafe fn is_free(self) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.header() & FREE != 0 }
    }

    /// # Safety
    /// As for [`header`](Self::header).
    pub(crate) unsafe fn prev_is_free(self) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.header() & PREV_FREE != 0 }
    }

    /// # Safety
    /// As for [`header`](Self::header).
    #[cfg(any(test, feature = "testing", feature = "debug-checks"))]
    pub(crate) unsafe fn is_slab(self) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.header() & SLAB != 0 }
    }

    /// The block that follows this one in memory (its header may be the region's fresh space).
    ///
    /// # Safety
    /// As for [`header`](Self::header).
    pub(crate) unsafe fn next(self) -> Block {
        // SAFETY: forwarded from the caller.
        Block(self.0.wrapping_add(unsafe { self.size() }))
    }

    /// The free block just before this one, found through its footer.
    ///
    /// # Safety
    /// [`prev_is_free`](Self::prev_is_free) is true, so the footer in front of the header is
    /// valid \[ref:footer].
    pub(crate) unsafe fn prev_free(self) -> Block {
        // SAFETY: the footer is the word before our header, inside the previous (free) block,
        // and the caller promises it is valid.
        let prev_size = unsafe { self.0.wrapping_sub(2 * WORD).cast::<usize>().read() };
        Block(self.0.wrapping_sub(prev_size))
    }

    /// Mark as in use with `size`, keeping no flags but `prev_free`.
    ///
    /// # Safety
    /// The bytes `[p - WORD, p - WORD + size)` belong to this block.
    pub(crate) unsafe fn set_used(self, size: usize, prev_free: bool) {
        debug_assert!(size % GRANULE == 0 && size >= MIN_BLOCK);
        // SAFETY: the header word is the block's first word.
        unsafe { self.set_header(size | if prev_free { PREV_FREE } else { 0 }) }
    }

    /// Mark as a slab of the small tier, with `size`.
    ///
    /// # Safety
    /// As for [`set_used`](Self::set_used).
    pub(crate) unsafe fn set_slab(self, size: usize, prev_free: bool) {
        // SAFETY: the header word is the block's first word.
        unsafe { self.set_header(size | SLAB | if prev_free { PREV_FREE } else { 0 }) }
    }

    /// Mark as free with `size` and write the footer \[tag:footer]. The block before a free block
    /// is never free (neighbours are merged), so `PREV_FREE` is clear.
    ///
    /// # Safety
    /// As for [`set_used`](Self::set_used), and `size >= MIN_BLOCK`.
    pub(crate) unsafe fn set_free(self, size: usize) {
        debug_assert!(size % GRANULE == 0 && size >= MIN_BLOCK);
        // SAFETY: header and footer are the first and last words of the block's bytes, which the
        // caller gives us; MIN_BLOCK leaves room for both and the links between.
        unsafe {
            self.set_header(size | FREE);
            self.0.wrapping_add(size - 2 * WORD).cast::<usize>().write(size);
        }
    }

    /// Mark the header of a block that was freed and merged into a neighbour or into fresh
    /// memory as free, so that a second free of it is caught (feature `debug-checks`).
    ///
    /// # Safety
    /// The header word lies in memory the heap owns and nothing else uses it any more.
    #[cfg(feature = "debug-checks")]
    pub(crate) unsafe fn mark_freed(self, size: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.set_header(size | FREE) }
    }

    /// Set or clear `PREV_FREE`, keeping size and other flags.
    ///
    /// # Safety
    /// As for [`header`](Self::header).
    pub(crate) unsafe fn set_prev_free(self, prev_free: bool) {
        // SAFETY: forwarded from the caller.
        unsafe {
            let word = self.header() & !PREV_FREE;
            self.set_header(word | if prev_free { PREV_FREE } else { 0 });
        }
    }

    /// Write a size-0, in-use header: the end marker of a sealed region.
    ///
    /// # Safety
    /// The header word lies in memory the heap owns.
    pub(crate) unsafe fn set_end_marker(self, prev_free: bool) {
        // SAFETY: forwarded from the caller.
        unsafe { self.set_header(if prev_free { PREV_FREE } else { 0 }) }
    }

    /// The free-list links stored in a free block's payload: (next, prev).
    pub(crate) fn links(self) -> (*mut *mut u8, *mut *mut u8) {
        (self.0.cast(), self.0.wrapping_add(WORD).cast())
    }
}

/// The block size that serves a request of `size` payload bytes, or `None` if it overflows.
pub(crate) const fn block_size_for(size: usize) -> Option<usize> {
    // `Layout` already bounds sizes by isize::MAX; checking again keeps this function total.
    // Later sums (search sizes, addresses) use checked arithmetic of their own.
    if size > isize::MAX as usize {
        return None;
    }
    // Rounded with a mask: `next_multiple_of` compiles to a remainder and a select, five wasm
    // instructions more on every allocation. Cannot overflow: `size <= isize::MAX`.
    let with_header = (size + WORD + GRANULE - 1) & !(GRANULE - 1);
    Some(if with_header < MIN_BLOCK { MIN_BLOCK } else { with_header })
}
