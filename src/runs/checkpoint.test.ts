// Checkpoints the engine really produces, through the run store and back: every seed and mode
// stores (a random-stream word may be any 32-bit pattern), and a restored run takes the same
// next steps bit for bit as one that never stopped.
import { IDBFactory } from 'fake-indexeddb';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { SearchEngine } from '../search/engine';
import { installSafeAddN } from '../kernels/safety';
import { makeConfig, type SearchConfig, type SearchMode } from '../search/space';
import { makeSearchStreams, makeSyntheticDataset, type Dataset } from '../data/index';
import { openRunStore } from './store';
import { decodeRunFile } from './format';

let dataset: Dataset;

beforeAll(async () => {
  await tf.setBackend('wasm');
  installSafeAddN('wasm');
  dataset = makeSyntheticDataset({
    seed: 7,
    height: 8,
    width: 8,
    channels: 3,
    classes: 4,
    trainCount: 96,
    testCount: 16,
  });
});

function engineFor(overrides: Partial<SearchConfig>): SearchEngine {
  const config = makeConfig({ channels: 4, layers: 3, batchSize: 8, maxSteps: 100, ...overrides });
  const streams = makeSearchStreams(dataset, {
    batchSize: config.batchSize,
    seed: config.seed,
    trainPortion: config.trainPortion,
  });
  return new SearchEngine(config, { height: 8, width: 8, channels: 3, classes: 4 }, streams);
}

/** Everything the next steps depend on, as float32 bits (so -0 and NaN patterns count). */
async function fingerprint(engine: SearchEngine): Promise<number[]> {
  const out: number[] = [];
  for (const p of engine.net.namedVariables())
    out.push(...new Uint32Array(((await p.variable.data()) as Float32Array).slice().buffer));
  return out;
}

const MODES: SearchMode[] = ['factorized', 'darts', 'nonfactorized', 'fixed-beta'];

describe('checkpoints of real engine states', () => {
  it('store and load unchanged for many seeds and every mode (no random-stream word is refused)', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    let signedSeen = 0;
    for (let seed = 1; seed <= 14; seed++) {
      // Every mode, the slow non-factorized one (40 ops an edge) once.
      const mode = seed === 2 ? 'nonfactorized' : (['factorized', 'darts', 'fixed-beta'] as const)[seed % 3]!;
      const engine = engineFor({ mode, seed, activation: 'rrelu' });
      const steps = 1 + (seed % 2);
      for (let i = 0; i < steps; i++) await engine.runStep();
      const cp = await engine.checkpoint();
      engine.dispose();
      // The generator's own words are signed about half the time; its state is read unsigned.
      for (const w of cp.rng) expect(w >>> 0, `seed ${seed}: rng word ${w}`).toBe(w);
      const id = await store.createRun({
        name: `seed ${seed}`,
        config: cp.config,
        dataset: { name: 'synthetic', source: 'synthetic' },
        backend: 'wasm',
        stepsTotal: 100,
      });
      await store.saveCheckpoint(id, cp);
      const loaded = await store.loadCheckpoint(id);
      expect(loaded, `seed ${seed} (${mode})`).toEqual(cp);
      // And through an exported run file (the checkpoint travels as base64).
      const file = decodeRunFile(await store.exportRun(id, { includeCheckpoint: true }), new Date().toISOString());
      expect(file.checkpoint).toEqual(cp);
      // sfc32's first word is an XOR, negative as a signed 32-bit integer when its top bit is set.
      if (cp.rng[0]! >= 2 ** 31) signedSeen++;
    }
    // The words that used to be refused (about half of them) were among those stored.
    expect(signedSeen).toBeGreaterThan(2);
    await store.close();
  }, 300_000);

  it('a word of any sign stored by an older lab or another tool is read as the same stream', async () => {
    const engine = engineFor({ mode: 'factorized', seed: 4 });
    await engine.runStep();
    const cp = await engine.checkpoint();
    const signed = { ...cp, rng: cp.rng.map((w) => w | 0) };
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    const id = await store.createRun({
      name: 'signed',
      config: cp.config,
      dataset: { name: 'synthetic', source: 'synthetic' },
      backend: 'wasm',
      stepsTotal: 100,
    });
    await store.saveCheckpoint(id, signed);
    expect((await store.loadCheckpoint(id))!.rng).toEqual(cp.rng);
    await expect(store.saveCheckpoint(id, { ...cp, rng: [0, 1, 2, 2 ** 32] })).rejects.toThrow(
      'checkpoint.rng[3]: expected a 32-bit integer, got 4294967296',
    );
    await expect(store.saveCheckpoint(id, { ...cp, rng: [0, 1, 2.5, 3] })).rejects.toThrow(
      'checkpoint.rng[2]: expected a 32-bit integer',
    );
    engine.dispose();
    await store.close();
  }, 120_000);

  for (const seed of [3, 8, 21]) {
    it(`checkpoint → store → load → restore takes the same next steps bit for bit (seed ${seed})`, async () => {
      const mode = MODES[seed % MODES.length]!;
      const overrides: Partial<SearchConfig> = {
        mode,
        seed,
        activation: 'rrelu',
        archLearningRate: 0.01,
        activationLearningRate: 0.01,
      };
      const uninterrupted = engineFor(overrides);
      for (let i = 0; i < 2; i++) await uninterrupted.runStep();
      const cp = await uninterrupted.checkpoint();
      const store = await openRunStore({ indexedDB: new IDBFactory() });
      const id = await store.createRun({
        name: 'bits',
        config: cp.config,
        dataset: { name: 'synthetic', source: 'synthetic' },
        backend: 'wasm',
        stepsTotal: 100,
      });
      await store.saveCheckpoint(id, cp);
      const losses = async (engine: SearchEngine) => {
        const out: number[] = [];
        for (let i = 0; i < 2; i++) {
          const p = await engine.runStep();
          out.push(Math.fround(p.trainLoss), Math.fround(p.valLoss));
        }
        return out;
      };
      const expectedLosses = await losses(uninterrupted);
      const expected = await fingerprint(uninterrupted);
      uninterrupted.dispose();

      const resumed = engineFor(overrides);
      resumed.restore((await store.loadCheckpoint(id))!);
      const gotLosses = await losses(resumed);
      const got = await fingerprint(resumed);
      resumed.dispose();
      await store.close();
      expect(gotLosses).toEqual(expectedLosses);
      expect(got.length).toBe(expected.length);
      expect(
        got.findIndex((b, i) => b !== expected[i]),
        'first variable word that differs',
      ).toBe(-1);
    }, 300_000);
  }
});
