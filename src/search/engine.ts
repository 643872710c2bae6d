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

/** How an engine computes (never what): the kernels it takes and whether edges run grouped. */
export interface EngineOptions extends KernelOptions {
  /** Run the convs of the edges leaving one state together (SupernetOptions.groupEdges). */
  groupEdges: boolean | 'auto';
}

export const DEFAULT_ENGINE_OPTIONS: Readonly<EngineOptions> = Object.freeze({
  ...DEFAULT_KERNEL_OPTIONS,
  groupEdges: 'auto' as const,
});

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
}

export type SearchErrorCode = 'nan-loss' | 'bad-config' | 'bad-checkpoint';

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
    this.net = new Supernet({ config, input, groupEdges: this.opts.groupEdges }, seedStream.fork());
    this.rng = seedStream.fork();
    this.optimizer = new TriLevelOptimizer(this.net, config);
    this.stepsPerEpoch = Math.max(1, data.train.batchesPerEpoch);
    this.stepsTotal = config.maxSteps > 0 ? config.maxSteps : config.epochs * this.stepsPerEpoch;
  }

  get options(): Readonly<EngineOptions> {
    return this.opts;
  }

  /** Changes how the next steps compute (benches alternate a feature step by step): same numbers, other kernels. */
  setOptions(options: Partial<EngineOptions>): void {
    this.opts = { ...this.opts, ...options };
    this.net.setGroupEdges(this.opts.groupEdges);
  }

  /** Runs synchronous tfjs work (a step, a forward pass, a gradient) with this engine's kernel options. */
  compute<T>(body: () => T): T {
    return withKernelOptions(this.opts, body);
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

  /** Runs one tri-level step and reads its losses (one readback per step). */
  async runStep(): Promise<SearchProgress> {
    const started = now();
    const trainBatch = this.data.train.next();
    const valBatch = this.data.val.next();
    const lr = this.learningRate();
    const epoch = this.epoch;
    const tensors = tf.tidy(() => ({
      train: { x: tf.tensor4d(trainBatch.x, trainBatch.shape), y: tf.tensor1d(trainBatch.y, 'int32') },
      val: { x: tf.tensor4d(valBatch.x, valBatch.shape), y: tf.tensor1d(valBatch.y, 'int32') },
    }));
    if (this.injectNaN) {
      this.injectNaN = false;
      const poisoned = tf.fill(tensors.train.x.shape, NaN) as tf.Tensor4D;
      tensors.train.x.dispose();
      tensors.train.x = poisoned;
    }
    const ctx = { training: true, rng: this.rng };
    let losses;
    try {
      losses = this.compute(() =>
        this.optimizer.step(tensors.train, tensors.val, lr, ctx, epoch >= this.config.warmupEpochs),
      );
    } finally {
      tf.dispose([tensors.train.x, tensors.train.y, tensors.val.x, tensors.val.y]);
    }
    const recordMilliseconds = now() - started;
    const [trainLoss, valLoss, valCorrect] = await Promise.all([
      losses.trainLoss.data(),
      losses.valLoss.data(),
      losses.valCorrect.data(),
    ]);
    tf.dispose([losses.trainLoss, losses.valLoss, losses.valCorrect]);
    if (!Number.isFinite(trainLoss[0]) || !Number.isFinite(valLoss[0]))
      throw new SearchError(
        'nan-loss',
        `The loss became ${trainLoss[0]} at step ${this.step + 1} (train) / ${valLoss[0]} (validation): the search diverged. Resume from the last checkpoint with a lower learning rate.`,
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
      trainLoss: trainLoss[0],
      valLoss: valLoss[0],
      valAccuracy: valCorrect[0] / valBatch.shape[0],
      imagesPerSecond: (images / ms) * 1000,
      stepMilliseconds: ms,
      recordMilliseconds,
      seconds: this.seconds,
    };
  }

  /** Loss and accuracy of the supernet over some batches (no updates; batch-statistics BN). */
  async evaluate(batches: Iterable<Batch>): Promise<{ loss: number; accuracy: number; count: number }> {
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
    // The network first: the optimiser then has no live weights to give buffers of their own
    // (webgpu's packed SGD would copy each one out of its packed buffer).
    this.net.dispose();
    this.optimizer.dispose();
  }
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
