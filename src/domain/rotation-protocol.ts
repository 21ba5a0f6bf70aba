/**
 * The rotation protocol of ADR 0007: what a rotation's versions are called, what they hold, the state of a
 * rotation derived from the version list, and the next step for a state. Pure: ids that need a digest or
 * randomness come in as arguments (the application computes them through its `IdGenerator` port).
 */
import { type AtlasSecretId, isAtlasSecretId, type RotationToken } from './identifiers.js';
import type { SecretValue } from './secret-value.js';

/** The staging label on the latest claim or tombstone written by atlas-rotator. */
export const CLAIM_LABEL = 'atlas-rotator:claim';
const CLAIM_PREFIX = 'claim-';
const UNDO_PREFIX = 'undo-';

/** Computes a UUID-shaped digest of a text (the application's `IdGenerator.digestId`). */
export type DigestId = (text: string) => string;

/**
 * The credential version of attempt `attempt` of `token`: the token itself for the first attempt (so that the
 * request id stays the new version's VersionId and the rotation function fills RotateSecret's placeholder), a
 * UUID-shaped digest of `token#attempt` after that.
 */
export function credentialVersionId(token: RotationToken, attempt: number, digest: DigestId): string {
  return attempt === 1 ? token : digest(`${token}#${attempt}`);
}

export function claimVersionId(credentialId: string): string {
  return `${CLAIM_PREFIX}${credentialId}`;
}

export function undoVersionId(credentialId: string): string {
  return `${UNDO_PREFIX}${credentialId}`;
}

/** The credential id a claim version is for, or undefined when `versionId` is no claim. */
export function claimedCredentialId(versionId: string): string | undefined {
  return versionId.startsWith(CLAIM_PREFIX) ? versionId.slice(CLAIM_PREFIX.length) : undefined;
}

/** Whether a version id belongs to the protocol's bookkeeping (a claim or an undo copy), not to a credential. */
export function isBookkeepingVersion(versionId: string): boolean {
  return versionId.startsWith(CLAIM_PREFIX) || versionId.startsWith(UNDO_PREFIX);
}

export interface Claim {
  readonly token: string;
  readonly attempt: number;
  /** Random per run: two executions of one token put different values for one claim id, and one is refused. */
  readonly execution: string;
  /** AWSCURRENT's VersionId when the attempt was claimed. */
  readonly basedOn: string;
}

/** Why an attempt was closed without a credential. */
export type TombstoneReason = 'nothing-created' | 'maybe-created' | 'fenced';

export interface Tombstone {
  readonly token: string;
  readonly attempt: number;
  readonly reason: TombstoneReason;
}

export function claimValue(claim: Claim): string {
  return JSON.stringify({ atlasRotatorClaim: claim });
}

export function tombstoneValue(tombstone: Tombstone): string {
  return JSON.stringify({ atlasRotatorTombstone: tombstone });
}

/** What a version holds, as far as the protocol cares. */
export type VersionContent =
  /** RotateSecret's valueless placeholder: nothing stored yet. */
  | { readonly kind: 'placeholder' }
  | { readonly kind: 'claim'; readonly claim: Claim }
  | { readonly kind: 'tombstone'; readonly tombstone: Tombstone }
  /** A credential (atlas-rotator's or not): the Atlas secret it names, when it records one. */
  | { readonly kind: 'credential'; readonly atlasSecretId: AtlasSecretId | undefined };

const REASONS: readonly string[] = ['nothing-created', 'maybe-created', 'fenced'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Classifies a version's value without keeping it. Anything that is neither a claim nor a tombstone counts as a
 * credential: whether it is a valid one is the credential parser's business.
 */
export function contentOf(value: SecretValue | undefined): VersionContent {
  if (value === undefined) return { kind: 'placeholder' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.reveal());
  } catch {
    return { kind: 'credential', atlasSecretId: undefined };
  }
  if (!isObject(parsed)) return { kind: 'credential', atlasSecretId: undefined };
  const claim = parsed.atlasRotatorClaim;
  if (isObject(claim)) {
    return {
      kind: 'claim',
      claim: {
        token: String(claim.token),
        attempt: Number(claim.attempt),
        execution: String(claim.execution),
        basedOn: String(claim.basedOn),
      },
    };
  }
  const tombstone = parsed.atlasRotatorTombstone;
  if (isObject(tombstone)) {
    const reason = REASONS.includes(String(tombstone.reason))
      ? (tombstone.reason as TombstoneReason)
      : 'maybe-created';
    return {
      kind: 'tombstone',
      tombstone: { token: String(tombstone.token), attempt: Number(tombstone.attempt), reason },
    };
  }
  return {
    kind: 'credential',
    atlasSecretId: isAtlasSecretId(parsed.atlasSecretId) ? parsed.atlasSecretId : undefined,
  };
}

/** A version as listed (ListSecretVersionIds), labelled or not. */
export interface VersionFact {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly createdAt: string;
}

/**
 * What the rotation read of the secret: every version, the contents of those it read, and the lease (how long a
 * claim without a credential version is taken to belong to a live run).
 */
export interface SecretView {
  readonly versions: readonly VersionFact[];
  readonly contents: ReadonlyMap<string, VersionContent>;
  readonly nowMs: number;
  readonly leaseMs: number;
}

export function versionOf(view: SecretView, versionId: string): VersionFact | undefined {
  return view.versions.find((v) => v.versionId === versionId);
}

export function holderOf(view: SecretView, stage: string): VersionFact | undefined {
  return view.versions.find((v) => v.stages.includes(stage));
}

/**
 * How far in the future a claim's CreatedDate may lie and still count (the store's clock against this process's):
 * a claim dated later is not one atlas-rotator just wrote, and is ignored.
 */
export const CLAIM_FUTURE_TOLERANCE_MS = 5_000;

/**
 * Whether a claim dated `createdAt` still belongs to a live run. Only the store's CreatedDate counts, never what
 * the claim's value says (anyone who may write the secret can forge a value): a claim goes stale `leaseMs` after
 * it was written, one dated more than {@link CLAIM_FUTURE_TOLERANCE_MS} ahead or with no valid date is stale at
 * once. So no claim blocks a secret for longer than the lease plus that tolerance.
 */
export function claimIsFresh(view: Pick<SecretView, 'nowMs' | 'leaseMs'>, createdAt: string): boolean {
  const ageMs = view.nowMs - Date.parse(createdAt);
  return ageMs > -CLAIM_FUTURE_TOLERANCE_MS && ageMs < view.leaseMs;
}

/** The state of one attempt (ADR 0007 "The state of an attempt"). */
export type AttemptState =
  | { readonly status: 'new' }
  | { readonly status: 'claimed'; readonly fresh: boolean; readonly claimedAt: string }
  | { readonly status: 'released'; readonly reason: TombstoneReason }
  | { readonly status: 'rolled-back' }
  | { readonly status: 'promoted'; readonly atlasSecretId: AtlasSecretId | undefined }
  | { readonly status: 'pending'; readonly atlasSecretId: AtlasSecretId | undefined }
  | { readonly status: 'superseded'; readonly atlasSecretId: AtlasSecretId | undefined };

/** The version ids whose contents `attemptState` needs: the credential version, where it exists. */
export function contentsNeeded(view: SecretView, credentialId: string): string[] {
  const version = versionOf(view, credentialId);
  return version === undefined || view.contents.has(credentialId) ? [] : [credentialId];
}

/**
 * Derives an attempt's state from the version list. Throws when the credential version exists but its content
 * was not read (see {@link contentsNeeded}): a bug of the caller, never a guess.
 */
export function attemptState(view: SecretView, credentialId: string): AttemptState {
  const version = versionOf(view, credentialId);
  const content = version === undefined ? undefined : view.contents.get(credentialId);
  if (version !== undefined && content === undefined) {
    throw new Error(`the content of version ${credentialId} is needed to derive its state`);
  }
  if (version !== undefined && content !== undefined && content.kind !== 'placeholder') {
    if (content.kind === 'tombstone') return { status: 'released', reason: content.tombstone.reason };
    const atlasSecretId = content.kind === 'credential' ? content.atlasSecretId : undefined;
    // A promote and a rollback of one attempt race as two swaps from the same AWSCURRENT: whichever moved
    // AWSCURRENT won, so AWSCURRENT decides first; an undo copy beside a version that is not current means the
    // rollback won or is under way (its swap is finished by whoever sees it).
    if (version.stages.includes('AWSCURRENT')) return { status: 'promoted', atlasSecretId };
    // Only a version that was AWSCURRENT becomes AWSPREVIOUS: a rollback that lost its swap leaves its undo copy.
    if (version.stages.includes('AWSPREVIOUS')) return { status: 'superseded', atlasSecretId };
    if (versionOf(view, undoVersionId(credentialId)) !== undefined) return { status: 'rolled-back' };
    if (version.stages.includes('AWSPENDING')) return { status: 'pending', atlasSecretId };
    return { status: 'superseded', atlasSecretId };
  }
  const claim = versionOf(view, claimVersionId(credentialId));
  if (claim !== undefined) {
    return { status: 'claimed', fresh: claimIsFresh(view, claim.createdAt), claimedAt: claim.createdAt };
  }
  return { status: 'new' };
}

/** A token's attempts: the latest one that left a trace, and its state. */
export interface TokenState {
  readonly attempt: number;
  readonly credentialId: string;
  readonly state: AttemptState;
}

/**
 * The highest attempt of `token` that left a trace: its claim, or its credential version (a release whose claim
 * write was lost leaves only the tombstone; attempt 1's version may be an old-protocol version or a placeholder).
 */
export function latestAttempt(view: SecretView, token: RotationToken, digest: DigestId): number {
  let latest = 1;
  for (let n = 2; ; n++) {
    const id = credentialVersionId(token, n, digest);
    if (versionOf(view, claimVersionId(id)) === undefined && versionOf(view, id) === undefined) return latest;
    latest = n;
  }
}

export function tokenState(view: SecretView, token: RotationToken, digest: DigestId): TokenState {
  const attempt = latestAttempt(view, token, digest);
  const credentialId = credentialVersionId(token, attempt, digest);
  return { attempt, credentialId, state: attemptState(view, credentialId) };
}

/** An attempt of some token that is open: claimed, no credential version written yet. */
export interface OpenClaim {
  readonly credentialId: string;
  readonly claimedAt: string;
  readonly fresh: boolean;
}

/**
 * Every open claim on the secret: a claim whose credential version is absent or still RotateSecret's placeholder.
 * Needs the contents of credential versions that are labelled AWSPENDING (a placeholder looks like a pending
 * credential in the list); every other existing credential version closes its claim whatever it holds.
 */
export function openClaims(view: SecretView): OpenClaim[] {
  const open: OpenClaim[] = [];
  for (const v of view.versions) {
    const credentialId = claimedCredentialId(v.versionId);
    if (credentialId === undefined) continue;
    const credential = versionOf(view, credentialId);
    const placeholder = view.contents.get(credentialId)?.kind === 'placeholder';
    if (credential !== undefined && !placeholder) continue;
    open.push({
      credentialId,
      claimedAt: v.createdAt,
      fresh: claimIsFresh(view, v.createdAt),
    });
  }
  return open;
}

/** The version ids whose contents the secret-wide view needs: AWSCURRENT and any AWSPENDING not on it. */
export function pendingVersion(view: SecretView): VersionFact | undefined {
  return view.versions.find((v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'));
}

/** What the run must do next (ADR 0007 step 2), decided from the token's state and the secret-wide view. */
export type NextStep =
  /** The token's rotation is current: retire what it replaced, if still there. */
  | { readonly kind: 'finish'; readonly credentialId: string; readonly attempt: number }
  /** A later rotation replaced the token's: nothing to do. */
  | { readonly kind: 'already-completed'; readonly credentialId: string; readonly attempt: number }
  | { readonly kind: 'rolled-back'; readonly credentialId: string }
  /** The token's credential is stored: verify it, then promote or roll back. */
  | { readonly kind: 'verify'; readonly credentialId: string; readonly attempt: number }
  /** Another rotation's credential is pending: verify and promote or roll it back first, then read again. */
  | { readonly kind: 'adopt'; readonly credentialId: string }
  /** A rollback stopped between its undo copy and its swap: finish the swap, then read again. */
  | { readonly kind: 'finish-rollback'; readonly undoId: string; readonly credentialId: string }
  /** An open claim of another run holds the secret. */
  | { readonly kind: 'wait'; readonly credentialId: string; readonly until: string }
  /** An open claim went stale: tombstone its credential id (a fence), then read again. */
  | { readonly kind: 'fence'; readonly credentialId: string }
  /** Claim attempt `attempt` and rotate. */
  | { readonly kind: 'start'; readonly attempt: number; readonly credentialId: string };

/**
 * The one place that names the next step. `pendingContent` is the content of the AWSPENDING version not on
 * AWSCURRENT (see {@link pendingVersion}), where there is one.
 */
export function nextStep(
  view: SecretView,
  token: RotationToken,
  digest: DigestId,
  currentValue: SecretValue,
  undoContent: (undoId: string) => SecretValue | undefined,
): NextStep {
  const own = tokenState(view, token, digest);
  const { credentialId, attempt, state } = own;
  switch (state.status) {
    case 'promoted':
      return { kind: 'finish', credentialId, attempt };
    case 'superseded':
      return { kind: 'already-completed', credentialId, attempt };
    case 'rolled-back':
      return { kind: 'rolled-back', credentialId };
    case 'pending':
      return { kind: 'verify', credentialId, attempt };
    case 'claimed':
      if (state.fresh) return { kind: 'wait', credentialId, until: expiry(state.claimedAt, view.leaseMs) };
      return { kind: 'fence', credentialId };
    case 'released':
    case 'new':
      break;
  }
  const pending = pendingVersion(view);
  if (pending !== undefined && pending.versionId !== credentialId) {
    const undoOf = undoTarget(pending.versionId);
    if (undoOf !== undefined) {
      // Only a copy of what AWSCURRENT still holds may become AWSCURRENT: anything else would move it back.
      const copy = undoContent(pending.versionId);
      if (copy?.equals(currentValue) && !pending.stages.includes('AWSCURRENT')) {
        return { kind: 'finish-rollback', undoId: pending.versionId, credentialId: undoOf };
      }
    } else {
      const content = view.contents.get(pending.versionId);
      if (content?.kind === 'credential' && !isBookkeepingVersion(pending.versionId)) {
        const pendingState = attemptState(view, pending.versionId);
        if (pendingState.status === 'pending') return { kind: 'adopt', credentialId: pending.versionId };
      }
    }
  }
  for (const claim of openClaims(view)) {
    if (claim.credentialId === credentialId) continue;
    if (claim.fresh) {
      return { kind: 'wait', credentialId: claim.credentialId, until: expiry(claim.claimedAt, view.leaseMs) };
    }
    return { kind: 'fence', credentialId: claim.credentialId };
  }
  const next = state.status === 'new' && attempt === 1 ? 1 : attempt + 1;
  return { kind: 'start', attempt: next, credentialId: credentialVersionId(token, next, digest) };
}

function undoTarget(versionId: string): string | undefined {
  return versionId.startsWith(UNDO_PREFIX) ? versionId.slice(UNDO_PREFIX.length) : undefined;
}

function expiry(claimedAt: string, leaseMs: number): string {
  return new Date(Date.parse(claimedAt) + leaseMs).toISOString();
}
