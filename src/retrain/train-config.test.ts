import { describe, expect, it } from 'vitest';
import { DARTS_V2, withAllRelu } from '../search/genotype';
import { QUICK_TRAIN_CONFIG, evaluationDue, makeTrainConfig } from './train-config';

describe('re-training settings', () => {
  it('scores the test images at each epoch end by default, every N steps when asked, and always at the last step', () => {
    const due = (total: number, perEpoch: number, every = 0) =>
      Array.from({ length: total }, (_, i) => i + 1).filter((step) => evaluationDue(step, total, perEpoch, every));
    expect(due(10, 4)).toEqual([4, 8, 10]);
    expect(due(10, 4, 3)).toEqual([3, 6, 9, 10]);
    expect(due(6, 100)).toEqual([6]);
    expect(due(1, 1)).toEqual([1]);
  });

  it('names a wrong field, including the switches', () => {
    expect(() => makeTrainConfig({ auxiliary: 'yes' as unknown as boolean })).toThrow(
      'train config.auxiliary: must be true or false, got "yes"',
    );
    expect(makeTrainConfig({ channels: 4 }, 'quick')).toEqual({ ...QUICK_TRAIN_CONFIG, channels: 4 });
  });

  it('the all-ReLU baseline keeps the cells and sets every conv op’s activation to relu', () => {
    const g = {
      ...DARTS_V2,
      normal: DARTS_V2.normal.map((e) => (e.activation ? { ...e, activation: 'selu' as const } : e)),
    };
    const relu = withAllRelu(g);
    expect(relu.normal.map((e) => [e.op, e.from])).toEqual(g.normal.map((e) => [e.op, e.from]));
    expect(relu.normal.map((e) => e.activation)).toEqual(g.normal.map((e) => (e.activation ? 'relu' : null)));
    expect(relu.reduce.every((e) => e.activation === null || e.activation === 'relu')).toBe(true);
    expect(g.normal.some((e) => e.activation === 'selu')).toBe(true); // the input is not changed
  });
});
