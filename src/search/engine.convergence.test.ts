// The acceptance check: a 200-step factorized search learns (its own file, so that its
// ~5 minutes on wasm run beside the other test files).
// Runs on the wasm backend (the fastest CPU backend; its convs use the portable formulation).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { SearchEngine } from './engine';
import { makeConfig, type SearchConfig } from './space';
import { installSafeAddN } from '../kernels/safety';
import { evalBatches, makeSearchStreams, makeSyntheticDataset, type Dataset } from '../data/index';
import { validateGenotype } from './genotype';

let dataset: Dataset;

beforeAll(async () => {
  await tf.setBackend('wasm');
  installSafeAddN('wasm');
  dataset = makeSyntheticDataset({
    seed: 5,
    height: 8,
    width: 8,
    channels: 3,
    classes: 4,
    trainCount: 640,
    testCount: 64,
  });
});

const input = () => ({
  height: dataset.height,
  width: dataset.width,
  channels: dataset.channels,
  classes: dataset.classNames.length,
});

function engineFor(overrides: Partial<SearchConfig>): SearchEngine {
  const config = makeConfig({ channels: 4, layers: 3, batchSize: 16, maxSteps: 1000, seed: 3, ...overrides });
  const streams = makeSearchStreams(dataset, {
    batchSize: config.batchSize,
    seed: config.seed,
    trainPortion: config.trainPortion,
  });
  return new SearchEngine(config, input(), streams);
}

function maxDistanceFromUniform(rows: number[][]): number {
  let worst = 0;
  for (const row of rows) {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    for (const v of e) worst = Math.max(worst, Math.abs(v / s - 1 / row.length));
  }
  return worst;
}

describe('factorized search', () => {
  it('200 steps lower the validation loss clearly, move α and β off uniform, and leak no tensors', async () => {
    // Larger architecture learning rates than the paper's so that 200 tiny steps move α/β.
    const engine = engineFor({
      mode: 'factorized',
      archLearningRate: 0.01,
      activationLearningRate: 0.01,
      archUpdate: 'joint',
    });
    const valBatches = () => evalBatches(dataset, 'val', 32, { trainPortion: 0.5, limit: 128 });
    const before = await engine.evaluate(valBatches());
    let tensorsAtStep10 = -1;
    for (let i = 0; i < 200; i++) {
      await engine.runStep();
      if (engine.step === 10) tensorsAtStep10 = tf.memory().numTensors;
      if (engine.step === 100) expect(tf.memory().numTensors).toBe(tensorsAtStep10);
    }
    const after = await engine.evaluate(valBatches());
    const weights = await engine.archWeights();
    console.log(
      `validation loss ${before.loss.toFixed(3)} → ${after.loss.toFixed(3)}, accuracy ${before.accuracy.toFixed(2)} → ${after.accuracy.toFixed(2)}`,
    );
    expect(after.loss).toBeLessThan(before.loss * 0.6);
    expect(after.accuracy).toBeGreaterThan(0.6); // 4 classes: chance is 0.25
    const alphaMove = maxDistanceFromUniform([...weights.alphaNormal, ...weights.alphaReduce]);
    const betaMove = maxDistanceFromUniform([...weights.betaNormal!, ...weights.betaReduce!]);
    console.log(`max |softmax − uniform|: α ${alphaMove.toFixed(4)}, β ${betaMove.toFixed(4)}`);
    // Initial α/β are 1e-3·N(0,1): their softmax is within ~3e-4 of uniform. The task is easy
    // (the loss reaches ~0), so β's gradients fade early; measured here: α 0.030, β 0.0041.
    expect(alphaMove).toBeGreaterThan(0.02);
    expect(betaMove).toBeGreaterThan(0.002);
    expect(tf.memory().numTensors).toBe(tensorsAtStep10);
    validateGenotype(await engine.genotype());
    engine.dispose();
  }, 600_000);
});
