#!/usr/bin/env node
/**
 * The CLI's entry point: checks the Node version before anything else loads. It imports nothing statically:
 * the program's dependencies (undici 8 needs Node >= 22; the project runs on 24) would fail while loading,
 * with a stack trace, before any line of ours could say what is wrong.
 */
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem === undefined) {
  await import('./cli.js');
} else {
  process.stderr.write(`atlas-rotator: ${problem}\n`);
  process.exitCode = 2;
}
