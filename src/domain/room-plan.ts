import type { AtlasSecretId } from './identifiers.js';
import { err, ok, type Result } from './result.js';

/** What Atlas lists of a service account's secret (never its value). */
export interface AtlasSecretInfo {
  readonly id: AtlasSecretId;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** A service account holds at most two secrets (facts sheet §2.5). */
export const MAX_SECRETS_PER_SERVICE_ACCOUNT = 2;

/** The lifetimes Atlas accepts for a new secret (`secretExpiresAfterHours`), in hours. */
export const MIN_SECRET_HOURS = 8;
export const MAX_SECRET_HOURS = 8766;

export type DeletionReason = 'expired' | 'previous-version' | 'orphan-of-crashed-create' | 'unknown-allowed';

export interface RoomPlan {
  readonly deletions: readonly { readonly id: AtlasSecretId; readonly reason: DeletionReason }[];
  /** The Atlas secret of AWSCURRENT: recorded in its value, or inferred when exactly one candidate is left. */
  readonly currentSecretId: AtlasSecretId | undefined;
}

export interface RoomPlanInput {
  readonly secrets: readonly AtlasSecretInfo[];
  readonly nowMs: number;
  readonly currentSecretId: AtlasSecretId | undefined;
  /** Atlas secrets recorded in other versions of the secret that are not AWSCURRENT (AWSPREVIOUS and older). */
  readonly previousSecretIds: readonly AtlasSecretId[];
  /** Set when a create of this rotation may have run before a crash: secrets created since then are orphans. */
  readonly orphansCreatedSince: number | undefined;
  readonly deleteUnknown: boolean;
}

/**
 * Decides which Atlas secrets to delete so that a new one fits, keeping the current credential. Expired
 * secrets, the previous version's secret and an orphan of this rotation's crashed create may go; a secret
 * that belongs to no version stays unless `deleteUnknown`, and then the rotation cannot proceed.
 */
export function planRoom(
  input: RoomPlanInput,
): Result<RoomPlan, { readonly blockingSecretIds: AtlasSecretId[] }> {
  const deletions: { id: AtlasSecretId; reason: DeletionReason }[] = [];
  const unknown: AtlasSecretInfo[] = [];
  let currentPresent = false;
  for (const s of input.secrets) {
    if (s.id === input.currentSecretId) {
      currentPresent = true;
    } else if (Date.parse(s.expiresAt) <= input.nowMs) {
      deletions.push({ id: s.id, reason: 'expired' });
    } else if (input.previousSecretIds.includes(s.id)) {
      deletions.push({ id: s.id, reason: 'previous-version' });
    } else if (
      input.orphansCreatedSince !== undefined &&
      Date.parse(s.createdAt) >= input.orphansCreatedSince
    ) {
      deletions.push({ id: s.id, reason: 'orphan-of-crashed-create' });
    } else {
      unknown.push(s);
    }
  }
  let currentSecretId = currentPresent ? input.currentSecretId : undefined;
  let extras = unknown;
  if (currentSecretId === undefined && unknown.length === 1) {
    // A secret never rotated by atlas-rotator, or one whose recorded id is stale (rotated by hand since):
    // the only live secret left must be its current one.
    currentSecretId = unknown[0]?.id;
    extras = [];
  }
  const kept = (currentSecretId === undefined ? 0 : 1) + extras.length;
  if (kept < MAX_SECRETS_PER_SERVICE_ACCOUNT) return ok({ deletions, currentSecretId });
  // Deleting "unknown" secrets is allowed only while the current one is among the live secrets: otherwise
  // one of them may be the credential AWSCURRENT really uses.
  const canDeleteExtras = input.deleteUnknown && currentSecretId !== undefined;
  if (canDeleteExtras) {
    for (const s of extras) deletions.push({ id: s.id, reason: 'unknown-allowed' });
    return ok({ deletions, currentSecretId });
  }
  return err({ blockingSecretIds: extras.map((s) => s.id) });
}
