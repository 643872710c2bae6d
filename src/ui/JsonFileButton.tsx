// A button-styled label over a hidden file input for one JSON or text file (genotypes, runs).
// The input is cleared after each pick, so picking the same file again reads it again.
import { useId } from 'react';

export function JsonFileButton({
  label,
  inputLabel,
  onFile,
}: {
  label: string;
  inputLabel: string;
  onFile: (file: File) => void;
}) {
  const id = useId();
  return (
    <>
      <label className="button small" htmlFor={id}>
        {label}
      </label>
      <input
        id={id}
        type="file"
        accept=".json,.txt,application/json,text/plain"
        aria-label={inputLabel}
        className="visually-hidden"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = '';
          if (f) onFile(f);
        }}
      />
    </>
  );
}
