import type { AtlasCredential } from '../../domain/credential.js';
import type { AtlasSecretId } from '../../domain/identifiers.js';
import { maskMatches, placeCredential } from '../../domain/room-plan.js';
import type { RotationCompletedEvent, RotationStepEvent } from '../../domain/rotation-run.js';
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
  // The rotation is over for the new credential: its tokens are revoked (after the delete, when it deletes).
  // The replaced credential's tokens died with its secret: the Atlas client forgot them.
  const end = async () => ctx.atlas.endRotation([fresh]);
  const [deletion] = await Promise.allSettled([deleting, end()]);
  if (deletion.status === 'rejected') throw deletion.reason;
  if (deletion.value && old !== undefined) deleted.push(old);
  return ctx.completed(read, run, fresh, newSecretId, fresh.atlasSecretExpiresAt, deleted, false);
}

/** The token's rotation is current already: retire what it replaced if still there (AWSPREVIOUS's secret). */
export async function finish(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  credentialId: string,
): Promise<RotationStepEvent> {
  const newSecretId = ctx.credentialContent(read, credentialId);
  const previous = read.previous;
  if (previous === undefined || previous.clientSecret.equals(read.current.clientSecret)) {
    return ctx.completed(read, run, read.current, newSecretId, read.current.atlasSecretExpiresAt, [], true);
  }
  const event = await retire(ctx, read, run, read.current, newSecretId, previous, undefined, true);
  return {
    ...event,
    facts: { ...event.facts, alreadyCompleted: event.facts.deletedAtlasSecretIds.length === 0 },
  };
}
