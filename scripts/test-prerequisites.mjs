// Runs before `npm test`: the tests need Debian's Chromium (browser and WebGPU tests), the
// Fashion-MNIST package (the real-data tests) and python3-torch (the PyTorch export and search
// tests). Installs what is missing when it can (root with apt-get), else stops with one line
// naming the exact command.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = [];
if (!existsSync(chromium)) missing.push('chromium');
if (!existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')) missing.push('dataset-fashion-mnist');
if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0)
  missing.push('python3-torch');
if (missing.length === 0) process.exit(0);

const command = `apt-get install -y ${missing.join(' ')}`;
const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
if (!canInstall) {
  console.error(`npm test needs Debian's ${missing.join(', ')}: run \`sudo ${command}\`, then npm test again.`);
  process.exit(1);
}
console.log(`npm test: installing ${missing.join(', ')} (Debian packages) …`);
try {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
} catch {
  console.error(`npm test could not install ${missing.join(', ')}: run \`${command}\` yourself, then npm test again.`);
  process.exit(1);
}
