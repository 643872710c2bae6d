// Up to 8 stored runs side by side: each run's final softmaxed α/β, derived cells and curves, and
// what the comparison view draws from them — each run's difference X − R of the softmaxed
// weights against a chosen reference run R (only where both weigh the same candidates), and all
// runs' curves on one step axis. Pure TypeScript (no DOM, React or worker APIs), so Node tests
// check it with real numbers.
import { deriveGenotype, genotypeOf, softmax, type Genotype } from '../search/genotype';
import type { SearchConfig, SearchMode } from '../search/space';
import {
  validationOf,
  type ArchSnapshot,
  type HeldOutEvaluation,
  type MetricRow,
  type RunOverview,
  type RunStatus,
} from '../runs/store';

/** More runs than this make neither a readable chart nor a readable page of heatmaps. */
export const MAX_COMPARED_RUNS = 8;
/** Each compared run's letter, in the order the runs were picked. */
export const RUN_LETTERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'] as const;

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
  /** "A", "B", …: the run's place in the comparison (the order picked). */
  letter: string;
  name: string;
  mode: SearchMode;
  config: SearchConfig | null;
  datasetName: string;
  status: RunStatus;
  steps: number;
  /** The run's validation accuracy: its latest held-out scoring (null: none). */
  validation: HeldOutEvaluation | null;
  /** Every held-out scoring, in step order (the compare chart's validation accuracy). */
  heldOut: HeldOutEvaluation[];
  /** The best validation batch's accuracy. */
  bestValAccuracy: number | null;
  /** The last stored step's validation batch accuracy; null without metrics. */
  finalValAccuracy: number | null;
  /** null when the run stored no α/β. */
  weights: FinalWeights | null;
  /** Derived from the final raw α/β (as the live view derives it), else the stored genotype. */
  genotype: Genotype | null;
  curve: ComparedPoint[];
}

/** X − R of softmaxed weights, per cell type (14 rows each). */
export interface WeightDifference {
  normal: number[][];
  reduce: number[][];
  /** The largest |X − R| and where it is (null when every entry is 0 or not finite). */
  largest: { cell: 'normal' | 'reduce'; row: number; col: number; value: number } | null;
}

/** One run against the reference: X − R of its final weights, and what differs in its setup. */
export interface RunDifference {
  /** The run X (never the reference). */
  runId: string;
  /** null when the runs' α columns differ (e.g. nonfactorized's 40 against 8); see alphaNote. */
  alpha: WeightDifference | null;
  alphaNote: string | null;
  /** null unless both runs have β (searched, frozen or fixed); see betaNote. */
  beta: WeightDifference | null;
  betaNote: string | null;
  /** Setup fields that differ, "field: R's → X's": "mode: factorized → darts". */
  configDifferences: string[];
}

export interface RunComparison {
  /** In the order picked (letters A, B, …). */
  runs: ComparedRun[];
  referenceId: string;
  /** One per run but the reference, in run order. */
  differences: RunDifference[];
  /** The top of the colour scale every run's α (β) heatmap shares: a colour is one weight. */
  weightMax: { alpha: number; beta: number };
  /** The largest |X − R| of every α (β) difference map: they share one diverging scale. */
  differenceMax: { alpha: number; beta: number };
  /** The shared x domain of the curves, in steps: [0, the latest run's last step]. */
  stepDomain: [number, number];
  /** The last step every run reached (each run's point there, or just before, is its
   * head-to-head value), or null when a run has no metrics. */
  lastCommonStep: number | null;
  /** Things to keep in mind when reading the comparison (different data sets). */
  notes: string[];
}

// ---------------------------------------------------------------------------------------------

function softmaxRows(rows: number[][] | null): number[][] | null {
  return rows ? rows.map((r) => softmax(r)) : null;
}

/** A snapshot's α/β as probabilities (a 'softmax' snapshot is already). */
export function finalWeights(last: ArchSnapshot | null): FinalWeights | null {
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

function runGenotype(run: RunOverview): Genotype | null {
  const last = run.finalSnapshot;
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

function curveOf(metrics: readonly MetricRow[]): ComparedPoint[] {
  const byStep = new Map<number, ComparedPoint>();
  for (const m of metrics)
    byStep.set(m.step, { step: m.step, trainLoss: m.trainLoss, valLoss: m.valLoss, valAccuracy: m.valAccuracy });
  return [...byStep.values()].sort((x, y) => x.step - y.step);
}

/** A stored run as the comparison shows it; `letter` is its place ("A", "B", …). */
export function comparedRun(run: RunOverview, letter: string): ComparedRun {
  const curve = curveOf(run.metrics);
  return {
    id: run.id,
    letter,
    name: run.name,
    mode: run.mode,
    config: run.config,
    datasetName: run.dataset.name,
    status: run.status,
    steps: run.steps,
    validation: validationOf(run),
    heldOut: [...run.heldOut].sort((x, y) => x.step - y.step),
    bestValAccuracy: run.bestValAccuracy,
    finalValAccuracy: curve.length ? curve[curve.length - 1]!.valAccuracy : null,
    weights: finalWeights(run.finalSnapshot),
    genotype: runGenotype(run),
    curve,
  };
}

/** The runs in the order given, lettered A, B, …; throws beyond MAX_COMPARED_RUNS or with fewer than 2. */
export function comparedRuns(runs: readonly RunOverview[]): ComparedRun[] {
  if (runs.length < 2 || runs.length > MAX_COMPARED_RUNS)
    throw new Error(`compare 2 to ${MAX_COMPARED_RUNS} runs, not ${runs.length}`);
  return runs.map((r, i) => comparedRun(r, RUN_LETTERS[i]!));
}

/** The largest finite entry of the given matrices (missing ones skipped), 0 when there is none. */
export function largestWeight(...grids: (readonly (readonly number[])[] | null | undefined)[]): number {
  let max = 0;
  for (const grid of grids)
    if (grid) for (const row of grid) for (const v of row) if (Number.isFinite(v) && v > max) max = v;
  return max;
}

/**
 * The top of the colour scale that every run's α (or β) heatmap shares: the largest softmaxed
 * weight of any run, normal and reduction cell alike (each heatmap draws both cells on one
 * scale). With one scale per run the same colour would mean different weights in different runs.
 */
export function sharedWeightMax(weights: readonly (FinalWeights | null)[], which: 'alpha' | 'beta'): number {
  return largestWeight(
    ...weights.flatMap((w) =>
      !w ? [] : which === 'alpha' ? [w.alphaNormal, w.alphaReduce] : [w.betaNormal, w.betaReduce],
    ),
  );
}

/** Whether two matrices have the same number of rows and the same row lengths. */
function sameShape(a: number[][], b: number[][]): boolean {
  return a.length === b.length && a.every((row, i) => row.length === b[i]!.length);
}

/** X − R entry by entry (`run` minus `reference`), or null when the shapes differ. */
export function weightDifference(
  reference: { normal: number[][]; reduce: number[][] },
  run: { normal: number[][]; reduce: number[][] },
): WeightDifference | null {
  if (!sameShape(reference.normal, run.normal) || !sameShape(reference.reduce, run.reduce)) return null;
  let largest: WeightDifference['largest'] = null;
  const diff = (cell: 'normal' | 'reduce') =>
    run[cell].map((row, r) =>
      row.map((v, k) => {
        const d = v - reference[cell][r]![k]!;
        if (Number.isFinite(d) && d !== 0 && (!largest || Math.abs(d) > Math.abs(largest.value)))
          largest = { cell, row: r, col: k, value: d };
        return d;
      }),
    );
  const normal = diff('normal');
  const reduce = diff('reduce');
  return { normal, reduce, largest };
}

/** A curve's value at `step`: its last point at or before it (curves sent to the page are thinned). */
export function pointAt(curve: readonly ComparedPoint[], step: number): ComparedPoint | null {
  let at: ComparedPoint | null = null;
  for (const p of curve) if (p.step <= step) at = p;
  return at;
}

const CONFIG_SKIP = new Set(['fixedBeta']); // β arrays: named, not printed

/** "field: R → X" for each setup field that differs (fields only one run has count too). */
export function configDifferences(reference: SearchConfig | null, run: SearchConfig | null): string[] {
  if (!reference || !run) return reference === run ? [] : ['setup: only one of the runs has a stored setup'];
  const ra = reference as unknown as Record<string, unknown>;
  const rb = run as unknown as Record<string, unknown>;
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
 * One run X against the reference R: X − R of the softmaxed final weights, α only when both
 * weigh the same candidates (same column count: the 8 ops, or both nonfactorized's 40), β only
 * when both have β (a darts run's β is its fixed one-hot).
 */
export function differenceAgainst(reference: ComparedRun, run: ComparedRun): RunDifference {
  const r = reference;
  const x = run;
  let alpha: WeightDifference | null = null;
  let alphaNote: string | null = null;
  let beta: WeightDifference | null = null;
  let betaNote: string | null = null;
  const wr = r.weights;
  const wx = x.weights;
  if (!wr || !wx) {
    const missing = [!wr && r.letter, !wx && x.letter].filter(Boolean).join(' and ');
    alphaNote = betaNote = `Run ${missing} stored no α/β, so there is nothing to subtract.`;
  } else {
    alpha = weightDifference(
      { normal: wr.alphaNormal, reduce: wr.alphaReduce },
      { normal: wx.alphaNormal, reduce: wx.alphaReduce },
    );
    if (!alpha)
      alphaNote =
        `No α difference: run ${r.letter} (${r.mode}) weighs ${columnsOf(wr.alphaNormal)} candidates per edge and ` +
        `run ${x.letter} (${x.mode}) ${columnsOf(wx.alphaNormal)}, so the columns are not the same ops.`;
    if (wr.betaNormal && wr.betaReduce && wx.betaNormal && wx.betaReduce) {
      beta = weightDifference(
        { normal: wr.betaNormal, reduce: wr.betaReduce },
        { normal: wx.betaNormal, reduce: wx.betaReduce },
      );
      if (!beta) betaNote = 'No β difference: the runs’ β have different shapes.';
      else {
        const fixed = [r, x]
          .filter((run) => run.mode === 'darts')
          .map((run) => `${run.letter}’s β is fixed one-hot on ${run.config?.activation ?? 'relu'}`);
        if (fixed.length) betaNote = `darts mode: ${fixed.join('; ')}.`;
      }
    } else {
      const without = [r, x]
        .filter((run) => !(run.weights?.betaNormal && run.weights.betaReduce))
        .map((run) => `${run.letter} (${run.mode})`);
      betaNote = `No β difference: run ${without.join(' and ')} has no β.`;
    }
  }
  return { runId: x.id, alpha, alphaNote, beta, betaNote, configDifferences: configDifferences(r.config, x.config) };
}

/** The largest |entry| of the difference maps (0 when there is none). */
function largestDifference(diffs: readonly (WeightDifference | null)[]): number {
  return Math.max(0, ...diffs.map((d) => (d?.largest ? Math.abs(d.largest.value) : 0)));
}

/**
 * Compares the runs against the reference run (one of them): each other run's X − R maps, the
 * colour scales they share, and the curves' common axis. Changing the reference calls this
 * again with the same runs; nothing is read again.
 */
export function compareAgainst(runs: readonly ComparedRun[], referenceId: string): RunComparison {
  const reference = runs.find((r) => r.id === referenceId);
  if (!reference) throw new Error(`the reference run ${referenceId} is not one of the compared runs`);
  const differences = runs.filter((r) => r !== reference).map((r) => differenceAgainst(reference, r));

  const notes: string[] = [];
  const datasets = new Set(runs.map((r) => r.datasetName));
  if (datasets.size > 1)
    notes.push(
      `The runs used different data sets (${runs.map((r) => `${r.letter}: ${r.datasetName}`).join(', ')}): their curves are not directly comparable.`,
    );

  // A run's last step: its curve's, or its last held-out scoring's (an imported genotype has no curve).
  const lastSteps = runs.map((r) => {
    const steps = [r.curve[r.curve.length - 1]?.step, r.heldOut[r.heldOut.length - 1]?.step];
    const known = steps.filter((s): s is number => s !== undefined);
    return known.length ? Math.max(...known) : null;
  });
  const reached = lastSteps.filter((s): s is number => s !== null);
  const lastStep = Math.max(0, ...reached);
  const weights = runs.map((r) => r.weights);
  return {
    runs: [...runs],
    referenceId,
    differences,
    weightMax: { alpha: sharedWeightMax(weights, 'alpha'), beta: sharedWeightMax(weights, 'beta') },
    differenceMax: {
      alpha: largestDifference(differences.map((d) => d.alpha)),
      beta: largestDifference(differences.map((d) => d.beta)),
    },
    stepDomain: [0, Math.max(1, lastStep)],
    lastCommonStep: reached.length === runs.length ? Math.min(...reached) : null,
    notes,
  };
}
