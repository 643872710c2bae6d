// Kernels launched per search step, by mode: on a GPU, where each kernel costs tens of
// microseconds of dispatch, the count sets the step time of small supernets.
//   npx tsx bench/kernel-count.ts [--channels 4 --layers 3 --batch-size 2] [--no-fused]
// "launched" leaves out Reshape, Identity and same-dtype Cast, which move no data on webgpu,
// and customGrad's wrapper entries; every other kernel is a GPU dispatch there.
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/cli/flags';
import { SearchEngine } from '../src/search/engine';
import { makeConfig, type SearchMode } from '../src/search/space';
import { makeSearchStreams, makeSyntheticDataset } from '../src/data/index';
import { installSafeAddN } from '../src/search/safety';
import { setFusedKernels } from '../src/search/fused';

tf.env().set('PROD', true);
const flags = parseFlags(process.argv.slice(2));
const channels = flags.int('channels', 4);
const layers = flags.int('layers', 3);
const batchSize = flags.int('batch-size', 2);
const fused = !flags.bool('no-fused');
flags.assertAllUsed();
await tf.setBackend('cpu');
installSafeAddN('cpu');
setFusedKernels(fused);

// Count every kernel the engine runs (tf.profile overflows the stack on 100k+ kernels).
const counts = new Map<string, number>();
let counting = false;
type KernelCall = { kernelName?: string; inputs?: Record<string, tf.TensorInfo>; attrs?: { dtype?: string } };
const engine = tf.engine() as unknown as { runKernelFunc(p: KernelCall): unknown };
const runKernelFunc = engine.runKernelFunc.bind(engine);
engine.runKernelFunc = (p) => {
  if (counting) {
    const sameDtypeCast = p.kernelName === 'Cast' && p.inputs?.x?.dtype === p.attrs?.dtype;
    const name = sameDtypeCast ? 'Cast (no-op)' : (p.kernelName ?? 'forward');
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return runKernelFunc(p);
};
const free = new Set(['Reshape', 'Identity', 'Cast (no-op)', 'forward']);

const dataset = makeSyntheticDataset({ seed: 1, height: 8, width: 8, channels: 3, classes: 4, trainCount: 64, testCount: 8 });
const launched: Record<string, number> = {};
console.log(`C=${channels} L=${layers} batch ${batchSize}, 8x8x3 images, fused kernels ${fused ? 'on' : 'off'}`);
for (const mode of ['darts', 'factorized', 'nonfactorized'] as SearchMode[]) {
  const config = makeConfig({ mode, channels, layers, batchSize, maxSteps: 3 });
  const engineForMode = new SearchEngine(config, { height: 8, width: 8, channels: 3, classes: 4 }, makeSearchStreams(dataset, { batchSize, seed: 1 }));
  await engineForMode.runStep();
  counts.clear();
  counting = true;
  await engineForMode.runStep();
  counting = false;
  const all = [...counts.values()].reduce((a, b) => a + b, 0);
  launched[mode] = [...counts].filter(([n]) => !free.has(n)).reduce((a, [, c]) => a + c, 0);
  const top = [...counts].filter(([n]) => !free.has(n)).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, c]) => `${n} ${c}`).join(', ');
  console.log(`${mode}: ${launched[mode]} kernels launched per step (${all} with the no-ops); top: ${top}`);
  engineForMode.dispose();
}
console.log(`factorized/darts ${(launched.factorized / launched.darts).toFixed(2)}x, nonfactorized/factorized ${(launched.nonfactorized / launched.factorized).toFixed(2)}x`);
