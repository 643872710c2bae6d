// Kernels launched per search step and per forward/backward, by mode: on a GPU, where each
// kernel costs tens of microseconds of dispatch, the count sets the step time of small supernets.
//   npx tsx bench/kernel-count.ts [--channels 4 --layers 3 --batch-size 2]
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../src/cli/flags';
import { SearchEngine } from '../src/search/engine';
import { makeConfig, type SearchMode } from '../src/search/space';
import { makeSearchStreams, makeSyntheticDataset } from '../src/data/index';
import { installSafeAddN } from '../src/search/safety';

tf.env().set('PROD', true);
const flags = parseFlags(process.argv.slice(2));
const channels = flags.int('channels', 4);
const layers = flags.int('layers', 3);
const batchSize = flags.int('batch-size', 2);
flags.assertAllUsed();
await tf.setBackend('cpu');
installSafeAddN('cpu');
const dataset = makeSyntheticDataset({ seed: 1, height: 8, width: 8, channels: 3, classes: 4, trainCount: 64, testCount: 8 });
for (const mode of ['darts', 'factorized', 'nonfactorized'] as SearchMode[]) {
  const config = makeConfig({ mode, channels, layers, batchSize, maxSteps: 3 });
  const engine = new SearchEngine(config, { height: 8, width: 8, channels: 3, classes: 4 }, makeSearchStreams(dataset, { batchSize, seed: 1 }));
  await engine.runStep();
  const info = await tf.profile(async () => void (await engine.runStep()));
  const byName = new Map<string, number>();
  for (const k of info.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + 1);
  const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, c]) => `${n} ${c}`).join(', ');
  console.log(`${mode}: ${info.kernels.length} kernels per step (${top})`);
  engine.dispose();
}
