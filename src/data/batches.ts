// DARTS's data pipeline: the training images split into a part for the weights (ω) and a
// part for the architecture (α, β); each part sampled in a fresh seeded order every epoch;
// batches normalised per channel, optionally with DARTS's crop-and-flip augmentation.

import { Random } from '../util/random';
import type { Batch, Dataset, ImageSet } from './types';
import { DatasetError } from './errors';

export interface TrainValSplit {
  /** Indices into dataset.train for the weights. */
  train: Int32Array;
  /** Indices into dataset.train for the architecture parameters. */
  val: Int32Array;
}

/** As DARTS's train_search: indices[:split] and indices[split:], split = floor(portion * n). */
export function splitTrainVal(count: number, trainPortion = 0.5): TrainValSplit {
  if (!(trainPortion > 0 && trainPortion < 1))
    throw new RangeError(`trainPortion must be in (0, 1), got ${trainPortion}`);
  const split = Math.floor(trainPortion * count);
  const all = Int32Array.from({ length: count }, (_, i) => i);
  return { train: all.slice(0, split), val: all.slice(split) };
}

/** Per channel, the normalised float of each byte value: (v/255 - mean) / std. */
function normalisationTable(dataset: Dataset): Float32Array {
  const { channels, mean, std } = dataset;
  const table = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  }
  return table;
}

const PAD = 4;

/**
 * Copies the chosen images into a normalised NHWC batch. With `augment`, each image gets
 * DARTS's RandomCrop(size, padding=4) then RandomHorizontalFlip(): the padding is raw zero
 * pixels, normalised like any other (torchvision pads before ToTensor/Normalize).
 */
function fillBatch(
  dataset: Dataset,
  set: ImageSet,
  indices: ArrayLike<number>,
  table: Float32Array,
  augment: Random | null,
): Batch {
  const { height: H, width: W, channels: C } = dataset;
  const n = indices.length;
  const imageSize = H * W * C;
  const x = new Float32Array(n * imageSize);
  const y = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const source = indices[b] * imageSize;
    const out = b * imageSize;
    y[b] = set.labels[indices[b]];
    if (!augment) {
      for (let i = 0; i < imageSize; i++) x[out + i] = table[(i % C) * 256 + set.images[source + i]];
      continue;
    }
    const dy = augment.int(2 * PAD + 1) - PAD;
    const dx = augment.int(2 * PAD + 1) - PAD;
    const flip = augment.next() < 0.5;
    for (let row = 0; row < H; row++) {
      const sy = row + dy;
      for (let col = 0; col < W; col++) {
        const sx = (flip ? W - 1 - col : col) + dx;
        const inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
        const o = out + (row * W + col) * C;
        const s = source + (sy * W + sx) * C;
        for (let c = 0; c < C; c++) x[o + c] = table[c * 256 + (inside ? set.images[s + c] : 0)];
      }
    }
  }
  return { x, y, shape: [n, H, W, C] };
}

/** Normalised batch of the given images, in the given order, without augmentation. */
export function gatherBatch(dataset: Dataset, set: ImageSet, indices: ArrayLike<number>): Batch {
  return fillBatch(dataset, set, indices, normalisationTable(dataset), null);
}

export interface BatchStreamOptions {
  batchSize: number;
  seed: number;
  /** DARTS crop-and-flip; pass dataset.augment for training streams (default false). */
  augment?: boolean;
  /** Skip the last incomplete batch of each epoch (default true). */
  dropLast?: boolean;
  /** Which images the indices point into (default 'train'). */
  set?: 'train' | 'test';
}

/** Everything needed to resume a stream exactly; plain JSON. */
export interface BatchStreamState {
  /** Order generator's state at the start of the current epoch (the permutation is redrawn from it). */
  order: number[];
  /** Augmentation generator's state now. */
  augment: number[];
  epoch: number;
  /** Batches already taken in the current epoch. */
  position: number;
  /** Recorded to refuse a state from a differently configured stream. */
  count: number;
  batchSize: number;
}

/**
 * An endless stream of batches over some images: every epoch a new seeded permutation
 * (like DARTS's SubsetRandomSampler), epochs roll over by themselves.
 */
export class BatchStream {
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  readonly augment: boolean;
  private readonly dataset: Dataset;
  private readonly images: ImageSet;
  private readonly indices: Int32Array;
  private readonly table: Float32Array;
  private readonly orderRandom: Random;
  private readonly augmentRandom: Random;
  private permutation: Int32Array;
  private epochStart: number[] = [];
  private epochNumber = 0;
  private batchInEpoch = 0;

  constructor(dataset: Dataset, indices: Int32Array | number[], options: BatchStreamOptions) {
    const { batchSize, seed } = options;
    this.dataset = dataset;
    this.images = options.set === 'test' ? dataset.test : dataset.train;
    this.indices = Int32Array.from(indices);
    for (const i of this.indices) {
      if (!(i >= 0 && i < this.images.count))
        throw new RangeError(`index ${i} is outside the ${this.images.count} images`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
    this.batchSize = batchSize;
    const n = this.indices.length;
    this.batchesPerEpoch = options.dropLast === false ? Math.ceil(n / batchSize) : Math.floor(n / batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new DatasetError(dataset.name, `batch size ${batchSize} is larger than the ${n} images in this split`);
    }
    this.augment = options.augment ?? false;
    this.table = normalisationTable(dataset);
    const root = new Random(seed);
    this.orderRandom = root.fork();
    this.augmentRandom = root.fork();
    this.permutation = new Int32Array(n);
    this.startEpoch();
  }

  /** Epochs completed so far (the current epoch's number, from 0). */
  get epoch(): number {
    return this.epochNumber;
  }

  /** Batches taken in the current epoch. */
  get position(): number {
    return this.batchInEpoch;
  }

  private startEpoch(): void {
    this.epochStart = this.orderRandom.getState();
    const p = this.permutation;
    p.set(this.indices);
    for (let i = p.length - 1; i > 0; i--) {
      const j = this.orderRandom.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
  }

  next(): Batch {
    const start = this.batchInEpoch * this.batchSize;
    const end = Math.min(start + this.batchSize, this.permutation.length);
    const batch = fillBatch(
      this.dataset,
      this.images,
      this.permutation.subarray(start, end),
      this.table,
      this.augment ? this.augmentRandom : null,
    );
    this.batchInEpoch++;
    if (this.batchInEpoch === this.batchesPerEpoch) {
      this.epochNumber++;
      this.batchInEpoch = 0;
      this.startEpoch();
    }
    return batch;
  }

  getState(): BatchStreamState {
    return {
      order: this.epochStart.slice(),
      augment: this.augmentRandom.getState(),
      epoch: this.epochNumber,
      position: this.batchInEpoch,
      count: this.indices.length,
      batchSize: this.batchSize,
    };
  }

  setState(state: BatchStreamState): void {
    const words = (a: unknown) => Array.isArray(a) && a.length === 4 && a.every((w) => Number.isInteger(w));
    if (!state || !words(state.order) || !words(state.augment))
      throw new RangeError('batch stream state: bad generator state');
    if (state.count !== this.indices.length || state.batchSize !== this.batchSize) {
      throw new RangeError(
        `batch stream state is for ${state.count} images in batches of ${state.batchSize}; ` +
          `this stream has ${this.indices.length} in batches of ${this.batchSize}`,
      );
    }
    if (!(Number.isInteger(state.position) && state.position >= 0 && state.position < this.batchesPerEpoch)) {
      throw new RangeError(`batch stream state: position ${state.position} is outside 0..${this.batchesPerEpoch - 1}`);
    }
    if (!(Number.isInteger(state.epoch) && state.epoch >= 0))
      throw new RangeError(`batch stream state: bad epoch ${state.epoch}`);
    this.orderRandom.setState(state.order);
    this.startEpoch();
    this.augmentRandom.setState(state.augment);
    this.epochNumber = state.epoch;
    this.batchInEpoch = state.position;
  }
}

export interface SearchStreams {
  split: TrainValSplit;
  /** Batches for the weights. */
  train: BatchStream;
  /** Batches for the architecture parameters. */
  val: BatchStream;
}

/**
 * The two streams of a search. As in DARTS's train_search, both halves use the training
 * transform, so both are augmented when the data set is.
 */
export function makeSearchStreams(
  dataset: Dataset,
  options: { batchSize: number; seed: number; trainPortion?: number; augment?: boolean },
): SearchStreams {
  const split = splitTrainVal(dataset.train.count, options.trainPortion ?? 0.5);
  const seeds = new Random(options.seed);
  const augment = options.augment ?? dataset.augment;
  return {
    split,
    train: new BatchStream(dataset, split.train, { batchSize: options.batchSize, seed: seeds.uint32(), augment }),
    val: new BatchStream(dataset, split.val, { batchSize: options.batchSize, seed: seeds.uint32(), augment }),
  };
}

/**
 * Batches for evaluation, in order, unaugmented, the last one possibly smaller: the test
 * set, or the validation part ('val') of the training images.
 */
export function* evalBatches(
  dataset: Dataset,
  set: 'test' | 'val',
  batchSize: number,
  options: { trainPortion?: number; limit?: number } = {},
): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const images = set === 'test' ? dataset.test : dataset.train;
  let indices =
    set === 'test'
      ? Int32Array.from({ length: images.count }, (_, i) => i)
      : splitTrainVal(images.count, options.trainPortion ?? 0.5).val;
  if (options.limit !== undefined) indices = indices.subarray(0, options.limit);
  const table = normalisationTable(dataset);
  for (let start = 0; start < indices.length; start += batchSize) {
    yield fillBatch(dataset, images, indices.subarray(start, start + batchSize), table, null);
  }
}

/** How many batches evalBatches yields. */
export function evalBatchCount(
  dataset: Dataset,
  set: 'test' | 'val',
  batchSize: number,
  options: { trainPortion?: number; limit?: number } = {},
): number {
  const count =
    set === 'test'
      ? dataset.test.count
      : dataset.train.count - Math.floor((options.trainPortion ?? 0.5) * dataset.train.count);
  return Math.ceil(Math.min(count, options.limit ?? Infinity) / batchSize);
}
