import type { RetirementRecord } from './retirement.js';
import type { RotationCompleted, RotationFailed } from './rotation-outcome.js';

export const EVENT_SCHEMA_VERSION = 1;
export const DETAIL_TYPE_REQUESTED = 'Atlas Secret Rotation Requested';
export const DETAIL_TYPE_COMPLETED = 'Atlas Secret Rotation Completed';
export const DETAIL_TYPE_FAILED = 'Atlas Secret Rotation Failed';
export const DETAIL_TYPE_OLD_SECRET_RETIRED = 'Atlas Old Secret Retired';
export const DETAIL_TYPE_OLD_SECRET_IN_USE = 'Atlas Old Secret Still In Use';

/** What both old-secret events say about the secret (ids and dates only). */
interface OldSecretDetail {
  readonly schemaVersion: 1;
  readonly secretArn: string;
  readonly secretName: string;
  readonly orgId: string;
  readonly clientId: string;
  /** The Atlas secret the last rotation replaced (AWSPREVIOUS's). */
  readonly oldAtlasSecretId: string;
  /** AWSCURRENT's Atlas secret. */
  readonly currentAtlasSecretId: string | null;
  /** When atlas-rotator stopped using the old secret (its replacement was stored). */
  readonly supersededAt: string;
  /** When the grace ended (or ends). */
  readonly retireAfter: string;
}

/**
 * Detail of `Atlas Old Secret Retired`, schema version 1: published by the sweep right before its DELETE (so a
 * failed publish leaves the secret for the next sweep: at least once; two sweeps at once may both publish —
 * de-duplicate by `oldAtlasSecretId`).
 */
export interface OldSecretRetiredDetail extends OldSecretDetail {
  /** `grace-over`: the grace ended and no consumer used it since; `now`: requested; `expired`: Atlas expired it. */
  readonly reason: 'grace-over' | 'now' | 'expired';
  readonly retiredAt: string;
}

/** Detail of `Atlas Old Secret Still In Use`, schema version 1: published by every sweep while it holds. */
export interface OldSecretInUseDetail extends OldSecretDetail {
  /** Atlas's lastUsedAt: a consumer minted a token with the old secret then, after `supersededAt`. */
  readonly lastUsedAt: string;
  /** When Atlas expires it: retired then at the latest. */
  readonly expiresAt: string;
  readonly observedAt: string;
}

/** Detail of `Atlas Secret Rotation Completed`, schema version 1. No secret material of any kind. */
export interface RotationCompletedDetail {
  readonly schemaVersion: 1;
  readonly rotationId: string;
  readonly requestId: string;
  readonly secretArn: string;
  readonly secretName: string;
  readonly orgId: string;
  readonly clientId: string;
  readonly mode: 'self' | 'admin';
  readonly newAtlasSecretId: string;
  readonly newSecretExpiresAt: string | null;
  readonly deletedAtlasSecretIds: readonly string[];
  /** The replaced Atlas secret's retirement (ADR 0009): when it is due, why, whether this run did it. */
  readonly oldSecretRetirement?: {
    readonly oldAtlasSecretId: string;
    readonly retireAfter: string;
    readonly reason: 'grace' | 'now';
    readonly retired: boolean;
  };
  readonly startedAt: string;
  readonly completedAt: string;
  readonly attempts: number;
}

/** Detail of `Atlas Secret Rotation Failed`, schema version 1. */
export interface RotationFailedDetail {
  readonly schemaVersion: 1;
  readonly requestId: string;
  readonly secretId: string;
  readonly secretArn?: string;
  readonly rotationId?: string;
  readonly stage: string;
  readonly errorCode: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly final: boolean;
  readonly atlasStatus?: number;
  readonly atlasErrorCode?: string;
  readonly failedAt: string;
  readonly attempts: number;
}

export type RotationEventDetail =
  | { readonly detailType: typeof DETAIL_TYPE_COMPLETED; readonly detail: RotationCompletedDetail }
  | { readonly detailType: typeof DETAIL_TYPE_FAILED; readonly detail: RotationFailedDetail }
  | { readonly detailType: typeof DETAIL_TYPE_OLD_SECRET_RETIRED; readonly detail: OldSecretRetiredDetail }
  | { readonly detailType: typeof DETAIL_TYPE_OLD_SECRET_IN_USE; readonly detail: OldSecretInUseDetail };

/** A published event: the detail plus the resource it is about (the secret's ARN, where known). */
export interface PublishedEvent {
  readonly detailType: RotationEventDetail['detailType'];
  readonly detail: RotationEventDetail['detail'];
  readonly resources: readonly string[];
}

export interface DeliveryContext {
  readonly requestId: string;
  readonly attempts: number;
}

export function completedEvent(outcome: RotationCompleted, delivery: DeliveryContext): PublishedEvent {
  const detail: RotationCompletedDetail = {
    schemaVersion: EVENT_SCHEMA_VERSION,
    rotationId: outcome.rotationId,
    requestId: delivery.requestId,
    secretArn: outcome.secretArn,
    secretName: outcome.secretName,
    orgId: outcome.orgId,
    clientId: outcome.clientId,
    mode: outcome.mode,
    newAtlasSecretId: outcome.newAtlasSecretId,
    newSecretExpiresAt: outcome.newSecretExpiresAt ?? null,
    deletedAtlasSecretIds: [...outcome.deletedAtlasSecretIds],
    ...(outcome.oldSecretRetirement === undefined
      ? {}
      : { oldSecretRetirement: { ...outcome.oldSecretRetirement } }),
    startedAt: outcome.startedAt,
    completedAt: outcome.completedAt,
    attempts: delivery.attempts,
  };
  return { detailType: DETAIL_TYPE_COMPLETED, detail, resources: [outcome.secretArn] };
}

const SECRET_SHAPED = /mdb_sa_sk_[A-Za-z0-9_-]*/gi;

/** No Atlas client secret reaches an event, even one pasted into a field by mistake. */
function scrub(text: string): string {
  return text.replace(SECRET_SHAPED, '[REDACTED]');
}

/** A failure as an event. `final` says no further attempt will follow (permanent, or the last attempt). */
export function failedEvent(
  failure: Pick<
    RotationFailed,
    | 'secretId'
    | 'secretArn'
    | 'rotationId'
    | 'stage'
    | 'errorCode'
    | 'message'
    | 'retryable'
    | 'atlasStatus'
    | 'atlasErrorCode'
    | 'failedAt'
  >,
  delivery: DeliveryContext & { readonly final: boolean },
): PublishedEvent {
  const detail: RotationFailedDetail = {
    schemaVersion: EVENT_SCHEMA_VERSION,
    requestId: scrub(delivery.requestId),
    secretId: scrub(failure.secretId),
    ...(failure.secretArn === undefined ? {} : { secretArn: failure.secretArn }),
    ...(failure.rotationId === undefined ? {} : { rotationId: failure.rotationId }),
    stage: failure.stage,
    errorCode: failure.errorCode,
    message: scrub(failure.message),
    retryable: failure.retryable,
    final: delivery.final,
    ...(failure.atlasStatus === undefined ? {} : { atlasStatus: failure.atlasStatus }),
    ...(failure.atlasErrorCode === undefined ? {} : { atlasErrorCode: failure.atlasErrorCode }),
    failedAt: failure.failedAt,
    attempts: delivery.attempts,
  };
  return {
    detailType: DETAIL_TYPE_FAILED,
    detail,
    resources: failure.secretArn === undefined ? [] : [failure.secretArn],
  };
}

/** What the sweep knew when it retired, or held, an old secret. */
export interface OldSecretFacts {
  readonly secretArn: string;
  readonly secretName: string;
  readonly orgId: string;
  readonly clientId: string;
  readonly currentAtlasSecretId: string | undefined;
  readonly record: RetirementRecord;
}

function oldSecretDetail(facts: OldSecretFacts): OldSecretDetail {
  return {
    schemaVersion: EVENT_SCHEMA_VERSION,
    secretArn: facts.secretArn,
    secretName: facts.secretName,
    orgId: facts.orgId,
    clientId: facts.clientId,
    oldAtlasSecretId: facts.record.oldAtlasSecretId,
    currentAtlasSecretId: facts.currentAtlasSecretId ?? null,
    supersededAt: facts.record.supersededAt,
    retireAfter: facts.record.retireAfter,
  };
}

export function oldSecretRetiredEvent(
  facts: OldSecretFacts,
  reason: OldSecretRetiredDetail['reason'],
  retiredAt: string,
): PublishedEvent {
  const detail: OldSecretRetiredDetail = { ...oldSecretDetail(facts), reason, retiredAt };
  return { detailType: DETAIL_TYPE_OLD_SECRET_RETIRED, detail, resources: [facts.secretArn] };
}

export function oldSecretInUseEvent(
  facts: OldSecretFacts,
  use: { readonly lastUsedAt: string; readonly expiresAt: string },
  observedAt: string,
): PublishedEvent {
  const detail: OldSecretInUseDetail = {
    ...oldSecretDetail(facts),
    lastUsedAt: use.lastUsedAt,
    expiresAt: use.expiresAt,
    observedAt,
  };
  return { detailType: DETAIL_TYPE_OLD_SECRET_IN_USE, detail, resources: [facts.secretArn] };
}
