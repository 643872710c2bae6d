// IDX, the format of MNIST, Fashion-MNIST, KMNIST...: a big-endian header (magic, then one
// uint32 per dimension) followed by unsigned bytes. Images are [n, rows, cols], labels [n].

import {
  DEFAULT_MAX_BYTES,
  DatasetError,
  formatBytes,
  tooLargeError,
  type NamedBytes,
  type ReadOptions,
} from './errors';
import { gunzip, isGzip, notGzipError } from './gzip';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

export interface IdxHeader {
  kind: 'images' | 'labels';
  count: number;
  /** 0 for label files. */
  rows: number;
  cols: number;
  headerBytes: number;
  /** Bytes of values the header announces (count * rows * cols, or count). */
  dataBytes: number;
}

export interface IdxImages {
  kind: 'images';
  images: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface IdxLabels {
  kind: 'labels';
  labels: Uint8Array;
  count: number;
}

export interface IdxOptions extends ReadOptions {
  /** Labels must be below this (default 10). */
  numClasses?: number;
}

const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned bytes',
  0x09: 'signed bytes',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

function uint32BE(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** True when the (decoded) bytes start with the IDX image or label magic number. */
export function looksLikeIdx(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const magic = uint32BE(bytes, 0);
  return magic === IDX_IMAGES_MAGIC || magic === IDX_LABELS_MAGIC;
}

/** Reads and checks the header; needs only the first 16 bytes. */
export function readIdxHeader(bytes: Uint8Array, fileName: string): IdxHeader {
  if (bytes.length === 0) throw new DatasetError(fileName, 'file is empty');
  if (bytes.length < 4)
    throw new DatasetError(fileName, `truncated IDX header: ${bytes.length} bytes, the magic number alone needs 4`);
  const magic = uint32BE(bytes, 0);
  if (magic !== IDX_IMAGES_MAGIC && magic !== IDX_LABELS_MAGIC) {
    let detail = '';
    if (bytes[0] === 0 && bytes[1] === 0 && IDX_TYPE_NAMES[bytes[2]]) {
      detail = ` (an IDX file of ${IDX_TYPE_NAMES[bytes[2]]} with ${bytes[3]} dimensions; only unsigned-byte images [n, rows, cols] and labels [n] are supported)`;
    }
    throw new DatasetError(
      fileName,
      `wrong IDX magic number ${hex32(magic)}: expected ${hex32(IDX_IMAGES_MAGIC)} (images) or ${hex32(IDX_LABELS_MAGIC)} (labels)${detail}`,
    );
  }
  const kind = magic === IDX_IMAGES_MAGIC ? 'images' : 'labels';
  const headerBytes = kind === 'images' ? 16 : 8;
  if (bytes.length < headerBytes) {
    throw new DatasetError(
      fileName,
      `truncated IDX header: ${bytes.length} bytes, an IDX ${kind} header needs ${headerBytes}`,
    );
  }
  const count = uint32BE(bytes, 4);
  if (count === 0) throw new DatasetError(fileName, `the IDX header announces 0 ${kind}`);
  if (kind === 'labels') return { kind, count, rows: 0, cols: 0, headerBytes, dataBytes: count };
  const rows = uint32BE(bytes, 8);
  const cols = uint32BE(bytes, 12);
  if (rows === 0 || cols === 0 || rows > 65535 || cols > 65535) {
    throw new DatasetError(fileName, `wrong image dimensions in the IDX header: ${rows}x${cols}`);
  }
  return { kind, count, rows, cols, headerBytes, dataBytes: count * rows * cols };
}

function checkSize(
  bytes: Uint8Array,
  header: IdxHeader,
  fileName: string,
  maxBytes: number,
  loadMaxBytes?: number,
): void {
  const available = bytes.length - header.headerBytes;
  const what =
    header.kind === 'images'
      ? `${header.count} images of ${header.rows}x${header.cols} (${formatBytes(header.dataBytes)})`
      : `${header.count} labels`;
  if (available < header.dataBytes) {
    throw new DatasetError(
      fileName,
      `truncated: the header announces ${what} but only ${formatBytes(available)} follow`,
    );
  }
  if (available > header.dataBytes) {
    throw new DatasetError(
      fileName,
      `${formatBytes(available - header.dataBytes)} of unexpected data after the ${what} the header announces`,
    );
  }
  if (header.dataBytes > maxBytes) throw tooLargeError(fileName, header.dataBytes, maxBytes, undefined, loadMaxBytes);
}

/** Checks labels against the number of classes; names the first bad one. */
export function checkLabels(labels: Uint8Array, numClasses: number, fileName: string, where = 'index'): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) {
      throw new DatasetError(
        fileName,
        `label ${labels[i]} at ${where} ${i} is out of range: with ${numClasses} classes labels go from 0 to ${numClasses - 1}` +
          ' (set numClasses for a data set with more classes)',
      );
    }
  }
}

/** Parses decoded IDX bytes (images or labels); the values are copied out. */
export function parseIdx(bytes: Uint8Array, fileName: string, options: IdxOptions = {}): IdxImages | IdxLabels {
  const header = readIdxHeader(bytes, fileName);
  checkSize(bytes, header, fileName, options.maxBytes ?? DEFAULT_MAX_BYTES, options.loadMaxBytes);
  const values = bytes.slice(header.headerBytes, header.headerBytes + header.dataBytes);
  if (header.kind === 'images') {
    return { kind: 'images', images: values, count: header.count, rows: header.rows, cols: header.cols };
  }
  checkLabels(values, options.numClasses ?? 10, fileName);
  return { kind: 'labels', labels: values, count: header.count };
}

/**
 * Reads one IDX file, gzipped or not. A gzipped file's header is checked on the first
 * decoded bytes, so a wrong or oversized file fails before it is fully inflated.
 */
export async function readIdxFile(file: NamedBytes, options: IdxOptions = {}): Promise<IdxImages | IdxLabels> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const { name, bytes } = file;
  if (bytes.length === 0) throw new DatasetError(name, 'file is empty');
  if (!isGzip(bytes)) {
    // A .gz name with IDX inside is accepted: some HTTP servers inflate .gz files on the way.
    if (/\.gz$/i.test(name) && !looksLikeIdx(bytes)) throw notGzipError(name, bytes);
    return parseIdx(bytes, name, options);
  }
  // The IDX header, read from the first decoded bytes, gives the exact size: trust it
  // rather than the gzip trailer, and stop right there when it is too much.
  const decoded = await gunzip(bytes, name, {
    maxBytes: maxBytes + 16,
    loadMaxBytes: options.loadMaxBytes,
    checkSizeHint: false,
    onProgress: options.onProgress,
    peekBytes: 16,
    peek: (head) => {
      const header = readIdxHeader(head, name);
      if (header.dataBytes > maxBytes)
        throw tooLargeError(name, header.dataBytes, maxBytes, undefined, options.loadMaxBytes);
    },
  });
  return parseIdx(decoded, name, options);
}
