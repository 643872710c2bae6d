import { describe, expect, it } from 'vitest';
import { forwardMacs, searchStepFlops } from './macs';
import { makeConfig } from '../search/space';

const paperInput = { height: 32, width: 32, channels: 3, classes: 10 };

describe('forward multiply-adds of the supernet', () => {
  it('reproduces the DARTS reference count for C=16, L=8 on 32x32x3: 300.3 M, non-factorized 2,505 M', () => {
    const macs = (mode: 'darts' | 'factorized' | 'nonfactorized') => forwardMacs(makeConfig({ mode }), paperInput);
    expect(macs('darts') / 1e6).toBeCloseTo(300.26, 2);
    expect(macs('factorized')).toBe(macs('darts')); // the mixed activation adds no MACs
    expect(macs('nonfactorized') / 1e6).toBeCloseTo(2505.02, 2);
  });

  it('counts the quick preset (C=8, L=5, 28x28x1): 46.8 M, non-factorized 394.6 M', () => {
    const input = { height: 28, width: 28, channels: 1, classes: 10 };
    expect(forwardMacs(makeConfig({ mode: 'factorized' }, 'quick'), input) / 1e6).toBeCloseTo(46.85, 2);
    expect(forwardMacs(makeConfig({ mode: 'nonfactorized' }, 'quick'), input) / 1e6).toBeCloseTo(394.57, 2);
  });

  it('partial channels divide the edge convolutions, not the stem or preprocessing', () => {
    const full = forwardMacs(makeConfig({ mode: 'darts' }), paperInput);
    const pc = forwardMacs(makeConfig({ mode: 'darts', partialChannels: 4 }), paperInput);
    expect(pc).toBeLessThan(full / 4);
    expect(pc).toBeGreaterThan(full / 16);
  });

  it('a step is forward + backward (3x) of one ω pass and the architecture passes, 2 FLOPs per MAC', () => {
    expect(searchStepFlops(1e6, 64, 1)).toBe(2 * 1e6 * 3 * 2 * 64);
    expect(searchStepFlops(1e6, 64, 2)).toBe(2 * 1e6 * 3 * 3 * 64);
  });
});
