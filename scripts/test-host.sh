#!/usr/bin/env bash
# The host side: builds the guest crates (debug and release), builds the wasmtime harness, runs
# its tests, runs the `check` command on a guest, and runs the Node host's tests, among them the
# one of an initial memory of 4 GiB.
# Usage: scripts/test-host.sh   (needs the wasm32 rust targets and Node; scripts/test installs them)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

# Guests build apart from the harness, so the harness tests can rebuild them while cargo runs.
GUEST_TARGET="$ROOT/target/guests"
GUEST_PACKAGES=(-p growheap-guest-workloads -p growheap-guest-refusal -p growheap-guest-rogue -p growheap-guest-js)

section "host: guest crates for wasm32-unknown-unknown and wasm32-wasip1, debug and release"
for target in wasm32-unknown-unknown wasm32-wasip1; do
    for profile in dev release; do
        CARGO_TARGET_DIR="$GUEST_TARGET" cargo build --locked --profile "$profile" --target "$target" "${GUEST_PACKAGES[@]}"
    done
done

# The workloads guest linked with an initial memory of 4 GiB, over both heaps, for the Node test
# of that case. The harness tests build the same modules into the same folders, and find them built.
INITIAL_FULL=(initial-65536-pages compact,initial-65536-pages)
section "host: the workloads guest with an initial memory of 4 GiB (release, wasm32-unknown-unknown)"
for features in "${INITIAL_FULL[@]}"; do
    CARGO_TARGET_DIR="$GUEST_TARGET/${features/,/+}" cargo build --locked --release \
        --target wasm32-unknown-unknown -p growheap-guest-workloads --features "$features"
done

section "host: the wasmtime harness (release, in $HARNESS_TARGET)"
CARGO_TARGET_DIR="$HARNESS_TARGET" cargo build --locked --release -p growheap-harness

section "host: harness tests (page counts, refusal, host growth, negative checks, CLI)"
CARGO_TARGET_DIR="$HARNESS_TARGET" cargo test --locked --release -p growheap-harness

# The host grows 2 pages after each call; `vec_doubling` then grows past them, so that the heap
# counts them as foreign and the check compares a foreign page count that is not zero.
section "host: growheap-harness check on the workloads guest"
"$HARNESS" check "$GUEST_TARGET/wasm32-unknown-unknown/release/growheap_guest_workloads.wasm" \
    --call retain_megabyte --call vec_doubling --call realloc_ladder --call retain_megabyte --host-grow 2

for profile in debug release; do
    section "host: Node host (examples/js-host) on the $profile JS guest"
    GROWHEAP_JS_GUEST="$GUEST_TARGET/wasm32-unknown-unknown/$profile/growheap_guest_js.wasm" \
        node --test examples/js-host/host.test.mjs
done

section "host: Node on an initial memory of 4 GiB (examples/js-host/initial-memory.test.mjs)"
INITIAL_FULL_MODULE=wasm32-unknown-unknown/release/growheap_guest_workloads.wasm
GROWHEAP_INITIAL_FULL_GUEST="$GUEST_TARGET/initial-65536-pages/$INITIAL_FULL_MODULE" \
    GROWHEAP_INITIAL_FULL_COMPACT_GUEST="$GUEST_TARGET/compact+initial-65536-pages/$INITIAL_FULL_MODULE" \
    node --test examples/js-host/initial-memory.test.mjs

section "host: all passed"
