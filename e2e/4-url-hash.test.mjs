// A link reproduces an experiment: every setup field survives a round trip through the URL hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, launch, openLab, setField } from './lab.mjs';

/** Every labelled field of the setup panel: label → value. */
async function readFields(page) {
  return page.locator('aside[aria-label="Setup"]').evaluate((aside) => {
    const out = {};
    for (const el of aside.querySelectorAll('input, select')) {
      if (el.type === 'file') continue;
      const label = el.labels?.[0]?.textContent?.trim() || el.getAttribute('aria-label');
      if (!label) throw new Error(`a setup field without a label: ${el.outerHTML}`);
      if (label in out) throw new Error(`two setup fields labelled "${label}"`);
      out[label] = el.value;
    }
    return out;
  });
}

const CHANGES = [
  ['Mode', 'darts'],
  ['Activation', 'selu'],
  ['Backend', 'wasm'],
  ['Seed', '7'],
  ['Stop after steps', '42'],
  ['Channels', '12'],
  ['Layers', '6'],
  ['Stem multiplier', '2'],
  ['Partial channels (K)', '2'],
  ['Batch size', '24'],
  ['Epochs', '3'],
  ['Train portion', '0.7'],
  ['Learning rate', '0.025'],
  ['Minimum learning rate', '0.0005'],
  ['Momentum', '0.8'],
  ['Weight decay', '0.0005'],
  ['Gradient clip', '3'],
  ['Order', '2'],
  ['Arch update', 'joint'],
  ['α learning rate', '0.0005'],
  ['α weight decay', '0.002'],
  ['β learning rate', '0.0007'],
  ['β weight decay', '0.003'],
  ['Adam β1', '0.6'],
  ['Adam β2', '0.99'],
  ['Warm-up epochs', '1'],
  ['Data set', 'synthetic'],
  ['Image size', '20'],
  ['Colour channels', '1'],
  ['Classes', '5'],
  ['Data seed', '9'],
];

test('a page opened from a shared URL hash restores every setup field', { timeout: 120_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openLab(browser);
    const defaults = await readFields(page);
    assert.equal(defaults['Data set'], 'builtin', 'the built-in data set is selected by default');
    assert.equal(defaults['Preset'], 'quick', 'the quick demo preset is selected by default');
    for (const [label, value] of CHANGES) await setField(page, label, value);
    const set = await readFields(page);
    for (const [label, value] of CHANGES) assert.equal(set[label], value, `${label} took the new value`);
    assert.equal(set['Preset'], 'custom');
    const changed = Object.keys(set).filter((k) => set[k] !== defaults[k]);
    assert.ok(changed.length >= CHANGES.length, `the fields differ from the defaults (${changed.length} changed)`);

    const hash = await page.evaluate(() => location.hash);
    assert.match(hash, /^#.+mode=darts/);

    const { page: second, errors: secondErrors } = await openLab(browser, hash);
    const restored = await readFields(second);
    assert.deepEqual(restored, set, 'every field restored from the link');
    assert.equal(await second.evaluate(() => location.hash), hash, 'the restored page keeps the same link');

    // A preset resets the hyperparameters and the link follows.
    await setField(second, 'Preset', 'paper');
    const paper = await readFields(second);
    assert.equal(paper['Channels'], '16');
    assert.equal(paper['Layers'], '8');
    assert.equal(paper['Batch size'], '64');
    assert.equal(paper['Mode'], 'factorized');
    assert.match(await second.evaluate(() => location.hash), /channels=16/);
    assert.ok(BASE_URL.startsWith('http://localhost'));
    assert.deepEqual(errors, []);
    assert.deepEqual(secondErrors, []);
  } finally {
    await browser.close();
  }
});
