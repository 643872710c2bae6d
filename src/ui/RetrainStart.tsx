// "Re-train" in the genotype panel: trains the shown genotype (the current run's or an opened
// stored run's) or a genotype file from scratch, with a preset, the all-ReLU baseline option and
// changes to the preset's sizes (kept in the setup and its link).
import { useId, useState } from 'react';
import { JsonFileButton } from './JsonFileButton';
import { parseGenotypeInput } from '../search/genotype';
import { TRAIN_PRESETS, TRAIN_PRESET_NAMES, type TrainPresetName } from '../retrain/train-config';
import { startTraining } from '../store/controller';
import { isActive, isTraining, useLab } from '../store/lab';
import { RETRAIN_FIELDS, retrainProblems } from '../store/setup';
import { NumberField } from './NumberField';

const PRESET_LABELS: Record<TrainPresetName, string> = {
  quick: 'quick: C=16, 8 cells, 10 epochs (minutes on a GPU)',
  full: 'full: DARTS’s recipe, C=36, 20 cells, 600 epochs',
};

export function RetrainStart() {
  const genotype = useLab((s) => s.genotype);
  const opened = useLab((s) => s.openedRun);
  // The search on show, by its stored name when it has one.
  const searchName = useLab((s) => s.runs.find((r) => r.id === s.runId)?.name ?? null);
  const retrain = useLab((s) => s.setup.retrain);
  const setSetup = useLab((s) => s.setSetup);
  const searching = isActive(useLab((s) => s.phase));
  const training = isTraining(useLab((s) => s.training));
  const [file, setFile] = useState<{ name: string; json: string } | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const presetId = useId();
  const reluId = useId();

  const source = file
    ? { json: file.json, name: file.name }
    : genotype
      ? { json: genotype.json, name: opened?.name ?? `${searchName ?? 'the search'} at step ${genotype.step}` }
      : null;
  const problems = retrainProblems(useLab((s) => s.setup));
  const preset = TRAIN_PRESETS[retrain.preset];
  const blocked = searching
    ? 'Stop the search to re-train (the worker runs one job at a time).'
    : training
      ? 'A re-training is running.'
      : null;

  const readFile = async (f: File) => {
    try {
      const text = await f.text();
      parseGenotypeInput(text); // names the first thing wrong
      setFile({ name: f.name, json: text });
      setFileError(null);
    } catch (e) {
      setFileError(`${f.name}: ${(e as Error).message}`);
    }
  };

  return (
    <div className="retrain-start" role="group" aria-label="Re-train">
      <h3>Re-train from scratch</h3>
      <p className="hint">
        {source ? (
          <>
            Trains <strong>{source.name}</strong>
            {file && ' · '}
            {file && (
              <button type="button" className="small link" onClick={() => setFile(null)}>
                use the panel’s genotype
              </button>
            )}
          </>
        ) : (
          'Run a search, open a stored run, or choose a genotype file to re-train.'
        )}
      </p>
      <div className="retrain-row">
        <div className="field">
          <label htmlFor={presetId}>Re-train preset</label>
          <select
            id={presetId}
            value={retrain.preset}
            onChange={(e) =>
              setSetup((s) => ({ ...s, retrain: { ...s.retrain, preset: e.target.value as TrainPresetName } }))
            }
          >
            {TRAIN_PRESET_NAMES.map((p) => (
              <option key={p} value={p}>
                {PRESET_LABELS[p]}
              </option>
            ))}
          </select>
        </div>
        <div className="field checkbox">
          <input
            id={reluId}
            type="checkbox"
            checked={retrain.allRelu}
            onChange={(e) => setSetup((s) => ({ ...s, retrain: { ...s.retrain, allRelu: e.target.checked } }))}
          />
          <label htmlFor={reluId}>All activations ReLU</label>
          <small>the paper’s Table 2 baseline: same cells, every activation relu</small>
        </div>
      </div>
      <details className="retrain-settings">
        <summary>
          Re-training settings (0 = the preset’s: C={preset.channels}, {preset.layers} cells, batch {preset.batchSize},{' '}
          {preset.epochs} epochs)
        </summary>
        <div className="retrain-grid">
          {RETRAIN_FIELDS.map((f) => (
            <NumberField key={f.key} id={`retrain.${f.key}`} help={f.help} />
          ))}
        </div>
      </details>
      <div className="retrain-row">
        <JsonFileButton
          label="Choose a genotype file…"
          inputLabel="Genotype file to re-train"
          onFile={(f) => void readFile(f)}
        />
        <span className="spacer" />
        <button
          type="button"
          className="primary"
          disabled={!source || blocked !== null || problems.length > 0}
          title={blocked ?? (problems.length ? problems.join('; ') : undefined)}
          onClick={() => source && void startTraining(source.json, source.name)}
        >
          Re-train
        </button>
      </div>
      {fileError && (
        <p className="runs-error" role="alert">
          {fileError}
        </p>
      )}
      {problems.length > 0 && <p className="hint invalid">{problems.join('; ')}</p>}
      {blocked && <p className="hint">{blocked}</p>}
    </div>
  );
}
