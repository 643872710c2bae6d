// CIFAR-10 binary as published: records of 1 label byte + 1024 R + 1024 G + 1024 B (planar,
// row-major 32x32), in data_batch_1..5.bin (training) and test_batch.bin, optionally inside
// cifar-10-binary.tar.gz under cifar-10-batches-bin/. Images come out NHWC.

import type { ImageSet } from './types';
import {
  DEFAULT_MAX_BYTES,
  DatasetError,
  formatBytes,
  subProgress,
  tooLargeError,
  type NamedBytes,
  type ReadOptions,
} from './errors';
import { gunzip, isGzip, notGzipError } from './gzip';
import { baseName, looksLikeTar, readTar } from './tar';

export const CIFAR_SIDE = 32;
export const CIFAR_PIXELS = CIFAR_SIDE * CIFAR_SIDE;
export const CIFAR_RECORD_BYTES = 1 + 3 * CIFAR_PIXELS;
export const CIFAR10_CLASS_NAMES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

export interface CifarOptions extends ReadOptions {
  /** Labels must be below this; default: the number of names in batches.meta.txt, else 10. */
  numClasses?: number;
}

/** What a set of CIFAR batches holds; train or test is null when no batch of that kind came. */
export interface CifarParts {
  train: ImageSet | null;
  test: ImageSet | null;
  /** From batches.meta.txt when present, else the CIFAR-10 names. */
  classNames: string[];
}

/** batches.meta.txt: one class name per line; blank lines (there is a trailing one) skipped. */
export function parseCifarLabelNames(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/**
 * Which split a batch file belongs to, from its name. Inside an archive only the published
 * names count (strict); loose files may be named anything ending in .bin, "test" marking
 * the test split.
 */
export function cifarBatchRole(name: string, strict: boolean): 'train' | 'test' | null {
  const base = baseName(name).toLowerCase();
  if (/^data_batch_\d+\.bin$/.test(base)) return 'train';
  if (base === 'test_batch.bin') return 'test';
  if (strict || !base.endsWith('.bin')) return null;
  return base.includes('test') ? 'test' : 'train';
}

function recordCount(bytes: Uint8Array, fileName: string): number {
  if (bytes.length === 0) throw new DatasetError(fileName, 'file is empty');
  if (bytes.length % CIFAR_RECORD_BYTES !== 0) {
    const cifar100 =
      bytes.length % (CIFAR_RECORD_BYTES + 1) === 0
        ? ' (it is a whole number of 3074-byte records: CIFAR-100 binary, with two label bytes, is not supported)'
        : '';
    throw new DatasetError(
      fileName,
      `${formatBytes(bytes.length)} is not a whole number of ${CIFAR_RECORD_BYTES}-byte CIFAR-10 records ` +
        `(${Math.floor(bytes.length / CIFAR_RECORD_BYTES)} records and ${bytes.length % CIFAR_RECORD_BYTES} bytes left over: truncated or not a CIFAR-10 batch)${cifar100}`,
    );
  }
  return bytes.length / CIFAR_RECORD_BYTES;
}

/** Converts the records of one batch into NHWC images and labels at `first` of the outputs. */
function convertBatch(
  bytes: Uint8Array,
  fileName: string,
  numClasses: number,
  images: Uint8Array,
  labels: Uint8Array,
  first: number,
): void {
  const count = bytes.length / CIFAR_RECORD_BYTES;
  for (let r = 0; r < count; r++) {
    const record = r * CIFAR_RECORD_BYTES;
    const label = bytes[record];
    if (label >= numClasses) {
      throw new DatasetError(
        fileName,
        `label ${label} in record ${r} is out of range: with ${numClasses} classes labels go from 0 to ${numClasses - 1}`,
      );
    }
    labels[first + r] = label;
    const out = (first + r) * CIFAR_PIXELS * 3;
    const red = record + 1;
    // Planar CHW → interleaved HWC.
    for (let p = 0; p < CIFAR_PIXELS; p++) {
      images[out + 3 * p] = bytes[red + p];
      images[out + 3 * p + 1] = bytes[red + CIFAR_PIXELS + p];
      images[out + 3 * p + 2] = bytes[red + 2 * CIFAR_PIXELS + p];
    }
  }
}

/** Parses one batch file into an NHWC image set. */
export function parseCifarBatch(bytes: Uint8Array, fileName: string, options: CifarOptions = {}): ImageSet {
  return concatBatches([{ name: fileName, bytes }], options.numClasses ?? 10, options.maxBytes ?? DEFAULT_MAX_BYTES);
}

function concatBatches(
  batches: NamedBytes[],
  numClasses: number,
  maxBytes: number,
  onProgress?: (f: number) => void,
): ImageSet {
  // Sizes are known from the files, so check the total before allocating anything.
  const counts = batches.map((b) => recordCount(b.bytes, b.name));
  const count = counts.reduce((a, b) => a + b, 0);
  const imageBytes = count * CIFAR_PIXELS * 3;
  if (imageBytes > maxBytes) throw tooLargeError(batches.map((b) => b.name).join(', '), imageBytes, maxBytes);
  const images = new Uint8Array(imageBytes);
  const labels = new Uint8Array(count);
  let first = 0;
  batches.forEach((batch, i) => {
    convertBatch(batch.bytes, batch.name, numClasses, images, labels, first);
    first += counts[i];
    onProgress?.(first / count);
  });
  return { images, labels, count };
}

/**
 * Reads CIFAR-10 batches given as files (loose .bin, or entries of an archive) plus the
 * optional batches.meta.txt text. A batch's split is its `role`, else guessed from its name.
 */
export function readCifarBatches(
  batches: (NamedBytes & { role?: 'train' | 'test' | null })[],
  metaText: string | null,
  options: CifarOptions = {},
): CifarParts {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const metaNames = metaText === null ? [] : parseCifarLabelNames(metaText);
  const numClasses = options.numClasses ?? (metaNames.length || 10);
  const classNames = metaNames.length ? metaNames : CIFAR10_CLASS_NAMES.slice(0, numClasses);
  while (classNames.length < numClasses) classNames.push(`class ${classNames.length}`);
  const byName = (a: NamedBytes, b: NamedBytes) => a.name.localeCompare(b.name, 'en', { numeric: true });
  const role = (b: (typeof batches)[number]) => (b.role !== undefined ? b.role : cifarBatchRole(b.name, false));
  const train = batches.filter((b) => role(b) === 'train').sort(byName);
  const test = batches.filter((b) => role(b) === 'test').sort(byName);
  const records = [...train, ...test].reduce((a, b) => a + recordCount(b.bytes, b.name), 0);
  const total = records * CIFAR_PIXELS * 3;
  if (total > maxBytes) throw tooLargeError(batches.map((b) => b.name).join(', '), total, maxBytes);
  const trainShare = train.length / Math.max(1, train.length + test.length);
  const progress = options.onProgress;
  return {
    train: train.length
      ? concatBatches(train, numClasses, maxBytes, (f) =>
          progress?.(f * trainShare, 'Reading CIFAR-10 training batches'),
        )
      : null,
    test: test.length
      ? concatBatches(test, numClasses, maxBytes, (f) =>
          progress?.(trainShare + f * (1 - trainShare), 'Reading CIFAR-10 test batch'),
        )
      : null,
    classNames,
  };
}

/** Reads cifar-10-binary.tar.gz (or the same archive uncompressed). */
export async function readCifarArchive(file: NamedBytes, options: CifarOptions = {}): Promise<CifarParts> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const { name } = file;
  let tar = file.bytes;
  if (tar.length === 0) throw new DatasetError(name, 'file is empty');
  if (isGzip(tar)) {
    tar = await gunzip(tar, name, { maxBytes, onProgress: subProgress(options.onProgress, 0, 0.7) });
  } else if (!looksLikeTar(tar)) {
    if (/\.(gz|tgz)$/i.test(name)) throw notGzipError(name, tar);
    throw new DatasetError(name, 'not a tar archive (no valid tar header at the start)');
  }
  const entries = readTar(tar, name).filter((e) => e.type === 'file');
  const batches = entries
    .filter((e) => cifarBatchRole(e.path, true) !== null)
    .map((e) => ({ name: `${name} (${e.path})`, bytes: e.data, role: cifarBatchRole(e.path, true) }));
  if (batches.length === 0) {
    const listed = entries.slice(0, 6).map((e) => e.path);
    const more = entries.length > listed.length ? ` and ${entries.length - listed.length} more` : '';
    throw new DatasetError(
      name,
      'no CIFAR-10 batches in this archive (expected cifar-10-batches-bin/data_batch_1.bin … data_batch_5.bin and test_batch.bin); ' +
        (entries.length ? `it holds ${listed.join(', ')}${more}` : 'it holds no files'),
    );
  }
  const meta = entries.find((e) => baseName(e.path) === 'batches.meta.txt');
  const metaText = meta ? new TextDecoder().decode(meta.data) : null;
  return readCifarBatches(batches, metaText, {
    ...options,
    maxBytes,
    onProgress: subProgress(options.onProgress, 0.7, 1),
  });
}
