// Re-training in the lab: a genotype file is re-trained from scratch (a tiny network, all
// activations ReLU) in the worker; the "Re-training" region shows curves and the final test
// accuracy, which equals the stored run's; the run is listed with its kind, exports, and survives
// a reload. A NaN loss stops a re-training with the search's error message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DARTS_V2, stringifyGenotypeFile, toGenotypeFile } from '../src/search/genotype.ts';
import { hashOf, launch, openLab, tinySetup } from './lab.mjs';

const STEPS = 10;

/** The tiny setup of the other tests, with a tiny re-training: C=4, 3 cells, batch 8, 10 steps. */
function retrainSetup(over = {}) {
  const setup = tinySetup({ backend: 'wasm' });
  return {
    ...setup,
    retrain: {
      ...setup.retrain,
      channels: 4,
      layers: 3,
      batchSize: 8,
      maxSteps: STEPS,
      evalEvery: 5,
      testImages: 100,
      ...over,
    },
  };
}

/** DARTS_V2's cells with selu on every conv op, as a genotype file from a factorized search. */
function seluGenotypeFile() {
  const g = { ...DARTS_V2, normal: DARTS_V2.normal.map((e) => (e.activation ? { ...e, activation: 'selu' } : e)) };
  return stringifyGenotypeFile(toGenotypeFile(g, { run: { mode: 'factorized', dataset: 'synthetic' } }));
}

const region = (page) => page.getByRole('region', { name: 'Re-training', exact: true });

async function waitForTraining(page, phases, timeout) {
  await page.waitForFunction(
    (phases) => {
      const el = document.querySelector('[aria-label="Re-training"]');
      return el && phases.includes(el.getAttribute('data-phase'));
    },
    phases,
    { timeout, polling: 100 },
  );
}

test(
  'a genotype file is re-trained (all ReLU): curves, the final test accuracy, stored, listed, exported, kept over a reload',
  { timeout: 300_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      const { page, errors } = await openLab(browser, hashOf(retrainSetup({ allRelu: true })));
      assert.equal(
        await page.getByLabel('Re-train steps', { exact: true }).inputValue(),
        String(STEPS),
        'the link sets the re-training size',
      );
      assert.ok(await page.getByLabel('All activations ReLU', { exact: true }).isChecked());
      const retrain = page.getByRole('button', { name: 'Re-train', exact: true });
      assert.ok(await retrain.isDisabled(), 'nothing to re-train before a genotype is there');

      await page
        .getByLabel('Genotype file to re-train')
        .setInputFiles({ name: 'selu.json', mimeType: 'application/json', buffer: Buffer.from(seluGenotypeFile()) });
      await page.getByText('Trains selu.json').waitFor({ timeout: 10_000 });
      const started = Date.now();
      await retrain.click();
      await waitForTraining(page, ['running', 'done', 'error'], 60_000);
      assert.ok(
        await page.getByRole('button', { name: 'Stop re-training' }).isVisible(),
        'a running re-training can be stopped',
      );
      await waitForTraining(page, ['done', 'error'], 120_000);
      const seconds = (Date.now() - started) / 1000;
      const trainSeconds = await page.evaluate(() => window.__lab.state().training.progress.seconds);
      console.log(
        `  re-training of ${STEPS} steps (C=4, 3 cells, batch 8, wasm) took ${seconds.toFixed(1)} s from the click (${trainSeconds.toFixed(1)} s in training steps)`,
      );
      const box = region(page);
      assert.equal(await box.getAttribute('data-phase'), 'done', await box.textContent());

      // The final test accuracy: a number in [0, 1], shown as a percentage.
      const accuracy = Number(await box.getAttribute('data-test-accuracy'));
      assert.ok(Number.isFinite(accuracy) && accuracy >= 0 && accuracy <= 1, `test accuracy ${accuracy}`);
      const shown = `${(accuracy * 100).toFixed(1)}%`;
      assert.match(
        await box.getByTestId('retrain-result').textContent(),
        new RegExp(`Test accuracy: ${shown.replace('.', '\\.')} on 100 test images after ${STEPS} steps`),
      );
      assert.match(await box.textContent(), /all activations ReLU · C=4, 3 cells, batch 8/);
      assert.equal(
        await box.getByRole('progressbar', { name: 'Re-training progress' }).getAttribute('aria-valuenow'),
        String(STEPS),
      );

      // The curves have every step and both scorings (steps 5 and 10).
      assert.equal(Number(await box.getAttribute('data-points')), STEPS);
      assert.equal(Number(await box.getAttribute('data-evaluations')), 2);
      await page.waitForFunction(
        () => document.querySelectorAll('[aria-label="Re-training"] .test-points circle').length === 4,
        null,
        { timeout: 5_000 },
      );
      const trainPath = await box.locator('.curve-panel.loss path.smooth.train').getAttribute('d');
      assert.ok(trainPath && trainPath.length > 20, 'the train loss line is drawn');

      // The runs list shows the stored re-training with its kind and the same test accuracy.
      const runs = page.getByRole('region', { name: 'Runs' });
      const row = runs.locator('tbody tr[data-kind="train"]');
      await page.waitForFunction(
        () =>
          document.querySelector('[aria-label="Runs"] tbody tr[data-kind="train"]')?.getAttribute('data-status') ===
          'done',
        null,
        { timeout: 10_000 },
      );
      const rowText = await row.textContent();
      assert.match(rowText, /re-train \(quick, all ReLU\)/);
      assert.match(rowText, new RegExp(`test ${shown.replace('.', '\\.')}`));
      assert.match(rowText, new RegExp(`${STEPS} / ${STEPS}`));
      const runId = await row.getAttribute('data-run-id');
      assert.equal(await box.getAttribute('data-run-id'), runId);

      // Its export carries the kind, the settings, the history and exactly the shown accuracy.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        row.getByRole('button', { name: 'Export' }).click(),
      ]);
      const file = JSON.parse(await readFile(await download.path(), 'utf8'));
      assert.equal(file.kind, 'train');
      assert.equal(file.training.testAccuracy, accuracy, 'the stored test accuracy is the one shown');
      assert.equal(file.training.allRelu, true);
      assert.equal(file.training.source, 'selu.json');
      assert.equal(file.training.config.channels, 4);
      assert.deepEqual(
        file.training.evaluations.map((e) => e.step),
        [5, STEPS],
      );
      assert.equal(file.metrics.length, STEPS);
      assert.ok(
        [...file.genotype.normal, ...file.genotype.reduce].every(
          (e) => e.activation === null || e.activation === 'relu',
        ),
        'stored as trained: all ReLU',
      );

      // After a reload the finished record is still there and opens with its curves and result.
      await page.reload();
      await row.waitFor({ timeout: 30_000 });
      assert.equal(await row.getAttribute('data-status'), 'done');
      await row.getByRole('button', { name: 'Open' }).click();
      await waitForTraining(page, ['done'], 30_000);
      assert.equal(Number(await region(page).getAttribute('data-test-accuracy')), accuracy);
      assert.equal(Number(await region(page).getAttribute('data-points')), STEPS);
      assert.match(await region(page).textContent(), /Stored re-training/);
      // Its genotype is in the genotype panel, ready to re-train again.
      assert.match(await page.getByTestId('darts-string').textContent(), /^Genotype\(normal=/);
      assert.ok(await page.getByRole('button', { name: 'Re-train', exact: true }).isEnabled());
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);

test(
  'a NaN loss stops a re-training with the search’s error message; the run is marked failed',
  { timeout: 240_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      const { page, errors } = await openLab(browser, hashOf(retrainSetup({ maxSteps: 400 })));
      await page
        .getByLabel('Genotype file to re-train')
        .setInputFiles({ name: 'selu.json', mimeType: 'application/json', buffer: Buffer.from(seluGenotypeFile()) });
      await page.getByText('Trains selu.json').waitFor({ timeout: 10_000 });
      await page.getByRole('button', { name: 'Re-train', exact: true }).click();
      await page.waitForFunction(
        () => Number(document.querySelector('[aria-label="Re-training"]')?.getAttribute('data-points')) >= 1,
        null,
        { timeout: 60_000, polling: 100 },
      );
      assert.ok(
        await page.getByRole('button', { name: 'Start search' }).isEnabled(),
        'the search button stays (it refuses while a re-training runs)',
      );
      await page.evaluate(() => window.__lab.injectNaN());
      await waitForTraining(page, ['error'], 60_000);
      const alert = page.locator('.error-banner[role=alert]');
      assert.equal(await alert.getAttribute('data-code'), 'nan-loss');
      assert.match(await alert.textContent(), /training loss became NaN.*learning rate/);
      await page.waitForFunction(
        () =>
          document.querySelector('[aria-label="Runs"] tbody tr[data-kind="train"]')?.getAttribute('data-status') ===
          'failed',
        null,
        { timeout: 10_000 },
      );
      assert.ok(
        await page.getByRole('button', { name: 'Re-train', exact: true }).isEnabled(),
        'a new re-training can start',
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
