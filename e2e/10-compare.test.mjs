// Comparing two stored runs: tick two rows in the runs list, "Compare selected", and the region
// "Compare runs" shows both runs' cells, final α/β, the B − A difference of the softmaxed weights
// (equal to what the run store holds) and both runs' curves on one step axis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSetup } from '../src/store/setup.ts';
import { drawn, hashOf, launch, openLab, tinySetup } from './lab.mjs';

const STEPS = 3;
const COMPARE = 'Compare runs';
const ALPHA_DIFF = 'α difference (B − A)';
const BETA_DIFF = 'β difference (B − A)';

const region = (page, name) => page.getByRole('region', { name, exact: true });

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

const minus = (b, a) => ({
  normal: b.normal.map((row, i) => row.map((v, j) => v - a.normal[i][j])),
  reduce: b.reduce.map((row, i) => row.map((v, j) => v - a.reduce[i][j])),
});

test(
  'two finished runs side by side: cells, final α/β, their B − A difference, curves on one axis',
  { timeout: 800_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      const setupA = tinySetup({ backend: 'wasm', maxSteps: STEPS, seed: 1 });
      const { page, errors } = await openLab(browser, hashOf(setupA));
      await page.getByRole('button', { name: 'Start search' }).click();
      await waitForDoneRuns(page, 1, 300_000);
      // B: the paper's baseline, plain DARTS with one fixed activation (selu), another seed.
      await startAndFinish(
        page,
        hashOf(tinySetup({ backend: 'wasm', maxSteps: STEPS, mode: 'darts', activation: 'selu', seed: 2 })),
        2,
      );

      const stored = await page.evaluate(() =>
        window.__lab.state().runs.map((r) => ({ id: r.id, name: r.name, mode: r.mode })),
      );
      const runA = stored.find((r) => r.mode === 'factorized');
      const runB = stored.find((r) => r.mode === 'darts');
      assert.ok(runA && runB && runA.name !== runB.name, 'two stored runs with their own names');

      const runs = region(page, 'Runs');
      const compareButton = runs.getByRole('button', { name: 'Compare selected' });
      assert.equal(await compareButton.isDisabled(), true, 'nothing to compare before two runs are ticked');
      await runs.getByRole('checkbox', { name: `Compare ${runA.name}`, exact: true }).check();
      await runs.getByRole('checkbox', { name: `Compare ${runB.name}`, exact: true }).check();
      await compareButton.click();

      const compare = region(page, COMPARE);
      await compare.waitFor({ timeout: 30_000 });
      await page.waitForFunction(
        (n) => document.querySelector(`[aria-label="${n}"]`)?.getAttribute('aria-busy') === 'false',
        COMPARE,
        {
          timeout: 30_000,
        },
      );
      const text = await compare.textContent();
      assert.ok(text.includes(runA.name) && text.includes(runB.name), 'the region names both runs');
      assert.match(text, /mode: factorized → darts/, 'the settings that differ are listed');
      assert.match(text, /seed: 1 → 2/);

      // Both runs' derived cells: 4 diagrams of 8 edges; every conv op of B carries selu.
      const cellRegions = ['Run A · normal', 'Run B · normal', 'Run A · reduction', 'Run B · reduction'];
      for (const name of cellRegions) {
        await drawn(page, name);
        assert.equal(await region(page, name).locator('svg.cell-svg [data-edge]').count(), 8, `${name}: 8 kept edges`);
      }
      assert.equal(await compare.locator('svg.cell-svg').count(), 4);
      const bActivations = await region(page, 'Run B · normal')
        .locator('[data-edge]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-activation')).filter(Boolean));
      assert.ok(
        bActivations.every((a) => a === 'selu'),
        `darts(selu) cells use selu: ${bActivations}`,
      );

      // The drawn final α/β and their differences equal what the run store holds.
      const weights = await readStoredWeights(page, [runA.id, runB.id]);
      const [wA, wB] = [weights[runA.id], weights[runB.id]];
      assert.equal(wA.step, STEPS);
      assert.equal(wB.step, STEPS);
      const alphaA = await readCells(page, 'α of run A');
      assert.equal(alphaA.count, 2 * 14 * 8);
      assert.ok(maxDeviation(alphaA, wA.alpha) <= 1e-6, 'A’s α heatmap is its stored softmaxed α');

      const alphaDiff = await readCells(page, ALPHA_DIFF);
      assert.equal(alphaDiff.count, 2 * 14 * 8, 'α difference: 2 cells × 14 edges × 8 ops');
      const expectedAlpha = minus(wB.alpha, wA.alpha);
      const alphaDev = maxDeviation(alphaDiff, expectedAlpha);
      assert.ok(alphaDev <= 1e-6, `α difference = B − A of the stored softmaxed α (max |Δ| ${alphaDev})`);
      assert.ok(
        expectedAlpha.normal.flat().some((v) => Math.abs(v) > 1e-9),
        'the runs’ α differ',
      );

      const betaDiff = await readCells(page, BETA_DIFF);
      assert.equal(betaDiff.count, 2 * 14 * 9, 'β difference: 2 cells × 14 edges × 9 activations');
      const betaDev = maxDeviation(betaDiff, minus(wB.beta, wA.beta));
      assert.ok(betaDev <= 1e-6, `β difference = B − A of the stored softmaxed β (max |Δ| ${betaDev})`);
      assert.match(await region(page, BETA_DIFF).textContent(), /B’s β is fixed one-hot on selu/);
      // A's and B's heatmaps of one kind share a colour scale, so their legends read the same:
      // β's tops at 1, B's fixed one-hot, though A's searched β is near 1/9 after 3 steps.
      const legendTicks = async (name) => {
        await drawn(page, name);
        return region(page, name).locator('.hm-legend-axis .tick text').allTextContents();
      };
      for (const greek of ['α', 'β'])
        assert.deepEqual(
          await legendTicks(`${greek} of run A`),
          await legendTicks(`${greek} of run B`),
          `${greek}: one legend for A and B`,
        );
      assert.equal((await legendTicks('β of run A')).at(-1), '1', 'A’s β legend tops at B’s one-hot 1');
      // A diverging legend: symmetric around 0.
      const legend = await region(page, ALPHA_DIFF).locator('.hm-legend-axis .tick text').allTextContents();
      assert.ok(
        legend.some((t) => t.startsWith('−') || t.startsWith('-')) && legend.some((t) => t.startsWith('+')),
        `legend ticks ${legend}`,
      );

      // Curves: one chart, both runs, the same step axis.
      const curves = region(page, 'Curves of both runs');
      assert.equal(await curves.getAttribute('data-x-domain'), `0,${STEPS}`);
      await page.waitForFunction(
        () => document.querySelector('[aria-label="Curves of both runs"] svg')?.getAttribute('data-x-domain') === '0,3',
      );
      for (const run of ['a', 'b'])
        for (const series of ['valAccuracy', 'valLoss', 'trainLoss'])
          assert.equal(
            await curves.locator(`path.smooth[data-run="${run}"][data-series="${series}"]`).getAttribute('data-points'),
            String(STEPS),
            `${run} ${series}`,
          );
      const legendText = await curves.locator('.curve-legend').textContent();
      assert.ok(
        legendText.includes(`A: ${runA.name}`) && legendText.includes(`B: ${runB.name}`),
        'the legend names the runs',
      );

      // Swapping A and B flips the sign of the difference.
      await compare.getByRole('button', { name: 'Swap A and B' }).click();
      await page.waitForFunction(
        (id) => document.querySelector('[aria-label="Compare runs"] tbody tr')?.getAttribute('data-run-id') === id,
        runB.id,
      );
      const swapped = await readCells(page, ALPHA_DIFF);
      assert.ok(maxDeviation(swapped, minus(wA.alpha, wB.alpha)) <= 1e-6, 'after the swap: A − B');

      await compare.getByRole('button', { name: 'Close comparison' }).click();
      await compare.waitFor({ state: 'detached' });

      // A non-factorized run (40 combined ops, no β), imported as a run file: α columns differ
      // from factorized's 8, so no difference map, and the view says why.
      const wide = Array.from({ length: 14 }, (_, r) => Array.from({ length: 40 }, (_, k) => ((r + k) % 7) / 10));
      const now = new Date().toISOString();
      const nonfactorized = {
        format: 'factorized-nas-run',
        version: 1,
        name: 'nonfactorized baseline',
        mode: 'nonfactorized',
        status: 'done',
        message: null,
        createdAt: now,
        updatedAt: now,
        backend: 'wasm',
        dataset: { name: 'Synthetic', source: 'synthetic' },
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
      await runs.getByLabel('Import run or genotype').setInputFiles({
        name: 'nonfactorized.json',
        mimeType: 'application/json',
        buffer: Buffer.from(JSON.stringify(nonfactorized)),
      });
      await page.waitForFunction(() => document.querySelectorAll('[aria-label="Runs"] tbody tr').length === 3, null, {
        timeout: 10_000,
      });
      await runs.getByRole('checkbox', { name: `Compare ${runB.name}`, exact: true }).uncheck();
      await runs.getByRole('checkbox', { name: 'Compare nonfactorized baseline', exact: true }).check();
      await compareButton.click();
      await page.waitForFunction(
        (n) => document.querySelector(`[aria-label="${n}"]`)?.getAttribute('aria-busy') === 'false',
        COMPARE,
        {
          timeout: 30_000,
        },
      );
      const alphaNote = region(page, ALPHA_DIFF);
      assert.equal(
        await alphaNote.locator('rect[data-cell]').count(),
        0,
        'no α difference map across 8 and 40 columns',
      );
      assert.match(
        await alphaNote.textContent(),
        /run A \(factorized\) weighs 8 candidates per edge and run B \(nonfactorized\) 40/,
      );
      assert.match(await region(page, BETA_DIFF).textContent(), /run B \(nonfactorized\) has no β/);
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
