import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the tests' cloud assemblies go; removed after the run (each holds a copy of the bundle). */
    infraTestOutDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'atlas-rotator-infra-test-'));
  project.provide('infraTestOutDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
