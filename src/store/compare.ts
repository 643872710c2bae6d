// Two stored runs side by side: each run's final softmaxed α/β, derived cells and curves, and
// what the comparison view draws from them — the B − A difference of the softmaxed weights
// (only where both runs weigh the same candidates) and both runs' curves on one step axis.
// Pure TypeScript (no DOM, React or worker APIs), so Node tests check it with real numbers.
import { deriveGenotype, genotypeOf, softmax, type Genotype } from '../search/genotype';
import type { SearchConfig, SearchMode } from '../search/space';
import type { ArchSnapshot, RunRecord, RunStatus } from '../runs/format';

/** One point of a run's curves (the fields of lab.ts's CurvePoint). */
export interface ComparedPoint {
  step: number;
  trainLoss: number;
  valLoss: number;
  valAccuracy: number;
}

/** The softmaxed α/β of a run's last stored snapshot. */
export interface FinalWeights {
  step: number;
  alphaNormal: number[][];
  alphaReduce: number[][];
  betaNormal: number[][] | null;
  betaReduce: number[][] | null;
}

export interface ComparedRun {
  id: string;
  name: string;
  mode: SearchMode;
  config: SearchConfig | null;
  datasetName: string;
  status: RunStatus;
  steps: number;
  bestValAccuracy: number | null;
  /** Validation accuracy of the last stored step; null without metrics. */
  finalValAccuracy: number | null;
  /** null when the run stored no α/β. */
  weights: FinalWeights | null;
  /** Derived from the final raw α/β (as the live view derives it), else the stored genotype. */
  genotype: Genotype | null;
  curve: ComparedPoint[];
}

/** B − A of softmaxed weights, per cell type (14 rows each). */
export interface WeightDifference {
  normal: number[][];
  reduce: number[][];
  /** The largest |B − A| and where it is (null when every entry is 0 or not finite). */
  largest: { cell: 'normal' | 'reduce'; row: number; col: number; value: number } | null;
}

/** Both runs' metrics at one step (null where that run has no point there). */
export interface AlignedPoint {
  step: number;
  a: ComparedPoint | null;
  b: ComparedPoint | null;
}

export interface RunComparison {
  a: ComparedRun;
  b: ComparedRun;
  /** null when the runs' α columns differ (e.g. nonfactorized's 40 against 8); see alphaNote. */
  alphaDifference: WeightDifference | null;
  alphaNote: string | null;
  /** null unless both runs have β (searched, frozen or fixed); see betaNote. */
  betaDifference: WeightDifference | null;
  betaNote: string | null;
  /** Every step either run has, ascending. */
  aligned: AlignedPoint[];
  /** The shared x domain of the curves, in steps: [0, the later run's last step]. */
  stepDomain: [number, number];
  /** The last step both runs have a metric for (their head-to-head point), or null. */
  lastCommonStep: number | null;
  /** Setup fields that differ between A and B: "mode: factorized → darts". */
  configDifferences: string[];
  /** Things to keep in mind when reading the comparison (different data sets, missing α). */
  notes: string[];
}

// ---------------------------------------------------------------------------------------------

function softmaxRows(rows: number[][] | null): number[][] | null {
  return rows ? rows.map((r) => softmax(r)) : null;
}

/** The last snapshot's α/β as probabilities (a 'softmax' snapshot is already). */
export function finalWeights(snapshots: readonly ArchSnapshot[]): FinalWeights | null {
  let last: ArchSnapshot | null = null;
  for (const s of snapshots) if (!last || s.step >= last.step) last = s;
  if (!last) return null;
  const sm = last.kind === 'raw' ? softmaxRows : (rows: number[][] | null) => rows;
  return {
    step: last.step,
    alphaNormal: sm(last.alphaNormal)!,
    alphaReduce: sm(last.alphaReduce)!,
    betaNormal: sm(last.betaNormal),
    betaReduce: sm(last.betaReduce),
  };
}

function lastSnapshot(snapshots: readonly ArchSnapshot[]): ArchSnapshot | null {
  let last: ArchSnapshot | null = null;
  for (const s of snapshots) if (!last || s.step >= last.step) last = s;
  return last;
}

function runGenotype(run: RunRecord, last: ArchSnapshot | null): Genotype | null {
  if (last && last.kind === 'raw') {
    try {
      return deriveGenotype(last, run.mode, { fixedActivation: run.config?.activation });
    } catch {
      // fall back to the stored genotype
    }
  }
  if (run.genotype) {
    try {
      return genotypeOf(run.genotype);
    } catch {
      return null;
    }
  }
  return null;
}

function curveOf(run: RunRecord): ComparedPoint[] {
  const byStep = new Map<number, ComparedPoint>();
  for (const m of run.metrics)
    byStep.set(m.step, { step: m.step, trainLoss: m.trainLoss, valLoss: m.valLoss, valAccuracy: m.valAccuracy });
  return [...byStep.values()].sort((x, y) => x.step - y.step);
}

export function comparedRun(run: RunRecord): ComparedRun {
  const curve = curveOf(run);
  const last = lastSnapshot(run.snapshots);
  return {
    id: run.id,
    name: run.name,
    mode: run.mode,
    config: run.config,
    datasetName: run.dataset.name,
    status: run.status,
    steps: run.steps,
    bestValAccuracy: run.bestValAccuracy,
    finalValAccuracy: curve.length ? curve[curve.length - 1]!.valAccuracy : null,
    weights: finalWeights(run.snapshots),
    genotype: runGenotype(run, last),
    curve,
  };
}

/** The largest finite entry of the given matrices (missing ones skipped), 0 when there is none. */
export function largestWeight(...grids: (readonly (readonly number[])[] | null | undefined)[]): number {
  let max = 0;
  for (const grid of grids)
    if (grid) for (const row of grid) for (const v of row) if (Number.isFinite(v) && v > max) max = v;
  return max;
}

/**
 * The top of the colour scale that run A's and run B's α (or β) heatmaps share: the largest
 * softmaxed weight of either run, normal and reduction cell alike (each heatmap draws both cells
 * on one scale). With one scale per run the same colour would mean different weights in A and B.
 */
export function sharedWeightMax(a: FinalWeights | null, b: FinalWeights | null, which: 'alpha' | 'beta'): number {
  const cells = (w: FinalWeights | null) =>
    !w ? [] : which === 'alpha' ? [w.alphaNormal, w.alphaReduce] : [w.betaNormal, w.betaReduce];
  return largestWeight(...cells(a), ...cells(b));
}

/** Whether two matrices have the same number of rows and the same row lengths. */
function sameShape(a: number[][], b: number[][]): boolean {
  return a.length === b.length && a.every((row, i) => row.length === b[i]!.length);
}

/** B − A entry by entry, or null when the shapes differ. */
export function weightDifference(
  a: { normal: number[][]; reduce: number[][] },
  b: { normal: number[][]; reduce: number[][] },
): WeightDifference | null {
  if (!sameShape(a.normal, b.normal) || !sameShape(a.reduce, b.reduce)) return null;
  let largest: WeightDifference['largest'] = null;
  const diff = (cell: 'normal' | 'reduce') =>
    b[cell].map((row, r) =>
      row.map((v, k) => {
        const d = v - a[cell][r]![k]!;
        if (Number.isFinite(d) && d !== 0 && (!largest || Math.abs(d) > Math.abs(largest.value)))
          largest = { cell, row: r, col: k, value: d };
        return d;
      }),
    );
  const normal = diff('normal');
  const reduce = diff('reduce');
  return { normal, reduce, largest };
}

/** Every step of either curve, with both runs' points there. */
export function alignCurves(a: readonly ComparedPoint[], b: readonly ComparedPoint[]): AlignedPoint[] {
  const rows = new Map<number, AlignedPoint>();
  const row = (step: number) => {
    let r = rows.get(step);
    if (!r) rows.set(step, (r = { step, a: null, b: null }));
    return r;
  };
  for (const p of a) row(p.step).a = p;
  for (const p of b) row(p.step).b = p;
  return [...rows.values()].sort((x, y) => x.step - y.step);
}

const CONFIG_SKIP = new Set(['fixedBeta']); // β arrays: named, not printed

/** "field: A → B" for each setup field that differs (fields only one run has count too). */
export function configDifferences(a: SearchConfig | null, b: SearchConfig | null): string[] {
  if (!a || !b) return a === b ? [] : ['setup: only one of the runs has a stored setup'];
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])];
  const show = (v: unknown) => (v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v));
  const out: string[] = [];
  for (const k of keys) {
    const va = ra[k];
    const vb = rb[k];
    if (JSON.stringify(va) === JSON.stringify(vb)) continue;
    out.push(CONFIG_SKIP.has(k) ? `${k}: differs` : `${k}: ${show(va)} → ${show(vb)}`);
  }
  return out;
}

function columnsOf(rows: number[][]): number {
  return rows[0]?.length ?? 0;
}

/**
 * Compares two stored runs (A and B). Differences are B − A of the softmaxed final weights:
 * α only when both runs weigh the same candidates (same column count: the 8 ops, or both
 * nonfactorized's 40), β only when both runs have β (a darts run's β is its fixed one-hot).
 */
export function compareRuns(recordA: RunRecord, recordB: RunRecord): RunComparison {
  const a = comparedRun(recordA);
  const b = comparedRun(recordB);
  const notes: string[] = [];
  if (a.datasetName !== b.datasetName)
    notes.push(
      `The runs used different data sets (A: ${a.datasetName}, B: ${b.datasetName}): their curves are not directly comparable.`,
    );

  let alphaDifference: WeightDifference | null = null;
  let alphaNote: string | null = null;
  let betaDifference: WeightDifference | null = null;
  let betaNote: string | null = null;
  const wa = a.weights;
  const wb = b.weights;
  if (!wa || !wb) {
    const missing = [!wa && 'A', !wb && 'B'].filter(Boolean).join(' and ');
    alphaNote = betaNote = `Run ${missing} stored no α/β, so there is nothing to subtract.`;
  } else {
    alphaDifference = weightDifference(
      { normal: wa.alphaNormal, reduce: wa.alphaReduce },
      { normal: wb.alphaNormal, reduce: wb.alphaReduce },
    );
    if (!alphaDifference)
      alphaNote =
        `No α difference: run A (${a.mode}) weighs ${columnsOf(wa.alphaNormal)} candidates per edge and run B (${b.mode}) ` +
        `${columnsOf(wb.alphaNormal)}, so the columns are not the same ops.`;
    if (wa.betaNormal && wa.betaReduce && wb.betaNormal && wb.betaReduce) {
      betaDifference = weightDifference(
        { normal: wa.betaNormal, reduce: wa.betaReduce },
        { normal: wb.betaNormal, reduce: wb.betaReduce },
      );
      if (!betaDifference) betaNote = 'No β difference: the runs’ β have different shapes.';
      else {
        const fixed = [a, b]
          .filter((r) => r.mode === 'darts')
          .map((r) => `${r === a ? 'A' : 'B'}’s β is fixed one-hot on ${r.config?.activation ?? 'relu'}`);
        if (fixed.length) betaNote = `darts mode: ${fixed.join('; ')}.`;
      }
    } else {
      const without = [a, b]
        .filter((r) => !(r.weights?.betaNormal && r.weights.betaReduce))
        .map((r) => `${r === a ? 'A' : 'B'} (${r.mode})`);
      betaNote = `No β difference: run ${without.join(' and ')} has no β.`;
    }
  }

  const aligned = alignCurves(a.curve, b.curve);
  const lastStep = Math.max(a.curve[a.curve.length - 1]?.step ?? 0, b.curve[b.curve.length - 1]?.step ?? 0);
  let lastCommonStep: number | null = null;
  for (const p of aligned) if (p.a && p.b) lastCommonStep = p.step;

  return {
    a,
    b,
    alphaDifference,
    alphaNote,
    betaDifference,
    betaNote,
    aligned,
    stepDomain: [0, Math.max(1, lastStep)],
    lastCommonStep,
    configDifferences: configDifferences(a.config, b.config),
    notes,
  };
}
