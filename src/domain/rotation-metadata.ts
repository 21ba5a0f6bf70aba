import { InvalidInputError, InvalidRotationMetadataError } from './errors.js';
import { type ApiVersion, DEFAULT_API_VERSION, parseApiVersion } from './identifiers.js';

export const TAG_MANAGED = 'atlas-rotator:managed';
export const TAG_ADMIN_SECRET_ARN = 'atlas-rotator:adminSecretArn';
export const TAG_API_VERSION = 'atlas-rotator:apiVersion';
/** Lease of the rotation in progress: `<token> <startedAt ISO>`. Absent when no rotation is unfinished. */
export const TAG_ROTATION = 'atlas-rotator:rotation';
/** Written just before the create POST: `<token> <ISO time>`. Lets a resumed rotation find an orphan. */
export const TAG_CREATE_INTENT = 'atlas-rotator:createIntent';

export type RotationMode = 'self' | 'admin';

export interface RotationMetadata {
  readonly mode: RotationMode;
  readonly adminSecretArn: string | undefined;
  readonly apiVersion: ApiVersion;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

export function isManaged(tags: Readonly<Record<string, string>>): boolean {
  return tags[TAG_MANAGED] === 'true';
}

/**
 * Rotation metadata comes from the secret, never from a request: the secret's tags, overridden by AWS's
 * `ExternalSecretRotationMetadata` where DescribeSecret returns it.
 */
export function rotationMetadataFrom(
  tags: Readonly<Record<string, string>>,
  external: Readonly<Record<string, string>> | undefined,
): RotationMetadata {
  const adminSecretArn = external?.adminSecretArn ?? tags[TAG_ADMIN_SECRET_ARN];
  const rawVersion = external?.apiVersion ?? tags[TAG_API_VERSION];
  let apiVersion = DEFAULT_API_VERSION;
  if (rawVersion !== undefined && rawVersion !== '') {
    try {
      apiVersion = parseApiVersion(rawVersion);
    } catch (e) {
      if (e instanceof InvalidInputError) throw new InvalidRotationMetadataError('apiVersion', e.problem);
      throw e;
    }
  }
  if (adminSecretArn === undefined || adminSecretArn === '') {
    return { mode: 'self', adminSecretArn: undefined, apiVersion };
  }
  if (!SECRET_ARN.test(adminSecretArn)) {
    throw new InvalidRotationMetadataError('adminSecretArn', 'must be a Secrets Manager secret ARN');
  }
  return { mode: 'admin', adminSecretArn, apiVersion };
}

/** An allow-list entry matches exactly, or as a prefix when it ends in `*`. */
export function isAllowedAdminSecret(arn: string, allowList: readonly string[]): boolean {
  return allowList.some((entry) =>
    entry.endsWith('*') ? arn.startsWith(entry.slice(0, -1)) : arn === entry,
  );
}
