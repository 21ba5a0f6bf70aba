/**
 * Retirement of the Atlas secret a promotion replaced (ADR 0009). The old secret stays valid, as AWSPREVIOUS, for a
 * grace period so that consumers holding a cached value keep working; then it is deleted in Atlas.
 *
 * What is recorded, where: the new credential's value (written once, by the store step — write 2 of the rotation,
 * no extra Secrets Manager write) carries `atlasRotatorRetirement`: the old secret's id, when atlas-rotator stopped
 * using it (`supersededAt`), and when it may be retired (`retireAfter`). The version is AWSCURRENT after the
 * promotion, so whoever reads AWSCURRENT (the sweep, the next rotation, `atlas-rotator status`) knows what is due.
 * Whether it happened is not recorded: Atlas's listing is the truth (the old secret listed → not retired yet).
 *
 * How "due" is computed ({@link decideRetirement}): never the AWSCURRENT's own Atlas secret; gone from Atlas →
 * nothing to do; expired in Atlas → delete (it still takes a slot), reported as expired; "now" asked → delete;
 * before `retireAfter` → hold (in grace); after it, Atlas's `lastUsedAt` later than `supersededAt` means a
 * consumer minted a token with the old secret after atlas-rotator stopped using it → hold (in use) until it
 * expires; otherwise delete.
 */
import { InvalidInputError } from './errors.js';
import { type AtlasSecretId, parseAtlasSecretId } from './identifiers.js';

/** The field of a credential value that records the retirement of the secret it replaced. */
export const RETIREMENT_FIELD = 'atlasRotatorRetirement';

/** The per-secret tag overriding OLD_SECRET_GRACE_HOURS. */
export const GRACE_TAG = 'atlas-rotator:oldSecretGraceHours';

/** Atlas cuts every other secret of the account to at most seven days when a new one is created. */
export const MAX_GRACE_HOURS = 168;

const HOUR_MS = 3_600_000;

/** Why a retirement is due when it is: the grace period, or a leaked credential ("retireOldSecret": "now"). */
export type RetirementReason = 'grace' | 'now';

/** Recorded in the new credential's value (`atlasRotatorRetirement`). Plain data, no secret material. */
export interface RetirementRecord {
  /** The Atlas secret the promotion replaced (AWSPREVIOUS's). */
  readonly oldAtlasSecretId: AtlasSecretId;
  /** When atlas-rotator stopped using the old secret (the new value's store time): later use is a consumer's. */
  readonly supersededAt: string;
  /** From when the old secret may be deleted (capped by Atlas's seven-day cut). */
  readonly retireAfter: string;
  readonly reason: RetirementReason;
}

/**
 * A grace in decimal hours, from OLD_SECRET_GRACE_HOURS or the tag: a finite number ≥ 0. Longer than
 * {@link MAX_GRACE_HOURS} is accepted and capped when planned (Atlas would expire the old secret first anyway).
 */
export function parseGraceHours(raw: string, field: string): number {
  const trimmed = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) {
    throw new InvalidInputError(field, 'must be a decimal number of hours ≥ 0 (e.g. 2 or 0.5)');
  }
  return Number(trimmed);
}

/**
 * The grace that applies to one rotation: "now" wins, then a valid tag, then the configured default. An invalid
 * tag is ignored (the default applies) and reported in `ignoredTag`, so a typo never blocks a rotation.
 */
export function effectiveGrace(
  defaultHours: number,
  tagValue: string | undefined,
  retireNow: boolean,
): { readonly hours: number; readonly reason: RetirementReason; readonly ignoredTag?: string } {
  if (retireNow) return { hours: 0, reason: 'now' };
  if (tagValue === undefined) return { hours: defaultHours, reason: 'grace' };
  try {
    return { hours: parseGraceHours(tagValue, GRACE_TAG), reason: 'grace' };
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    return { hours: defaultHours, reason: 'grace', ignoredTag: error.problem };
  }
}

/**
 * The record for a promotion that replaces `oldAtlasSecretId`, planned at `now` (the store time). `retireAfter`
 * is `now + grace`, capped at `now + 7 days` and at the old secret's known expiry.
 */
export function planRetirement(input: {
  readonly oldAtlasSecretId: AtlasSecretId;
  readonly now: Date;
  readonly graceHours: number;
  readonly reason: RetirementReason;
  readonly oldSecretExpiresAt?: string | undefined;
}): RetirementRecord {
  const nowMs = input.now.getTime();
  let afterMs = nowMs + Math.min(input.graceHours, MAX_GRACE_HOURS) * HOUR_MS;
  const expiresMs =
    input.oldSecretExpiresAt === undefined ? Number.NaN : Date.parse(input.oldSecretExpiresAt);
  if (!Number.isNaN(expiresMs)) afterMs = Math.min(afterMs, Math.max(expiresMs, nowMs));
  return {
    oldAtlasSecretId: input.oldAtlasSecretId,
    supersededAt: input.now.toISOString(),
    retireAfter: new Date(afterMs).toISOString(),
    reason: input.reason,
  };
}

/** True when the record says to delete the old secret at promotion (grace 0 or "now"). */
export function retiresAtPromotion(record: RetirementRecord): boolean {
  return record.reason === 'now' || Date.parse(record.retireAfter) <= Date.parse(record.supersededAt);
}

/** Reads a recorded retirement; anything malformed is undefined (a hand-edited value never blocks a rotation). */
export function parseRetirement(raw: unknown): RetirementRecord | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const dated = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v));
  if (!dated(r.supersededAt) || !dated(r.retireAfter)) return undefined;
  if (r.reason !== 'grace' && r.reason !== 'now') return undefined;
  try {
    return {
      oldAtlasSecretId: parseAtlasSecretId(r.oldAtlasSecretId),
      supersededAt: r.supersededAt as string,
      retireAfter: r.retireAfter as string,
      reason: r.reason,
    };
  } catch {
    return undefined;
  }
}

/** What a completed rotation says about the secret it replaced (in its outcome and event). */
export interface OldSecretRetirementFacts {
  readonly oldAtlasSecretId: AtlasSecretId;
  /** From when it may be retired (the grace's end, capped); the promotion's time for "now" or a grace of 0. */
  readonly retireAfter: string;
  readonly reason: RetirementReason;
  /** Whether this run deleted it already. */
  readonly retired: boolean;
}

/** The JSON form stored in the credential value. */
export function serializeRetirement(record: RetirementRecord): Record<string, string> {
  return {
    oldAtlasSecretId: record.oldAtlasSecretId,
    supersededAt: record.supersededAt,
    retireAfter: record.retireAfter,
    reason: record.reason,
  };
}

/** What Atlas reports about the old secret. */
export interface OldSecretInfo {
  readonly id: AtlasSecretId;
  readonly expiresAt: string;
  readonly lastUsedAt?: string | null | undefined;
}

/**
 * - `gone`: Atlas no longer lists it (retired already, by anyone);
 * - `retire`: delete it now (`why`: grace over and unused, "now" asked, or expired — an expired secret still
 *   takes one of the account's two slots);
 * - `in-grace`: not before `until`;
 * - `in-use`: a consumer minted a token with it at `lastUsedAt`, after atlas-rotator stopped using it: held until
 *   it expires (`until`), or until it is asked to go now;
 * - `current`: the record names AWSCURRENT's own secret (a hand-edited value): never deleted.
 */
export type RetirementDecision =
  | { readonly kind: 'gone' }
  | { readonly kind: 'retire'; readonly why: 'grace-over' | 'now' | 'expired' }
  | { readonly kind: 'in-grace'; readonly until: string }
  | { readonly kind: 'in-use'; readonly lastUsedAt: string; readonly until: string }
  | { readonly kind: 'current' };

/**
 * Decides the retirement of `record`'s old secret at `nowMs`, from Atlas's listing of the account
 * (`listed`) and AWSCURRENT's Atlas secret. `retireNow` is a request's "now" for a record planned with a grace.
 */
export function decideRetirement(
  record: RetirementRecord,
  listed: readonly OldSecretInfo[],
  currentAtlasSecretId: AtlasSecretId | undefined,
  nowMs: number,
  retireNow = false,
): RetirementDecision {
  if (record.oldAtlasSecretId === currentAtlasSecretId) return { kind: 'current' };
  const old = listed.find((s) => s.id === record.oldAtlasSecretId);
  if (old === undefined) return { kind: 'gone' };
  const expiresMs = Date.parse(old.expiresAt);
  if (!Number.isNaN(expiresMs) && expiresMs <= nowMs) return { kind: 'retire', why: 'expired' };
  if (retireNow || record.reason === 'now') return { kind: 'retire', why: 'now' };
  if (nowMs < Date.parse(record.retireAfter)) return { kind: 'in-grace', until: record.retireAfter };
  const lastUsedMs = old.lastUsedAt == null ? Number.NaN : Date.parse(old.lastUsedAt);
  if (!Number.isNaN(lastUsedMs) && lastUsedMs > Date.parse(record.supersededAt)) {
    return { kind: 'in-use', lastUsedAt: old.lastUsedAt as string, until: old.expiresAt };
  }
  return { kind: 'retire', why: 'grace-over' };
}

/** How often a held retirement is looked at again by a waiting rotation: at most an hour, at the latest expiry. */
export const IN_USE_RECHECK_MS = HOUR_MS;

/**
 * When a rotation held by `decision` may try again: the grace's end, or — in use — the next recheck (a consumer
 * may have switched by then) but never after the old secret's expiry.
 */
export function retryAtFor(decision: RetirementDecision, nowMs: number): string | undefined {
  if (decision.kind === 'in-grace') return decision.until;
  if (decision.kind === 'in-use') {
    const untilMs = Date.parse(decision.until);
    return new Date(Math.min(untilMs, nowMs + IN_USE_RECHECK_MS)).toISOString();
  }
  return undefined;
}
