import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, EDGES, PAPER_CONFIG } from '../search/space';
import {
  CONFIG_FIELDS,
  PRESETS,
  decodeSetup,
  defaultSetup,
  encodeSetup,
  fixedBetaFromJson,
  presetOf,
  retrainConfig,
  retrainProblems,
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

  it('keeps defaults for fields that are wrong, and says which', () => {
    const { setup, warnings } = decodeSetup('#mode=bogus&channels=abc&layers=6&backend=tpu');
    expect(setup.config.mode).toBe(defaultSetup().config.mode);
    expect(setup.config.channels).toBe(defaultSetup().config.channels);
    expect(setup.config.layers).toBe(6);
    expect(setup.backend).toBe('auto');
    expect(warnings.join(' ')).toMatch(/Mode/);
    expect(warnings.join(' ')).toMatch(/Channels/);
    expect(warnings.join(' ')).toMatch(/backend/);
  });

  it('keeps the compiled step off in the link only when it is off', () => {
    expect(new URLSearchParams(encodeSetup(defaultSetup())).has('compiled')).toBe(false);
    const off = { ...defaultSetup(), compiledStep: false };
    expect(new URLSearchParams(encodeSetup(off)).get('compiled')).toBe('0');
    expect(decodeSetup(encodeSetup(off)).setup.compiledStep).toBe(false);
    const { setup, warnings } = decodeSetup('#compiled=maybe');
    expect(setup.compiledStep).toBe(true);
    expect(warnings).toEqual(['compiled: "maybe" is not 0 or 1']);
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

  it('keeps defaults for wrong hash values, and says which', () => {
    const { setup, warnings } = decodeSetup('#rtPreset=huge&rtChannels=-2&rtLr=abc&rtSteps=5');
    expect(setup.retrain).toMatchObject({ preset: 'quick', channels: 0, learningRate: 0, maxSteps: 5 });
    expect(warnings).toEqual([
      'rtPreset: unknown re-training preset "huge"',
      'Re-train channels: "-2" is not valid here',
      'Re-train learning rate: "abc" is not valid here',
    ]);
  });

  it('changes only the preset fields that are set (0 keeps the preset’s), and names problems by label', () => {
    const r = { ...defaultSetup().retrain, channels: 4, maxSteps: 10, seed: 2 };
    expect(retrainConfig(r)).toEqual({ seed: 2, channels: 4, maxSteps: 10 });
    expect(retrainProblems(r)).toEqual([]);
    expect(retrainProblems({ ...r, channels: 5, layers: 2, batchSize: 1.5 })).toEqual([
      'Re-train batch size: must be an integer ≥ 0',
      'Re-train channels: must be even, got 5',
      'Re-train layers: must be at least 3, got 2',
    ]);
  });
});
