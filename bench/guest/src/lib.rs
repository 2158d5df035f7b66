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
mod random_actions;
mod reference;
mod small_objects;

/// The seed of fastrand's global generator on targets where it finds no entropy, as on
/// `wasm32-unknown-unknown` (fastrand 2.x `DEFAULT_RNG_SEED`). Every allocator sees the same
/// sequence.
const FASTRAND_DEFAULT_SEED: u64 = 0x0ef6_f79e_d30b_a75a;

/// A generator at fastrand's fixed default seed.
fn seeded_rng() -> fastrand::Rng {
    fastrand::Rng::with_seed(FASTRAND_DEFAULT_SEED)
}

#[cfg(not(feature = "std-dlmalloc"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
