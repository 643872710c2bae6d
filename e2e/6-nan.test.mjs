// A diverging run (NaN loss, injected through the test hook) stops with a message saying so;
// the heatmaps and cells stay on the page and a new run can start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hashOf,
  launch,
  openLab,
  readCellEdges,
  readHeatmap,
  status,
  tinySetup,
  waitForPhase,
  waitForStep,
} from './lab.mjs';

test('a NaN loss stops the run with a message; the page keeps its heatmaps', { timeout: 240_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'wasm', maxSteps: 200 })));
    await page.getByRole('button', { name: 'Start search' }).click();
    await waitForStep(page, 1, 180_000);
    await page.evaluate(() => window.__lab.injectNaN());
    await waitForPhase(page, 'error', 120_000);
    const alert = page.locator('.error-banner[role=alert]');
    const message = await alert.textContent();
    assert.match(message, /loss became NaN/i);
    assert.match(message, /learning rate/i, 'says what the user can do');
    assert.match(await status(page).textContent(), /NaN/);

    const alpha = await readHeatmap(page, 'Operator weights (alpha)');
    assert.ok(alpha.step >= 1);
    assert.equal(alpha.normal.length, 14);
    assert.ok(
      alpha.normal.flat().every((v) => Number.isFinite(v) && v > 0 && v < 1),
      'α heatmap still shows finite weights',
    );
    const beta = await readHeatmap(page, 'Activation weights (beta)');
    assert.equal(beta.reduce.length, 14);
    assert.equal((await readCellEdges(page, 'Normal cell')).length, 8);
    assert.equal((await readCellEdges(page, 'Reduction cell')).length, 8);
    assert.ok(await page.getByRole('button', { name: 'Start search' }).isEnabled(), 'a new run can start');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
