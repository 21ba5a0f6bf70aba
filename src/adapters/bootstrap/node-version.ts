/** The oldest Node major the CLI runs on (`engines` in package.json says the same). */
export const REQUIRED_NODE_MAJOR = 24;

/**
 * Why this Node cannot run the CLI, in one line, or undefined when it can. Imports nothing, so the entry point
 * can call it before loading any dependency.
 */
export function nodeVersionProblem(version: string): string | undefined {
  const major = Number.parseInt(version.replace(/^v/, '').split('.')[0] ?? '', 10);
  if (Number.isInteger(major) && major >= REQUIRED_NODE_MAJOR) return undefined;
  return (
    `needs Node ${REQUIRED_NODE_MAJOR} or newer, this is Node ${version}; ` +
    'install Node 24 (or run `source scripts/ensure-node.sh` in a clone, which puts one on PATH)'
  );
}
