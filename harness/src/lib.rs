//! growheap-harness: runs wasm guests under wasmtime and checks the heap's page counts against
//! what the host sees.
//!
//! - [`recorder`]: a `ResourceLimiter` that logs every `memory.grow` and can cap memory.
//! - [`guest`]: loading a guest (plain module, wasip1 command or reactor) and calling exports.
//! - [`snapshot`]: decoding the `growheap_stats` export.
//! - [`checks`]: the heap's statistics against the host's counts.
//! - [`host_pages`]: pages the host grows between calls, filled with a sentinel.
//! - [`session`]: calls one export after another and checks after each.
//! - [`command`]: the `run` subcommand, the cargo runner for `wasm32-wasip1`.

pub mod checks;
pub mod command;
pub mod guest;
pub mod host_pages;
pub mod recorder;
mod report;
pub mod session;
pub mod snapshot;

pub use guest::{Guest, GuestOptions};
pub use session::{CallReport, CheckFailure, Session};
