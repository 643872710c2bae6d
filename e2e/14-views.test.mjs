// What a researcher reads off a search: the heatmaps' colour scales (and the values by keyboard),
// one edge's α and β over time, the edges' entropy, the genotype timeline, charts saved as PNG
// and SVG, and the "What am I looking at?" panel. Checked against what the page holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { hashOf, launch, openLab, tinySetup, waitForPhase } from './lab.mjs';
import { networkSize } from '../src/retrain/size.ts';
import { parseGenotypeFile } from '../src/search/genotype.ts';
import { parseCsv } from '../src/runs/csv.ts';
import { OPS } from '../src/search/space.ts';

const ALPHA = 'Operator weights (alpha)';
const STEPS = 12;

test('colour scales, weights over time, entropy, genotype changes, saved charts', { timeout: 600_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'wasm', maxSteps: STEPS })));
    await page.getByRole('button', { name: 'Start search' }).click();
    await waitForPhase(page, 'done', 400_000);
    const alpha = page.getByRole('region', { name: ALPHA });
    const cells = alpha.locator('rect.hm-cell');

    // Deviation from uniform is the default: every cell shows w − 1/8, and the colours differ
    // although every weight is within a few thousandths of 1/8.
    const scale = page.getByLabel('Colour scale', { exact: true });
    assert.equal(await scale.inputValue(), 'deviation');
    const read = () =>
      cells.evaluateAll((rects) =>
        rects.map((r) => ({
          value: Number(r.dataset.value),
          shown: Number(r.dataset.shown),
          fill: r.getAttribute('fill'),
        })),
      );
    const deviation = await read();
    for (const c of deviation)
      assert.ok(Math.abs(c.shown - (c.value - 1 / 8)) < 1e-9, `${c.shown} is ${c.value} − 1/8`);
    assert.ok(
      Math.max(...deviation.map((c) => Math.abs(c.value - 1 / 8))) < 0.02,
      'the weights are still near uniform',
    );
    assert.ok(new Set(deviation.map((c) => c.fill)).size > 20, 'yet the colours show their differences');

    // Per-edge rank: 1..8 in every row, each once unless tied.
    await scale.selectOption({ label: 'Per-edge rank' });
    await page.waitForFunction(() =>
      document
        .querySelector('[aria-label="Operator weights (alpha)"] .hm-legend-title')
        ?.textContent?.startsWith('rank'),
    );
    const ranks = await read();
    const row0 = ranks.slice(0, 8).map((c) => c.shown);
    assert.deepEqual([...row0].sort(), [1, 2, 3, 4, 5, 6, 7, 8], `ranks of a row: ${row0}`);
    const best = ranks.slice(0, 8).reduce((a, b) => (b.value > a.value ? b : a));
    assert.equal(best.shown, 1, 'rank 1 is the largest weight');
    await scale.selectOption({ label: 'Softmax weight' });
    await page.waitForFunction(
      () =>
        document.querySelector('[aria-label="Operator weights (alpha)"] .hm-legend-title')?.textContent ===
        'softmax weight',
    );

    // The keyboard reaches every value: arrows move a cursor whose cell is read out.
    const svg = alpha.locator('svg[role=img]').first();
    await svg.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    const live = alpha.locator('[aria-live=polite]');
    const spoken = await live.textContent();
    const cell = ranks[1 * 8 + 1];
    assert.match(spoken, /^Normal cell, ck-1 → node 0, op max_pool_3x3: /, spoken);
    assert.ok(spoken.includes(cell.value.toFixed(4)), `${spoken} reads the value ${cell.value}`);

    // Enter picks the row: the time charts follow that edge (normal cell, edge 1).
    await page.keyboard.press('Enter');
    const alphaChart = page.getByRole('region', { name: 'α over time' });
    await alphaChart.getByText('ck−1 → node 0', { exact: false }).first().waitFor();
    // The chart redraws in a task of its own: wait until it has drawn the latest snapshot of that edge.
    await page.waitForFunction(() => {
      const s = window.__lab.state().snapshots;
      const none = document.querySelector('[aria-label="α over time"] path[data-series="none"]');
      return (
        none !== null &&
        Number(none.dataset.points) === s.length &&
        Math.abs(Number(none.dataset.last) - s[s.length - 1].alphaNormal[1][0]) < 1e-9
      );
    });
    const lines = await alphaChart
      .locator('path[data-series]')
      .evaluateAll((ps) =>
        ps.map((p) => ({ name: p.dataset.series, last: Number(p.dataset.last), points: Number(p.dataset.points) })),
      );
    assert.equal(lines.length, 8, 'one line per op');
    // The lines end at the latest snapshot's values of that edge.
    const latest = await page.evaluate(() => {
      const s = window.__lab.state().snapshots;
      return { row: s[s.length - 1].alphaNormal[1], count: s.length };
    });
    for (const [k, op] of OPS.entries()) {
      const line = lines.find((l) => l.name === op);
      assert.ok(line, `a line for ${op}`);
      assert.ok(Math.abs(line.last - latest.row[k]) < 1e-9, `${op} ends at ${latest.row[k]}, got ${line.last}`);
      assert.equal(line.points, latest.count, `${op}: a point per kept snapshot`);
    }
    const beta = page.getByRole('region', { name: 'β over time' });
    assert.equal(await beta.locator('path[data-series]').count(), 9, 'one line per activation');
    const entropy = page.getByRole('region', { name: 'Edge entropy' });
    assert.equal(await entropy.locator('path[data-series]').count(), 14, 'one line per edge');
    assert.equal(await entropy.locator('path.highlighted').getAttribute('data-series'), 'ck-1 → node 0');
    const entropies = await entropy
      .locator('path[data-series]')
      .evaluateAll((ps) => ps.map((p) => Number(p.dataset.last)));
    assert.ok(
      entropies.every((h) => h > 0.9 && h <= 1),
      `entropies near uniform after ${STEPS} steps: ${entropies}`,
    );

    // Replay moves the cursor on every time chart.
    const slider = page.getByLabel('Replay step', { exact: true });
    await slider.fill('2');
    const cursorStep = await page.evaluate(() => window.__lab.state().snapshots[2].step);
    for (const region of ['α over time', 'β over time', 'Edge entropy'])
      assert.equal(
        await page.getByRole('region', { name: region }).locator('.replay-cursor').getAttribute('data-step'),
        String(cursorStep),
        region,
      );

    // The genotype timeline lists changes at steps the run has.
    const timeline = page.getByRole('region', { name: 'Genotype changes' });
    const changed = Number(await timeline.getAttribute('data-changes'));
    assert.ok(changed >= 0);
    if (changed > 0)
      assert.match(await timeline.locator('ol > li').first().textContent(), /^step \d+–\d+(normal|reduce), node \d/);

    // The derived network's size, at the search's size and DARTS's, as the genotype gives it.
    await slider.fill(String(await slider.getAttribute('max')));
    const size = page.getByRole('table', { name: 'Derived network size' });
    const rows = await size.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        params: Number(tr.dataset.params),
        aux: Number(tr.dataset.auxiliaryParams),
        macs: Number(tr.dataset.macs),
      })),
    );
    const genotype = parseGenotypeFile(await page.evaluate(() => window.__lab.state().genotype.json));
    const shape = { classes: 4, inChannels: 3, imageSize: 16 };
    for (const [i, at] of [
      { channels: 4, layers: 3 },
      { channels: 36, layers: 20 },
    ].entries()) {
      const want = networkSize(genotype, { ...shape, ...at });
      assert.deepEqual(rows[i], { params: want.params, aux: want.auxiliaryParams, macs: want.macs }, `row ${i}`);
    }
    assert.ok(rows[1].params > 1e6, `the re-training size has millions of parameters: ${rows[1].params}`);

    // Charts save as PNG and SVG files.
    const [png] = await Promise.all([
      page.waitForEvent('download'),
      alphaChart.getByRole('button', { name: 'Save PNG' }).click(),
    ]);
    const pngBytes = await readFile(await png.path());
    assert.deepEqual([...pngBytes.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG file');
    assert.match(png.suggestedFilename(), /^alpha-over-time-normal-edge1\.png$/);
    const [svgFile] = await Promise.all([
      page.waitForEvent('download'),
      entropy.getByRole('button', { name: 'Save SVG' }).click(),
    ]);
    const svgText = await readFile(await svgFile.path(), 'utf8');
    assert.match(svgText, /^<\?xml/);
    assert.equal((svgText.match(/data-series=/g) ?? []).length, 14, 'the SVG file has the 14 lines');
    const [heatmapFile] = await Promise.all([
      page.waitForEvent('download'),
      alpha.getByRole('button', { name: 'Save SVG' }).click(),
    ]);
    const heatmapSvg = await readFile(await heatmapFile.path(), 'utf8');
    assert.equal(
      (heatmapSvg.match(/class="hm-cell/g) ?? []).length,
      2 * 14 * 8,
      'the α heatmaps: 2 cells × 14 edges × 8 ops',
    );

    // One validation accuracy: the held-out scoring at the run's end, in the legend and the genotype file.
    const heldOut = await page.evaluate(() => window.__lab.state().heldOut);
    const final = heldOut.at(-1);
    assert.equal(final.step, STEPS, 'scored at the run’s end');
    assert.equal(final.testCount, 32, 'on the 32 held-out images the link asks for');
    const curves = page.getByRole('region', { name: 'Training curves' });
    const percent = `${(final.testAccuracy * 100).toFixed(1)}%`;
    await curves.getByText(`val accuracy (held-out 32 images, step ${STEPS}): ${percent}`).waitFor();
    const metrics = parseGenotypeFile(await page.evaluate(() => window.__lab.state().genotype.json)).run.metrics;
    assert.deepEqual([metrics.valAccuracy, metrics.valImages], [final.testAccuracy, 32]);

    // The CSV downloads are the stored run's, row for row (the run file is the store's too).
    const [runFile] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('region', { name: 'Runs' }).getByRole('button', { name: 'Export' }).first().click(),
    ]);
    const stored = JSON.parse(await readFile(await runFile.path(), 'utf8'));
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      curves.getByRole('button', { name: 'Download metrics (CSV)' }).click(),
    ]);
    assert.match(csv.suggestedFilename(), /-metrics\.csv$/);
    const [header, ...csvRows] = parseCsv(await readFile(await csv.path(), 'utf8'));
    assert.deepEqual(header.slice(0, 5), ['step', 'epoch', 'train_loss', 'val_loss', 'batch_accuracy']);
    assert.equal(csvRows.length, STEPS);
    const col = (name) => header.indexOf(name);
    csvRows.forEach((r, i) => {
      const m = stored.metrics[i];
      assert.deepEqual(
        [r[col('step')], r[col('train_loss')], r[col('val_loss')], r[col('learning_rate')]].map(Number),
        [m.step, m.trainLoss, m.valLoss, m.learningRate],
        `row ${i}`,
      );
    });
    assert.equal(Number(csvRows.at(-1)[col('val_accuracy')]), stored.heldOut.at(-1).testAccuracy);
    const [weightsCsv] = await Promise.all([
      page.waitForEvent('download'),
      alphaChart.getByRole('button', { name: 'Download α/β history (CSV)' }).click(),
    ]);
    const weightRows = parseCsv(await readFile(await weightsCsv.path(), 'utf8')).slice(1);
    assert.equal(weightRows.length, stored.snapshots.length * 2 * 14 * (8 + 9), 'every α and β of every snapshot');

    // "What am I looking at?" opens on the words the views use: α, β, the cell's inputs, derived.
    const explain = page.locator('details.explain');
    assert.equal(await explain.evaluate((d) => d.open), false, 'closed until asked');
    await explain.getByText('What am I looking at?').click();
    assert.equal(await explain.evaluate((d) => d.open), true);
    const words = await explain.locator('dl').innerText();
    for (const term of ['α (operator weights)', 'β (activation weights)', 'ck−2', 'Derived', '14 edges'])
      assert.ok(words.includes(term), `the explanation speaks of ${term}`);
    assert.ok(await explain.locator('dl').isVisible());

    // After a reload: the finished run is shown again, and Start says how long the same run takes here.
    await page.reload();
    await page.waitForFunction(() => window.__lab.state().openedRun !== null);
    assert.equal(await page.evaluate(() => window.__lab.state().curve.length), STEPS, 'its curves are back');
    const estimate = page.locator('.run-estimate');
    await estimate.waitFor();
    assert.match(
      await estimate.textContent(),
      new RegExp(
        `^Estimated time: about [^(]+ \\(${STEPS} steps at [\\d.]+ m?s; this setup, measured here on wasm on \\d{4}-\\d\\d-\\d\\d\\)\\.$`,
      ),
    );
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
