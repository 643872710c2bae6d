// gzip via the platform's DecompressionStream (browsers, Web Workers and Node 20 all have it),
// so no inflate code ships with the app.

import { DEFAULT_MAX_BYTES, DatasetError, hexBytes, tooLargeError, type ReadOptions } from './errors';

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The decoded size the gzip trailer (ISIZE) announces, or null when it cannot be trusted.
 * ISIZE is the size modulo 2^32 and is garbage in a truncated file, so it is only a hint:
 * it is ignored when deflate could not have reached it (ratio above ~1032:1).
 */
export function gzipSizeHint(bytes: Uint8Array): number | null {
  if (!isGzip(bytes) || bytes.length < 18) return null;
  const n = bytes.length;
  const size = (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
  if (size > bytes.length * 1032 + 1024) return null;
  return size;
}

export function notGzipError(fileName: string, bytes: Uint8Array): DatasetError {
  return new DatasetError(fileName, `not a gzip file (it starts with ${hexBytes(bytes)}; gzip files start with 1f 8b)`);
}

export interface GunzipOptions extends ReadOptions {
  /**
   * Called once with the first decoded bytes (at least peekBytes of them, or all there are),
   * before the rest is inflated: lets a format check its header and announced size early.
   */
  peek?: (head: Uint8Array) => void;
  peekBytes?: number;
  /** Refuse up front when the gzip trailer announces more than maxBytes (default true). */
  checkSizeHint?: boolean;
}

const INPUT_CHUNK = 1 << 20;

/** Inflates a gzip file; throws a DatasetError naming `fileName` for anything wrong. */
export async function gunzip(bytes: Uint8Array, fileName: string, options: GunzipOptions = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const { onProgress, peek } = options;
  const peekBytes = options.peekBytes ?? 512;
  if (bytes.length === 0) throw new DatasetError(fileName, 'file is empty');
  if (!isGzip(bytes)) throw notGzipError(fileName, bytes);
  if (bytes.length < 18) throw new DatasetError(fileName, `truncated gzip file (${bytes.length} bytes)`);
  const hint = gzipSizeHint(bytes);
  if (hint !== null && hint > maxBytes && options.checkSizeHint !== false) {
    throw tooLargeError(fileName, hint, maxBytes, 'once decompressed (gzip trailer)', options.loadMaxBytes);
  }

  // One allocation of the announced size when it is plausible; grow only if it was wrong.
  const guess = Math.min(maxBytes, Math.max(1 << 16, bytes.length * 4));
  let out = new Uint8Array(hint !== null && hint <= maxBytes ? hint : guess);
  let length = 0;
  let peeked = !peek;
  const append = (chunk: Uint8Array) => {
    if (!peeked && length + chunk.length >= peekBytes) {
      // Before any size check, so the format's own (more precise) complaint comes first.
      peeked = true;
      const head = new Uint8Array(length + chunk.length);
      head.set(out.subarray(0, length));
      head.set(chunk, length);
      peek!(head);
    }
    if (length + chunk.length > maxBytes) {
      throw tooLargeError(fileName, length + chunk.length, maxBytes, 'or more once decompressed', options.loadMaxBytes);
    }
    if (length + chunk.length > out.length) {
      const grown = new Uint8Array(Math.min(maxBytes, Math.max(length + chunk.length, out.length * 2)));
      grown.set(out.subarray(0, length));
      out = grown;
    }
    out.set(chunk, length);
    length += chunk.length;
  };

  const phase = `Decompressing ${fileName}`;
  const stream = new DecompressionStream('gzip');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const feeding = (async () => {
    for (let offset = 0; offset < bytes.length; offset += INPUT_CHUNK) {
      const end = Math.min(offset + INPUT_CHUNK, bytes.length);
      await writer.write(bytes.subarray(offset, end) as Uint8Array<ArrayBuffer>);
      onProgress?.(end / bytes.length, phase);
    }
    await writer.close();
  })();
  // A failure while feeding also errors the readable side, which is where it is reported.
  feeding.catch(() => {});
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      append(value);
    }
    await feeding;
  } catch (error) {
    reader.cancel().catch(() => {});
    writer.abort().catch(() => {});
    if (error instanceof DatasetError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new DatasetError(fileName, `corrupt or truncated gzip data (${detail})`);
  }
  if (!peeked) peek!(out.subarray(0, length));
  return length === out.length ? out : out.slice(0, length);
}

/** Inflates when the bytes are gzip, returns them unchanged otherwise. */
export async function gunzipIfNeeded(
  bytes: Uint8Array,
  fileName: string,
  options: GunzipOptions = {},
): Promise<Uint8Array> {
  if (isGzip(bytes)) return gunzip(bytes, fileName, options);
  options.peek?.(bytes);
  return bytes;
}

/**
 * The first `count` decoded bytes (fewer if the file is shorter), inflating no more than
 * needed: enough to recognise a format by its header without decoding the whole file.
 */
export async function gunzipHead(bytes: Uint8Array, fileName: string, count = 512): Promise<Uint8Array> {
  if (bytes.length === 0) throw new DatasetError(fileName, 'file is empty');
  if (!isGzip(bytes)) throw notGzipError(fileName, bytes);
  const stream = new DecompressionStream('gzip');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  const feeding = (async () => {
    for (let offset = 0; offset < bytes.length && length < count; offset += 1 << 16) {
      await writer.write(bytes.subarray(offset, Math.min(offset + (1 << 16), bytes.length)) as Uint8Array<ArrayBuffer>);
    }
    if (length < count) await writer.close();
  })();
  feeding.catch(() => {});
  try {
    while (length < count) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
    }
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new DatasetError(fileName, `corrupt or truncated gzip data (${detail})`);
  } finally {
    reader.cancel().catch(() => {});
    writer.abort().catch(() => {});
  }
  const head = new Uint8Array(Math.min(length, count));
  let offset = 0;
  for (const chunk of chunks) {
    if (offset >= head.length) break;
    head.set(chunk.subarray(0, head.length - offset), offset);
    offset += chunk.length;
  }
  return head;
}
