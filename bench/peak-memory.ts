// Peak bytes a search step holds at once, by mode: what sets the largest supernet a backend can
// search (wasm's heap stops at 4 GB). Two figures: the bytes of distinct buffers (a reshape, a
// clone or a handle shares its tensor's buffer), and tf.profile's peakBytes, which counts every
// tensor at full size, views included.
//   npx tsx bench/peak-memory.ts [--backend wasm] [--size quick] [--modes darts,factorized]
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/util/flags';
import { NODE_BACKENDS, useBackend, type NodeBackend } from '../src/platform/node';
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
/** Bytes of the engine's distinct data buffers, and their peak since the last reset. */
function trackBuffers() {
  const info = (tf.engine() as unknown as { state: { tensorInfo: WeakMap<object, { bytes: number }> } }).state
    .tensorInfo;
  const sizes = new WeakMap<object, number>();
  let bytes = 0;
  let peak = 0;
  const set = info.set.bind(info);
  const remove = info.delete.bind(info);
  info.set = (dataId, value) => {
    if (!info.has(dataId)) {
      bytes += value.bytes;
      peak = Math.max(peak, bytes);
      sizes.set(dataId, value.bytes);
    }
    return set(dataId, value);
  };
  info.delete = (dataId) => {
    if (info.has(dataId)) bytes -= sizes.get(dataId) ?? 0;
    return remove(dataId);
  };
  return { startPeak: () => (peak = bytes), peak: () => peak };
}

const size = BENCH_SIZES[sizeName];
if (!size) throw new Error(`--size: unknown size ${sizeName}`);
await useBackend(backend);
const buffers = trackBuffers();
const input = { height: size.height, width: size.width, channels: size.inChannels, classes: size.classes };
const dataset = makeSyntheticDataset({
  seed: 1,
  height: size.height,
  width: size.width,
  channels: size.inChannels,
  classes: size.classes,
  trainCount: 4 * size.batchSize,
  testCount: 8,
});
for (const mode of modes) {
  const config = makeConfig({
    mode,
    channels: size.channels,
    layers: size.layers,
    batchSize: size.batchSize,
    maxSteps: 5,
  });
  const engine = new SearchEngine(config, input, makeSearchStreams(dataset, { batchSize: size.batchSize, seed: 1 }));
  try {
    await engine.runStep();
    const held = tf.memory().numBytes;
    buffers.startPeak();
    await engine.runStep();
    const peak = buffers.peak();
    const info = await tf.profile(async () => {
      await engine.runStep();
    });
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    console.log(
      `${backend} ${sizeName} ${mode}: peak ${mb(peak)} MB of buffers during a step (tf.profile, views counted in full: ${mb(info.peakBytes)} MB), ${(held / 2 ** 20).toFixed(1)} MB held between steps`,
    );
  } catch (e) {
    console.log(`${backend} ${sizeName} ${mode}: failed (${((e as Error).message || String(e)).slice(0, 160)})`);
  } finally {
    engine.dispose();
  }
}
