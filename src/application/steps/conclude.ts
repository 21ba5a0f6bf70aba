import { type AtlasCredential, parseCredential } from '../../domain/credential.js';
import {
  InvalidInputError,
  RotationInProgressError,
  RotationRolledBackError,
  VerificationFailedError,
} from '../../domain/errors.js';
import type { AtlasSecretId } from '../../domain/identifiers.js';
import { undoVersionId } from '../../domain/rotation-protocol.js';
import type { RotationStepEvent } from '../../domain/rotation-run.js';
import { SecretVersionExistsError, StageMovedError } from '../infrastructure-errors.js';
import { retire } from './retire.js';
import type { Run, SecretRead, StepContext, Verification } from './step-context.js';
import { verify } from './store-and-verify.js';

/** Verifies a stored credential (this token's or another run's), then promotes or rolls it back. */
export async function verifyPending(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  credentialId: string,
  adopting: boolean,
): Promise<RotationStepEvent> {
  const value = read.values.get(credentialId);
  const fresh = value === undefined ? undefined : parseCredential(value);
  if (fresh?.atlasSecretId === undefined) {
    throw new InvalidInputError(
      'requestId',
      'names a version of the secret that atlas-rotator did not create',
    );
  }
  if (run.stopAfter === 'pending-stored' && !adopting) {
    return ctx.inProgress(read, run, fresh, fresh.atlasSecretId, 'pending-stored');
  }
  run.stage = 'verify';
  const verification = await verify(ctx, run, read.target, fresh);
  return conclude(
    ctx,
    read,
    run,
    credentialId,
    fresh,
    fresh.atlasSecretId,
    verification,
    undefined,
    adopting,
  );
}

/** Promote (write 3) or roll back, then retire. */
export async function conclude(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  credentialId: string,
  fresh: AtlasCredential,
  newSecretId: AtlasSecretId,
  verification: Verification,
  oldSecretId: AtlasSecretId | undefined,
  adopting = false,
): Promise<RotationStepEvent> {
  const arn = read.description.arn;
  if (!verification.ok) {
    run.stage = 'rollback';
    const rolledBack = await rollback(ctx, read, credentialId, newSecretId);
    if (rolledBack === 'promoted') {
      // Another run promoted it first and may have retired the old secret already.
      return retire(ctx, read, run, fresh, newSecretId, read.current, oldSecretId, true);
    }
    // Reported where it failed: verification (the rollback went through).
    run.stage = 'verify';
    throw await withCurrentExpiry(ctx, verification.failure, read, oldSecretId ?? read.current.atlasSecretId);
  }
  if (run.stopAfter === 'verified' && !adopting)
    return ctx.inProgress(read, run, fresh, newSecretId, 'verified');
  run.stage = 'promote';
  try {
    await ctx.step(run, 'promote', () =>
      ctx.store.moveStage(arn, 'AWSCURRENT', credentialId, read.currentVersionId),
    );
  } catch (error) {
    if (!(error instanceof StageMovedError)) throw error;
    // Someone moved AWSCURRENT since it was read: find out who.
    const holder = (await ctx.store.listVersions(arn)).find((v) => v.stages.includes('AWSCURRENT'));
    if (holder?.versionId === undoVersionId(credentialId)) throw new RotationRolledBackError(run.token);
    if (holder?.versionId !== credentialId) {
      throw new RotationInProgressError(read.description.name, run.token, 'now (AWSCURRENT moved)');
    }
    ctx.logger.info('another run promoted this rotation first', { secretArn: arn, rotationId: run.token });
    return retire(ctx, read, run, fresh, newSecretId, read.current, oldSecretId, true);
  }
  return retire(ctx, read, run, fresh, newSecretId, read.current, oldSecretId);
}

/**
 * Rolls an attempt back (ADR 0007 step 7): a copy of AWSCURRENT's value becomes AWSCURRENT by a swap from the
 * version read, which makes "promote the attempt from that version" impossible forever; only then is the
 * attempt's Atlas secret deleted. `promoted` when the attempt won the race instead.
 */
export async function rollback(
  ctx: StepContext,
  read: SecretRead,
  credentialId: string,
  newSecretId: AtlasSecretId,
): Promise<'rolled-back' | 'promoted' | 'moved'> {
  const arn = read.description.arn;
  const undoId = undoVersionId(credentialId);
  try {
    await ctx.store.putVersion(arn, undoId, read.currentValue, ['AWSPENDING']);
  } catch (error) {
    if (!(error instanceof SecretVersionExistsError)) throw error;
    // An undo copy of another AWSCURRENT exists already: that rollback is someone else's to finish.
    return 'moved';
  }
  return swapToUndo(ctx, read, undoId, credentialId, newSecretId);
}

export async function finishRollback(
  ctx: StepContext,
  read: SecretRead,
  undoId: string,
  credentialId: string,
): Promise<void> {
  const value =
    read.values.get(credentialId) ?? (await ctx.valueOrPlaceholder(read.description.arn, credentialId));
  const fresh = ctx.credentialOrUndefined(value);
  await swapToUndo(ctx, read, undoId, credentialId, fresh?.atlasSecretId);
}

export async function swapToUndo(
  ctx: StepContext,
  read: SecretRead,
  undoId: string,
  credentialId: string,
  newSecretId: AtlasSecretId | undefined,
): Promise<'rolled-back' | 'promoted' | 'moved'> {
  const arn = read.description.arn;
  try {
    await ctx.store.moveStage(arn, 'AWSCURRENT', undoId, read.currentVersionId);
  } catch (error) {
    if (!(error instanceof StageMovedError)) throw error;
    const holder = (await ctx.store.listVersions(arn)).find((v) => v.stages.includes('AWSCURRENT'));
    if (holder?.versionId === credentialId) return 'promoted';
    if (holder?.versionId !== undoId) return 'moved';
  }
  // AWSCURRENT is on the copy: the attempt can never become current, its Atlas secret may go.
  if (newSecretId !== undefined) {
    await ctx.atlas.deleteSecret(read.target, newSecretId, read.admin ?? read.current);
  }
  // The delete killed the tokens minted with the attempt's credential: the Atlas client forgot them.
  return 'rolled-back';
}

/**
 * Creating the new secret made Atlas cut every other secret of the account to at most seven days, the current
 * one included, and a rollback cannot undo that: the failure says until when AWSCURRENT works.
 */
export async function withCurrentExpiry(
  ctx: StepContext,
  failure: VerificationFailedError,
  read: SecretRead,
  currentSecretId: AtlasSecretId | undefined,
): Promise<VerificationFailedError> {
  try {
    const secrets = await ctx.atlas.listSecrets(read.target, read.admin ?? read.current);
    const current =
      secrets.find((s) => s.id === currentSecretId) ?? (secrets.length === 1 ? secrets[0] : undefined);
    if (current === undefined) return failure;
    return new VerificationFailedError(
      `${failure.message}. Atlas shortened AWSCURRENT's secret ${current.id} to expire at ${current.expiresAt} ` +
        'when the new one was created: fix the cause and rotate again before then',
      { cause: failure.cause },
    );
  } catch {
    return failure;
  }
}
