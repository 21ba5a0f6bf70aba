import { type AtlasSecretId, isAtlasSecretId, type RotationToken } from './identifiers.js';
import { err, ok, type Result } from './result.js';

/** Where in the rotation a failure happened. */
export type RotationStage =
  | 'request'
  | 'read-secret'
  | 'make-room'
  | 'create'
  | 'store-pending'
  | 'verify'
  | 'promote'
  | 'delete-old'
  | 'rollback';

export interface FailureReason {
  readonly stage: RotationStage;
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly atlasStatus: number | undefined;
  readonly atlasErrorCode: string | undefined;
}

/**
 * The rotation lifecycle. Every state but `verified` can be rebuilt from what Secrets Manager holds
 * (see {@link observedState}), which is what makes a rotation resumable after a crash.
 */
export type RotationState =
  | { readonly status: 'requested' }
  | { readonly status: 'creating'; readonly intentAt: string }
  | { readonly status: 'pending-stored'; readonly newSecretId: AtlasSecretId }
  | { readonly status: 'verified'; readonly newSecretId: AtlasSecretId }
  | { readonly status: 'promoted'; readonly newSecretId: AtlasSecretId }
  | {
      readonly status: 'completed';
      readonly newSecretId: AtlasSecretId;
      readonly deletedSecretIds: readonly AtlasSecretId[];
    }
  | { readonly status: 'rolled-back'; readonly reason: FailureReason }
  | { readonly status: 'failed'; readonly reason: FailureReason; readonly from: RotationState['status'] };

export type RotationEvent =
  | { readonly type: 'create-intended'; readonly at: string }
  | { readonly type: 'pending-stored'; readonly newSecretId: AtlasSecretId }
  | { readonly type: 'verified' }
  | { readonly type: 'promoted' }
  | { readonly type: 'old-secrets-deleted'; readonly deletedSecretIds: readonly AtlasSecretId[] }
  | { readonly type: 'rolled-back'; readonly reason: FailureReason }
  | { readonly type: 'failed'; readonly reason: FailureReason };

export interface InvalidTransition {
  readonly from: RotationState['status'];
  readonly event: RotationEvent['type'];
}

export function isTerminal(state: RotationState): boolean {
  return state.status === 'completed' || state.status === 'rolled-back' || state.status === 'failed';
}

/** The one place that decides which step may follow which. */
export function transition(
  state: RotationState,
  event: RotationEvent,
): Result<RotationState, InvalidTransition> {
  const invalid = err({ from: state.status, event: event.type });
  if (isTerminal(state)) return invalid;
  switch (event.type) {
    case 'failed':
      return ok({ status: 'failed', reason: event.reason, from: state.status });
    case 'create-intended':
      // A resumed rotation that finds its own intent records a fresh one before creating again.
      return state.status === 'requested' || state.status === 'creating'
        ? ok({ status: 'creating', intentAt: event.at })
        : invalid;
    case 'pending-stored':
      return state.status === 'creating'
        ? ok({ status: 'pending-stored', newSecretId: event.newSecretId })
        : invalid;
    case 'verified':
      return state.status === 'pending-stored'
        ? ok({ status: 'verified', newSecretId: state.newSecretId })
        : invalid;
    case 'rolled-back':
      return state.status === 'pending-stored'
        ? ok({ status: 'rolled-back', reason: event.reason })
        : invalid;
    case 'promoted':
      return state.status === 'verified'
        ? ok({ status: 'promoted', newSecretId: state.newSecretId })
        : invalid;
    case 'old-secrets-deleted':
      return state.status === 'promoted'
        ? ok({
            status: 'completed',
            newSecretId: state.newSecretId,
            deletedSecretIds: event.deletedSecretIds,
          })
        : invalid;
  }
}

/** What Secrets Manager says about a rotation token. */
export interface RotationObservation {
  readonly token: RotationToken;
  /** Stages of the version whose VersionId is the token; undefined when no such version exists. */
  readonly tokenVersionStages: readonly string[] | undefined;
  /** The Atlas secret id stored in that version's value, where it exists. */
  readonly tokenVersionAtlasSecretId: AtlasSecretId | undefined;
  /** The unfinished rotation recorded on the secret (lease tag), if any. */
  readonly leaseToken: string | undefined;
  /** The create intent recorded on the secret, if it belongs to this token. */
  readonly createIntentAt: string | undefined;
}

export type ObservedState =
  | RotationState
  | { readonly status: 'already-completed'; readonly newSecretId: AtlasSecretId | undefined };

/**
 * Rebuilds a rotation's state from durable facts. `promoted` with the lease still held means the old Atlas
 * secret may still need deleting; without the lease the rotation finished earlier and nothing is left to do.
 */
export function observedState(o: RotationObservation, rolledBack: FailureReason): ObservedState {
  const stages = o.tokenVersionStages;
  if (stages !== undefined) {
    const holdsLease = o.leaseToken === o.token;
    if (stages.includes('AWSCURRENT')) {
      if (o.tokenVersionAtlasSecretId === undefined)
        return { status: 'already-completed', newSecretId: undefined };
      return holdsLease
        ? { status: 'promoted', newSecretId: o.tokenVersionAtlasSecretId }
        : { status: 'already-completed', newSecretId: o.tokenVersionAtlasSecretId };
    }
    // Only a version that was AWSCURRENT becomes AWSPREVIOUS: a newer rotation superseded a finished one.
    if (stages.includes('AWSPREVIOUS')) {
      return { status: 'already-completed', newSecretId: o.tokenVersionAtlasSecretId };
    }
    if (stages.includes('AWSPENDING') && o.tokenVersionAtlasSecretId !== undefined) {
      return { status: 'pending-stored', newSecretId: o.tokenVersionAtlasSecretId };
    }
    return { status: 'rolled-back', reason: rolledBack };
  }
  if (o.createIntentAt !== undefined) return { status: 'creating', intentAt: o.createIntentAt };
  return { status: 'requested' };
}

export type LeaseDecision =
  | { readonly kind: 'free' }
  | { readonly kind: 'own' }
  | { readonly kind: 'busy'; readonly otherToken: string; readonly expiresAt: string }
  | { readonly kind: 'stale'; readonly otherToken: string };

/** Reads the lease tag value `<token> <startedAt>`; undefined when the tag is absent or blank. */
export function parseLeaseTag(
  tagValue: string | undefined,
): { readonly token: string; readonly startedAt: string } | undefined {
  const trimmed = tagValue?.trim();
  if (trimmed === undefined || trimmed === '') return undefined;
  const [token = '', startedAt = ''] = trimmed.split(/\s+/);
  return { token, startedAt };
}

/** Decides from the lease tag value whether this token may proceed. */
export function leaseDecision(
  tagValue: string | undefined,
  token: RotationToken,
  nowMs: number,
  leaseMs: number,
): LeaseDecision {
  const lease = parseLeaseTag(tagValue);
  if (lease === undefined) return { kind: 'free' };
  const other = lease.token;
  if (other === token) return { kind: 'own' };
  const started = Date.parse(lease.startedAt);
  if (Number.isNaN(started)) return { kind: 'stale', otherToken: other };
  const expires = started + leaseMs;
  return expires > nowMs
    ? { kind: 'busy', otherToken: other, expiresAt: new Date(expires).toISOString() }
    : { kind: 'stale', otherToken: other };
}

export function leaseTagValue(token: RotationToken, startedAt: string): string {
  return `${token} ${startedAt}`;
}

export interface CreateIntent {
  readonly at: string;
  /** The Atlas secret of AWSCURRENT when the intent was recorded: never an orphan, whenever it was created. */
  readonly currentSecretId: AtlasSecretId | undefined;
}

/** `<token> <at> <currentSecretId or ->`, written just before the create POST. */
export function intentTagValue(
  token: RotationToken,
  at: string,
  currentSecretId: AtlasSecretId | undefined,
): string {
  return `${token} ${at} ${currentSecretId ?? '-'}`;
}

/** Parses the create-intent tag; undefined unless it belongs to `token`. */
export function intentFor(tagValue: string | undefined, token: RotationToken): CreateIntent | undefined {
  if (tagValue === undefined) return undefined;
  const [owner, at, current] = tagValue.trim().split(/\s+/);
  if (owner !== token || at === undefined || Number.isNaN(Date.parse(at))) return undefined;
  return {
    at,
    currentSecretId: isAtlasSecretId(current) ? current : undefined,
  };
}
