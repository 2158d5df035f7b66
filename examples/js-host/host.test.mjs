// The JS host of growheap, under Node's built-in test runner:
//   node --test examples/js-host/host.test.mjs
// GROWHEAP_JS_GUEST names the guest module (guests/js built for wasm32-unknown-unknown);
// by default the release build under target/guests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { GuestMemory, PAGE_BYTES, instantiateGuest, readStats } from './guest-memory.mjs';

const defaultGuest = new URL(
  '../../target/guests/wasm32-unknown-unknown/release/growheap_guest_js.wasm', import.meta.url);
const guestPath = process.env.GROWHEAP_JS_GUEST ?? fileURLToPath(defaultGuest);
const wasmBytes = await readFile(guestPath);

const BIG = 4 << 20;
const SENTINEL = 0xa5;

/** The byte at `index` of a block the guest filled with `seed` (as in guests/js). */
const pattern = (seed, index) => (seed + index * 7) & 0xff;

function assertFilled(bytes, address, length, seed) {
  for (let index = 0; index < length; index += 1) {
    if (bytes[address + index] !== pattern(seed, index)) {
      assert.fail(`byte ${index} of the block at ${address} is ${bytes[address + index]}, not ${pattern(seed, index)}`);
    }
  }
}

/**
 * The guest's growths of memory as the host sees them itself, apart from what the guest's hook
 * reports: the host looks at `memory.buffer` whenever the hook is called and after each call it
 * makes. A growth gives memory a new buffer and detaches the old one, so a look that finds a new
 * buffer saw one growth or more since the look before. A growth the hook does not report, a
 * report of a growth that did not happen, or of other sizes, makes the host's list differ from
 * the hook's. Two growths between two looks count as one: a guest that grows twice and reports
 * one growth, from the first size to the last, misleads the host too (a JS host sees no single
 * `memory.grow`; the wasmtime harness does). growheap calls the hook once the call's growths are
 * all done, so a call that grew twice would give two true reports at a look that sees one growth,
 * and the first would count as unconfirmed; the guest here grows at most once per call.
 */
class HostWatch {
  constructor(guest) {
    this.guest = guest;
    this.buffer = guest.memory.buffer;
    this.pages = guest.pages();
    /** Each growth the host saw, as { oldPages, newPages }. */
    this.growths = [];
    /** Each report of the hook that was not of the one growth the host saw just before it. */
    this.unconfirmed = [];
    const report = guest.onGrow.bind(guest);
    // The guest's imports call `guest.onGrow` by name, so this hook runs in its place.
    guest.onGrow = (oldPages, newPages) => {
      const seen = this.growths.length;
      this.look();
      const last = this.growths.at(-1);
      if (this.growths.length !== seen + 1 || last.oldPages !== oldPages || last.newPages !== newPages) {
        this.unconfirmed.push({ oldPages, newPages });
      }
      report(oldPages, newPages);
    };
  }

  /** Whether the hook's reports, `reported`, are the growths the host saw, each as it happened. */
  confirms(reported) {
    return this.unconfirmed.length === 0 && isDeepStrictEqual(reported, this.growths);
  }

  /** Note a growth if memory has a new buffer since the last look. */
  look() {
    const { buffer } = this.guest.memory;
    if (buffer !== this.buffer) {
      const pages = buffer.byteLength / PAGE_BYTES;
      this.growths.push({ oldPages: this.pages, newPages: pages });
      [this.buffer, this.pages] = [buffer, pages];
    }
  }

  /** Call the guest's export `name` with `args`, then look. */
  call(name, ...args) {
    const result = this.guest.exports[name](...args);
    this.look();
    return result;
  }

  /** Pages the host saw the guest grow. */
  pagesGrown() {
    return this.growths.reduce((sum, { oldPages, newPages }) => sum + newPages - oldPages, 0);
  }
}

/** A stand-in for a guest: its memory, and its hook called by hand, as a lying guest would. */
function fakeGuest() {
  const guest = new GuestMemory({ rebuildOnGrow: false });
  guest.memory = new WebAssembly.Memory({ initial: 1 });
  const onGrow = guest.imports().growheap_host.on_grow;
  return { guest, onGrow };
}

function makeFilled(guest, length, seed) {
  const address = guest.exports.make_filled(length, seed);
  assert.notEqual(address, 0, `the guest could not allocate ${length} bytes`);
  return address;
}

test('a growth during a call detaches the old view; the hook rebuilds it', async () => {
  const guest = await instantiateGuest(wasmBytes);
  const small = makeFilled(guest, 64, 1);
  const oldView = guest.view;
  const oldBuffer = guest.memory.buffer;
  assert.ok(oldView.length > 0);

  const big = makeFilled(guest, BIG, 2);

  assert.ok(guest.growths.length > 0, 'the guest did not grow memory');
  assert.equal(oldView.length, 0, 'the old view is detached');
  assert.equal(oldBuffer.byteLength, 0);
  assert.throws(() => new Uint8Array(oldBuffer), TypeError);
  // The hook already rebuilt the view: it reads the old block and the new one.
  assert.equal(guest.view.buffer, guest.memory.buffer);
  assertFilled(guest.view, small, 64, 1);
  assertFilled(guest.view, big, BIG, 2);
  assert.equal(guest.growths.at(-1).newPages, guest.pages());
});

test('without the hook, a stale view is rebuilt before use, and the epoch counts growths', async () => {
  const guest = await instantiateGuest(wasmBytes, { rebuildOnGrow: false });
  const watch = new HostWatch(guest);
  const epochBefore = guest.exports.growheap_epoch();
  const cached = guest.view;
  assert.equal(guest.heapGrew(), false);

  const big = watch.call('make_filled', BIG, 3);
  assert.notEqual(big, 0, `the guest could not allocate ${BIG} bytes`);

  assert.equal(cached.length, 0, 'the cached view is detached');
  assert.ok(watch.growths.length > 0, 'the guest did not grow memory');
  assert.deepEqual(guest.growths, watch.growths, 'the hook reported what the host saw');
  assert.deepEqual(watch.unconfirmed, [], 'the hook reported growths the host did not see');
  assert.equal(guest.exports.growheap_epoch() - epochBefore, watch.growths.length,
    'the epoch moves by one per growth the host saw');
  assert.equal(guest.heapGrew(), true);
  assert.equal(guest.view, cached, 'nothing rebuilt the view during the call');
  assertFilled(guest.bytes(), big, BIG, 3);
  assert.notEqual(guest.view, cached);
  assert.equal(guest.heapGrew(), false, 'the rebuilt view has caught up with the epoch');
  // Growth by the host: no epoch change, but the view is stale all the same.
  const view = guest.bytes();
  guest.memory.grow(1);
  assert.equal(guest.heapGrew(), false);
  assert.notEqual(guest.bytes(), view);
  assertFilled(guest.bytes(), big, BIG, 3);
});

test('page counts agree with the stats, the hook and the growths the host saw', async () => {
  const guest = await instantiateGuest(wasmBytes);
  const watch = new HostWatch(guest);
  const initialPages = guest.pages();
  const blocks = [1, 2, 3].map((seed) => [watch.call('make_filled', BIG, seed), seed]);
  assert.ok(blocks.every(([address]) => address !== 0), 'the guest could not allocate');
  const stats = readStats(guest);
  assert.equal(guest.pages(), initialPages + stats.pages_grown);
  assert.ok(watch.growths.length > 0, 'the guest did not grow memory');
  assert.equal(stats.grow_calls, watch.growths.length);
  assert.equal(stats.pages_grown, watch.pagesGrown());
  assert.deepEqual(guest.growths, watch.growths, 'the hook reported what the host saw');
  assert.deepEqual(watch.unconfirmed, [], 'the hook reported growths the host did not see');
  assert.equal(stats.live_bytes, 3 * BIG);
  for (const [address, seed] of blocks) {
    assertFilled(guest.bytes(), address, BIG, seed);
  }
});

test("the host's own count of growths tells a lying hook", () => {
  // An honest growth: memory grows, and the hook says so.
  const honest = fakeGuest();
  const watch = new HostWatch(honest.guest);
  honest.guest.memory.grow(2);
  honest.onGrow(1, 3);
  watch.look();
  assert.ok(watch.confirms(honest.guest.growths));
  // A growth reported but not made, one made but not reported, one reported with other sizes,
  // and one reported before it was made: each time the lists differ.
  const lies = [
    (fake) => {
      fake.onGrow(1, 2);
    },
    (fake) => {
      fake.guest.memory.grow(1);
    },
    (fake) => {
      fake.guest.memory.grow(2);
      fake.onGrow(1, 2);
    },
    (fake) => {
      fake.onGrow(1, 2);
      fake.guest.memory.grow(1);
    },
  ];
  for (const lie of lies) {
    const fake = fakeGuest();
    const watched = new HostWatch(fake.guest);
    lie(fake);
    watched.look();
    assert.ok(!watched.confirms(fake.guest.growths), lie.toString());
  }
});

test('pages grown by the host are never handed out by the guest', async () => {
  const guest = await instantiateGuest(wasmBytes);
  const initialPages = guest.pages();
  makeFilled(guest, 1 << 20, 4);
  const hostPages = 4;
  const firstHostPage = guest.memory.grow(hostPages);
  const hostStart = firstHostPage * PAGE_BYTES;
  const hostEnd = hostStart + hostPages * PAGE_BYTES;
  assert.equal(guest.bytes().length, hostEnd, 'the view was rebuilt after the host grew memory');
  guest.bytes().fill(SENTINEL, hostStart, hostEnd);

  const length = 256 << 10;
  for (let seed = 0; seed < 40; seed += 1) {
    const address = makeFilled(guest, length, seed);
    const overlaps = address < hostEnd && address + length > hostStart;
    assert.ok(!overlaps, `block ${seed} at ${address} overlaps the host's pages ${hostStart}..${hostEnd}`);
    assertFilled(guest.bytes(), address, length, seed);
  }
  const untouched = guest.bytes().subarray(hostStart, hostEnd).every((byte) => byte === SENTINEL);
  assert.ok(untouched, 'the guest wrote into the pages the host grew');

  const stats = readStats(guest);
  assert.equal(stats.foreign_pages, hostPages);
  assert.equal(guest.pages(), initialPages + stats.pages_grown + hostPages);
});

test('the guest frees blocks it made', async () => {
  const guest = await instantiateGuest(wasmBytes);
  const address = makeFilled(guest, BIG, 5);
  const before = readStats(guest);
  guest.exports.free_filled(address, BIG);
  const after = readStats(guest);
  assert.equal(after.deallocations, before.deallocations + 1);
  assert.equal(after.live_bytes, before.live_bytes - BIG);
});
