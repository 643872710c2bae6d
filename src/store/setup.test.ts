import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, EDGES, PAPER_CONFIG } from '../search/space';
import {
  CONFIG_FIELDS,
  PRESETS,
  decodeSetup,
  defaultSetup,
  NUMBER_FIELDS,
  encodeSetup,
  fieldProblems,
  fieldValue,
  withFieldText,
  fixedBetaFromJson,
  presetOf,
  retrainConfig,
  retrainProblems,
  memoryOptions,
  setupMemoryChecks,
  setupProblems,
  type Setup,
} from './setup';

function custom(): Setup {
  const s = defaultSetup();
  return {
    ...s,
    dataset: 'synthetic',
    synthetic: { seed: 9, size: 20, channels: 1, classes: 5 },
    backend: 'wasm',
    config: {
      ...s.config,
      mode: 'darts',
      activation: 'selu',
      channels: 12,
      layers: 6,
      partialChannels: 2,
      order: 2,
      archUpdate: 'joint',
      batchSize: 24,
      epochs: 3,
      maxSteps: 42,
      trainPortion: 0.7,
      learningRate: 0.025,
      learningRateMin: 0.0005,
      momentum: 0.8,
      weightDecay: 5e-4,
      gradClip: 3,
      archLearningRate: 5e-4,
      archWeightDecay: 2e-3,
      archBeta1: 0.6,
      archBeta2: 0.99,
      activationLearningRate: 7e-4,
      activationWeightDecay: 3e-3,
      warmupEpochs: 1,
      seed: 7,
    },
  };
}

describe('setup ↔ URL hash', () => {
  it('round-trips every field', () => {
    const setup = custom();
    const { setup: back, warnings } = decodeSetup('#' + encodeSetup(setup));
    expect(warnings).toEqual([]);
    expect(back).toEqual(setup);
  });

  it('names every config field in the hash', () => {
    const params = new URLSearchParams(encodeSetup(defaultSetup()));
    for (const f of CONFIG_FIELDS) expect(params.has(f.key), f.key).toBe(true);
    expect(params.get('dataset')).toBe('builtin');
    expect(params.get('backend')).toBe('auto');
  });

  it('round-trips a frozen β (fixed-beta mode)', () => {
    const setup = custom();
    const beta = Array.from({ length: EDGES }, (_, r) => ACTIVATIONS.map((_, k) => Math.round((r - k) * 1000) / 1000));
    setup.config = {
      ...setup.config,
      mode: 'fixed-beta',
      fixedBeta: { betaNormal: beta, betaReduce: beta.map((r) => r.map((x) => (x === 0 ? 0 : -x))) },
    };
    const { setup: back } = decodeSetup(encodeSetup(setup));
    expect(back.config.fixedBeta).toEqual(setup.config.fixedBeta);
  });

  it('loads a link’s wrong values as they are, marked at their fields, never silently changed', () => {
    const { setup, warnings } = decodeSetup(
      '#mode=bogus&channels=-3&layers=6&learningRate=abc&trainPortion=2&batchSize=&backend=tpu',
    );
    expect(setup.config.channels).toBe(-3);
    expect(setup.config.trainPortion).toBe(2);
    expect(setup.config.layers).toBe(6);
    expect(setup.drafts).toEqual({ learningRate: 'abc', batchSize: '' });
    expect(fieldProblems(setup)).toEqual({
      channels: 'Channels must be a whole number of at least 1, not -3',
      learningRate: 'Learning rate must be a number of at least 0: “abc” is not a number',
      batchSize: 'Batch size must be a whole number of at least 1 (the field is empty)',
      trainPortion: 'Train portion must be a number above 0 and below 1 (both parts need images; e.g. 0.5), not 2',
    });
    // What no field can show is said at the top, with what is used instead.
    expect(setup.config.mode).toBe(defaultSetup().config.mode);
    expect(setup.backend).toBe('auto');
    expect(warnings).toEqual([
      'backend: unknown backend "tpu"; auto is selected',
      'Mode: the link’s “bogus” is not one of factorized, darts, nonfactorized, fixed-beta; factorized is selected',
    ]);
  });

  it('keeps the compiled step off in the link only when it is off', () => {
    expect(new URLSearchParams(encodeSetup(defaultSetup())).has('compiled')).toBe(false);
    const off = { ...defaultSetup(), compiledStep: false };
    expect(new URLSearchParams(encodeSetup(off)).get('compiled')).toBe('0');
    expect(decodeSetup(encodeSetup(off)).setup.compiledStep).toBe(false);
    const { setup, warnings } = decodeSetup('#compiled=maybe');
    expect(setup.compiledStep).toBe(true);
    expect(warnings).toEqual(['compiled: "maybe" is not 0 or 1; the compiled step is on']);
  });

  it('falls back to the built-in data set for a link made with own files', () => {
    const setup = { ...defaultSetup(), dataset: 'files' as const, files: ['cifar-10-binary.tar.gz'] };
    const { setup: back, warnings } = decodeSetup(encodeSetup(setup));
    expect(back.dataset).toBe('builtin');
    expect(warnings[0]).toMatch(/cifar-10-binary\.tar\.gz/);
  });
});

describe('presets', () => {
  it('starts with the quick demo on the built-in data set', () => {
    const s = defaultSetup();
    expect(s.dataset).toBe('builtin');
    expect(presetOf(s.config)?.id).toBe('quick');
    expect(s.config.maxSteps).toBeGreaterThan(0);
  });

  it('has the paper settings and one preset per baseline', () => {
    expect(PRESETS.find((p) => p.id === 'paper')!.config).toEqual(PAPER_CONFIG);
    const modes = PRESETS.map((p) => p.config.mode);
    for (const m of ['darts', 'nonfactorized', 'fixed-beta']) expect(modes).toContain(m);
    expect(PRESETS.some((p) => p.config.partialChannels === 4)).toBe(true);
    for (const p of PRESETS) expect(setupProblems({ ...defaultSetup(), config: p.config }), p.id).toEqual([]);
  });

  it('recognises a preset whatever the seed', () => {
    expect(presetOf({ ...PAPER_CONFIG, seed: 123 })?.id).toBe('paper');
    expect(presetOf({ ...PAPER_CONFIG, channels: 17 })).toBeNull();
  });
});

describe('setup problems', () => {
  it('names the field by its label', () => {
    const s = defaultSetup();
    expect(setupProblems({ ...s, config: { ...s.config, channels: 10, partialChannels: 4 } })[0]).toMatch(
      /^Partial channels \(K\)/,
    );
    expect(setupProblems({ ...s, config: { ...s.config, layers: 2 } })[0]).toMatch(/^Layers/);
  });
});

describe('fixed β from a file', () => {
  it('reads raw β from a genotype file with weights', () => {
    const rows = Array.from({ length: EDGES }, () => ACTIVATIONS.map((_, k) => k / 10));
    const beta = fixedBetaFromJson(
      JSON.stringify({ weights: { alphaNormal: [], betaNormal: rows, betaReduce: rows } }),
      'g.json',
    );
    expect(beta.betaNormal).toEqual(rows);
  });

  it('makes one-hot rows from a genotype without weights', () => {
    const edge = (from: number, activation: string | null, op = 'sep_conv_3x3') => ({ op, from, activation });
    const cell = [
      edge(0, 'selu'),
      edge(1, 'relu'),
      edge(0, 'elu'),
      edge(2, null, 'skip_connect'),
      edge(1, 'swish'),
      edge(3, 'celu'),
      edge(0, 'prelu'),
      edge(4, 'rrelu'),
    ];
    const beta = fixedBetaFromJson(JSON.stringify({ normal: cell, reduce: cell }), 'g.json');
    expect(beta.betaNormal[0]![ACTIVATIONS.indexOf('selu')]).toBeGreaterThan(0);
    expect(beta.betaNormal[13]![ACTIVATIONS.indexOf('rrelu')]).toBeGreaterThan(0); // node 3 from 4
    expect(beta.betaNormal[3]!.every((x) => x === 0)).toBe(true); // node 1 from 1: not kept
  });

  it('names the file when it has no β', () => {
    expect(() => fixedBetaFromJson('{"x": 1}', 'mine.json')).toThrow(/mine\.json/);
    expect(() => fixedBetaFromJson('not json', 'mine.json')).toThrow(/mine\.json: not JSON/);
  });
});

describe('re-training settings', () => {
  it('round-trip through the hash, which names them only when changed', () => {
    expect(encodeSetup(defaultSetup())).not.toMatch(/rt[A-Z]/);
    const s: Setup = {
      ...defaultSetup(),
      retrain: {
        preset: 'full',
        allRelu: true,
        seed: 3,
        channels: 4,
        layers: 3,
        batchSize: 8,
        epochs: 2,
        maxSteps: 6,
        learningRate: 0.01,
        evalEvery: 3,
        testImages: 100,
      },
    };
    const hash = encodeSetup(s);
    expect(hash).toMatch(/rtPreset=full/);
    expect(hash).toMatch(/rtRelu=1/);
    expect(hash).toMatch(/rtSteps=6/);
    const back = decodeSetup('#' + hash);
    expect(back.warnings).toEqual([]);
    expect(back.setup.retrain).toEqual(s.retrain);
  });

  it('keeps a link’s wrong values, marked at their fields', () => {
    const { setup, warnings } = decodeSetup('#rtPreset=huge&rtChannels=-2&rtLr=abc&rtSteps=5');
    expect(setup.retrain).toMatchObject({ preset: 'quick', channels: -2, learningRate: 0, maxSteps: 5 });
    expect(setup.drafts).toEqual({ 'retrain.learningRate': 'abc' });
    expect(warnings).toEqual(['rtPreset: unknown re-training preset "huge"; quick is selected']);
    expect(retrainProblems(setup)).toEqual([
      'Re-train channels must be a whole number of at least 0 (0: the preset’s), not -2',
      'Re-train learning rate must be a number of at least 0: “abc” is not a number',
    ]);
  });

  it('changes only the preset fields that are set (0 keeps the preset’s), and names problems by label', () => {
    const r = { ...defaultSetup().retrain, channels: 4, maxSteps: 10, seed: 2 };
    expect(retrainConfig(r)).toEqual({ seed: 2, channels: 4, maxSteps: 10 });
    expect(retrainProblems({ ...defaultSetup(), retrain: r })).toEqual([]);
    expect(retrainProblems({ ...defaultSetup(), retrain: { ...r, channels: 5, layers: 2, batchSize: 1.5 } })).toEqual([
      'Re-train batch size must be a whole number of at least 0 (0: the preset’s), not 1.5',
      'Re-train channels must be even (each cell halves its input channels), not 5',
      'Re-train layers must be 0 (the preset’s) or at least 3, not 2',
    ]);
  });
});

describe('fields are checked as they are typed', () => {
  const data = { trainCount: 10_000 }; // the built-in set

  it('the default setup and every preset have no problem', () => {
    expect(fieldProblems(defaultSetup(), data)).toEqual({});
    for (const p of PRESETS) expect(setupProblems({ ...defaultSetup(), config: p.config }, data), p.id).toEqual([]);
  });

  it('says how fields must fit each other, by their labels, with what would work', () => {
    const base = defaultSetup();
    expect(fieldProblems({ ...base, config: { ...base.config, channels: 8, partialChannels: 3 } })).toEqual({
      partialChannels: 'Partial channels (K) must divide Channels (8): use 1, 2, 4, 8, or change Channels',
    });
    expect(fieldProblems({ ...base, config: { ...base.config, epochs: 0, maxSteps: 0 } })).toEqual({
      epochs: 'Epochs must be at least 1 while Stop after steps is 0 (there would be nothing to search): set either',
    });
    const small = { trainCount: 100 };
    expect(fieldProblems({ ...base, config: { ...base.config, batchSize: 64 } }, small)).toEqual({
      batchSize:
        'Batch size (64) is larger than the weights’ part of the training images (50 of 100 at Train portion 0.5): use at most 50',
    });
    expect(fieldProblems({ ...base, config: { ...base.config, batchSize: 40, trainPortion: 0.7 } }, small)).toEqual({
      batchSize:
        'Batch size (40) is larger than α and β’s part of the training images (30 of 100 at Train portion 0.7): use at most 30, or move Train portion toward 0.5',
    });
    expect(fieldProblems({ ...base, config: { ...base.config, trainPortion: 0.001 } }, small)).toEqual({
      trainPortion:
        'Train portion (0.001) leaves no training image for the weights (of 100): use a value from 0.01 to 0.99',
    });
    // Without the data set's size (not loaded yet) the batch is checked when the search starts.
    expect(fieldProblems({ ...base, config: { ...base.config, batchSize: 64 } })).toEqual({});
  });

  it('any text in any number field: a number is kept as typed, anything else as a draft; problems name the label', () => {
    const text = fc.oneof(
      fc.double().map(String),
      fc.integer({ min: -1000, max: 1000 }).map(String),
      fc.string({ maxLength: 6 }),
      fc.constantFrom('', ' ', '1e', '-', '0.', '1e3', '0x10', 'Infinity', 'NaN'),
    );
    fc.assert(
      fc.property(fc.constantFrom(...NUMBER_FIELDS), text, fc.boolean(), (spec, typed, synthetic) => {
        const base: Setup = { ...defaultSetup(), dataset: synthetic ? 'synthetic' : 'builtin' };
        const next = withFieldText(base, spec.id, typed);
        const n = typed.trim() === '' ? NaN : Number(typed);
        if (Number.isFinite(n)) {
          expect(fieldValue(next, spec.id), 'a number is never changed').toBe(n);
          expect(next.drafts[spec.id]).toBeUndefined();
        } else {
          expect(next.drafts[spec.id]).toBe(typed);
          expect(fieldValue(next, spec.id), 'the last number stays').toBe(fieldValue(base, spec.id));
        }
        const problems = fieldProblems(next, { trainCount: 10_000 });
        const own = problems[spec.id];
        const shown = !spec.id.startsWith('synthetic.') || synthetic;
        if (!Number.isFinite(n) && shown) expect(own).toMatch(new RegExp(`^${escape(spec.label)} must be `));
        for (const p of Object.values(problems)) expect(p).toMatch(/^[A-ZÀ-ÿα-ω]/);
        // Start waits exactly while a search field has a problem.
        const searchProblems = Object.keys(problems).filter((id) => !id.startsWith('retrain.'));
        expect(setupProblems(next, { trainCount: 10_000 }).length > 0).toBe(searchProblems.length > 0);
      }),
      { seed: 20261128, numRuns: 500 },
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('memory before Start', () => {
  const cifar = { height: 32, width: 32, channels: 3, classNames: Array.from({ length: 10 }, (_, i) => `c${i}`) };
  const fashion = { height: 28, width: 28, channels: 1, classNames: cifar.classNames };

  it('says what a step needs on the chosen backend, and refuses what cannot fit, naming what to lower', () => {
    const quick = { ...defaultSetup(), backend: 'wasm' as const };
    for (const mode of ['factorized', 'darts', 'nonfactorized', 'fixed-beta'] as const) {
      const { checks, refusal } = setupMemoryChecks({ ...quick, config: { ...quick.config, mode } }, fashion, null);
      expect(checks.map((c) => c.backend)).toEqual(['wasm']);
      expect(checks[0]!.check.message, mode).toMatch(/^about [\d.]+ (GB|MB) on wasm/);
      expect(refusal, `the quick ${mode} fits wasm`).toBeNull();
    }
    const paper = { ...quick, config: { ...PAPER_CONFIG, mode: 'nonfactorized' as const } };
    const { refusal } = setupMemoryChecks(paper, cifar, null);
    expect(refusal).toMatch(/more than wasm's heap can hold .*lower the batch size to \d+ or less \(now 64\)/);
    expect(setupProblems(paper, { trainCount: 50_000 }, refusal)).toEqual([refusal]);
    // The paper's factorized search fits, with cells recomputed (auto); forcing them kept does not.
    const factorized = { ...paper, config: { ...PAPER_CONFIG } };
    expect(setupMemoryChecks(factorized, cifar, null).checks[0]!.check.message).toMatch(/cells recomputed/);
    expect(setupMemoryChecks({ ...factorized, recompute: 'off' }, cifar, null).refusal).toMatch(
      /Turn "Recompute cells" on/,
    );
  });

  it('auto checks the backend it picked last time here, else webgpu and wasm, refusing only if neither fits', () => {
    const setup = { ...defaultSetup(), config: { ...PAPER_CONFIG, mode: 'nonfactorized' as const } };
    const unknown = setupMemoryChecks(setup, cifar, null);
    expect(unknown.checks.map((c) => c.backend)).toEqual(['webgpu', 'wasm']);
    // 4 GiB on a GPU by default: non-factorized at the paper's size needs more.
    expect(unknown.refusal).toMatch(/more than the memory budget \(4\.3 GB\)/);
    const bigGpu = setupMemoryChecks({ ...setup, gpuBudgetGiB: 24 }, cifar, null);
    expect(bigGpu.refusal, 'a 24 GiB GPU holds it').toBeNull();
    const lastWasm = setupMemoryChecks({ ...setup, gpuBudgetGiB: 24 }, cifar, { requested: 'auto', backend: 'wasm' });
    expect(lastWasm.checks.map((c) => c.backend)).toEqual(['wasm']);
    expect(lastWasm.refusal).not.toBeNull();
  });

  it('keeps the memory settings in the link, only when changed', () => {
    const setup = { ...defaultSetup(), recompute: 'on' as const, gpuBudgetGiB: 12 };
    const hash = encodeSetup(setup);
    expect(hash).toContain('recompute=on');
    expect(hash).toContain('gpuGiB=12');
    expect(decodeSetup(hash).setup).toMatchObject({ recompute: 'on', gpuBudgetGiB: 12 });
    expect(encodeSetup(defaultSetup())).not.toMatch(/recompute|gpuGiB/);
    expect(decodeSetup('#recompute=sometimes').warnings).toEqual([
      'recompute: "sometimes" is not one of auto, on, off; auto is selected',
    ]);
    expect(memoryOptions(setup)).toEqual({ recompute: true, memoryBudget: 12 * 2 ** 30 });
  });
});
