// npm run bench [-- --backend wasm|cpu|webgpu --sizes quick,paper --steps 10 --paper-steps 3 --full --no-fused --no-split]
// Prints a table of search-step timings and writes the same as JSON to bench/results/.
// The same bench in Chromium, every backend the browser offers: npm run bench:browser (bench/browser.mjs).
import { mkdir, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/util/flags';
import { runBench } from '../src/bench/node-bench';
import { formatRatios, formatTable } from '../src/bench/report';

tf.env().set('PROD', true);

const flags = parseFlags(process.argv.slice(2));
const result = await runBench(flags);
console.log(
  `\nSearch-step bench on ${result.backend}${result.adapterInfo ? ' ' + result.adapterInfo : ''}, fused kernels ${result.fusedKernels ? 'on' : 'off'}, ${result.date}`,
);
console.log(formatTable(result.rows, result.failures));
const ratioLines = formatRatios(result.rows);
if (ratioLines.length) console.log(`\nRatios (ms per step):\n${ratioLines.map((l) => `  ${l}`).join('\n')}`);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
const name = `node-${result.backend}${result.fusedKernels ? '' : '-unfused'}.json`;
await writeFile(new URL(`./results/${name}`, import.meta.url), JSON.stringify(result, null, 2) + '\n');
console.log(`\nwritten: bench/results/${name}`);
process.exit(0);
