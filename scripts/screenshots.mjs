// Screenshots of the lab, for the README and for reviewing the layout:
//   docs/screenshots/lab-running.png   the page at 1280x800 while a search runs
//   docs/screenshots/lab-cells.png     the cell diagrams, curves and genotype (scrolled down)
//   docs/screenshots/lab-full.png      the whole page
//   docs/screenshots/lab-compare.png   the "Compare runs" region: two factorized runs and a darts run
//   docs/screenshots/lab-retrain.png   the "Re-training" region after a tiny re-training
//   docs/screenshots/view-*.png        each view of a search on its own (α over time, β over time,
//                                      edge entropy, genotype changes, training curves, the genotype
//                                      panel with the derived network's size, the runs table)
//
//   node scripts/screenshots.mjs [--only search,compare,retrain] [--steps N] [--compare-steps N]
//        [--retrain-steps N] [--backend auto|webgpu|wasm|...] [--dataset builtin|synthetic]
//
// --only picks the groups (default: all three); "search" is the first three pictures.
// Uses Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH). The search is the quick demo
// scaled down (4 channels, 3 cells, larger architecture learning rates) so that α and β move
// visibly within a few steps even on a CPU backend. The compare and re-train pictures run on
// wasm unless --backend says otherwise (fast enough for these tiny networks): run A
// (factorized) is searched, its genotype re-trained from scratch (C=8, 3 cells, batch 32, 80
// steps), then run B (darts with a fixed relu, another seed) and run C (factorized, another seed
// and learning rate for ω) are searched and the three compared, against A.
// About 15 minutes on 2 CPU cores.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { root, serveBuiltLab } from '../e2e/server.mjs';

const GROUPS = ['search', 'compare', 'retrain'];
/** Each view of a search on its own: region name, file. */
const VIEWS = [
  ['α over time', 'view-alpha-over-time.png'],
  ['β over time', 'view-beta-over-time.png'],
  ['Edge entropy', 'view-edge-entropy.png'],
  ['Genotype changes', 'view-genotype-changes.png'],
  ['Training curves', 'view-training-curves.png'],
  ['Genotype', 'view-genotype.png'],
  ['Runs', 'view-runs.png'],
];
const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: GROUPS.join(',') },
    steps: { type: 'string', default: '10' },
    'compare-steps': { type: 'string', default: '40' },
    'retrain-steps': { type: 'string', default: '80' },
    backend: { type: 'string' },
    dataset: { type: 'string', default: 'builtin' },
    out: { type: 'string', default: join(root, 'docs', 'screenshots') },
  },
});
const only = new Set(
  args.only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
for (const g of only)
  if (!GROUPS.includes(g)) throw new Error(`--only: unknown group "${g}" (one of ${GROUPS.join(', ')})`);
const steps = Number(args.steps);
const compareSteps = Number(args['compare-steps']);
const retrainSteps = Number(args['retrain-steps']);

/** The scaled-down quick demo as a URL hash; `over` replaces or adds fields. */
function labHash(over) {
  return new URLSearchParams({
    dataset: args.dataset,
    mode: 'factorized',
    channels: '4',
    layers: '3',
    batchSize: '16',
    archLearningRate: '0.05',
    activationLearningRate: '0.05',
    seed: '2',
    ...over,
  }).toString();
}

await mkdir(args.out, { recursive: true });
const server = await serveBuiltLab({ outDir: join(root, 'e2e', 'out', 'dist-screenshots') });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--enable-unsafe-webgpu',
    '--enable-features=Vulkan',
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
try {
  if (only.has('search')) await searchShots();
  if (only.has('compare') || only.has('retrain')) await compareAndRetrainShots();
} finally {
  await browser.close();
  await server.close();
}

/** A page of its own (a fresh context, so an empty run store) with the lab at `hash`, data loaded. */
async function openLab(hash) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${server.baseUrl}#${hash}`);
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Class names"] li').length > 0, null, {
    timeout: 120_000,
  });
  return page;
}

async function searchShots() {
  const page = await openLab(labHash({ backend: args.backend ?? 'auto', maxSteps: String(steps + 200) }));
  await page.getByRole('button', { name: 'Start search' }).click();
  const started = Date.now();
  await page.waitForFunction(
    (n) => Number(document.querySelector('[aria-label="Search progress"]')?.getAttribute('aria-valuenow')) >= n,
    steps,
    { timeout: 30 * 60_000, polling: 500 },
  );
  console.log(
    `${steps} steps in ${((Date.now() - started) / 1000).toFixed(0)} s; status: ${await page.getByRole('status').textContent()}`,
  );
  // Hover one α cell so the tooltip is in the picture.
  await page
    .getByRole('region', { name: 'Operator weights (alpha)' })
    .locator('rect[data-cell="normal"][data-row="6"][data-col="4"]')
    .hover();
  await page.waitForTimeout(600);
  await page.screenshot({ path: join(args.out, 'lab-running.png') });
  await page.mouse.move(5, 5);
  // Scroll the visuals column so the replay slider is at the top: cells, curves, genotype below.
  await page.locator('.visuals').evaluate((el) => {
    const slider = el.querySelector('.replay');
    el.scrollTo(0, slider.getBoundingClientRect().top - el.getBoundingClientRect().top + el.scrollTop - 10);
  });
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(args.out, 'lab-cells.png') });
  await growToContent(page);
  await page.screenshot({ path: join(args.out, 'lab-full.png') });
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.waitForFunction(() => window.__lab.state().phase === 'done', null, { timeout: 120_000 });
  await growToContent(page);
  for (const [name, file] of VIEWS) {
    await page.getByRole('region', { name, exact: true }).screenshot({ path: join(args.out, file) });
  }
  console.log(`saved lab-running.png, lab-cells.png, lab-full.png and ${VIEWS.length} views in ${args.out}`);
  await page.close();
}

/** Makes the window as tall as the visuals column's content, so no region is cut by its scrolling. */
async function growToContent(page) {
  const height = await page.locator('.visuals').evaluate((el) => el.scrollHeight + 48);
  await page.setViewportSize({ width: 1280, height });
  await page.locator('.visuals').evaluate((el) => el.scrollTo(0, 0));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(400);
}

/** Waits until the runs list holds `n` searches, all finished (re-trainings are not counted). */
async function waitForSearches(page, n) {
  await page.waitForFunction(
    (n) => {
      const st = document.querySelector('[role=status]');
      if (st?.getAttribute('data-phase') === 'error') throw new Error(`search failed: ${st.textContent}`);
      const rows = [...document.querySelectorAll('[aria-label="Runs"] tbody tr')].filter(
        (r) => r.getAttribute('data-kind') !== 'train',
      );
      return rows.length === n && rows.every((r) => r.getAttribute('data-status') === 'done');
    },
    n,
    { timeout: 30 * 60_000, polling: 500 },
  );
}

async function search(page, n) {
  const started = Date.now();
  await page.getByRole('button', { name: 'Start search' }).click();
  await waitForSearches(page, n);
  console.log(`search ${n}: ${compareSteps} steps in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Screenshot of one region, the window grown so the whole region is laid out and visible. */
async function regionShot(page, name, file) {
  await page.mouse.move(5, 5);
  await growToContent(page);
  const region = page.getByRole('region', { name, exact: true });
  await region.scrollIntoViewIfNeeded();
  await page.waitForTimeout(400);
  await region.screenshot({ path: join(args.out, file) });
  console.log(`saved ${file} in ${args.out}`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function compareAndRetrainShots() {
  const backend = args.backend ?? 'wasm';
  const retrain = {
    rtChannels: '8',
    rtLayers: '3',
    rtBatch: '32',
    rtSteps: String(retrainSteps),
    rtEvalEvery: String(Math.max(1, Math.round(retrainSteps / 8))),
    rtTestImages: '1000',
  };
  // A: A-DARTS (factorized), the genotype that is re-trained.
  const page = await openLab(labHash({ backend, maxSteps: String(compareSteps), ...retrain }));
  await search(page, 1);

  if (only.has('retrain')) {
    const started = Date.now();
    await page.getByRole('button', { name: 'Re-train', exact: true }).click();
    await page.waitForFunction(
      () => {
        const phase = document.querySelector('[aria-label="Re-training"]')?.getAttribute('data-phase');
        if (phase === 'error') throw new Error('the re-training failed');
        return phase === 'done';
      },
      null,
      { timeout: 30 * 60_000, polling: 500 },
    );
    console.log(`re-training: ${retrainSteps} steps in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    await regionShot(page, 'Re-training', 'lab-retrain.png');
  }

  if (only.has('compare')) {
    // B: the paper's baseline, DARTS with one fixed activation (relu), another seed.
    const hashB = labHash({
      backend,
      maxSteps: String(compareSteps),
      mode: 'darts',
      activation: 'relu',
      seed: '3',
      ...retrain,
    });
    await page.evaluate((h) => (location.hash = h), hashB);
    // The lab takes the link and writes its own form of it back.
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('mode') === 'darts');
    await search(page, 2);
    // C: factorized again, another seed and a larger learning rate for ω.
    await page.evaluate(
      (h) => (location.hash = h),
      labHash({ backend, maxSteps: String(compareSteps), seed: '4', learningRate: '0.1', ...retrain }),
    );
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('seed') === '4');
    await search(page, 3);
    const runs = await page.evaluate(() =>
      window.__lab.state().runs.map((r) => ({ name: r.name, seed: r.config?.seed, kind: r.kind ?? 'search' })),
    );
    const bySeed = (seed) => runs.find((r) => r.kind !== 'train' && r.seed === seed);
    const list = page.getByRole('region', { name: 'Runs', exact: true });
    for (const run of [bySeed(2), bySeed(3), bySeed(4)])
      await list.getByRole('checkbox', { name: `Compare ${run.name}`, exact: true }).check();
    await list.getByRole('button', { name: 'Compare selected' }).click();
    await page.waitForFunction(
      () => document.querySelector('[aria-label="Compare runs"]')?.getAttribute('aria-busy') === 'false',
      null,
      {
        timeout: 60_000,
      },
    );
    // Every drawing shows the run's final snapshot.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[aria-label="Compare runs"] [data-step]')].every((el) =>
          [...el.querySelectorAll('svg[data-step]')].every(
            (s) => s.getAttribute('data-step') === el.getAttribute('data-step'),
          ),
        ) && document.querySelector('[aria-label="Curves of the compared runs"] svg')?.getAttribute('data-x-domain'),
      null,
      { timeout: 30_000, polling: 200 },
    );
    await regionShot(page, 'Compare runs', 'lab-compare.png');
  }
  await page.close();
}
