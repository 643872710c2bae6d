import { describe, expect, it } from 'vitest';
import { channelStats, makeDataset } from './stats';

describe('channel statistics', () => {
  it('computes per-channel mean and population std in [0, 1] units', () => {
    // Two pixels of three channels: R 0 and 255, G 51 and 51, B 102 and 204.
    const { mean, std } = channelStats(Uint8Array.from([0, 51, 102, 255, 51, 204]), 3);
    expect(mean[0]).toBeCloseTo(0.5, 12);
    expect(mean[1]).toBeCloseTo(0.2, 12);
    expect(mean[2]).toBeCloseTo(0.6, 12);
    expect(std[0]).toBeCloseTo(0.5, 12);
    expect(std[1]).toBe(1); // constant channel: left unscaled rather than divided by zero
    expect(std[2]).toBeCloseTo(0.2, 12);
  });

  it('turns augmentation on for 32x32 colour only', () => {
    const set = { images: new Uint8Array(32 * 32 * 3), labels: new Uint8Array(1), count: 1 };
    const parts = {
      name: 'x',
      source: 'x',
      height: 32,
      width: 32,
      channels: 3,
      classNames: ['a'],
      train: set,
      test: set,
    };
    expect(makeDataset(parts).augment).toBe(true);
    const grey = { images: new Uint8Array(32 * 32), labels: new Uint8Array(1), count: 1 };
    expect(makeDataset({ ...parts, channels: 1, train: grey, test: grey }).augment).toBe(false);
  });
});
