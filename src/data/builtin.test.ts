import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILTIN_DATASET, loadBuiltinDataset, type FetchLike } from './builtin';
import { builtinDataDir } from './node';

describe('loadBuiltinDataset (browser side)', () => {
  it('fetches the four files under <base>/fashion-mnist-subset/ and reads them', async () => {
    const requested: string[] = [];
    const fetchFromDisk: FetchLike = async (url) => {
      requested.push(url);
      const bytes = await readFile(join(builtinDataDir(), url.split('/').pop()!));
      return {
        ok: true,
        status: 200,
        statusText: 'OK',
        arrayBuffer: async () =>
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      };
    };
    const phases: string[] = [];
    const d = await loadBuiltinDataset('/lab/data/', fetchFromDisk, { onProgress: (_, phase) => phases.push(phase) });
    expect(requested).toEqual(BUILTIN_DATASET.files.map((f) => `/lab/data/fashion-mnist-subset/${f}`));
    expect([d.name, d.source, d.train.count, d.test.count]).toEqual([
      'fashion-mnist-subset',
      'built-in',
      10_000,
      2_000,
    ]);
    expect(phases).toContain('Downloading train-images-idx3-ubyte.gz');
    expect(phases).toContain('Decompressing train-images-idx3-ubyte.gz');
  });

  it('names a failed download', async () => {
    const notFound: FetchLike = async () => ({
      ok: false,
      status: 404,
      statusText: 'Not Found',
      arrayBuffer: async () => new ArrayBuffer(0),
    });
    await expect(loadBuiltinDataset('data', notFound)).rejects.toThrow(
      'train-images-idx3-ubyte.gz: could not download data/fashion-mnist-subset/train-images-idx3-ubyte.gz: HTTP 404 Not Found',
    );
    const offline: FetchLike = async () => {
      throw new TypeError('Failed to fetch');
    };
    await expect(loadBuiltinDataset('data', offline)).rejects.toThrow('(Failed to fetch)');
  });
});
