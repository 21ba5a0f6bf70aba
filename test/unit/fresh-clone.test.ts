import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * `npm test` must pass on a clone with nothing beside it. MongoDB's OpenAPI slice sits at `../shared/reference`
 * on CI and on the developers' machines only (it is CC BY-NC-SA and never copied in), so no code may read it,
 * except the one comparison that skips, saying so, when it is absent.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const SCANNED = ['src', 'test', 'scripts', 'bench', 'infra/lib', 'infra/bin', 'infra/test'];
const CODE = /\.(ts|mts|cts|js|mjs|cjs|sh|json)$/;
const OPTIONAL_COMPARISON = 'test/unit/simulator/atlas-contract-vs-official.test.ts';
const THIS_FILE = 'test/unit/fresh-clone.test.ts';

function files(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name === 'node_modules' || entry.name === 'cdk.out' ? [] : files(path);
    return CODE.test(entry.name) ? [path] : [];
  });
}

/** The code without its comments: a comment may name the reference directory, code may not read it. */
function withoutComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
    .replace(/^\s*#.*$/gm, '');
}

describe('a fresh clone', () => {
  it('reads nothing beside the repository but the one optional comparison', () => {
    const readers = SCANNED.flatMap((dir) => files(join(ROOT, dir)))
      .map((path) => relative(ROOT, path))
      .filter((path) => path !== OPTIONAL_COMPARISON && path !== THIS_FILE)
      .filter((path) =>
        /\.\.\/shared|shared\/reference/.test(withoutComments(readFileSync(join(ROOT, path), 'utf8'))),
      );
    expect(readers).toEqual([]);
  });

  it('skips the comparison with the official spec, saying why, when it is absent', () => {
    const comparison = readFileSync(join(ROOT, OPTIONAL_COMPARISON), 'utf8');
    expect(comparison).toMatch(/existsSync\(/);
    expect(comparison).toMatch(/skipIf\(|describe\.skipIf|it\.skipIf/);
    expect(comparison).toMatch(/skipped/);
  });
});
