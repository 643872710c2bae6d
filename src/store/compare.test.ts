import { runSummaryFixture } from '../runs/summary-fixture';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { deriveGenotype } from '../search/genotype';
import { ACTIVATIONS, EDGES, OPS, QUICK_CONFIG, candidateOps } from '../search/space';
import {
  compareAgainst,
  comparedRuns,
  configDifferences,
  largestWeight,
  MAX_COMPARED_RUNS,
  pointAt,
  sharedWeightMax,
  weightDifference,
  type FinalWeights,
} from './compare';
import { openRunStore, type ArchSnapshot, type MetricRow, type RunOverview } from '../runs/store';

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

function overview(over: Partial<RunOverview> & Pick<RunOverview, 'id' | 'mode'>): RunOverview {
  return {
    ...runSummaryFixture(over.id, {
      config: { ...QUICK_CONFIG, mode: over.mode },
      steps: 3,
      seconds: 3,
      stepsTotal: 3,
    }),
    metrics: [],
    finalSnapshot: null,
    problems: [],
    ...over,
  };
}

/** The engine stores darts's fixed β as 0 on the activation and -1e9 elsewhere. */
function seluDarts(id: string): RunOverview {
  const selu = ACTIVATIONS.indexOf('selu');
  const onehot = ACTIVATIONS.map((_, k) => (k === selu ? 0 : -1e9));
  return overview({
    id,
    mode: 'darts',
    config: { ...QUICK_CONFIG, mode: 'darts', activation: 'selu' },
    finalSnapshot: snapshot(
      2,
      8,
      true,
      (s) => (s.betaNormal = s.betaReduce = Array.from({ length: EDGES }, () => [...onehot])),
    ),
  });
}

describe('weightDifference', () => {
  it('is X − R entry by entry and names the largest change', () => {
    const reference = { normal: [[0.5, 0.5]], reduce: [[0.25, 0.75]] };
    const run = { normal: [[0.75, 0.25]], reduce: [[0.25, 0.45]] };
    const d = weightDifference(reference, run)!;
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

  it('is the largest weight of any run, over both cells: 0.4, 0.9, 0.6 → every heatmap tops at 0.9', () => {
    // A's largest α is 0.4 (reduction cell), B's 0.9 (normal cell), C's 0.6; β: A 0.3, B 0.7, C none.
    const a = weights([[0.35, 0.35, 0.3]], [[0.4, 0.35, 0.25]], [[[0.3, 0.3, 0.2, 0.2]], [[0.25, 0.25, 0.25, 0.25]]]);
    const b = weights([[0.9, 0.05, 0.05]], [[0.6, 0.2, 0.2]], [[[0.7, 0.1, 0.1, 0.1]], [[0.4, 0.2, 0.2, 0.2]]]);
    const c = weights([[0.6, 0.2, 0.2]], [[0.5, 0.25, 0.25]], null);
    expect(largestWeight(a.alphaNormal, a.alphaReduce)).toBe(0.4);
    expect(sharedWeightMax([a, b, c], 'alpha')).toBe(0.9);
    expect(sharedWeightMax([c, a, b], 'alpha')).toBe(0.9); // the order of the runs does not matter
    expect(sharedWeightMax([a, c], 'alpha')).toBe(0.6);
    expect(sharedWeightMax([a, b, c], 'beta')).toBe(0.7);
  });

  it('skips what a run lacks (no β, no stored weights) and entries that are not finite', () => {
    const a = weights([[0.2, NaN, 0.1]], [[Infinity, 0.25, 0.15]], [[[0.6, 0.4]], [[0.5, 0.5]]]);
    const nonfactorized = weights([[0.05, 0.3]], [[0.1, 0.12]], null);
    expect(sharedWeightMax([a, nonfactorized], 'alpha')).toBe(0.3);
    expect(sharedWeightMax([a, nonfactorized], 'beta')).toBe(0.6); // only A has β: its own top
    expect(sharedWeightMax([null, nonfactorized], 'alpha')).toBe(0.3);
    expect(sharedWeightMax([null, null], 'beta')).toBe(0); // nothing: the heatmap falls back to 1
  });
});

describe('compareAgainst', () => {
  // A: uniform everywhere (raw 0 → 1/8 and 1/9). B: α normal edge 0 has sep_conv_3x3 at ln 2
  // (weight 2/9, the other 7 ops 1/9); β reduce edge 13 has swish at ln 3 (3/11, the others
  // 1/11). C: darts with SELU fixed (β one-hot).
  const sep = OPS.indexOf('sep_conv_3x3');
  const swish = ACTIVATIONS.indexOf('swish');
  const selu = ACTIVATIONS.indexOf('selu');
  const a = overview({
    id: 'a',
    mode: 'factorized',
    finalSnapshot: snapshot(3, 8, true),
    metrics: [1, 2, 3].map((s) => metric(s, 0.2 + s / 10)),
    // Listed out of order here (stored runs keep them in step order): the chart draws them by step.
    heldOut: [3, 1].map((step) => ({ step, epoch: step, testLoss: 1, testAccuracy: step / 10, testCount: 500 })),
  });
  const b = overview({
    id: 'b',
    mode: 'factorized',
    config: { ...QUICK_CONFIG, mode: 'factorized', seed: 7 },
    finalSnapshot: snapshot(5, 8, true, (s) => {
      s.alphaNormal[0]![sep] = Math.log(2);
      s.betaReduce![13]![swish] = Math.log(3);
    }),
    metrics: [2, 4, 5].map((s) => metric(s, 0.3 + s / 20)),
  });
  const c = { ...seluDarts('c'), metrics: [1, 2, 3, 4].map((s) => metric(s, 0.25)) };
  const runs = comparedRuns([a, b, c]);

  it('gives each run its held-out scorings (its validation accuracy) in step order, the latest as its figure', () => {
    expect(runs[0]!.heldOut.map((e) => [e.step, e.testAccuracy])).toEqual([
      [1, 0.1],
      [3, 0.3],
    ]);
    expect(runs[0]!.validation?.testAccuracy).toBe(0.3);
    expect(runs[1]!.heldOut).toEqual([]);
    expect(runs[1]!.validation).toBeNull();
  });

  it('letters the runs in the order picked and takes each run’s X − A of the softmaxed final α and β', () => {
    expect(runs.map((r) => r.letter)).toEqual(['A', 'B', 'C']);
    const cmp = compareAgainst(runs, 'a');
    expect(cmp.differences.map((d) => d.runId)).toEqual(['b', 'c']);
    const [db, dc] = cmp.differences;
    expect(db!.alpha!.normal[0]![sep]).toBeCloseTo(2 / 9 - 1 / 8, 12); // 0.0972…
    expect(db!.alpha!.normal[0]![0]).toBeCloseTo(1 / 9 - 1 / 8, 12); // −0.0138…
    expect(db!.alpha!.normal[1]!.every((v) => Math.abs(v) < 1e-15)).toBe(true);
    expect(db!.alpha!.largest).toMatchObject({ cell: 'normal', row: 0, col: sep });
    expect(db!.beta!.reduce[13]![swish]).toBeCloseTo(3 / 11 - 1 / 9, 12);
    expect(db!.beta!.normal.flat().every((v) => Math.abs(v) < 1e-15)).toBe(true);
    expect([db!.alphaNote, db!.betaNote]).toEqual([null, null]);
    expect(db!.configDifferences).toEqual(['seed: 2 → 7']);
    // C − A: the same α (both uniform), β one-hot on SELU against uniform.
    expect(dc!.alpha!.normal.flat().every((v) => v === 0)).toBe(true);
    expect(dc!.beta!.normal[4]![selu]).toBeCloseTo(1 - 1 / 9, 12);
    expect(dc!.beta!.normal[4]![0]).toBeCloseTo(-1 / 9, 12);
    expect(dc!.betaNote).toBe('darts mode: C’s β is fixed one-hot on selu.');
    expect(dc!.configDifferences).toEqual(['mode: factorized → darts', 'activation: relu → selu']);
    // One diverging scale for each kind's maps: the largest |X − A| of any run.
    expect(cmp.differenceMax.alpha).toBeCloseTo(2 / 9 - 1 / 8, 12);
    expect(cmp.differenceMax.beta).toBeCloseTo(1 - 1 / 9, 12);
    expect(cmp.weightMax).toEqual({ alpha: 2 / 9, beta: 1 });
  });

  it('a new reference gives every other run’s difference against it: A − B = −(B − A)', () => {
    const byA = compareAgainst(runs, 'a');
    const byB = compareAgainst(runs, 'b');
    expect(byB.referenceId).toBe('b');
    expect(byB.differences.map((d) => d.runId)).toEqual(['a', 'c']);
    const [aMinusB, cMinusB] = byB.differences;
    const bMinusA = byA.differences[0]!;
    aMinusB!.alpha!.normal.forEach((row, r) =>
      row.forEach((v, k) => expect(v + bMinusA.alpha!.normal[r]![k]!).toBe(0)),
    );
    expect(aMinusB!.alpha!.normal[0]![sep]).toBeCloseTo(1 / 8 - 2 / 9, 12);
    expect(aMinusB!.configDifferences).toEqual(['seed: 7 → 2']);
    // C − B: C's uniform α against B's; C's one-hot β against B's swish-tilted β.
    expect(cMinusB!.alpha!.normal[0]![sep]).toBeCloseTo(1 / 8 - 2 / 9, 12);
    expect(cMinusB!.beta!.reduce[13]![swish]).toBeCloseTo(0 - 3 / 11, 12);
    expect(cMinusB!.beta!.reduce[13]![selu]).toBeCloseTo(1 - 1 / 11, 12);
    expect(cMinusB!.betaNote).toBe('darts mode: C’s β is fixed one-hot on selu.');
    expect(byB.differenceMax.beta).toBeCloseTo(1 - 1 / 11, 12);
    // The runs themselves (letters, curves, weights) do not change with the reference.
    expect(byB.runs).toEqual(byA.runs);
    expect(() => compareAgainst(runs, 'z')).toThrow(/not one of the compared runs/);
  });

  it('puts every run’s curve on one step axis and names the last step all reached', () => {
    const cmp = compareAgainst(runs, 'a');
    expect(cmp.stepDomain).toEqual([0, 5]);
    expect(cmp.lastCommonStep).toBe(3); // A ends at 3, B at 5, C at 4
    // B has no row at step 3: its head-to-head value is its last point before it (step 2).
    expect(pointAt(cmp.runs[1]!.curve, 3)!.step).toBe(2);
    expect(pointAt(cmp.runs[1]!.curve, 3)!.valAccuracy).toBeCloseTo(0.4, 12);
    expect(pointAt(cmp.runs[1]!.curve, 1)).toBeNull();
    expect(cmp.runs[0]!.finalValAccuracy).toBeCloseTo(0.5, 12);
    expect(cmp.notes).toEqual([]);
    // The cells are derived from the final raw weights, as the live view derives them.
    expect(cmp.runs[1]!.genotype).toEqual(deriveGenotype(b.finalSnapshot!, 'factorized'));
    expect(cmp.runs[2]!.genotype!.normal.filter((e) => e.activation).every((e) => e.activation === 'selu')).toBe(true);
  });

  it('compares 2 to 8 runs, no fewer and no more', () => {
    const many = Array.from({ length: MAX_COMPARED_RUNS + 1 }, (_, i) => overview({ id: `r${i}`, mode: 'darts' }));
    expect(() => comparedRuns(many.slice(0, 1))).toThrow('compare 2 to 8 runs, not 1');
    expect(() => comparedRuns(many)).toThrow('compare 2 to 8 runs, not 9');
    expect(
      comparedRuns(many.slice(0, 8))
        .map((r) => r.letter)
        .join(''),
    ).toBe('ABCDEFGH');
  });

  it('nonfactorized (40 candidates, no β) against factorized: no differences, and says why', () => {
    const wide = candidateOps('nonfactorized').length;
    expect(wide).toBe(40);
    const n = overview({
      id: 'n',
      mode: 'nonfactorized',
      finalSnapshot: snapshot(3, wide, false),
      dataset: { name: 'Fashion-MNIST', source: 'built-in' },
    });
    const f = overview({ id: 'f', mode: 'factorized', finalSnapshot: snapshot(3, 8, true) });
    const cmp = compareAgainst(comparedRuns([f, n, { ...n, id: 'n2' }]), 'f');
    const [nMinusF, n2MinusF] = cmp.differences;
    expect(nMinusF!.alpha).toBeNull();
    expect(nMinusF!.alphaNote).toBe(
      'No α difference: run A (factorized) weighs 8 candidates per edge and run B (nonfactorized) 40, so the columns are not the same ops.',
    );
    expect(nMinusF!.beta).toBeNull();
    expect(nMinusF!.betaNote).toBe('No β difference: run B (nonfactorized) has no β.');
    expect(n2MinusF!.alpha).toBeNull();
    expect(cmp.differenceMax).toEqual({ alpha: 0, beta: 0 });
    expect(cmp.notes).toEqual([
      'The runs used different data sets (A: Synthetic, B: Fashion-MNIST, C: Fashion-MNIST): their curves are not directly comparable.',
    ]);
    expect(cmp.runs[1]!.weights!.alphaNormal[0]).toHaveLength(40);
    expect(cmp.runs[1]!.weights!.alphaNormal[0]![0]).toBeCloseTo(1 / 40, 15);
    // Two nonfactorized runs share their 40 columns: against each other, α is compared.
    const both = compareAgainst(cmp.runs, 'n');
    expect(both.differences.find((d) => d.runId === 'n2')!.alpha!.normal[0]).toHaveLength(40);
  });

  it('a run without stored α/β (an imported bare genotype without weights) still compares curves', () => {
    const bare = overview({ id: 'x', mode: 'darts', metrics: [metric(1, 0.3)] });
    const other = overview({ id: 'y', mode: 'darts', finalSnapshot: snapshot(1, 8, true), metrics: [metric(1, 0.35)] });
    const cmp = compareAgainst(comparedRuns([bare, other]), 'x');
    expect(cmp.runs[0]!.weights).toBeNull();
    expect(cmp.differences[0]!.alpha).toBeNull();
    expect(cmp.differences[0]!.alphaNote).toBe('Run A stored no α/β, so there is nothing to subtract.');
    expect(cmp.lastCommonStep).toBe(1);
    expect(cmp.stepDomain).toEqual([0, 1]);
    // A run without any metric: no step all runs reached.
    expect(compareAgainst(comparedRuns([bare, { ...other, metrics: [] }]), 'x').lastCommonStep).toBeNull();
  });
});

describe('configDifferences', () => {
  it('lists the setup fields that differ, reference → run', () => {
    expect(configDifferences(QUICK_CONFIG, { ...QUICK_CONFIG })).toEqual([]);
    expect(configDifferences(QUICK_CONFIG, { ...QUICK_CONFIG, partialChannels: 4, batchSize: 16 })).toEqual([
      `partialChannels: ${QUICK_CONFIG.partialChannels} → 4`,
      `batchSize: ${QUICK_CONFIG.batchSize} → 16`,
    ]);
    expect(configDifferences(null, QUICK_CONFIG)).toEqual(['setup: only one of the runs has a stored setup']);
  });
});

describe('comparing runs read back from the run store', () => {
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
      const overviews = await store.getRunOverviews(ids);
      expect(overviews.map((o) => o.finalSnapshot!.step)).toEqual([3, 3]); // the last snapshot only
      const cmp = compareAgainst(comparedRuns(overviews), ids[0]!);
      // Row 5 of α normal at step 3, recomputed from float32 values.
      const f32softmax = (row: number[]) => {
        const e = row.map((v) => Math.exp(Math.fround(v)));
        const s = e.reduce((x, y) => x + y, 0);
        return e.map((v) => v / s);
      };
      const rowA = f32softmax(Array.from({ length: 8 }, (_, k) => ((0.1 * (5 - k) * 1) / 3) * 3));
      const rowB = f32softmax(Array.from({ length: 8 }, (_, k) => ((0.1 * (5 - k) * 2) / 3) * 3));
      const diff = cmp.differences[0]!.alpha!;
      diff.normal[5]!.forEach((d, k) => expect(d).toBeCloseTo(rowB[k]! - rowA[k]!, 12));
      expect(diff.normal[5]![0]).toBeCloseTo(0.05431, 5); // B favours op 0 more strongly
      expect(cmp.runs[0]!.curve.map((p) => p.step)).toEqual([1, 2, 3]);
      expect(cmp.runs[1]!.finalValAccuracy).toBeCloseTo(0.31, 6);
      expect(cmp.differences[0]!.configDifferences).toEqual(['mode: factorized → darts', 'seed: 1 → 2']);
    } finally {
      await store.close();
    }
  });
});
