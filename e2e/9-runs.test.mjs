// Runs survive a reload: the worker stores every run with checkpoints; after a reload the page
// offers the interrupted run, and resuming continues the same seed stream from the checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { drawn, hashOf, launch, openLab, readHeatmap, stepBar, tinySetup, waitForPhase } from './lab.mjs';

const ALPHA = 'Operator weights (alpha)';
const MAX_STEPS = 12;

/** Raw (pre-softmax) α as the heatmap carries it, and its step. */
async function readRawAlpha(page) {
  await drawn(page, ALPHA);
  return page.getByRole('region', { name: ALPHA }).evaluate((el) => {
    const out = { step: Number(el.getAttribute('data-step')), normal: [], reduce: [] };
    for (const r of el.querySelectorAll('rect[data-cell]')) {
      const cell = r.getAttribute('data-cell');
      (out[cell][Number(r.getAttribute('data-row'))] ??= [])[Number(r.getAttribute('data-col'))] = Number(
        r.getAttribute('data-raw'),
      );
    }
    return out;
  });
}

test('a reloaded search resumes from its stored checkpoint and continues exactly', { timeout: 900_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const setup = { ...tinySetup({ backend: 'wasm', maxSteps: MAX_STEPS }), checkpointEvery: 2 };
    const hash = hashOf(setup);
    assert.match(hash, /ckptSteps=2/);
    const { page, errors } = await openLab(browser, hash);
    assert.equal(await page.getByLabel('Checkpoint every (steps)', { exact: true }).inputValue(), '2');
    await page.getByRole('button', { name: 'Start search' }).click();
    await page.waitForFunction(() => (window.__lab.state().checkpointStep ?? 0) >= 2, null, {
      timeout: 180_000,
      polling: 50,
    });
    const runId = await page.evaluate(() => window.__lab.state().runId);
    assert.ok(runId, 'the worker reported the stored run (runStarted)');

    await page.reload();
    const notice = page.getByRole('region', { name: 'Interrupted run' });
    await notice.waitFor({ timeout: 30_000 });
    const m = (await notice.textContent()).match(/Resume ‘(.+)’ from step (\d+)/);
    assert.ok(m, 'the notice names the run and its checkpoint step');
    const cpStep = Number(m[2]);
    assert.ok(cpStep >= 2 && cpStep % 2 === 0 && cpStep < MAX_STEPS, `checkpoint step ${cpStep}`);
    assert.ok(await page.getByRole('button', { name: 'Discard' }).isVisible());

    await page.getByRole('button', { name: 'Resume run' }).click();
    await page.waitForFunction((cp) => window.__lab.state().curve.some((p) => p.step > cp), cpStep, {
      timeout: 180_000,
      polling: 50,
    });
    // The live view shows the whole run: the stored steps up to the checkpoint, then the new ones.
    const { curveSteps, snapshotSteps } = await page.evaluate(() => ({
      curveSteps: window.__lab.state().curve.map((p) => p.step),
      snapshotSteps: window.__lab.state().snapshots.map((s) => s.step),
    }));
    assert.deepEqual(
      curveSteps.filter((s) => s <= cpStep),
      Array.from({ length: cpStep }, (_, i) => i + 1),
      'the curves keep the stored steps before the checkpoint',
    );
    assert.equal(
      curveSteps.find((s) => s > cpStep),
      cpStep + 1,
      'the first step after resuming follows the checkpoint',
    );
    assert.ok(
      curveSteps.every((s, i) => i === 0 || s > curveSteps[i - 1]),
      `each step once, in order: ${curveSteps}`,
    );
    assert.ok(snapshotSteps[0] < cpStep, `the replay reaches back before the checkpoint: ${snapshotSteps}`);
    assert.ok(Number(await page.getByRole('region', { name: 'Training curves' }).getAttribute('data-points')) > cpStep);
    assert.ok(
      Number(await stepBar(page).getAttribute('aria-valuenow')) > cpStep,
      'the step bar continues from the checkpoint',
    );
    assert.equal(await stepBar(page).getAttribute('aria-valuemax'), String(MAX_STEPS));
    assert.equal(await page.evaluate(() => window.__lab.state().runId), runId, 'the same stored run continues');
    assert.equal(await notice.count(), 0, 'the notice is gone');
    await waitForPhase(page, 'done', 400_000);
    const resumed = await readRawAlpha(page);
    assert.equal(resumed.step, MAX_STEPS);

    // The same setup without interruption (a fresh browser context: its own IndexedDB).
    const other = await openLab(browser, hash);
    assert.equal(await other.page.getByRole('region', { name: 'Interrupted run' }).count(), 0);
    await other.page.getByRole('button', { name: 'Start search' }).click();
    await waitForPhase(other.page, 'done', 400_000);
    const straight = await readRawAlpha(other.page);
    assert.equal(straight.step, MAX_STEPS);
    let maxDiff = 0;
    for (const cell of ['normal', 'reduce'])
      straight[cell].forEach((row, i) =>
        row.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - resumed[cell][i][j])))),
      );
    assert.ok(straight.normal.flat().length > 0 && Number.isFinite(maxDiff));
    assert.ok(maxDiff <= 1e-5, `resumed α equals the uninterrupted run's (max |Δ| ${maxDiff})`);
    assert.deepEqual(errors, []);
    assert.deepEqual(other.errors, []);
  } finally {
    await browser.close();
  }
});

test(
  'a failed run resumes after a reload on another backend, from its stored checkpoint',
  { timeout: 600_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      const steps = 4;
      const { page, errors } = await openLab(
        browser,
        hashOf({ ...tinySetup({ backend: 'wasm', maxSteps: steps }), checkpointEvery: 1 }),
      );
      await page.getByRole('button', { name: 'Start search' }).click();
      await page.waitForFunction(() => (window.__lab.state().checkpointStep ?? 0) >= 1, null, {
        timeout: 180_000,
        polling: 50,
      });
      await page.evaluate(() => window.__lab.injectNaN());
      await waitForPhase(page, 'error', 120_000);
      const runId = await page.evaluate(() => window.__lab.state().runId);

      await page.reload();
      const notice = page.getByRole('region', { name: 'Interrupted run' });
      await notice.waitFor({ timeout: 30_000 });
      const cpStep = Number((await notice.textContent()).match(/from step (\d+)/)[1]);
      assert.ok(cpStep >= 1 && cpStep < steps, `checkpoint step ${cpStep}`);
      // Another backend for the rest of the run: the checkpoint is plain arrays.
      await page.getByLabel('Backend', { exact: true }).selectOption('cpu');
      await page.getByRole('button', { name: 'Resume run' }).click();
      await waitForPhase(page, 'done', 400_000);
      assert.equal(await page.getByRole('status').getAttribute('data-backend'), 'cpu');
      const state = await page.evaluate(() => ({
        runId: window.__lab.state().runId,
        steps: window.__lab.state().curve.map((p) => p.step),
      }));
      assert.equal(state.runId, runId, 'the same stored run goes on');
      assert.deepEqual(
        state.steps,
        Array.from({ length: steps }, (_, i) => i + 1),
        'stored steps, then the ones run on cpu',
      );
      assert.equal(Number(await stepBar(page).getAttribute('aria-valuenow')), steps);
      await page.waitForFunction(
        (id) =>
          document.querySelector(`[aria-label="Runs"] tr[data-run-id="${id}"]`)?.getAttribute('data-status') === 'done',
        runId,
        { timeout: 10_000 },
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);

test(
  'the runs list: open, export, import, delete; a damaged stored run is reported and skipped',
  { timeout: 400_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'wasm', maxSteps: 3 })));
      const runs = page.getByRole('region', { name: 'Runs' });
      await page.getByRole('button', { name: 'Start search' }).click();
      await waitForPhase(page, 'done', 300_000);
      const rows = runs.locator('tbody tr');
      await page.waitForFunction(
        () => document.querySelector('[aria-label="Runs"] tbody tr')?.getAttribute('data-status') === 'done',
        null,
        {
          timeout: 10_000,
        },
      );
      assert.equal(await rows.count(), 1);
      const rowText = await rows.first().textContent();
      assert.match(rowText, /Synthetic|synthetic/);
      assert.match(rowText, /3 \/ 3/);
      assert.match(rowText, /done/);

      // A note, typed in the row and saved with Enter, is stored with the run.
      const runId = await rows.first().getAttribute('data-run-id');
      const runName = await rows.first().locator('th').textContent();
      const NOTE = 'baseline: tiny synthetic, 3 steps';
      const noteField = () => runs.getByRole('textbox', { name: `Note for ${runName}`, exact: true });
      const storedNote = (id) => page.evaluate((id) => window.__lab.state().runs.find((r) => r.id === id)?.note, id);
      await noteField().fill(NOTE);
      await noteField().press('Enter');
      await page.waitForFunction(
        ([id, note]) => window.__lab.state().runs.find((r) => r.id === id)?.note === note,
        [runId, NOTE],
        { timeout: 10_000 },
      );
      // Escape puts the stored note back; nothing is saved.
      await noteField().fill('not this');
      await noteField().press('Escape');
      assert.equal(await noteField().inputValue(), NOTE);
      assert.equal(await storedNote(runId), NOTE);

      // Garbage in the 'runs' object store: reported as a problem, the good run still opens.
      await page.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const open = indexedDB.open('factorized-nas-lab-runs');
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const tx = open.result.transaction('runs', 'readwrite');
              tx.objectStore('runs').put({ id: 'broken-run', schema: 1, name: 42, steps: 'many' });
              tx.oncomplete = () => {
                open.result.close();
                resolve();
              };
              tx.onerror = () => reject(tx.error);
            };
          }),
      );
      await page.reload();
      const problems = runs.getByRole('note', { name: 'Runs that could not be read' });
      await problems.waitFor({ timeout: 30_000 });
      assert.match(await problems.textContent(), /broken-run/);
      await rows.first().waitFor();
      assert.equal(await rows.count(), 1, 'the damaged run is skipped');
      assert.equal(await noteField().inputValue(), NOTE, 'the note survives a reload');

      await runs.getByRole('button', { name: 'Open' }).click();
      await runs.getByText('Showing the stored run').waitFor({ timeout: 30_000 });
      const alpha = await readHeatmap(page, ALPHA);
      assert.equal(alpha.step, 3, 'the stored heatmap is the last snapshot');
      assert.ok(
        alpha.normal.flat().some((v) => Math.abs(v - alpha.normal[0][0]) > 1e-9),
        'stored α is not uniform',
      );
      assert.ok((await page.evaluate(() => window.__lab.state().curve.length)) >= 3, 'the stored curves are shown');

      // Export downloads the run file.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        runs.getByRole('button', { name: 'Export' }).click(),
      ]);
      const exported = await readFile(await download.path(), 'utf8');
      const file = JSON.parse(exported);
      assert.equal(file.format, 'factorized-nas-run');
      assert.equal(file.note, NOTE, 'the run file carries the note');

      // A malformed import names the field and changes nothing.
      const input = runs.getByLabel('Import run or genotype');
      await input.setInputFiles({
        name: 'bad.json',
        mimeType: 'application/json',
        buffer: Buffer.from(JSON.stringify({ ...file, metrics: 'x' })),
      });
      const err = runs.getByRole('alert');
      await err.waitFor({ timeout: 10_000 });
      assert.match(await err.textContent(), /run\.metrics/, 'the message names the field');
      assert.equal(await rows.count(), 1, 'nothing was imported');

      // A good import adds a run; Delete removes one, says what went, and can be undone.
      await input.setInputFiles({ name: 'run.json', mimeType: 'application/json', buffer: Buffer.from(exported) });
      const rowCount = (n) =>
        page.waitForFunction((n) => document.querySelectorAll('[aria-label="Runs"] tbody tr').length === n, n, {
          timeout: 10_000,
        });
      await rowCount(2);
      const copyId = await runs
        .locator('tbody tr')
        .evaluateAll((trs, id) => trs.map((tr) => tr.getAttribute('data-run-id')).find((x) => x !== id), runId);
      const copyNote = runs.locator(`tr[data-run-id="${copyId}"]`).getByRole('textbox');
      assert.equal(await copyNote.inputValue(), NOTE, 'the imported copy has the note');
      assert.equal(await storedNote(copyId), NOTE);
      // Leaving the field saves too; the copy's note is its own.
      await copyNote.fill('imported copy');
      await runs.getByRole('heading', { name: 'Runs', exact: true }).click();
      await page.waitForFunction(
        (id) => window.__lab.state().runs.find((r) => r.id === id)?.note === 'imported copy',
        copyId,
        {
          timeout: 10_000,
        },
      );
      assert.equal(await storedNote(runId), NOTE);
      const first = rows.first();
      const [deletedId, deletedName] = [
        await first.getAttribute('data-run-id'),
        await first.locator('th').textContent(),
      ];
      await first.getByRole('button', { name: 'Delete' }).click();
      await rowCount(1);
      const note = runs.locator('p[data-kind="info"]');
      // The newest row is the imported copy: done, 3 steps, exported without its checkpoint.
      const said = await note.textContent();
      assert.ok(said.startsWith(`Deleted ‘${deletedName}’ (a search of 3 steps, done) with `), said);
      assert.match(said, /with 3 rows of history and \d+ α\/β snapshots\. ?Undo delete$/);
      await runs.getByRole('button', { name: 'Undo delete' }).click();
      await rowCount(2);
      assert.equal(await runs.locator(`tr[data-run-id="${deletedId}"]`).count(), 1, 'the same run is back');
      assert.match(await note.textContent(), /^Put back ‘/);
      await runs.locator(`tr[data-run-id="${deletedId}"]`).getByRole('button', { name: 'Delete' }).click();
      await rowCount(1);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
