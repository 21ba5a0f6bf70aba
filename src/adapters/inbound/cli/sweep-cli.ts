import type { SweepReport, SweepSecrets } from '../../../application/sweep-secrets.js';
import { InvalidConfigError, InvalidInputError, RotatorError } from '../../../domain/errors.js';
import { EXIT } from './rotate-cli.js';

export interface SweepArgs {
  readonly rotateNow: boolean;
  /** From `--prefix`; undefined leaves SWEEP_NAME_PREFIX (or no prefix) in force. */
  readonly namePrefix: string | undefined;
}

const PREFIX = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

export function parseSweepArgs(args: readonly string[]): SweepArgs {
  const rest = [...args];
  let rotateNow = false;
  let namePrefix: string | undefined;
  while (rest.length > 0) {
    const arg = rest.shift() as string;
    if (arg === '--now') {
      rotateNow = true;
    } else if (arg === '--prefix') {
      const value = rest.shift();
      if (value === undefined || !PREFIX.test(value)) {
        throw new InvalidInputError(
          '--prefix',
          'needs the start of a secret name (letters, digits, / _ + = . @ -)',
        );
      }
      namePrefix = value;
    } else {
      throw new InvalidInputError(arg, 'is not an option of sweep');
    }
  }
  return { rotateNow, namePrefix };
}

/**
 * The exit code for a report: 0 when every secret is settled (due ones requested or rotated), 1 when one
 * could not be settled and trying again will not help, 75 when every failure may pass.
 */
export function sweepExitCode(report: SweepReport): number {
  if (report.summary.permanentFailures > 0) return EXIT.failed;
  if (report.summary.retryableFailures > 0) return EXIT.retryLater;
  return EXIT.ok;
}

/** Runs one sweep: the report as one JSON document on stdout, a one-line summary on stderr. */
export async function runSweep(
  sweep: SweepSecrets,
  args: SweepArgs,
  defaultPrefix: string | undefined,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  let report: SweepReport;
  try {
    report = await sweep.execute({ rotateNow: args.rotateNow, namePrefix: args.namePrefix ?? defaultPrefix });
  } catch (error) {
    // Listing failed (or the queue is not configured): no secret was looked at.
    if (!(error instanceof RotatorError) || error instanceof InvalidConfigError) throw error;
    out(
      `${JSON.stringify({ status: 'failed', errorCode: error.code, message: error.message, retryable: error.retryable }, null, 2)}\n`,
    );
    err(`sweep failed before looking at any secret: ${error.code}: ${error.message}\n`);
    return error.retryable ? EXIT.retryLater : EXIT.failed;
  }
  out(`${JSON.stringify(report, null, 2)}\n`);
  const { summary } = report;
  const done = args.rotateNow
    ? `${summary.byAction.rotated} rotated`
    : `${summary.byAction.requested} rotations requested`;
  err(
    `swept ${summary.secrets} secrets in ${report.durationMs} ms: ${summary.due} due, ${done}, ` +
      `${summary.permanentFailures} failed for good, ${summary.retryableFailures} to retry\n`,
  );
  return sweepExitCode(report);
}
