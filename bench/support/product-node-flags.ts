import { readFileSync } from 'node:fs';

/**
 * The Node flags the worker ships with: those of the container image's ENTRYPOINT (infra/docker/Dockerfile,
 * `["node", …flags, "dist/src/adapters/bootstrap/main.js"]`). The benchmark runs the rotator with exactly these,
 * read from the Dockerfile so that the two cannot drift apart (ADR 0014).
 */
export function productNodeFlags(dockerfile = 'infra/docker/Dockerfile'): string[] {
  const text = readFileSync(dockerfile, 'utf8');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text)?.[1];
  if (entrypoint === undefined) throw new Error(`${dockerfile}: no ENTRYPOINT in exec form`);
  const argv = JSON.parse(entrypoint) as unknown;
  if (!Array.isArray(argv) || argv[0] !== 'node' || !argv.every((a) => typeof a === 'string'))
    throw new Error(`${dockerfile}: ENTRYPOINT is not ["node", …]`);
  const script = argv.indexOf('dist/src/adapters/bootstrap/main.js');
  if (script < 0)
    throw new Error(`${dockerfile}: ENTRYPOINT does not run dist/src/adapters/bootstrap/main.js`);
  return argv.slice(1, script) as string[];
}
