// The CPU-side bench runs on Dawn's null adapter: no GPU or Vulkan driver, so it runs here.
import { describe, expect, it } from 'vitest';
import { measureDispatchCost } from './dispatch-cost';
import { Supernet } from '../search/supernet';
import { makeConfig } from '../search/space';
import { Random } from '../search/random';

describe("the CPU side of a webgpu step (Dawn's null adapter)", () => {
  it('times a step and counts its dispatches; packed SGD saves exactly one dispatch per weight tensor', async () => {
    const result = await measureDispatchCost({ channels: 4, layers: 3, modes: ['darts'], steps: 1, compare: 'packed-sgd' });
    expect(result.rows.map((r) => [r.mode, r.variant])).toEqual([
      ['darts', 'on'],
      ['darts', 'off'],
    ]);
    const [on, off] = result.rows;
    const net = new Supernet({ config: makeConfig({ mode: 'darts', channels: 4, layers: 3 }), input: { height: 16, width: 16, channels: 3, classes: 10 } }, new Random(1));
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

  it('names the features it can compare when given another', async () => {
    await expect(measureDispatchCost({ channels: 4, layers: 3, modes: ['darts'], steps: 1, compare: 'handles' })).rejects.toThrow(/--compare: one of packed-sgd, fused/);
  });
});
