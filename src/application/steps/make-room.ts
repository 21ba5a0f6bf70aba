import {
  AtlasSecretLimitError,
  OldSecretInGraceError,
  OldSecretInUseError,
  RotationInProgressError,
} from '../../domain/errors.js';
import type { AtlasSecretId } from '../../domain/identifiers.js';
import { decideRetirement, retryAtFor } from '../../domain/retirement.js';
import {
  type AtlasSecretInfo,
  type ClaimFact,
  planRoom,
  type RoomPlanInput,
} from '../../domain/room-plan.js';
import {
  attemptState,
  claimedCredentialId,
  contentOf,
  isBookkeepingVersion,
  openClaims,
  versionOf,
} from '../../domain/rotation-protocol.js';
import type { ActingCredential } from '../ports/atlas-service-accounts.js';
import type { ReadWithPrevious, Run, SecretRead, StepContext } from './step-context.js';

/**
 * Makes room for one new secret; resolves AWSCURRENT's Atlas secret (to retire after the promotion). Fences
 * stale claims that may have created a secret in the way, once. The plan weighs AWSPREVIOUS's secret: its value
 * is read here (ADR 0016), beside the account's listing.
 */
export async function makeRoom(
  ctx: StepContext,
  lazyRead: SecretRead,
  run: Run,
  acting: ActingCredential,
  ownCredentialId: string,
  provenAtMs: number | undefined,
): Promise<AtlasSecretId | undefined> {
  const [loaded, listed] = await Promise.allSettled([
    lazyRead.withPrevious(),
    ctx.step(run, 'make-room', () => ctx.atlas.listSecrets(lazyRead.target, acting)),
  ]);
  // The store's failure first, as when AWSPREVIOUS was read before the listing.
  if (loaded.status === 'rejected') throw loaded.reason;
  if (listed.status === 'rejected') throw listed.reason;
  const read = loaded.value;
  const secrets = listed.value;
  const [replaced, facts] = await Promise.all([
    replacedSecretIds(ctx, read, secrets),
    claimFacts(ctx, read, ownCredentialId, secrets),
  ]);
  let claims = facts;
  for (let round = 0; round < 2; round++) {
    const plan = planRoom(roomPlanInput(ctx, read, secrets, replaced, claims, provenAtMs));
    if (plan.ok) {
      holdOldSecret(ctx, read, run, secrets, plan.value.deletions, plan.value.currentSecretId);
      const deleted = await Promise.all(
        plan.value.deletions.map((d) =>
          ctx.step(run, 'make-room', () => ctx.atlas.deleteSecret(read.target, d.id, acting), {
            atlasSecretId: d.id,
            reason: d.reason,
          }),
        ),
      );
      // Reported by the completed event (deletedAtlasSecretIds): only what this run deleted, not one already gone.
      const made = plan.value.deletions.filter((_, i) => deleted[i] === true).map((d) => d.id);
      if (made.length > 0) run.madeRoomBy = [...(run.madeRoomBy ?? []), ...made];
      return plan.value.currentSecretId;
    }
    const refusal = plan.error;
    if (refusal.kind === 'limit') {
      throw new AtlasSecretLimitError(refusal.blockingSecretIds, refusal.currentKnown);
    }
    if (refusal.kind === 'wait') {
      throw new RotationInProgressError(
        read.description.name,
        refusal.credentialId,
        new Date(Date.parse(refusal.claimedAt) + ctx.settings.leaseMs).toISOString(),
      );
    }
    for (const id of refusal.credentialIds) {
      const closed = await ctx.claims.close(read.description.arn, id, {
        token: run.token,
        attempt: 0,
        reason: 'fenced',
      });
      if (closed === 'credential-stored') {
        // That attempt stored its credential after our read: it is pending, not an orphan's creator.
        throw new RotationInProgressError(read.description.name, id, 'now (read again)');
      }
    }
    const fenced = new Set(refusal.credentialIds);
    const closedAt = ctx.clock.now().toISOString();
    claims = claims.map((c) =>
      fenced.has(c.credentialId) ? { ...c, open: false, fresh: false, closedAt } : c,
    );
  }
  throw new RotationInProgressError(read.description.name, run.token, 'now (read again)');
}

/** What the domain's room plan is given: the one input RotateSecret acts on and PlanRotation reports. */
export function roomPlanInput(
  ctx: StepContext,
  read: ReadWithPrevious,
  secrets: readonly AtlasSecretInfo[],
  replacedSecretIds: readonly AtlasSecretId[],
  claims: readonly ClaimFact[],
  provenAtMs: number | undefined,
): RoomPlanInput {
  return {
    secrets,
    nowMs: ctx.clock.now().getTime(),
    current: read.current,
    previous: read.previous,
    replacedSecretIds,
    claims,
    skewMs: ctx.settings.orphanSkewMs,
    currentProvenAtMs: provenAtMs,
    deleteUnknown: ctx.settings.deleteUnknownSecrets,
  };
}

/**
 * A rotation during the grace (ADR 0009): the account's second slot holds the secret the last rotation replaced.
 * It is deleted to make room only when the request asks "now", or its grace is over and no consumer used it since
 * the promotion (or it expired); otherwise the rotation fails retryably, saying when it becomes possible.
 */
export function holdOldSecret(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  secrets: readonly AtlasSecretInfo[],
  deletions: readonly { readonly id: AtlasSecretId }[],
  currentSecretId: AtlasSecretId | undefined,
): void {
  const record = read.current.retirement;
  if (record === undefined || !deletions.some((d) => d.id === record.oldAtlasSecretId)) return;
  const nowMs = ctx.clock.now().getTime();
  const decision = decideRetirement(
    record,
    secrets,
    read.current.atlasSecretId ?? currentSecretId,
    nowMs,
    run.retireNow,
  );
  const retryAt = retryAtFor(decision, nowMs);
  if (decision.kind === 'in-grace' && retryAt !== undefined) {
    throw new OldSecretInGraceError(read.description.name, record.oldAtlasSecretId, retryAt);
  }
  if (decision.kind === 'in-use' && retryAt !== undefined) {
    throw new OldSecretInUseError(
      read.description.name,
      record.oldAtlasSecretId,
      decision.lastUsedAt,
      decision.until,
      retryAt,
    );
  }
  if (decision.kind === 'retire') {
    ctx.logger.info('retiring the old Atlas secret to make room', {
      rotationId: run.token,
      secretArn: read.description.arn,
      oldAtlasSecretId: record.oldAtlasSecretId,
      why: decision.why,
    });
  }
}

/**
 * Claims of other runs, open or closed, with when they were claimed and closed. Whether a closed attempt may
 * have created a secret needs its tombstone's reason: read only when Atlas lists a secret nothing names.
 */
export async function claimFacts(
  ctx: StepContext,
  read: ReadWithPrevious,
  ownCredentialId: string,
  secrets: readonly AtlasSecretInfo[],
): Promise<ClaimFact[]> {
  const named = new Set([read.current.atlasSecretId, read.previous?.atlasSecretId]);
  const unnamed = secrets.some((s) => !named.has(s.id));
  const open = new Map(openClaims(read.view).map((c) => [c.credentialId, c]));
  const facts = await Promise.all(
    read.versions.map(async (v): Promise<ClaimFact | undefined> => {
      const credentialId = claimedCredentialId(v.versionId);
      if (credentialId === undefined || credentialId === ownCredentialId) return undefined;
      const o = open.get(credentialId);
      const closing = versionOf(read.view, credentialId);
      if (o !== undefined || closing === undefined) {
        return {
          credentialId,
          claimedAt: v.createdAt,
          open: true,
          fresh: o?.fresh ?? false,
          closedAt: undefined,
          mayHaveCreated: true,
        };
      }
      let content = read.view.contents.get(credentialId);
      if (content === undefined && unnamed) {
        content = contentOf(await ctx.valueOrPlaceholder(read.description.arn, credentialId));
      }
      const mayHaveCreated = content?.kind === 'tombstone' && content.tombstone.reason !== 'nothing-created';
      return {
        credentialId,
        claimedAt: v.createdAt,
        open: false,
        fresh: false,
        closedAt: closing.createdAt,
        mayHaveCreated,
      };
    }),
  );
  return facts.filter((f): f is ClaimFact => f !== undefined);
}

/**
 * Atlas secrets of versions that were replaced or rolled back. Read only when Atlas lists a secret that neither
 * AWSCURRENT nor AWSPREVIOUS names: the versions created since it are the ones that may name it.
 */
export async function replacedSecretIds(
  ctx: StepContext,
  read: ReadWithPrevious,
  secrets: readonly AtlasSecretInfo[],
): Promise<AtlasSecretId[]> {
  const named = new Set([read.current.atlasSecretId, read.previous?.atlasSecretId]);
  const unnamed = secrets.filter((s) => !named.has(s.id));
  if (unnamed.length === 0) return [];
  const since = Math.min(...unnamed.map((s) => Date.parse(s.createdAt))) - ctx.settings.orphanSkewMs;
  const candidates = read.versions.filter(
    (v) =>
      !isBookkeepingVersion(v.versionId) &&
      !v.stages.includes('AWSCURRENT') &&
      Date.parse(v.createdAt) >= since &&
      !read.values.has(v.versionId),
  );
  const read2 = await Promise.all(
    candidates
      .slice(-20)
      .map(
        async (v) => [v.versionId, await ctx.valueOrPlaceholder(read.description.arn, v.versionId)] as const,
      ),
  );
  const ids: AtlasSecretId[] = [];
  for (const [versionId, value] of [...read2, ...read.values]) {
    const version = versionOf(read.view, versionId);
    if (version === undefined || version.stages.includes('AWSCURRENT')) continue;
    const content = contentOf(value);
    if (content.kind !== 'credential' || content.atlasSecretId === undefined) continue;
    const state = attemptState({ ...read.view, contents: new Map([[versionId, content]]) }, versionId);
    if (state.status === 'superseded' || state.status === 'rolled-back') ids.push(content.atlasSecretId);
  }
  return ids.filter((id) => id !== read.current.atlasSecretId);
}
