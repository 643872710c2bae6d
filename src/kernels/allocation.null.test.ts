// A WebGPU allocation the device refuses is caught (safety.watchAllocations), not left to become
// garbage numbers: Dawn's null adapter holds 512 MB, so six tensors of 100 MB cannot all be made.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useNullWebGpu } from '../platform/node';
import { watchAllocations } from './safety';

beforeAll(async () => {
  await useNullWebGpu();
});

describe('WebGPU allocations', () => {
  it('a refused one is reported by the watch, and only then', async () => {
    const fine = watchAllocations();
    tf.tidy(() => tf.add(tf.ones([1000]), 1)).dispose();
    expect(await fine()).toBeNull();
    const refused = watchAllocations();
    const tensors = Array.from({ length: 6 }, () => tf.fill([25_000_000], 1));
    expect(await refused()).toMatch(/out of memory/i);
    tf.dispose(tensors);
  }, 60_000);
});
