// npm run bench:browser [-- --backends webgpu,webgl,wasm,cpu --sizes quick,paper[:wasm+webgpu]
//   --modes darts,factorized,nonfactorized --steps 10 --warmup 2 --max-seconds-per-row 300
//   --chromium /usr/bin/chromium --headless false --split --reuse-build --out FILE]
//
// The search-step bench in Debian's Chromium (WebGPU flags as the e2e tests: SwiftShader when
// there is no GPU): builds the lab into bench/out/dist, serves it, and opens bench.html once per
// row (backend x size x mode) in a fresh page, so an out-of-memory row cannot spoil the next.
// A row that runs past its budget stops after the step that crosses it and reports the timed
// steps it has, marked as cut. A row that throws, has no timed step by then, is still in a step
// at the budget + 30 s (cut here, with the browser restarted), or whose backend does not start is
// a "failed: reason" row, and the bench goes on; a row that failed on the budget skips the rows of
// its backend that cost at least as much. `--sizes quick,paper:wasm+webgpu` runs the paper size
// on those backends only. Prints one table (the Node bench's format, src/bench/report.ts) and
// writes the same as JSON to bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseFlags } from '../src/util/flags.ts';
import { formatRatios, formatTable, isBenchSize, ratiosByBackend } from '../src/bench/report.ts';
import { launch } from '../e2e/lab.mjs';
import { root, serveBuiltLab } from '../e2e/server.mjs';

const flags = parseFlags(process.argv.slice(2));
const backends = flags.list('backends', ['webgpu', 'webgl', 'wasm', 'cpu']);
// "paper:wasm+webgpu": the paper size on wasm and webgpu only.
const sizeSpecs = flags.list('sizes', ['quick', 'paper']).map((spec) => {
  const [size, only] = spec.split(':');
  return { size, only: only ? only.split('+') : null };
});
const sizes = sizeSpecs.map((s) => s.size);
const modes = flags.list('modes', ['darts', 'factorized', 'nonfactorized']);
const steps = flags.int('steps', 10);
const warmup = flags.int('warmup', 2);
const budget = flags.int('max-seconds-per-row', 300);
const executablePath = flags.string('chromium', process.env.CHROMIUM_PATH ?? '/usr/bin/chromium');
const headless = flags.has('headless') ? flags.bool('headless') : true;
const split = flags.bool('split');
const reuseBuild = flags.bool('reuse-build');
const outFlag = flags.optionalString('out');
flags.assertAllUsed();
for (const s of sizes) if (!isBenchSize(s)) throw new Error(`--sizes: unknown size "${s}" (quick, paper)`);
if (steps < 1 || warmup < 0 || budget < 1)
  throw new Error('--steps and --max-seconds-per-row must be at least 1, --warmup at least 0');

const log = (text) => process.stderr.write(`${text}\n`);
const started = Date.now();
// Timings on a shared machine are only as good as its load: the JSON keeps it.
const loadAtStart = loadavg()[0];
const outDir = join(root, 'bench', 'out', 'dist');
log(`bench: ${reuseBuild ? 'serving' : 'building the lab into'} ${relative(root, outDir)} …`);
const server = await serveBuiltLab({ outDir, reuse: reuseBuild });
log(`bench: serving ${server.baseUrl}`);

let browser = await launch({ webgpu: true, headless, executablePath });
const browserVersion = browser.version();
const rows = [];
const failures = [];
/** backend → what the page said about it (available, label, adapter, reason). */
const backendInfo = {};
const hardSeconds = budget + 30;

/** Runs one row in a fresh page; returns the page's window.__bench, or throws with why not. */
async function runRow(backend, size, mode) {
  const page = await browser.newPage();
  let last = '';
  /** What the page was doing last ("step 2/4 running") and the last step it finished, with its time. */
  let doing = '';
  let finished = '';
  let crashed = false;
  page.on('console', (m) => {
    const text = m.text();
    if (text.startsWith('bench-backend: ')) {
      const { backend: name, ...info } = JSON.parse(text.slice(15));
      backendInfo[name] ??= info;
    } else if (text.startsWith('bench: ')) {
      last = text.slice(7);
      log(`  ${last}`);
      const what = last.slice(last.indexOf(': ') + 2);
      const step = /^(step .*): ([\d.]+) s$/.exec(what);
      if (step) finished = `${step[1]} took ${step[2]} s`;
      else doing = what;
    }
  });
  page.on('pageerror', (e) => log(`  [page error] ${e.message}`));
  page.on('crash', () => (crashed = true));
  const query = new URLSearchParams({
    backends: backend,
    sizes: size,
    modes: mode,
    steps: String(steps),
    warmup: String(warmup),
    budget: String(budget),
    split: split ? '1' : '0',
  });
  let timer;
  try {
    await page.goto(new URL(`bench.html?${query}`, server.baseUrl).href);
    const done = page.waitForFunction(() => window.__bench?.done === true, null, { timeout: 0, polling: 500 });
    done.catch(() => undefined); // after a cut, the page closes under it
    const cut = new Promise((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            Object.assign(
              new Error(
                `cut at ${hardSeconds} s (budget ${budget} s + 30 s): still in "${doing || 'page load'}"${finished ? `; ${finished}` : ''}`,
              ),
              { kind: 'budget', restart: true },
            ),
          ),
        hardSeconds * 1000,
      );
    });
    await Promise.race([done, cut]);
    return await page.evaluate(() => window.__bench);
  } catch (e) {
    if (crashed)
      throw Object.assign(new Error(`the page crashed (out of memory?)${last ? ` after "${last}"` : ''}`), {
        kind: 'error',
        restart: true,
      });
    throw e;
  } finally {
    clearTimeout(timer);
    await page.close({ runBeforeUnload: false }).catch(() => undefined);
  }
}

// A row that had no timed step within the budget says the same of the rows of its backend that
// cost at least as much (the same or a larger size, the same or a costlier mode): they are
// skipped, not run to fail alike.
const SIZE_COST = ['quick', 'paper'];
const MODE_COST = ['darts', 'factorized', 'nonfactorized'];
const costlier = (a, b) =>
  SIZE_COST.indexOf(a.size) >= SIZE_COST.indexOf(b.size) && MODE_COST.indexOf(a.mode) >= MODE_COST.indexOf(b.mode);

try {
  for (const backend of backends) {
    const cut = [];
    /** Rows skipped because of a cut one: reported as one table row per backend. */
    const skipped = [];
    for (const { size, only } of sizeSpecs) {
      if (only && !only.includes(backend)) continue;
      for (const mode of modes) {
        if (backendInfo[backend] && !backendInfo[backend].available) continue;
        const over = cut.find((c) => costlier({ size, mode }, c));
        if (over) {
          log(`bench: ${backend} ${size} ${mode}: skipped (${over.size} ${over.mode} was already over the budget)`);
          skipped.push({ size, mode, over });
          continue;
        }
        log(`bench: ${backend} ${size} ${mode}`);
        try {
          const state = await runRow(backend, size, mode);
          if (state.error) throw new Error(state.error);
          const info = state.backends[backend];
          backendInfo[backend] ??= info;
          if (info && !info.available) {
            // Every row of a backend that does not start fails alike: one row says so.
            failures.push({
              backend,
              size: sizes.join(','),
              mode: 'all',
              archUpdate: 'joint',
              kind: 'unavailable',
              reason: `unavailable: ${info.reason}`,
            });
            continue;
          }
          rows.push(...state.rows);
          failures.push(...state.failures);
          if (state.failures.some((f) => f.kind === 'budget')) cut.push({ size, mode });
        } catch (e) {
          const reason = e.message || String(e);
          log(`  failed: ${reason}`);
          failures.push({
            backend,
            size,
            mode,
            archUpdate: 'joint',
            kind: e.kind ?? 'error',
            reason: reason.slice(0, 300),
          });
          if (e.kind === 'budget') cut.push({ size, mode });
          if (e.restart) {
            // A step that will not finish (or a crashed renderer) may hold the GPU process: start over.
            await browser.close().catch(() => undefined);
            browser = await launch({ webgpu: true, headless, executablePath });
          }
        }
      }
    }
    if (skipped.length) {
      const first = skipped[0].over;
      failures.push({
        backend,
        size: [...new Set(skipped.map((r) => r.size))].join(', '),
        mode: skipped.length === 1 ? skipped[0].mode : `${skipped.length} costlier rows`,
        archUpdate: 'joint',
        kind: 'budget',
        reason: `skipped: ${first.size} ${first.mode} was already over the ${budget} s budget`,
        skipped: skipped.map((r) => `${r.size} ${r.mode}`),
      });
    }
  }
} finally {
  await browser.close().catch(() => undefined);
  await server.close();
}

const labels = Object.fromEntries(backends.map((b) => [b, backendInfo[b]?.label ?? '']));
const date = new Date();
const cpuList = cpus();
const result = {
  kind: 'browser',
  date: date.toISOString(),
  machine: {
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? '',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: process.platform,
    browser: `Chromium ${browserVersion}`,
    headless,
    loadAverage1m: { start: loadAtStart, end: loadavg()[0] },
  },
  options: {
    backends,
    sizes: sizeSpecs.map((s) => (s.only ? `${s.size}:${s.only.join('+')}` : s.size)),
    modes,
    steps,
    warmup,
    maxSecondsPerRow: budget,
    split,
  },
  backends: backendInfo,
  rows,
  failures,
  ratios: ratiosByBackend(rows),
  seconds: Math.round((Date.now() - started) / 1000),
};
console.log(
  `\nSearch-step bench in Chromium ${browserVersion}, ${result.date}, ${cpuList.length} CPUs (${result.machine.cpuModel}); ${steps} timed steps after ${warmup} warm-up, budget ${budget} s a row`,
);
console.log(formatTable(rows, failures, labels));
const ratioLines = formatRatios(rows);
if (ratioLines.length) {
  console.log('\nRatios (ms per step):');
  for (const line of ratioLines) console.log(`  ${line}`);
}
const out =
  outFlag ?? join(root, 'bench', 'results', `browser-${date.toISOString().slice(0, 10)}-${cpuList.length}cpu.json`);
await mkdir(join(out, '..'), { recursive: true });
await writeFile(out, JSON.stringify(result, null, 2) + '\n');
console.log(`\nwritten: ${relative(process.cwd(), out)} (${result.seconds} s in all)`);
process.exit(0);
