// Re-training a genotype from scratch: DARTS's cnn/train.py recipe, scalable by preset.
// SGD (momentum 0.9, weight decay 3e-4) with a cosine learning rate from `learningRate` to
// `learningRateMin` stepped per epoch (per step in runs under 10 epochs), gradient clipping at 5, the auxiliary loss weighted 0.4,
// drop path ramped linearly to `dropPathProb`, DARTS's crop-and-flip augmentation (the data set
// decides: 32x32 colour only) and cutout (16 px, also 32x32 colour only) on the normalised batch.
// Pure engine: no DOM, worker or Node APIs.
import * as tf from '@tensorflow/tfjs';
import { BatchStream } from '../data/batches';
import type { Batch, Dataset } from '../data/types';
import type { Genotype } from '../search/genotype';
import { DiscreteNetwork, auxiliaryHeadFits } from './network';
import { crossEntropy } from '../search/ops';
import { SgdMomentum, clipScale, correctCount, cosineLearningRate } from '../search/optimizer';
import { Random } from '../util/random';
import { makeTrainConfig, type TrainConfig, type TrainPresetName } from './train-config';

// The config, presets and their checks need no tfjs (the page and the run store read them).
export * from './train-config';

/**
 * DARTS's Cutout on a normalised NHWC batch, in place: per image one length×length square
 * (centre uniform over the image, clipped at the border) set to 0 in every channel.
 */
export function applyCutout(batch: Batch, length: number, rng: Random): void {
  const [n, h, w, c] = batch.shape;
  const half = Math.floor(length / 2);
  for (let b = 0; b < n; b++) {
    const cy = rng.int(h);
    const cx = rng.int(w);
    const y1 = Math.max(0, cy - half);
    const y2 = Math.min(h, cy + half);
    const x1 = Math.max(0, cx - half);
    const x2 = Math.min(w, cx + half);
    for (let y = y1; y < y2; y++) batch.x.fill(0, ((b * h + y) * w + x1) * c, ((b * h + y) * w + x2) * c);
  }
}

export interface TrainProgress {
  /** Epochs completed (the epoch of the next step). */
  epoch: number;
  step: number;
  stepsTotal: number;
  stepsPerEpoch: number;
  learningRate: number;
  dropPathProb: number;
  /** Training loss of the step (with the auxiliary term when the head is on). */
  loss: number;
  /** Accuracy of the main logits on the step's batch. */
  accuracy: number;
  imagesPerSecond: number;
  stepMilliseconds: number;
  seconds: number;
}

export interface EvalResult {
  loss: number;
  accuracy: number;
  count: number;
}

export interface TrainSummary {
  steps: number;
  epochs: number;
  seconds: number;
  params: number;
  auxiliaryParams: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

/** The training loss became NaN or infinite (the run cannot continue). */
export class TrainDivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainDivergedError';
  }
}

/** Re-trains a genotype's discrete network on a data set, one step at a time. */
/** Runs shorter than this many epochs anneal the learning rate per step (see learningRate). */
export const PER_STEP_BELOW_EPOCHS = 10;

export class GenotypeTrainer {
  readonly config: TrainConfig;
  readonly net: DiscreteNetwork;
  readonly optimizer: SgdMomentum;
  readonly stepsPerEpoch: number;
  readonly stepsTotal: number;
  /** The auxiliary head is in use (configured and fits the images). */
  readonly auxiliary: boolean;
  /** Cutout is in use (configured and the data are 32x32 colour). */
  readonly cutout: boolean;
  step = 0;
  seconds = 0;
  /** Test hook: makes the next step's loss NaN (what a diverging run looks like). */
  injectNaN = false;
  private readonly stream: BatchStream;
  private readonly rng: Random;
  private readonly cutoutRng: Random;
  private readonly vars: tf.Variable[];

  constructor(
    readonly genotype: Genotype,
    readonly dataset: Dataset,
    config: Partial<TrainConfig> = {},
    preset: TrainPresetName = 'quick',
  ) {
    this.config = makeTrainConfig(config, preset);
    const c = this.config;
    this.auxiliary = c.auxiliary && auxiliaryHeadFits(dataset.height, dataset.width);
    this.cutout = c.cutout && dataset.augment;
    const seeds = new Random(c.seed);
    this.net = new DiscreteNetwork(
      {
        genotype,
        channels: c.channels,
        layers: c.layers,
        classes: dataset.classNames.length,
        inChannels: dataset.channels,
        auxiliary: this.auxiliary,
        dropPathProb: 0,
      },
      seeds.fork(),
    );
    this.rng = seeds.fork();
    this.cutoutRng = seeds.fork();
    const all = Int32Array.from({ length: dataset.train.count }, (_, i) => i);
    this.stream = new BatchStream(dataset, all, {
      batchSize: c.batchSize,
      seed: seeds.uint32(),
      augment: dataset.augment,
    });
    this.stepsPerEpoch = this.stream.batchesPerEpoch;
    this.stepsTotal = c.maxSteps > 0 ? c.maxSteps : c.epochs * this.stepsPerEpoch;
    this.vars = this.net.variables();
    this.optimizer = new SgdMomentum(this.vars, c.momentum, c.weightDecay);
  }

  get epoch(): number {
    return Math.floor(this.step / this.stepsPerEpoch);
  }

  get done(): boolean {
    return this.step >= this.stepsTotal;
  }

  /** Epochs the schedules span: the configured ones, or those a step limit covers. */
  get epochsPlanned(): number {
    if (this.config.maxSteps > 0) return Math.max(1, Math.ceil(this.stepsTotal / this.stepsPerEpoch));
    return this.config.epochs;
  }

  /**
   * Cosine learning rate. DARTS steps CosineAnnealingLR per epoch; a run of fewer than
   * PER_STEP_BELOW_EPOCHS epochs (a quick re-train, a step limit) anneals per step instead, or it
   * would end at the full rate, which left the last weights and BN statistics noisy.
   */
  learningRate(): number {
    const { learningRate, learningRateMin } = this.config;
    if (this.epochsPlanned < PER_STEP_BELOW_EPOCHS)
      return cosineLearningRate(this.step, this.stepsTotal, learningRate, learningRateMin);
    return cosineLearningRate(this.epoch, this.epochsPlanned, learningRate, learningRateMin);
  }

  /** Drop-path probability of the current epoch: dropPathProb · epoch / epochs. */
  dropPathProb(): number {
    return (this.config.dropPathProb * Math.min(this.epoch, this.epochsPlanned)) / this.epochsPlanned;
  }

  /** One SGD step on the next training batch; reads the loss and accuracy back (one readback). */
  async runStep(): Promise<TrainProgress> {
    const started = now();
    const batch = this.stream.next();
    if (this.cutout) applyCutout(batch, this.config.cutoutLength, this.cutoutRng);
    const lr = this.learningRate();
    const dropPath = this.dropPathProb();
    this.net.dropPathProb = dropPath;
    const x = tf.tensor4d(batch.x, batch.shape);
    const y = tf.tensor1d(batch.y, 'int32');
    const ctx = { training: true, rng: this.rng };
    const poison = this.injectNaN;
    this.injectNaN = false;
    let result: { loss: tf.Scalar; correct: tf.Scalar };
    try {
      // The update is queued before the loss is read back, so the device never waits for the
      // host between the backward pass and the update.
      result = tf.tidy(() => {
        let logits: tf.Tensor2D | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const out = this.net.forward(x, ctx);
          logits = tf.keep(out.logits);
          let loss = crossEntropy(out.logits, y);
          if (out.auxLogits) loss = tf.add(loss, tf.mul(crossEntropy(out.auxLogits, y), this.config.auxiliaryWeight));
          if (poison) loss = tf.add(loss, NaN);
          return loss;
        }, this.vars);
        const correct = correctCount(logits!, y);
        (logits as tf.Tensor2D | null)?.dispose();
        const byVariable = new Map<tf.Variable, tf.Tensor>();
        for (const v of this.vars) byVariable.set(v, grads[v.name] ?? tf.zerosLike(v));
        this.optimizer.apply(byVariable, lr, clipScale(byVariable, this.config.gradClip));
        return { loss: value, correct };
      });
    } finally {
      tf.dispose([x, y]);
    }
    const [lossValue, correctValue] = await Promise.all([result.loss.data(), result.correct.data()]);
    tf.dispose([result.loss, result.correct]);
    if (!Number.isFinite(lossValue[0]))
      throw new TrainDivergedError(
        `The training loss became ${lossValue[0]} at step ${this.step + 1} (epoch ${this.epoch}, learning rate ${lr}): ` +
          'training diverged and the weights are no longer usable. Start again with a lower learning rate.',
      );
    this.step++;
    const ms = now() - started;
    this.seconds += ms / 1000;
    return {
      epoch: this.epoch,
      step: this.step,
      stepsTotal: this.stepsTotal,
      stepsPerEpoch: this.stepsPerEpoch,
      learningRate: lr,
      dropPathProb: dropPath,
      loss: lossValue[0],
      accuracy: correctValue[0] / batch.shape[0],
      imagesPerSecond: (batch.shape[0] / ms) * 1000,
      stepMilliseconds: ms,
      seconds: this.seconds,
    };
  }

  /** Mean loss and accuracy over batches in eval mode (running BN statistics, no drop path). */
  async evaluate(batches: Iterable<Batch>): Promise<EvalResult> {
    let loss = 0;
    let correct = 0;
    let count = 0;
    const ctx = { training: false, rng: new Random(0) };
    for (const batch of batches) {
      const [l, c] = tf.tidy(() => {
        const x = tf.tensor4d(batch.x, batch.shape);
        const y = tf.tensor1d(batch.y, 'int32');
        const { logits } = this.net.forward(x, ctx);
        return [tf.mul(crossEntropy(logits, y), batch.shape[0]), correctCount(logits, y)];
      });
      const [lv, cv] = await Promise.all([l.data(), c.data()]);
      tf.dispose([l, c]);
      loss += lv[0];
      correct += cv[0];
      count += batch.shape[0];
    }
    return { loss: loss / Math.max(count, 1), accuracy: correct / Math.max(count, 1), count };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.net.dispose();
  }
}

/**
 * Trains to the end and evaluates on `test` batches (e.g. evalBatches(dataset, 'test', 256)).
 * `onProgress` sees every step; returning false stops early.
 */
export async function trainGenotype(
  trainer: GenotypeTrainer,
  test: () => Iterable<Batch>,
  onProgress?: (p: TrainProgress) => boolean | void,
): Promise<TrainSummary> {
  let lossSum = 0;
  let accSum = 0;
  let window = 0;
  while (!trainer.done) {
    const last = await trainer.runStep();
    // Training metrics averaged over the last epoch's steps (or fewer).
    if (last.step % trainer.stepsPerEpoch === 1 || trainer.stepsPerEpoch === 1) {
      lossSum = 0;
      accSum = 0;
      window = 0;
    }
    lossSum += last.loss;
    accSum += last.accuracy;
    window++;
    if (onProgress && onProgress(last) === false) break;
  }
  const result = await trainer.evaluate(test());
  const { params, auxiliaryParams } = trainer.net.countParams();
  return {
    steps: trainer.step,
    epochs: trainer.step / trainer.stepsPerEpoch,
    seconds: trainer.seconds,
    params,
    auxiliaryParams,
    trainLoss: window ? lossSum / window : NaN,
    trainAccuracy: window ? accSum / window : NaN,
    testLoss: result.loss,
    testAccuracy: result.accuracy,
  };
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
