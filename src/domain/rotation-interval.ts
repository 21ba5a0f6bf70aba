/**
 * The minimum interval between completed rotations of one secret (ROTATION_MIN_INTERVAL_MINUTES): a flood of
 * requests for one secret cannot churn its Atlas secrets (each rotation cuts the account's other secrets to seven
 * days and deletes the one it replaced). Only a new rotation is held back: a replay of a finished token, the
 * adoption of a pending credential and the resumption of this token's own attempt go on as before.
 */
import type { NextStep, SecretView, VersionFact } from './rotation-protocol.js';
import { holderOf, isBookkeepingVersion } from './rotation-protocol.js';

/**
 * When the last rotation completed: the CreatedDate of AWSCURRENT when atlas-rotator wrote it (its value records
 * an `atlasSecretId`). After a rollback AWSCURRENT is an undo copy, which completed nothing: then AWSPREVIOUS's
 * (the version the copy restored) counts. Undefined when no rotation by atlas-rotator is current.
 */
export function lastCompletedRotationAt(view: SecretView): string | undefined {
  const holder = completingVersion(view);
  if (holder === undefined) return undefined;
  const content = view.contents.get(holder.versionId);
  if (content?.kind !== 'credential' || content.atlasSecretId === undefined) return undefined;
  return Number.isNaN(Date.parse(holder.createdAt)) ? undefined : holder.createdAt;
}

/**
 * The version ids whose contents {@link lastCompletedRotationAt} needs and `view` lacks: AWSCURRENT's, or after a
 * rollback AWSPREVIOUS's. The read loads AWSPREVIOUS's value only where something needs it (ADR 0016): this is
 * where the decision does.
 */
export function intervalContentsNeeded(view: SecretView): string[] {
  const holder = completingVersion(view);
  return holder === undefined || view.contents.has(holder.versionId) ? [] : [holder.versionId];
}

/** The version a completed rotation is dated by: AWSCURRENT, or AWSPREVIOUS when AWSCURRENT is an undo copy. */
function completingVersion(view: SecretView): VersionFact | undefined {
  let holder = holderOf(view, 'AWSCURRENT');
  if (holder !== undefined && isBookkeepingVersion(holder.versionId)) holder = holderOf(view, 'AWSPREVIOUS');
  return holder === undefined || isBookkeepingVersion(holder.versionId) ? undefined : holder;
}

export type IntervalCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly lastCompletedAt: string; readonly notBefore: string };

/** Whether `step` may run now. `minIntervalMs` 0 turns the limit off. */
export function checkMinInterval(step: NextStep, view: SecretView, minIntervalMs: number): IntervalCheck {
  if (minIntervalMs <= 0 || step.kind !== 'start') return { ok: true };
  const last = lastCompletedRotationAt(view);
  if (last === undefined) return { ok: true };
  const notBeforeMs = Date.parse(last) + minIntervalMs;
  if (view.nowMs >= notBeforeMs) return { ok: true };
  return { ok: false, lastCompletedAt: last, notBefore: new Date(notBeforeMs).toISOString() };
}
