// Peak bytes a search step holds at once, by mode, with cells kept and recomputed: what sets the
// largest supernet a backend can search (wasm's heap stops at 4 GiB). Bytes of distinct live
// buffers (a reshape, a clone or a handle shares its tensor's buffer), weights and optimiser
// state included; wasm's heap; the estimate the setup shows (src/search/memory-estimate.ts).
//   npx tsx bench/peak-memory.ts [--backend wasm] [--null] [--size quick] [--batch-size N]
//     [--modes darts,factorized] [--recompute both|on|off|auto]
// One paper-size step at the paper's batch: npm run --silent lab -- memory --preset paper.
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/util/flags';
import { NODE_BACKENDS, useBackend, useNullWebGpu, type NodeBackend } from '../src/platform/node';
import { makeConfig, type SearchMode } from '../src/search/space';
import { BENCH_SIZES, type BenchSize } from '../src/bench/report';
import { measureStepMemory, trackBuffers } from '../src/bench/memory';

tf.env().set('PROD', true);
const flags = parseFlags(process.argv.slice(2));
const onNull = flags.bool('null');
const backend = flags.enumOf('backend', NODE_BACKENDS, onNull ? 'webgpu' : 'wasm') as NodeBackend;
const sizeName = flags.string('size', 'quick') as BenchSize;
const modes = flags.string('modes', 'darts,factorized').split(',') as SearchMode[];
const recomputeFlag = flags.enumOf('recompute', ['both', 'on', 'off', 'auto'] as const, 'both');
const size = BENCH_SIZES[sizeName];
if (!size) throw new Error(`--size: unknown size ${sizeName}`);
const batchSize = flags.int('batch-size', size.batchSize);
flags.assertAllUsed();

trackBuffers();
if (onNull) await useNullWebGpu();
else await useBackend(backend);
const input = { height: size.height, width: size.width, channels: size.inChannels, classes: size.classes };
const options: (boolean | 'auto')[] =
  recomputeFlag === 'both' ? [false, true] : [recomputeFlag === 'auto' ? 'auto' : recomputeFlag === 'on'];
const mb = (bytes: number | null) => (bytes === null ? '-' : (bytes / 1e6).toFixed(1));
for (const mode of modes)
  for (const recompute of options) {
    const config = makeConfig({ mode, channels: size.channels, layers: size.layers, batchSize });
    const label = `${backend}${onNull ? ' (null adapter)' : ''} ${sizeName} ${mode} batch ${batchSize}`;
    try {
      const m = await measureStepMemory(config, input, { engine: { recompute } });
      console.log(
        `${label}, cells ${m.recompute ? 'recomputed' : 'kept'}: peak ${mb(m.peakBytes)} MB (estimate ${mb(m.estimateBytes)}), held ${mb(m.heldBytes)} MB, heap ${mb(m.heapBytes)} MB, ${m.msPerStep.toFixed(0)} ms a step`,
      );
    } catch (e) {
      console.log(`${label}: failed (${((e as Error).message || String(e)).slice(0, 200)})`);
    }
  }
process.exit(0);
