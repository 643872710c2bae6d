// Minimal --flag parsing that refuses what it does not understand (a typo must not be ignored).

export class FlagError extends Error {}

export class Flags {
  private readonly values = new Map<string, string | true>();
  private readonly used = new Set<string>();

  constructor(values: Map<string, string | true>) {
    this.values = values;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  private raw(name: string): string | true | undefined {
    this.used.add(name);
    return this.values.get(name);
  }

  string(name: string, fallback?: string): string {
    const v = this.raw(name);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new FlagError(`--${name} is required`);
    }
    if (v === true) throw new FlagError(`--${name} needs a value`);
    return v;
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : (this.used.add(name), undefined);
  }

  number(name: string, fallback?: number): number {
    if (!this.has(name) && fallback !== undefined) return (this.used.add(name), fallback);
    const text = this.string(name);
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v)) throw new FlagError(`--${name}: expected a number, got "${text}"`);
    return v;
  }

  int(name: string, fallback?: number): number {
    const v = this.number(name, fallback);
    if (!Number.isInteger(v)) throw new FlagError(`--${name}: expected an integer, got ${v}`);
    return v;
  }

  bool(name: string): boolean {
    const v = this.raw(name);
    if (v === undefined) return false;
    if (v === true || v === 'true') return true;
    if (v === 'false') return false;
    throw new FlagError(`--${name}: expected true or false, got "${v}"`);
  }

  enumOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(name, fallback);
    if (!(allowed as readonly string[]).includes(v))
      throw new FlagError(`--${name}: must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  }

  list(name: string, fallback: string[]): string[] {
    return this.has(name)
      ? this.string(name)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : (this.used.add(name), fallback);
  }

  assertAllUsed(): void {
    const unknown = [...this.values.keys()].filter((k) => !this.used.has(k));
    if (unknown.length)
      throw new FlagError(`unknown flag${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => '--' + k).join(', ')}`);
  }
}

/** `--name value`, `--name=value`, or a bare `--name` (true). */
export function parseFlags(argv: string[]): Flags {
  const values = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new FlagError(`unexpected argument "${arg}" (flags look like --name value)`);
    const eq = arg.indexOf('=');
    if (eq > 0) values.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) values.set(arg.slice(2), argv[++i]);
    else values.set(arg.slice(2), true);
  }
  return new Flags(values);
}
