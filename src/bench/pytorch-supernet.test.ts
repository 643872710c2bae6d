// bench/pytorch_supernet.py is the lab's supernet in PyTorch, for timing the two on one GPU: a
// comparison only means something if it is the same network, so its ω counts must equal the lab's.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Supernet } from '../search/supernet';
import { Random } from '../util/random';
import { makeConfig, type SearchMode } from '../search/space';
import { findTorchPython } from '../search/testdata/fixtures';

const PYTHON = findTorchPython();
if (!PYTHON) console.log('skipped: python3-torch not installed, so bench/pytorch_supernet.py was not checked');
const script = fileURLToPath(new URL('../../bench/pytorch_supernet.py', import.meta.url));

describe('the PyTorch twin of the supernet (bench/pytorch_supernet.py)', () => {
  it.skipIf(!PYTHON)(
    "has the lab's ω count in every mode at C=16, L=8",
    async () => {
      await tf.setBackend('cpu');
      const r = spawnSync(PYTHON!, [script, '--check-counts'], { encoding: 'utf8', timeout: 300_000 });
      expect(r.status, r.stderr).toBe(0);
      const counts = JSON.parse(r.stdout.trim()) as Record<SearchMode, number>;
      for (const mode of ['darts', 'factorized', 'nonfactorized'] as SearchMode[]) {
        const net = new Supernet(
          {
            config: makeConfig({ mode, channels: 16, layers: 8 }),
            input: { height: 32, width: 32, channels: 3, classes: 10 },
          },
          new Random(1),
        );
        expect(counts[mode], mode).toBe(net.countWeights());
        net.dispose();
      }
      expect(counts.darts).toBe(1_930_618);
    },
    300_000,
  );
});
