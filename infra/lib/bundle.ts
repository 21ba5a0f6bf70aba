import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { buildSync } from 'esbuild';

const bundles = new Map<string, string>();

/**
 * The repository root: the nearest directory above `start` whose package.json is the service's. Works from
 * the TypeScript sources (vitest) and from the compiled app in `infra/dist` alike.
 */
export function findRepoRoot(start: string = import.meta.dirname): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name === 'atlas-rotator') return dir;
    }
    if (dirname(dir) === dir) {
      throw new Error(`no atlas-rotator package.json above ${start}`);
    }
  }
}

/**
 * Bundles a Node entry (TypeScript, ESM) into a directory holding `index.mjs` and its source map, ready for
 * `lambda.Code.fromAsset`. esbuild's API runs in-process: no Docker, no `npx`, and no silent fallback to
 * Docker bundling. Paths are relative to `repoRoot`, so the output (and the asset hash) does not depend on
 * where the repository is checked out. Bundled once per process and entry.
 */
export function bundleNodeEntry(repoRoot: string, entry: string): string {
  const absoluteEntry = resolve(repoRoot, entry);
  const cached = bundles.get(absoluteEntry);
  if (cached !== undefined) return cached;
  if (!existsSync(absoluteEntry)) throw new Error(`the Lambda entry ${absoluteEntry} does not exist`);
  const outDir = mkdtempSync(join(tmpdir(), 'atlas-rotator-bundle-'));
  // Synthesis copies the bundle into the cloud assembly; the scratch copy goes with the process.
  process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
  buildSync({
    absWorkingDir: repoRoot,
    entryPoints: [relative(repoRoot, absoluteEntry)],
    outfile: join(outDir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
    banner: {
      js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
    },
    // Error classes are reported by name (`errorName`, event `errorCode` lookups): never mangle names.
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'error',
  });
  bundles.set(absoluteEntry, outDir);
  return outDir;
}
