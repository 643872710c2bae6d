// Screenshots of the lab during a search, for the README and for reviewing the layout:
//   docs/screenshots/lab-running.png   the page at 1280x800 while a search runs
//   docs/screenshots/lab-cells.png     the cell diagrams, curves and genotype (scrolled down)
//   docs/screenshots/lab-full.png      the whole page
//
//   node scripts/screenshots.mjs [--steps N] [--backend auto|webgpu|wasm|...] [--dataset builtin|synthetic]
//
// Uses Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH). The search is the quick demo
// scaled down (4 channels, 3 cells, larger architecture learning rates) so that α and β move
// visibly within a few steps even on a CPU backend.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { root, serveBuiltLab } from '../e2e/server.mjs';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' },
    backend: { type: 'string', default: 'auto' },
    dataset: { type: 'string', default: 'builtin' },
    out: { type: 'string', default: join(root, 'docs', 'screenshots') },
  },
});
const steps = Number(args.steps);

const hash = new URLSearchParams({
  dataset: args.dataset,
  backend: args.backend,
  mode: 'factorized',
  channels: '4',
  layers: '3',
  batchSize: '16',
  maxSteps: String(steps + 200),
  archLearningRate: '0.05',
  activationLearningRate: '0.05',
  seed: '2',
}).toString();

await mkdir(args.out, { recursive: true });
const server = await serveBuiltLab({ outDir: join(root, 'e2e', 'out', 'dist-screenshots') });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(`${server.baseUrl}#${hash}`);
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Class names"] li').length > 0, null, { timeout: 120_000 });
  await page.getByRole('button', { name: 'Start search' }).click();
  const started = Date.now();
  await page.waitForFunction(
    (n) => Number(document.querySelector('[aria-label="Search progress"]')?.getAttribute('aria-valuenow')) >= n,
    steps,
    { timeout: 30 * 60_000, polling: 500 },
  );
  console.log(`${steps} steps in ${((Date.now() - started) / 1000).toFixed(0)} s; status: ${await page.getByRole('status').textContent()}`);
  // Hover one α cell so the tooltip is in the picture.
  await page.getByRole('region', { name: 'Operator weights (alpha)' }).locator('rect[data-cell="normal"][data-row="6"][data-col="4"]').hover();
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
  const height = await page.locator('.visuals').evaluate((el) => el.scrollHeight + 48);
  await page.setViewportSize({ width: 1280, height });
  await page.locator('.visuals').evaluate((el) => el.scrollTo(0, 0));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(args.out, 'lab-full.png') });
  await page.getByRole('button', { name: 'Stop' }).click();
  console.log(`saved lab-running.png, lab-cells.png, lab-full.png in ${args.out}`);
} finally {
  await browser.close();
  await server.close();
}
