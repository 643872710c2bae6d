// The user's own data set: a CIFAR-10 binary tar.gz dropped on the page is parsed in the worker,
// shows its class names and runs search steps; a corrupt file names itself in the error and
// leaves the previous data set selected and usable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { CLASS_NAMES, cifarTarGz } from './cifar-fixture.mjs';
import { hashOf, launch, openLab, status, tinySetup, waitForPhase, waitForStep } from './lab.mjs';

const classNames = (page) => page.getByRole('list', { name: 'Class names' }).locator('li').allTextContents();

async function dropFile(page, name, bytes) {
  await page.evaluate(
    ({ name, b64 }) => {
      const bin = atob(b64);
      const data = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], name, { type: 'application/gzip' }));
      for (const type of ['dragenter', 'dragover', 'drop'])
        document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { name, b64: Buffer.from(bytes).toString('base64') },
  );
}

test(
  'a dropped CIFAR-10 tar.gz is loaded and searched; a corrupt file is reported by name',
  { timeout: 360_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'wasm', maxSteps: 2 })));
      await page.waitForFunction(() => document.querySelectorAll('[aria-label="Class names"] li').length === 4);
      assert.deepEqual(await classNames(page), ['class 0', 'class 1', 'class 2', 'class 3']);

      await dropFile(page, 'cifar-10-binary.tar.gz', cifarTarGz());
      await page.waitForFunction(
        () => document.querySelector('[aria-label="Class names"]')?.textContent?.includes('ship'),
        null,
        { timeout: 60_000 },
      );
      assert.deepEqual(await classNames(page), CLASS_NAMES);
      const dataset = page.getByLabel('Data set', { exact: true });
      assert.equal(await dataset.inputValue(), 'files');
      assert.match(await dataset.locator('option:checked').textContent(), /cifar-10-binary\.tar\.gz/);
      assert.match(
        await page.locator('.dataset-info').textContent(),
        /cifar-10 · 32×32×3 · 3 classes · 60 train \/ 9 test/,
      );
      assert.match(await page.evaluate(() => location.hash), /dataset=files&files=cifar-10-binary\.tar\.gz/);

      await page.getByRole('button', { name: 'Start search' }).click();
      await waitForStep(page, 2, 240_000);
      await waitForPhase(page, 'done', 60_000);
      assert.match(await status(page).textContent(), /done/);
      assert.match(await page.locator('.run-tag').textContent(), /cifar-10/);
      assert.equal(await page.getByRole('region', { name: 'Operator weights (alpha)' }).getAttribute('data-step'), '2');

      // A corrupt archive through the file picker: the error names it, the CIFAR set stays.
      const corrupt = Buffer.concat([
        gzipSync(Buffer.from('x')).subarray(0, 10),
        Buffer.from('this is not deflate data at all'),
      ]);
      await page
        .getByLabel('Your own files', { exact: true })
        .setInputFiles({ name: 'broken-cifar.tar.gz', mimeType: 'application/gzip', buffer: corrupt });
      const alert = page.locator('.dataset-error[role=alert]');
      await alert.waitFor({ timeout: 30_000 });
      assert.match(await alert.textContent(), /broken-cifar\.tar\.gz/);
      assert.equal(await dataset.inputValue(), 'files');
      assert.deepEqual(await classNames(page), CLASS_NAMES);

      // And a dropped file that is not a data set at all.
      await dropFile(page, 'notes.txt', Buffer.from('hello'));
      await page.waitForFunction(
        () => document.querySelector('.dataset-error')?.textContent?.includes('notes.txt'),
        null,
        { timeout: 30_000 },
      );
      assert.equal(await dataset.inputValue(), 'files');
      assert.deepEqual(await classNames(page), CLASS_NAMES);

      // Still usable: another run on it.
      await page.getByRole('button', { name: 'Start search' }).click();
      await waitForStep(page, 1, 180_000);
      assert.match(await page.locator('.run-tag').textContent(), /cifar-10/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
