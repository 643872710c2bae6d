// The found genotype: its DARTS string, a JSON download (format version 1), a copy button, and
// "Re-train" (RetrainStart) to train it from scratch in the lab.
import { useState } from 'react';
import { useLab } from '../store/lab';
import { currentGenotypeJson } from '../store/controller';
import { RetrainStart } from './RetrainStart';
import { saveBlob } from './svg';

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
