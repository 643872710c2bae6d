// Feeds the page a long search's messages (progress every step, α/β and genotypes at the worker's
// pace) and records the main thread's long tasks, the DOM's size and what the store keeps, so a
// 10,000-step history can be checked for smoothness without computing 10,000 steps, then scrubs
// the replay slider over that history, then imports and opens a stored run of the same length.
// The page first runs one real step (its run config, data set and genotype are then the ones fed
// on).
import { hashOf, launch, openLab, tinySetup, waitForPhase } from './lab.mjs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRunStore } from '../src/runs/store.ts';
import { QUICK_CONFIG } from '../src/search/space.ts';

/**
 * Runs the soak in a fresh page; returns the long tasks (with the step being fed when each
 * began), samples of the DOM size and heap, and the store's sizes at the end.
 */
export async function soak({ steps = 10_000, stepsPerSecond = 100, stepsPerEpoch = 500, onProgress } = {}) {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'wasm', maxSteps: 1 })));
    await page.getByRole('button', { name: 'Start search' }).click();
    await waitForPhase(page, 'done', 300_000);
    await page.evaluate(() => {
      window.__soak = { longTasks: [], step: 0, samples: [] };
      new PerformanceObserver((list) => {
        for (const e of list.getEntries())
          window.__soak.longTasks.push({ step: window.__soak.step, start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask' });
    });
    const chunk = Math.min(1000, steps);
    const regions = [];
    for (let from = 1; from <= steps; from += chunk) {
      const to = Math.min(steps, from + chunk - 1);
      await page.evaluate(feedSteps, { from, to, steps, stepsPerSecond, stepsPerEpoch });
      // Elements under each region: a count that grows with the history means something is not downsampled.
      regions.push({ step: to, ...(await page.evaluate(domByRegion)) });
      onProgress?.(to);
    }
    const result = await page.evaluate(() => {
      const s = window.__lab.state();
      return {
        longTasks: window.__soak.longTasks,
        samples: window.__soak.samples,
        kept: { curve: s.curve.length, snapshots: s.snapshots.length, heldOut: s.heldOut.length },
        phase: s.phase,
      };
    });
    // Then a user scrubs the replay over the whole history with the keyboard (the page's own tasks).
    await page.evaluate(() => (window.__soak.step = -2));
    const slider = page.getByLabel('Replay step', { exact: true });
    await slider.focus();
    const keys = ['Home', ...Array(12).fill('PageUp'), 'End', ...Array(20).fill('ArrowLeft'), 'Home'];
    const positions = [];
    for (const key of keys) {
      await page.keyboard.press(key);
      await page.waitForTimeout(60);
      positions.push(await page.evaluate(() => window.__lab.state().viewIndex));
    }
    const replayTasks = await page.evaluate(() => window.__soak.longTasks.filter((t) => t.step === -2));
    // Then a stored run of the same length is imported and opened from the Runs panel.
    await page.evaluate(() => (window.__soak.step = -3));
    const runs = page.getByRole('region', { name: 'Runs', exact: true });
    const before = await runs.locator('tbody tr').count();
    // From a file on disk: a buffer would be decoded by Playwright's script in the page, a long
    // task of its own (150 ms for 2 MB) that the observer would blame on the lab.
    const file = join(await mkdtemp(join(tmpdir(), 'soak-')), 'long-run.json');
    await writeFile(file, await longRunFile(steps, stepsPerEpoch));
    await runs.getByLabel('Import run or genotype').setInputFiles(file);
    await page.waitForFunction(
      (n) => document.querySelectorAll('[aria-label="Runs"] tbody tr').length === n + 1,
      before,
      {
        timeout: 60_000,
      },
    );
    await page.waitForTimeout(500);
    await page.evaluate(() => (window.__soak.step = -4));
    const imported = runs.locator('tbody tr').filter({ hasText: LONG_RUN_NAME });
    await imported.getByRole('button', { name: 'Open' }).click();
    await runs.getByText('Showing the stored run').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000);
    const opened = await page.evaluate(() => ({
      curve: window.__lab.state().curve.length,
      snapshots: window.__lab.state().snapshots.length,
      lastStep: window.__lab.state().curve.at(-1)?.step ?? null,
      importTasks: window.__soak.longTasks.filter((t) => t.step === -3),
      tasks: window.__soak.longTasks.filter((t) => t.step === -4),
    }));
    // A task of 80 ms on purpose, after the soak: the observer must see it (else its silence means nothing).
    const probe = await page.evaluate(async () => {
      window.__soak.step = -1;
      // In a task of the page's own (code run by page.evaluate is not reported as one).
      setTimeout(() => {
        const until = performance.now() + 80;
        while (performance.now() < until);
      }, 0);
      await new Promise((r) => setTimeout(r, 500));
      return Math.max(0, ...window.__soak.longTasks.filter((t) => t.step === -1).map((t) => t.duration));
    });
    return {
      ...result,
      longTasks: result.longTasks.filter((t) => t.step > 0),
      storedRun: {
        curve: opened.curve,
        snapshots: opened.snapshots,
        lastStep: opened.lastStep,
        importLongestMs: Math.round(Math.max(0, ...opened.importTasks.map((t) => t.duration))),
        longestMs: Math.round(Math.max(0, ...opened.tasks.map((t) => t.duration))),
        over50: opened.tasks.filter((t) => t.duration > 50).length,
      },
      replay: {
        moves: keys.length,
        positions: new Set(positions).size,
        longestMs: Math.round(Math.max(0, ...replayTasks.map((t) => t.duration))),
        over50: replayTasks.filter((t) => t.duration > 50).length,
      },
      probeMs: probe,
      regions,
      domByRegion: regions.at(-1),
      errors,
    };
  } finally {
    await browser.close();
  }
}

const LONG_RUN_NAME = 'soak: a long stored run';

/**
 * The lab's run file of a finished `steps`-step quick factorized search (made with the run store
 * itself): a metrics row a step, 400 raw α/β snapshots on a seeded walk, a held-out scoring an epoch.
 */
async function longRunFile(steps, stepsPerEpoch) {
  const store = await openRunStore({ indexedDB: null });
  const id = await store.createRun({
    name: LONG_RUN_NAME,
    config: { ...QUICK_CONFIG, maxSteps: steps },
    dataset: { name: 'synthetic', source: 'synthetic:seed=1' },
    backend: 'wasm',
    stepsTotal: steps,
  });
  let seed = 7;
  const random = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5;
  const rows = [];
  for (let step = 1; step <= steps; step++)
    rows.push({
      step,
      epoch: Math.floor(step / stepsPerEpoch),
      trainLoss: 2.3 * Math.exp(-step / 4000) + 0.1 * random(),
      valLoss: 2.3 * Math.exp(-step / 4000) + 0.2 * random(),
      valAccuracy: Math.min(1, Math.max(0, 0.1 + step / 12000 + random() / 4)),
      imagesPerSecond: 1600,
      seconds: step / 100,
    });
  await store.appendMetrics(id, rows);
  const table = (width) => Array.from({ length: 14 }, () => Array.from({ length: width }, () => 0));
  let weights = { alphaNormal: table(8), alphaReduce: table(8), betaNormal: table(9), betaReduce: table(9) };
  const every = Math.max(1, Math.floor(steps / 400));
  for (let step = 0; step <= steps; step += every) {
    weights = Object.fromEntries(
      Object.entries(weights).map(([k, rows]) => [k, rows.map((r) => r.map((x) => x + 0.05 * random()))]),
    );
    await store.appendSnapshot(id, { step, epoch: Math.floor(step / stepsPerEpoch), ...weights });
  }
  for (let step = stepsPerEpoch; step <= steps; step += stepsPerEpoch)
    await store.addHeldOut(id, { step, epoch: step / stepsPerEpoch, testLoss: 1, testAccuracy: 0.5, testCount: 500 });
  await store.setStatus(id, 'done');
  return store.exportRun(id);
}

/** In the page: the number of elements under each region, by its name. */
function domByRegion() {
  return Object.fromEntries(
    [...document.querySelectorAll('section[aria-label]')].map((el) => [
      el.getAttribute('aria-label'),
      el.getElementsByTagName('*').length,
    ]),
  );
}

/** In the page: feeds steps from..to at the given pace, as the worker would send them. */
async function feedSteps({ from, to, steps, stepsPerSecond, stepsPerEpoch }) {
  const lab = window.__lab;
  const soak = window.__soak;
  const state = lab.state();
  if (from === 1) {
    lab.feed([{ type: 'ready', backend: 'wasm', requested: 'wasm', adapterInfo: null }]);
    const last = state.snapshots[state.snapshots.length - 1];
    soak.raw = {
      alphaNormal: last.raw.alphaNormal,
      alphaReduce: last.raw.alphaReduce,
      betaNormal: last.raw.betaNormal,
      betaReduce: last.raw.betaReduce,
    };
    soak.json = state.genotype.json;
    soak.seed = 1;
    soak.lastWeights = 0;
    soak.lastGenotype = 0;
  }
  // A small seeded random walk (so runs are comparable).
  const random = () => {
    soak.seed = (soak.seed * 1664525 + 1013904223) >>> 0;
    return soak.seed / 2 ** 32 - 0.5;
  };
  const softmax = (row) => {
    const m = Math.max(...row);
    const e = row.map((x) => Math.exp(x - m));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / sum);
  };
  const walk = (rows) => rows && rows.map((r) => r.map((x) => x + 0.01 * random()));
  const epochsTotal = Math.ceil(steps / stepsPerEpoch);
  const tick = 1000 / stepsPerSecond;
  const started = performance.now();
  for (let step = from; step <= to; step++) {
    // Keep the pace: wait until this step's time has come.
    const due = started + (step - from) * tick;
    const wait = due - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    soak.step = step;
    const messages = [
      {
        type: 'progress',
        epoch: Math.floor(step / stepsPerEpoch),
        step,
        stepsTotal: steps,
        stepsPerEpoch,
        epochsTotal,
        learningRate: (0.025 * (1 + Math.cos((Math.PI * step) / steps))) / 2,
        imagesPerSecond: 1600,
        stepMilliseconds: tick,
        recordMilliseconds: 1,
        compiled: null,
        seconds: step * (tick / 1000),
        trainLoss: 2.3 * Math.exp(-step / 4000) + 0.1 * random(),
        valLoss: 2.3 * Math.exp(-step / 4000) + 0.2 * random(),
        valAccuracy: Math.min(1, Math.max(0, 0.1 + step / 12000 + random() / 4)),
      },
    ];
    const now = performance.now();
    if (now - soak.lastWeights >= 250) {
      soak.lastWeights = now;
      soak.raw = {
        alphaNormal: walk(soak.raw.alphaNormal),
        alphaReduce: walk(soak.raw.alphaReduce),
        betaNormal: walk(soak.raw.betaNormal),
        betaReduce: walk(soak.raw.betaReduce),
      };
      const sm = (rows) => rows && rows.map(softmax);
      messages.push({
        type: 'weights',
        step,
        epoch: Math.floor(step / stepsPerEpoch),
        alphaNormal: sm(soak.raw.alphaNormal),
        alphaReduce: sm(soak.raw.alphaReduce),
        betaNormal: sm(soak.raw.betaNormal),
        betaReduce: sm(soak.raw.betaReduce),
        raw: { ...soak.raw, edgeNormal: null, edgeReduce: null },
      });
    }
    if (now - soak.lastGenotype >= 1000) {
      soak.lastGenotype = now;
      messages.push({ type: 'genotype', step, json: soak.json, darts: '' });
    }
    if (step % stepsPerEpoch === 0 || step === steps)
      messages.push({
        type: 'heldOut',
        step,
        epoch: Math.floor(step / stepsPerEpoch),
        testLoss: 1,
        testAccuracy: 0.5,
        testCount: 500,
      });
    if (step === steps) messages.push({ type: 'done', reason: 'finished', step, seconds: step * (tick / 1000) });
    lab.feed(messages);
    if (step % 250 === 0)
      soak.samples.push({
        step,
        domNodes: document.getElementsByTagName('*').length,
        heapBytes: performance.memory?.usedJSHeapSize ?? null,
      });
  }
}

/** The longest task per bin of `binSteps` steps: [{ from, to, longestMs, over50 }]. */
export function longTasksByBin(longTasks, steps, binSteps) {
  const bins = [];
  for (let from = 1; from <= steps; from += binSteps) {
    const to = Math.min(steps, from + binSteps - 1);
    const inBin = longTasks.filter((t) => t.step >= from && t.step <= to);
    bins.push({
      from,
      to,
      longestMs: Math.round(Math.max(0, ...inBin.map((t) => t.duration))),
      over50: inBin.filter((t) => t.duration > 50).length,
    });
  }
  return bins;
}
