// The setup: preset, data set (built-in, synthetic, own files), backend and one labelled field per
// search setting. Every change goes to the store (and so into the URL hash).
import { useId, useRef, useState } from 'react';
import { useLab, isActive } from '../store/lab';
import { loadOwnFiles } from '../store/controller';
import {
  CONFIG_FIELDS,
  PRESETS,
  fieldText,
  fixedBetaFromJson,
  parseFieldValue,
  presetOf,
  setupMemoryChecks,
  withoutConfigDrafts,
  RECOMPUTE_CHOICES,
  type RecomputeChoice,
  type ConfigField,
  type DatasetChoice,
} from '../store/setup';
import { NumberField } from './NumberField';
import { BACKEND_CHOICES } from '../platform/backends';

const GROUPS: { id: ConfigField['group']; title: string }[] = [
  { id: 'run', title: 'Search' },
  { id: 'network', title: 'Supernet' },
  { id: 'weights', title: 'Weights ω (SGD)' },
  { id: 'arch', title: 'Architecture α, β (Adam)' },
];

const MODE_HELP: Record<string, string> = {
  factorized: 'A-DARTS: α over 8 ops and β over 9 activations, searched together.',
  darts: 'DARTS: α searched; every conv op keeps the fixed activation below.',
  nonfactorized: 'One softmax over 40 combined ops (activation × conv op, plus 4 parameter-free ops).',
  'fixed-beta': 'α searched with β frozen (from a file below, or uniform).',
};

const BACKEND_LABELS: Record<string, string> = {
  auto: 'auto (hardware WebGPU, else wasm)',
  webgpu: 'webgpu',
  webgl: 'webgl',
  wasm: 'wasm',
  cpu: 'cpu (slow)',
};

export function SetupPanel() {
  const setup = useLab((s) => s.setup);
  const setSetup = useLab((s) => s.setSetup);
  const warnings = useLab((s) => s.setupWarnings);
  const phase = useLab((s) => s.phase);
  const preset = presetOf(setup.config);
  const active = isActive(phase);

  const applyPreset = (id: string) => {
    const p = PRESETS.find((x) => x.id === id);
    if (p) setSetup((s) => withoutConfigDrafts({ ...s, config: { ...p.config, seed: s.config.seed } }));
  };

  return (
    <aside className="setup" aria-label="Setup">
      <h2 className="setup-title">Setup</h2>
      {active && <p className="note">Changes apply to the next run.</p>}
      {warnings.length > 0 && (
        <div className="warnings" role="note">
          {warnings.map((w) => (
            <p key={w}>{w}</p>
          ))}
        </div>
      )}
      <SelectField
        label="Preset"
        value={preset?.id ?? 'custom'}
        onChange={applyPreset}
        options={[
          ...PRESETS.map((p) => ({ value: p.id, label: p.label })),
          ...(preset ? [] : [{ value: 'custom', label: 'Custom' }]),
        ]}
        help={preset?.description ?? 'Your own settings (pick a preset to reset them).'}
      />
      <DatasetSection />
      <SelectField
        label="Backend"
        value={setup.backend}
        onChange={(v) => setSetup((s) => ({ ...s, backend: v as typeof s.backend }))}
        options={BACKEND_CHOICES.map((b) => ({ value: b, label: BACKEND_LABELS[b] ?? b }))}
        help="Where tfjs runs the search, in a Web Worker."
      />
      <div className="field checkbox">
        <input
          id="compiled-step"
          type="checkbox"
          checked={setup.compiledStep}
          onChange={(e) => setSetup((s) => ({ ...s, compiledStep: e.target.checked }))}
        />
        <label htmlFor="compiled-step">Compiled step</label>
        <small>
          WebGPU: the second step is recorded and replayed from then on, without tfjs&apos;s work per GPU program (the
          same numbers). Off: every step runs its code.
        </small>
      </div>
      <SelectField
        label="Recompute cells"
        value={setup.recompute}
        onChange={(v) => setSetup((s) => ({ ...s, recompute: v as RecomputeChoice }))}
        options={RECOMPUTE_CHOICES.map((c) => ({ value: c, label: RECOMPUTE_LABELS[c] }))}
        help="Keep only each cell's input and run the cell again in the backward pass: a fraction of the memory, about a fifth more time a step, the same numbers."
      />
      <NumberField
        id="gpuBudgetGiB"
        help="What a step may hold on a GPU (WebGPU does not say how much memory it has). wasm's limit is its 4 GiB heap."
      />
      <MemoryEstimate />
      <NumberField
        id="checkpointEvery"
        help="Runs are stored in this browser. 0: a checkpoint every minute (one is taken at least once a minute anyway)."
      />
      <NumberField
        id="heldOutImages"
        help="The run's validation accuracy: the supernet scored on these first images of the data set's test split (the same ones every time; the search never learns from them)."
      />
      <NumberField
        id="heldOutEvery"
        help="Scored at the end of every this many epochs and at the end of the run (0: at the end only). The per-batch figure is the curves' “batch accuracy”."
      />
      {GROUPS.map((g) => (
        <fieldset key={g.id} className="group">
          <legend>{g.title}</legend>
          {CONFIG_FIELDS.filter((f) => f.group === g.id).map((f) => (
            <ConfigInput key={f.key} field={f} />
          ))}
          {g.id === 'run' && setup.config.mode === 'fixed-beta' && <FixedBetaInput />}
        </fieldset>
      ))}
    </aside>
  );
}

function ConfigInput({ field }: { field: ConfigField }) {
  const config = useLab((s) => s.setup.config);
  const setSetup = useLab((s) => s.setSetup);
  const set = (value: unknown) =>
    setSetup((s) => {
      const next = { ...s.config, [field.key]: value };
      if (field.key === 'mode' && value !== 'fixed-beta') next.fixedBeta = null;
      return { ...s, config: next };
    });
  if (field.kind === 'select') {
    const disabled = field.key === 'activation' && config.mode !== 'darts';
    return (
      <SelectField
        label={field.label}
        value={fieldText(field, config)}
        onChange={(v) => {
          const parsed = parseFieldValue(field, v);
          if (parsed !== null) set(parsed);
        }}
        options={field.options!.map((o) => ({ value: o, label: o }))}
        help={field.key === 'mode' ? MODE_HELP[config.mode] : field.help}
        disabled={disabled}
      />
    );
  }
  return <NumberField id={field.key} help={field.help} />;
}

function SelectField(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  options: { value: string; label: string }[];
  help?: string;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        disabled={props.disabled}
        aria-describedby={`${id}-help`}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.help && <small id={`${id}-help`}>{props.help}</small>}
    </div>
  );
}

function DatasetSection() {
  const setup = useLab((s) => s.setup);
  const setSetup = useLab((s) => s.setSetup);
  const datasets = useLab((s) => s.datasets);
  const load = useLab((s) => s.datasetLoad);
  const error = useLab((s) => s.datasetError);
  const fileInput = useRef<HTMLInputElement>(null);
  const info = datasets[setup.dataset];
  const options: { value: DatasetChoice; label: string }[] = [
    { value: 'builtin', label: 'Fashion-MNIST subset (built-in)' },
    { value: 'synthetic', label: 'Synthetic blobs' },
  ];
  if (datasets.files) options.push({ value: 'files', label: `Your files: ${datasets.files.source}` });
  return (
    <fieldset className="group dataset">
      <legend>Data</legend>
      <SelectField
        label="Data set"
        value={setup.dataset}
        onChange={(v) => setSetup((s) => ({ ...s, dataset: v as DatasetChoice }))}
        options={options}
      />
      <div className="file-row">
        <label className="button small" htmlFor="dataset-files">
          Load your files…
        </label>
        <input
          id="dataset-files"
          ref={fileInput}
          className="visually-hidden"
          type="file"
          multiple
          aria-label="Your own files"
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = '';
            void loadOwnFiles(files);
          }}
        />
        <small>or drop them on the page: CIFAR-10 binary .tar.gz, .bin batches, or IDX files</small>
      </div>
      {load && (
        <div className="dataset-load">
          <div className="bar-caption">
            <span>{load.phase}</span>
            <span>{Math.round(load.fraction * 100)}%</span>
          </div>
          <div
            role="progressbar"
            aria-label="Loading progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(load.fraction * 100)}
            className="bar-track"
          >
            <div className="bar-fill" style={{ transform: `scaleX(${Math.max(0, Math.min(1, load.fraction))})` }} />
          </div>
        </div>
      )}
      {error && (
        <p className="dataset-error" role="alert">
          {error}
          <br />
          <span className="muted">The previous data set stays selected.</span>
        </p>
      )}
      {setup.dataset === 'synthetic' && (
        <div className="syn-grid">
          <NumberField id="synthetic.size" help="Pixels a side (8–64)" />
          <NumberField id="synthetic.channels" help="1 (grey) or 3 (colour)" />
          <NumberField id="synthetic.classes" help="2–100" />
          <NumberField id="synthetic.seed" />
        </div>
      )}
      {info ? (
        <div className="dataset-info" data-dataset={info.key}>
          <p>
            <strong>{info.name}</strong> · {info.height}×{info.width}×{info.channels} · {info.classNames.length} classes
            · {info.trainCount.toLocaleString('en-US')} train / {info.testCount.toLocaleString('en-US')} test
          </p>
          <ul className="class-names" aria-label="Class names">
            {info.classNames.map((c, i) => (
              <li key={i}>{c}</li>
            ))}
          </ul>
        </div>
      ) : (
        !load && <p className="muted">Loading the data set…</p>
      )}
    </fieldset>
  );
}

function FixedBetaInput() {
  const fixedBeta = useLab((s) => s.setup.config.fixedBeta);
  const setSetup = useLab((s) => s.setSetup);
  const [message, setMessage] = useState<string | null>(null);
  const [ok, setOk] = useState(true);
  return (
    <div className="field">
      <label htmlFor="fixed-beta-file">Fixed β file</label>
      <input
        id="fixed-beta-file"
        type="file"
        accept=".json,application/json"
        onChange={async (e) => {
          const f = e.target.files?.[0];
          e.target.value = '';
          if (!f) return;
          try {
            const beta = fixedBetaFromJson(await f.text(), f.name);
            setSetup((s) => ({ ...s, config: { ...s.config, fixedBeta: beta } }));
            setMessage(`β loaded from ${f.name}`);
            setOk(true);
          } catch (err) {
            setMessage((err as Error).message);
            setOk(false);
          }
        }}
      />
      <small role={ok ? undefined : 'alert'}>
        {message ??
          (fixedBeta ? 'β loaded (kept in the link)' : 'Uniform β unless you load a genotype or weights file')}
      </small>
      {fixedBeta && (
        <button
          type="button"
          className="small link"
          onClick={() => setSetup((s) => ({ ...s, config: { ...s.config, fixedBeta: null } }))}
        >
          Use uniform β
        </button>
      )}
    </div>
  );
}

const RECOMPUTE_LABELS: Record<RecomputeChoice, string> = {
  auto: 'auto (only when a step would not fit otherwise)',
  on: 'on',
  off: 'off',
};

/** What a step of this setup needs, on the backend it will run on: "about 1.9 GB on wasm". */
function MemoryEstimate() {
  const setup = useLab((s) => s.setup);
  const data = useLab((s) => s.datasets[s.setup.dataset]);
  const last = useLab((s) => s.backend);
  const { checks } = setupMemoryChecks(setup, data, last);
  if (!checks.length) return null;
  return (
    <p className="hint memory-estimate" data-bytes={checks.map((c) => c.check.bytes).join(',')}>
      Memory a step needs:{' '}
      {checks.map(({ backend, check }, i) => (
        <span key={backend} className={check.fits ? undefined : 'invalid'}>
          {i > 0 ? '; ' : ''}
          {check.fits ? check.message : `too much on ${backend}`}
        </span>
      ))}
      .
    </p>
  );
}
