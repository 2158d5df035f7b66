//! The benchmark workloads as one `wasm32-unknown-unknown` module, built once per allocator
//! (cargo feature = allocator). The host (`bench/driver`) calls the exported functions and
//! measures fuel, time and pages from outside; the module itself only runs the workloads.
//!
//! Every build but `std-dlmalloc` is `no_std`. That one keeps std and installs no global
//! allocator, so it measures Rust's default allocator for this target.

#![cfg_attr(not(feature = "std-dlmalloc"), no_std)]

extern crate alloc;

mod allocator;
mod census;
mod growth;
#[cfg(feature = "metered")]
mod meter;
mod random_actions;
mod reference;
mod small_objects;

/// The seed of fastrand's global generator on targets where it finds no entropy, as on
/// `wasm32-unknown-unknown` (fastrand 2.x `DEFAULT_RNG_SEED`). Every allocator sees the same
/// sequence.
const FASTRAND_DEFAULT_SEED: u64 = 0x0ef6_f79e_d30b_a75a;

/// Bytes of static data added to the module, from `GROWHEAP_BENCH_PAD` at build time (none when
/// it is unset, as in every build of `scripts/bench`). `scripts/layouts` builds the same guest
/// with several, which moves `__heap_base`, where the initial free space starts, and with it
/// where every block of the run lands relative to page boundaries.
const LAYOUT_PAD: usize = bytes_from_env(option_env!("GROWHEAP_BENCH_PAD"));

#[used]
static LAYOUT_PADDING: [u8; LAYOUT_PAD] = [0x5a; LAYOUT_PAD];

/// A decimal byte count, checked at compile time: a typo fails the build instead of padding by
/// some other amount.
const fn bytes_from_env(text: Option<&str>) -> usize {
    let Some(text) = text else { return 0 };
    let digits = text.as_bytes();
    assert!(!digits.is_empty(), "GROWHEAP_BENCH_PAD is empty");
    let mut bytes = 0;
    let mut index = 0;
    while index < digits.len() {
        assert!(digits[index].is_ascii_digit(), "GROWHEAP_BENCH_PAD must be a decimal byte count");
        bytes = bytes * 10 + (digits[index] - b'0') as usize;
        index += 1;
    }
    bytes
}

/// A generator at fastrand's fixed default seed.
fn seeded_rng() -> fastrand::Rng {
    fastrand::Rng::with_seed(FASTRAND_DEFAULT_SEED)
}

#[cfg(not(feature = "std-dlmalloc"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
