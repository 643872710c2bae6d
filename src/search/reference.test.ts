// The fast Supernet (per-state weight groups, shared input work, fan-out handles, fused kernels,
// grouped convs) against the reference supernet (reference.ts: DARTS's model_search.py over
// plain tfjs ops) on the same weights: the same loss and the same gradient for every variable,
// in every mode. Then the comparison is shown to fail when the reference is made wrong. On cpu:
// the reference's plain depthwise convs have no gradient kernels on wasm (tfjs 4.22).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Supernet } from './supernet';
import { referenceLoss } from './reference';
import { ACTIVATIONS, EDGES, makeConfig, type SearchConfig } from './space';
import { Random } from '../util/random';
import { installSafeAddN } from '../kernels/safety';
import type { ForwardContext } from './ops';

const input = { height: 8, width: 8, channels: 3, classes: 4 };
let images: tf.Tensor4D;
let labels: tf.Tensor1D;

beforeAll(async () => {
  await tf.setBackend('cpu');
  installSafeAddN('cpu');
  images = tf.randomNormal([4, input.height, input.width, input.channels], 0, 1, 'float32', 3);
  labels = tf.tensor1d([0, 1, 2, 3]);
});
afterAll(() => {
  tf.dispose([images, labels]);
  tf.disposeVariables();
});

/** Non-uniform fixed β whose softmax weights all stay above 7e-5 (the fast network drops those below 1e-6). */
function fixedRows(seed: number): number[][] {
  const rng = new Random(seed);
  return Array.from({ length: EDGES }, () => ACTIVATIONS.map(() => 1.5 * rng.normal()));
}

const cases: [string, Partial<SearchConfig>][] = [
  ['factorized', { mode: 'factorized' }],
  ['darts, relu', { mode: 'darts', activation: 'relu' }],
  ['darts, rrelu', { mode: 'darts', activation: 'rrelu' }],
  ['nonfactorized', { mode: 'nonfactorized' }],
  [
    'fixed-beta, non-uniform',
    { mode: 'fixed-beta', fixedBeta: { betaNormal: fixedRows(1), betaReduce: fixedRows(2) } },
  ],
  ['factorized, partial channels K=2', { mode: 'factorized', partialChannels: 2 }],
];

/**
 * A small network (C = 4, 3 cells: 8×8, then reductions to 4×4 and 2×2) whose weights all
 * differ: α, β and PC's edge weights N(0, 1) rather than DARTS's 1e-3 (where every op weighs
 * alike), and the parameters that start equal on every edge (PReLU's slopes, Swish's b) and the
 * stem's BN spread, so that a weight read from the wrong edge, slot or column shows.
 */
function makeNet(overrides: Partial<SearchConfig>, groupEdges: boolean | 'auto'): Supernet {
  const config = makeConfig({ channels: 4, layers: 3, batchSize: 4, ...overrides });
  const net = new Supernet({ config, input, groupEdges }, new Random(7));
  const rng = new Random(5);
  for (const { name, variable } of net.namedVariables()) {
    const spread = /^(alpha|beta|edge)/.test(name)
      ? [0, 1]
      : name.endsWith('.prelu')
        ? [0.25, 0.1]
        : name.endsWith('.swish')
          ? [1, 0.3]
          : name === 'stem.bn.gamma'
            ? [1, 0.2]
            : name === 'stem.bn.beta'
              ? [0, 0.2]
              : null;
    if (!spread) continue;
    const values = tf.tensor(
      Float32Array.from({ length: variable.size }, () => spread[0] + spread[1] * rng.normal()),
      variable.shape,
    );
    variable.assign(values);
    values.dispose();
  }
  return net;
}

interface Pass {
  loss: number;
  /** Each variable's gradient, by name (none where no gradient reached it). */
  grads: Map<string, Float32Array>;
  /** The random stream's state after the pass: the same when both drew as many RReLU slopes. */
  rngState: number[];
}

async function lossAndGradients(net: Supernet, lossOf: (ctx: ForwardContext) => tf.Scalar, seed = 11): Promise<Pass> {
  const variables = net.namedVariables();
  const rng = new Random(seed);
  const { value, grads } = tf.variableGrads(
    () => lossOf({ training: true, rng }),
    variables.map((v) => v.variable),
  );
  const pass: Pass = { loss: (await value.data())[0]!, grads: new Map(), rngState: rng.getState() };
  for (const v of variables)
    if (grads[v.variable.name]) pass.grads.set(v.name, (await grads[v.variable.name].data()) as Float32Array);
  tf.dispose([value, ...Object.values(grads)]);
  return pass;
}

const fast = (net: Supernet) => lossAndGradients(net, (ctx) => net.loss(images, labels, ctx));

/** The fast network's variables by name, with `mutate` replacing some (a wrong reference, on purpose). */
function weightsOf(net: Supernet, mutate?: (weights: Map<string, tf.Tensor>) => void): Map<string, tf.Tensor> {
  const weights = new Map<string, tf.Tensor>(net.namedVariables().map((v) => [v.name, v.variable]));
  mutate?.(weights);
  return weights;
}

const reference = (net: Supernet, mutate?: (weights: Map<string, tf.Tensor>) => void, seed?: number) =>
  lossAndGradients(net, (ctx) => referenceLoss(net, images, labels, ctx, weightsOf(net, mutate)), seed);

/**
 * Tolerances. The two networks sum in different orders (a node's edges, an op's terms, the
 * gradient of a tensor read by several ops, batch statistics over 256 down to 16 values a
 * channel), so float32 rounding differs. Measured: the loss by up to 2e-7 of itself; a gradient
 * by up to 1.3e-5 of its variable's largest element, except Swish's b (one scalar an edge, a sum
 * over the whole map that cancels): 7e-10 where it was 1.5e-6 itself, hence the floor. A wrong
 * weight, slot, column or draw is off by far more (see the last describe).
 */
const LOSS_TOLERANCE = 1e-5;
const GRADIENT_TOLERANCE = 1e-4;
const GRADIENT_FLOOR = 1e-8;

/** What differs between two passes beyond float32 rounding: the loss, the draws, gradients by name. */
function differences(actual: Pass, expected: Pass): string[] {
  const out: string[] = [];
  if (!(Math.abs(actual.loss - expected.loss) <= LOSS_TOLERANCE * Math.abs(expected.loss)))
    out.push(`loss: ${actual.loss} instead of ${expected.loss}`);
  if (actual.rngState.join() !== expected.rngState.join()) out.push('random draws');
  for (const name of new Set([...expected.grads.keys(), ...actual.grads.keys()])) {
    const want = expected.grads.get(name);
    const got = actual.grads.get(name);
    if (!want || !got) {
      out.push(`gradient of ${name}: ${want ? 'missing' : 'unexpected'}`);
      continue;
    }
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
    }
    if (!(diff <= GRADIENT_TOLERANCE * scale + GRADIENT_FLOOR))
      out.push(`gradient of ${name}: off by ${diff.toExponential(2)}, largest element ${scale.toExponential(2)}`);
  }
  return out;
}

describe('the fast supernet computes what the reference supernet computes', () => {
  for (const [label, overrides] of cases) {
    it(`${label}: the same loss and gradients, edges alone (cpu's default) and grouped (webgpu's)`, async () => {
      const alone = makeNet(overrides, 'auto');
      const grouped = makeNet(overrides, true);
      const expected = await reference(alone);
      expect(expected.grads.size).toBe(alone.namedVariables().length);
      expect(differences(await fast(alone), expected)).toEqual([]);
      expect(differences(await fast(grouped), expected)).toEqual([]);
      alone.dispose();
      grouped.dispose();
    });
  }
});

describe('the comparison fails when the reference is wrong', () => {
  // Factorized with partial channels: α, β, the PC edge weights and RReLU's draws all in play.
  // The unchanged reference agrees with this network (the last case above); each mutant must not.
  const overrides: Partial<SearchConfig> = { mode: 'factorized', partialChannels: 2 };
  let net: Supernet;
  let expected: Pass;
  beforeAll(async () => {
    net = makeNet(overrides, 'auto');
    expected = await fast(net);
  });
  afterAll(() => net.dispose());

  /** The reference's loss alone (a forward pass: the mutants below change the loss). */
  const referenceLossOf = async (mutate: (weights: Map<string, tf.Tensor>) => void, seed = 11) => {
    const loss = tf.tidy(() =>
      referenceLoss(net, images, labels, { training: true, rng: new Random(seed) }, weightsOf(net, mutate)),
    );
    const value = (await loss.data())[0]!;
    loss.dispose();
    return value;
  };
  /** `name` with slices `i` and `j` of `axis` (of `parts` equal slices) swapped. */
  const swapped = (
    weights: Map<string, tf.Tensor>,
    name: string,
    axis: number,
    parts: number,
    i: number,
    j: number,
  ) => {
    const slices = tf.split(weights.get(name)!, parts, axis);
    [slices[i], slices[j]] = [slices[j], slices[i]];
    weights.set(name, tf.concat(slices, axis));
  };

  /** `name` with its element `index` (flat) moved by `by`. */
  const nudged = (weights: Map<string, tf.Tensor>, name: string, index: number, by: number) => {
    const v = weights.get(name)!;
    const delta = new Float32Array(v.size);
    delta[index] = by;
    weights.set(name, tf.add(v, tf.tensor(delta, v.shape)));
  };

  it('a variable cut off from its gradient: the loss agrees, that gradient is flagged', async () => {
    const name = 'cells.2.from3.sep_conv_5x5.pw2';
    // A constant with the variable's values: the same numbers, no gradient path.
    const values = await net
      .namedVariables()
      .find((v) => v.name === name)!
      .variable.data();
    const found = differences(
      await reference(net, (w) => w.set(name, tf.tensor(values, w.get(name)!.shape))),
      expected,
    );
    expect(found).toEqual([`gradient of ${name}: missing`]);
  });

  // A mistake on one edge moves the loss little (here by 7e-5 and 4e-6 of it, the second within
  // its tolerance: the nodes downstream are batch-normalised) but gradients by several percent.
  it('two edges leaving a state swap their conv weights: their gradients are flagged', async () => {
    const found = differences(
      await reference(net, (w) => swapped(w, 'cells.1.from2.dil_conv_3x3.pw1', 0, 3, 0, 1)),
      expected,
    );
    expect(found).toContainEqual(expect.stringMatching(/^gradient of cells\.1\.from2\.dil_conv_3x3\.pw1:/));
  });

  it('one weight of one edge nudged by 0.05: its gradient is flagged', async () => {
    // [3, 3, 4 edges · 2 channels, 1]: the centre tap of edge 2's (slot 1's) first channel.
    const found = differences(
      await reference(net, (w) => nudged(w, 'cells.0.from0.sep_conv_3x3.dw1', (1 * 3 + 1) * 8 + 2, 0.05)),
      expected,
    );
    expect(found).toContainEqual(expect.stringMatching(/^gradient of cells\.0\.from0\.sep_conv_3x3\.dw1:/));
  });

  const mutants: [string, (weights: Map<string, tf.Tensor>) => void, number?][] = [
    ['α of the two pools swapped', (w) => swapped(w, 'alphaNormal', 1, 8, 1, 2)],
    ['β of two activations swapped', (w) => swapped(w, 'betaReduce', 1, 9, 0, 5)],
    ["node 0's two PC edge weights swapped", (w) => swapped(w, 'edgeNormal', 0, EDGES, 0, 1)],
    ["RReLU's slopes from another draw", () => {}, 12],
  ];
  for (const [label, mutate, seed] of mutants) {
    it(`${label}: the loss alone is off by more than 10x its tolerance`, async () => {
      expect(Math.abs((await referenceLossOf(mutate, seed)) - expected.loss)).toBeGreaterThan(
        10 * LOSS_TOLERANCE * Math.abs(expected.loss),
      );
    });
  }
});
