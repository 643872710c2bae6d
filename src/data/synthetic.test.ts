import { describe, expect, it } from 'vitest';
import { makeSyntheticDataset, parseSyntheticSpec } from './synthetic';

describe('synthetic data set', () => {
  it('is the same for the same seed and differs for another', () => {
    const a = makeSyntheticDataset({ seed: 3, trainCount: 100, testCount: 20 });
    const b = makeSyntheticDataset({ seed: 3, trainCount: 100, testCount: 20 });
    const c = makeSyntheticDataset({ seed: 4, trainCount: 100, testCount: 20 });
    expect(Buffer.from(a.train.images).equals(Buffer.from(b.train.images))).toBe(true);
    expect(Array.from(a.test.labels)).toEqual(Array.from(b.test.labels));
    expect(Buffer.from(a.train.images).equals(Buffer.from(c.train.images))).toBe(false);
    expect(a.source).toBe('synthetic:seed=3');
  });

  it('has the asked shape and balanced classes', () => {
    const d = makeSyntheticDataset({
      seed: 1,
      height: 32,
      width: 32,
      channels: 3,
      classes: 5,
      trainCount: 250,
      testCount: 50,
    });
    expect([d.height, d.width, d.channels, d.classNames.length]).toEqual([32, 32, 3, 5]);
    expect(d.train.images.length).toBe(250 * 32 * 32 * 3);
    expect(d.augment).toBe(true);
    const perClass = new Array(5).fill(0);
    for (const label of d.train.labels) perClass[label]++;
    expect(perClass).toEqual([50, 50, 50, 50, 50]);
    expect(d.mean).toHaveLength(3);
    for (const s of d.std) expect(s).toBeGreaterThan(0.05);
  });

  it('is learnable: nearest class mean reaches over 90% on the test images', () => {
    const d = makeSyntheticDataset({
      seed: 7,
      height: 16,
      width: 16,
      channels: 1,
      classes: 10,
      trainCount: 500,
      testCount: 200,
    });
    const size = 16 * 16;
    const means = Array.from({ length: 10 }, () => new Float64Array(size));
    const counts = new Array(10).fill(0);
    for (let n = 0; n < d.train.count; n++) {
      const k = d.train.labels[n];
      counts[k]++;
      for (let i = 0; i < size; i++) means[k][i] += d.train.images[n * size + i];
    }
    means.forEach((m, k) => m.forEach((v, i) => (m[i] = v / counts[k])));
    let correct = 0;
    for (let n = 0; n < d.test.count; n++) {
      let best = -1;
      let bestDistance = Infinity;
      for (let k = 0; k < 10; k++) {
        let distance = 0;
        for (let i = 0; i < size; i++) distance += (d.test.images[n * size + i] - means[k][i]) ** 2;
        if (distance < bestDistance) [best, bestDistance] = [k, distance];
      }
      if (best === d.test.labels[n]) correct++;
    }
    expect(correct / d.test.count).toBeGreaterThan(0.9);
  });

  it('reads specs', () => {
    expect(parseSyntheticSpec('synthetic')).toEqual({});
    expect(parseSyntheticSpec('synthetic:seed=3')).toEqual({ seed: 3 });
    expect(parseSyntheticSpec('synthetic:seed=2,size=32,channels=3,train=100,test=10')).toEqual({
      seed: 2,
      height: 32,
      width: 32,
      channels: 3,
      trainCount: 100,
      testCount: 10,
    });
    expect(parseSyntheticSpec('fashion-mnist')).toBeNull();
    expect(() => parseSyntheticSpec('synthetic:colour=3')).toThrow('synthetic:colour=3: unknown key "colour"');
    expect(() => makeSyntheticDataset({ classes: 0 })).toThrow('synthetic: classes must be a positive integer, got 0');
  });
});
