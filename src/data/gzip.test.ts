import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { gunzip, gunzipHead, gunzipIfNeeded, gzipSizeHint, isGzip } from './gzip';
import { DatasetError } from './errors';
import { bytesOf, gz } from './test-fixtures';

const payload = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 7)) % 251);

describe('gunzip', () => {
  it('inflates what zlib compressed, and reports progress up to 1', async () => {
    const packed = new Uint8Array(gzipSync(payload, { level: 1 }));
    expect(isGzip(packed)).toBe(true);
    expect(gzipSizeHint(packed)).toBe(300_000);
    const fractions: number[] = [];
    const out = await gunzip(packed, 'a.gz', { onProgress: (f) => fractions.push(f) });
    expect(out.length).toBe(payload.length);
    expect(Buffer.from(out).equals(Buffer.from(payload))).toBe(true);
    expect(fractions.at(-1)).toBe(1);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
  });

  it('refuses a file that is not gzip, saying so', async () => {
    await expect(gunzip(bytesOf('<!DOCTYPE html>'), 'train-images-idx3-ubyte.gz')).rejects.toThrow(
      'train-images-idx3-ubyte.gz: not a gzip file (it starts with 3c 21 44 4f; gzip files start with 1f 8b)',
    );
  });

  it('refuses an empty file and a truncated one', async () => {
    await expect(gunzip(new Uint8Array(0), 'e.gz')).rejects.toThrow('e.gz: file is empty');
    const packed = gz(payload);
    const cut = packed.subarray(0, packed.length >> 1);
    const error = await gunzip(cut, 'cut.gz').catch((e) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect(error.message).toMatch(/^cut\.gz: corrupt or truncated gzip data \(/);
  });

  it('refuses data larger than maxBytes from the gzip trailer, before inflating', async () => {
    await expect(gunzip(gz(payload), 'big.gz', { maxBytes: 100_000 })).rejects.toThrow(
      'big.gz: too large to load: 300.00 kB (300,000 bytes) once decompressed (gzip trailer), more than the 100.00 kB (100,000 bytes) this tab may use (maxBytes)',
    );
  });

  it('still stops at maxBytes when the trailer understates the size', async () => {
    const packed = gz(payload).slice();
    packed.set([0x10, 0, 0, 0], packed.length - 4); // ISIZE claims 16 bytes
    await expect(gunzip(packed, 'lying.gz', { maxBytes: 100_000 })).rejects.toThrow(
      /^lying\.gz: too large to load: .* or more once decompressed/,
    );
  });

  it('reads just the head when asked, and passes plain bytes through gunzipIfNeeded', async () => {
    const head = await gunzipHead(gz(payload), 'h.gz', 16);
    expect(Array.from(head)).toEqual(Array.from(payload.subarray(0, 16)));
    const plain = bytesOf('plain');
    expect(await gunzipIfNeeded(plain, 'p')).toBe(plain);
  });
});
