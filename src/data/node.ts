// Node-side loading for the CLI, benchmarks and tests: a built-in name, a synthetic spec, or
// a path to files on disk. The only data file allowed to touch node:fs.

import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset } from './types';
import { DatasetError, type NamedBytes } from './errors';
import { BUILTIN_DATASET, builtinFromFiles } from './builtin';
import { loadDatasetFromFiles, type LoadOptions } from './load';
import { makeSyntheticDataset, parseSyntheticSpec } from './synthetic';

/** public/data/fashion-mnist-subset, found from this source file (src/data/node.ts). */
export function builtinDataDir(): string {
  return fileURLToPath(new URL(`../../public/data/${BUILTIN_DATASET.folder}/`, import.meta.url));
}

/** Names in a directory that can be data: IDX files, CIFAR batches/archives, batches.meta.txt. */
function isDataFileName(name: string): boolean {
  return (
    /ubyte/i.test(name) ||
    /\.idx\d?(\.gz)?$/i.test(name) ||
    /\.bin$/i.test(name) ||
    /\.(tar\.gz|tgz|tar)$/i.test(name) ||
    /^batches\.meta\.txt$/i.test(name)
  );
}

async function readNamed(path: string): Promise<NamedBytes> {
  const buffer = await readFile(path);
  return { name: basename(path), bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) };
}

/**
 * The data files at a path: the file itself, or the data-looking files of a directory (its
 * cifar-10-batches-bin/ subfolder too, as the CIFAR archive unpacks).
 */
export async function readDataFiles(path: string): Promise<NamedBytes[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new DatasetError(
      path,
      'no such file or directory (expected "fashion-mnist", "synthetic[:seed=N]", or a path to IDX files, CIFAR-10 batches or cifar-10-binary.tar.gz)',
    );
  }
  if (!info.isDirectory()) return [await readNamed(path)];
  const names = (await readdir(path)).sort();
  let chosen = names.filter(isDataFileName);
  let dir = path;
  if (chosen.length === 0 && names.includes('cifar-10-batches-bin')) {
    dir = join(path, 'cifar-10-batches-bin');
    chosen = (await readdir(dir)).sort().filter(isDataFileName);
  }
  // An archive next to its own unpacked files would be read twice: prefer the loose files.
  if (chosen.some((n) => !/\.(tar\.gz|tgz|tar)$/i.test(n)))
    chosen = chosen.filter((n) => !/\.(tar\.gz|tgz|tar)$/i.test(n));
  if (chosen.length === 0) {
    throw new DatasetError(
      path,
      `no data files in this directory (looked for IDX *-ubyte files, CIFAR-10 .bin batches or a .tar.gz); it holds ${names.slice(0, 8).join(', ') || 'nothing'}`,
    );
  }
  return Promise.all(chosen.map((n) => readNamed(join(dir, n))));
}

/**
 * Loads "fashion-mnist" (the built-in subset), "synthetic" / "synthetic:seed=3,...", or a
 * file or directory path.
 */
export async function loadDatasetNode(nameOrPath: string, options: LoadOptions = {}): Promise<Dataset> {
  const synthetic = parseSyntheticSpec(nameOrPath);
  if (synthetic) return makeSyntheticDataset(synthetic);
  if (nameOrPath === 'fashion-mnist' || nameOrPath === BUILTIN_DATASET.name) {
    const dir = builtinDataDir();
    const files = await Promise.all(
      BUILTIN_DATASET.files.map((n) =>
        readNamed(join(dir, n)).catch(() => {
          throw new DatasetError(
            join(dir, n),
            'built-in data file missing (regenerate it with: npx tsx scripts/make-fashion-subset.ts)',
          );
        }),
      ),
    );
    return builtinFromFiles(files, options);
  }
  const files = await readDataFiles(nameOrPath);
  const base = basename(nameOrPath.replace(/[\\/]+$/, ''));
  return loadDatasetFromFiles(files, {
    name: /fashion/i.test(base)
      ? 'fashion-mnist'
      : /cifar/i.test(base)
        ? 'cifar-10'
        : base.replace(/\.(tar\.gz|tgz|tar|gz)$/i, ''),
    source: nameOrPath,
    ...options,
  });
}
