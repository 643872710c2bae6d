// The page stays responsive during a search: no main-thread task over 100 ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashOf, launch, openLab, statMilliseconds, tinySetup, waitForStep } from './lab.mjs';

test('no long main-thread tasks during a search', { timeout: 240_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'wasm', maxSteps: 200 })));
    await page.waitForFunction(() => document.querySelectorAll('[aria-label="Class names"] li').length > 0);
    await page.waitForTimeout(1500); // initial load settles
    const supported = await page.evaluate(() => {
      window.__longTasks = [];
      if (!PerformanceObserver.supportedEntryTypes.includes('longtask')) return false;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push(Math.round(e.duration));
      }).observe({ type: 'longtask' });
      return true;
    });
    assert.ok(supported, 'the browser reports long tasks');
    await page.getByRole('button', { name: 'Start search' }).click();
    await waitForStep(page, 4, 200_000);
    // On wasm the kernels run as they are recorded: the step time is all CPU, no separate figure.
    assert.ok((await statMilliseconds(page, 'step time')) > 0, 'the step time is shown');
    assert.equal(await statMilliseconds(page, 'CPU side'), null, 'no CPU side on wasm');
    // Interact while it runs: hover the heatmap, scroll, move the replay slider.
    await page
      .getByRole('region', { name: 'Operator weights (alpha)' })
      .locator('rect[data-cell="normal"][data-row="3"][data-col="4"]')
      .hover();
    await page.getByRole('tooltip').waitFor();
    await page.getByRole('region', { name: 'Training curves' }).scrollIntoViewIfNeeded();
    await page.getByLabel('Replay step').fill('0');
    await page.waitForTimeout(1000);
    await page.getByRole('button', { name: 'Stop' }).click();
    const tasks = await page.evaluate(() => window.__longTasks);
    const over = tasks.filter((d) => d > 100);
    assert.deepEqual(over, [], `main-thread tasks over 100 ms during the search: ${JSON.stringify(tasks)}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
