// The CSV tables against the stored run they come from: every row and value, read back.
import { describe, expect, it } from 'vitest';
import { Random } from '../util/random';
import { EDGE_LIST, candidateOps, type SearchMode } from '../search/space';
import { softmax } from '../search/genotype';
import type { ArchSnapshot, MetricRow, RunRecord } from './format';
import { SEARCH_METRICS_HEADER, WEIGHTS_HEADER, metricsCsv, parseCsv, weightsCsv } from './csv';

function rows(n: number, width: number, rng: Random): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: width }, () => rng.normal() * 3));
}

function searchRecord(seed: number, mode: SearchMode): RunRecord {
  const rng = new Random(seed);
  const steps = 1 + Math.floor(rng.next() * 30);
  const metrics: MetricRow[] = Array.from({ length: steps }, (_, i) => ({
    step: i + 1,
    epoch: Math.floor(i / 7),
    trainLoss: i === 3 ? NaN : rng.next() * 3,
    valLoss: i === 4 ? Infinity : rng.next() * 3,
    valAccuracy: Math.floor(rng.next() * 9) / 8,
    imagesPerSecond: rng.next() * 1e4,
    seconds: i * 0.37,
    ...(i % 2 ? { learningRate: 0.025 * rng.next() } : {}),
  }));
  const width = candidateOps(mode).length;
  const beta = mode !== 'nonfactorized';
  const snapshots: ArchSnapshot[] = [0, 2, 5].map((step) => ({
    step,
    epoch: step === 0 ? null : 0,
    kind: step === 5 ? 'softmax' : 'raw',
    alphaNormal: rows(14, width, rng),
    alphaReduce: rows(14, width, rng),
    betaNormal: beta ? rows(14, 9, rng) : null,
    betaReduce: beta ? rows(14, 9, rng) : null,
    edgeNormal: step === 2 ? rows(1, 14, rng)[0]! : null,
    edgeReduce: step === 2 ? rows(1, 14, rng)[0]! : null,
  }));
  return {
    kind: 'search',
    mode,
    name: 'a "quoted", run',
    metrics,
    snapshots,
    heldOut: [{ step: steps, epoch: 0, testLoss: 1.5, testAccuracy: 0.375, testCount: 32 }],
    trainMetrics: [],
  } as unknown as RunRecord;
}

const num = (text: string) => (text === '' ? undefined : Number(text));

describe('a run as CSV', () => {
  it('has one row per stored step, each value as stored (NaN and Infinity too)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const run = searchRecord(seed, 'factorized');
      const [header, ...body] = parseCsv(metricsCsv(run));
      expect(header).toEqual([...SEARCH_METRICS_HEADER]);
      expect(body).toHaveLength(run.metrics.length);
      body.forEach((r, i) => {
        const m = run.metrics[i]!;
        expect([m.step, m.epoch, m.trainLoss, m.valLoss, m.valAccuracy]).toEqual(r.slice(0, 5).map(num));
        expect(num(r[7]!)).toBe(m.imagesPerSecond);
        expect(num(r[8]!)).toBe(m.learningRate);
        expect(num(r[9]!)).toBe(m.seconds);
        const last = i === body.length - 1;
        expect([num(r[5]!), num(r[6]!)]).toEqual(last ? [0.375, 32] : [undefined, undefined]);
      });
    }
  });

  it('has every α, β and edge weight of every snapshot, with its softmax within the edge', () => {
    for (const [seed, mode] of [
      [1, 'factorized'],
      [2, 'nonfactorized'],
      [3, 'darts'],
    ] as const) {
      const run = searchRecord(seed, mode);
      const [header, ...body] = parseCsv(weightsCsv(run));
      expect(header).toEqual([...WEIGHTS_HEADER]);
      const width = candidateOps(mode).length;
      const betaRows = mode === 'nonfactorized' ? 0 : 2 * 14 * 9;
      expect(body).toHaveLength(3 * (2 * 14 * width + betaRows) + 2 * 14);
      const rng = new Random(seed * 31);
      for (let k = 0; k < 200; k++) {
        const r = body[Math.floor(rng.next() * body.length)]!;
        const [step, , cell, edgeText, from, to, weights, candidate, raw, share] = r;
        const s = run.snapshots.find((x) => x.step === Number(step))!;
        const edge = Number(edgeText);
        expect(to).toBe(`node ${EDGE_LIST[edge]!.node}`);
        expect(from).toBe(
          EDGE_LIST[edge]!.from === 0
            ? 'c_{k-2}'
            : EDGE_LIST[edge]!.from === 1
              ? 'c_{k-1}'
              : `node ${EDGE_LIST[edge]!.from - 2}`,
        );
        if (weights === 'edge') {
          const values = cell === 'normal' ? s.edgeNormal! : s.edgeReduce!;
          expect(Number(raw)).toBe(values[edge]);
          continue;
        }
        const key = `${weights}${cell === 'normal' ? 'Normal' : 'Reduce'}` as 'alphaNormal';
        const row = s[key][edge]!;
        const names = body
          .filter((x) => x[0] === step && x[2] === cell && x[3] === edgeText && x[6] === weights)
          .map((x) => x[7]);
        const i = names.indexOf(candidate!);
        expect(i).toBeGreaterThanOrEqual(0);
        if (s.kind === 'raw') {
          expect(Number(raw)).toBe(row[i]);
          expect(Number(share)).toBe(softmax(row)[i]);
        } else {
          expect(raw).toBe('');
          expect(Number(share)).toBe(row[i]);
        }
      }
      // The edge weights' softmax is over each node's incoming edges: it sums to 1 per node.
      const edges = body.filter((r) => r[6] === 'edge' && r[2] === 'normal');
      for (let node = 0; node < 4; node++) {
        const sum = edges.filter((r) => r[5] === `node ${node}`).reduce((a, r) => a + Number(r[9]), 0);
        expect(sum).toBeCloseTo(1, 12);
      }
    }
  });

  it('quotes a field with a comma or a quote, and reads it back', () => {
    expect(parseCsv('a,"b ""c"", d"\n1,\n')).toEqual([
      ['a', 'b "c", d'],
      ['1', ''],
    ]);
  });
});
