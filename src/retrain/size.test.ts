// A genotype's size without building it equals the built network's, for random genotypes.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DARTS_V2, type Genotype } from '../search/genotype';
import { ACTIVATIONS, OPS } from '../search/space';
import { Random } from '../util/random';
import { DiscreteNetwork } from './network';
import { networkSize } from './size';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A random genotype: any op but none, any input a node may have, any activation. */
function randomGenotype(seed: number): Genotype {
  const rng = new Random(seed);
  const ops = OPS.filter((o) => o !== 'none');
  const cell = () =>
    Array.from({ length: 8 }, (_, i) => {
      const op = ops[rng.int(ops.length)]!;
      return {
        op,
        from: rng.int(Math.floor(i / 2) + 2),
        activation: op.includes('conv') ? ACTIVATIONS[rng.int(ACTIVATIONS.length)]! : null,
      };
    });
  return { normal: cell(), normalConcat: [2, 3, 4, 5], reduce: cell(), reduceConcat: [2, 3, 4, 5] };
}

describe('networkSize', () => {
  it("DARTS_V2 at C=36, 20 cells has DARTS's counts, and about half a billion multiply-adds an image", () => {
    const size = networkSize(DARTS_V2, { channels: 36, layers: 20, classes: 10, inChannels: 3, imageSize: 32 });
    expect([size.params, size.params + size.auxiliaryParams]).toEqual([3_349_342, 3_825_768]);
    // DARTS reports ~530-550 M multiply-adds for its CIFAR-10 network (convs and the classifier).
    expect(size.macs).toBeGreaterThan(500e6);
    expect(size.macs).toBeLessThan(580e6);
    expect(size.auxiliaryMacs).toBeGreaterThan(0);
  });

  for (const seed of [1, 2, 3, 4, 5, 6])
    it(`equals the built network's parameter count (random genotype, seed ${seed})`, () => {
      const genotype = randomGenotype(seed);
      const shape = { channels: 4 + 2 * (seed % 3), layers: 3 + (seed % 4), classes: 10, inChannels: 1 + (seed % 3) };
      const net = new DiscreteNetwork({ genotype, ...shape, auxiliary: true }, new Random(seed));
      const built = net.countParams();
      net.dispose();
      const counted = networkSize(genotype, { ...shape, imageSize: 32 });
      expect({ params: counted.params, auxiliaryParams: counted.auxiliaryParams }).toEqual(built);
    });

  it('multiply-adds grow with the image as its area, parameters do not', () => {
    const shape = { channels: 16, layers: 8, classes: 10, inChannels: 3 };
    const small = networkSize(DARTS_V2, { ...shape, imageSize: 16 });
    const large = networkSize(DARTS_V2, { ...shape, imageSize: 32 });
    expect(large.params).toBe(small.params);
    expect(large.macs / small.macs).toBeGreaterThan(3.5);
    expect(large.macs / small.macs).toBeLessThan(4.1);
  });
});
