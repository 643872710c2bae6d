// factorized/darts cost per search step, with the two engines' steps interleaved (d, f, d, f, …)
// so that a busy machine slows both alike: a ratio that survives noise the separate bench rows
// do not.   npx tsx bench/ratio.ts [--backend wasm] [--size quick] [--steps 8] [--no-fused]
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/util/flags';
import { NODE_BACKENDS, useBackend, type NodeBackend } from '../src/platform/node';
import { SearchEngine } from '../src/search/engine';
import { makeConfig, type SearchMode } from '../src/search/space';
import { makeSearchStreams, makeSyntheticDataset } from '../src/data/index';
import { BENCH_SIZES, median, type BenchSize } from '../src/bench/report';

tf.env().set('PROD', true);
const flags = parseFlags(process.argv.slice(2));
const backend = flags.enumOf('backend', NODE_BACKENDS, 'wasm') as NodeBackend;
const sizeName = flags.string('size', 'quick') as BenchSize;
const steps = flags.int('steps', 8);
const fused = !flags.bool('no-fused');
flags.assertAllUsed();
await useBackend(backend);
const size = BENCH_SIZES[sizeName];
const dataset = makeSyntheticDataset({
  seed: 1,
  height: size.height,
  width: size.width,
  channels: size.inChannels,
  classes: size.classes,
  trainCount: 256,
  testCount: 16,
});
const modes: SearchMode[] = ['darts', 'factorized'];
const engines = modes.map(
  (mode) =>
    new SearchEngine(
      makeConfig({
        mode,
        channels: size.channels,
        layers: size.layers,
        batchSize: size.batchSize,
        maxSteps: steps + 2,
      }),
      { height: size.height, width: size.width, channels: size.inChannels, classes: size.classes },
      makeSearchStreams(dataset, { batchSize: size.batchSize, seed: 1 }),
      { fused },
    ),
);
const times: number[][] = modes.map(() => []);
for (let i = 0; i < steps + 1; i++) {
  for (let m = 0; m < modes.length; m++) {
    const t = performance.now();
    await engines[m].runStep();
    if (i > 0) times[m].push(performance.now() - t); // the first step of each warms up
  }
}
const [darts, factorized] = times.map(median);
const pairRatios = times[1].map((f, i) => f / times[0][i]);
console.log(
  `${backend} ${sizeName}, fused kernels ${fused ? 'on' : 'off'}: darts ${darts.toFixed(0)} ms/step, factorized ${factorized.toFixed(0)} ms/step (medians of ${steps})`,
);
console.log(
  `factorized/darts = ${(factorized / darts).toFixed(2)}x (median of per-pair ratios ${median(pairRatios).toFixed(2)}x)`,
);
engines.forEach((e) => e.dispose());
process.exit(0);
