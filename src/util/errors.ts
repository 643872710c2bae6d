// The text of anything thrown, for messages the user reads.

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
