import { AtlasSecretLimitError, RotationInProgressError } from '../domain/errors.js';
import type { AtlasSecretId, RotationToken } from '../domain/identifiers.js';
import {
  type AtlasSecretInfo,
  type DeletionReason,
  MIN_SECRET_HOURS,
  planRoom,
} from '../domain/room-plan.js';
import type { RotationMode } from '../domain/rotation-metadata.js';
import type { FailureFacts } from '../domain/rotation-run.js';
import type { ActingCredential, AtlasServiceAccounts } from './ports/atlas-service-accounts.js';
import type { Clock } from './ports/clock.js';
import type { IdGenerator } from './ports/id-generator.js';
import type { Logger } from './ports/logger.js';
import type { SecretStore } from './ports/secret-store.js';
import { claimFacts, holdOldSecret, replacedSecretIds, roomPlanInput } from './steps/make-room.js';
import { readAndDecide } from './steps/read-secret.js';
import { rolledBack, wait } from './steps/settled.js';
import {
  failureFacts,
  type RotateSecretSettings,
  type Run,
  type SecretRead,
  StepContext,
} from './steps/step-context.js';

export interface PlanRotationCommand {
  /** Secret name or ARN. */
  readonly secretId: string;
  /** The token the planned rotation would run with: a new one predicts a new rotation. */
  readonly token: RotationToken;
  /** As `rotate --retire-old-now`: the old value leaked, its Atlas secret goes at once (no grace). */
  readonly retireOldNow?: boolean;
}

/** One thing the rotation would do, in order. */
export type PlannedAction =
  | {
      readonly action: 'delete-atlas-secret';
      readonly atlasSecretId: AtlasSecretId;
      readonly reason: DeletionReason;
    }
  | {
      readonly action: 'create-atlas-secret';
      readonly expiresAfterHours: number;
      /** The configured lifetime, when the org's maximum is lower and the rotation would clamp to it. */
      readonly clampedFromHours: number | undefined;
    }
  | { readonly action: 'store-verify-promote'; readonly retireAtlasSecretId: AtlasSecretId | undefined }
  /** Another run's work stands in the way; the rotation finishes or fences it, then reads again and plans anew. */
  | { readonly action: 'fence-stale-claim'; readonly credentialId: string }
  | { readonly action: 'adopt-pending-credential'; readonly credentialId: string }
  | { readonly action: 'finish-rollback'; readonly credentialId: string }
  | { readonly action: 'finish-own-rotation'; readonly credentialId: string }
  | { readonly action: 'verify-own-credential'; readonly credentialId: string };

/** A dry run's report: plain data without secret material. */
export interface RotationPlan {
  readonly secretId: string;
  readonly secretArn: string | undefined;
  readonly secretName: string | undefined;
  /** `rotate`: a rotation would go ahead; `clear-the-way`: it would first finish or fence another run's work; `done`: this token's rotation completed already; `stop`: it would fail. */
  readonly verdict: 'rotate' | 'clear-the-way' | 'done' | 'stop';
  readonly mode: RotationMode | undefined;
  readonly flavor: string | undefined;
  readonly origin: string | undefined;
  readonly adminSecretArn: string | undefined;
  readonly orgId: string | undefined;
  readonly projectId: string | undefined;
  readonly clientId: string | undefined;
  /** The step the protocol names (ADR 0007), undefined when the read failed. */
  readonly step: string | undefined;
  /** The account's secrets as Atlas listed them (ids and dates only), when the plan got that far. */
  readonly atlasSecrets:
    | readonly Pick<AtlasSecretInfo, 'id' | 'createdAt' | 'expiresAt' | 'lastUsedAt'>[]
    | undefined;
  readonly actions: readonly PlannedAction[];
  /** Why the rotation would stop: the error code, message and retryability a rotation would report. */
  readonly stop: Omit<FailureFacts, 'secretArn'> | undefined;
}

/**
 * A dry run of one rotation: reads what RotateSecret reads (by the same read-and-decide path and the same room
 * plan) and reports what it would do, or why it would stop. Writes nothing to the secret store and creates or
 * deletes nothing in Atlas; in self mode it mints (and at the end revokes) an OAuth token, as reading needs one.
 */
export class PlanRotation {
  private readonly ctx: StepContext;

  constructor(
    store: SecretStore,
    private readonly atlas: AtlasServiceAccounts,
    clock: Clock,
    logger: Logger,
    private readonly settings: RotateSecretSettings,
    ids: IdGenerator,
  ) {
    this.ctx = new StepContext(store, atlas, clock, logger, settings, ids);
  }

  async execute(command: PlanRotationCommand): Promise<RotationPlan> {
    const run: Run = {
      stage: 'read-secret',
      token: command.token,
      stopAfter: undefined,
      entry: 'request',
      startedAt: this.ctx.clock.now().toISOString(),
      secretArn: undefined,
      retireNow: command.retireOldNow === true,
    };
    let read: SecretRead | undefined;
    let step: string | undefined;
    let listed: AtlasSecretInfo[] | undefined;
    const used: ActingCredential[] = [];
    const plan = (
      verdict: RotationPlan['verdict'],
      actions: PlannedAction[],
      stop?: unknown,
    ): RotationPlan => {
      const facts = stop === undefined ? undefined : failureFacts(run, stop);
      return {
        secretId: command.secretId,
        secretArn: read?.description.arn ?? run.secretArn,
        secretName: read?.description.name,
        verdict,
        mode: read?.metadata.mode,
        flavor: read?.metadata.apiFlavor,
        origin: read?.target.baseUrl,
        adminSecretArn: read?.metadata.adminSecretArn,
        orgId: read?.current.orgId,
        projectId: read?.current.projectId,
        clientId: read?.current.clientId,
        step,
        atlasSecrets: listed?.map((s) => ({
          id: s.id,
          createdAt: s.createdAt,
          expiresAt: s.expiresAt,
          lastUsedAt: s.lastUsedAt,
        })),
        actions,
        stop: facts === undefined ? undefined : withoutArn(facts),
      };
    };
    try {
      const decided = await readAndDecide(this.ctx, command.secretId, run);
      read = decided.read;
      const next = decided.step;
      step = next.kind;
      switch (next.kind) {
        case 'already-completed':
          return plan('done', []);
        case 'rolled-back':
        case 'wait':
          // The rotation's own refusals, thrown by the same units it runs.
          run.stage = 'read-secret';
          if (next.kind === 'wait') wait(read, next.credentialId, next.until);
          rolledBack(run);
          break;
        case 'fence':
          return plan('clear-the-way', [{ action: 'fence-stale-claim', credentialId: next.credentialId }]);
        case 'adopt':
          return plan('clear-the-way', [
            { action: 'adopt-pending-credential', credentialId: next.credentialId },
          ]);
        case 'finish-rollback':
          return plan('clear-the-way', [{ action: 'finish-rollback', credentialId: next.credentialId }]);
        case 'finish':
          return plan('done', [{ action: 'finish-own-rotation', credentialId: next.credentialId }]);
        case 'verify':
          return plan('rotate', [{ action: 'verify-own-credential', credentialId: next.credentialId }]);
        case 'start':
          break;
      }
      run.stage = 'make-room';
      const acting: ActingCredential = read.admin ?? read.current;
      used.push(acting);
      const provenAt = this.ctx.clock.now().getTime();
      // The room plan weighs AWSPREVIOUS's secret: its value is read beside the mint (ADR 0016). The mint's
      // failure stands first, as in the rotation, where it comes before any room is made.
      const [loaded, minted] = await Promise.allSettled([
        read.withPrevious(),
        read.admin === undefined ? this.atlas.proveCredential(read.target, read.current) : undefined,
      ]);
      if (minted.status === 'rejected') throw minted.reason;
      if (loaded.status === 'rejected') throw loaded.reason;
      const current = loaded.value;
      listed = await this.atlas.listSecrets(current.target, acting);
      const secrets = listed;
      const [replaced, claims] = await Promise.all([
        replacedSecretIds(this.ctx, current, secrets),
        claimFacts(this.ctx, current, next.credentialId, secrets),
      ]);
      const room = planRoom(
        roomPlanInput(
          this.ctx,
          current,
          secrets,
          replaced,
          claims,
          current.admin === undefined ? provenAt : undefined,
        ),
      );
      if (!room.ok) {
        const refusal = room.error;
        if (refusal.kind === 'fence') {
          return plan(
            'clear-the-way',
            refusal.credentialIds.map((credentialId) => ({
              action: 'fence-stale-claim' as const,
              credentialId,
            })),
          );
        }
        throw refusal.kind === 'limit'
          ? new AtlasSecretLimitError(refusal.blockingSecretIds, refusal.currentKnown)
          : new RotationInProgressError(
              current.description.name,
              refusal.credentialId,
              new Date(Date.parse(refusal.claimedAt) + this.settings.leaseMs).toISOString(),
            );
      }
      // The grace of the secret the last rotation replaced (ADR 0009) holds the slot as it holds the rotation's.
      holdOldSecret(this.ctx, current, run, secrets, room.value.deletions, room.value.currentSecretId);
      run.stage = 'create';
      const hours = this.settings.secretExpiresAfterHours;
      const max = await this.atlas.maxSecretValidityHours(current.target, acting);
      const clamped = max !== undefined && max < hours ? Math.max(MIN_SECRET_HOURS, max) : undefined;
      return plan('rotate', [
        ...room.value.deletions.map((d) => ({
          action: 'delete-atlas-secret' as const,
          atlasSecretId: d.id,
          reason: d.reason,
        })),
        {
          action: 'create-atlas-secret',
          expiresAfterHours: clamped ?? hours,
          clampedFromHours: clamped === undefined ? undefined : hours,
        },
        { action: 'store-verify-promote', retireAtlasSecretId: room.value.currentSecretId },
      ]);
    } catch (error) {
      return plan('stop', [], error);
    } finally {
      if (used.length > 0) await this.atlas.endRotation(used);
    }
  }
}

function withoutArn(facts: FailureFacts): Omit<FailureFacts, 'secretArn'> {
  const { secretArn: _arn, ...rest } = facts;
  return rest;
}
