import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { deriveGenotype } from '../search/genotype';
import { ACTIVATIONS, EDGES, OPS, QUICK_CONFIG, candidateOps } from '../search/space';
import {
  alignCurves,
  compareRuns,
  configDifferences,
  largestWeight,
  sharedWeightMax,
  weightDifference,
  type FinalWeights,
} from './compare';
import { openRunStore, type ArchSnapshot, type MetricRow, type RunRecord } from '../runs/store';

const zeros = (cols: number) => Array.from({ length: EDGES }, () => Array.from({ length: cols }, () => 0));

function metric(step: number, valAccuracy: number, valLoss = 2.3 - step * 0.1): MetricRow {
  return { step, epoch: 0, trainLoss: valLoss + 0.05, valLoss, valAccuracy, imagesPerSecond: 100, seconds: step };
}

function snapshot(step: number, cols: number, beta: boolean, edit?: (s: ArchSnapshot) => void): ArchSnapshot {
  const s: ArchSnapshot = {
    step,
    epoch: 0,
    kind: 'raw',
    alphaNormal: zeros(cols),
    alphaReduce: zeros(cols),
    betaNormal: beta ? zeros(ACTIVATIONS.length) : null,
    betaReduce: beta ? zeros(ACTIVATIONS.length) : null,
    edgeNormal: null,
    edgeReduce: null,
  };
  edit?.(s);
  return s;
}

function record(over: Partial<RunRecord> & Pick<RunRecord, 'id' | 'mode'>): RunRecord {
  return {
    name: `run ${over.id}`,
    config: { ...QUICK_CONFIG, mode: over.mode },
    dataset: { name: 'Synthetic', source: 'synthetic:seed=1' },
    backend: 'wasm',
    status: 'done',
    message: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    steps: 3,
    epoch: 0,
    seconds: 3,
    stepsTotal: 3,
    bestValAccuracy: null,
    bestStep: null,
    lastMetrics: null,
    heldOut: [],
    genotype: null,
    checkpointStep: null,
    checkpointAt: null,
    metricCount: 0,
    snapshotCount: 0,
    metrics: [],
    trainMetrics: [],
    kind: 'search',
    training: null,
    snapshots: [],
    problems: [],
    ...over,
  };
}

/** A factorized run (uniform β) against a darts run with fixed SELU (one-hot β), compared. */
function factorizedAgainstSeluDarts() {
  const a = record({ id: 'a', mode: 'factorized', snapshots: [snapshot(2, 8, true)] });
  // The engine stores darts's fixed β as 0 on the activation and -1e9 elsewhere.
  const selu = ACTIVATIONS.indexOf('selu');
  const onehot = ACTIVATIONS.map((_, k) => (k === selu ? 0 : -1e9));
  const b = record({
    id: 'b',
    mode: 'darts',
    config: { ...QUICK_CONFIG, mode: 'darts', activation: 'selu' },
    snapshots: [
      snapshot(2, 8, true, (s) => (s.betaNormal = s.betaReduce = Array.from({ length: EDGES }, () => [...onehot]))),
    ],
  });
  return { selu, c: compareRuns(a, b) };
}

describe('weightDifference', () => {
  it('is B − A entry by entry and names the largest change', () => {
    const a = { normal: [[0.5, 0.5]], reduce: [[0.25, 0.75]] };
    const b = { normal: [[0.75, 0.25]], reduce: [[0.25, 0.45]] };
    const d = weightDifference(a, b)!;
    expect(d.normal).toEqual([[0.25, -0.25]]);
    expect(d.reduce[0]![0]).toBe(0);
    expect(d.reduce[0]![1]).toBeCloseTo(-0.3, 15);
    expect(d.largest).toEqual({ cell: 'reduce', row: 0, col: 1, value: d.reduce[0]![1] });
  });

  it('is null when the shapes differ, and has no largest when nothing changed', () => {
    expect(weightDifference({ normal: [[1, 0]], reduce: [[1]] }, { normal: [[1, 0, 0]], reduce: [[1]] })).toBeNull();
    expect(weightDifference({ normal: [[1]], reduce: [[1]] }, { normal: [[1]], reduce: [[1]] })!.largest).toBeNull();
  });
});

describe('sharedWeightMax', () => {
  const weights = (
    alphaNormal: number[][],
    alphaReduce: number[][],
    beta: [number[][], number[][]] | null,
  ): FinalWeights => ({
    step: 3,
    alphaNormal,
    alphaReduce,
    betaNormal: beta?.[0] ?? null,
    betaReduce: beta?.[1] ?? null,
  });

  it('is the larger run’s largest weight, over both cells: A 0.4, B 0.9 → both heatmaps 0.9', () => {
    // A's largest α is 0.4 (reduction cell), B's 0.9 (normal cell); β: A 0.3, B 0.7.
    const a = weights([[0.35, 0.35, 0.3]], [[0.4, 0.35, 0.25]], [[[0.3, 0.3, 0.2, 0.2]], [[0.25, 0.25, 0.25, 0.25]]]);
    const b = weights([[0.9, 0.05, 0.05]], [[0.6, 0.2, 0.2]], [[[0.7, 0.1, 0.1, 0.1]], [[0.4, 0.2, 0.2, 0.2]]]);
    expect(largestWeight(a.alphaNormal, a.alphaReduce)).toBe(0.4);
    expect(largestWeight(b.alphaNormal, b.alphaReduce)).toBe(0.9);
    expect(sharedWeightMax(a, b, 'alpha')).toBe(0.9);
    expect(sharedWeightMax(b, a, 'alpha')).toBe(0.9); // the same after swapping A and B
    expect(sharedWeightMax(a, b, 'beta')).toBe(0.7);
  });

  it('skips what a run lacks (no β, no stored weights) and entries that are not finite', () => {
    const a = weights([[0.2, NaN, 0.1]], [[Infinity, 0.25, 0.15]], [[[0.6, 0.4]], [[0.5, 0.5]]]);
    const nonfactorized = weights([[0.05, 0.3]], [[0.1, 0.12]], null);
    expect(sharedWeightMax(a, nonfactorized, 'alpha')).toBe(0.3);
    expect(sharedWeightMax(a, nonfactorized, 'beta')).toBe(0.6); // only A has β: its own top
    expect(sharedWeightMax(null, nonfactorized, 'alpha')).toBe(0.3);
    expect(sharedWeightMax(null, null, 'beta')).toBe(0); // nothing: the heatmap falls back to 1
  });

  it('on compared runs: factorized (uniform) vs darts (fixed one-hot β) share β’s top 1', () => {
    const { c } = factorizedAgainstSeluDarts();
    expect(largestWeight(c.a.weights!.betaNormal, c.a.weights!.betaReduce)).toBeCloseTo(1 / 9, 15);
    expect(sharedWeightMax(c.a.weights, c.b.weights, 'beta')).toBe(1);
    expect(sharedWeightMax(c.a.weights, c.b.weights, 'alpha')).toBeCloseTo(1 / 8, 15);
  });
});

describe('compareRuns', () => {
  it('subtracts the softmaxed final α and β (B − A) of two factorized-space runs', () => {
    // A: uniform everywhere (raw 0 → 1/8 and 1/9). B's last snapshot: α normal edge 0 has
    // sep_conv_3x3 at ln 2 (weight 2/9, the other 7 ops 1/9); β reduce edge 13 has swish at ln 3
    // (3/11, the other 8 activations 1/11). An earlier B snapshot must be ignored.
    const sep = OPS.indexOf('sep_conv_3x3');
    const swish = ACTIVATIONS.indexOf('swish');
    const a = record({
      id: 'a',
      mode: 'factorized',
      snapshots: [snapshot(3, 8, true)],
      metrics: [1, 2, 3].map((s) => metric(s, 0.2 + s / 10)),
    });
    const b = record({
      id: 'b',
      mode: 'factorized',
      config: { ...QUICK_CONFIG, mode: 'factorized', seed: 7 },
      snapshots: [
        snapshot(1, 8, true, (s) => (s.alphaNormal[0]![sep] = 5)),
        snapshot(5, 8, true, (s) => {
          s.alphaNormal[0]![sep] = Math.log(2);
          s.betaReduce![13]![swish] = Math.log(3);
        }),
      ],
      metrics: [2, 4, 5].map((s) => metric(s, 0.3 + s / 20)),
    });
    const c = compareRuns(a, b);
    expect(c.a.weights!.step).toBe(3);
    expect(c.b.weights!.step).toBe(5);
    const da = c.alphaDifference!;
    expect(da.normal).toHaveLength(EDGES);
    expect(da.normal[0]![sep]).toBeCloseTo(2 / 9 - 1 / 8, 12); // 0.0972…
    expect(da.normal[0]![0]).toBeCloseTo(1 / 9 - 1 / 8, 12); // −0.0138…
    expect(da.normal[1]!.every((v) => Math.abs(v) < 1e-15)).toBe(true);
    expect(da.largest).toMatchObject({ cell: 'normal', row: 0, col: sep });
    const db = c.betaDifference!;
    expect(db.reduce[13]![swish]).toBeCloseTo(3 / 11 - 1 / 9, 12);
    expect(db.reduce[13]![0]).toBeCloseTo(1 / 11 - 1 / 9, 12);
    expect(db.normal.flat().every((v) => Math.abs(v) < 1e-15)).toBe(true);
    expect(c.alphaNote).toBeNull();
    expect(c.betaNote).toBeNull();

    // Curves on one axis: every step of either run, the shared domain, the last common step.
    expect(c.aligned.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
    expect(c.aligned[0]).toMatchObject({ a: { step: 1 }, b: null });
    expect(c.aligned[1]!.a!.valAccuracy).toBeCloseTo(0.4, 12);
    expect(c.aligned[1]!.b!.valAccuracy).toBeCloseTo(0.4, 12);
    expect(c.aligned[4]).toMatchObject({ a: null, b: { step: 5 } });
    expect(c.stepDomain).toEqual([0, 5]);
    expect(c.lastCommonStep).toBe(2);
    expect(c.a.finalValAccuracy).toBeCloseTo(0.5, 12);
    expect(c.configDifferences).toEqual(['seed: 2 → 7']);
    expect(c.notes).toEqual([]);

    // The cells are derived from the final raw weights, as the live view derives them.
    expect(c.b.genotype).toEqual(deriveGenotype(b.snapshots[1]!, 'factorized'));
    expect(c.b.genotype!.normal.some((e) => e.op === 'sep_conv_3x3' && e.from === 0)).toBe(true);
  });

  it('factorized vs darts: α and β differences, β of darts being its fixed one-hot', () => {
    const { selu, c } = factorizedAgainstSeluDarts();
    expect(c.alphaDifference!.normal.flat().every((v) => v === 0)).toBe(true);
    expect(c.betaDifference!.normal[4]![selu]).toBeCloseTo(1 - 1 / 9, 12);
    expect(c.betaDifference!.normal[4]![0]).toBeCloseTo(-1 / 9, 12);
    expect(c.betaNote).toBe('darts mode: B’s β is fixed one-hot on selu.');
    expect(c.configDifferences).toEqual(['mode: factorized → darts', 'activation: relu → selu']);
    expect(c.b.genotype!.normal.filter((e) => e.activation).every((e) => e.activation === 'selu')).toBe(true);
  });

  it('nonfactorized (40 candidates, no β) vs factorized: no differences, and says why', () => {
    const wide = candidateOps('nonfactorized').length;
    expect(wide).toBe(40);
    const a = record({
      id: 'a',
      mode: 'nonfactorized',
      snapshots: [snapshot(3, wide, false)],
      dataset: { name: 'Fashion-MNIST', source: 'built-in' },
    });
    const b = record({ id: 'b', mode: 'factorized', snapshots: [snapshot(3, 8, true)] });
    const c = compareRuns(a, b);
    expect(c.alphaDifference).toBeNull();
    expect(c.alphaNote).toBe(
      'No α difference: run A (nonfactorized) weighs 40 candidates per edge and run B (factorized) 8, so the columns are not the same ops.',
    );
    expect(c.betaDifference).toBeNull();
    expect(c.betaNote).toBe('No β difference: run A (nonfactorized) has no β.');
    expect(c.notes).toEqual([
      'The runs used different data sets (A: Fashion-MNIST, B: Synthetic): their curves are not directly comparable.',
    ]);
    expect(c.a.weights!.alphaNormal[0]).toHaveLength(40);
    expect(c.a.weights!.alphaNormal[0]![0]).toBeCloseTo(1 / 40, 15);
    // Two nonfactorized runs share their 40 columns: then α is compared.
    expect(compareRuns(a, { ...a, id: 'c' }).alphaDifference!.normal[0]).toHaveLength(40);
  });

  it('a run without stored α/β (an imported bare genotype without weights) still compares curves', () => {
    const a = record({ id: 'a', mode: 'darts', metrics: [metric(1, 0.3)] });
    const b = record({ id: 'b', mode: 'darts', snapshots: [snapshot(1, 8, true)], metrics: [metric(1, 0.35)] });
    const c = compareRuns(a, b);
    expect(c.a.weights).toBeNull();
    expect(c.alphaDifference).toBeNull();
    expect(c.alphaNote).toBe('Run A stored no α/β, so there is nothing to subtract.');
    expect(c.lastCommonStep).toBe(1);
    expect(c.stepDomain).toEqual([0, 1]);
  });
});

describe('alignCurves and configDifferences', () => {
  it('merges by step, keeping one point per run and step', () => {
    const p = (step: number, v: number) => ({ step, trainLoss: v, valLoss: v, valAccuracy: v });
    expect(alignCurves([p(2, 0.1), p(4, 0.2)], [p(1, 0.5), p(4, 0.6)])).toEqual([
      { step: 1, a: null, b: p(1, 0.5) },
      { step: 2, a: p(2, 0.1), b: null },
      { step: 4, a: p(4, 0.2), b: p(4, 0.6) },
    ]);
  });

  it('lists the setup fields that differ', () => {
    expect(configDifferences(QUICK_CONFIG, { ...QUICK_CONFIG })).toEqual([]);
    expect(configDifferences(QUICK_CONFIG, { ...QUICK_CONFIG, partialChannels: 4, batchSize: 16 })).toEqual([
      `partialChannels: ${QUICK_CONFIG.partialChannels} → 4`,
      `batchSize: ${QUICK_CONFIG.batchSize} → 16`,
    ]);
    expect(configDifferences(null, QUICK_CONFIG)).toEqual(['setup: only one of the runs has a stored setup']);
  });
});

describe('compareRuns on runs read back from the run store', () => {
  it('uses the stored (float32) final α: B − A equals the softmax of the stored rows', async () => {
    const store = await openRunStore({ indexedDB: new IDBFactory() });
    try {
      const dataset = { name: 'Synthetic', source: 'synthetic:seed=1' };
      const ids: string[] = [];
      for (const [seed, mode] of [
        [1, 'factorized'],
        [2, 'darts'],
      ] as const) {
        const id = await store.createRun({
          name: `${mode} seed ${seed}`,
          config: { ...QUICK_CONFIG, mode, seed },
          dataset,
        });
        // Real-looking raw α: 0.1 · (row − col) · seed / 3 (not float32-exact; the store rounds).
        const raw = (cols: number) =>
          Array.from({ length: EDGES }, (_, r) => Array.from({ length: cols }, (_, k) => (0.1 * (r - k) * seed) / 3));
        for (const step of [1, 2, 3]) {
          await store.appendMetrics(id, metric(step, 0.25 + step * 0.01 * seed));
          await store.appendSnapshot(id, {
            step,
            kind: 'raw',
            alphaNormal: raw(8).map((r) => r.map((v) => v * step)),
            alphaReduce: raw(8),
            betaNormal: raw(9),
            betaReduce: raw(9),
          });
        }
        await store.setStatus(id, 'done');
        ids.push(id);
      }
      const [ra, rb] = [await store.getRun(ids[0]!), await store.getRun(ids[1]!)];
      const c = compareRuns(ra, rb);
      // Row 5 of α normal at step 3: raw a = 0.1·(5−k)·3/3·… — recomputed from float32 values.
      const f32softmax = (row: number[]) => {
        const e = row.map((v) => Math.exp(Math.fround(v)));
        const s = e.reduce((x, y) => x + y, 0);
        return e.map((v) => v / s);
      };
      const rowA = f32softmax(Array.from({ length: 8 }, (_, k) => ((0.1 * (5 - k) * 1) / 3) * 3));
      const rowB = f32softmax(Array.from({ length: 8 }, (_, k) => ((0.1 * (5 - k) * 2) / 3) * 3));
      c.alphaDifference!.normal[5]!.forEach((d, k) => expect(d).toBeCloseTo(rowB[k]! - rowA[k]!, 12));
      expect(c.alphaDifference!.normal[5]![0]).toBeCloseTo(0.05431, 5); // B favours op 0 more strongly
      expect(c.a.curve.map((p) => p.step)).toEqual([1, 2, 3]);
      expect(c.b.finalValAccuracy).toBeCloseTo(0.31, 6);
      expect(c.configDifferences).toEqual(['mode: factorized → darts', 'seed: 1 → 2']);
    } finally {
      await store.close();
    }
  });
});
