// Makes the built-in data set: a class-balanced subset of Fashion-MNIST (the first 1,000
// training and first 200 test images of each class, in their original order), written as
// gzipped IDX files exactly like the published ones.
//
//   npx tsx scripts/make-fashion-subset.ts [--source DIR] [--out DIR] [--train-per-class N] [--test-per-class N]

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseIdx, type IdxImages, type IdxLabels } from '../src/data/idx';
import { BUILTIN_DATASET } from '../src/data/builtin';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const sourceDir = flag('source', '/usr/share/datasets/fashion-mnist');
const outDir = flag('out', fileURLToPath(new URL(`../public/data/${BUILTIN_DATASET.folder}/`, import.meta.url)));
const trainPerClass = Number(flag('train-per-class', String(BUILTIN_DATASET.trainPerClass)));
const testPerClass = Number(flag('test-per-class', String(BUILTIN_DATASET.testPerClass)));
const CLASSES = 10;

function read(name: string) {
  const bytes = new Uint8Array(gunzipSync(readFileSync(join(sourceDir, name))));
  return parseIdx(bytes, name);
}

/** The first `perClass` indices of each class, kept in their original order. */
function balancedIndices(labels: Uint8Array, perClass: number, fileName: string): number[] {
  const taken = new Array<number>(CLASSES).fill(0);
  const chosen: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (taken[labels[i]] < perClass) {
      taken[labels[i]]++;
      chosen.push(i);
    }
  }
  taken.forEach((n, k) => {
    if (n < perClass) throw new Error(`${fileName}: only ${n} images of class ${k}, ${perClass} wanted`);
  });
  return chosen;
}

function uint32BE(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

function idxImages(images: IdxImages, indices: number[]): Uint8Array {
  const size = images.rows * images.cols;
  const out = new Uint8Array(16 + indices.length * size);
  out.set([...uint32BE(0x803), ...uint32BE(indices.length), ...uint32BE(images.rows), ...uint32BE(images.cols)]);
  indices.forEach((i, j) => out.set(images.images.subarray(i * size, (i + 1) * size), 16 + j * size));
  return out;
}

function idxLabels(labels: IdxLabels, indices: number[]): Uint8Array {
  const out = new Uint8Array(8 + indices.length);
  out.set([...uint32BE(0x801), ...uint32BE(indices.length)]);
  indices.forEach((i, j) => (out[8 + j] = labels.labels[i]));
  return out;
}

function write(name: string, bytes: Uint8Array): void {
  // Node writes mtime 0 into the gzip header, so the output is the same on every run.
  const gz = gzipSync(bytes, { level: 9 });
  writeFileSync(join(outDir, name), gz);
  console.log(`${name}: ${bytes.length} bytes, ${gz.length} gzipped`);
}

mkdirSync(outDir, { recursive: true });
for (const [prefix, perClass] of [
  ['train', trainPerClass],
  ['t10k', testPerClass],
] as const) {
  const imagesName = `${prefix}-images-idx3-ubyte.gz`;
  const labelsName = `${prefix}-labels-idx1-ubyte.gz`;
  const images = read(imagesName) as IdxImages;
  const labels = read(labelsName) as IdxLabels;
  if (images.kind !== 'images' || labels.kind !== 'labels' || images.count !== labels.count) {
    throw new Error(`${sourceDir}: ${imagesName} and ${labelsName} do not match`);
  }
  const indices = balancedIndices(labels.labels, perClass, labelsName);
  write(imagesName, idxImages(images, indices));
  write(labelsName, idxLabels(labels, indices));
}

writeFileSync(
  join(outDir, 'README.md'),
  `# Fashion-MNIST subset (built-in data set)

A class-balanced subset of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist):
the first ${trainPerClass} training images of each class (${trainPerClass * CLASSES} in all) and the first
${testPerClass} test images of each class (${testPerClass * CLASSES} in all), in their original order, as
gzipped IDX files in the published format (28x28 grey images, labels 0-9).

Classes: ${BUILTIN_DATASET.classNames.map((n, k) => `${k} ${n}`).join(', ')}.

Made by \`npx tsx scripts/make-fashion-subset.ts\` from the published files
(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
t10k-labels-idx1-ubyte.gz); the output is deterministic.

Fashion-MNIST is Copyright (c) 2017 Zalando SE, https://tech.zalando.com, and is released
under the MIT License:
https://github.com/zalandoresearch/fashion-mnist/blob/master/LICENSE

Reference: Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel Image Dataset for
Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.
`,
);
console.log(`wrote ${outDir}`);
