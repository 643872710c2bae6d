// The found genotype: its DARTS string, a JSON download (format version 1), a copy button, and
// "Re-train" (RetrainStart) to train it from scratch in the lab.
import { useState } from 'react';
import { useLab } from '../store/lab';
import { currentGenotypeJson } from '../store/controller';
import { RetrainStart } from './RetrainStart';
import { saveBlob } from './svg';
import { networkSize } from '../retrain/size';
import { useViewed } from './derived';

export function GenotypePanel() {
  const genotype = useLab((s) => s.genotype);
  const runConfig = useLab((s) => s.runConfig);
  const runDataset = useLab((s) => s.runDataset);
  const [fallback, setFallback] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [busy, setBusy] = useState(false);

  const download = async () => {
    setBusy(true);
    try {
      const json = await currentGenotypeJson();
      if (!json) return;
      const file = JSON.parse(json) as { run?: { steps?: number } };
      const mode = runConfig?.mode ?? 'search';
      const data = (runDataset?.name ?? 'data').replace(/[^A-Za-z0-9_-]+/g, '-');
      saveBlob(
        new Blob([json], { type: 'application/json' }),
        `genotype-${mode}-${data}-step${file.run?.steps ?? 0}.json`,
      );
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    const json = await currentGenotypeJson();
    const darts = json ? (JSON.parse(json) as { darts: string }).darts : genotype?.darts;
    if (!darts) return;
    try {
      await navigator.clipboard.writeText(darts);
      setCopied(true);
      setFallback(null);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // Clipboard denied (permissions, insecure context): let the user copy by hand.
      setFallback(darts);
    }
  };

  return (
    <section className="card genotype" aria-label="Genotype" data-step={genotype?.step ?? ''}>
      <div className="card-head">
        <h2>
          Genotype
          <small>{genotype ? `step ${genotype.step}` : 'after the first steps'}</small>
        </h2>
        <div className="buttons">
          <button type="button" onClick={() => void download()} disabled={!genotype || busy}>
            Download genotype
          </button>
          <button type="button" onClick={() => void copy()} disabled={!genotype}>
            Copy DARTS genotype
          </button>
        </div>
      </div>
      <p className="hint">
        DARTS genotype (paste into DARTS/PC-DARTS genotypes.py; activations are in the JSON)
        <span className="copied" aria-live="polite">
          {copied ? ' · copied to the clipboard' : ''}
        </span>
      </p>
      <code className="darts" data-testid="darts-string">
        {genotype?.darts ?? '—'}
      </code>
      <NetworkSize />
      {fallback && (
        <div className="clipboard-fallback">
          <label htmlFor="darts-fallback">The clipboard is not available here: select and copy the text.</label>
          <textarea
            id="darts-fallback"
            aria-label="DARTS genotype text"
            readOnly
            value={fallback}
            rows={4}
            ref={(el) => {
              el?.focus();
              el?.select();
            }}
          />
        </div>
      )}
      <RetrainStart />
    </section>
  );
}

/** DARTS's re-training size on CIFAR-10: 36 channels, 20 cells. */
const FULL = { channels: 36, layers: 20 };

const millions = (n: number) => `${(n / 1e6).toFixed(2)} M`;

/**
 * The derived network's parameters and multiply-adds at the search's size and at DARTS's
 * re-training size, with and without the auxiliary head, as the genotype changes (the viewed
 * snapshot's: replay shows the size of each step's genotype).
 */
function NetworkSize() {
  const { genotype, config, live } = useViewed();
  const dataset = useLab((s) => s.runDataset);
  if (!live || !genotype) return null;
  const shape = {
    classes: dataset?.classNames.length || 10,
    inChannels: dataset?.channels || 3,
    imageSize: dataset?.height || 32,
  };
  const rows = [
    {
      label: `search size (C=${config.channels}, ${config.layers} cells)`,
      ...networkSize(genotype, { ...shape, channels: config.channels, layers: config.layers }),
    },
    {
      label: `re-training size (C=${FULL.channels}, ${FULL.layers} cells)`,
      ...networkSize(genotype, { ...shape, ...FULL }),
    },
  ];
  return (
    <table className="network-size" aria-label="Derived network size">
      <caption>
        The derived network ({shape.imageSize}×{shape.imageSize}×{shape.inChannels} images, {shape.classes} classes)
      </caption>
      <thead>
        <tr>
          <th scope="col">at</th>
          <th scope="col">parameters</th>
          <th scope="col">+ auxiliary head</th>
          <th scope="col">multiply-adds an image</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.label} data-params={r.params} data-auxiliary-params={r.auxiliaryParams} data-macs={r.macs}>
            <th scope="row">{r.label}</th>
            <td>{millions(r.params)}</td>
            <td>{millions(r.params + r.auxiliaryParams)}</td>
            <td>{millions(r.macs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
