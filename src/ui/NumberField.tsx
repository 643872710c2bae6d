// A labelled number field of the setup (a search setting, the checkpoint interval, a synthetic
// data or a re-training setting). What is typed goes to the store as it is typed: a number as it
// is, anything else as the field's draft. A problem (fieldProblems: its value, or how it fits the
// others) is said beside the field, by its label; nothing is reverted on blur.
import { useEffect, useId, useRef, useState } from 'react';
import { useLab } from '../store/lab';
import { fieldProblems, fieldValue, numberSpec, withFieldText, type FieldId, type Setup } from '../store/setup';

/** The text a field shows for the store's state: its number, or nothing while it has a draft
 * (a number input cannot hold text that is no number; the note beside it quotes the text). */
function textOf(setup: Setup, id: FieldId): string {
  return setup.drafts[id] === undefined ? String(fieldValue(setup, id)) : '';
}

export function NumberField({ id, help }: { id: FieldId; help?: string }) {
  const spec = numberSpec(id);
  const setup = useLab((s) => s.setup);
  const data = useLab((s) => s.datasets[s.setup.dataset] ?? null);
  const setSetup = useLab((s) => s.setSetup);
  const problem = fieldProblems(setup, data)[id] ?? null;
  const shown = textOf(setup, id);
  const [text, setText] = useState(shown);
  // The store's text as of our last change: when it differs, the change came from elsewhere (a
  // preset, a link) and the field shows it; otherwise the field keeps what is typed ("0.").
  const last = useRef(shown);
  useEffect(() => {
    if (shown !== last.current) {
      last.current = shown;
      setText(shown);
    }
  }, [shown]);
  const inputId = useId();
  return (
    <div className={`field${problem ? ' invalid' : ''}`}>
      <label htmlFor={inputId}>{spec.label}</label>
      <input
        id={inputId}
        type="number"
        inputMode={spec.integer ? 'numeric' : 'decimal'}
        min={spec.min}
        max={spec.max}
        step={spec.integer ? 1 : 'any'}
        value={text}
        onChange={(e) => {
          const typed = e.target.value;
          // A number field's value is '' for text the browser cannot read as a number ("1e").
          const bad = e.target.validity.badInput;
          setText(typed);
          setSetup((s) => {
            const next = withFieldText(s, id, typed, bad);
            last.current = textOf(next, id);
            return next;
          });
        }}
        aria-invalid={problem ? true : undefined}
        aria-describedby={`${inputId}-note`}
        autoComplete="off"
      />
      <small id={`${inputId}-note`} role={problem ? 'alert' : undefined}>
        {problem ?? help}
      </small>
    </div>
  );
}
