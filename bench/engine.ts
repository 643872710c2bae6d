// npm run bench [-- --backend wasm|cpu|webgpu --sizes quick,paper --steps 10 --paper-steps 3 --full]
// Prints a table of search-step timings and writes the same as JSON to bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/cli/flags';
import { runBench } from '../src/cli/bench';

tf.env().set('PROD', true);

const flags = parseFlags(process.argv.slice(2));
const result = await runBench(flags);
const fmt = (v: number | null, digits = 1) => (v === null ? '—' : v.toFixed(digits));
console.log(`\nSearch-step bench on ${result.backend}${result.adapterInfo ? ' ' + result.adapterInfo : ''}, ${result.date}`);
console.log('| size | mode | arch update | ms/step (median) | images/s | forward ms | fwd+bwd ms | optimisers ms | GFLOP/s | tensors | MB held |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of result.rows)
  console.log(
    `| ${r.size} | ${r.mode} | ${r.archUpdate} | ${fmt(r.msPerStep, 0)} | ${fmt(r.imagesPerSecond)} | ${fmt(r.forwardMs, 0)} | ${fmt(r.forwardBackwardMs, 0)} | ${fmt(r.optimizerMs, 0)} | ${fmt(r.gflopsPerSecond, 2)} | ${r.tensors} | ${fmt(r.megabytes)} |`,
  );
for (const f of result.failures) console.log(`| ${f.size} | ${f.mode} | ${f.archUpdate} | failed: ${f.reason.split('\n')[0].slice(0, 80)} |`);
console.log('\nRatios (ms per step):');
for (const [k, v] of Object.entries(result.ratios)) console.log(`  ${k} = ${v.toFixed(2)}x`);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
const out = new URL(`./results/node-${result.backend}.json`, import.meta.url);
await writeFile(out, JSON.stringify(result, null, 2) + '\n');
console.log(`\nwritten: bench/results/node-${result.backend}.json`);
process.exit(0);
