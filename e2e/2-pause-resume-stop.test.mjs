// Pause holds the step counter, Resume continues it, Stop ends with a final genotype and "done".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashOf, launch, openLab, readHeatmap, status, stepOf, tinySetup, waitForPhase, waitForStep } from './lab.mjs';

test('pause, resume and stop', { timeout: 300_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'wasm', maxSteps: 500 })));
    await page.getByRole('button', { name: 'Start search' }).click();
    await waitForStep(page, 1, 180_000);

    await page.getByRole('button', { name: 'Pause' }).click();
    const resume = page.getByRole('button', { name: 'Resume' });
    await waitForPhase(page, 'paused', 120_000);
    assert.ok(await resume.isEnabled(), 'Resume is enabled while paused');
    assert.match(await status(page).textContent(), /paused/i);
    const held = await stepOf(page);
    await page.waitForTimeout(2500);
    assert.equal(await stepOf(page), held, 'the step counter holds while paused');

    await resume.click();
    await waitForStep(page, held + 1, 120_000);
    assert.ok((await stepOf(page)) > held, 'Resume continues the steps');

    await page.getByRole('button', { name: 'Stop' }).click();
    await waitForPhase(page, 'done', 120_000);
    const finalStep = await stepOf(page);
    assert.ok(finalStep < 500, 'stopped before the configured steps');
    const text = await status(page).textContent();
    assert.match(text, /done/i);
    assert.match(text, new RegExp(`stopped at step ${finalStep}\\b`));
    const genotype = page.getByRole('region', { name: 'Genotype', exact: true });
    assert.equal(
      await genotype.getAttribute('data-step'),
      String(finalStep),
      'the final genotype is from the last step',
    );
    assert.match(await page.getByTestId('darts-string').textContent(), /^Genotype\(normal=\[\('\w+', \d\)/);
    assert.ok(await page.getByRole('button', { name: 'Download genotype' }).isEnabled());
    assert.ok(await page.getByRole('button', { name: 'Start search' }).isEnabled(), 'a new run can start');
    await page.waitForTimeout(1500);
    assert.equal(await stepOf(page), finalStep, 'no steps after Stop');

    // The replay slider shows how α evolved: back to the first snapshot, then live again.
    const live = await readHeatmap(page, 'Operator weights (alpha)');
    assert.equal(live.step, finalStep);
    await page.getByLabel('Replay step').fill('0');
    const start = await readHeatmap(page, 'Operator weights (alpha)');
    assert.equal(start.step, 0, 'the slider replays the first snapshot');
    assert.ok(
      start.normal.flat().some((v, i) => Math.abs(v - live.normal.flat()[i]) > 1e-7),
      'replayed α differs from the final α',
    );
    assert.equal(
      await page.getByRole('region', { name: 'Normal cell' }).getAttribute('data-step'),
      '0',
      'the cells follow the slider',
    );
    await page.getByRole('button', { name: 'Follow live' }).click();
    assert.equal((await readHeatmap(page, 'Operator weights (alpha)')).step, finalStep);

    // Copy DARTS genotype: the clipboard when allowed, else a text box to copy from.
    const darts = await page.getByTestId('darts-string').textContent();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy DARTS genotype' }).click();
    await page.getByText('copied to the clipboard').waitFor({ timeout: 5000 });
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), darts);
    await page.evaluate(() => {
      navigator.clipboard.writeText = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));
    });
    await page.getByRole('button', { name: 'Copy DARTS genotype' }).click();
    assert.equal(
      await page.getByLabel('DARTS genotype text').inputValue(),
      darts,
      'fallback text box holds the genotype',
    );
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
