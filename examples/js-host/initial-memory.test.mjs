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

/**
 * Check, as the host, the `count` blocks that `fill_memory` holds, listed at `filled_blocks()` as
 * pairs of little-endian `u32` (address, size): each lies inside memory above `__heap_base`, the
 * end of the static data, none overlaps another or the list, and together they leave less than
 * two pages free above `__heap_base`. Returns the bytes they cover.
 */
function assertBlocksCoverMemory(guest, count) {
  const list = guest.exports.filled_blocks() >>> 0;
  const heapBase = guest.exports.__heap_base.value >>> 0;
  const words = new DataView(guest.bytes().buffer, list, 8 * count);
  const blocks = [[list, 8 * count]];
  for (let index = 0; index < count; index += 1) {
    blocks.push([words.getUint32(8 * index, true), words.getUint32(8 * index + 4, true)]);
  }
  const covered = blocks.slice(1).reduce((sum, [, size]) => sum + size, 0);
  blocks.sort(([a], [b]) => a - b);
  let end = heapBase;
  for (const [address, size] of blocks) {
    assert.ok(address >= end, `a block at ${address} starts below ${end}, the end of the one before`);
    end = address + size;
  }
  const memoryBytes = guest.memory.buffer.byteLength;
  assert.ok(end <= memoryBytes, `a block ends at ${end}, past memory`);
  const left = memoryBytes - heapBase - covered;
  assert.ok(left < 2 * PAGE_BYTES, `${left} bytes above the static data were not handed out`);
  return covered;
}

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
    // Seen by the host: the blocks handed out fill memory, so the nulls that ended the filling
    // came when memory was full. (A JS host sees no refused memory.grow.)
    const handedOut = assertBlocksCoverMemory(guest, filled);
    // The heap's own account agrees.
    assert.ok(stats.failed_grows > 0, `the heap was never refused: ${shown}`);
    assert.ok(stats.live_bytes >= handedOut, `${handedOut} bytes handed out: ${shown}`);
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

test("the host's check of the blocks fails when they overlap or leave memory unused", () => {
  // Four pages with the static data in the first; the list of blocks ends it.
  const memory = new WebAssembly.Memory({ initial: 4 });
  const list = PAGE_BYTES - 64;
  const withBlocks = (blocks) => {
    const words = new DataView(memory.buffer, list);
    blocks.flat().forEach((word, index) => words.setUint32(4 * index, word, true));
    const fake = {
      exports: { filled_blocks: () => list, __heap_base: { value: list } },
      memory,
      bytes: () => new Uint8Array(memory.buffer),
    };
    return () => assertBlocksCoverMemory(fake, blocks.length);
  };
  assert.equal(withBlocks([[PAGE_BYTES, 2 * PAGE_BYTES], [3 * PAGE_BYTES, PAGE_BYTES - 16]])(),
    3 * PAGE_BYTES - 16);
  assert.throws(withBlocks([[PAGE_BYTES, 2 * PAGE_BYTES], [3 * PAGE_BYTES - 16, PAGE_BYTES]]),
    /a block at 196592 starts below 196608/);
  assert.throws(withBlocks([[PAGE_BYTES, PAGE_BYTES]]), /bytes above the static data were not handed out/);
  assert.throws(withBlocks([[3 * PAGE_BYTES, 2 * PAGE_BYTES]]), /past memory/);
});
