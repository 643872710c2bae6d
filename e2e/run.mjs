// End-to-end tests: builds the lab, serves it with `vite preview` on a free localhost port,
// runs e2e/*.test.mjs with node's test runner (one file at a time: each drives Chromium with
// SwiftShader WebGPU, which wants the whole machine), then stops the server.
//
//   node e2e/run.mjs                 all tests
//   node e2e/run.mjs hash cifar      only files whose name contains one of the words
//   E2E_SKIP_BUILD=1 node e2e/run.mjs   reuse e2e/out/dist from the last run
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { root, serveBuiltLab } from './server.mjs';

const here = join(root, 'e2e');
const started = Date.now();
console.log('e2e: building the lab into e2e/out/dist …');
const server = await serveBuiltLab({ reuse: Boolean(process.env.E2E_SKIP_BUILD) });
const baseUrl = server.baseUrl;
console.log(`e2e: serving ${baseUrl} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);

const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.mjs'))
  .filter((f) => !filters.length || filters.some((w) => f.includes(w)))
  .sort()
  .map((f) => join('e2e', f));

const code = await new Promise((res) => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      // Under CI a skipped test fails the run.
      `--test-reporter=${join(root, 'lint', 'no-skips-node-test.mjs')}`,
      '--test-reporter-destination=stderr',
      ...files,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, E2E_BASE_URL: baseUrl } },
  );
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', (c, signal) => res(c ?? (signal ? 1 : 0)));
});

await server.close();
console.log(`e2e: finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(code);
