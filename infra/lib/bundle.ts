import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
 * where the repository is checked out. The directory is named after the bundle's content and shared by
 * every process (synth copies it into the cloud assembly): the same sources bundle to the same directory, so
 * nothing piles up per run. Bundled once per process and entry.
 */
export function bundleNodeEntry(repoRoot: string, entry: string): string {
  const absoluteEntry = resolve(repoRoot, entry);
  const cached = bundles.get(absoluteEntry);
  if (cached !== undefined) return cached;
  if (!existsSync(absoluteEntry)) throw new Error(`the Lambda entry ${absoluteEntry} does not exist`);
  const result = buildSync({
    absWorkingDir: repoRoot,
    entryPoints: [relative(repoRoot, absoluteEntry)],
    outfile: 'index.mjs',
    write: false,
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
  const files = result.outputFiles
    .map((file) => ({ name: relative(repoRoot, file.path), contents: file.contents }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const hash = createHash('sha256');
  for (const file of files) hash.update(file.name).update(file.contents);
  const outDir = join(tmpdir(), 'atlas-rotator-bundles', hash.digest('hex').slice(0, 32));
  if (!existsSync(outDir)) {
    mkdirSync(dirname(outDir), { recursive: true });
    const scratch = mkdtempSync(`${outDir}.tmp-`);
    for (const file of files) writeFileSync(join(scratch, file.name), file.contents);
    try {
      renameSync(scratch, outDir);
    } catch (error) {
      // Another process finished the same bundle first: its directory is identical.
      rmSync(scratch, { recursive: true, force: true });
      if (!existsSync(outDir)) throw error;
    }
  }
  bundles.set(absoluteEntry, outDir);
  return outDir;
}
