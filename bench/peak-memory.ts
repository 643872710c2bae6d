// Peak bytes a search step holds at once (tf.profile's peakBytes), by mode: what sets the
// largest supernet a backend can search (wasm's heap stops at 4 GB).
//   npx tsx bench/peak-memory.ts [--backend wasm] [--size quick] [--modes darts,factorized]
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/cli/flags';
import { NODE_BACKENDS, useBackend, type NodeBackend } from '../src/cli/backend';
import { SearchEngine } from '../src/search/engine';
import { makeConfig, type SearchMode } from '../src/search/space';
import { makeSearchStreams, makeSyntheticDataset } from '../src/data/index';
import { BENCH_SIZES, type BenchSize } from '../src/bench/report';

tf.env().set('PROD', true);
const flags = parseFlags(process.argv.slice(2));
const backend = flags.enumOf('backend', NODE_BACKENDS, 'wasm') as NodeBackend;
const sizeName = flags.string('size', 'quick') as BenchSize;
const modes = flags.string('modes', 'darts,factorized').split(',') as SearchMode[];
flags.assertAllUsed();
const size = BENCH_SIZES[sizeName];
if (!size) throw new Error(`--size: unknown size ${sizeName}`);
await useBackend(backend);
const input = { height: size.height, width: size.width, channels: size.inChannels, classes: size.classes };
const dataset = makeSyntheticDataset({ seed: 1, height: size.height, width: size.width, channels: size.inChannels, classes: size.classes, trainCount: 4 * size.batchSize, testCount: 8 });
for (const mode of modes) {
  const config = makeConfig({ mode, channels: size.channels, layers: size.layers, batchSize: size.batchSize, maxSteps: 4 });
  const engine = new SearchEngine(config, input, makeSearchStreams(dataset, { batchSize: size.batchSize, seed: 1 }));
  try {
    await engine.runStep();
    const held = tf.memory().numBytes;
    const info = await tf.profile(async () => {
      await engine.runStep();
    });
    console.log(`${backend} ${sizeName} ${mode}: peak ${(info.peakBytes / 2 ** 20).toFixed(0)} MB during a step, ${(held / 2 ** 20).toFixed(1)} MB held between steps`);
  } catch (e) {
    console.log(`${backend} ${sizeName} ${mode}: failed (${((e as Error).message || String(e)).slice(0, 160)})`);
  } finally {
    engine.dispose();
  }
}
