// The supernet computes the parameter-free work on an input state (pools and their BN, the
// parameter-free activations, the partial-channel slices) once for all the edges leaving it.
// That must change the kernel count and nothing else: same loss, same gradient for every
// variable, in every mode.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Supernet } from './supernet';
import { makeConfig, type SearchConfig } from './space';
import { Random } from '../util/random';
import { installSafeAddN } from '../kernels/safety';
import { countKernels } from '../bench/kernels';
import { KERNELS } from '../kernels/fused';
import { withKernelOptions } from '../kernels/options';

const input = { height: 8, width: 8, channels: 3, classes: 4 };

beforeAll(async () => {
  await tf.setBackend('cpu');
  installSafeAddN('cpu');
});
afterAll(() => tf.disposeVariables());

async function lossAndGradients(
  config: SearchConfig,
  shareInputWork: boolean,
  fanOutReaders = true,
  fused = true,
  groupEdges = true,
) {
  const net = new Supernet({ config, input, shareInputWork, fanOutReaders, groupEdges }, new Random(7));
  const images = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const labels = tf.tensor1d([1, 3]);
  const variables = net.namedVariables();
  let result: { loss: number; grads: Map<string, Float32Array> } | null = null;
  const counted = await countKernels(async () => {
    const { value, grads } = withKernelOptions({ fused }, () =>
      tf.variableGrads(
        () => net.loss(images, labels, { training: true, rng: new Random(11) }),
        variables.map((v) => v.variable),
      ),
    );
    const byName = new Map<string, Float32Array>();
    for (const v of variables) byName.set(v.name, (await grads[v.variable.name].data()) as Float32Array);
    result = { loss: (await value.data())[0], grads: byName };
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose([images, labels]);
  const unread = net.unreadHandles;
  net.dispose();
  return { ...result!, kernels: counted.byName, unread };
}

const cases: [string, Partial<SearchConfig>][] = [
  ['darts (relu, shared by the edges)', { mode: 'darts', activation: 'relu' }],
  ['darts (prelu, a slope per edge)', { mode: 'darts', activation: 'prelu' }],
  ['darts (rrelu, its own noise per edge)', { mode: 'darts', activation: 'rrelu' }],
  ['factorized', { mode: 'factorized' }],
  ['fixed β (Config-A)', { mode: 'fixed-beta' }],
  ['nonfactorized', { mode: 'nonfactorized' }],
  ['factorized with partial channels (A-PC-DARTS, K=2)', { mode: 'factorized', partialChannels: 2 }],
];

describe('work shared by the edges leaving one state', () => {
  for (const [label, overrides] of cases) {
    it(`${label}: same loss and gradients, 15 max pools a pass instead of 42`, async () => {
      const config = makeConfig({ channels: 4, layers: 3, batchSize: 2, ...overrides });
      const shared = await lossAndGradients(config, true);
      const separate = await lossAndGradients(config, false);
      expect(Number.isFinite(shared.loss)).toBe(true);
      // Every handle the mode's plan made for a tensor's readers was read, no reader went without.
      expect(shared.unread).toBe(0);
      expect(separate.unread).toBe(0);
      expect(Math.abs(shared.loss - separate.loss)).toBeLessThan(1e-6 * Math.abs(separate.loss));
      // Gradients reach a shared tensor as a sum over its edges instead of edge by edge, so the
      // float32 sums round differently: compare relative to each gradient's size.
      expect([...shared.grads.keys()]).toEqual([...separate.grads.keys()]);
      for (const [name, expected] of separate.grads) {
        const actual = shared.grads.get(name)!;
        let scale = 0;
        let diff = 0;
        for (let i = 0; i < expected.length; i++) {
          scale = Math.max(scale, Math.abs(expected[i]));
          diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
        }
        expect(diff, `gradient of ${name}`).toBeLessThanOrEqual(1e-5 * scale + 1e-9);
      }
      // 3 cells of 14 edges; the edges leave 5 states per cell: a pool per state, not per edge.
      // Partial channels add the bypass's pool on the 8 stride-2 edges (2 states) of the 2
      // reduction cells.
      expect(separate.kernels.get('MaxPool')).toBe(42 + (config.partialChannels > 1 ? 16 : 0));
      expect(shared.kernels.get('MaxPool')).toBe(15 + (config.partialChannels > 1 ? 4 : 0));
      expect(shared.kernels.get('MaxPoolGrad')).toBeLessThan(separate.kernels.get('MaxPoolGrad')!);
    });
  }

  it('relu in darts runs once per state, not once per edge', async () => {
    const config = makeConfig({ mode: 'darts', activation: 'relu', channels: 4, layers: 3, batchSize: 2 });
    const shared = await lossAndGradients(config, true);
    const separate = await lossAndGradients(config, false);
    // Per cell: 2 preprocessing ReLUs, the ReLU inside each sep conv (2 per edge), FactorizedReduce's
    // ReLU in the reduction skips (4 per reduction cell), and the edge activation: 14 or 5.
    expect(separate.kernels.get('Relu')! - shared.kernels.get('Relu')!).toBe(3 * (14 - 5));
  });
});

describe('the conv ops of the edges leaving one state run as grouped convs', () => {
  for (const [label, overrides] of cases) {
    for (const fused of [true, false]) {
      it(`${label}, ${fused ? 'fused kernels' : 'composite ops'}: same loss and gradients as each edge convolving alone`, async () => {
        const config = makeConfig({ channels: 4, layers: 3, batchSize: 2, ...overrides });
        const grouped = await lossAndGradients(config, true, true, fused, true);
        const alone = await lossAndGradients(config, true, true, fused, false);
        expect(grouped.unread).toBe(0);
        expect(alone.unread).toBe(0);
        expect(Math.abs(grouped.loss - alone.loss)).toBeLessThan(1e-6 * Math.abs(alone.loss));
        expectSameGradients(grouped.grads, alone.grads);
        // A cell's 14 edges leave 5 states; the last state's one edge needs no grouping. So each
        // conv op's first 1x1 conv runs 4 times a cell instead of 13 + 1 (3 cells, forward only).
        const convs = config.mode === 'nonfactorized' ? 36 : 4;
        if (fused)
          expect(
            grouped.kernels.get(KERNELS.groupedPointwise)! - (alone.kernels.get(KERNELS.groupedPointwise) ?? 0),
          ).toBeGreaterThanOrEqual(3 * 4 * convs);
        const matMuls = (r: typeof alone) => r.kernels.get('BatchMatMul') ?? 0;
        expect(matMuls(alone) - matMuls(grouped), `matMuls ${matMuls(alone)} → ${matMuls(grouped)}`).toBeGreaterThan(
          fused ? 3 * 9 * convs * 3 : 0,
        );
      });
    }
  }
});

/** Relative max difference of every gradient, as above. */
function expectSameGradients(actual: Map<string, Float32Array>, expected: Map<string, Float32Array>, relative = 1e-5) {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, want] of expected) {
    const got = actual.get(name)!;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
    }
    expect(diff, `gradient of ${name}`).toBeLessThanOrEqual(relative * scale + 1e-9);
  }
}

describe('the fused kernels (handles, node sums over the flattened softmax(α)) against the composite ops', () => {
  for (const [label, overrides] of cases) {
    it(`${label}: the same loss and gradients`, async () => {
      const config = makeConfig({ channels: 4, layers: 3, batchSize: 2, ...overrides });
      const fused = await lossAndGradients(config, true, true, true);
      const composite = await lossAndGradients(config, true, true, false);
      expect(fused.kernels.get(KERNELS.weightedSum)).toBeGreaterThan(0);
      expect(composite.kernels.get(KERNELS.weightedSum)).toBeUndefined();
      expect(Math.abs(fused.loss - composite.loss)).toBeLessThan(1e-5 * Math.abs(composite.loss));
      // float32 sums in another order, through 3 cells of batch norms over 128 values a channel
      // (batch 2): the fused kernels differed from the composite ops by up to 3.4e-4 of a
      // gradient's largest element before the handles and node sums too (parity's whole-search
      // tolerance is 1e-3). A wrong weight index or a lost reader is off by far more.
      expectSameGradients(fused.grads, composite.grads, 2e-3);
      expect(fused.unread).toBe(0);
    });
  }
});

describe('each op reading a tensor through its own handle (fused.fusedFanOut)', () => {
  const fanOutCases = cases.filter(([label]) => !label.startsWith('nonfactorized'));
  for (const [label, overrides] of fanOutCases) {
    it(`${label}: same loss and gradients, the readers' gradients summed by AddN instead of an Add each`, async () => {
      const config = makeConfig({ channels: 4, layers: 3, batchSize: 2, ...overrides });
      const handles = await lossAndGradients(config, true, true);
      const direct = await lossAndGradients(config, true, false);
      expect(Math.abs(handles.loss - direct.loss)).toBeLessThan(1e-6 * Math.abs(direct.loss));
      expectSameGradients(handles.grads, direct.grads);
      const adds = (r: typeof direct) => r.kernels.get('Add') ?? 0;
      const sums = (r: typeof direct) => r.kernels.get(KERNELS.addN) ?? 0;
      // 3 cells: per cell, a state read by its edges' ops (up to 10 of them) and a mixed edge's
      // activation read by its 4 conv ops were one Add per further reader; now one sum per 7.
      expect(adds(direct) - adds(handles), `Adds ${adds(direct)} → ${adds(handles)}`).toBeGreaterThan(3 * 40);
      expect(sums(handles) - sums(direct)).toBeLessThan((adds(direct) - adds(handles)) / 2);
      expect(handles.unread).toBe(0);
    });
  }
});
