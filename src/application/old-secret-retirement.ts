/**
 * Carries out the retirement of a replaced Atlas secret (ADR 0009) where the domain says it is due: the sweep,
 * the replay of a finished rotation and a new rotation that needs the slot all come through here.
 */
import type { AtlasSecretId } from '../domain/identifiers.js';
import type { RetirementDecision, RetirementRecord } from '../domain/retirement.js';
import { decideRetirement } from '../domain/retirement.js';
import type { AtlasSecretInfo } from '../domain/room-plan.js';
import type { ActingCredential, AtlasServiceAccounts, AtlasTarget } from './ports/atlas-service-accounts.js';

export interface RetirementAttempt {
  readonly decision: RetirementDecision;
  /** True when this call's DELETE removed the secret; false when it was gone already (404) or not due. */
  readonly deleted: boolean;
}

/**
 * Decides from Atlas's listing and deletes when due. Safe under concurrency: the only write is Atlas's DELETE of
 * one secret id, which answers 404 (→ `deleted: false`, done) to the second of two callers; AWSCURRENT's own
 * secret is never deleted (the decision re-checks it against the AWSCURRENT value the caller just read).
 */
export async function retireIfDue(
  atlas: AtlasServiceAccounts,
  target: AtlasTarget,
  acting: ActingCredential,
  record: RetirementRecord,
  listed: readonly AtlasSecretInfo[],
  currentAtlasSecretId: AtlasSecretId | undefined,
  nowMs: number,
  retireNow: boolean,
  call: <T>(action: () => Promise<T>) => Promise<T> = (action) => action(),
): Promise<RetirementAttempt> {
  const decision = decideRetirement(record, listed, currentAtlasSecretId, nowMs, retireNow);
  if (decision.kind !== 'retire') return { decision, deleted: false };
  const deleted = await call(() => atlas.deleteSecret(target, record.oldAtlasSecretId, acting));
  return { decision, deleted };
}
