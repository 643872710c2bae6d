// export-search: the lab's search for one setup as a self-contained PyTorch script. The script is
// search_template.py (readable and runnable Python, kept next to this file) with its SETUP line
// replaced by the setup, written as a Python literal; everything else is the template's.
import { validateConfig, type SearchConfig } from '../search/space';

/** The template's line that the setup replaces (exactly one). */
export const SETUP_LINE = 'SETUP = None  # export-search writes the setup here';

/**
 * A JSON-like value as a Python literal: objects one key a line, arrays of plain values on one
 * line. A JSON string literal is a valid Python one (its escapes are Python's too).
 */
export function pythonLiteral(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`pythonLiteral: ${value} has no JSON form`);
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  const inner = indent + '    ';
  if (Array.isArray(value)) {
    if (value.every((x) => x === null || typeof x !== 'object'))
      return `[${value.map((x) => pythonLiteral(x)).join(', ')}]`;
    return `[\n${value.map((x) => inner + pythonLiteral(x, inner)).join(',\n')},\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${pythonLiteral(x, inner)}`).join(',\n')},\n${indent}}`;
}

/** What the script records about where its setup came from (comments only). */
export interface SearchScriptProvenance {
  /** ISO 8601 time of the export. */
  createdAt: string;
  /** The command line's setup flags, for the reader. */
  flags?: string;
}

/**
 * The search script for `config`: the template with SETUP = {"config": {...}}. The config is
 * checked as the lab checks it, so a script never carries a setup the lab would refuse.
 */
export function exportSearchScript(template: string, config: SearchConfig, provenance: SearchScriptProvenance): string {
  validateConfig(config);
  const at = template.indexOf(SETUP_LINE);
  if (at < 0 || template.indexOf(SETUP_LINE, at + 1) >= 0)
    throw new Error(`search template: expected exactly one line "${SETUP_LINE}"`);
  const comment = [
    `# The setup, written by the lab's export-search on ${provenance.createdAt.replace(/[\r\n]/g, ' ')}.`,
    ...(provenance.flags ? [`# Setup flags: ${provenance.flags.replace(/[\r\n]/g, ' ').slice(0, 400)}`] : []),
    '# --steps and --epochs change the length of the search; everything else is fixed here.',
  ].join('\n');
  return template.replace(SETUP_LINE, `${comment}\nSETUP = ${pythonLiteral({ config })}`);
}
