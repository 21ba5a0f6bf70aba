import type { AtlasSecretId } from './identifiers.js';
import type { AtlasSecretInfo } from './room-plan.js';

const HOUR_MS = 3_600_000;

/** AWSCURRENT's Atlas secret as Atlas lists it, and how it was recognised. */
export interface CurrentAtlasSecret {
  readonly id: AtlasSecretId;
  /** Atlas's expiry, as an ISO timestamp: the truth, whatever the stored `atlasSecretExpiresAt` says. */
  readonly expiresAt: string;
  /** True when the value did not name it (or named one Atlas no longer has) and it was the only candidate. */
  readonly inferred: boolean;
}

/**
 * Which of the account's secrets AWSCURRENT holds: the one its value records; otherwise (never rotated by
 * atlas-rotator, or the recorded id is stale) the account's only secret, or its only unexpired one — the
 * same inference the rotation's room plan makes. Undefined when that leaves no single candidate.
 */
export function currentAtlasSecret(
  secrets: readonly AtlasSecretInfo[],
  recordedId: AtlasSecretId | undefined,
  nowMs: number,
): CurrentAtlasSecret | undefined {
  const recorded = secrets.find((s) => s.id === recordedId);
  if (recorded !== undefined) return { id: recorded.id, expiresAt: iso(recorded.expiresAt), inferred: false };
  const live = secrets.filter((s) => Date.parse(s.expiresAt) > nowMs);
  const only = secrets.length === 1 ? secrets[0] : live.length === 1 ? live[0] : undefined;
  return only === undefined ? undefined : { id: only.id, expiresAt: iso(only.expiresAt), inferred: true };
}

/** Hours from `nowMs` until `expiresAt`, to one decimal; negative once expired. */
export function hoursToExpiry(expiresAt: string, nowMs: number): number {
  return Math.round(((Date.parse(expiresAt) - nowMs) / HOUR_MS) * 10) / 10;
}

/** Due when the secret expires within `rotateBeforeHours` (or has expired). */
export function isRotationDue(expiresAt: string, nowMs: number, rotateBeforeHours: number): boolean {
  return Date.parse(expiresAt) - nowMs <= rotateBeforeHours * HOUR_MS;
}

/**
 * The request id a sweep sends for a due secret: a function of the Atlas secret AWSCURRENT holds and Atlas's
 * expiry for it, so that sweeps at once or in a row request the same rotation (one request id is one
 * rotation), and a secret whose expiry changed — a failed rotation's create cut it to seven days — gets a new
 * one. The secret itself travels beside it as the request's `secretId`. At most 55 printable ASCII characters.
 */
export function sweepRequestId(current: Pick<CurrentAtlasSecret, 'id' | 'expiresAt'>): string {
  return `sweep:${current.id}:${iso(current.expiresAt)}`;
}

/** Atlas writes `2027-02-21T18:23:38Z`; one canonical form keeps request ids stable across formats. */
function iso(timestamp: string): string {
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? timestamp : new Date(ms).toISOString();
}
