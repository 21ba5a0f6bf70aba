import { InvalidConfigError, InvalidInputError } from '../../domain/errors.js';
import { loadConfig } from '../config/load-config.js';
import { parsePlanArgs, parseStatusArgs, runPlan, runStatus } from '../inbound/cli/ops-cli.js';
import { describeError, EXIT, parseRotateArgs, runRotate, USAGE } from '../inbound/cli/rotate-cli.js';
import { parseSweepArgs, runSweep } from '../inbound/cli/sweep-cli.js';
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
        return await runRotate(await container.getAsync(TOKENS.rotateSecret), parsed, out, err);
      } finally {
        await disposeContainer(container);
      }
    }
    case 'sweep': {
      const parsed = parseSweepArgs(args);
      const config = loadConfig(process.env);
      const container = buildContainer(config);
      try {
        const sweep = await container.getAsync(TOKENS.sweepSecrets);
        return await runSweep(sweep, parsed, config.sweepNamePrefix, out, err);
      } finally {
        await disposeContainer(container);
      }
    }
    case 'plan': {
      const parsed = parsePlanArgs(args);
      const container = buildContainer(loadConfig(process.env));
      try {
        return await runPlan(await container.getAsync(TOKENS.planRotation), parsed, out, err);
      } finally {
        await disposeContainer(container);
      }
    }
    case 'status': {
      const parsed = parseStatusArgs(args);
      const config = loadConfig(process.env);
      const container = buildContainer(config);
      try {
        const tty = process.stdout.isTTY === true;
        return await runStatus(
          await container.getAsync(TOKENS.reportStatus),
          parsed,
          config.sweepNamePrefix,
          tty,
          out,
          err,
        );
      } finally {
        await disposeContainer(container);
      }
    }
    case 'worker': {
      if (args.length > 0) throw new InvalidInputError('worker', 'takes no arguments');
      const container = buildContainer(loadConfig(process.env));
      const controller = new AbortController();
      const stop = (signal: NodeJS.Signals) => {
        if (controller.signal.aborted) {
          err(`atlas-rotator: ${signal} again; exiting without draining\n`);
          process.exit(EXIT.retryLater);
        }
        err(`atlas-rotator: ${signal}; finishing in-flight rotations\n`);
        controller.abort();
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      try {
        const worker = await container.getAsync(TOKENS.worker);
        await worker.run(controller.signal);
        return EXIT.ok;
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
    // Bad arguments or settings are the caller's to fix (2); anything else failed at run time (1).
    const usage = error instanceof InvalidInputError || error instanceof InvalidConfigError;
    process.exitCode = usage ? EXIT.usage : EXIT.failed;
  },
);
