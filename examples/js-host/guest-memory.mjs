// Keeping JS views of a growheap guest's memory valid across `memory.grow`.
//
// When wasm memory grows, its old ArrayBuffer is detached: every Uint8Array over it now has
// length 0 and constructing a new view over it throws a TypeError. A view must be rebuilt from
// `memory.buffer` after each growth. Two ways to know when:
//  - eagerly, from growheap's `on_grow` hook, which the guest wires to an imported function;
//  - lazily, before each use: a view shorter or longer than `memory.buffer` is stale, whoever
//    grew memory. An unshared buffer is detached (length 0); a shared one (threads) stays
//    attached at its old length, so the length of the view alone would not tell there.
// `growheap_epoch()` changes after each growth by the heap: a cheap way to learn that the heap
// grew memory, for caches of other things than views.

export const PAGE_BYTES = 65536;

/** Views of one guest's memory 0, rebuilt whenever memory grows. */
export class GuestMemory {
  /** @param {{ rebuildOnGrow?: boolean }} options - rebuild in the hook (default) or lazily. */
  constructor({ rebuildOnGrow = true } = {}) {
    this.rebuildOnGrow = rebuildOnGrow;
    /** Every growth the heap reported, as { oldPages, newPages }. */
    this.growths = [];
  }

  /** The imports the guest needs: its `on_grow` hook lands in `onGrow`. */
  imports() {
    return { growheap_host: { on_grow: (oldPages, newPages) => this.onGrow(oldPages, newPages) } };
  }

  /** Start viewing the instance's memory. */
  attach(instance) {
    this.exports = instance.exports;
    this.memory = instance.exports.memory;
    this.rebuild();
  }

  /** Called by the guest, during its allocation, right after the heap grew memory. */
  onGrow(oldPages, newPages) {
    this.growths.push({ oldPages, newPages });
    if (this.rebuildOnGrow) {
      this.rebuild();
    }
  }

  rebuild() {
    this.view = new Uint8Array(this.memory.buffer);
    this.epoch = this.exports.growheap_epoch();
  }

  /** The bytes of memory, through a view that is valid now. */
  bytes() {
    if (this.view.byteLength !== this.memory.buffer.byteLength) {
      this.rebuild();
    }
    return this.view;
  }

  /** Whether the heap grew memory since the view was last rebuilt. */
  heapGrew() {
    return this.exports.growheap_epoch() !== this.epoch;
  }

  /** Memory size in pages, as the engine sees it. */
  pages() {
    return this.memory.buffer.byteLength / PAGE_BYTES;
  }
}

/** The fields of the `growheap_stats` snapshot after the layout version, in order. */
export const STATS_FIELDS = [
  'grow_calls', 'failed_grows', 'pages_grown', 'foreign_pages', 'heap_bytes',
  'live_bytes', 'peak_live_bytes', 'allocations', 'deallocations', 'reallocations',
];

/** Read the heap's statistics: eleven little-endian u64 at `growheap_stats()`. */
export function readStats(guestMemory) {
  // An i32 export: addresses past 2 GiB come back negative.
  const address = guestMemory.exports.growheap_stats() >>> 0;
  const words = new DataView(guestMemory.bytes().buffer, address, 8 * (1 + STATS_FIELDS.length));
  const version = words.getBigUint64(0, true);
  if (version !== 1n) {
    throw new Error(`growheap_stats layout version ${version}, expected 1`);
  }
  const stats = {};
  STATS_FIELDS.forEach((field, index) => {
    stats[field] = Number(words.getBigUint64(8 * (index + 1), true));
  });
  return stats;
}

/** Instantiate a growheap guest module with its hook wired to a new GuestMemory. */
export async function instantiateGuest(wasmBytes, options) {
  const guestMemory = new GuestMemory(options);
  const { instance } = await WebAssembly.instantiate(wasmBytes, guestMemory.imports());
  guestMemory.attach(instance);
  return guestMemory;
}
