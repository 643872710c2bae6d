// Shared test fixtures: a genotype using every op and every activation, and the Python that
// has torch (for the checks against the exported PyTorch module).
import { spawnSync } from 'node:child_process';
import type { Genotype, GenotypeEdge } from '../genotype';
import type { ActivationName, OpName } from '../space';

const e = (op: OpName, from: number, activation: ActivationName | null = null): GenotypeEdge => ({
  op,
  from,
  activation,
});

/** Every activation and every op (skip_connect at stride 2 too: FactorizedReduce in the reduce cell). */
export const ALL_ACTIVATIONS: Genotype = {
  normal: [
    e('sep_conv_3x3', 0, 'relu'),
    e('sep_conv_5x5', 1, 'relu6'),
    e('dil_conv_3x3', 0, 'leaky_relu'),
    e('dil_conv_5x5', 2, 'prelu'),
    e('sep_conv_3x3', 3, 'rrelu'),
    e('skip_connect', 1),
    e('sep_conv_5x5', 4, 'elu'),
    e('avg_pool_3x3', 0),
  ],
  normalConcat: [2, 3, 4, 5],
  reduce: [
    e('dil_conv_3x3', 0, 'celu'),
    e('sep_conv_3x3', 1, 'selu'),
    e('skip_connect', 0),
    e('dil_conv_5x5', 2, 'swish'),
    e('max_pool_3x3', 1),
    e('sep_conv_5x5', 3, 'prelu'),
    e('avg_pool_3x3', 0),
    e('skip_connect', 4),
  ],
  reduceConcat: [2, 3, 4, 5],
};

/** The first Python that imports torch: $PYTHON, python3, /usr/bin/python3 (Debian's python3-torch
 * lives there even when a pyenv python3 comes first on PATH), python. */
export function findTorchPython(): string | null {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3', 'python'].filter((x): x is string => !!x);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}
