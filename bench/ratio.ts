// factorized/darts cost per search step, with the two engines' steps interleaved (d, f, d, f, …)
// so that a busy machine slows both alike: a ratio that survives noise the separate bench rows
// do not.   npx tsx bench/ratio.ts [--backend wasm] [--size quick] [--steps 8] [--no-fused]
// --compare recompute [--mode factorized] [--batch-size N]: cells recomputed against kept, one mode.
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
const compare = flags.enumOf('compare', ['modes', 'recompute'] as const, 'modes');
const onlyMode = flags.enumOf('mode', ['darts', 'factorized', 'fixed-beta', 'nonfactorized'] as const, 'factorized');
const size = { ...BENCH_SIZES[sizeName], batchSize: flags.int('batch-size', BENCH_SIZES[sizeName].batchSize) };
flags.assertAllUsed();
await useBackend(backend);
const dataset = makeSyntheticDataset({
  seed: 1,
  height: size.height,
  width: size.width,
  channels: size.inChannels,
  classes: size.classes,
  trainCount: 256,
  testCount: 16,
});
// Two engines: darts and factorized, or one mode with cells kept and recomputed.
const variants: { mode: SearchMode; recompute: boolean | 'auto'; label: string }[] =
  compare === 'modes'
    ? [
        { mode: 'darts', recompute: 'auto', label: 'darts' },
        { mode: 'factorized', recompute: 'auto', label: 'factorized' },
      ]
    : [
        { mode: onlyMode, recompute: false, label: `${onlyMode}, cells kept` },
        { mode: onlyMode, recompute: true, label: `${onlyMode}, cells recomputed` },
      ];
const modes = variants.map((v) => v.mode);
const engines = variants.map(
  ({ mode, recompute }) =>
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
      { fused, recompute },
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
const [first, second] = times.map(median);
const pairRatios = times[1].map((f, i) => f / times[0][i]);
const [a, b] = variants.map((v) => v.label);
console.log(
  `${backend} ${sizeName}, batch ${size.batchSize}, fused kernels ${fused ? 'on' : 'off'}: ${a} ${first.toFixed(0)} ms/step, ${b} ${second.toFixed(0)} ms/step (medians of ${steps})`,
);
console.log(
  `${b} / ${a} = ${(second / first).toFixed(2)}x (median of per-pair ratios ${median(pairRatios).toFixed(2)}x)`,
);
engines.forEach((e) => e.dispose());
process.exit(0);
