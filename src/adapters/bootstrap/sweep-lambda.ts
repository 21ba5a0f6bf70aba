import type { SweepEntry, SweepReport, SweepSecrets } from '../../application/sweep-secrets.js';
import { failureOf } from '../../application/sweep-secrets.js';
import { RotatorError } from '../../domain/errors.js';
import { loadConfig } from '../config/load-config.js';
import { EXIT } from '../inbound/cli/rotate-cli.js';
import { sweepExitCode } from '../inbound/cli/sweep-cli.js';
import { type LambdaContext, LambdaInvocations } from '../inbound/lambda/lambda-invocations.js';
import { buildContainer, disposeContainer } from './container.js';
import { TOKENS } from './tokens.js';

const invocations = new LambdaInvocations();

/**
 * The sweep left secrets it could not settle: the invocation fails, so Lambda counts an error (the alarm) —
 * exactly when `atlas-rotator sweep` would exit non-zero. Counts and error codes only, never a value.
 */
export class SweepFailedError extends RotatorError {
  readonly code = 'SWEEP_FAILED';
  /** True when every failure may pass (the CLI's exit 75); false when a person must act (exit 1). */
  readonly retryable: boolean;
  constructor(
    readonly permanentFailures: number,
    readonly retryableFailures: number,
    readonly errorCodes: readonly string[],
    secrets: number,
  ) {
    super(
      `the sweep left ${permanentFailures + retryableFailures} of ${secrets} secrets unsettled ` +
        `(${permanentFailures} for good, ${retryableFailures} that may pass; ${errorCodes.join(', ')}); ` +
        'the sweep report is in the log',
    );
    this.retryable = permanentFailures === 0;
  }
}

export interface SweepHandlerDeps {
  readonly sweep: SweepSecrets;
  /** SWEEP_NAME_PREFIX: only secrets whose name starts with this. */
  readonly namePrefix: string | undefined;
  /** Where the report goes as one JSON line (stdout: the function's log). */
  readonly out: (text: string) => void;
}

function errorCodeOf(entry: SweepEntry): string | undefined {
  if (failureOf(entry) === undefined) return undefined;
  return 'errorCode' in entry ? entry.errorCode : entry.action.toUpperCase();
}

/**
 * One scheduled sweep in request mode (never `--now`: the sweep only sends rotation requests; the worker
 * rotates). Resolves with the report when every secret is settled; rejects otherwise — the report is
 * written either way.
 */
export function createSweepHandler(deps: SweepHandlerDeps): () => Promise<SweepReport> {
  return async () => {
    let report: SweepReport;
    try {
      report = await deps.sweep.execute({ rotateNow: false, namePrefix: deps.namePrefix });
    } catch (error) {
      // Listing failed (or the queue is not configured): no secret was looked at.
      if (error instanceof RotatorError) {
        deps.out(
          `${JSON.stringify({ status: 'failed', errorCode: error.code, message: error.message, retryable: error.retryable })}\n`,
        );
      }
      throw error;
    }
    deps.out(`${JSON.stringify(report)}\n`);
    if (sweepExitCode(report) === EXIT.ok) return report;
    const codes = [...new Set(report.secrets.map(errorCodeOf).filter((c) => c !== undefined))].sort();
    const { permanentFailures, retryableFailures, secrets } = report.summary;
    throw new SweepFailedError(permanentFailures, retryableFailures, codes, secrets);
  };
}

/**
 * Lambda entry for the scheduled sweep (EventBridge Scheduler invokes it; the event is ignored). Unlike the
 * SQS handler it builds the container per invocation and disposes it after: a sweep runs once a day, and
 * disposing revokes the admin tokens the sweep minted and closes the Atlas pools, as the CLI does. Every log line
 * of an invocation carries its `lambdaRequestId`, `functionName` and `coldStart` (the first invocation of the
 * execution environment; the cold start is the environment's, not the container's).
 */
export async function handler(_event?: unknown, context?: LambdaContext): Promise<SweepReport> {
  return invocations.run(context, async () => {
    const config = loadConfig(process.env);
    const container = buildContainer(config, { logContext: () => invocations.fields() });
    try {
      return await createSweepHandler({
        sweep: await container.getAsync(TOKENS.sweepSecrets),
        namePrefix: config.sweepNamePrefix,
        out: (text) => process.stdout.write(text),
      })();
    } finally {
      await disposeContainer(container);
    }
  });
}
