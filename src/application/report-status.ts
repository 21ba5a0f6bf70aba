import { RotatorError } from '../domain/errors.js';
import { currentAtlasSecret, hoursToExpiry } from '../domain/expiry-check.js';
import { type AtlasSecretId, parseRotationToken } from '../domain/identifiers.js';
import { decideRetirement } from '../domain/retirement.js';
import { type AtlasSecretInfo, placeCredential } from '../domain/room-plan.js';
import { lastCompletedRotationAt } from '../domain/rotation-interval.js';
import { isManaged } from '../domain/rotation-metadata.js';
import {
  CLAIM_LABEL,
  claimedCredentialId,
  contentOf,
  holderOf,
  openClaims,
} from '../domain/rotation-protocol.js';
import { mapLimited } from './map-limited.js';
import type { ActingCredential, AtlasServiceAccounts } from './ports/atlas-service-accounts.js';
import type { Clock } from './ports/clock.js';
import type { IdGenerator } from './ports/id-generator.js';
import type { Logger } from './ports/logger.js';
import type { SecretStore } from './ports/secret-store.js';
import { readSecret } from './steps/read-secret.js';
import {
  type ReadWithPrevious,
  type RotateSecretSettings,
  type Run,
  type SecretRead,
  StepContext,
} from './steps/step-context.js';

export interface StatusSettings {
  /** Secrets looked at at once (SWEEP_CONCURRENCY). */
  readonly concurrency: number;
  /** A current Atlas secret expiring within this many hours needs attention (ROTATE_BEFORE_EXPIRY_HOURS). */
  readonly rotateBeforeExpiryHours: number;
}

export interface StatusCommand {
  /** Names or ARNs; empty: every managed secret (with `namePrefix`, those whose name starts with it). */
  readonly secretIds: readonly string[];
  readonly namePrefix: string | undefined;
}

export interface Problem {
  readonly errorCode: string;
  readonly message: string;
  readonly retryable: boolean;
}

export interface OldSecretState {
  readonly atlasSecretId: string;
  /** `in-grace` until `retireAfter`; `in-use` by a consumer since `lastUsedAt`; `due` (the sweep or next rotation deletes it); `unrecorded`: no retirement record (a rotation before ADR 0009, or its delete-old step did not run). */
  readonly state: 'in-grace' | 'in-use' | 'due' | 'unrecorded';
  readonly retireAfter: string | undefined;
  readonly lastUsedAt: string | undefined;
  /** `grace` or `now` (a leaked credential), as recorded. */
  readonly reason: string | undefined;
}

export interface Attention {
  /** Stable: `read-failed`, `atlas-unreadable`, `expired`, `expires-soon`, `current-unknown`, `rotation-in-progress`, `stale-claim`, `last-rotation-failed`, `awaiting-retirement`, `old-secret-in-use`. */
  readonly code: string;
  readonly reason: string;
}

export interface SecretStatusEntry {
  readonly secretId: string;
  readonly secretArn: string | undefined;
  readonly secretName: string | undefined;
  readonly mode: string | undefined;
  readonly flavor: string | undefined;
  readonly origin: string | undefined;
  readonly adminSecretArn: string | undefined;
  /** The account's secrets (ids, dates; never a value), and which version of the secret names each. */
  readonly atlasSecrets:
    | readonly {
        readonly id: string;
        readonly createdAt: string;
        readonly expiresAt: string;
        readonly lastUsedAt: string | undefined;
        readonly heldBy: 'AWSCURRENT' | 'AWSPREVIOUS' | undefined;
      }[]
    | undefined;
  readonly current:
    | {
        readonly atlasSecretId: string;
        readonly expiresAt: string;
        readonly hoursToExpiry: number;
        readonly inferred: boolean;
      }
    | undefined;
  readonly lastRotation:
    | { readonly at: string; readonly outcome: string; readonly requestId: string | undefined }
    | undefined;
  readonly rotationInProgress: { readonly credentialId: string; readonly claimedAt: string } | undefined;
  /** AWSPREVIOUS's Atlas secret, still listed by Atlas: the next rotation (or its retire step) deletes it. */
  /**
   * The Atlas secret the last rotation replaced, while Atlas still lists it: from the retirement the AWSCURRENT
   * value records (ADR 0009; `state` as `decideRetirement` says), else AWSPREVIOUS's secret (`unrecorded`).
   */
  readonly awaitingRetirement: OldSecretState | undefined;
  readonly readError: Problem | undefined;
  readonly atlasError: Problem | undefined;
  readonly attention: readonly Attention[];
}

export interface StatusReport {
  readonly generatedAt: string;
  readonly rotateBeforeExpiryHours: number;
  readonly secrets: readonly SecretStatusEntry[];
  readonly summary: { readonly secrets: number; readonly needAttention: number };
}

/** A token no rotation uses: status reads the secret as a new rotation would, and acts on nothing. */
const STATUS_TOKEN = parseRotationToken('atlas-rotator-status-read-only-0000');

/**
 * What every managed secret looks like now: read through the rotation's own read step (binding, identity pin,
 * allow-list, origin) and the account's secrets as Atlas lists them to the credential a rotation would use.
 * Reads only; a secret that cannot be read, or whose Atlas account cannot, is reported and the rest go on.
 */
export class ReportStatus {
  private readonly ctx: StepContext;

  constructor(
    private readonly store: SecretStore,
    private readonly atlas: AtlasServiceAccounts,
    private readonly clock: Clock,
    logger: Logger,
    rotation: RotateSecretSettings,
    ids: IdGenerator,
    private readonly settings: StatusSettings,
  ) {
    this.ctx = new StepContext(store, atlas, clock, logger, rotation, ids);
  }

  async execute(command: StatusCommand): Promise<StatusReport> {
    const ids =
      command.secretIds.length > 0
        ? [...command.secretIds]
        : (
            await this.store.listManagedSecrets(
              command.namePrefix === undefined ? {} : { namePrefix: command.namePrefix },
            )
          )
            .filter((s) => isManaged(s.tags))
            .map((s) => s.arn);
    const admins: ActingCredential[] = [];
    const entries = await mapLimited(ids, this.settings.concurrency, (id) => this.one(id, admins));
    await this.atlas.endRotation(admins);
    entries.sort((a, b) => ((a.secretName ?? a.secretId) < (b.secretName ?? b.secretId) ? -1 : 1));
    return {
      generatedAt: this.clock.now().toISOString(),
      rotateBeforeExpiryHours: this.settings.rotateBeforeExpiryHours,
      secrets: entries,
      summary: {
        secrets: entries.length,
        needAttention: entries.filter((e) => e.attention.length > 0).length,
      },
    };
  }

  private async one(secretId: string, admins: ActingCredential[]): Promise<SecretStatusEntry> {
    const run: Run = {
      stage: 'read-secret',
      token: STATUS_TOKEN,
      stopAfter: undefined,
      entry: 'request',
      startedAt: this.clock.now().toISOString(),
      secretArn: undefined,
      retireNow: false,
    };
    let read: ReadWithPrevious;
    try {
      // Status weighs AWSPREVIOUS's secret (which one it is, whether it awaits retirement): read with it.
      read = await (await readSecret(this.ctx, secretId, run)).withPrevious();
    } catch (error) {
      const problem = problemOf(error);
      return {
        ...empty(secretId, run.secretArn),
        readError: problem,
        attention: [{ code: 'read-failed', reason: `${problem.errorCode}: ${problem.message}` }],
      };
    }
    const attention: Attention[] = [];
    const nowMs = this.clock.now().getTime();
    const acting = read.admin ?? read.current;
    let secrets: AtlasSecretInfo[] | undefined;
    let atlasError: Problem | undefined;
    try {
      secrets = await this.atlas.listSecrets(read.target, acting);
    } catch (error) {
      atlasError = problemOf(error);
      attention.push({
        code: 'atlas-unreadable',
        reason: `${atlasError.errorCode}: ${atlasError.message}`,
      });
    } finally {
      if (read.admin === undefined) await this.atlas.endRotation([read.current]);
      else if (!admins.includes(read.admin)) admins.push(read.admin);
    }
    const found =
      secrets === undefined ? undefined : currentAtlasSecret(secrets, read.current.atlasSecretId, nowMs);
    // AWSPREVIOUS's Atlas secret: the one its value records, or the one evidence places (a value never rotated).
    const previousId =
      secrets === undefined ||
      read.previous === undefined ||
      read.previous.clientSecret.equals(read.current.clientSecret)
        ? undefined
        : placeCredential(
            secrets.filter((s) => s.id !== found?.id),
            read.previous,
            undefined,
            this.ctx.settings.orphanSkewMs,
          );
    const current =
      found === undefined
        ? undefined
        : {
            atlasSecretId: found.id,
            expiresAt: found.expiresAt,
            hoursToExpiry: hoursToExpiry(found.expiresAt, nowMs),
            inferred: found.inferred,
          };
    if (secrets !== undefined && current === undefined) {
      attention.push({
        code: 'current-unknown',
        reason: `which of the account's ${secrets.length} Atlas secrets AWSCURRENT holds cannot be told; a rotation would refuse to delete any`,
      });
    }
    if (current !== undefined && current.hoursToExpiry <= 0) {
      attention.push({
        code: 'expired',
        reason: `AWSCURRENT's Atlas secret ${current.atlasSecretId} has expired: consumers fail now; rotate it`,
      });
    } else if (current !== undefined && current.hoursToExpiry <= this.settings.rotateBeforeExpiryHours) {
      attention.push({
        code: 'expires-soon',
        reason: `AWSCURRENT's Atlas secret expires in ${current.hoursToExpiry} h (within ROTATE_BEFORE_EXPIRY_HOURS=${this.settings.rotateBeforeExpiryHours}); the sweep requests its rotation`,
      });
    }
    const awaitingRetirement =
      secrets === undefined
        ? undefined
        : this.retirementOf(read, secrets, current?.atlasSecretId, previousId, nowMs);
    const note = awaitingRetirement === undefined ? undefined : retirementAttention(awaitingRetirement);
    if (note !== undefined) attention.push(note);
    const claims = openClaims(read.view);
    const fresh = claims.find((c) => c.fresh);
    if (fresh !== undefined) {
      attention.push({
        code: 'rotation-in-progress',
        reason: `a rotation claimed the secret at ${fresh.claimedAt}`,
      });
    }
    for (const stale of claims.filter((c) => !c.fresh)) {
      attention.push({
        code: 'stale-claim',
        reason: `a claim from ${stale.claimedAt} was never closed (its run died); the next rotation fences it`,
      });
    }
    const lastRotation = await this.lastRotation(read);
    if (lastRotation?.outcome.startsWith('failed')) {
      attention.push({
        code: 'last-rotation-failed',
        reason: `the last attempt (${lastRotation.at}) ${lastRotation.outcome}; see the rotation-failed event or run plan`,
      });
    }
    return {
      secretId,
      secretArn: read.description.arn,
      secretName: read.description.name,
      mode: read.metadata.mode,
      flavor: read.metadata.apiFlavor,
      origin: read.target.baseUrl,
      adminSecretArn: read.metadata.adminSecretArn,
      atlasSecrets: secrets?.map((s) => ({
        id: s.id,
        createdAt: s.createdAt,
        expiresAt: s.expiresAt,
        lastUsedAt: s.lastUsedAt,
        heldBy:
          s.id === current?.atlasSecretId ? 'AWSCURRENT' : s.id === previousId ? 'AWSPREVIOUS' : undefined,
      })),
      current,
      lastRotation,
      rotationInProgress:
        fresh === undefined ? undefined : { credentialId: fresh.credentialId, claimedAt: fresh.claimedAt },
      awaitingRetirement,
      readError: undefined,
      atlasError,
      attention,
    };
  }

  private retirementOf(
    read: SecretRead,
    secrets: readonly AtlasSecretInfo[],
    currentId: AtlasSecretId | undefined,
    previousId: AtlasSecretId | undefined,
    nowMs: number,
  ): OldSecretState | undefined {
    const record = read.current.retirement;
    if (record !== undefined) {
      const decision = decideRetirement(record, secrets, read.current.atlasSecretId ?? currentId, nowMs);
      const base = {
        atlasSecretId: record.oldAtlasSecretId,
        retireAfter: record.retireAfter,
        reason: record.reason,
        lastUsedAt: undefined,
      };
      switch (decision.kind) {
        case 'gone':
        case 'current':
          return undefined;
        case 'in-grace':
          return { ...base, state: 'in-grace' };
        case 'in-use':
          return { ...base, state: 'in-use', lastUsedAt: decision.lastUsedAt };
        case 'retire':
          return { ...base, state: 'due' };
      }
    }
    if (previousId === undefined || previousId === currentId || !secrets.some((s) => s.id === previousId)) {
      return undefined;
    }
    return {
      atlasSecretId: previousId,
      state: 'unrecorded',
      retireAfter: undefined,
      lastUsedAt: undefined,
      reason: undefined,
    };
  }

  /**
   * The last attempt, from the versions: the one labelled `atlas-rotator:claim` (the latest claim or tombstone)
   * says which request tried last; AWSCURRENT's CreatedDate says when the last rotation completed.
   */
  private async lastRotation(read: SecretRead): Promise<SecretStatusEntry['lastRotation']> {
    const completedAt = lastCompletedRotationAt(read.view);
    const currentId = holderOf(read.view, 'AWSCURRENT')?.versionId;
    const latest = read.versions.find((v) => v.stages.includes(CLAIM_LABEL));
    if (latest !== undefined) {
      const content = contentOf(await this.ctx.valueOrPlaceholder(read.description.arn, latest.versionId));
      const credentialId = claimedCredentialId(latest.versionId) ?? latest.versionId;
      if (content.kind === 'tombstone') {
        return {
          at: latest.createdAt,
          outcome: `failed (${content.tombstone.reason})`,
          requestId: content.tombstone.token,
        };
      }
      if (content.kind === 'claim') {
        const outcome =
          credentialId === currentId
            ? 'completed'
            : read.versions.some((v) => v.versionId === credentialId)
              ? 'stored, not promoted'
              : 'claimed';
        return {
          at: credentialId === currentId && completedAt !== undefined ? completedAt : latest.createdAt,
          outcome,
          requestId: content.claim.token,
        };
      }
    }
    if (completedAt === undefined) return undefined;
    return { at: completedAt, outcome: 'completed', requestId: undefined };
  }
}

/** In grace is the plan working; due, in use or unrecorded is worth a look. */
function retirementAttention(old: OldSecretState): Attention | undefined {
  switch (old.state) {
    case 'in-grace':
      return undefined;
    case 'in-use':
      return {
        code: 'old-secret-in-use',
        reason: `a consumer minted a token with the replaced Atlas secret ${old.atlasSecretId} at ${old.lastUsedAt ?? '?'}, after the rotation: it still reads the old value; it is kept until it expires (rotate --retire-old-now if the value leaked)`,
      };
    case 'due':
      return {
        code: 'awaiting-retirement',
        reason: `the replaced Atlas secret ${old.atlasSecretId} was due for retirement at ${old.retireAfter ?? '?'} and is still in Atlas; the next sweep (or rotation) deletes it`,
      };
    case 'unrecorded':
      return {
        code: 'awaiting-retirement',
        reason: `AWSPREVIOUS's Atlas secret ${old.atlasSecretId} is still in Atlas and no retirement is recorded: the rotation that replaced it did not finish its delete-old step; 'rotate' with that rotation's request id finishes it (the next rotation deletes it to make room)`,
      };
  }
}

function problemOf(error: unknown): Problem {
  if (error instanceof RotatorError)
    return { errorCode: error.code, message: error.message, retryable: error.retryable };
  return {
    errorCode: 'INTERNAL_ERROR',
    message: 'An unexpected error occurred; see the logs',
    retryable: true,
  };
}

function empty(secretId: string, secretArn: string | undefined): SecretStatusEntry {
  return {
    secretId,
    secretArn,
    secretName: undefined,
    mode: undefined,
    flavor: undefined,
    origin: undefined,
    adminSecretArn: undefined,
    atlasSecrets: undefined,
    current: undefined,
    lastRotation: undefined,
    rotationInProgress: undefined,
    awaitingRetirement: undefined,
    readError: undefined,
    atlasError: undefined,
    attention: [],
  };
}
