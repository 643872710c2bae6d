// The built-in data set shipped in public/data: where its files are and how to fetch them.
// Pure: only fetch, so it runs on the page and in a Web Worker.

import type { Dataset } from './types';
import { DatasetError, subProgress, type NamedBytes, type ProgressCallback, type ReadOptions } from './errors';
import { FASHION_MNIST_CLASS_NAMES, loadDatasetFromFiles } from './load';

export const BUILTIN_DATASET = {
  name: 'fashion-mnist-subset',
  /** Folder under public/data (served as <base>/data/). */
  folder: 'fashion-mnist-subset',
  files: [
    'train-images-idx3-ubyte.gz',
    'train-labels-idx1-ubyte.gz',
    't10k-images-idx3-ubyte.gz',
    't10k-labels-idx1-ubyte.gz',
  ],
  classNames: FASHION_MNIST_CLASS_NAMES,
  trainPerClass: 1000,
  testPerClass: 200,
} as const;

/** The part of a fetch Response this needs, so tests and other hosts can supply their own. */
export interface FetchedResponse {
  ok: boolean;
  status: number;
  statusText: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}
export type FetchLike = (url: string) => Promise<FetchedResponse>;

/** Reads the built-in files, already fetched or read from disk, into the Dataset. */
export function builtinFromFiles(files: NamedBytes[], options: ReadOptions = {}): Promise<Dataset> {
  return loadDatasetFromFiles(files, {
    ...options,
    name: BUILTIN_DATASET.name,
    source: 'built-in',
    classNames: BUILTIN_DATASET.classNames.slice(),
  });
}

/**
 * Fetches and reads the built-in set. `baseUrl` is where public/data is served, e.g.
 * `${import.meta.env.BASE_URL}data/`; the files are under its fashion-mnist-subset/.
 */
export async function loadBuiltinDataset(
  baseUrl: string,
  fetchFn: FetchLike = (url) => fetch(url),
  options: { maxBytes?: number; onProgress?: ProgressCallback } = {},
): Promise<Dataset> {
  const folder = `${baseUrl.replace(/\/*$/, '')}/${BUILTIN_DATASET.folder}/`;
  const fetchProgress = subProgress(options.onProgress, 0, 0.3);
  const files: NamedBytes[] = [];
  for (const [i, name] of BUILTIN_DATASET.files.entries()) {
    const url = folder + name;
    fetchProgress?.(i / BUILTIN_DATASET.files.length, `Downloading ${name}`);
    let response: FetchedResponse;
    try {
      response = await fetchFn(url);
    } catch (error) {
      throw new DatasetError(
        name,
        `could not download ${url} (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (!response.ok)
      throw new DatasetError(name, `could not download ${url}: HTTP ${response.status} ${response.statusText}`.trim());
    files.push({ name, bytes: new Uint8Array(await response.arrayBuffer()) });
  }
  return builtinFromFiles(files, { maxBytes: options.maxBytes, onProgress: subProgress(options.onProgress, 0.3, 1) });
}
