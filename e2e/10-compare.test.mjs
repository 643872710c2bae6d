// The runs table and the comparison of stored runs. Three real searches: the table shows each
// run's hyperparameters as stored, sorts by a clicked header and filters by mode, data set and
// status; ticking the three rows and "Compare selected" shows, in the region "Compare runs",
// three curves with a legend, each run's final α/β, and each other run's difference X − R of the
// softmaxed weights against the "Reference run" (equal to what the run store holds, and taken
// again when the reference changes). Screenshots at 1280×800 go to e2e/out/screenshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { defaultSetup } from '../src/store/setup.ts';
import { drawn, hashOf, launch, openLab, tinySetup } from './lab.mjs';

const STEPS = 3;
const COMPARE = 'Compare runs';
const SCREENSHOTS = new URL('./out/screenshots/', import.meta.url);

const region = (page, name) => page.getByRole('region', { name, exact: true });

const minus = (b, a) => ({
  normal: b.normal.map((row, i) => row.map((v, j) => v - a.normal[i][j])),
  reduce: b.reduce.map((row, i) => row.map((v, j) => v - a.reduce[i][j])),
});

/** Waits until the comparison has read its runs. */
async function compared(page) {
  await page.waitForFunction(
    (n) => document.querySelector(`[aria-label="${n}"]`)?.getAttribute('aria-busy') === 'false',
    COMPARE,
    { timeout: 30_000 },
  );
}

/** The runs table as shown: per row its run id and each column's text (by the header's data-column). */
function readTable(page) {
  return page.evaluate(() => {
    const table = document.querySelector('[aria-label="Runs"] table');
    const columns = [...table.querySelectorAll('thead th')].map((th) => th.getAttribute('data-column'));
    return [...table.querySelectorAll('tbody tr')].map((tr) => {
      const cells = {};
      [...tr.children].forEach((td, i) => {
        if (columns[i]) cells[columns[i]] = td.querySelector('input[type=text]')?.value ?? td.textContent.trim();
      });
      return { id: tr.getAttribute('data-run-id'), cells };
    });
  });
}

/** Waits until the runs list shows `n` runs, all finished. */
async function waitForDoneRuns(page, n, timeout) {
  await page.waitForFunction(
    (n) => {
      const st = document.querySelector('[role=status]');
      if (st?.getAttribute('data-phase') === 'error') throw new Error(`run failed: ${st.textContent}`);
      const rows = [...document.querySelectorAll('[aria-label="Runs"] tbody tr')];
      return rows.length === n && rows.every((r) => r.getAttribute('data-status') === 'done');
    },
    n,
    { timeout, polling: 250 },
  );
}

async function startAndFinish(page, hash, runsAfter) {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForFunction((h) => location.hash === h, hash);
  await page.getByRole('button', { name: 'Start search' }).click();
  await waitForDoneRuns(page, runsAfter, 300_000);
}

/** Softmax of the last stored snapshot's α and β of each run, read straight from IndexedDB. */
function readStoredWeights(page, ids) {
  return page.evaluate(
    (ids) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('factorized-nas-lab-runs');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const index = db.transaction('snapshots').objectStore('snapshots').index('runId');
          const softmaxRows = (p, raw) => {
            if (!p) return null;
            const rows = [];
            for (let r = 0; r < p.rows; r++) {
              const row = Array.from(p.data.subarray(r * p.cols, (r + 1) * p.cols));
              if (!raw) rows.push(row);
              else {
                const max = Math.max(...row);
                const e = row.map((v) => Math.exp(v - max));
                const sum = e.reduce((a, b) => a + b, 0);
                rows.push(e.map((v) => v / sum));
              }
            }
            return rows;
          };
          const out = {};
          let left = ids.length;
          for (const id of ids) {
            const req = index.getAll(id);
            req.onerror = () => reject(req.error);
            req.onsuccess = () => {
              const last = req.result.reduce((x, y) => (y.step >= x.step ? y : x));
              const raw = last.kind === 'raw';
              out[id] = {
                step: last.step,
                alpha: { normal: softmaxRows(last.alphaNormal, raw), reduce: softmaxRows(last.alphaReduce, raw) },
                beta: last.betaNormal
                  ? { normal: softmaxRows(last.betaNormal, raw), reduce: softmaxRows(last.betaReduce, raw) }
                  : null,
              };
              if (--left === 0) {
                db.close();
                resolve(out);
              }
            };
          }
        };
      }),
    ids,
  );
}

/** The values a heatmap region draws: { normal: [row][col], reduce: ..., count }. */
async function readCells(page, name) {
  await drawn(page, name);
  return region(page, name).evaluate((el) => {
    const out = { normal: [], reduce: [], count: 0 };
    for (const r of el.querySelectorAll('rect[data-cell]')) {
      (out[r.getAttribute('data-cell')][Number(r.getAttribute('data-row'))] ??= [])[
        Number(r.getAttribute('data-col'))
      ] = Number(r.getAttribute('data-value'));
      out.count++;
    }
    return out;
  });
}

function maxDeviation(drawnCells, expected) {
  let max = 0;
  for (const cell of ['normal', 'reduce'])
    expected[cell].forEach((row, i) =>
      row.forEach((v, j) => (max = Math.max(max, Math.abs(drawnCells[cell][i][j] - v)))),
    );
  return max;
}

/** A run file of a finished nonfactorized search (40 combined ops, no β), as "Export" writes one. */
function nonfactorizedRunFile() {
  const wide = Array.from({ length: 14 }, (_, r) => Array.from({ length: 40 }, (_, k) => ((r + k) % 7) / 10));
  const now = new Date().toISOString();
  return {
    format: 'factorized-nas-run',
    version: 1,
    name: 'nonfactorized baseline',
    mode: 'nonfactorized',
    status: 'done',
    message: null,
    createdAt: now,
    updatedAt: now,
    backend: 'wasm',
    dataset: { name: 'Other set', source: 'synthetic' },
    config: { ...defaultSetup().config, mode: 'nonfactorized' },
    steps: 2,
    epoch: 0,
    seconds: 2,
    stepsTotal: 2,
    bestValAccuracy: 0.25,
    bestStep: 2,
    genotype: null,
    metrics: [1, 2].map((step) => ({
      step,
      epoch: 0,
      trainLoss: 1.4,
      valLoss: 1.38,
      valAccuracy: 0.25,
      imagesPerSecond: 10,
      seconds: step,
    })),
    snapshots: [
      {
        step: 2,
        epoch: 0,
        kind: 'raw',
        alphaNormal: wide,
        alphaReduce: wide,
        betaNormal: null,
        betaReduce: null,
        edgeNormal: null,
        edgeReduce: null,
      },
    ],
  };
}

test(
  'three runs: the table sorts and filters; compared, 3 curves, each run’s α/β and its difference against the reference',
  { timeout: 900_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      await mkdir(SCREENSHOTS, { recursive: true });
      const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'wasm', maxSteps: STEPS, seed: 1 })));
      await page.getByRole('button', { name: 'Start search' }).click();
      await waitForDoneRuns(page, 1, 300_000);
      // B: the paper's baseline, plain DARTS with one fixed activation (selu), another seed.
      await startAndFinish(
        page,
        hashOf(tinySetup({ backend: 'wasm', maxSteps: STEPS, mode: 'darts', activation: 'selu', seed: 2 })),
        2,
      );
      // C: factorized again, another seed and a larger learning rate for ω.
      await startAndFinish(
        page,
        hashOf(tinySetup({ backend: 'wasm', maxSteps: STEPS, seed: 3, learningRate: 0.1 })),
        3,
      );

      const stored = await page.evaluate(() => window.__lab.state().runs);
      const bySeed = (seed) => stored.find((r) => r.config.seed === seed);
      const [runA, runB, runC] = [bySeed(1), bySeed(2), bySeed(3)];
      assert.ok(runA && runB && runC, 'three stored runs, seeds 1, 2, 3');
      assert.equal(new Set(stored.map((r) => r.name)).size, 3, 'each with its own name');

      // --- The table: every run's hyperparameters as stored ---------------------------------
      const runs = region(page, 'Runs');
      const table = await readTable(page);
      assert.deepEqual(
        table.map((r) => r.id),
        stored.map((r) => r.id),
        'newest first until a header is clicked',
      );
      for (const run of stored) {
        const { cells } = table.find((r) => r.id === run.id);
        const c = run.config;
        assert.equal(cells.name, run.name);
        assert.equal(cells.mode, run.mode === 'darts' ? 'darts · selu' : 'factorized');
        assert.equal(cells.status, 'done');
        assert.equal(cells.steps, `${STEPS} / ${STEPS}`);
        const validation = run.heldOut.at(-1);
        assert.equal(validation.step, STEPS, `${run.name}: scored on held-out images at its end`);
        assert.equal(cells.accuracy, `${(validation.testAccuracy * 100).toFixed(1)}%`, `${run.name}: val. acc.`);
        assert.deepEqual(
          [cells.channels, cells.cells, cells.batch, cells.seed, cells.partialChannels, cells.order],
          [c.channels, c.layers, c.batchSize, c.seed, c.partialChannels]
            .map(String)
            .concat(c.order === 1 ? '1st' : '2nd'),
          `${run.name}: C, cells, batch, seed, K, order`,
        );
        assert.equal(Number(cells.learningRate), c.learningRate, `${run.name}: LR ω ${cells.learningRate}`);
        assert.equal(Number(cells.alphaLearningRate), c.archLearningRate);
        if (run.mode === 'factorized') assert.equal(Number(cells.betaLearningRate), c.activationLearningRate);
        else assert.equal(cells.betaLearningRate, '–', 'darts searches no β');
      }
      assert.deepEqual([4, 3, 8], [runA.config.channels, runA.config.layers, runA.config.batchSize]);
      assert.equal(runC.config.learningRate, 0.1);

      // --- Sorting: a header click sorts ascending, a second descending (aria-sort says so) --
      const header = (name) =>
        runs.locator('thead th').filter({ has: page.getByRole('button', { name, exact: true }) });
      const order = async () => (await readTable(page)).map((r) => r.id);
      await runs.getByRole('button', { name: 'Seed', exact: true }).click();
      assert.equal(await header('Seed').getAttribute('aria-sort'), 'ascending');
      assert.deepEqual(await order(), [runA.id, runB.id, runC.id]);
      await runs.getByRole('button', { name: 'Seed', exact: true }).click();
      assert.equal(await header('Seed').getAttribute('aria-sort'), 'descending');
      assert.deepEqual(await order(), [runC.id, runB.id, runA.id]);
      await runs.getByRole('button', { name: 'LR ω', exact: true }).click();
      assert.equal(await header('Seed').getAttribute('aria-sort'), null, 'one sorted column at a time');
      assert.equal((await order()).at(-1), runC.id, 'C’s LR ω 0.1 is the largest');
      await runs.getByRole('button', { name: 'Val. acc.', exact: true }).click();
      await runs.getByRole('button', { name: 'Val. acc.', exact: true }).click();
      const shownAccuracies = (await readTable(page)).map((r) => parseFloat(r.cells.accuracy));
      assert.deepEqual(
        shownAccuracies,
        [...shownAccuracies].sort((x, y) => y - x),
        `validation accuracy descending: ${shownAccuracies}`,
      );
      await runs.getByRole('button', { name: 'Mode', exact: true }).click();
      assert.equal((await order())[0], runB.id, '"darts · selu" before "factorized"');

      // --- Filtering: by mode, status and data set ------------------------------------------
      await runs.getByLabel('Filter by mode', { exact: true }).selectOption('darts');
      assert.deepEqual(await order(), [runB.id]);
      await runs.getByLabel('Filter by mode', { exact: true }).selectOption('factorized');
      assert.deepEqual((await order()).sort(), [runA.id, runC.id].sort());
      await runs.getByLabel('Filter by status', { exact: true }).selectOption('failed');
      assert.deepEqual(await order(), []);
      assert.match(await runs.textContent(), /No run matches these filters/);
      await runs.getByLabel('Filter by status', { exact: true }).selectOption('done');
      assert.equal((await order()).length, 2);
      await runs.getByLabel('Filter by mode', { exact: true }).selectOption('all');
      await runs.getByLabel('Filter by status', { exact: true }).selectOption('all');
      assert.equal((await order()).length, 3);
      await page.getByRole('heading', { name: 'Runs', exact: true }).scrollIntoViewIfNeeded();
      await page.screenshot({ path: new URL('runs-table-1280.png', SCREENSHOTS).pathname });

      // --- Comparing the three: A, B, C in the order ticked; A is the reference --------------
      const compareButton = runs.getByRole('button', { name: 'Compare selected' });
      await runs.getByRole('checkbox', { name: `Compare ${runA.name}`, exact: true }).check();
      assert.equal(await compareButton.isDisabled(), true, 'one run ticked: nothing to compare');
      await runs.getByRole('checkbox', { name: `Compare ${runB.name}`, exact: true }).check();
      await runs.getByRole('checkbox', { name: `Compare ${runC.name}`, exact: true }).check();
      await compareButton.click();
      const compare = region(page, COMPARE);
      await compare.waitFor({ timeout: 30_000 });
      await compared(page);
      const text = await compare.textContent();
      for (const run of [runA, runB, runC]) assert.ok(text.includes(run.name), `the region names ${run.name}`);
      assert.match(text, /B against A: mode: factorized → darts; activation: relu → selu; seed: 1 → 2\./);
      assert.match(text, /C against A: learningRate: 0\.05 → 0\.1; seed: 1 → 3\./);
      const reference = compare.getByLabel('Reference run', { exact: true });
      assert.equal(await reference.inputValue(), runA.id, 'the first ticked is the reference');
      // The same validation accuracy as the runs table and the stored run: the held-out scoring.
      for (const run of [runA, runB, runC])
        assert.equal(
          Number(await compare.locator(`tr[data-run-id="${run.id}"] td[data-held-out]`).getAttribute('data-held-out')),
          run.heldOut.at(-1).testAccuracy,
          `${run.name}: val. acc. in the comparison`,
        );

      // Three curves on one axis, with a legend naming each run.
      const curves = region(page, 'Curves of the compared runs');
      assert.equal(await curves.getAttribute('data-x-domain'), `0,${STEPS}`);
      await page.waitForFunction(
        () => document.querySelectorAll('[aria-label="Curves of the compared runs"] path.smooth').length === 9,
      );
      for (const series of ['valAccuracy', 'valLoss', 'trainLoss'])
        assert.deepEqual(
          await curves
            .locator(`path.smooth[data-series="${series}"]`)
            .evaluateAll((els) => els.map((e) => [e.getAttribute('data-run-id'), e.getAttribute('data-points')])),
          [runA, runB, runC].map((r) => [r.id, String(STEPS)]),
          `${series}: one line per run, every stored step`,
        );
      // The accuracy panel's validation accuracy is each run's held-out scorings, as in the table.
      assert.deepEqual(
        await curves
          .locator('path.held-out')
          .evaluateAll((els) => els.map((e) => [e.getAttribute('data-run-id'), e.getAttribute('data-points')])),
        [runA, runB, runC].map((r) => [r.id, String(r.heldOut.length)]),
        'one held-out line per run, a point per scoring',
      );
      assert.equal(
        await curves.locator('.held-out-dots circle').count(),
        [runA, runB, runC].reduce((n, r) => n + r.heldOut.length, 0),
      );
      assert.deepEqual(
        await curves.locator('.curve-panel.acc .x-axis .tick text').allTextContents(),
        ['0', '1', '2', '3'],
        'whole steps on the x axis',
      );
      const legend = await curves.locator('.legend-run text').allTextContents();
      assert.deepEqual(legend, [`A: ${runA.name}`, `B: ${runB.name}`, `C: ${runC.name}`]);
      const colours = await curves
        .locator('path.smooth[data-series="valAccuracy"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('stroke')));
      assert.equal(new Set(colours).size, 3, `three colours: ${colours}`);
      // The chart saves as SVG with its legend.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        curves.getByRole('button', { name: 'Save SVG' }).click(),
      ]);
      const svgFile = await readFile(await download.path(), 'utf8');
      assert.equal(download.suggestedFilename(), 'compared-runs-curves.svg');
      for (const run of [runA, runB, runC]) assert.ok(svgFile.includes(run.name.replaceAll('&', '&amp;')));

      // Each run's final α and β are its stored softmaxed weights.
      const weights = await readStoredWeights(page, [runA.id, runB.id, runC.id]);
      const [wA, wB, wC] = [weights[runA.id], weights[runB.id], weights[runC.id]];
      for (const [letter, w] of [
        ['A', wA],
        ['B', wB],
        ['C', wC],
      ]) {
        assert.equal(w.step, STEPS);
        const alpha = await readCells(page, `α of run ${letter}`);
        assert.equal(alpha.count, 2 * 14 * 8);
        assert.ok(maxDeviation(alpha, w.alpha) <= 1e-6, `${letter}’s α heatmap is its stored softmaxed α`);
        const beta = await readCells(page, `β of run ${letter}`);
        assert.equal(beta.count, 2 * 14 * 9);
        assert.ok(maxDeviation(beta, w.beta) <= 1e-6, `${letter}’s β heatmap is its stored softmaxed β`);
      }
      // One legend for every run's heatmaps of a kind: β tops at B's one-hot 1 in A's and C's too.
      const legendTicks = async (name) => {
        await drawn(page, name);
        return region(page, name).locator('.hm-legend-axis .tick text').allTextContents();
      };
      assert.equal((await legendTicks('β of run A')).at(-1), '1');
      assert.deepEqual(await legendTicks('β of run C'), await legendTicks('β of run B'));

      // The difference maps against A: B − A and C − A.
      const expectDifference = async (name, expected) => {
        const cells = await readCells(page, name);
        assert.equal(cells.count, 2 * 14 * expected.normal[0].length, `${name}: every cell drawn`);
        const dev = maxDeviation(cells, expected);
        assert.ok(dev <= 1e-6, `${name} = the stored softmaxed weights subtracted (max |Δ| ${dev})`);
        assert.ok(
          expected.normal.flat().some((v) => Math.abs(v) > 1e-9),
          `${name}: the runs differ`,
        );
      };
      await expectDifference('α difference (B − A)', minus(wB.alpha, wA.alpha));
      await expectDifference('β difference (B − A)', minus(wB.beta, wA.beta));
      await expectDifference('α difference (C − A)', minus(wC.alpha, wA.alpha));
      await expectDifference('β difference (C − A)', minus(wC.beta, wA.beta));
      assert.match(await region(page, 'β difference (B − A)').textContent(), /B’s β is fixed one-hot on selu/);
      const diffLegend = await legendTicks('α difference (C − A)');
      assert.ok(
        diffLegend.some((t) => t.startsWith('−') || t.startsWith('-')) && diffLegend.some((t) => t.startsWith('+')),
        `a diverging legend: ${diffLegend}`,
      );
      assert.equal(await region(page, 'α difference (C − A)').locator('.hm-legend-title').textContent(), 'C − A');
      // The curves, 3 runs' α and β, 4 difference maps, and 3 runs' two derived cells.
      assert.equal(await compare.getByRole('button', { name: 'Save PNG' }).count(), 1 + 6 + 4 + 6, 'every chart saves');
      await page.evaluate(() => document.querySelector('[aria-label="Compare runs"]').scrollIntoView());
      await page.screenshot({ path: new URL('compare-3-runs-1280.png', SCREENSHOTS).pathname });
      await compare.getByRole('heading', { name: 'Final α and β of each run' }).evaluate((h) => h.scrollIntoView());
      await page.screenshot({ path: new URL('compare-3-runs-weights-1280.png', SCREENSHOTS).pathname });
      await compare
        .getByRole('heading', { name: /^Differences against the reference/ })
        .evaluate((h) => h.scrollIntoView());
      await page.screenshot({ path: new URL('compare-3-runs-differences-1280.png', SCREENSHOTS).pathname });

      // Another reference: B. Now A − B and C − B, from the same stored weights.
      await reference.selectOption(runB.id);
      await region(page, 'α difference (A − B)').waitFor({ timeout: 10_000 });
      assert.equal(await region(page, 'α difference (B − A)').count(), 0, 'B − A is gone');
      assert.equal(await region(page, 'α difference (C − A)').count(), 0);
      await expectDifference('α difference (A − B)', minus(wA.alpha, wB.alpha));
      await expectDifference('β difference (A − B)', minus(wA.beta, wB.beta));
      await expectDifference('α difference (C − B)', minus(wC.alpha, wB.alpha));
      await expectDifference('β difference (C − B)', minus(wC.beta, wB.beta));
      assert.match(
        await compare.textContent(),
        /A against B: mode: darts → factorized; activation: selu → relu; seed: 2 → 1\./,
      );
      assert.equal(
        await page.evaluate(
          () => document.querySelectorAll('[aria-label="Curves of the compared runs"] path.smooth').length,
        ),
        9,
        'the curves stay',
      );

      await compare.getByRole('button', { name: 'Close comparison' }).click();
      await compare.waitFor({ state: 'detached' });

      // --- A nonfactorized run (40 combined ops, no β), imported: its α columns are not A's 8 ---
      await runs.getByLabel('Import run or genotype').setInputFiles({
        name: 'nonfactorized.json',
        mimeType: 'application/json',
        buffer: Buffer.from(JSON.stringify(nonfactorizedRunFile())),
      });
      await page.waitForFunction(() => document.querySelectorAll('[aria-label="Runs"] tbody tr').length === 4, null, {
        timeout: 10_000,
      });
      await runs.getByLabel('Filter by data set', { exact: true }).selectOption('Other set');
      assert.deepEqual(
        (await readTable(page)).map((r) => r.cells.name),
        ['nonfactorized baseline'],
        'only the imported run used "Other set"',
      );
      await runs.getByLabel('Filter by data set', { exact: true }).selectOption('all');
      await runs.getByRole('checkbox', { name: `Compare ${runB.name}`, exact: true }).uncheck();
      await runs.getByRole('checkbox', { name: `Compare ${runC.name}`, exact: true }).uncheck();
      await runs.getByRole('checkbox', { name: 'Compare nonfactorized baseline', exact: true }).check();
      await compareButton.click();
      await compared(page);
      const alphaNote = region(page, 'α difference (B − A)');
      assert.equal(
        await alphaNote.locator('rect[data-cell]').count(),
        0,
        'no α difference map across 8 and 40 columns',
      );
      assert.match(
        await alphaNote.textContent(),
        /run A \(factorized\) weighs 8 candidates per edge and run B \(nonfactorized\) 40/,
      );
      assert.match(await region(page, 'β difference (B − A)').textContent(), /run B \(nonfactorized\) has no β/);
      assert.ok(
        (await compare.textContent()).includes(
          `The runs used different data sets (A: ${runA.dataset.name}, B: Other set): their curves are not directly comparable.`,
        ),
      );
      const wideAlpha = await readCells(page, 'α of run B');
      assert.equal(wideAlpha.count, 2 * 14 * 40, 'the nonfactorized run’s own α: 40 columns');
      assert.equal(
        await compare.locator('svg.cell-svg').count(),
        4,
        'both runs’ cells (B’s derived from its stored α)',
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
