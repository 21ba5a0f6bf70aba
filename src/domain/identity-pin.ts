/**
 * Identities are pinned: a value atlas-rotator did not write may not name another Atlas account than the last
 * value it did write. atlas-rotator's values are recognised by `atlasSecretId`, which only it writes (a person
 * who writes one by hand declares the value atlas-rotator's: that is how a secret is re-bound on purpose, see the
 * README). The pin is looked for in every listed version, newest first, so that putting several hand-written
 * versions in a row does not hide it.
 */
import type { AtlasCredential } from './credential.js';
import { isBookkeepingVersion, type VersionFact } from './rotation-protocol.js';

/** The fields that say which Atlas account a managed secret belongs to. */
export const IDENTITY_FIELDS = ['clientId', 'orgId', 'projectId'] as const;

export type IdentityField = (typeof IDENTITY_FIELDS)[number];

/**
 * The versions that may hold the pin, newest first: every listed version other than AWSCURRENT and the
 * protocol's bookkeeping (claims, tombstones, undo copies). Empty when AWSCURRENT is atlas-rotator's own value,
 * which needs no pin.
 */
export function pinCandidates(
  versions: readonly VersionFact[],
  current: Pick<AtlasCredential, 'atlasSecretId'>,
): VersionFact[] {
  if (current.atlasSecretId !== undefined) return [];
  return versions
    .filter((v) => !v.stages.includes('AWSCURRENT') && !isBookkeepingVersion(v.versionId))
    .map((v, index) => ({ v, index }))
    .sort((a, b) => Date.parse(b.v.createdAt) - Date.parse(a.v.createdAt) || b.index - a.index)
    .map(({ v }) => v);
}

/** A candidate as read: its credential when it holds a valid one, undefined otherwise (placeholder, garbage). */
export interface PinCandidate {
  readonly versionId: string;
  readonly credential: AtlasCredential | undefined;
}

export type PinCheck =
  | { readonly ok: true; readonly pinnedVersionId: string | undefined }
  | { readonly ok: false; readonly pinnedVersionId: string; readonly changed: readonly IdentityField[] };

/**
 * Compares AWSCURRENT with the newest candidate atlas-rotator wrote (`candidates` newest first, as
 * {@link pinCandidates} orders them). No such candidate: nothing is pinned yet (the first rotation trusts the
 * value it finds; who may create the secret and which admin serves it decide that).
 */
export function checkIdentityPin(current: AtlasCredential, candidates: readonly PinCandidate[]): PinCheck {
  if (current.atlasSecretId !== undefined) return { ok: true, pinnedVersionId: undefined };
  const pinned = candidates.find((c) => c.credential?.atlasSecretId !== undefined);
  if (pinned?.credential === undefined) return { ok: true, pinnedVersionId: undefined };
  const pin = pinned.credential;
  const changed = IDENTITY_FIELDS.filter((f) => current[f] !== pin[f]);
  return changed.length === 0
    ? { ok: true, pinnedVersionId: pinned.versionId }
    : { ok: false, pinnedVersionId: pinned.versionId, changed };
}
