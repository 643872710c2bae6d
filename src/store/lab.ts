// The lab's state: the serialisable setup (mirrored in the URL hash) and what the running search
// reports (progress, α/β snapshots for replay, genotype, errors). Components read slices of it;
// the controller (./controller) turns worker messages into these updates.
import { create } from 'zustand';
import type { SearchConfig } from '../search/space';
import type {
  DatasetInfo,
  ErrorCode,
  ProgressMessage,
  ResumableRun,
  TrainingProgressMessage,
  TrainingStartedMessage,
  WeightsMessage,
} from '../worker/protocol';
import type { HeldOutEvaluation, RunProblem, RunStatus, RunSummary, TrainEvaluation } from '../runs/store';
import { defaultSetup, type DatasetChoice, type Setup } from './setup';

export type Phase = 'idle' | 'starting' | 'running' | 'pausing' | 'paused' | 'stopping' | 'done' | 'error';

/** One α/β snapshot as the heatmaps and the replay show it: a weights message without its type. */
export type Snapshot = Omit<WeightsMessage, 'type'>;

export interface CurvePoint {
  step: number;
  trainLoss: number;
  valLoss: number;
  valAccuracy: number;
}

export interface BackendStatus {
  backend: string;
  requested: string;
  fallbackReason?: string;
  adapter: string | null;
}

export interface LabError {
  code: ErrorCode;
  message: string;
  recoverable: boolean;
}

export interface GenotypeState {
  step: number;
  json: string;
  darts: string;
}

export interface DatasetLoad {
  name: string;
  fraction: number;
  phase: string;
}

export type TrainingPhase = 'starting' | 'running' | 'pausing' | 'paused' | 'stopping' | 'done' | 'error';

/** One re-training step on the curves. */
export interface TrainCurvePoint {
  step: number;
  trainLoss: number;
  trainAccuracy: number;
}

/** A re-training: the one running in the worker, or a stored one opened from the runs list. */
export interface TrainingState {
  phase: TrainingPhase;
  /** The stored run (null until the worker reports it, or when it could not be stored). */
  runId: string | null;
  /** Where the genotype came from (a run's or a file's name). */
  source: string;
  /** What the worker built (network size, steps, backend); null until it starts. */
  started: Omit<TrainingStartedMessage, 'type'> | null;
  progress: TrainingProgressMessage | null;
  curve: TrainCurvePoint[];
  evaluations: TrainEvaluation[];
  /** How it ended; testAccuracy is the final one (null when stopped before any scoring). */
  result: {
    reason: 'finished' | 'stopped';
    step: number;
    seconds: number;
    testAccuracy: number | null;
    testCount: number | null;
  } | null;
  /** Opened from the runs list: read-only. */
  stored: boolean;
  /** Writes to its stored run that failed (each kind once): what the user is told. */
  problems: string[];
}

/** Snapshots kept for replay; older ones are thinned (every other one) beyond this. */
export const MAX_SNAPSHOTS = 400;
/** Curve points kept; thinned the same way beyond this. */
export const MAX_CURVE_POINTS = 4000;

export interface LabState {
  setup: Setup;
  setupWarnings: string[];

  datasets: Partial<Record<DatasetChoice, DatasetInfo>>;
  datasetLoad: DatasetLoad | null;
  datasetError: string | null;

  phase: Phase;
  runConfig: SearchConfig | null;
  runDataset: DatasetInfo | null;
  backend: BackendStatus | null;
  progress: ProgressMessage | null;
  curve: CurvePoint[];
  snapshots: Snapshot[];
  /** The search's scorings on its held-out test images, in step order: the last is its validation accuracy. */
  heldOut: HeldOutEvaluation[];
  /** Index into snapshots shown by the heatmaps and cells; null follows the latest. */
  viewIndex: number | null;
  genotype: GenotypeState | null;
  checkpointStep: number | null;
  /** The last checkpoint could not be stored: what the user is told (cleared by the next stored one). */
  checkpointProblem: string | null;
  /** Writes to the stored run that failed while it ran (each kind once): the run's problem lines. */
  storageProblems: string[];
  error: LabError | null;
  /** How the search ended; a stored run opened from the list also says its stored status. */
  done: {
    reason: 'finished' | 'stopped';
    step: number;
    seconds: number;
    stored?: { status: RunStatus; message: string | null };
  } | null;
  /** The stored run being searched (or the last one). */
  runId: string | null;
  /** The stored run a reload interrupted, offered for resuming. */
  resumable: ResumableRun | null;
  /** Why runs are not being stored (memory only). */
  storageWarning: string | null;
  /** The stored runs (newest first) and the stored ones that could not be read. */
  runs: RunSummary[];
  runProblems: RunProblem[];
  /** The last run store request that failed (e.g. a malformed import), or a note; `undo`: the
   * run a "Deleted …" note can put back. */
  runsMessage: { kind: 'error' | 'info'; text: string; undo?: string } | null;
  /** The stored run shown read-only (opened from the runs list), if any. */
  openedRun: { id: string; name: string } | null;
  /** The re-training shown in the "Re-training" region (running, finished or opened). */
  training: TrainingState | null;

  setSetup(update: (s: Setup) => Setup): void;
  replaceSetup(setup: Setup, warnings?: string[]): void;
  setViewIndex(i: number | null): void;
  dismissError(): void;
}

export const useLab = create<LabState>()((set) => ({
  setup: defaultSetup(),
  setupWarnings: [],
  datasets: {},
  datasetLoad: null,
  datasetError: null,
  phase: 'idle',
  runConfig: null,
  runDataset: null,
  backend: null,
  progress: null,
  curve: [],
  snapshots: [],
  heldOut: [],
  viewIndex: null,
  genotype: null,
  checkpointStep: null,
  checkpointProblem: null,
  storageProblems: [],
  error: null,
  done: null,
  runId: null,
  resumable: null,
  storageWarning: null,
  runs: [],
  runProblems: [],
  runsMessage: null,
  openedRun: null,
  training: null,

  setSetup: (update) => set((s) => ({ setup: update(s.setup) })),
  replaceSetup: (setup, warnings = []) => set({ setup, setupWarnings: warnings }),
  setViewIndex: (i) => set({ viewIndex: i }),
  dismissError: () => set({ error: null }),
}));

/** Appends keeping at most `max` entries: beyond it, every other older entry is dropped. */
export function appendThinned<T>(list: T[], item: T, max: number): T[] {
  const next = list.concat([item]);
  if (next.length <= max) return next;
  const kept: T[] = [];
  for (let i = 0; i < next.length - 1; i++) if (i % 2 === 0) kept.push(next[i]!);
  kept.push(next[next.length - 1]!);
  return kept;
}

/** At most `max` entries, evenly spread over the list (first and last kept): for a stored history. */
export function thinEvenly<T>(list: readonly T[], max: number): T[] {
  if (list.length <= max) return list.slice();
  const out: T[] = [];
  const stride = (list.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(list[Math.round(i * stride)]!);
  return out;
}

/** The snapshot the visuals show (the replayed one, or the latest). */
export function selectViewedSnapshot(s: LabState): Snapshot | null {
  if (!s.snapshots.length) return null;
  if (s.viewIndex === null) return s.snapshots[s.snapshots.length - 1]!;
  return s.snapshots[Math.min(s.viewIndex, s.snapshots.length - 1)]!;
}

/** A re-training is in progress in the worker (it then runs no search). */
export function isTraining(training: TrainingState | null): boolean {
  return training !== null && training.phase !== 'done' && training.phase !== 'error';
}

export function isActive(phase: Phase): boolean {
  return (
    phase === 'starting' || phase === 'running' || phase === 'pausing' || phase === 'paused' || phase === 'stopping'
  );
}
