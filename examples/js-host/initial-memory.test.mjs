// An initial memory of 65,536 pages, the whole 32-bit address space, under Node (V8): the case of
// harness/tests/initial_memory.rs, where wasm-ld's `__heap_end` is 2^32 and wraps to 0.
//   node --test examples/js-host/initial-memory.test.mjs
// GROWHEAP_INITIAL_FULL_GUEST and GROWHEAP_INITIAL_FULL_COMPACT_GUEST name the workloads guest
// built for wasm32-unknown-unknown with `--features initial-65536-pages`, and with
// `--features compact,initial-65536-pages`; by default the release builds under target/guests
// (scripts/test-host.sh builds them there). The guest imports nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PAGE_BYTES, instantiateGuest, readStats } from './guest-memory.mjs';

/** The release build of the workloads guest with `features`, where scripts/test-host.sh puts it. */
const defaultGuest = (features) => fileURLToPath(new URL(
  `../../target/guests/${features}/wasm32-unknown-unknown/release/growheap_guest_workloads.wasm`,
  import.meta.url));

const GUESTS = [
  ['GrowHeap', process.env.GROWHEAP_INITIAL_FULL_GUEST ?? defaultGuest('initial-65536-pages')],
  ['CompactHeap',
    process.env.GROWHEAP_INITIAL_FULL_COMPACT_GUEST ?? defaultGuest('compact+initial-65536-pages')],
];

/** The most pages a 32-bit memory can have. */
const MAX_PAGES = 1 << 16;
/** Bytes in 4 GiB, the whole 32-bit address space. */
const ADDRESS_SPACE = 2 ** 32;

for (const [heap, guestPath] of GUESTS) {
  test(`${heap}: an initial memory of 4 GiB serves allocations without growing`, async () => {
    const wasmBytes = await readFile(guestPath);
    assert.deepEqual(WebAssembly.Module.imports(new WebAssembly.Module(wasmBytes)), [],
      `${guestPath} imports something`);
    const guest = await instantiateGuest(wasmBytes);
    assert.equal(guest.pages(), MAX_PAGES, `${guestPath} is not linked with 4 GiB`);

    // A trap would throw a WebAssembly.RuntimeError here.
    const filled = guest.exports.fill_memory();
    const stats = readStats(guest);
    const shown = JSON.stringify(stats);
    assert.ok(filled > 0, `nothing was allocated: ${shown}`);
    assert.equal(guest.pages(), MAX_PAGES, shown);
    assert.equal(stats.foreign_pages, 0, `the initial pages counted as foreign: ${shown}`);
    assert.deepEqual([stats.grow_calls, stats.pages_grown], [0, 0], `grew: ${shown}`);
    assert.ok(stats.failed_grows > 0, `the heap was never refused: ${shown}`);
    assert.ok(stats.heap_bytes > ADDRESS_SPACE - (2 << 20), `the heap claimed too little: ${shown}`);
    assert.ok(stats.heap_bytes - stats.live_bytes < 2 * PAGE_BYTES, `handed out too little: ${shown}`);
    assert.equal(guest.heapGrew(), false, 'growheap_epoch moved');

    assert.equal(guest.exports.release_filled(), filled, 'not every block was freed');
    assert.equal(guest.exports.retain_megabyte(), 1);
    const reused = readStats(guest);
    assert.equal(reused.pages_grown, 0, `freed memory was not reused: ${JSON.stringify(reused)}`);
    assert.equal(guest.pages(), MAX_PAGES);
    // No growth is possible beyond 65,536 pages, for the host either.
    assert.throws(() => guest.memory.grow(1), RangeError);
    assert.equal(guest.pages(), MAX_PAGES);
  });
}
