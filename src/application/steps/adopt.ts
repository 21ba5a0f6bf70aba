import { RotationRolledBackError, VerificationFailedError } from '../../domain/errors.js';
import type { RotationStepEvent } from '../../domain/rotation-run.js';
import { finishRollback, verifyPending } from './conclude.js';
import type { Run, SecretRead, StepContext } from './step-context.js';

/** Another rotation's credential is pending: verify it and promote or roll it back, so that the way is clear. */
export async function adopt(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  credentialId: string,
): Promise<RotationStepEvent> {
  ctx.logger.warn('finishing another rotation whose credential is pending', {
    secretArn: read.description.arn,
    rotationId: run.token,
    pendingVersionId: credentialId,
  });
  try {
    await verifyPending(ctx, read, run, credentialId, true);
  } catch (error) {
    // Rolled back (by this run or another): the way is free. Anything else stops this run too.
    if (!(error instanceof VerificationFailedError) && !(error instanceof RotationRolledBackError)) {
      throw error;
    }
  }
  return { type: 'way-cleared' };
}

/** A rollback stopped between its undo copy and its swap: finish the swap, so that the way is clear. */
export async function finishOthersRollback(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  undoId: string,
  credentialId: string,
): Promise<RotationStepEvent> {
  run.stage = 'rollback';
  await finishRollback(ctx, read, undoId, credentialId);
  return { type: 'way-cleared' };
}
