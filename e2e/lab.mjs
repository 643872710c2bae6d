// Shared helpers for the e2e tests: Chromium with or without WebGPU, the lab at a setup given
// as a URL hash, and readers for the values the page shows (from its data attributes).
import { chromium } from 'playwright-core';
import { encodeSetup, defaultSetup } from '../src/store/setup.ts';

export const BASE_URL = process.env.E2E_BASE_URL ?? 'http://localhost:5173/';

export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader'];
const COMMON_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Debian's Chromium; Playwright never downloads a browser here. */
export async function launch({
  webgpu = true,
  headless = true,
  executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
} = {}) {
  return chromium.launch({
    executablePath,
    headless,
    args: [...(webgpu ? WEBGPU_FLAGS : []), ...COMMON_FLAGS],
  });
}

/** A setup small enough for SwiftShader and 2 cores: synthetic 16x16, C=4, 3 cells, batch 8,
 * validation accuracy on 32 held-out images. */
export function tinySetup({ backend = 'wasm', maxSteps = 20, mode = 'factorized', ...config } = {}) {
  const s = defaultSetup();
  return {
    ...s,
    dataset: 'synthetic',
    synthetic: { seed: 1, size: 16, channels: 3, classes: 4 },
    backend,
    heldOutImages: 32,
    config: { ...s.config, mode, channels: 4, layers: 3, batchSize: 8, maxSteps, ...config },
  };
}

export function hashOf(setup) {
  return '#' + encodeSetup(setup);
}

/**
 * Console messages a test may expect, each with why: anything else the page or its worker
 * writes as a warning or an error fails the test (collected with the page errors).
 */
export const EXPECTED_CONSOLE = [];

/**
 * Opens the lab in a fresh browser context (its own IndexedDB); see openPage. `allowConsole`:
 * regular expressions of console warnings and errors this test expects.
 */
export async function openLab(browser, hash = '', { viewport = { width: 1280, height: 800 }, allowConsole = [] } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  return { ...(await openPage(context, hash, { allowConsole })), context };
}

/**
 * Opens the lab in a new tab of `context` (a reload of a closed tab keeps the context's
 * IndexedDB). `errors` collects page errors and every console warning or error of the page and
 * its workers that is not expected (EXPECTED_CONSOLE, `allowConsole`): a test asserts it empty.
 */
export async function openPage(context, hash = '', { allowConsole = [], errors = [] } = {}) {
  const page = await context.newPage();
  watchPage(page, errors, allowConsole);
  await page.goto(BASE_URL + hash);
  await page.getByRole('button', { name: 'Start search' }).waitFor();
  return { page, errors };
}

/** Collects a page's errors and unexpected console warnings and errors (its workers' too) into `errors`. */
export function watchPage(page, errors, allowConsole = []) {
  const allowed = [...EXPECTED_CONSOLE, ...allowConsole];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (process.env.E2E_VERBOSE) console.log(`  [page ${m.type()}] ${m.text()}`);
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const text = m.text();
    if (allowed.some((re) => re.test(text))) return;
    errors.push(`console ${m.type()}${m.worker() ? ' (worker)' : ''}: ${text}`);
  });
  return errors;
}

export const stepBar = (page) => page.getByRole('progressbar', { name: 'Search progress', exact: true });
export const status = (page) => page.getByRole('status');

/** The number a run statistic shows ("step time", "CPU side": "1,234 ms" → 1234), or null when the page shows none. */
export async function statMilliseconds(page, name) {
  return page.evaluate((name) => {
    const stat = [...document.querySelectorAll('.stats div')].find((d) => d.querySelector('dt')?.textContent === name);
    const text = stat?.querySelector('dd')?.textContent ?? '';
    return /^[\d,]+ ms$/.test(text) ? Number(text.replace(/[, ms]/g, '')) : null;
  }, name);
}

export async function stepOf(page) {
  return Number(await stepBar(page).getAttribute('aria-valuenow'));
}

/** Waits until the step bar reaches `n` (fails early if the run errors). */
export async function waitForStep(page, n, timeout) {
  await page.waitForFunction(
    (n) => {
      const bar = document.querySelector('[role=progressbar][aria-label="Search progress"]');
      const st = document.querySelector('[role=status]');
      if (st?.getAttribute('data-phase') === 'error') throw new Error(`run failed: ${st.textContent}`);
      return Number(bar?.getAttribute('aria-valuenow')) >= n;
    },
    n,
    { timeout, polling: 250 },
  );
}

export async function waitForPhase(page, phases, timeout) {
  const list = Array.isArray(phases) ? phases : [phases];
  await page.waitForFunction(
    (list) => list.includes(document.querySelector('[role=status]')?.getAttribute('data-phase')),
    list,
    {
      timeout,
      polling: 250,
    },
  );
}

/** Waits until the D3 drawings in a region show the snapshot React rendered (data-step). */
export async function drawn(page, region) {
  await page.waitForFunction(
    (name) => {
      const el = document.querySelector(`[aria-label="${name}"]`);
      const step = el?.getAttribute('data-step');
      const svgs = el ? [...el.querySelectorAll('svg[data-step]')] : [];
      return svgs.length > 0 && svgs.every((s) => s.getAttribute('data-step') === step);
    },
    region,
    { timeout: 10_000, polling: 100 },
  );
}

/** Softmaxed α as the heatmap shows it: { normal: number[14][k], reduce: ... } and its step. */
export async function readHeatmap(page, region) {
  await drawn(page, region);
  return page.getByRole('region', { name: region }).evaluate((el) => {
    const out = { step: Number(el.getAttribute('data-step')), normal: [], reduce: [] };
    for (const r of el.querySelectorAll('rect[data-cell]')) {
      const cell = r.getAttribute('data-cell');
      const row = Number(r.getAttribute('data-row'));
      const col = Number(r.getAttribute('data-col'));
      (out[cell][row] ??= [])[col] = Number(r.getAttribute('data-value'));
    }
    return out;
  });
}

/** The edges a cell diagram draws: [{edge, from, node, op, activation, label}]. */
export async function readCellEdges(page, region) {
  await drawn(page, region);
  return page
    .getByRole('region', { name: region })
    .locator('[data-edge]')
    .evaluateAll((els) =>
      els.map((e) => ({
        edge: Number(e.getAttribute('data-edge')),
        from: Number(e.getAttribute('data-from')),
        node: Number(e.getAttribute('data-node')),
        op: e.getAttribute('data-op'),
        activation: e.getAttribute('data-activation') || null,
        label: e.getAttribute('data-label'),
      })),
    );
}

/** Fills a labelled text field (exact label) and checks the page accepted it. */
export async function setField(page, label, value) {
  const field = page.getByLabel(label, { exact: true });
  const tag = await field.evaluate((el) => el.tagName);
  if (tag === 'SELECT') await field.selectOption(String(value));
  else await field.fill(String(value));
}
