// Recomputing cells in the backward pass (checkpoint.ts) must not change a search: with and
// without it, one seed gives the same losses, weights, optimiser states and random stream, bit
// for bit, in every mode, on wasm and on cpu. So a run is the same run whatever memory it had.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SearchEngine } from './engine';
import { ACTIVATIONS, EDGES, makeConfig, type SearchConfig } from './space';
import { checkpointTesting } from './checkpoint';
import { installSafeAddN, installSharedIdentity } from '../kernels/safety';
import { makeSearchStreams, makeSyntheticDataset } from '../data/index';

const SHAPE = { height: 8, width: 8, channels: 3, classes: 4 };
const dataset = makeSyntheticDataset({ seed: 4, ...SHAPE, trainCount: 16, testCount: 4 });

function engine(overrides: Partial<SearchConfig>, recompute: boolean): SearchEngine {
  const config = makeConfig({ channels: 4, layers: 3, batchSize: 2, epochs: 4, seed: 9, ...overrides });
  const streams = makeSearchStreams(dataset, { batchSize: 2, seed: config.seed, trainPortion: config.trainPortion });
  return new SearchEngine(config, SHAPE, streams, { recompute });
}

/** Every number of a search after `steps` steps as float32 bits (-0 and every rounding count), and its stream. */
async function searchBits(overrides: Partial<SearchConfig>, recompute: boolean, steps: number) {
  const e = engine(overrides, recompute);
  try {
    expect(e.recomputes).toBe(recompute);
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const p = await e.runStep();
      losses.push(p.trainLoss, p.valLoss);
    }
    const cp = await e.checkpoint();
    const named: [string, number[]][] = [['losses', bits(losses)]];
    for (const v of cp.variables) named.push([v.name, bits(v.values)]);
    for (const [group, state] of Object.entries(cp.optimizers))
      for (const [slot, entries] of Object.entries(state?.slots ?? {}))
        entries.forEach((s, i) => named.push([`${group}.${slot}.${i}`, bits(s.values)]));
    return { named, rng: cp.rng };
  } finally {
    e.dispose();
  }
}

const bits = (values: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(values).buffer));

/** The first value that differs between two searches, or null. */
function firstDifference(a: [string, number[]][], b: [string, number[]][]): string | null {
  for (const [i, [name, x]] of a.entries()) {
    const y = b[i]![1];
    const j = x.findIndex((word, k) => word !== y[k]);
    if (j >= 0 || x.length !== y.length) return `${name}[${j}]`;
  }
  return null;
}

async function expectSameSearch(overrides: Partial<SearchConfig>, steps = 2) {
  const kept = await searchBits(overrides, false, steps);
  const recomputed = await searchBits(overrides, true, steps);
  expect(firstDifference(recomputed.named, kept.named)).toBeNull();
  expect(recomputed.rng).toEqual(kept.rng);
}

const oneHot = (seed: number) =>
  Array.from({ length: EDGES }, (_, e) => ACTIVATIONS.map((_, a) => (a === (seed + e) % ACTIVATIONS.length ? 0 : -30)));

afterEach(() => {
  checkpointTesting.redraw = false;
});

describe('recompute on wasm: the same search bit for bit', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    installSafeAddN('wasm');
    installSharedIdentity('wasm');
  });
  const cases: [string, Partial<SearchConfig>][] = [
    ['factorized (RReLU in the fused mixed activation)', { mode: 'factorized' }],
    ['darts, rrelu (its own noise per edge)', { mode: 'darts', activation: 'rrelu' }],
    ['fixed-beta, uniform β (the 9-term activation recomputed too)', { mode: 'fixed-beta' }],
    [
      'fixed-beta, one-hot β from a genotype',
      { mode: 'fixed-beta', fixedBeta: { betaNormal: oneHot(1), betaReduce: oneHot(5) } },
    ],
    ['factorized, partial channels K=2', { mode: 'factorized', partialChannels: 2 }],
    ['factorized, second order (four passes a step)', { mode: 'factorized', order: 2 }],
  ];
  for (const [label, overrides] of cases)
    it(label, () => expectSameSearch(overrides, label.startsWith('factorized (') ? 2 : 1), 60_000);
  it('nonfactorized (one step)', () => expectSameSearch({ mode: 'nonfactorized', channels: 2 }, 1), 60_000);

  it('the check fails when the recomputation draws its RReLU slopes again', async () => {
    const kept = await searchBits({ mode: 'darts', activation: 'rrelu' }, false, 1);
    checkpointTesting.redraw = true;
    const redrawn = await searchBits({ mode: 'darts', activation: 'rrelu' }, true, 1);
    // Other slopes in the backward pass: other gradients, so other weights and a later loss;
    // and the stream moved on by the extra draws.
    expect(firstDifference(redrawn.named, kept.named)).not.toBeNull();
    expect(redrawn.rng).not.toEqual(kept.rng);
  }, 60_000);
});

describe('recompute on cpu: the same search bit for bit', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    installSafeAddN('cpu');
  });
  it('factorized', () => expectSameSearch({ mode: 'factorized' }, 1), 60_000);
  it('fixed-beta', () => expectSameSearch({ mode: 'fixed-beta', channels: 2 }, 1), 60_000);
  it(
    'darts, rrelu, partial channels K=2',
    () => expectSameSearch({ mode: 'darts', activation: 'rrelu', partialChannels: 2 }, 1),
    60_000,
  );
});
