// The time charts' data from kept snapshots: an edge's weights, entropies, genotype changes.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../search/space';
import type { Snapshot } from '../store/lab';
import { edgeEntropySeries, edgeWeightSeries, genotypeChanges, normalizedEntropy } from './history';

const softmax = (row: number[]) => {
  const e = row.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** A snapshot whose raw α favours op `favourite` on every edge by `by` (β uniform). */
function snapshot(step: number, favourite: number, by: number): Snapshot {
  const raw = Array.from({ length: 14 }, () => Array.from({ length: 8 }, (_, k) => (k === favourite ? by : 0)));
  const beta = Array.from({ length: 14 }, () => Array.from({ length: 9 }, () => 0));
  return {
    step,
    epoch: 0,
    alphaNormal: raw.map(softmax),
    alphaReduce: raw.map(softmax),
    betaNormal: beta.map(softmax),
    betaReduce: beta.map(softmax),
    raw: { alphaNormal: raw, alphaReduce: raw, betaNormal: beta, betaReduce: beta, edgeNormal: null, edgeReduce: null },
  };
}

describe('time chart data', () => {
  it("an edge's weights: one line per candidate, a point per snapshot, the softmax values", () => {
    const snaps = [snapshot(1, 4, 0.1), snapshot(5, 4, 0.5), snapshot(9, 4, 1)];
    const series = edgeWeightSeries(snaps, 'reduce', 3, 'alpha', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(series.map((s) => s.name)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(series[4]!.points.map((p) => p[0])).toEqual([1, 5, 9]);
    expect(series[4]!.points[2]![1]).toBeCloseTo(Math.E / (Math.E + 7), 12);
    expect(series[0]!.points[2]![1]).toBeCloseTo(1 / (Math.E + 7), 12);
  });

  it('entropy is 1 for a uniform row, 0 for a decided one, and falls as an op wins', () => {
    expect(normalizedEntropy([0.25, 0.25, 0.25, 0.25])).toBeCloseTo(1, 12);
    expect(normalizedEntropy([1, 0, 0, 0])).toBe(0);
    const series = edgeEntropySeries([snapshot(1, 2, 0), snapshot(2, 2, 1), snapshot(3, 2, 3)], 'normal', 'alpha', [
      'e0',
      ...Array.from({ length: 13 }, (_, i) => `e${i + 1}`),
    ]);
    expect(series).toHaveLength(14);
    const values = series[0]!.points.map((p) => p[1]);
    expect(values[0]).toBeCloseTo(1, 12);
    expect(values[1]!).toBeLessThan(values[0]!);
    expect(values[2]!).toBeLessThan(values[1]!);
  });

  it('genotype changes: the steps where the derived cells changed, and what changed', () => {
    const config = makeConfig({ mode: 'factorized' });
    // sep_conv_3x3 (op 4) on every edge, then dil_conv_5x5 (op 7) from step 8 on.
    const snaps = [snapshot(1, 4, 1), snapshot(4, 4, 1.5), snapshot(8, 7, 1), snapshot(12, 7, 2)];
    const changes = genotypeChanges(snaps, config);
    expect(changes.map((c) => [c.since, c.step])).toEqual([[4, 8]]);
    expect(changes[0]!.changes).toHaveLength(8); // 4 nodes in each of 2 cells
    expect(changes[0]!.changes[0]).toMatch(
      /^normal, node 0: sep_conv_3x3 · relu from c_\{k-2\} and sep_conv_3x3 · relu from c_\{k-1\} → dil_conv_5x5 · relu from c_\{k-2\} and dil_conv_5x5 · relu from c_\{k-1\}$/,
    );
    expect(genotypeChanges(snaps.slice(0, 2), config)).toEqual([]);
  });
});
