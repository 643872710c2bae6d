// Turns the files a user picked (or a directory holds) into a Dataset: recognises what they
// are, reads them, pairs images with labels, and splits off a test set when none came.

import { Random } from '../util/random';
import type { Dataset, ImageSet } from './types';
import {
  DEFAULT_MAX_BYTES,
  DatasetError,
  subProgress,
  type NamedBytes,
  type ProgressCallback,
  type ReadOptions,
} from './errors';
import { gunzipHead, isGzip, notGzipError } from './gzip';
import { looksLikeIdx, readIdxFile, readIdxHeader, type IdxImages, type IdxLabels } from './idx';
import { readCifarArchive, readCifarBatches, type CifarParts } from './cifar';
import { baseName, looksLikeTar } from './tar';
import { makeDataset } from './stats';

export const FASHION_MNIST_CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export interface LoadOptions extends ReadOptions {
  /** Dataset.name; default from the files ("fashion-mnist", "cifar-10", else "idx"). */
  name?: string;
  /** Dataset.source; default the file names. */
  source?: string;
  /** Class names; IDX files carry none (default "0".."9", or Fashion-MNIST's for fashion files). */
  classNames?: string[];
  /** Labels must be below this; default classNames.length, else 10 (CIFAR: batches.meta.txt). */
  numClasses?: number;
  /** Share of the training images held out as the test set when no test files came (0.1). */
  testFraction?: number;
  /** Seed of that split (0). */
  splitSeed?: number;
}

type FileKind = 'tar' | 'cifar-batch' | 'cifar-meta' | 'idx';

function kindByName(name: string): FileKind | null {
  if (/\.(tar\.gz|tgz|tar)$/i.test(name)) return 'tar';
  if (/\.bin$/i.test(name)) return 'cifar-batch';
  if (/(^|[\\/])batches\.meta\.txt$/i.test(name)) return 'cifar-meta';
  return null;
}

/** Which split an IDX file is for, from its name (MNIST's convention: train-..., t10k-...). */
function idxRole(name: string): 'train' | 'test' | null {
  const lower = baseName(name).toLowerCase();
  if (/t10k|test/.test(lower)) return 'test';
  if (/train/.test(lower)) return 'train';
  return null;
}

function describeUnrecognised(name: string, bytes: Uint8Array): DatasetError {
  const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
  return new DatasetError(
    name,
    `not a recognised data file: it starts with 0x${magic}, which is neither IDX images (0x00000803) nor labels (0x00000801), ` +
      'and it is not a CIFAR-10 batch (.bin) or a tar archive',
  );
}

/** Classifies the files by name, then by their (decoded) first bytes. */
async function classify(files: NamedBytes[]): Promise<{ kind: FileKind; file: NamedBytes }[]> {
  const result: { kind: FileKind; file: NamedBytes }[] = [];
  for (const file of files) {
    const { name, bytes } = file;
    const byName = kindByName(name);
    if (byName) {
      result.push({ kind: byName, file });
      continue;
    }
    if (bytes.length === 0) throw new DatasetError(name, 'file is empty');
    let head = bytes;
    if (isGzip(bytes)) head = await gunzipHead(bytes, name, 512);
    else if (/\.gz$/i.test(name) && !looksLikeIdx(bytes) && !looksLikeTar(bytes)) throw notGzipError(name, bytes);
    if (looksLikeIdx(head)) result.push({ kind: 'idx', file });
    else if (looksLikeTar(head)) result.push({ kind: 'tar', file });
    else if (head.length >= 2 && head[0] === 0 && head[1] === 0) {
      readIdxHeader(head, name); // throws the precise IDX complaint (magic number, header)
      throw describeUnrecognised(name, head);
    } else throw describeUnrecognised(name, head);
  }
  return result;
}

/** Holds out a class-balanced share of `set` as a test set, the same way for the same seed. */
export function splitOffTest(
  set: ImageSet,
  imageBytes: number,
  fraction: number,
  seed: number,
): { train: ImageSet; test: ImageSet } {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.count; i++) {
    const list = byClass.get(set.labels[i]);
    if (list) list.push(i);
    else byClass.set(set.labels[i], [i]);
  }
  // round(n * fraction) test images, shared between classes by largest remainder.
  const labels = [...byClass.keys()].sort((a, b) => a - b);
  const exact = labels.map((label) => byClass.get(label)!.length * fraction);
  const take = exact.map(Math.floor);
  let missing = Math.round(set.count * fraction) - take.reduce((a, b) => a + b, 0);
  for (const k of labels.map((_, k) => k).sort((a, b) => exact[b] - take[b] - (exact[a] - take[a]) || a - b)) {
    if (missing <= 0) break;
    take[k]++;
    missing--;
  }
  const random = new Random(seed);
  const isTest = new Uint8Array(set.count);
  labels.forEach((label, k) => {
    const indices = random.shuffle(byClass.get(label)!);
    for (let i = 0; i < take[k]; i++) isTest[indices[i]] = 1;
  });
  const pick = (wanted: number): ImageSet => {
    const count = isTest.reduce((n, t) => n + (t === wanted ? 1 : 0), 0);
    const images = new Uint8Array(count * imageBytes);
    const labels = new Uint8Array(count);
    let j = 0;
    for (let i = 0; i < set.count; i++) {
      if (isTest[i] !== wanted) continue;
      images.set(set.images.subarray(i * imageBytes, (i + 1) * imageBytes), j * imageBytes);
      labels[j++] = set.labels[i];
    }
    return { images, labels, count };
  };
  return { train: pick(0), test: pick(1) };
}

async function loadIdx(
  files: NamedBytes[],
  options: LoadOptions,
  maxBytes: number,
  onProgress: ProgressCallback | undefined,
): Promise<{ train: ImageSet; test: ImageSet | null; rows: number; cols: number }> {
  const numClasses = options.numClasses ?? options.classNames?.length ?? 10;
  const slots: Record<
    'train' | 'test',
    { images?: IdxImages & { file: string }; labels?: IdxLabels & { file: string } }
  > = {
    train: {},
    test: {},
  };
  const totalBytes = files.reduce((a, f) => a + f.bytes.length, 0);
  let doneBytes = 0;
  let budget = maxBytes;
  const roles = files.map((f) => idxRole(f.name));
  // Two files without telling names can only be one training pair.
  const untold = roles.filter((r) => r === null).length;
  for (const [i, file] of files.entries()) {
    const parsed = await readIdxFile(file, {
      maxBytes: budget,
      loadMaxBytes: maxBytes,
      numClasses,
      onProgress: subProgress(onProgress, doneBytes / totalBytes, (doneBytes + file.bytes.length) / totalBytes),
    });
    doneBytes += file.bytes.length;
    onProgress?.(doneBytes / totalBytes, `Read ${file.name}`);
    budget -= parsed.kind === 'images' ? parsed.images.length : parsed.labels.length;
    let role = roles[i];
    if (role === null) {
      if (files.length > 2 || untold > 2) {
        throw new DatasetError(
          file.name,
          'cannot tell whether this is training or test data: put "train" or "t10k"/"test" in its name',
        );
      }
      role = 'train';
    }
    const slot = slots[role];
    if (slot[parsed.kind]) {
      throw new DatasetError(
        file.name,
        `two ${role === 'train' ? 'training' : 'test'} ${parsed.kind} files: ${slot[parsed.kind]!.file} and ${file.name}`,
      );
    }
    (slot as Record<string, unknown>)[parsed.kind] = { ...parsed, file: file.name };
  }
  const pair = (role: 'train' | 'test'): ImageSet | null => {
    const { images, labels } = slots[role];
    const what = role === 'train' ? 'training' : 'test';
    if (!images && !labels) return null;
    if (!images) throw new DatasetError(labels!.file, `${what} labels without a ${what} images file`);
    if (!labels) throw new DatasetError(images.file, `${what} images without a ${what} labels file`);
    if (images.count !== labels.count) {
      throw new DatasetError(labels.file, `${labels.count} labels but ${images.count} images`);
    }
    return { images: images.images, labels: labels.labels, count: images.count };
  };
  const train = pair('train');
  const test = pair('test');
  if (!train)
    throw new DatasetError(
      files.map((f) => f.name).join(', '),
      'no training images and labels (IDX files named train-...)',
    );
  const trainImages = slots.train.images!;
  const testImages = slots.test.images;
  if (testImages && (testImages.rows !== trainImages.rows || testImages.cols !== trainImages.cols)) {
    throw new DatasetError(
      testImages.file,
      `images are ${testImages.rows}x${testImages.cols} but the training images (${trainImages.file}) are ${trainImages.rows}x${trainImages.cols}`,
    );
  }
  return { train, test, rows: trainImages.rows, cols: trainImages.cols };
}

async function loadCifar(
  classified: { kind: FileKind; file: NamedBytes }[],
  options: LoadOptions,
  maxBytes: number,
  onProgress: ProgressCallback | undefined,
): Promise<CifarParts> {
  const tars = classified.filter((c) => c.kind === 'tar');
  if (tars.length > 1) {
    throw new DatasetError(
      tars.map((t) => t.file.name).join(', '),
      'more than one archive given; give one cifar-10-binary.tar.gz',
    );
  }
  if (tars.length === 1) {
    if (classified.length > 1) {
      const others = classified.filter((c) => c.kind !== 'tar').map((c) => c.file.name);
      throw new DatasetError(tars[0].file.name, `give the archive alone, not together with ${others.join(', ')}`);
    }
    return readCifarArchive(tars[0].file, { maxBytes, numClasses: options.numClasses, onProgress });
  }
  const batches = classified.filter((c) => c.kind === 'cifar-batch').map((c) => c.file);
  if (batches.length === 0) {
    throw new DatasetError(
      classified.map((c) => c.file.name).join(', '),
      'batches.meta.txt without any CIFAR-10 .bin batches',
    );
  }
  const meta = classified.find((c) => c.kind === 'cifar-meta');
  const metaText = meta ? new TextDecoder().decode(meta.file.bytes) : null;
  return readCifarBatches(batches, metaText, { maxBytes, numClasses: options.numClasses, onProgress });
}

function isFashion(files: NamedBytes[], options: LoadOptions): boolean {
  return /fashion/i.test(options.name ?? '') || files.some((f) => /fashion/i.test(f.name));
}

/**
 * Recognises and reads a data set: one cifar-10-binary.tar.gz, CIFAR-10 .bin batches (with an
 * optional batches.meta.txt), or 2–4 IDX files (train-/t10k- images and labels, gzipped or
 * not). Without test files a class-balanced test set is split off the training files.
 */
export async function loadDatasetFromFiles(files: NamedBytes[], options: LoadOptions = {}): Promise<Dataset> {
  if (files.length === 0) throw new DatasetError(null, 'no files given');
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const report = options.onProgress;
  const classified = await classify(files);
  const kinds = new Set(classified.map((c) => (c.kind === 'idx' ? 'idx' : 'cifar')));
  if (kinds.size > 1) {
    const describe = (c: { kind: FileKind; file: NamedBytes }) =>
      `${c.file.name} (${c.kind === 'idx' ? 'IDX' : 'CIFAR-10'})`;
    throw new DatasetError(null, `these files are of different formats: ${classified.map(describe).join(', ')}`);
  }
  const source = options.source ?? files.map((f) => f.name).join(', ');
  const testFraction = options.testFraction ?? 0.1;
  const splitSeed = options.splitSeed ?? 0;
  const readProgress = subProgress(report, 0, 0.9);

  let parts: {
    train: ImageSet;
    test: ImageSet | null;
    height: number;
    width: number;
    channels: number;
    classNames: string[];
    name: string;
  };
  if (kinds.has('idx')) {
    const idx = await loadIdx(
      classified.map((c) => c.file),
      options,
      maxBytes,
      readProgress,
    );
    const numClasses = options.numClasses ?? options.classNames?.length ?? 10;
    const fashion = isFashion(files, options);
    const classNames =
      options.classNames ??
      (fashion && numClasses === 10
        ? FASHION_MNIST_CLASS_NAMES.slice()
        : Array.from({ length: numClasses }, (_, k) => String(k)));
    parts = {
      ...idx,
      height: idx.rows,
      width: idx.cols,
      channels: 1,
      classNames,
      name: options.name ?? (fashion ? 'fashion-mnist' : 'idx'),
    };
  } else {
    const cifar = await loadCifar(classified, options, maxBytes, readProgress);
    if (!cifar.train) {
      throw new DatasetError(
        files.map((f) => f.name).join(', '),
        'no CIFAR-10 training batches (data_batch_1.bin … data_batch_5.bin)',
      );
    }
    parts = {
      train: cifar.train,
      test: cifar.test,
      height: 32,
      width: 32,
      channels: 3,
      classNames: options.classNames ?? cifar.classNames,
      name: options.name ?? 'cifar-10',
    };
  }

  let { train, test } = parts;
  let splitNote = '';
  if (!test) {
    const split = splitOffTest(train, parts.height * parts.width * parts.channels, testFraction, splitSeed);
    if (split.test.count === 0 || split.train.count === 0) {
      throw new DatasetError(
        null,
        `${train.count} training images are too few to split off a test set (testFraction ${testFraction})`,
      );
    }
    ({ train, test } = split);
    splitNote = ` (test set: ${Math.round(testFraction * 100)}% of the training images, split seed ${splitSeed})`;
  }
  report?.(0.9, 'Computing channel statistics');
  const dataset = makeDataset({
    name: parts.name,
    source: source + splitNote,
    height: parts.height,
    width: parts.width,
    channels: parts.channels,
    classNames: parts.classNames,
    train,
    test,
  });
  report?.(1, 'Done');
  return dataset;
}
