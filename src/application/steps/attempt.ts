import { rotatedCredential, serializeCredential } from '../../domain/credential.js';
import { RotationInProgressError } from '../../domain/errors.js';
import type { AtlasSecretId } from '../../domain/identifiers.js';
import { effectiveGrace, GRACE_TAG, planRetirement, type RetirementRecord } from '../../domain/retirement.js';
import { MIN_SECRET_HOURS, mayCreateFirst } from '../../domain/room-plan.js';
import {
  claimedCredentialId,
  isBookkeepingVersion,
  type TombstoneReason,
} from '../../domain/rotation-protocol.js';
import type { RotationStepEvent } from '../../domain/rotation-run.js';
import { AtlasApiError } from '../infrastructure-errors.js';
import type { ActingCredential, AtlasServiceAccounts, AtlasTarget } from '../ports/atlas-service-accounts.js';
import { conclude } from './conclude.js';
import { makeRoom } from './make-room.js';
import { KeepSecret, type Run, type SecretRead, type StepContext } from './step-context.js';
import { storeCredential, verify } from './store-and-verify.js';

export async function startAttempt(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  attempt: number,
  credentialId: string,
): Promise<RotationStepEvent> {
  const arn = read.description.arn;
  const acting = read.admin ?? read.current;
  const release = (reason: TombstoneReason) =>
    ctx.claims.release(arn, credentialId, { token: run.token, attempt, reason });

  // Step 3: claim, in parallel with the token the calls that follow need.
  run.stage = 'make-room';
  const provenAt = ctx.clock.now().getTime();
  const [claimed, minted] = await Promise.allSettled([
    ctx.claims.claim(read.description, run.token, attempt, credentialId, read.currentVersionId),
    read.admin === undefined
      ? ctx.step(run, 'make-room', () => ctx.atlas.proveCredential(read.target, read.current))
      : Promise.resolve(),
  ]);
  if (claimed.status === 'rejected') {
    if (!(claimed.reason instanceof RotationInProgressError)) await release('nothing-created');
    throw claimed.reason;
  }
  let created: Awaited<ReturnType<AtlasServiceAccounts['createSecret']>> | undefined;
  let oldSecretId: AtlasSecretId | undefined;
  try {
    if (minted.status === 'rejected') throw minted.reason;
    // Steps 4 and 5 in the other order when the slot is likely free (ADR 0015): a create Atlas refuses (400,
    // 409) created nothing, and room is made as below.
    if (mayCreateFirst(read.current, read.admin === undefined, ctx.clock.now().getTime())) {
      run.stage = 'create';
      created = await ctx.step(run, 'create', () => createIfRoom(ctx, read.target, acting));
      if (created !== undefined) {
        oldSecretId = read.current.atlasSecretId;
      } else {
        // Refused: another run may have taken the slot since this run read the secret, and the room plan
        // would see its secret as no version's. It gives way, retryably, as after a refused create below.
        run.stage = 'make-room';
        const other = await anotherRunSince(ctx, read, credentialId);
        if (other !== undefined) throw other;
      }
    }
    if (created === undefined) {
      // Step 4: make room.
      run.stage = 'make-room';
      oldSecretId = await makeRoom(
        ctx,
        read,
        run,
        acting,
        credentialId,
        read.admin === undefined ? provenAt : undefined,
      );
      // Step 5: create (never retried).
      run.stage = 'create';
      created = await ctx.step(run, 'create', () => createSecret(ctx, read.target, acting));
    }
  } catch (error) {
    const refused =
      run.stage !== 'create' ||
      (error instanceof AtlasApiError &&
        error.atlasStatus !== undefined &&
        error.atlasStatus >= 400 &&
        error.atlasStatus < 500);
    await release(refused ? 'nothing-created' : 'maybe-created');
    if (refused && run.stage === 'create')
      throw await refusedBecauseOfAnotherRun(ctx, read, credentialId, error);
    throw error;
  }

  // Step 6: store and verify in parallel. The value records when the secret it replaces is due for retirement
  // (ADR 0009): folded into this write, so the rotation still costs three.
  const fresh = rotatedCredential(
    read.current,
    created,
    planOldSecretRetirement(ctx, read, run, oldSecretId),
  );
  const value = serializeCredential(fresh);
  run.stage = 'store-pending';
  const storing = storeCredential(ctx, arn, credentialId, value, { token: run.token, attempt });
  const verifying =
    run.stopAfter === 'pending-stored' ? Promise.resolve(undefined) : verify(ctx, run, read.target, fresh);
  const [stored, verified] = await Promise.allSettled([storing, verifying]);
  if (stored.status === 'rejected' && stored.reason instanceof KeepSecret) throw stored.reason;
  if (stored.status === 'rejected' || stored.value !== 'stored') {
    // Not stored: nobody else has this value, so the Atlas secret is ours alone to delete.
    await ctx.bestEffort('delete the unsaved Atlas secret', run, () =>
      ctx.atlas.deleteSecret(read.target, created.id, acting),
    );
    if (stored.status === 'fulfilled' && stored.value === 'fenced') {
      throw new RotationInProgressError(read.description.name, run.token, 'now (this attempt was fenced)');
    }
    throw stored.status === 'rejected' ? stored.reason : new Error('unreachable');
  }
  if (run.stopAfter === 'pending-stored')
    return ctx.inProgress(read, run, fresh, created.id, 'pending-stored');
  if (verified.status === 'rejected') {
    run.stage = 'verify';
    throw verified.reason;
  }
  return conclude(
    ctx,
    read,
    run,
    credentialId,
    fresh,
    created.id,
    verified.value ?? { ok: true },
    oldSecretId,
  );
}

/**
 * The retirement of the Atlas secret this attempt replaces (AWSCURRENT's, as room-making resolved it), planned at
 * the store time: after it, any use of the old secret is a consumer's (atlas-rotator's last use of it, the mint of
 * step 3, came before). None when the replaced value names no Atlas secret (it is then retired at the promotion,
 * placed by evidence, as before).
 */
export function planOldSecretRetirement(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  oldSecretId: AtlasSecretId | undefined,
): RetirementRecord | undefined {
  const old = oldSecretId ?? read.current.atlasSecretId;
  if (old === undefined) return undefined;
  const grace = effectiveGrace(
    ctx.settings.oldSecretGraceHours,
    read.description.tags[GRACE_TAG],
    run.retireNow,
  );
  if (grace.ignoredTag !== undefined) {
    ctx.logger.warn('ignoring an invalid grace tag; OLD_SECRET_GRACE_HOURS applies', {
      rotationId: run.token,
      secretArn: read.description.arn,
      tag: GRACE_TAG,
      problem: grace.ignoredTag,
      graceHours: grace.hours,
    });
  }
  if (grace.reason === 'now') {
    ctx.logger.warn('retiring the old Atlas secret at the promotion: requested as leaked', {
      rotationId: run.token,
      secretArn: read.description.arn,
      oldAtlasSecretId: old,
    });
  }
  return planRetirement({
    oldAtlasSecretId: old,
    now: ctx.clock.now(),
    graceHours: grace.hours,
    reason: grace.reason,
  });
}

/**
 * Atlas refused the create. When another run claimed or stored an attempt since this run read the secret (two
 * claims made at the same moment), that run took the one free slot: this run gives way, retryably, rather than
 * failing the request for good. Otherwise the refusal stands.
 */
export async function refusedBecauseOfAnotherRun(
  ctx: StepContext,
  read: SecretRead,
  ownCredentialId: string,
  refusal: unknown,
): Promise<unknown> {
  try {
    return (await anotherRunSince(ctx, read, ownCredentialId)) ?? refusal;
  } catch {
    return refusal;
  }
}

/** ROTATION_IN_PROGRESS when another run claimed or stored an attempt since this run read the secret. */
async function anotherRunSince(
  ctx: StepContext,
  read: SecretRead,
  ownCredentialId: string,
): Promise<RotationInProgressError | undefined> {
  const versions = await ctx.store.listVersions(read.description.arn);
  const ids = new Set(versions.map((v) => v.versionId));
  // Only versions written since the read: a claim this run saw was the room plan's to weigh (or fence).
  const since = versions.filter((v) => !read.versions.some((r) => r.versionId === v.versionId));
  const other =
    since
      .map((v) => claimedCredentialId(v.versionId))
      .find((id) => id !== undefined && id !== ownCredentialId && !ids.has(id)) ??
    since.find(
      (v) =>
        v.stages.includes('AWSPENDING') &&
        !v.stages.includes('AWSCURRENT') &&
        v.versionId !== ownCredentialId &&
        !isBookkeepingVersion(v.versionId),
    )?.versionId;
  if (other === undefined) return undefined;
  return new RotationInProgressError(read.description.name, other, 'now (it took the free slot)');
}

/**
 * A create before any room is made: undefined when Atlas refuses it with a 400 or a 409 (no free slot, another
 * create on the account, a lifetime above the org's maximum), which created nothing. Anything else stands: a
 * create without an answer may have created (never retried).
 */
export async function createIfRoom(
  ctx: StepContext,
  target: AtlasTarget,
  acting: ActingCredential,
): Promise<Awaited<ReturnType<AtlasServiceAccounts['createSecret']>> | undefined> {
  try {
    return await ctx.atlas.createSecret(target, acting, ctx.settings.secretExpiresAfterHours);
  } catch (error) {
    if (error instanceof AtlasApiError && (error.atlasStatus === 400 || error.atlasStatus === 409)) {
      return undefined;
    }
    throw error;
  }
}

export async function createSecret(ctx: StepContext, target: AtlasTarget, acting: ActingCredential) {
  const hours = ctx.settings.secretExpiresAfterHours;
  try {
    return await ctx.atlas.createSecret(target, acting, hours);
  } catch (error) {
    // A 400 created nothing, so asking again is safe: Atlas refuses lifetimes above the org's maximum.
    if (!(error instanceof AtlasApiError) || error.code !== 'ATLAS_BAD_REQUEST') throw error;
    const max = await ctx.atlas.maxSecretValidityHours(target, acting);
    if (max === undefined || max >= hours) throw error;
    const clamped = Math.max(MIN_SECRET_HOURS, max);
    ctx.logger.info('clamping secret lifetime to the org maximum', {
      requestedHours: hours,
      hours: clamped,
    });
    return ctx.atlas.createSecret(target, acting, clamped);
  }
}
