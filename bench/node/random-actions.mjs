// random-actions under Node (V8), where memory.grow costs far more than under wasmtime.
// usage: node random-actions.mjs WASM_DIR RUNS INSTANCES SLOW NAME...
// SLOW is a comma list (or "-") of allocators too slow for more than 1 instance of 1 timed run.
// Prints TSV on stdout: "node\tversion\tV", then per allocator and mode
// "NAME\tWORKLOAD\tmedian\tmin\tmax" in actions/µs (median over fresh instances).
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
for (const name of names) {
  const module = new WebAssembly.Module(readFileSync(join(wasmDir, `${name}.wasm`)));
  const [runs, instances] = slow.has(name) ? [1, 1] : [Number(runsText), Number(instancesText)];
  for (const { key, realloc } of modes) {
    const speeds = [];
    for (let instance = 0; instance < instances; instance += 1) {
      const speed = actionsPerMicrosecond(module, realloc, runs);
      if (speed !== null) speeds.push(speed);
    }
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
}
