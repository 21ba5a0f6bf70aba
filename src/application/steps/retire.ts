import type { AtlasCredential } from '../../domain/credential.js';
import type { AtlasSecretId } from '../../domain/identifiers.js';
import { type RetirementRecord, retiresAtPromotion } from '../../domain/retirement.js';
import { maskMatches, placeCredential } from '../../domain/room-plan.js';
import type { RotationCompletedEvent, RotationStepEvent } from '../../domain/rotation-run.js';
import { retireIfDue } from '../old-secret-retirement.js';
import type { Run, SecretRead, StepContext } from './step-context.js';

/**
 * Step 8: delete the Atlas secret the promotion replaced (`replaced`'s: known from room-making or its value, or
 * placed by evidence), and revoke this run's tokens.
 */
export async function retire(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  fresh: AtlasCredential,
  newSecretId: AtlasSecretId,
  replaced: AtlasCredential | undefined,
  knownOld: AtlasSecretId | undefined,
  replay = false,
): Promise<RotationCompletedEvent> {
  run.stage = 'delete-old';
  const record = fresh.retirement;
  if (record !== undefined && !run.retireNow && !retiresAtPromotion(record)) {
    return holdInGrace(ctx, read, run, fresh, newSecretId, replaced, record, replay);
  }
  // Right after a promotion the replaced credential still works and its token is cached: it deletes its own
  // secret while the new credential's token is revoked in parallel. A replay acts as the current credential.
  const acting = read.admin ?? (replay || replaced === undefined ? fresh : replaced);
  let old = knownOld ?? replaced?.atlasSecretId;
  if (old === undefined && replaced !== undefined) {
    // A value atlas-rotator never wrote, not placed before: ask Atlas for evidence.
    const secrets = await ctx.step(run, 'delete-old', () => ctx.atlas.listSecrets(read.target, acting));
    const others = secrets.filter((s) => s.id !== newSecretId);
    old = placeCredential(others, replaced, undefined, ctx.settings.orphanSkewMs);
    if (old === undefined && others.length === 1 && !others.some((s) => maskMatches(s, fresh.clientSecret))) {
      old = others[0]?.id;
    }
  }
  const deleted: AtlasSecretId[] = [];
  const deleting =
    old === undefined || old === newSecretId
      ? Promise.resolve(false)
      : ctx.step(run, 'delete-old', () => ctx.atlas.deleteSecret(read.target, old, acting), {
          atlasSecretId: old,
        });
  // The rotation is over for the new credential: its tokens are revoked off the critical path (the Atlas client
  // waits for calls still running with them). The replaced credential's tokens died with its secret: the Atlas
  // client forgot them.
  ctx.afterRun("revoke the rotation's tokens", run, () => ctx.atlas.endRotation([fresh]));
  if ((await deleting) && old !== undefined) deleted.push(old);
  const facts =
    record === undefined
      ? undefined
      : {
          oldAtlasSecretId: record.oldAtlasSecretId,
          retireAfter: run.retireNow ? record.supersededAt : record.retireAfter,
          reason: run.retireNow ? ('now' as const) : record.reason,
          retired: old === record.oldAtlasSecretId,
        };
  return ctx.completed(read, run, fresh, newSecretId, fresh.atlasSecretExpiresAt, deleted, false, facts);
}

/**
 * The replaced secret is in its grace (ADR 0009): it stays, as AWSPREVIOUS, for the sweep to retire when due. A
 * replay (the rotation was promoted before) retires it now if it is due already — opportunistically, by the same
 * rule as the sweep. Every token this run minted is revoked: the replaced credential's own included, so that
 * atlas-rotator leaves no use of the old secret behind.
 */
async function holdInGrace(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  fresh: AtlasCredential,
  newSecretId: AtlasSecretId,
  replaced: AtlasCredential | undefined,
  record: RetirementRecord,
  replay: boolean,
): Promise<RotationCompletedEvent> {
  const acting = read.admin ?? fresh;
  let retired = false;
  const deleted: AtlasSecretId[] = [];
  try {
    if (replay) {
      const secrets = await ctx.step(run, 'delete-old', () => ctx.atlas.listSecrets(read.target, acting));
      const attempt = await retireIfDue(
        ctx.atlas,
        read.target,
        acting,
        record,
        secrets,
        newSecretId,
        ctx.clock.now().getTime(),
        false,
        (action) => ctx.step(run, 'delete-old', action, { atlasSecretId: record.oldAtlasSecretId }),
      );
      if (attempt.deleted) deleted.push(record.oldAtlasSecretId);
      retired = attempt.decision.kind === 'gone' || attempt.decision.kind === 'retire';
    } else {
      ctx.logger.info('old Atlas secret kept for its grace', {
        rotationId: run.token,
        secretArn: read.description.arn,
        oldAtlasSecretId: record.oldAtlasSecretId,
        retireAfter: record.retireAfter,
      });
    }
  } finally {
    // Off the critical path: the outcome does not wait for the revocations (RotateSecret.settled does).
    ctx.afterRun("revoke the rotation's tokens", run, () =>
      ctx.atlas.endRotation(replaced === undefined ? [fresh] : [fresh, replaced]),
    );
  }
  return ctx.completed(read, run, fresh, newSecretId, fresh.atlasSecretExpiresAt, deleted, false, {
    oldAtlasSecretId: record.oldAtlasSecretId,
    retireAfter: record.retireAfter,
    reason: record.reason,
    retired,
  });
}

/** The token's rotation is current already: retire what it replaced if still there (AWSPREVIOUS's secret). */
export async function finish(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  credentialId: string,
): Promise<RotationStepEvent> {
  const newSecretId = ctx.credentialContent(read, credentialId);
  const { previous } = await read.withPrevious();
  if (previous === undefined || previous.clientSecret.equals(read.current.clientSecret)) {
    return ctx.completed(read, run, read.current, newSecretId, read.current.atlasSecretExpiresAt, [], true);
  }
  const event = await retire(ctx, read, run, read.current, newSecretId, previous, undefined, true);
  return {
    ...event,
    facts: { ...event.facts, alreadyCompleted: event.facts.deletedAtlasSecretIds.length === 0 },
  };
}
