// A node:test reporter for the e2e tests, the counterpart of lint/no-skips.ts: under CI (the
// CI environment variable set) a skipped or todo test fails the run, named with its reason.
export default async function* noSkipsUnderCI(source) {
  const skipped = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, todo, name, file } = event.data;
    if (skip === undefined && todo === undefined) continue;
    const why = typeof skip === 'string' ? skip : typeof todo === 'string' ? todo : '';
    skipped.push(`  ${file ?? ''} > ${name}${why ? ` (${why})` : ''}`);
  }
  if (!process.env.CI || !skipped.length) return;
  yield `\nUnder CI (the CI environment variable is set) no test may skip, and ${skipped.length} did:\n${skipped.join('\n')}\n`;
  process.exitCode = 1;
}
