// The CPU-side bench runs on Dawn's null adapter: no GPU or Vulkan driver, so it runs here.
import { beforeAll, describe, expect, it } from 'vitest';
import { measureDispatchCost } from './dispatch-cost';
import { useNullWebGpu } from '../platform/node';
import { Supernet } from '../search/supernet';
import { makeConfig } from '../search/space';
import { Random } from '../util/random';
import { SearchEngine } from '../search/engine';
import { countKernels } from './kernels';
import { KERNELS } from '../kernels/fused';
import { makeSearchStreams, makeSyntheticDataset } from '../data/index';
import { benchOne } from './measure';

beforeAll(async () => {
  await useNullWebGpu(); // each test may run alone
});

describe("the CPU side of a webgpu step (Dawn's null adapter)", () => {
  it('times a step and counts its dispatches; packed SGD saves exactly one dispatch per weight tensor', async () => {
    const result = await measureDispatchCost({
      channels: 4,
      layers: 3,
      modes: ['darts'],
      steps: 1,
      compare: 'packed-sgd',
    });
    expect(result.rows.map((r) => [r.mode, r.variant])).toEqual([
      ['darts', 'on'],
      ['darts', 'off'],
    ]);
    const [on, off] = result.rows;
    const net = new Supernet(
      {
        config: makeConfig({ mode: 'darts', channels: 4, layers: 3 }),
        input: { height: 16, width: 16, channels: 3, classes: 10 },
      },
      new Random(1),
    );
    const weightTensors = net.variables('weights').length;
    net.dispose();
    expect(weightTensors).toBeGreaterThan(100);
    expect(off.dispatches - on.dispatches).toBe(weightTensors);
    // A test-size darts step runs thousands of dispatches; each costs microseconds of CPU at least.
    expect(on.dispatches).toBeGreaterThan(3000);
    for (const row of result.rows) {
      expect(row.msPerStep).toBeGreaterThan(0);
      expect(row.microsecondsPerDispatch).toBeCloseTo((1000 * row.msPerStep) / row.dispatches, 6);
    }
  });

  it('--compare compiled: the replay issues the dispatches the step issues, and reports its recording', async () => {
    const lines: string[] = [];
    const result = await measureDispatchCost(
      { channels: 4, layers: 3, modes: ['factorized'], steps: 1, compare: 'compiled' },
      (line) => lines.push(line),
    );
    expect(result.rows.map((r) => [r.mode, r.variant])).toEqual([
      ['factorized', ''],
      ['factorized', 'uncompiled'],
    ]);
    const [compiled, plain] = result.rows;
    expect(compiled!.dispatches).toBe(plain!.dispatches);
    expect(compiled!.recordMilliseconds).toBeGreaterThan(0);
    expect(plain!.recordMilliseconds).toBeNull();
    expect(lines[0]).toMatch(
      /^factorized: [\d.]+ ms a step, \d+ dispatches, [\d.]+ µs a dispatch, recorded in \d+ ms$/,
    );
    expect(lines[1]).toMatch(/^factorized \(uncompiled\): [\d.]+ ms a step, \d+ dispatches/);
  });

  it("DARTS's second-order step saves the same: μ·buf is read from the packed buffers, with no copy back", async () => {
    const shape = { height: 8, width: 8, channels: 3, classes: 4 };
    const dataset = makeSyntheticDataset({ seed: 1, ...shape, trainCount: 16, testCount: 4 });
    const engine = new SearchEngine(
      makeConfig({ mode: 'darts', channels: 4, layers: 3, batchSize: 2, order: 2, maxSteps: 10 }),
      shape,
      makeSearchStreams(dataset, { batchSize: 2, seed: 1 }),
      // Counted by the kernels tfjs runs: every step runs its code.
      { compiledStep: false },
    );
    const counts = async (packed: boolean) => {
      engine.setOptions({ packedSgd: packed });
      await engine.runStep(); // the switch's own copies
      return countKernels(() => engine.runStep());
    };
    try {
      const off = await counts(false);
      const on = await counts(true);
      const weightTensors = on.byName.get(KERNELS.sgdPacked)!;
      expect(weightTensors).toBeGreaterThan(100);
      expect(on.byName.get(KERNELS.packedMomentum)).toBe(weightTensors);
      expect(off.launched - on.launched).toBe(weightTensors);
    } finally {
      engine.dispose();
    }
  });

  it("the bench's bytes held count the packed SGD buffers' momentum half, which tf.memory() does not", async () => {
    const rows = [];
    for (const packed of [false, true])
      rows.push(
        await benchOne('webgpu', 'tiny', 'darts', 'joint', { steps: 1, warmup: 1, engine: { packedSgd: packed } }),
      );
    const net = new Supernet(
      {
        config: makeConfig({ mode: 'darts', channels: 4, layers: 3 }),
        input: { height: 8, width: 8, channels: 3, classes: 4 },
      },
      new Random(1),
    );
    const weights = net.variables('weights').reduce((n, v) => n + v.size, 0);
    net.dispose();
    expect((rows[1].megabytes - rows[0].megabytes) * 2 ** 20).toBeCloseTo(4 * weights, 0);
  });

  it('grouped convs, factorized: the same step in at least a quarter fewer dispatches', async () => {
    const result = await measureDispatchCost({
      channels: 4,
      layers: 3,
      modes: ['factorized'],
      steps: 1,
      compare: 'grouped',
    });
    const [on, off] = result.rows;
    expect(on.variant).toBe('on');
    // 7,687 → 4,213 at this size when this was written: the convs and activations of up to 4
    // edges run as one (off, each edge convolves with its slot of the weights: a SplitV each).
    expect(on.dispatches / off.dispatches, `${off.dispatches} → ${on.dispatches}`).toBeLessThan(0.75);
  });

  it('names the features it can compare when given another', async () => {
    await expect(
      measureDispatchCost({ channels: 4, layers: 3, modes: ['darts'], steps: 1, compare: 'handles' }),
    ).rejects.toThrow(/--compare: one of compiled, packed-sgd, fused, grouped/);
  });
});
