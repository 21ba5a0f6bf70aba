import type { AtlasCredential } from '../domain/credential.js';
import { AdminSecretNotAllowedError } from '../domain/errors.js';
import { isAllowedAdminSecret, type RotationMetadata, resolveOrigin } from '../domain/rotation-metadata.js';
import type { AtlasTarget } from './ports/atlas-service-accounts.js';

/** Where credentials may be sent: the configured default origin, and the allow-list for origins a secret names. */
export interface OriginPolicy {
  readonly defaultBaseUrl: string;
  readonly allowedBaseUrls: readonly string[];
  readonly allowInsecureHttp: boolean;
}

/**
 * The admin secret a secret's metadata names, if any, once it is on the allow-list; rejects with
 * `AdminSecretNotAllowedError` otherwise. The same rule RotateSecret applies before it reads an admin secret.
 */
export function allowedAdminSecretArn(
  metadata: RotationMetadata,
  allowList: readonly string[],
): string | undefined {
  const arn = metadata.adminSecretArn;
  if (arn !== undefined && !isAllowedAdminSecret(arn, allowList)) throw new AdminSecretNotAllowedError(arn);
  return arn;
}

/**
 * The Atlas account a credential belongs to, at the origin its metadata asks for (allow-listed, or the
 * default): rejects with `AtlasOriginNotAllowedError` as RotateSecret does.
 */
export function atlasTargetFor(
  metadata: RotationMetadata,
  credential: AtlasCredential,
  origins: OriginPolicy,
): AtlasTarget {
  return {
    baseUrl: resolveOrigin(metadata, origins),
    flavor: metadata.apiFlavor,
    orgId: credential.orgId,
    projectId: credential.projectId,
    clientId: credential.clientId,
    apiVersion: metadata.apiVersion,
  };
}
