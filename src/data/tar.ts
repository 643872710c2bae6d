// A tar reader, enough for published data archives: ustar/GNU headers in 512-byte blocks,
// octal (or GNU base-256) sizes, GNU long names and pax path records. Entries are views
// into the archive bytes, not copies.

import { DatasetError, formatBytes } from './errors';

export interface TarEntry {
  /** Full path inside the archive, e.g. "cifar-10-batches-bin/data_batch_1.bin". */
  path: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  data: Uint8Array;
}

const BLOCK = 512;
const textDecoder = new TextDecoder();

function readString(bytes: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && bytes[end] !== 0) end++;
  return textDecoder.decode(bytes.subarray(offset, end));
}

/** A numeric header field: octal text, or GNU base-256 when the high bit is set. */
function readNumber(bytes: Uint8Array, offset: number, length: number): number {
  if (bytes[offset] & 0x80) {
    let value = bytes[offset] & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + bytes[offset + i];
    return value;
  }
  const text = readString(bytes, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return NaN;
  return parseInt(text, 8);
}

function isZeroBlock(bytes: Uint8Array, offset: number): boolean {
  for (let i = offset; i < offset + BLOCK; i++) if (bytes[i] !== 0) return false;
  return true;
}

function checksumMatches(bytes: Uint8Array, offset: number): boolean {
  const stored = readNumber(bytes, offset + 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : bytes[offset + i];
  return stored === sum;
}

/** True when the bytes start with a tar header (ustar magic, or a valid checksum). */
export function looksLikeTar(bytes: Uint8Array): boolean {
  if (bytes.length < BLOCK) return false;
  if (readString(bytes, 257, 5) === 'ustar') return true;
  return !isZeroBlock(bytes, 0) && checksumMatches(bytes, 0);
}

/** Lists the entries of an uncompressed tar archive. */
export function readTar(bytes: Uint8Array, fileName: string): TarEntry[] {
  if (bytes.length === 0) throw new DatasetError(fileName, 'file is empty');
  if (!looksLikeTar(bytes)) throw new DatasetError(fileName, 'not a tar archive (no valid tar header at the start)');
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | null = null;
  let paxPath: string | null = null;
  while (offset + BLOCK <= bytes.length) {
    if (isZeroBlock(bytes, offset)) break; // end of archive
    if (!checksumMatches(bytes, offset)) {
      throw new DatasetError(fileName, `corrupt tar archive: bad header checksum at byte ${offset}`);
    }
    const name = readString(bytes, offset, 100);
    const size = readNumber(bytes, offset + 124, 12);
    const typeFlag = String.fromCharCode(bytes[offset + 156] || 0x30);
    const prefix = readString(bytes, offset + 257, 6) === 'ustar' ? readString(bytes, offset + 345, 155) : '';
    if (!Number.isFinite(size)) throw new DatasetError(fileName, `corrupt tar archive: bad size field for "${name}"`);
    const dataStart = offset + BLOCK;
    const path = longName ?? paxPath ?? (prefix ? `${prefix}/${name}` : name);
    if (dataStart + size > bytes.length) {
      throw new DatasetError(
        fileName,
        `truncated tar archive: "${path}" needs ${formatBytes(size)} but only ${formatBytes(Math.max(0, bytes.length - dataStart))} remain`,
      );
    }
    const data = bytes.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (typeFlag === 'L') {
      longName = readString(data, 0, data.length); // GNU: the next entry's long name
      continue;
    }
    if (typeFlag === 'x') {
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(textDecoder.decode(data))?.[1] ?? null;
      continue;
    }
    if (typeFlag === 'g') continue; // pax global header
    longName = null;
    paxPath = null;
    const type = typeFlag === '0' || typeFlag === '7' ? 'file' : typeFlag === '5' ? 'directory' : 'other';
    entries.push({ path, type, size, data });
  }
  if (offset < bytes.length && offset + BLOCK > bytes.length && bytes.subarray(offset).some((b) => b !== 0)) {
    throw new DatasetError(fileName, `truncated tar archive: a partial header at byte ${offset}`);
  }
  return entries;
}

/** The last path component: "cifar-10-batches-bin/data_batch_1.bin" → "data_batch_1.bin". */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== '');
  return parts.length ? parts[parts.length - 1] : path;
}
