// Memory: the quick preset's non-factorized baseline (40 ops an edge) searches on wasm, where it
// once sat at step 0 at 4.4 GB; the setup says what a step needs before Start and refuses one that
// cannot fit, naming what to lower; and a failed allocation (forced through a test hook, as a
// full heap's) ends the run at once with a message saying memory ran out, the run kept as failed
// at its checkpoint, which resumes with cells recomputed; and the page starts another run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSetup } from '../src/store/setup.ts';
import { PAPER_CONFIG } from '../src/search/space.ts';
import { hashOf, launch, openLab, status, tinySetup, waitForPhase, waitForStep } from './lab.mjs';

test(
  'non-factorized quick on wasm, the estimate, a refusal, and running out of memory',
  { timeout: 900_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      // The quick demo's settings in non-factorized mode, on the built-in data, 2 steps.
      const quick = defaultSetup();
      const nonfactorized = {
        ...quick,
        backend: 'wasm',
        heldOutImages: 16,
        config: { ...quick.config, mode: 'nonfactorized', maxSteps: 2 },
      };
      const { page, errors } = await openLab(browser, hashOf(nonfactorized));
      const estimate = page.locator('.memory-estimate');
      await estimate.waitFor();
      assert.match(await estimate.textContent(), /^Memory a step needs: about [\d.]+ (GB|MB) on wasm\.$/);
      await page.getByRole('button', { name: 'Start search' }).click();
      await waitForPhase(page, 'done', 600_000);
      assert.equal(await page.evaluate(() => window.__lab.state().progress.step), 2, 'both steps ran');

      // The paper's size in non-factorized mode cannot fit wasm's heap: Start waits and says what to lower.
      await page.goto(
        page.url().split('#')[0] + hashOf({ ...nonfactorized, config: { ...PAPER_CONFIG, mode: 'nonfactorized' } }),
      );
      await page.reload();
      const blocked = page.locator('#start-blocked');
      await blocked.waitFor();
      assert.match(await blocked.textContent(), /more than wasm's heap can hold .*lower the batch size to \d+ or less/);
      assert.ok(await page.getByRole('button', { name: 'Start search' }).isDisabled());

      // A tiny search whose next allocation fails: the run ends within seconds, saying so.
      await page.goto(
        page.url().split('#')[0] + hashOf({ ...tinySetup({ backend: 'wasm', maxSteps: 40 }), checkpointEvery: 1 }),
      );
      await page.reload();
      await page.getByRole('button', { name: 'Start search' }).click();
      await waitForStep(page, 2, 180_000);
      const failedAt = Date.now();
      await page.evaluate(() => window.__lab.refuseNextAllocation(1));
      await waitForPhase(page, 'error', 60_000);
      assert.ok(Date.now() - failedAt < 30_000, 'it ends at once, not after a hang');
      const message = await page.locator('.error-banner[role=alert]').textContent();
      assert.match(message, /ran out of memory/);
      assert.match(message, /Recompute cells|batch size/, 'names what to change');
      assert.match(message, /keeps its checkpoint of step \d+/);
      assert.match(await status(page).textContent(), /memory/i);
      const runs = await page.evaluate(() => window.__lab.state().runs);
      assert.equal(runs[0].status, 'failed');
      assert.ok(runs[0].checkpointStep >= 2, 'its checkpoint is kept');
      // It resumes, as the message offers, with cells recomputed: the same run goes on to its end.
      const runId = await page.evaluate(() => window.__lab.state().runId);
      const notice = page.getByRole('region', { name: 'Interrupted run' });
      await notice.waitFor({ timeout: 30_000 });
      assert.match(await notice.textContent(), new RegExp(`from step ${runs[0].checkpointStep}(?!\\d)`));
      await page.getByLabel('Recompute cells', { exact: true }).selectOption('on');
      await page.getByRole('button', { name: 'Resume run' }).click();
      await waitForPhase(page, 'done', 300_000);
      const resumed = await page.evaluate(() => ({
        runId: window.__lab.state().runId,
        steps: window.__lab.state().curve.map((p) => p.step),
        status: window.__lab.state().runs.find((r) => r.id === window.__lab.state().runId)?.status,
      }));
      assert.equal(resumed.runId, runId, 'the failed run goes on');
      assert.deepEqual(
        resumed.steps,
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      assert.equal(resumed.status, 'done');
      // The page is usable: another run starts and finishes.
      await page.goto(page.url().split('#')[0] + hashOf(tinySetup({ backend: 'wasm', maxSteps: 2 })));
      await page.reload();
      await page.getByRole('button', { name: 'Start search' }).click();
      await waitForPhase(page, 'done', 180_000);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
