// A tiny data set in the exact CIFAR-10 binary format (cifar-10-binary.tar.gz): records of
// 1 label byte + 1024 R + 1024 G + 1024 B bytes in cifar-10-batches-bin/data_batch_1..5.bin and
// test_batch.bin, class names in batches.meta.txt; tar written here, gzip by node:zlib.
import { gzipSync } from 'node:zlib';

const SIDE = 32;
const PIXELS = SIDE * SIDE;

function tarHeader(name, size, type = '0') {
  const h = Buffer.alloc(512);
  const put = (s, off, len) => h.write(s, off, len, 'ascii');
  const octal = (n, len) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(octal(type === '5' ? 0o755 : 0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(1_600_000_000, 12), 136, 12);
  h.fill(' ', 148, 156);
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

export function tar(entries) {
  const parts = [];
  for (const { name, data, dir } of entries) {
    if (dir) {
      parts.push(tarHeader(name, 0, '5'));
      continue;
    }
    parts.push(tarHeader(name, data.length), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** One batch file: `count` records, label i % classes, a bright class-specific square on noise. */
export function cifarBatch(count, classes, seed) {
  const out = Buffer.alloc(count * (1 + 3 * PIXELS));
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    const base = i * (1 + 3 * PIXELS);
    out[base] = label;
    const x0 = 4 + label * 9;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < SIDE; y++)
        for (let x = 0; x < SIDE; x++) {
          const inSquare = x >= x0 && x < x0 + 8 && y >= 12 && y < 20;
          const v = (inSquare ? 200 : 40) + (c === label ? 30 : 0) + Math.floor(rand() * 40);
          out[base + 1 + c * PIXELS + y * SIDE + x] = Math.min(255, v);
        }
  }
  return out;
}

export const CLASS_NAMES = ['cat', 'dog', 'ship'];

/** cifar-10-binary.tar.gz with 5 training batches of `perBatch` images and a test batch. */
export function cifarTarGz({ perBatch = 12, testCount = 9 } = {}) {
  const dir = 'cifar-10-batches-bin/';
  const entries = [
    { name: dir, dir: true },
    { name: dir + 'batches.meta.txt', data: Buffer.from(CLASS_NAMES.join('\n') + '\n\n') },
  ];
  for (let b = 1; b <= 5; b++)
    entries.push({ name: `${dir}data_batch_${b}.bin`, data: cifarBatch(perBatch, CLASS_NAMES.length, b) });
  entries.push({ name: dir + 'test_batch.bin', data: cifarBatch(testCount, CLASS_NAMES.length, 99) });
  entries.push({ name: dir + 'readme.html', data: Buffer.from('<p>tiny test set</p>') });
  return gzipSync(tar(entries));
}
