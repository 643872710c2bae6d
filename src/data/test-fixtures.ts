// Writers for the published file formats, used by the tests to make small files in memory.
// Written from the format specifications, independently of the readers they test.

import { gzipSync } from 'node:zlib';

export function gz(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes));
}

function be32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** An IDX file: magic, dimensions (big-endian uint32), then the values. */
export function idxFile(magic: number, dims: number[], values: ArrayLike<number>): Uint8Array {
  const header = [...be32(magic), ...dims.flatMap(be32)];
  const out = new Uint8Array(header.length + values.length);
  out.set(header);
  out.set(Array.from(values), header.length);
  return out;
}

/** IDX images [count, rows, cols] whose pixel (n, y, x) is pixel(n, y, x). */
export function idxImages(
  count: number,
  rows: number,
  cols: number,
  pixel = (n: number, y: number, x: number) => (n * 7 + y * 3 + x) % 256,
): Uint8Array {
  const values = new Uint8Array(count * rows * cols);
  for (let n = 0; n < count; n++)
    for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) values[(n * rows + y) * cols + x] = pixel(n, y, x);
  return idxFile(0x803, [count, rows, cols], values);
}

export function idxLabels(labels: number[]): Uint8Array {
  return idxFile(0x801, [labels.length], labels);
}

export interface TarInput {
  path: string;
  data?: Uint8Array;
  directory?: boolean;
}

/** A POSIX ustar archive (as GNU tar writes cifar-10-binary.tar.gz), ending in two zero blocks. */
export function tarFile(entries: TarInput[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const text = (header: Uint8Array, offset: number, value: string) =>
    header.set(new TextEncoder().encode(value), offset);
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';
  for (const entry of entries) {
    const data = entry.data ?? new Uint8Array(0);
    const header = new Uint8Array(512);
    text(header, 0, entry.path);
    text(header, 100, octal(entry.directory ? 0o755 : 0o644, 8));
    text(header, 108, octal(1000, 8));
    text(header, 116, octal(1000, 8));
    text(header, 124, octal(data.length, 12));
    text(header, 136, octal(1262304000, 12));
    text(header, 148, '        ');
    text(header, 156, entry.directory ? '5' : '0');
    text(header, 257, 'ustar  \0'); // GNU magic + version
    text(header, 265, 'user');
    text(header, 297, 'user');
    const sum = header.reduce((a, b) => a + b, 0);
    text(header, 148, sum.toString(8).padStart(6, '0') + '\0 ');
    blocks.push(header);
    const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
    padded.set(data);
    blocks.push(padded);
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((a, b) => a + b.length, 0));
  let offset = 0;
  for (const block of blocks) {
    out.set(block, offset);
    offset += block.length;
  }
  return out;
}

/** One CIFAR-10 record's pixel: channel c (0 R, 1 G, 2 B), row y, column x. */
export type CifarPixel = (record: number, c: number, y: number, x: number) => number;

export const cifarPixel: CifarPixel = (r, c, y, x) => (r * 50 + c * 80 + y * 2 + x) % 256;

/** A CIFAR-10 binary batch: per record 1 label byte, then the R, G and B planes (32x32 each). */
export function cifarBatch(labels: number[], pixel: CifarPixel = cifarPixel, firstRecord = 0): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((label, r) => {
    const base = r * 3073;
    out[base] = label;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) out[base + 1 + c * 1024 + y * 32 + x] = pixel(firstRecord + r, c, y, x);
  });
  return out;
}

export const CIFAR_META = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n';

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
