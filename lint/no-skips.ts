// A vitest reporter for CI: a test that skips there (no WebGPU adapter, no python3-torch, no
// Fashion-MNIST package) would leave the run green while checking nothing. When the CI
// environment variable is set (.ci/run sets it; it installs everything the tests need), any
// skipped test fails the run, named with what its file said is missing. Elsewhere skips stay
// skips, so a machine without a GPU can still run the rest.
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import type { UserConsoleLog } from 'vitest';
import { relative } from 'node:path';

export class NoSkipsUnderCI implements Reporter {
  private vitest: Vitest | null = null;
  /** What the test files said when they decided to skip ("skipped: no WebGPU adapter (...)"). */
  private readonly said = new Set<string>();

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    for (const line of log.content.split('\n')) if (/\bskipp(ed|ing)\b/i.test(line)) this.said.add(line.trim());
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (!process.env.CI) return;
    // A run filtered by name (-t) skips the rest on purpose.
    if (this.vitest?.config.testNamePattern) return;
    const root = this.vitest?.config.root ?? process.cwd();
    const skipped: string[] = [];
    for (const m of testModules)
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === 'skipped')
          skipped.push(`  ${relative(root, m.moduleId)} > ${t.fullName}${r.note ? ` (${r.note})` : ''}`);
      }
    if (!skipped.length) return;
    const why = this.said.size
      ? `\nWhat the test files said is missing:\n${[...this.said].map((s) => `  ${s}`).join('\n')}`
      : '';
    console.error(
      `\nUnder CI (the CI environment variable is set) no test may skip, and ${skipped.length} did:\n${skipped.join('\n')}${why}\nInstall what is missing (npm test's pretest step names the Debian packages; the GPU suite needs a Vulkan driver and a WebGPU adapter).\n`,
    );
    process.exitCode = 1;
  }
}
