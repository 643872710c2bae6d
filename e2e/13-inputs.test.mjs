// The setup's number fields are checked as they are typed: a wrong value is marked beside its
// field by the field's label (with what would work), stays as typed (nothing reverts on blur),
// and Start waits, saying why; a link with wrong values loads with those fields marked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, hashOf, launch, openLab, tinySetup } from './lab.mjs';

/** A labelled field: its input, whether it is marked invalid, and the note beside it. */
async function field(page, label) {
  const input = page.getByLabel(label, { exact: true });
  const note = page.locator(`#${await input.getAttribute('aria-describedby')}`);
  return {
    input,
    value: () => input.inputValue(),
    invalid: async () => (await input.getAttribute('aria-invalid')) === 'true',
    note: () => note.textContent(),
  };
}

const start = (page) => page.getByRole('button', { name: 'Start search' });
const reason = (page) => page.locator('#start-blocked');

test(
  'wrong values are marked beside their fields as typed, kept, and hold Start back',
  { timeout: 120_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      // Synthetic data: 2,000 training images, 1,000 a part at Train portion 0.5.
      const { page, errors } = await openLab(browser, hashOf(tinySetup({ backend: 'wasm' })));
      await page.locator('[data-dataset^="synthetic"]').waitFor({ timeout: 30_000 });
      assert.equal(await start(page).isEnabled(), true);
      assert.equal(await reason(page).count(), 0);

      const cases = [
        ['Channels', '-5', 'Channels must be a whole number of at least 1, not -5'],
        ['Layers', '0', 'Layers must be a whole number of at least 3 (two reduction cells and a normal cell), not 0'],
        [
          'Train portion',
          '2',
          'Train portion must be a number above 0 and below 1 (both parts need images; e.g. 0.5), not 2',
        ],
        ['Learning rate', '', 'Learning rate must be a number of at least 0 (the field is empty)'],
      ];
      for (const [label, typed, message] of cases) {
        const f = await field(page, label);
        const before = await f.value();
        await f.input.fill(typed);
        assert.equal(await f.invalid(), true, `${label} is marked`);
        assert.equal(await f.note(), message);
        await page.getByLabel('Seed', { exact: true }).focus(); // blur: nothing reverts
        assert.equal(await f.value(), typed, `${label} keeps what was typed`);
        assert.equal(await start(page).isEnabled(), false);
        assert.ok((await reason(page).textContent()).includes(message), `Start says why: ${message}`);
        await f.input.fill(before);
        assert.equal(await f.invalid(), false, `${label} is fine again`);
      }
      assert.equal(await start(page).isEnabled(), true, 'all fixed: Start can go');

      // What the browser cannot read as a number.
      const lr = await field(page, 'Learning rate');
      await lr.input.fill('');
      await lr.input.pressSequentially('1e');
      assert.equal(await lr.note(), 'Learning rate must be a number of at least 0: what is typed is not a number');
      await lr.input.fill('0.05');

      // Fields that must fit each other, and the data set.
      await page.getByLabel('Channels', { exact: true }).fill('8');
      const k = await field(page, 'Partial channels (K)');
      await k.input.fill('3');
      assert.equal(await k.note(), 'Partial channels (K) must divide Channels (8): use 1, 2, 4, 8, or change Channels');
      await k.input.fill('2');
      assert.equal(await k.invalid(), false);
      const batch = await field(page, 'Batch size');
      await batch.input.fill('1500');
      assert.equal(
        await batch.note(),
        'Batch size (1500) is larger than the weights’ part of the training images (1000 of 2000 at Train portion 0.5): use at most 1000',
      );
      await batch.input.fill('8');
      await page.getByLabel('Stop after steps', { exact: true }).fill('0');
      const epochs = await field(page, 'Epochs');
      await epochs.input.fill('0');
      assert.match(await epochs.note(), /^Epochs must be at least 1 while Stop after steps is 0/);
      assert.equal(await start(page).isEnabled(), false);
      await epochs.input.fill('1');
      assert.equal(await start(page).isEnabled(), true);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);

test(
  'a link with wrong values loads with those fields marked, never silently changed',
  { timeout: 60_000 },
  async () => {
    const browser = await launch({ webgpu: false });
    try {
      const hash = `${hashOf(tinySetup({ backend: 'wasm' }))}`
        .replace(/channels=4&/, 'channels=-3&')
        .replace(/learningRate=[^&]+/, 'learningRate=abc');
      assert.match(hash, /channels=-3&.*learningRate=abc/);
      const { page, errors } = await openLab(browser, hash);
      const channels = await field(page, 'Channels');
      assert.equal(await channels.value(), '-3', 'the link’s value, as it was');
      assert.equal(await channels.invalid(), true);
      assert.equal(await channels.note(), 'Channels must be a whole number of at least 1, not -3');
      const lr = await field(page, 'Learning rate');
      assert.equal(await lr.invalid(), true);
      assert.equal(await lr.note(), 'Learning rate must be a number of at least 0: “abc” is not a number');
      assert.equal(await start(page).isEnabled(), false);
      assert.match(
        await reason(page).textContent(),
        /^Start waits for the setup: Channels must be .*; Learning rate must be/,
      );
      assert.match(await page.evaluate(() => location.hash), /channels=-3&/, 'the link still says -3');
      assert.ok(BASE_URL.startsWith('http://localhost'));
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
