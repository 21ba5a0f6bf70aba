import type { AdminCredential, AtlasCredential } from '../../domain/credential.js';
import {
  InvalidInputError,
  OldSecretInGraceError,
  OldSecretInUseError,
  RotationInProgressError,
  RotatorError,
  VerificationFailedError,
} from '../../domain/errors.js';
import type { AtlasSecretId, RotationToken } from '../../domain/identifiers.js';
import type { OldSecretRetirementFacts } from '../../domain/retirement.js';
import type { RotationStage } from '../../domain/rotation.js';
import type { ApiFlavor, RotationMetadata, RotationMode } from '../../domain/rotation-metadata.js';
import type { SecretView } from '../../domain/rotation-protocol.js';
import type {
  FailureFacts,
  RotationCompletedEvent,
  RotationFailedEvent,
  RotationPausedEvent,
} from '../../domain/rotation-run.js';
import type { SecretValue } from '../../domain/secret-value.js';
import { AttemptClaims } from '../attempt-claims.js';
import { credentialOrUndefined, valueOrPlaceholder } from '../identity-guard.js';
import { AtlasApiError } from '../infrastructure-errors.js';
import type { AtlasServiceAccounts, AtlasTarget } from '../ports/atlas-service-accounts.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/id-generator.js';
import type { Logger } from '../ports/logger.js';
import type { ListedVersion, SecretDescription, SecretStore } from '../ports/secret-store.js';

export interface RotateSecretSettings {
  /** Requested lifetime of a new Atlas secret, 8..8766 hours; clamped to the org's maximum when Atlas refuses it. */
  readonly secretExpiresAfterHours: number;
  /** ARNs (or prefixes ending in `*`) of admin secrets that may be used in admin-assisted mode. */
  readonly adminSecretAllowList: readonly string[];
  /** Whether an Atlas secret that belongs to no version may be deleted to make room. */
  readonly deleteUnknownSecrets: boolean;
  /** Least time between completed rotations of one secret (ROTATION_MIN_INTERVAL_MINUTES); 0: no limit. */
  readonly minIntervalMs: number;
  /** OLD_SECRET_GRACE_HOURS: how long a replaced Atlas secret stays valid after the promotion (ADR 0009). */
  readonly oldSecretGraceHours: number;
  /** How long an open claim (no credential version yet) is taken to belong to a live run (ROTATION_LEASE_SECONDS). */
  readonly leaseMs: number;
  /** Waits between verification attempts while Atlas still answers `invalid_client` for a new secret. */
  readonly verifyRetryDelaysMs: readonly number[];
  /**
   * Rotations reading their secret at once in this process (READ_CONCURRENCY); the others wait in arrival order.
   * Unlimited when absent.
   */
  readonly readConcurrency?: number;
  /** Clock skew allowed between Secrets Manager and Atlas when telling which claim may have created a secret. */
  readonly orphanSkewMs: number;
  /** Where credentials may be sent: the default origin, and the allow-list for origins named by a secret. */
  readonly origins: {
    readonly defaultBaseUrl: string;
    readonly allowedBaseUrls: readonly string[];
    readonly allowInsecureHttp: boolean;
  };
}

export interface RotateSecretCommand {
  /** Secret name or ARN. */
  readonly secretId: string;
  /** The rotation's token: the first attempt's VersionId; the same token resumes the same rotation. */
  readonly token: RotationToken;
  /**
   * Stop once the rotation has reached this point (Secrets Manager's rotation-function steps: createSecret
   * stops after `pending-stored`, testSecret after `verified`). Absent: run to completion.
   */
  readonly stopAfter?: 'pending-stored' | 'verified';
  /**
   * Who asks: a request (worker, Lambda, CLI) — refused with ROTATION_CONFLICT when Secrets Manager's native
   * rotation owns the secret — or the rotation function Secrets Manager invokes, which checks the native entry
   * conditions instead (rotation enabled, the token a version of the secret). Default `request`.
   */
  readonly entry?: 'request' | 'rotation-function';
  /**
   * "now": a leaked credential. The Atlas secret this rotation replaces is deleted at the promotion, and one the
   * last rotation left in its grace is deleted to make room; ROTATION_MIN_INTERVAL_MINUTES does not apply.
   */
  readonly retireOldSecret?: 'now';
}

/** Mutable context of one run, so that a failure can say how far it got. */
export interface Run {
  stage: RotationStage;
  readonly token: RotationToken;
  readonly stopAfter: RotateSecretCommand['stopAfter'];
  readonly entry: 'request' | 'rotation-function';
  readonly retireNow: boolean;
  readonly startedAt: string;
  secretArn: string | undefined;
  /**
   * Atlas secrets this run deleted to make room (ADR 0007 step 4), in any round: the completed event reports them
   * with the one the promotion retired (`deletedAtlasSecretIds`).
   */
  madeRoomBy?: AtlasSecretId[];
  /** Known once the secret was read: what the run's metrics are broken down by. */
  mode?: RotationMode;
  flavour?: ApiFlavor;
}

/** Everything one read of the secret gave (ADR 0007 step 1). */
export interface SecretRead {
  readonly description: SecretDescription;
  readonly metadata: RotationMetadata;
  readonly versions: readonly ListedVersion[];
  readonly view: SecretView;
  /**
   * Values read, by VersionId (undefined: RotateSecret's placeholder). AWSPREVIOUS's only where the decision
   * needed it (ADR 0016): `withPrevious` gives the read with it.
   */
  readonly values: ReadonlyMap<string, SecretValue | undefined>;
  readonly currentVersionId: string;
  readonly currentValue: SecretValue;
  readonly current: AtlasCredential;
  /** The version the list named AWSPREVIOUS, if any. */
  readonly previousVersionId: string | undefined;
  readonly admin: AdminCredential | undefined;
  readonly target: AtlasTarget;
  /**
   * This read with AWSPREVIOUS's value (ADR 0016), for the steps that weigh it (making room, finishing a
   * rotation, status). Read on the first call by the VersionId the list named — a version's value never changes,
   * so it is this snapshot's — unless the read has it already; later calls share that one read. A non-retryable
   * store error (not found) means no previous, as before; a retryable one rejects, and the next call reads again.
   */
  withPrevious(): Promise<ReadWithPrevious>;
}

/** A read with AWSPREVIOUS's value: in `values` and `view.contents` when it has one, its credential as `previous`. */
export interface ReadWithPrevious extends SecretRead {
  readonly previous: AtlasCredential | undefined;
}

/** The result of a verification: proven, refused for good, or not known yet (retryable). */
export type Verification =
  | { readonly ok: true }
  | { readonly ok: false; readonly failure: VerificationFailedError };

/**
 * What every step unit of a rotation is given: the ports, the settings, the claims unit, and the helpers they
 * share — `step`, the one wrapper that times and logs every external call (one line each: durationMs, outcome,
 * errorCode), and the builders of the events that end a run.
 */
export class StepContext {
  readonly claims: AttemptClaims;
  /** Work a run starts after its outcome is known (token revocations): off its critical path, see `settled`. */
  readonly #afterRuns = new Set<Promise<void>>();

  constructor(
    readonly store: SecretStore,
    readonly atlas: AtlasServiceAccounts,
    readonly clock: Clock,
    readonly logger: Logger,
    readonly settings: RotateSecretSettings,
    readonly ids: IdGenerator,
  ) {
    this.claims = new AttemptClaims(store, ids, logger);
  }

  valueOrPlaceholder(arn: string, versionId: string): Promise<SecretValue | undefined> {
    return valueOrPlaceholder(this.store, arn, versionId);
  }
  credentialOrUndefined(value: SecretValue | undefined): AtlasCredential | undefined {
    return credentialOrUndefined(value);
  }
  credentialContent(read: SecretRead, credentialId: string): AtlasSecretId {
    const content = read.view.contents.get(credentialId);
    if (content?.kind !== 'credential' || content.atlasSecretId === undefined) {
      throw new InvalidInputError(
        'requestId',
        'names a version of the secret that atlas-rotator did not create',
      );
    }
    return content.atlasSecretId;
  }
  /**
   * Starts best-effort work that no step and no outcome depends on, and returns at once: the run reports its
   * outcome without waiting for it. `settled` waits for all of it (before a process exits or a Lambda returns).
   */
  afterRun(what: string, run: Run, action: () => Promise<unknown>): void {
    const work = this.bestEffort(what, run, action);
    this.#afterRuns.add(work);
    void work.finally(() => this.#afterRuns.delete(work));
  }
  /** Resolves once the work `afterRun` started so far has ended (it never rejects). */
  async settled(): Promise<void> {
    while (this.#afterRuns.size > 0) await Promise.all([...this.#afterRuns]);
  }
  async bestEffort(what: string, run: Run, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.logger.warn(`could not ${what}`, {
        rotationId: run.token,
        secretArn: run.secretArn,
        stage: run.stage,
        errorCode: error instanceof RotatorError ? error.code : 'UNEXPECTED',
      });
    }
  }
  /** Runs one external call and logs it: one line per call, with its duration and outcome. */
  async step<T>(
    run: Run,
    stage: RotationStage,
    action: () => Promise<T>,
    fields: Readonly<Record<string, string | number>> = {},
  ): Promise<T> {
    const started = this.clock.now().getTime();
    const base = { rotationId: run.token, secretArn: run.secretArn, stage };
    try {
      const result = await action();
      this.logger.info('rotation step', {
        ...base,
        durationMs: this.clock.now().getTime() - started,
        outcome: 'ok',
        ...fields,
      });
      return result;
    } catch (error) {
      this.logger.warn('rotation step', {
        ...base,
        durationMs: this.clock.now().getTime() - started,
        outcome: 'error',
        errorCode: error instanceof RotatorError ? error.code : 'UNEXPECTED',
        retryable: error instanceof RotatorError ? error.retryable : true,
        ...fields,
      });
      throw error;
    }
  }
  /** The event of a completion (and its log line). */
  completed(
    read: SecretRead,
    run: Run,
    credential: AtlasCredential,
    newSecretId: AtlasSecretId,
    newSecretExpiresAt: string | undefined,
    deletedByStep: readonly AtlasSecretId[],
    alreadyCompleted: boolean,
    oldSecretRetirement?: OldSecretRetirementFacts,
  ): RotationCompletedEvent {
    // With the secrets deleted to make room, once each (a replay may name one already gone).
    const deletedByRun = [...new Set([...(run.madeRoomBy ?? []), ...deletedByStep])];
    this.logger.info('rotation completed', {
      rotationId: run.token,
      secretArn: read.description.arn,
      newAtlasSecretId: newSecretId,
      deletedAtlasSecretIds: deletedByRun,
      alreadyCompleted,
      ...(oldSecretRetirement === undefined
        ? {}
        : {
            oldAtlasSecretId: oldSecretRetirement.oldAtlasSecretId,
            oldSecretRetireAfter: oldSecretRetirement.retireAfter,
            oldSecretRetirementReason: oldSecretRetirement.reason,
          }),
    });
    return {
      type: 'rotation-completed',
      facts: {
        secretArn: read.description.arn,
        secretName: read.description.name,
        orgId: credential.orgId,
        clientId: credential.clientId,
        mode: read.metadata.mode,
        newAtlasSecretId: newSecretId,
        newSecretExpiresAt,
        deletedAtlasSecretIds: deletedByRun,
        alreadyCompleted,
        ...(oldSecretRetirement === undefined ? {} : { oldSecretRetirement }),
      },
    };
  }

  /** The event of a pause at a durable point (and its log line). */
  inProgress(
    read: SecretRead,
    run: Run,
    credential: AtlasCredential,
    newSecretId: AtlasSecretId,
    reached: 'pending-stored' | 'verified',
  ): RotationPausedEvent {
    this.logger.info('rotation paused', { rotationId: run.token, secretArn: read.description.arn, reached });
    return {
      type: 'rotation-paused',
      facts: {
        secretArn: read.description.arn,
        secretName: read.description.name,
        orgId: credential.orgId,
        clientId: credential.clientId,
        newAtlasSecretId: newSecretId,
        reached,
      },
    };
  }

  /**
   * The event of a failure: what was thrown (a domain error, an infrastructure error, a bug) as data, so that
   * no infrastructure error reaches the domain (and its log line).
   */
  failed(run: Run, thrown: unknown): RotationFailedEvent {
    const error = thrown instanceof KeepSecret ? thrown.error : thrown;
    const facts = failureFacts(run, error);
    this.logger.error('rotation failed', {
      rotationId: run.token,
      secretArn: facts.secretArn,
      stage: facts.stage,
      errorCode: facts.errorCode,
      retryable: facts.retryable,
      atlasStatus: facts.atlasStatus,
      atlasErrorCode: facts.atlasErrorCode,
      errorName: error instanceof Error ? error.name : typeof error,
    });
    return { type: 'rotation-failed', facts };
  }
}

/** A store failure after which the new Atlas secret must stay: whether it was stored is not known. */
export class KeepSecret extends Error {
  constructor(readonly error: unknown) {
    super('the new Atlas secret is kept: its store may have landed');
  }
}

/**
 * What was thrown (a domain error, an infrastructure error, a bug) as data, so that no infrastructure error reaches
 * the domain: the one mapping a rotation's failure and a plan's refusal share.
 */
export function failureFacts(run: Pick<Run, 'secretArn' | 'stage'>, thrown: unknown): FailureFacts {
  const error = thrown instanceof KeepSecret ? thrown.error : thrown;
  const known = error instanceof RotatorError;
  const atlas =
    error instanceof AtlasApiError
      ? error
      : error instanceof VerificationFailedError && error.cause instanceof AtlasApiError
        ? error.cause
        : undefined;
  return {
    secretArn: run.secretArn,
    stage: run.stage,
    errorCode: known ? error.code : 'INTERNAL_ERROR',
    message: known ? error.message : 'An unexpected error occurred; see the logs',
    retryable: known ? error.retryable : true,
    atlasStatus: atlas?.atlasStatus,
    atlasErrorCode: atlas?.atlasErrorCode,
    ...((error instanceof RotationInProgressError ||
      error instanceof OldSecretInGraceError ||
      error instanceof OldSecretInUseError) &&
    error.retryAt !== undefined
      ? { retryAt: error.retryAt }
      : {}),
  };
}
