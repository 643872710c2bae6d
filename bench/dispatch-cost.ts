// The CPU side of a webgpu search step, measured on Dawn's null adapter (src/bench/dispatch-cost.ts):
// what a step costs before any GPU runs it, on any machine.
//   npx tsx bench/dispatch-cost.ts [--channels 16 --layers 8] [--modes darts,factorized] [--steps 8]
//                                  [--compare packed-sgd|fused|grouped]
// --compare alternates between the feature on and off, so that the machine's load hits both
// alike (the first step after each switch runs untimed), and prints both medians.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseFlags } from '../src/util/flags';
import { dispatchCostOptions, measureDispatchCost } from '../src/bench/dispatch-cost';

const options = dispatchCostOptions(parseFlags(process.argv.slice(2)));
console.log(
  `CPU side of a webgpu search step (Dawn's null adapter: no command runs), C=${options.channels} L=${options.layers}, median of ${options.steps} steps`,
);
const result = await measureDispatchCost(options, (line) => console.log(line));
const first = (mode: string) => result.rows.find((r) => r.mode === mode);
const darts = first('darts');
const factorized = first('factorized');
if (darts && factorized) console.log(`factorized/darts ${(factorized.msPerStep / darts.msPerStep).toFixed(2)}x`);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
const name = `dispatch-cost-C${options.channels}-L${options.layers}${options.compare ? `-${options.compare}` : ''}.json`;
await writeFile(
  new URL(`./results/${name}`, import.meta.url),
  JSON.stringify(
    {
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
      adapter: "Dawn's null adapter (no command runs)",
      ...result,
    },
    null,
    2,
  ) + '\n',
);
console.log(`written: bench/results/${name}`);
process.exit(0);
