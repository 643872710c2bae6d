import { describe, expect, it } from 'vitest';
import { BatchStream, evalBatchCount, evalBatches, gatherBatch, makeSearchStreams, splitTrainVal } from './batches';
import { makeSyntheticDataset } from './synthetic';
import type { Batch } from './types';

const colour = makeSyntheticDataset({
  seed: 2,
  height: 32,
  width: 32,
  channels: 3,
  classes: 4,
  trainCount: 100,
  testCount: 30,
});
const grey = makeSyntheticDataset({
  seed: 2,
  height: 12,
  width: 12,
  channels: 1,
  classes: 3,
  trainCount: 90,
  testCount: 21,
});

const same = (a: Batch, b: Batch) =>
  a.shape.join() === b.shape.join() &&
  Buffer.from(a.x.buffer).equals(Buffer.from(b.x.buffer)) &&
  a.y.join() === b.y.join();

describe('splits', () => {
  it('splits at floor(portion * n), in index order', () => {
    const { train, val } = splitTrainVal(101, 0.5);
    expect([train.length, val.length]).toEqual([50, 51]);
    expect([train[0], train[49], val[0], val[50]]).toEqual([0, 49, 50, 100]);
    expect(splitTrainVal(10, 0.8).train.length).toBe(8);
    expect(() => splitTrainVal(10, 1)).toThrow('trainPortion must be in (0, 1), got 1');
  });

  it('gives a search disjoint train and validation streams', () => {
    const streams = makeSearchStreams(grey, { batchSize: 8, seed: 1 });
    expect([streams.split.train.length, streams.split.val.length]).toEqual([45, 45]);
    expect([streams.train.batchesPerEpoch, streams.val.batchesPerEpoch]).toEqual([5, 5]);
    expect(streams.train.augment).toBe(false);
    expect(makeSearchStreams(colour, { batchSize: 8, seed: 1 }).val.augment).toBe(true);
  });
});

describe('BatchStream', () => {
  it('gives the same batches for the same seed, others for another', () => {
    const indices = Array.from({ length: 60 }, (_, i) => i);
    const a = new BatchStream(colour, indices, { batchSize: 16, seed: 5, augment: true });
    const b = new BatchStream(colour, indices, { batchSize: 16, seed: 5, augment: true });
    const c = new BatchStream(colour, indices, { batchSize: 16, seed: 6, augment: true });
    for (let i = 0; i < 7; i++) {
      const [x, y, z] = [a.next(), b.next(), c.next()];
      expect(same(x, y)).toBe(true);
      if (i === 0) expect(same(x, z)).toBe(false);
    }
  });

  it('visits every index once per epoch, in a new order each epoch, dropping the remainder', () => {
    const indices = Array.from({ length: 45 }, (_, i) => 2 * i); // even images only
    const stream = new BatchStream(grey, indices, { batchSize: 10, seed: 1 });
    expect(stream.batchesPerEpoch).toBe(4);
    const epochLabels: number[][] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      expect(stream.epoch).toBe(epoch);
      const seen: number[] = [];
      for (let b = 0; b < 4; b++) {
        expect(stream.position).toBe(b);
        const batch = stream.next();
        expect(batch.shape).toEqual([10, 12, 12, 1]);
        // Find each batch image among the even images by its normalised pixels.
        for (let i = 0; i < 10; i++) {
          const image = batch.x.subarray(i * 144, (i + 1) * 144);
          const match = indices.find((n) => gatherBatch(grey, grey.train, [n]).x.every((v, j) => v === image[j]));
          expect(match).toBeDefined();
          seen.push(match!);
        }
      }
      expect(new Set(seen).size).toBe(40);
      epochLabels.push(seen);
    }
    expect(stream.epoch).toBe(2);
    expect(epochLabels[0]).not.toEqual(epochLabels[1]);
  });

  it('keeps the last small batch when dropLast is false', () => {
    const stream = new BatchStream(grey, [0, 1, 2, 3, 4], { batchSize: 2, seed: 1, dropLast: false });
    expect(stream.batchesPerEpoch).toBe(3);
    expect([stream.next().shape[0], stream.next().shape[0], stream.next().shape[0]]).toEqual([2, 2, 1]);
    expect(stream.epoch).toBe(1);
    expect(() => new BatchStream(grey, [0, 1], { batchSize: 3, seed: 1 })).toThrow(
      'synthetic: batch size 3 is larger than the 2 images in this split',
    );
    expect(() => new BatchStream(grey, [0, 90], { batchSize: 1, seed: 1 })).toThrow(
      'index 90 is outside the 90 images',
    );
  });

  it('resumes exactly from getState, mid-epoch and across epochs, through JSON', () => {
    const indices = Array.from({ length: 50 }, (_, i) => i);
    const options = { batchSize: 8, seed: 9, augment: true };
    const original = new BatchStream(colour, indices, options);
    for (let i = 0; i < 9; i++) original.next(); // 6 per epoch: into the second epoch
    const saved = JSON.parse(JSON.stringify(original.getState()));
    expect([saved.epoch, saved.position]).toEqual([1, 3]);
    const expected = Array.from({ length: 10 }, () => original.next());
    const resumed = new BatchStream(colour, indices, options);
    resumed.next(); // its own position does not matter
    resumed.setState(saved);
    expect([resumed.epoch, resumed.position]).toEqual([1, 3]);
    for (const batch of expected) expect(same(resumed.next(), batch)).toBe(true);
    expect(() => new BatchStream(colour, indices, { ...options, batchSize: 5 }).setState(saved)).toThrow(
      'batch stream state is for 50 images in batches of 8; this stream has 50 in batches of 5',
    );
  });

  it('normalises to mean about 0 and std about 1 over the training set', () => {
    for (const dataset of [colour, grey]) {
      const all = Array.from({ length: dataset.train.count }, (_, i) => i);
      const batch = new BatchStream(dataset, all, { batchSize: dataset.train.count, seed: 1 }).next();
      for (let c = 0; c < dataset.channels; c++) {
        let sum = 0;
        let squares = 0;
        let n = 0;
        for (let i = c; i < batch.x.length; i += dataset.channels) {
          sum += batch.x[i];
          squares += batch.x[i] ** 2;
          n++;
        }
        const mean = sum / n;
        expect(Math.abs(mean)).toBeLessThan(1e-4);
        expect(Math.sqrt(squares / n - mean * mean)).toBeCloseTo(1, 3);
      }
    }
    // The exact formula on one value: (v / 255 - mean) / std.
    const v = colour.train.images[5];
    expect(gatherBatch(colour, colour.train, [0]).x[5]).toBeCloseTo((v / 255 - colour.mean[2]) / colour.std[2], 5);
  });

  it('augments only when asked, with a crop of the 4-pixel zero-padded image and an optional flip', () => {
    const indices = Array.from({ length: 32 }, (_, i) => i);
    const plain = new BatchStream(colour, indices, { batchSize: 32, seed: 3 });
    const augmented = new BatchStream(colour, indices, { batchSize: 32, seed: 3, augment: true });
    const a = plain.next();
    const b = augmented.next();
    expect(Array.from(a.y)).toEqual(Array.from(b.y)); // same order: augmentation has its own generator
    // Unaugmented batches are the images themselves.
    const order: number[] = [];
    for (let i = 0; i < 32; i++) {
      const image = a.x.subarray(i * 3072, (i + 1) * 3072);
      order.push(indices.find((n) => gatherBatch(colour, colour.train, [n]).x.every((v, j) => v === image[j]))!);
    }
    expect(order.every((n) => n !== undefined)).toBe(true);
    // Each augmented image is one of the 9 x 9 x 2 crops-and-flips of its original.
    const table = (c: number, v: number) => Math.fround((v / 255 - colour.mean[c]) / colour.std[c]);
    let changed = 0;
    let flipped = 0;
    for (let i = 0; i < 32; i++) {
      const source = colour.train.images.subarray(order[i] * 3072, (order[i] + 1) * 3072);
      const got = b.x.subarray(i * 3072, (i + 1) * 3072);
      let found: [number, number, boolean] | null = null;
      for (let dy = -4; dy <= 4 && !found; dy++) {
        for (let dx = -4; dx <= 4 && !found; dx++) {
          for (const flip of [false, true]) {
            let ok = true;
            for (let y = 0; y < 32 && ok; y++) {
              for (let x = 0; x < 32 && ok; x++) {
                const sy = y + dy;
                const sx = (flip ? 31 - x : x) + dx;
                for (let c = 0; c < 3 && ok; c++) {
                  const raw = sy >= 0 && sy < 32 && sx >= 0 && sx < 32 ? source[(sy * 32 + sx) * 3 + c] : 0;
                  ok = got[(y * 32 + x) * 3 + c] === table(c, raw);
                }
              }
            }
            if (ok) {
              found = [dy, dx, flip];
              break;
            }
          }
        }
      }
      expect(found).not.toBeNull();
      if (found![0] !== 0 || found![1] !== 0 || found![2]) changed++;
      if (found![2]) flipped++;
    }
    expect(changed).toBeGreaterThan(25);
    expect(flipped).toBeGreaterThan(6);
    expect(flipped).toBeLessThan(26);
  });
});

describe('evalBatches', () => {
  it('covers the test set or the validation half in order, unaugmented', () => {
    const batches = [...evalBatches(colour, 'test', 8)];
    expect(batches.map((b) => b.shape[0])).toEqual([8, 8, 8, 6]);
    expect(evalBatchCount(colour, 'test', 8)).toBe(4);
    expect(Array.from(batches[3].y)).toEqual(Array.from(colour.test.labels.subarray(24)));
    expect(same(batches[0], gatherBatch(colour, colour.test, [0, 1, 2, 3, 4, 5, 6, 7]))).toBe(true);
    const val = [...evalBatches(grey, 'val', 20)];
    expect(val.map((b) => b.shape[0])).toEqual([20, 20, 5]);
    expect(evalBatchCount(grey, 'val', 20)).toBe(3);
    expect(
      same(
        val[0],
        gatherBatch(
          grey,
          grey.train,
          Array.from({ length: 20 }, (_, i) => 45 + i),
        ),
      ),
    ).toBe(true);
    expect([...evalBatches(grey, 'val', 20, { limit: 30 })].map((b) => b.shape[0])).toEqual([20, 10]);
  });
});
