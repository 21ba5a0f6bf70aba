import { randomUUID } from 'node:crypto';
import type { RotateSecret } from '../../../application/rotate-secret.js';
import { InvalidInputError, RotatorError } from '../../../domain/errors.js';
import { parseRotationToken, type RotationToken } from '../../../domain/identifiers.js';
import type { RotationOutcome } from '../../../domain/rotation-outcome.js';

export const USAGE = `Usage:
  atlas-rotator rotate <secretId> [--request-id <id>] [--retire-old-now]
                                                          rotate one secret now (name or ARN);
                                                          --retire-old-now: the old value leaked — delete the
                                                          replaced Atlas secret at once, no grace
  atlas-rotator worker                                    consume rotation requests from ROTATION_QUEUE_URL
  atlas-rotator sweep [--now] [--prefix <name-prefix>]    request a rotation of every managed secret whose
                                                          Atlas secret expires within ROTATE_BEFORE_EXPIRY_HOURS
                                                          (--now: rotate them in this process instead)
  atlas-rotator demo                                      the embedded default: a rotation on local endpoints
  atlas-rotator help

--request-id becomes the new version's VersionId (32-64 letters, digits, hyphens); running the same
command again with the same id resumes or confirms that rotation. Without it a new id is generated.
Configuration comes from the environment; see the README.`;

export interface RotateArgs {
  readonly secretId: string;
  /** Checked by {@link parseRotateArgs}: it is the rotation's token as it is. */
  readonly requestId: RotationToken;
  /** --retire-old-now: a leaked credential, retired at the promotion (no OLD_SECRET_GRACE_HOURS). */
  readonly retireOldNow: boolean;
}

/** Exit codes: 0 rotated, 1 failed for good, 2 bad usage or configuration, 75 failed but worth retrying. */
export const EXIT = { ok: 0, failed: 1, usage: 2, retryLater: 75 } as const;

export function parseRotateArgs(args: readonly string[]): RotateArgs {
  const rest = [...args];
  let requestId: string | undefined;
  let retireOldNow = false;
  const positional: string[] = [];
  while (rest.length > 0) {
    const arg = rest.shift() as string;
    if (arg === '--request-id') {
      const value = rest.shift();
      if (value === undefined) throw new InvalidInputError('--request-id', 'needs a value');
      requestId = value;
    } else if (arg === '--retire-old-now') {
      retireOldNow = true;
    } else if (arg.startsWith('--')) {
      throw new InvalidInputError(arg, 'is not an option of rotate');
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 1 || positional[0] === undefined || positional[0].trim() === '') {
    throw new InvalidInputError('secretId', 'is required, exactly once');
  }
  if (/mdb_sa_sk_/i.test(positional[0])) {
    throw new InvalidInputError('secretId', 'must be a secret name or ARN, never a secret value');
  }
  return {
    secretId: positional[0],
    requestId: parseRotationToken(requestId ?? randomUUID(), '--request-id'),
    retireOldNow,
  };
}

/** Runs one rotation and reports it: the outcome as JSON on stdout, a one-line summary on stderr. */
export async function runRotate(
  rotateSecret: RotateSecret,
  args: RotateArgs,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  const outcome: RotationOutcome = await rotateSecret.execute({
    secretId: args.secretId,
    token: args.requestId,
    ...(args.retireOldNow ? { retireOldSecret: 'now' as const } : {}),
  });
  out(`${JSON.stringify(outcome, null, 2)}\n`);
  if (outcome.status === 'completed') {
    err(
      outcome.alreadyCompleted
        ? `rotation ${outcome.rotationId} of ${outcome.secretName} had already completed; nothing changed\n`
        : `rotated ${outcome.secretName}: Atlas secret ${outcome.newAtlasSecretId} is AWSCURRENT\n`,
    );
    return EXIT.ok;
  }
  err(`rotation failed at ${outcome.stage}: ${outcome.errorCode}: ${outcome.message}\n`);
  return outcome.retryable ? EXIT.retryLater : EXIT.failed;
}

export function describeError(error: unknown): string {
  if (error instanceof RotatorError) return `${error.code}: ${error.message}`;
  return `INTERNAL_ERROR: ${error instanceof Error ? error.name : 'unexpected failure'}`;
}
