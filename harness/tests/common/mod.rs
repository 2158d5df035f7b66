//! Building the guest crates of `guests/` for the harness tests, once per target and profile.

#![allow(dead_code)] // Each test file uses a part of this module.

use growheap_harness::recorder::PAGE_BYTES;
use growheap_harness::{GuestOptions, Session};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use wasmtime::Val;

/// The guests' target directory: inside the workspace's `target/`, apart from the harness build.
fn guest_target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guests")
}

/// Where each guest crate's module comes from.
#[derive(Clone, Copy, Debug)]
pub enum GuestKind {
    /// `growheap-guest-workloads` as a plain module (`wasm32-unknown-unknown` cdylib).
    Workloads,
    /// `growheap-guest-workloads` as a wasip1 reactor (cdylib with `_initialize`).
    WorkloadsReactor,
    /// `growheap-guest-workloads` as a wasip1 command (`_start`).
    WorkloadsCommand,
    /// `growheap-guest-refusal`, plain module.
    Refusal,
    /// `growheap-guest-rogue`, plain module.
    Rogue,
    /// `growheap-guest-workloads` as a memory64 module (`wasm64-unknown-unknown` cdylib).
    Workloads64,
    /// `growheap-guest-workloads` over `CompactHeap` (feature `compact`), plain module.
    WorkloadsCompact,
    /// `growheap-guest-refusal` as a memory64 module.
    Refusal64,
    /// `growheap-guest-workloads` over `CompactHeap`, memory64 module.
    WorkloadsCompact64,
    /// `growheap-guest-workloads`, plain module, with an initial memory of 65,536 pages, the whole
    /// 32-bit address space (feature `initial-65536-pages`): wasm-ld's `__heap_end` wraps to 0.
    WorkloadsInitialFull,
    /// The same over `CompactHeap`.
    WorkloadsCompactInitialFull,
    /// The same as a wasip1 reactor, where the heap claims none of the initial memory.
    WorkloadsReactorInitialFull,
    /// `growheap-guest-workloads`, plain module, with an initial memory of 65,535 pages
    /// (feature `initial-65535-pages`), the largest that `__heap_end` describes.
    WorkloadsInitialAlmostFull,
    /// `growheap-guest-bare`, without std, as a plain module.
    Bare,
    /// `growheap-guest-bare` for `wasm32v1-none`, the target without std or post-MVP features.
    BareV1None,
}

impl GuestKind {
    fn target_and_file(self) -> (&'static str, &'static str) {
        match self {
            GuestKind::Workloads => ("wasm32-unknown-unknown", "growheap_guest_workloads.wasm"),
            GuestKind::WorkloadsReactor => ("wasm32-wasip1", "growheap_guest_workloads.wasm"),
            GuestKind::WorkloadsCommand => ("wasm32-wasip1", "growheap-guest-workloads.wasm"),
            GuestKind::Refusal => ("wasm32-unknown-unknown", "growheap_guest_refusal.wasm"),
            GuestKind::Rogue => ("wasm32-unknown-unknown", "growheap_guest_rogue.wasm"),
            GuestKind::Workloads64 => (WASM64, "growheap_guest_workloads.wasm"),
            GuestKind::WorkloadsCompact => ("wasm32-unknown-unknown", "growheap_guest_workloads.wasm"),
            GuestKind::Refusal64 => (WASM64, "growheap_guest_refusal.wasm"),
            GuestKind::WorkloadsCompact64 => (WASM64, "growheap_guest_workloads.wasm"),
            GuestKind::WorkloadsInitialFull
            | GuestKind::WorkloadsCompactInitialFull
            | GuestKind::WorkloadsInitialAlmostFull => {
                ("wasm32-unknown-unknown", "growheap_guest_workloads.wasm")
            }
            GuestKind::WorkloadsReactorInitialFull => ("wasm32-wasip1", "growheap_guest_workloads.wasm"),
            GuestKind::Bare => ("wasm32-unknown-unknown", "growheap_guest_bare.wasm"),
            GuestKind::BareV1None => (V1_NONE, "growheap_guest_bare.wasm"),
        }
    }

    /// The features the workloads guest of this kind is built with, if it needs any.
    fn workloads_features(self) -> Option<&'static str> {
        match self {
            GuestKind::WorkloadsCompact | GuestKind::WorkloadsCompact64 => Some("compact"),
            GuestKind::WorkloadsInitialFull | GuestKind::WorkloadsReactorInitialFull => {
                Some("initial-65536-pages")
            }
            GuestKind::WorkloadsCompactInitialFull => Some("compact,initial-65536-pages"),
            GuestKind::WorkloadsInitialAlmostFull => Some("initial-65535-pages"),
            _ => None,
        }
    }
}

/// The memory64 target. Rust ships no standard library for it, so its guests are built with
/// nightly cargo and `-Z build-std` (`scripts/test` installs nightly and its `rust-src`).
const WASM64: &str = "wasm64-unknown-unknown";

/// The target without std, on which only the bare guest builds.
const V1_NONE: &str = "wasm32v1-none";

/// Both profiles: every check runs on debug and on release guests.
pub const PROFILES: [&str; 2] = ["debug", "release"];

/// Each of `kinds` in each profile.
pub fn in_each_profile<const N: usize>(
    kinds: [GuestKind; N],
) -> impl Iterator<Item = (GuestKind, &'static str)> {
    kinds.into_iter().flat_map(|kind| PROFILES.map(|profile| (kind, profile)))
}

/// Cargo for `target`: nightly with `-Z build-std` for memory64, else the cargo running the tests.
fn cargo_build(target: &str) -> Command {
    let mut command = if target == WASM64 {
        // The rustup proxy, so that `+nightly` picks the toolchain; `$CARGO` is stable's cargo.
        let mut nightly = Command::new("cargo");
        nightly.args(["+nightly", "build", "-Z", "build-std=std,panic_abort"]);
        nightly
    } else {
        let mut stable = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        stable.arg("build");
        stable
    };
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args(["--target", target]);
    command
}

/// (target, profile) pairs already built by this test binary.
static BUILT: Mutex<Option<HashSet<(String, String)>>> = Mutex::new(None);

/// Build every guest crate for `target` in `profile` unless this process already did.
fn build_guests(target: &str, profile: &str) {
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let built = built.get_or_insert_with(HashSet::new);
    if built.contains(&(target.to_string(), profile.to_string())) {
        return;
    }
    let mut command = cargo_build(target);
    command.env("CARGO_TARGET_DIR", guest_target_dir());
    let guests: &[&str] = match target {
        // Without std only the bare guest builds.
        V1_NONE => &["growheap-guest-bare"],
        // The rogue guest calls `memory.grow` itself and the bare one traps on panic, both
        // through `core::arch::wasm32`, which memory64 lacks.
        WASM64 => &["growheap-guest-workloads", "growheap-guest-refusal"],
        _ => &[
            "growheap-guest-workloads",
            "growheap-guest-refusal",
            "growheap-guest-rogue",
            "growheap-guest-bare",
        ],
    };
    for guest in guests {
        command.args(["-p", guest]);
    }
    if profile == "release" {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building the guests for {target} ({profile}) failed");
    built.insert((target.to_string(), profile.to_string()));
}

/// Build the workloads guest with `features` for `target` in `profile` unless this process
/// already did; a target directory of its own for each set of features keeps it apart from the
/// other builds (`compact` for the `CompactHeap` guest). Returns that directory.
fn build_workloads_with(features: &str, target: &str, profile: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashSet<(String, String, String)>>> = Mutex::new(None);
    let dir = guest_target_dir().join(features.replace(',', "+"));
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = (features.to_string(), target.to_string(), profile.to_string());
    if built.get_or_insert_with(HashSet::new).insert(key) {
        let mut command = cargo_build(target);
        command.env("CARGO_TARGET_DIR", &dir);
        command.args(["-p", "growheap-guest-workloads", "--features", features]);
        if profile == "release" {
            command.arg("--release");
        }
        let status = command.status().expect("cargo runs");
        assert!(status.success(), "building the guest with {features} for {target} ({profile}) failed");
    }
    dir
}

/// The module of `kind` in `profile`, built if needed.
pub fn guest_path(kind: GuestKind, profile: &str) -> PathBuf {
    let (target, file) = kind.target_and_file();
    let dir = if let Some(features) = kind.workloads_features() {
        build_workloads_with(features, target, profile)
    } else {
        build_guests(target, profile);
        guest_target_dir()
    };
    dir.join(target).join(profile).join(file)
}

/// A session on the guest of `kind` in `profile`, with `options`.
pub fn session_with(kind: GuestKind, profile: &str, options: &GuestOptions) -> Session {
    let path = guest_path(kind, profile);
    Session::load(&path, options).unwrap_or_else(|error| panic!("{}: {error:?}", path.display()))
}

/// A session on the guest of `kind` in `profile`, without a cap.
pub fn session(kind: GuestKind, profile: &str) -> Session {
    session_with(kind, profile, &GuestOptions::default())
}

/// Write a module in text format to a fresh temporary file, for tests of odd guests.
pub fn write_module(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("growheap-harness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Read the `count` blocks that the workloads guest's `fill_memory` holds from the guest's memory
/// (its `filled_blocks` tells where they are listed) and check them, as the host, with
/// [`blocks_cover_memory`]. Returns the bytes they cover.
pub fn assert_filled_blocks_cover_memory(session: &mut Session, count: usize, what: &str) -> usize {
    let listed = session.call("filled_blocks").unwrap();
    listed.assert_passed();
    // The address is a `usize` of the guest: an `i32` on wasm32, an `i64` on memory64.
    let (list, word_bytes) = match listed.results.first() {
        Some(Val::I32(address)) => (address.cast_unsigned() as usize, 4),
        Some(Val::I64(address)) => (usize::try_from(address.cast_unsigned()).unwrap(), 8),
        other => panic!("{what}: filled_blocks returned {other:?}"),
    };
    let guest = &session.guest;
    // Every workloads guest exports `__heap_base` (a memory64 one through its `build.rs`); without
    // it all of the initial memory would count as claimable, and the floor would be 0.
    let heap_base = guest.initial_pages * PAGE_BYTES as u64 - guest.claimable_bytes;
    assert!(heap_base > 0, "{what}: the guest exports no __heap_base");
    let covered =
        blocks_cover_memory(guest.memory_bytes(), list, count, Some(heap_base as usize), word_bytes);
    covered.unwrap_or_else(|problem| panic!("{what}: {problem}"))
}

/// Check, as the host, the `count` blocks listed at `list` in a guest's memory, each two
/// little-endian words of `word_bytes` (its address and its size): each lies inside memory, above
/// `heap_base` (the end of the static data) if it is known, none overlaps another or the list,
/// and together they leave less than two pages of memory free above `heap_base`, or above the
/// lowest block or the list where it is not known. The bytes they cover, or what is wrong.
pub fn blocks_cover_memory(
    memory: &[u8],
    list: usize,
    count: usize,
    heap_base: Option<usize>,
    word_bytes: usize,
) -> Result<usize, String> {
    let Some(listed) = memory.get(list..list + 2 * word_bytes * count) else {
        return Err(format!("the list at {list:#x} runs past memory"));
    };
    let word = |bytes: &[u8]| {
        let mut le = [0; 8];
        le[..bytes.len()].copy_from_slice(bytes);
        usize::try_from(u64::from_le_bytes(le)).unwrap()
    };
    let words: Vec<usize> = listed.chunks_exact(word_bytes).map(word).collect();
    let mut blocks: Vec<[usize; 2]> = words.chunks_exact(2).map(|pair| [pair[0], pair[1]]).collect();
    let covered = blocks.iter().map(|[_, size]| size).sum();
    blocks.push([list, listed.len()]);
    blocks.sort_unstable();
    let floor = heap_base.unwrap_or(blocks[0][0]);
    let mut end = floor;
    for [address, size] in blocks {
        if address < end {
            return Err(format!("a block at {address:#x} starts below {end:#x}, the end of the one before"));
        }
        end = address + size;
    }
    if end > memory.len() {
        return Err(format!("a block ends at {end:#x}, past memory"));
    }
    let left = memory.len() - floor - covered;
    if left >= 2 * PAGE_BYTES {
        return Err(format!("{left} bytes from {floor:#x} to the end of memory were not handed out"));
    }
    Ok(covered)
}
