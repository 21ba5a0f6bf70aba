import type { AtlasCredential } from './credential.js';
import type { AtlasSecretId } from './identifiers.js';
import { err, ok, type Result } from './result.js';
import { retiresAtPromotion } from './retirement.js';
import type { SecretValue } from './secret-value.js';

/** What Atlas lists of a service account's secret (never its value). */
export interface AtlasSecretInfo {
  readonly id: AtlasSecretId;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** Atlas's mask of the value: a prefix, `...`, and the value's last characters. Absent in a create answer. */
  readonly maskedSecretValue?: string | undefined;
  /** When the secret last minted a token; absent (or null in Atlas) when it never did. */
  readonly lastUsedAt?: string | undefined;
}

/** A service account holds at most two secrets (facts sheet §2.5). */
export const MAX_SECRETS_PER_SERVICE_ACCOUNT = 2;

/** The lifetimes Atlas accepts for a new secret (`secretExpiresAfterHours`), in hours. */
export const MIN_SECRET_HOURS = 8;
export const MAX_SECRET_HOURS = 8766;

export type DeletionReason =
  | 'expired'
  | 'previous-version'
  | 'replaced-version'
  | 'orphan-of-closed-attempt'
  | 'unknown-allowed';

/** A credential as a version holds it: the Atlas secret it records, and its value (for evidence only). */
export interface HeldCredential {
  readonly atlasSecretId: AtlasSecretId | undefined;
  readonly clientSecret: SecretValue;
}

/** A claim another run made, as room-making sees it. */
export interface ClaimFact {
  readonly credentialId: string;
  readonly claimedAt: string;
  /** No credential version (nor tombstone) was written for it yet. */
  readonly open: boolean;
  readonly fresh: boolean;
  /** When its credential version (or tombstone) was written; undefined while open. */
  readonly closedAt: string | undefined;
  /**
   * Whether the attempt may have created a secret nobody stored: open, or closed by a tombstone that does not say
   * "nothing created". An attempt closed by its credential created exactly one secret, and that version names it.
   */
  readonly mayHaveCreated: boolean;
}

export interface RoomPlanInput {
  readonly secrets: readonly AtlasSecretInfo[];
  readonly nowMs: number;
  readonly current: HeldCredential;
  readonly previous: HeldCredential | undefined;
  /** Atlas secrets named by versions that were replaced (superseded) or rolled back: never current again. */
  readonly replacedSecretIds: readonly AtlasSecretId[];
  /** Claims of other runs (not this run's own attempt). */
  readonly claims: readonly ClaimFact[];
  /** Allowed difference between Secrets Manager's and Atlas's clocks. */
  readonly skewMs: number;
  /** When AWSCURRENT's credential minted a token in this run, if it did (evidence by `lastUsedAt`). */
  readonly currentProvenAtMs: number | undefined;
  readonly deleteUnknown: boolean;
}

export interface RoomPlan {
  readonly deletions: readonly { readonly id: AtlasSecretId; readonly reason: DeletionReason }[];
  /** AWSCURRENT's Atlas secret: recorded in its value, placed by evidence, or the only one left. */
  readonly currentSecretId: AtlasSecretId | undefined;
}

export type RoomRefusal =
  /** Secrets no evidence places hold the slot; `blockingSecretIds` never includes AWSCURRENT's. */
  | { readonly kind: 'limit'; readonly blockingSecretIds: AtlasSecretId[]; readonly currentKnown: boolean }
  /** A secret may be a live run's not yet stored credential: that run's claim is fresh. */
  | { readonly kind: 'wait'; readonly credentialId: string; readonly claimedAt: string }
  /** A secret may belong to a stale open claim: fence these claims first, then plan again. */
  | { readonly kind: 'fence'; readonly credentialIds: string[] };

/** The value's last characters that Atlas's mask shows; undefined when the mask shows none. */
export function maskedSuffix(masked: string | undefined): string | undefined {
  if (masked === undefined) return undefined;
  const at = masked.lastIndexOf('...');
  const suffix = at < 0 ? '' : masked.slice(at + 3);
  return suffix.length === 0 ? undefined : suffix;
}

/** Whether Atlas's mask of `secret` is consistent with `value` (evidence, not proof: suffixes can collide). */
export function maskMatches(secret: AtlasSecretInfo, value: SecretValue): boolean {
  const suffix = maskedSuffix(secret.maskedSecretValue);
  return suffix !== undefined && value.reveal().endsWith(suffix);
}

/**
 * Which listed secret a credential is: the one its value records, else the one its value's mask matches — ties
 * broken by `lastUsedAt` when the credential minted at `provenAtMs`. Undefined when no evidence places it.
 */
export function placeCredential(
  secrets: readonly AtlasSecretInfo[],
  credential: HeldCredential,
  provenAtMs: number | undefined,
  skewMs: number,
): AtlasSecretId | undefined {
  if (credential.atlasSecretId !== undefined && secrets.some((s) => s.id === credential.atlasSecretId)) {
    return credential.atlasSecretId;
  }
  const matching = secrets.filter((s) => maskMatches(s, credential.clientSecret));
  if (matching.length === 1) return matching[0]?.id;
  if (matching.length === 0 || provenAtMs === undefined) return undefined;
  const used = matching.filter(
    (s) => s.lastUsedAt !== undefined && Date.parse(s.lastUsedAt) >= provenAtMs - skewMs,
  );
  return used.length === 1 ? used[0]?.id : undefined;
}

/**
 * Decides which Atlas secrets to delete so that a new one fits (ADR 0007 step 4). Keeps AWSCURRENT's secret —
 * and any secret that could be it, when no evidence places it. Each deletion carries its proof: expiry, a
 * version that was replaced, or an orphan whose every possible creator is closed (it can never be stored).
 */
export function planRoom(input: RoomPlanInput): Result<RoomPlan, RoomRefusal> {
  const { secrets, skewMs } = input;
  let currentSecretId = placeCredential(secrets, input.current, input.currentProvenAtMs, skewMs);
  /** Could be AWSCURRENT's: never deleted (only when AWSCURRENT's secret is not placed). */
  const mayBeCurrent = (s: AtlasSecretInfo) =>
    currentSecretId === undefined &&
    (maskMatches(s, input.current.clientSecret) || maskedSuffix(s.maskedSecretValue) === undefined);
  const previousSecretId =
    input.previous === undefined || input.previous.clientSecret.equals(input.current.clientSecret)
      ? undefined
      : placeCredential(
          secrets.filter((s) => s.id !== currentSecretId && !maskMatches(s, input.current.clientSecret)),
          input.previous,
          undefined,
          skewMs,
        );
  const deletions: { id: AtlasSecretId; reason: DeletionReason }[] = [];
  const unplaced: AtlasSecretInfo[] = [];
  const toFence = new Set<string>();
  for (const s of secrets) {
    if (s.id === currentSecretId) continue;
    if (Date.parse(s.expiresAt) <= input.nowMs) {
      deletions.push({ id: s.id, reason: 'expired' });
    } else if (s.id === previousSecretId) {
      deletions.push({ id: s.id, reason: 'previous-version' });
    } else if (input.replacedSecretIds.includes(s.id) && !mayBeCurrent(s)) {
      deletions.push({ id: s.id, reason: 'replaced-version' });
    } else {
      // The attempts that may have created `s`: claimed before it, and not closed until after it.
      const createdMs = Date.parse(s.createdAt);
      const creators = input.claims.filter(
        (c) =>
          c.mayHaveCreated &&
          Date.parse(c.claimedAt) <= createdMs + skewMs &&
          (c.open || c.closedAt === undefined || createdMs <= Date.parse(c.closedAt) + skewMs),
      );
      const fresh = creators.find((c) => c.open && c.fresh);
      if (fresh !== undefined) {
        return err({ kind: 'wait', credentialId: fresh.credentialId, claimedAt: fresh.claimedAt });
      }
      const stale = creators.filter((c) => c.open);
      for (const c of stale) toFence.add(c.credentialId);
      if (creators.length > 0 && stale.length === 0 && !mayBeCurrent(s)) {
        deletions.push({ id: s.id, reason: 'orphan-of-closed-attempt' });
      } else if (stale.length === 0) {
        unplaced.push(s);
      }
    }
  }
  if (toFence.size > 0) return err({ kind: 'fence', credentialIds: [...toFence] });
  let extras = unplaced;
  if (currentSecretId === undefined && unplaced.length === 1) {
    // Never rotated by atlas-rotator and no evidence: the only live secret left must be AWSCURRENT's.
    currentSecretId = unplaced[0]?.id;
    extras = [];
  }
  const kept = (currentSecretId === undefined ? 0 : 1) + extras.length;
  if (kept < MAX_SECRETS_PER_SERVICE_ACCOUNT) return ok({ deletions, currentSecretId });
  if (currentSecretId === undefined) {
    // Any of them may be AWSCURRENT's: none is offered for deletion.
    return err({ kind: 'limit', blockingSecretIds: [], currentKnown: false });
  }
  if (input.deleteUnknown) {
    for (const s of extras) deletions.push({ id: s.id, reason: 'unknown-allowed' });
    return ok({ deletions, currentSecretId });
  }
  return err({ kind: 'limit', blockingSecretIds: extras.map((s) => s.id), currentKnown: true });
}

/**
 * Whether a rotation may create first and make room only if Atlas refuses (ADR 0015). Atlas's two-slot limit is
 * the compare-and-swap: a create succeeds only into a free slot. It is offered when AWSCURRENT's credential was
 * just proven by a mint (so its secret is one of the account's) and names its Atlas secret (atlas-rotator wrote
 * it): a free slot then means the account holds AWSCURRENT's secret alone, where the room plan deletes nothing
 * and places AWSCURRENT's secret as the one it names. Not while the secret the last rotation replaced is in its
 * grace: its slot is taken, and the room plan says until when.
 */
export function mayCreateFirst(
  current: Pick<AtlasCredential, 'atlasSecretId' | 'retirement'>,
  proven: boolean,
  nowMs: number,
): boolean {
  if (!proven || current.atlasSecretId === undefined) return false;
  const record = current.retirement;
  return record === undefined || retiresAtPromotion(record) || Date.parse(record.retireAfter) <= nowMs;
}
