// npm run bench [-- --backend wasm|cpu|webgpu --sizes quick,paper --steps 10 --paper-steps 3 --full]
// Prints a table of search-step timings and writes the same as JSON to bench/results/.
// The same bench in Chromium, every backend the browser offers: npm run bench:browser (bench/browser.mjs).
import { mkdir, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/cli/flags';
import { runBench } from '../src/cli/bench';
import { formatRatios, formatTable } from '../src/bench/report';

tf.env().set('PROD', true);

const flags = parseFlags(process.argv.slice(2));
const result = await runBench(flags);
console.log(`\nSearch-step bench on ${result.backend}${result.adapterInfo ? ' ' + result.adapterInfo : ''}, ${result.date}`);
console.log(formatTable(result.rows, result.failures));
const ratioLines = formatRatios(result.rows);
if (ratioLines.length) console.log(`\nRatios (ms per step):\n${ratioLines.map((l) => `  ${l}`).join('\n')}`);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
const out = new URL(`./results/node-${result.backend}.json`, import.meta.url);
await writeFile(out, JSON.stringify(result, null, 2) + '\n');
console.log(`\nwritten: bench/results/node-${result.backend}.json`);
process.exit(0);
