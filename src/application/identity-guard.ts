import { type AtlasCredential, parseCredential } from '../domain/credential.js';
import { RotatorError, SecretIdentityChangedError } from '../domain/errors.js';
import { checkIdentityPin, pinCandidates } from '../domain/identity-pin.js';
import { contentOf } from '../domain/rotation-protocol.js';
import type { SecretValue } from '../domain/secret-value.js';
import { SecretStoreError } from './infrastructure-errors.js';
import type { ListedVersion, SecretStore } from './ports/secret-store.js';

/** Versions read at a time while looking for the identity pin (only when AWSCURRENT is not atlas-rotator's). */
const PIN_READ_BATCH = 10;

/** A version's value; undefined for the one listed version without a value (RotateSecret's placeholder). */
export async function valueOrPlaceholder(
  store: SecretStore,
  arn: string,
  versionId: string,
): Promise<SecretValue | undefined> {
  try {
    return await store.getValue(arn, { versionId });
  } catch (error) {
    if (error instanceof SecretStoreError && error.code === 'SECRET_NOT_FOUND') return undefined;
    throw error;
  }
}

/** The credential a value holds; undefined when it holds none (a claim, a tombstone, garbage). */
export function credentialOrUndefined(value: SecretValue | undefined): AtlasCredential | undefined {
  if (value === undefined || contentOf(value).kind !== 'credential') return undefined;
  try {
    return parseCredential(value);
  } catch (error) {
    if (error instanceof RotatorError && !error.retryable) return undefined;
    throw error;
  }
}

/**
 * Rejects with SECRET_IDENTITY_CHANGED when AWSCURRENT (`current`), a value atlas-rotator did not write, names
 * another Atlas account than the last value atlas-rotator wrote — before any credential is used for it. Reads
 * nothing when AWSCURRENT is atlas-rotator's own; otherwise reads candidate versions newest first, in batches,
 * until the pin is found (`known`: values already read, by VersionId). RotateSecret and the sweep both call it.
 * Resolves to `known` and the values it read, so that a caller reads none of them twice.
 */
export async function requirePinnedIdentity(
  store: SecretStore,
  secret: { readonly arn: string; readonly name: string },
  versions: readonly ListedVersion[],
  known: ReadonlyMap<string, SecretValue | undefined>,
  current: AtlasCredential,
): Promise<ReadonlyMap<string, SecretValue | undefined>> {
  const candidates = pinCandidates(versions, current);
  const values = new Map(known);
  for (let i = 0; i < candidates.length; i += PIN_READ_BATCH) {
    const batch = candidates.slice(i, i + PIN_READ_BATCH);
    await Promise.all(
      batch
        .filter((v) => !values.has(v.versionId))
        .map(async (v) => values.set(v.versionId, await valueOrPlaceholder(store, secret.arn, v.versionId))),
    );
    const read = candidates.slice(0, i + PIN_READ_BATCH).map((v) => ({
      versionId: v.versionId,
      credential: credentialOrUndefined(values.get(v.versionId)),
    }));
    const check = checkIdentityPin(current, read);
    if (!check.ok) throw new SecretIdentityChangedError(secret.name, check.changed, check.pinnedVersionId);
    if (check.pinnedVersionId !== undefined) return values;
  }
  return values;
}
