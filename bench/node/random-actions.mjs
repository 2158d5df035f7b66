// random-actions under Node (V8), the second host the benchmark issue asks for, and the cost of one
// memory growth there.
// usage: node random-actions.mjs WASM_DIR RUNS INSTANCES SLOW APART NAME...
// SLOW is a comma list (or "-") of allocators too slow for more than 1 instance of 1 timed run.
// APART is growheap's build with `prepare_heap` (or "-"), whose first run is taken apart.
// Prints TSV on stdout: "node\tversion\tV"; "node\tmax-pages\tP", the cap on its runs' memory;
// "node\tgrow-us\tmedian\tmean\tmax", the time of one WebAssembly.Memory.prototype.grow by one
// page, in µs; then per allocator and mode
// "NAME\tWORKLOAD\tmedian\tmin\tmax" in actions/µs over the timed runs, and
// "NAME\tWORKLOAD first run\tmedian\tmin\tmax" over the first run of each instance, the one in
// which memory grows (medians over fresh instances, run in rounds over every allocator and mode);
// "NAME\tWORKLOAD rounds\tV..." with the timed speed of each round's instance in round order
// ("-" where it ran out of memory), so that the driver can pair allocators round by round;
// then, with APART, "growheap\tWORKLOAD first run, START\tmedian\tmin\tmax\tpages": its
// first run taken apart (see bench/driver/src/first_run.rs), first ÷ timed per instance, and the
// most pages a first run grew.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const [wasmDir, runsText, instancesText, slowText, apart, ...names] = process.argv.slice(2);
const slow = new Set(slowText.split(","));
const modes = [
  { key: "random-actions", realloc: 0 },
  { key: "random-actions-realloc", realloc: 1 },
];

// The wasmtime host refuses growth past this many pages (`DEFAULT_CAP_PAGES` in
// bench/driver/src/host.rs). The guests' memories declare no maximum, so here an instance that has
// grown past it counts as out of memory, as it would have run out there.
const MAX_PAGES = 4096;

// Whether a run did all its actions with no request refused, within the cap.
function clean(exports, done, wanted) {
  return done === wanted && exports.random_actions_failures() === 0 && exports.memory.buffer.byteLength / 65536 <= MAX_PAGES;
}

// One fresh instance: actions/µs of its first run (which grows memory; it is also the warm-up)
// and of the timed runs after it, and the pages its first run grew. `prepare`, if given, has the
// instance's exports first. Null if a run ran out of memory or had a request refused (the
// wasmtime host marks such rows).
function speeds(module, realloc, runs, prepare = null) {
  const { exports } = new WebAssembly.Instance(module, {});
  if (prepare !== null) prepare(exports);
  const wanted = exports.random_actions_per_run();
  const bytesBefore = exports.memory.buffer.byteLength;
  let start = performance.now();
  if (!clean(exports, exports.random_actions(realloc), wanted)) return null;
  const first = wanted / ((performance.now() - start) * 1000);
  const pages = (exports.memory.buffer.byteLength - bytesBefore) / 65536;
  start = performance.now();
  let actions = 0;
  for (let run = 0; run < runs; run += 1) {
    const done = exports.random_actions(realloc);
    if (!clean(exports, done, wanted)) return null;
    actions += done;
  }
  return { first, pages, timed: actions / ((performance.now() - start) * 1000) };
}

// µs per WebAssembly.Memory.prototype.grow of one page, from 1 page up to 128 (the size
// random-actions reaches is about 50 pages), over fresh memories of the same kind as the
// guests' (no maximum).
function growMicroseconds(memories) {
  const times = [];
  for (let count = 0; count < memories; count += 1) {
    const memory = new WebAssembly.Memory({ initial: 1 });
    for (let page = 1; page < 128; page += 1) {
      const start = performance.now();
      memory.grow(1);
      times.push((performance.now() - start) * 1000);
    }
  }
  return times;
}

function summary(values) {
  values.sort((a, b) => a - b);
  const middle = Math.floor(values.length / 2);
  const median = values.length % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
  return [median, values[0], values.at(-1)].map((value) => value.toFixed(2));
}

console.log(`node\tversion\t${process.versions.node}`);
console.log(`node\tmax-pages\t${MAX_PAGES}`);
const grows = growMicroseconds(20);
const [growMedian, , growMax] = summary(grows);
const growMean = (grows.reduce((sum, time) => sum + time, 0) / grows.length).toFixed(2);
console.log(["node", "grow-us", growMedian, growMean, growMax].join("\t"));
process.stderr.write(`node: Memory.grow of one page: median ${growMedian} us, mean ${growMean} us\n`);
// Every allocator and mode, each with its fresh instances to run.
const entries = names.flatMap((name) => {
  const module = new WebAssembly.Module(readFileSync(join(wasmDir, `${name}.wasm`)));
  const [runs, instances] = slow.has(name) ? [1, 1] : [Number(runsText), Number(instancesText)];
  return modes.map(({ key, realloc }) => ({
    name, key, realloc, module, runs, instances, first: [], timed: [], byRound: [],
  }));
});
// V8 compiles a module's hot functions again, optimized, while they run. So that no timed run
// waits for that, each module first runs both modes once on a throwaway instance (except the
// slow ones, whose single timed run takes seconds anyway).
for (const { name, module, realloc } of entries) {
  if (!slow.has(name)) speeds(module, realloc, 0);
}
// Side by side: round k runs the k-th instance of every entry, starting one further along the
// list each round, so that a slow spell of the machine falls on all allocators alike.
const rounds = Math.max(0, ...entries.map((entry) => entry.instances));
for (let round = 0; round < rounds; round += 1) {
  for (let offset = 0; offset < entries.length; offset += 1) {
    const entry = entries[(offset + round) % entries.length];
    if (round >= entry.instances) continue;
    const speed = speeds(entry.module, entry.realloc, entry.runs);
    entry.byRound.push(speed === null ? "-" : speed.timed.toFixed(4));
    if (speed === null) continue;
    entry.first.push(speed.first);
    entry.timed.push(speed.timed);
  }
}
for (const { name, key, first, timed, byRound } of entries) {
  console.log([name, `${key} rounds`, ...byRound].join("\t"));
  if (timed.length === 0) {
    process.stderr.write(`node: ${name} ${key}: out of memory\n`);
    continue;
  }
  const [median, ...range] = summary(timed);
  const [firstMedian, ...firstRange] = summary(first);
  console.log([name, key, median, ...range].join("\t"));
  console.log([name, `${key} first run`, firstMedian, ...firstRange].join("\t"));
  process.stderr.write(
    `node: ${name.padEnd(16)} ${key.padEnd(24)} ${median} actions/us (first run ${firstMedian})\n`,
  );
}

// growheap's first run taken apart, on its build with `prepare_heap`: fresh instances that start
// as they are, with memory grown beforehand by the pages a first run grows (`prepare_heap` calls
// `GrowHeap::reserve`), or grown and written once every 4 KiB beforehand.
const starts = [
  { key: "as is", touch: null },
  { key: "grown", touch: 0 },
  { key: "grown and touched", touch: 1 },
];
const apartModule = apart === "-" ? null : new WebAssembly.Module(readFileSync(join(wasmDir, `${apart}.wasm`)));
const parts = (apartModule === null ? [] : modes).flatMap(({ key: mode, realloc }) => {
  // The pages its first run grows from a fresh start (this instance also warms the module up).
  const pages = speeds(apartModule, realloc, 0)?.pages ?? 0;
  const prepare = (touch) => (exports) => {
    if (exports.prepare_heap(pages * 65536, touch) !== 1) throw new Error("prepare_heap: growth refused");
  };
  return starts.map(({ key, touch }) => ({
    key: `${mode} first run, ${key}`,
    realloc,
    module: apartModule,
    prepare: touch === null ? null : prepare(touch),
    ratios: [],
    pages: 0,
  }));
});
for (let round = 0; round < Number(instancesText); round += 1) {
  for (let offset = 0; offset < parts.length; offset += 1) {
    const part = parts[(offset + round) % parts.length];
    const speed = speeds(part.module, part.realloc, Number(runsText), part.prepare);
    if (speed === null) continue;
    part.ratios.push(speed.first / speed.timed);
    part.pages = Math.max(part.pages, speed.pages);
  }
}
for (const { key, ratios, pages } of parts) {
  if (ratios.length === 0) continue;
  console.log(["growheap", key, ...summary(ratios), pages].join("\t"));
  process.stderr.write(`node: growheap ${key}: first ÷ timed ${summary(ratios)[0]}\n`);
}
