// Kernels launched per search step, by mode: on a GPU, where each kernel costs tens of
// microseconds of dispatch, the count sets the step time of small supernets.
//   npx tsx bench/kernel-count.ts [--channels 4 --layers 3 --batch-size 2] [--no-fused] [--backend webgpu]
// "launched" leaves out the kernels that move no data on webgpu (src/bench/kernels.ts).
// On cpu (the default, fast) the count is webgpu's except for the depthwise convs, whose
// gradient kernels only webgpu has: --backend webgpu counts exactly (SwiftShader: minutes;
// needs the Vulkan environment of `npm run test:gpu`), --modes darts,factorized picks modes,
// --all lists every kernel, not the top 8.
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/util/flags';
import { SearchEngine } from '../src/search/engine';
import { makeConfig, type SearchMode } from '../src/search/space';
import { makeSearchStreams, makeSyntheticDataset } from '../src/data/index';
import { useBackend, type NodeBackend } from '../src/platform/node';
import { NO_OP_KERNELS, countKernels } from '../src/bench/kernels';

tf.env().set('PROD', true);
const flags = parseFlags(process.argv.slice(2));
const channels = flags.int('channels', 4);
const layers = flags.int('layers', 3);
const batchSize = flags.int('batch-size', 2);
const fused = !flags.bool('no-fused');
const backend = flags.string('backend', 'cpu') as NodeBackend;
const modes = flags.string('modes', 'darts,factorized,nonfactorized').split(',') as SearchMode[];
const topCount = flags.bool('all') ? Infinity : 8;
flags.assertAllUsed();
await useBackend(backend);

const dataset = makeSyntheticDataset({
  seed: 1,
  height: 8,
  width: 8,
  channels: 3,
  classes: 4,
  trainCount: 64,
  testCount: 8,
});
const launched: Record<string, number> = {};
console.log(
  `C=${channels} L=${layers} batch ${batchSize}, 8x8x3 images, fused kernels ${fused ? 'on' : 'off'}, counted on ${backend}`,
);
for (const mode of modes) {
  const config = makeConfig({ mode, channels, layers, batchSize, maxSteps: 3 });
  const engineForMode = new SearchEngine(
    config,
    { height: 8, width: 8, channels: 3, classes: 4 },
    makeSearchStreams(dataset, { batchSize, seed: 1 }),
    { fused },
  );
  await engineForMode.runStep();
  const { launched: n, byName } = await countKernels(() => engineForMode.runStep());
  const all = [...byName.values()].reduce((a, b) => a + b, 0);
  launched[mode] = n;
  const top = [...byName]
    .filter(([name]) => !NO_OP_KERNELS.has(name))
    .sort((a, b) => b[1] - a[1])
    .slice(0, topCount)
    .map(([n, c]) => `${n} ${c}`)
    .join(', ');
  console.log(`${mode}: ${launched[mode]} kernels launched per step (${all} with the no-ops); top: ${top}`);
  engineForMode.dispose();
}
if (launched.darts && launched.factorized)
  console.log(`factorized/darts ${(launched.factorized / launched.darts).toFixed(2)}x`);
if (launched.factorized && launched.nonfactorized)
  console.log(`nonfactorized/factorized ${(launched.nonfactorized / launched.factorized).toFixed(2)}x`);
