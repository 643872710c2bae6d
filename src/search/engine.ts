// One search run over batches: the schedule, the step loop, metrics, derivation and checkpoints.
// Pure engine: no DOM, worker or Node APIs, so the worker, the CLI and tests drive the same code.
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/types';
import { Random } from '../util/random';
import { validateConfig, type SearchConfig } from './space';
import {
  Supernet,
  regroupPerEdgeVariables,
  type InputShape,
  type RawArchWeights,
  type SavedVariable,
} from './supernet';
import { TriLevelOptimizer, cosineLearningRate, type OptimizerState } from './optimizer';
import { deriveGenotype, type Genotype } from './genotype';
import { DEFAULT_KERNEL_OPTIONS, withKernelOptions, type KernelOptions } from '../kernels/options';
import { stepInput } from '../kernels/step-values';
import {
  checkFits,
  chooseRecompute,
  memoryBackendOf,
  outOfMemoryMessage,
  type FitCheck,
  type MemoryBackend,
} from './memory-estimate';
import { AllocationFailed, watchAllocations } from '../kernels/safety';
import {
  CompileRefused,
  CompiledStep,
  StepRecording,
  compiledStepSupport,
  describeRecording,
  type StepDescription,
} from '../kernels/compiled-step';

/**
 * How an engine computes (never what): the kernels it takes, whether edges run grouped, whether
 * steps replay, whether cells are recomputed, how much memory it may use.
 */
export interface EngineOptions extends KernelOptions {
  /** Run the convs of the edges leaving one state together (SupernetOptions.groupEdges). */
  groupEdges: boolean | 'auto';
  /**
   * webgpu: record one step's GPU work and replay it every step after (kernels/compiled-step.ts):
   * the same numbers without tfjs's bookkeeping per dispatch. Elsewhere it changes nothing.
   */
  compiledStep: boolean;
  /**
   * Recompute each cell in the backward pass instead of keeping its intermediates
   * (SupernetOptions.recompute): a fraction of the memory, about a fifth more time a step, the
   * same numbers bit for bit. 'auto': on when the step would not fit `memoryBudget` without it
   * (memory-estimate.ts), so the default is the fastest step that fits.
   */
  recompute: boolean | 'auto';
  /**
   * Bytes a step may hold on this backend (webgpu's adapter reports no memory size); null: the
   * backend's default (memory-estimate.ts: wasm's 4 GiB heap, 4 GiB elsewhere).
   */
  memoryBudget: number | null;
}

export const DEFAULT_ENGINE_OPTIONS: Readonly<EngineOptions> = Object.freeze({
  ...DEFAULT_KERNEL_OPTIONS,
  groupEdges: 'auto' as const,
  compiledStep: true,
  recompute: 'auto' as const,
  memoryBudget: null,
});

/** How the last step ran: replayed from a record, or its code run (and why not replayed). */
export interface CompiledStepStatus {
  state: 'compiled' | 'uncompiled';
  /** GPU programs a replay issues (compiled). */
  dispatches: number;
  /** How long recording the step took: its run, and making the record replayable. */
  recordMilliseconds: number;
  /** Why steps run uncompiled, or why the last record was made again; null when there is nothing to say. */
  reason: string | null;
}

/** Anything that hands out batches in a reproducible, resumable order. */
export interface BatchSource {
  next(): Batch;
  readonly batchesPerEpoch: number;
  getState(): unknown;
  setState(state: unknown): void;
}

export interface SearchProgress {
  epoch: number;
  step: number;
  stepsTotal: number;
  stepsPerEpoch: number;
  learningRate: number;
  trainLoss: number;
  valLoss: number;
  valAccuracy: number;
  imagesPerSecond: number;
  stepMilliseconds: number;
  /**
   * The step's synchronous part: building the batches, then tfjs running (cpu, wasm) or
   * recording and submitting (webgpu, webgl) every kernel; the first step also compiles the
   * shaders. On a GPU backend this is the step's CPU side; the rest of stepMilliseconds is
   * waiting for the GPU and reading back the losses.
   */
  recordMilliseconds: number;
  seconds: number;
  /** How the step ran on webgpu (compiled or not, and why); null on the other backends. */
  compiled: CompiledStepStatus | null;
}

export type SearchErrorCode = 'nan-loss' | 'bad-config' | 'bad-checkpoint';

/**
 * The backend could not allocate what a step needs: wasm's heap is full (it stops at 4 GiB), or
 * the WebGPU device refused a buffer. `message` says so and names what to lower; `detail` is the
 * backend's own words; `check` is the estimate for this search. The run cannot go on as it is;
 * its last checkpoint can resume with less (a smaller batch, recomputation on) or elsewhere.
 */
export class OutOfMemoryError extends Error {
  readonly code = 'out-of-memory' as const;
  constructor(
    message: string,
    readonly detail: string,
    readonly check: FitCheck,
  ) {
    super(message);
    this.name = 'OutOfMemoryError';
  }
}

/** Whether an error thrown by the backend is its memory running out. */
export function isOutOfMemory(error: unknown): boolean {
  if (error instanceof AllocationFailed) return true;
  // wasm: a heap access past its end after a failed allocation, or an abort from C++'s allocator;
  // JavaScript: an ArrayBuffer that could not be made.
  return /memory access out of bounds|Aborted\((\)|OOM)|Cannot enlarge memory|out of memory|Array buffer allocation failed/i.test(
    errorText(error),
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export class SearchError extends Error {
  constructor(
    readonly code: SearchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SearchError';
  }
}

/**
 * The checkpoint version this lab writes. Version 2 stores the conv weights and activation
 * parameters per state (the edges leaving it side by side: supernet.ts); version 1 stored them
 * per edge, and is read by regrouping them.
 */
export const CHECKPOINT_VERSION = 2;

export interface SearchCheckpoint {
  format: 'factorized-nas-checkpoint';
  version: 1 | 2;
  config: SearchConfig;
  input: InputShape;
  step: number;
  seconds: number;
  rng: number[];
  data: { train: unknown; val: unknown };
  variables: { name: string; shape: number[]; values: Float32Array }[];
  optimizers: { weights: OptimizerState; alpha: OptimizerState; beta: OptimizerState | null };
}

export class SearchEngine {
  readonly net: Supernet;
  readonly optimizer: TriLevelOptimizer;
  readonly stepsPerEpoch: number;
  readonly stepsTotal: number;
  step = 0;
  seconds = 0;
  /** Test hook: makes the next step's loss NaN (how a user would see a diverging run). */
  injectNaN = false;
  private readonly rng: Random;
  private opts: Readonly<EngineOptions>;
  /** The replayable record of a step (webgpu), and the kind of step it holds (warm-up or not). */
  private compiled: { step: CompiledStep; key: string } | null = null;
  private compiledStatus: CompiledStepStatus | null = null;
  /** Records refused in a row: after a few the engine stops trying, and says why. */
  private refusals = 0;
  /** Describe the next step's GPU work (tests compare a replay with a fresh recording). */
  private describeNext = false;
  private description: StepDescription | null = null;

  constructor(
    readonly config: SearchConfig,
    readonly input: InputShape,
    private readonly data: { train: BatchSource; val: BatchSource },
    options: Partial<EngineOptions> = {},
  ) {
    try {
      validateConfig(config);
    } catch (e) {
      throw new SearchError('bad-config', (e as Error).message);
    }
    this.opts = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    const seedStream = new Random(config.seed);
    this.net = new Supernet(
      { config, input, groupEdges: this.opts.groupEdges, recompute: this.resolveRecompute() },
      seedStream.fork(),
    );
    this.rng = seedStream.fork();
    this.optimizer = new TriLevelOptimizer(this.net, config);
    this.stepsPerEpoch = Math.max(1, data.train.batchesPerEpoch);
    this.stepsTotal = config.maxSteps > 0 ? config.maxSteps : config.epochs * this.stepsPerEpoch;
  }

  get options(): Readonly<EngineOptions> {
    return this.opts;
  }

  /** Whether cells are recomputed in the backward pass (the recompute option, 'auto' resolved). */
  get recomputes(): boolean {
    return this.net.recomputes;
  }

  /** What a step of this search needs on the active backend, and whether it fits (memory-estimate.ts). */
  memoryCheck(): FitCheck {
    return checkFits(this.config, this.input, activeBackend(), {
      recompute: this.net?.recomputes ?? this.resolveRecompute(),
      budget: this.opts.memoryBudget,
    });
  }

  /** The recompute option on the active backend: 'auto' is on when the step would not fit without it. */
  private resolveRecompute(): boolean {
    if (this.opts.recompute !== 'auto') return this.opts.recompute;
    return chooseRecompute(this.config, this.input, activeBackend(), this.opts.memoryBudget);
  }

  /** Changes how the next steps compute (benches alternate a feature step by step): same numbers, other kernels. */
  setOptions(options: Partial<EngineOptions>): void {
    this.opts = { ...this.opts, ...options };
    this.net.setGroupEdges(this.opts.groupEdges);
    this.net.setRecompute(this.resolveRecompute());
    this.dropRecord('the engine options changed');
    this.refusals = 0;
  }

  /**
   * Runs synchronous tfjs work (a step, a forward pass, a gradient) with this engine's kernel
   * options. On webgpu tfjs would run an op whose inputs are all small CPU tensors on the CPU:
   * here every op runs on the GPU, so a compiled step, which replays GPU work only, and the
   * uncompiled step compute the same ops in the same place.
   */
  compute<T>(body: () => T): T {
    if (tf.getBackend() !== 'webgpu') return withKernelOptions(this.opts, body);
    const forward = tf.env().getBool('WEBGPU_CPU_FORWARD');
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    try {
      return withKernelOptions(this.opts, body);
    } finally {
      tf.env().set('WEBGPU_CPU_FORWARD', forward);
    }
  }

  /**
   * Makes the next step describe what it issues on the GPU (kernels/compiled-step.ts's
   * StepDescription), recorded as it runs or taken from the replay; webgpu only.
   */
  describeNextStep(): void {
    this.describeNext = true;
  }

  /** What the step that describeNextStep() asked about issued. */
  get lastStepDescription(): StepDescription | null {
    return this.description;
  }

  /** GPU bytes the compiled step's record holds outside tfjs's accounting (0 without one). */
  get compiledBytes(): number {
    return this.compiled?.step.bytes ?? 0;
  }

  /** How the last step ran on webgpu (null elsewhere). */
  get compiledStepStatus(): CompiledStepStatus | null {
    return this.compiledStatus;
  }

  get epoch(): number {
    return Math.floor(this.step / this.stepsPerEpoch);
  }

  get done(): boolean {
    return this.step >= this.stepsTotal;
  }

  /** Epochs the cosine schedule spans: the configured ones, or those a step limit covers. */
  get epochsPlanned(): number {
    return Math.max(1, Math.ceil(this.stepsTotal / this.stepsPerEpoch));
  }

  learningRate(): number {
    return cosineLearningRate(this.epoch, this.epochsPlanned, this.config.learningRate, this.config.learningRateMin);
  }

  /**
   * Runs one tri-level step and reads its losses (one readback per step). Throws
   * OutOfMemoryError when the backend could not allocate what the step needs.
   */
  runStep(): Promise<SearchProgress> {
    return this.failingOnMemory(() => this.tryStep());
  }

  private async tryStep(): Promise<SearchProgress> {
    const started = now();
    const trainBatch = this.data.train.next();
    const valBatch = this.data.val.next();
    const lr = this.learningRate();
    const updateArchitecture = this.epoch >= this.config.warmupEpochs;
    const inputs = {
      trainX: trainBatch.x,
      trainY: trainBatch.y,
      valX: valBatch.x,
      valY: valBatch.y,
    };
    if (this.injectNaN) {
      this.injectNaN = false;
      inputs.trainX = new Float32Array(trainBatch.x.length).fill(NaN);
    }
    // A record holds one kind of step: with or without the architecture's update (warm-up).
    const key = `architecture:${updateArchitecture}`;
    const record = this.replayableRecord(key);
    let values: { trainLoss: number; valLoss: number; valCorrect: number };
    let recordMilliseconds: number;
    if (record) {
      this.compute(() => this.optimizer.weightOptimizer.prepare());
      const replayed = record.replay(inputs);
      recordMilliseconds = now() - started;
      values = await replayed;
      if (this.describeNext) this.description = record.describeReplay();
      this.describeNext = false;
      this.compiledStatus = { ...this.compiledStatus!, state: 'compiled', dispatches: record.dispatches };
    } else {
      ({ values, recordMilliseconds } = await this.runStepCode(
        inputs,
        trainBatch.shape,
        valBatch.shape,
        updateArchitecture,
        key,
      ));
    }
    const { trainLoss, valLoss, valCorrect } = values;
    if (!Number.isFinite(trainLoss) || !Number.isFinite(valLoss))
      throw new SearchError(
        'nan-loss',
        `The loss became ${trainLoss} at step ${this.step + 1} (train) / ${valLoss} (validation): the search diverged. Resume from the last checkpoint with a lower learning rate.`,
      );
    this.step++;
    const ms = now() - started;
    this.seconds += ms / 1000;
    const images = trainBatch.shape[0] + valBatch.shape[0];
    return {
      epoch: this.epoch,
      step: this.step,
      stepsTotal: this.stepsTotal,
      stepsPerEpoch: this.stepsPerEpoch,
      learningRate: lr,
      trainLoss,
      valLoss,
      valAccuracy: valCorrect / valBatch.shape[0],
      imagesPerSecond: (images / ms) * 1000,
      stepMilliseconds: ms,
      recordMilliseconds,
      seconds: this.seconds,
      compiled: this.compiledStatus,
    };
  }

  /**
   * The step's code: the tri-level step on tensors of the batches. On webgpu with the compiled
   * step on, from the second step (the first takes branches no later step takes), the step is
   * recorded while it runs and made replayable afterwards.
   */
  private async runStepCode(
    inputs: { trainX: Float32Array; trainY: Int32Array; valX: Float32Array; valY: Int32Array },
    trainShape: number[],
    valShape: number[],
    updateArchitecture: boolean,
    key: string,
  ): Promise<{ values: { trainLoss: number; valLoss: number; valCorrect: number }; recordMilliseconds: number }> {
    const started = now();
    const describe = this.describeNext;
    this.describeNext = false;
    const support = (this.opts.compiledStep || describe) && tf.getBackend() === 'webgpu' ? compiledStepSupport() : null;
    const compile = this.opts.compiledStep && this.step >= 1 && this.refusals < MAX_REFUSALS;
    const record = support && 'backend' in support && (compile || describe);
    // Packed SGD's repacking (after a checkpoint was read or restored) copies buffers: not part of the step.
    if (record) this.compute(() => this.optimizer.weightOptimizer.prepare());
    const recording = record
      ? new StepRecording(support.backend, [...this.net.namedVariables(), ...this.optimizer.namedSlots()])
      : null;
    if (support && 'problem' in support)
      this.compiledStatus = { state: 'uncompiled', dispatches: 0, recordMilliseconds: 0, reason: support.problem };
    const ctx = { training: true, rng: this.rng };
    const step = () => {
      const batch = (x: Float32Array, y: Int32Array, shape: number[], name: string) => ({
        x: stepInput<tf.Rank.R4>(`${name}X`, x, shape, 'float32'),
        y: stepInput<tf.Rank.R1>(`${name}Y`, y, [y.length], 'int32'),
      });
      const train = batch(inputs.trainX, inputs.trainY, trainShape, 'train');
      const val = batch(inputs.valX, inputs.valY, valShape, 'val');
      try {
        return this.optimizer.step(train, val, () => this.learningRate(), ctx, updateArchitecture);
      } finally {
        tf.dispose([train.x, train.y, val.x, val.y]);
      }
    };
    const losses = this.compute(() => (recording ? recording.run(step) : step()));
    const recordMilliseconds = now() - started;
    const [trainLoss, valLoss, valCorrect] = await Promise.all([
      losses.trainLoss.data(),
      losses.valLoss.data(),
      losses.valCorrect.data(),
    ]);
    tf.dispose([losses.trainLoss, losses.valLoss, losses.valCorrect]);
    if (recording && describe) this.description = describeRecording(recording);
    if (recording && compile) {
      try {
        const compiled = await CompiledStep.finalize(recording);
        this.compiled = { step: compiled, key };
        this.refusals = 0;
        const reason = this.compiledStatus?.state === 'compiled' ? this.compiledStatus.reason : null;
        this.compiledStatus = {
          state: 'compiled',
          dispatches: compiled.dispatches,
          recordMilliseconds: recording.recordMilliseconds + (now() - started - recordMilliseconds),
          reason,
        };
      } catch (e) {
        if (!(e instanceof CompileRefused)) throw e;
        this.refusals++;
        this.compiledStatus = {
          state: 'uncompiled',
          dispatches: 0,
          recordMilliseconds: 0,
          reason: `the step cannot be compiled: ${e.message}${this.refusals >= MAX_REFUSALS ? ' (steps run uncompiled from now on)' : ''}`,
        };
      }
    } else if (!this.opts.compiledStep && tf.getBackend() === 'webgpu')
      this.compiledStatus = {
        state: 'uncompiled',
        dispatches: 0,
        recordMilliseconds: 0,
        reason: 'the compiled step is turned off',
      };
    return {
      values: { trainLoss: trainLoss[0]!, valLoss: valLoss[0]!, valCorrect: valCorrect[0]! },
      recordMilliseconds,
    };
  }

  /** The record to replay this step with, or null (none yet, another kind of step, or stale: then dropped, saying why). */
  private replayableRecord(key: string): CompiledStep | null {
    if (!this.compiled) return null;
    if (!this.opts.compiledStep) {
      this.dropRecord('the compiled step was turned off');
      return null;
    }
    const stale =
      this.compiled.key !== key
        ? `the step changed (${key.replace(':', ' update: ')})`
        : this.compiled.step.staleReason();
    if (stale) {
      this.dropRecord(stale);
      return null;
    }
    return this.compiled.step;
  }

  /** Frees the record; the next step runs its code and records again. */
  private dropRecord(reason: string): void {
    if (!this.compiled) return;
    this.compiled.step.dispose();
    this.compiled = null;
    if (this.compiledStatus) this.compiledStatus = { ...this.compiledStatus, reason: `recorded again: ${reason}` };
  }

  /**
   * Runs `work` and turns the backend running out of memory during it (wasm's heap full, a
   * WebGPU allocation refused) into an OutOfMemoryError that names what to lower, instead of
   * garbage numbers or a crash later.
   */
  private async failingOnMemory<T>(work: () => Promise<T>): Promise<T> {
    const allocations = watchAllocations();
    let result: T | undefined;
    let failure: unknown = null;
    try {
      result = await work();
    } catch (e) {
      failure = e;
    }
    const refused = await allocations().catch(() => null);
    if (refused !== null) throw this.outOfMemory(`WebGPU: ${refused}`);
    if (failure !== null) throw isOutOfMemory(failure) ? this.outOfMemory(errorText(failure)) : failure;
    return result as T;
  }

  private outOfMemory(detail: string): OutOfMemoryError {
    const backend = activeBackend();
    const message = outOfMemoryMessage(this.config, this.input, backend, this.recomputes, this.opts.memoryBudget);
    return new OutOfMemoryError(`${message} (${detail})`, detail, this.memoryCheck());
  }

  /** Loss and accuracy of the supernet over some batches (no updates; batch-statistics BN). */
  evaluate(batches: Iterable<Batch>): Promise<{ loss: number; accuracy: number; count: number }> {
    return this.failingOnMemory(() => this.tryEvaluate(batches));
  }

  private async tryEvaluate(batches: Iterable<Batch>): Promise<{ loss: number; accuracy: number; count: number }> {
    let loss = 0;
    let correct = 0;
    let count = 0;
    const ctx = { training: false, rng: new Random(0) };
    for (const batch of batches) {
      const [l, c] = this.compute(() =>
        tf.tidy(() => {
          const x = tf.tensor4d(batch.x, batch.shape);
          const y = tf.tensor1d(batch.y, 'int32');
          const logits = this.net.forward(x, ctx);
          const oneHot = tf.oneHot(y, logits.shape[1]);
          const sumLoss = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits))));
          const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
          return [sumLoss, hits];
        }),
      );
      const [lv, cv] = await Promise.all([l.data(), c.data()]);
      tf.dispose([l, c]);
      loss += lv[0];
      correct += cv[0];
      count += batch.shape[0];
    }
    return { loss: loss / Math.max(count, 1), accuracy: correct / Math.max(count, 1), count };
  }

  archWeights(): Promise<RawArchWeights> {
    return this.net.archWeights();
  }

  async genotype(): Promise<Genotype> {
    const w = await this.archWeights();
    return deriveGenotype(w, this.config.mode, { fixedActivation: this.config.activation });
  }

  async checkpoint(): Promise<SearchCheckpoint> {
    const variables = [];
    for (const p of this.net.namedVariables())
      variables.push({ name: p.name, shape: p.variable.shape, values: (await p.variable.data()) as Float32Array });
    const opt = await this.optimizer.getState();
    return {
      format: 'factorized-nas-checkpoint',
      version: CHECKPOINT_VERSION,
      config: this.config,
      input: this.input,
      step: this.step,
      seconds: this.seconds,
      rng: this.rng.getState(),
      data: { train: this.data.train.getState(), val: this.data.val.getState() },
      variables,
      optimizers: opt,
    };
  }

  /** Continues from a checkpoint of the same config: the same stream a run that never stopped sees. */
  restore(saved: SearchCheckpoint): void {
    if (saved.format !== 'factorized-nas-checkpoint' || (saved.version !== 1 && saved.version !== CHECKPOINT_VERSION))
      throw new SearchError(
        'bad-checkpoint',
        `checkpoint: not a factorized-nas-checkpoint of version 1 or ${CHECKPOINT_VERSION}`,
      );
    const cp = saved.version === 1 ? this.upgradeVersion1(saved) : saved;
    this.dropRecord('a checkpoint was restored');
    const byName = new Map(this.net.namedVariables().map((p) => [p.name, p.variable]));
    if (cp.variables.length !== byName.size)
      throw new SearchError(
        'bad-checkpoint',
        `checkpoint: ${cp.variables.length} variables, this network has ${byName.size}`,
      );
    for (const saved of cp.variables) {
      const v = byName.get(saved.name);
      if (!v || v.size !== saved.values.length)
        throw new SearchError('bad-checkpoint', `checkpoint: variable ${saved.name} does not fit this network`);
    }
    // tidy frees each values tensor: the variable keeps the data.
    for (const saved of cp.variables)
      tf.tidy(() => byName.get(saved.name)!.assign(tf.tensor(saved.values, saved.shape)));
    this.optimizer.setState(cp.optimizers);
    this.rng.setState(cp.rng);
    this.data.train.setState(cp.data.train);
    this.data.val.setState(cp.data.val);
    this.step = cp.step;
    this.seconds = cp.seconds;
  }

  /** A version-1 checkpoint (weights per edge) in this network's layout: its weights and their momentum regrouped per state. */
  private upgradeVersion1(cp: SearchCheckpoint): SearchCheckpoint {
    const regroup = (entries: SavedVariable[]) => {
      try {
        return regroupPerEdgeVariables(entries);
      } catch (e) {
        throw new SearchError(
          'bad-checkpoint',
          `checkpoint: version 1 does not fit this network (${(e as Error).message})`,
        );
      }
    };
    // The weights' optimiser restores its slots in the network's order of its weights, and names
    // them by tfjs variable (the parameter's name and a number).
    const order = this.net
      .namedVariables()
      .filter((p) => p.group === 'weights')
      .map((p) => p.name);
    const slots: OptimizerState['slots'] = {};
    for (const [slot, entries] of Object.entries(cp.optimizers.weights.slots)) {
      const byName = new Map(
        regroup(entries.map((e) => ({ ...e, name: e.name.replace(/_\d+$/, '') }))).map((e) => [e.name, e]),
      );
      slots[slot] = order.map((name) => {
        const entry = byName.get(name);
        if (!entry) throw new SearchError('bad-checkpoint', `checkpoint: no ${slot} for ${name}`);
        return entry;
      });
    }
    return {
      ...cp,
      version: CHECKPOINT_VERSION,
      variables: regroup(cp.variables),
      optimizers: { ...cp.optimizers, weights: { ...cp.optimizers.weights, slots } },
    };
  }

  dispose(): void {
    this.compiled?.step.dispose();
    this.compiled = null;
    // The network first: the optimiser then has no live weights to give buffers of their own
    // (webgpu's packed SGD would copy each one out of its packed buffer).
    this.net.dispose();
    this.optimizer.dispose();
  }
}

/** Records refused in a row before the engine stops recording (each costs a step's bookkeeping twice). */
const MAX_REFUSALS = 3;

/** The active tfjs backend, as the memory estimate knows backends. */
function activeBackend(): MemoryBackend {
  return memoryBackendOf(tf.getBackend());
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
