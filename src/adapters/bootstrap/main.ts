#!/usr/bin/env node
import { loadConfig } from '../config/load-config.js';
import { describeError, EXIT, parseRotateArgs, runRotate, USAGE } from '../inbound/cli/rotate-cli.js';
import { buildContainer, disposeContainer } from './container.js';
import { runDemo } from './demo.js';
import { TOKENS } from './tokens.js';

const out = (text: string) => process.stdout.write(text);
const err = (text: string) => process.stderr.write(text);

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'rotate': {
      const parsed = parseRotateArgs(args);
      const container = buildContainer(loadConfig(process.env));
      try {
        return await runRotate(container.get(TOKENS.rotateSecret), parsed, out, err);
      } finally {
        await disposeContainer(container);
      }
    }
    case 'demo':
      return runDemo(process.env, out);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(`${USAGE}\n`);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default:
      err(`unknown command "${command}"\n${USAGE}\n`);
      return EXIT.usage;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    err(`atlas-rotator: ${describeError(error)}\n`);
    process.exitCode = EXIT.usage;
  },
);
