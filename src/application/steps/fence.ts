import type { RotationStepEvent } from '../../domain/rotation-run.js';
import type { Run, SecretRead, StepContext } from './step-context.js';

/** An open claim went stale: tombstone its credential id (a fence), so that the way is clear. */
export async function fence(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  credentialId: string,
): Promise<RotationStepEvent> {
  ctx.logger.warn('fencing a stale rotation attempt', {
    secretArn: read.description.arn,
    rotationId: run.token,
    fencedVersionId: credentialId,
  });
  await ctx.claims.close(read.description.arn, credentialId, {
    token: run.token,
    attempt: 0,
    reason: 'fenced',
  });
  return { type: 'way-cleared' };
}
