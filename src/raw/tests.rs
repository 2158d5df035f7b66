//! Unit tests of the core's arithmetic; the behaviour is tested in `tests/` over the fake.

use super::aligned_with_gap;
use super::block::{GRANULE, MIN_BLOCK, WORD, block_size_for};
use super::growth::{FIRST_PAYLOAD, end_of_growth};
use crate::source::{PAGE_SIZE, PageCount};
use core::ptr;

#[test]
fn aligned_with_gap_leaves_no_gap_or_room_for_a_free_block() {
    for from in (GRANULE..4096).step_by(GRANULE) {
        for shift in 3..=17 {
            let align = 1usize << shift;
            let at = aligned_with_gap(from, align).unwrap();
            assert_eq!(at % align, 0);
            let gap = at - from;
            assert!(gap == 0 || gap >= MIN_BLOCK, "gap {gap} from {from} at {align}");
            assert!(gap < MIN_BLOCK + align, "gap {gap} larger than needed");
        }
    }
}

#[test]
fn aligned_with_gap_refuses_to_wrap() {
    assert_eq!(aligned_with_gap(usize::MAX - 7, 1 << 20), None);
    assert_eq!(aligned_with_gap(usize::MAX - 7, 8), Some(usize::MAX - 7));
    // A gap too small for a free block pushes the position past the end of the address space.
    assert_eq!(aligned_with_gap(usize::MAX - 23, 16), None);
}

#[test]
fn block_sizes_hold_the_request_and_a_header() {
    assert_eq!(block_size_for(0), Some(MIN_BLOCK));
    for size in 1..10_000 {
        let block = block_size_for(size).unwrap();
        assert!(block >= size + WORD && block % GRANULE == 0 && block >= MIN_BLOCK);
        assert!(block < (size + WORD + GRANULE).max(MIN_BLOCK + 1));
    }
    assert_eq!(block_size_for(isize::MAX as usize + 1), None);
    assert!(block_size_for(isize::MAX as usize).is_some());
}

#[test]
fn first_payload_leaves_room_for_the_region_header_and_a_block_header() {
    assert!(FIRST_PAYLOAD >= size_of::<super::growth::RegionHeader>() + WORD);
    assert_eq!(FIRST_PAYLOAD % GRANULE, 0);
}

#[test]
fn growth_that_reaches_the_end_of_the_address_space_ends_a_granule_before_it() {
    let at = |addr: usize| ptr::without_provenance_mut::<u8>(addr);
    assert_eq!(end_of_growth(at(PAGE_SIZE), PageCount(3)), at(4 * PAGE_SIZE));
    // The last page of the address space (page 65,535 of a 4 GiB wasm32 memory), and the last
    // three pages: their end, usize::MAX + 1, is no address.
    let last_page = usize::MAX - PAGE_SIZE + 1;
    assert_eq!(end_of_growth(at(last_page), PageCount(1)), at(usize::MAX - GRANULE + 1));
    assert_eq!(end_of_growth(at(last_page - 2 * PAGE_SIZE), PageCount(3)), at(usize::MAX - GRANULE + 1));
    // A page count whose bytes overflow `usize` ends there too.
    assert_eq!(end_of_growth(at(0), PageCount(usize::MAX)), at(usize::MAX - GRANULE + 1));
}
