// random-actions under Node (V8), where memory.grow costs far more than under wasmtime.
// usage: node random-actions.mjs WASM_DIR RUNS INSTANCES SLOW NAME...
// SLOW is a comma list (or "-") of allocators too slow for more than 1 instance of 1 timed run.
// Prints TSV on stdout: "node\tversion\tV", then per allocator and mode
// "NAME\tWORKLOAD\tmedian\tmin\tmax" in actions/µs (median over fresh instances, run in rounds
// over every allocator and mode).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const [wasmDir, runsText, instancesText, slowText, ...names] = process.argv.slice(2);
const slow = new Set(slowText.split(","));
const modes = [
  { key: "random-actions", realloc: 0 },
  { key: "random-actions-realloc", realloc: 1 },
];

function actionsPerMicrosecond(module, realloc, runs) {
  const { exports } = new WebAssembly.Instance(module, {});
  const wanted = exports.random_actions_per_run();
  if (exports.random_actions(realloc) !== wanted) return null; // warm-up; out of memory
  const start = performance.now();
  let actions = 0;
  for (let run = 0; run < runs; run += 1) actions += exports.random_actions(realloc);
  const elapsedMs = performance.now() - start;
  return actions / (elapsedMs * 1000);
}

console.log(`node\tversion\t${process.versions.node}`);
// Every allocator and mode, each with its fresh instances to run.
const entries = names.flatMap((name) => {
  const module = new WebAssembly.Module(readFileSync(join(wasmDir, `${name}.wasm`)));
  const [runs, instances] = slow.has(name) ? [1, 1] : [Number(runsText), Number(instancesText)];
  return modes.map(({ key, realloc }) => ({ name, key, realloc, module, runs, instances, speeds: [] }));
});
// Side by side: round k runs the k-th instance of every entry, starting one further along the
// list each round, so that a slow spell of the machine falls on all allocators alike.
const rounds = Math.max(0, ...entries.map((entry) => entry.instances));
for (let round = 0; round < rounds; round += 1) {
  for (let offset = 0; offset < entries.length; offset += 1) {
    const entry = entries[(offset + round) % entries.length];
    if (round >= entry.instances) continue;
    const speed = actionsPerMicrosecond(entry.module, entry.realloc, entry.runs);
    if (speed !== null) entry.speeds.push(speed);
  }
}
for (const { name, key, speeds } of entries) {
  if (speeds.length === 0) {
    process.stderr.write(`node: ${name} ${key}: out of memory\n`);
    continue;
  }
  speeds.sort((a, b) => a - b);
  const middle = Math.floor(speeds.length / 2);
  const median = speeds.length % 2 ? speeds[middle] : (speeds[middle - 1] + speeds[middle]) / 2;
  const fixed = (value) => value.toFixed(2);
  console.log([name, key, fixed(median), fixed(speeds[0]), fixed(speeds.at(-1))].join("\t"));
  process.stderr.write(`node: ${name.padEnd(16)} ${key.padEnd(24)} ${fixed(median)} actions/us\n`);
}
