import { AtlasOriginNotAllowedError, InvalidInputError, InvalidRotationMetadataError } from './errors.js';
import { type ApiVersion, DEFAULT_API_VERSION, parseApiVersion } from './identifiers.js';

export const TAG_MANAGED = 'atlas-rotator:managed';
export const TAG_ADMIN_SECRET_ARN = 'atlas-rotator:adminSecretArn';
export const TAG_API_VERSION = 'atlas-rotator:apiVersion';
export const TAG_API_BASE_URL = 'atlas-rotator:apiBaseUrl';
export const TAG_API_FLAVOR = 'atlas-rotator:apiFlavor';
/**
 * The lease and create-intent tags of ADR 0003's protocol. atlas-rotator no longer writes or reads them (ADR 0007
 * keeps that state in versions); a secret still carrying them is rotated as any other, and they can be removed.
 * Kept so that tests can assert that nothing writes them.
 */
export const TAG_ROTATION = 'atlas-rotator:rotation';
export const TAG_CREATE_INTENT = 'atlas-rotator:createIntent';

export type RotationMode = 'self' | 'admin';

/** Which API the account lives behind: Atlas Admin API v2, or the Cloud Manager / Ops Manager public API v1.0. */
export type ApiFlavor = 'atlas' | 'cloud-manager';

export interface RotationMetadata {
  readonly mode: RotationMode;
  readonly adminSecretArn: string | undefined;
  readonly apiVersion: ApiVersion;
  readonly apiFlavor: ApiFlavor;
  /** The origin the secret asks for; undefined means the service's configured default. */
  readonly apiBaseUrl: string | undefined;
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
  const rawFlavor = external?.apiFlavor ?? tags[TAG_API_FLAVOR];
  const apiFlavor: ApiFlavor =
    rawFlavor === undefined || rawFlavor === '' ? 'atlas' : (rawFlavor as ApiFlavor);
  if (apiFlavor !== 'atlas' && apiFlavor !== 'cloud-manager') {
    throw new InvalidRotationMetadataError('apiFlavor', 'must be atlas or cloud-manager');
  }
  const rawBaseUrl = external?.apiBaseUrl ?? tags[TAG_API_BASE_URL];
  const apiBaseUrl = rawBaseUrl === undefined || rawBaseUrl === '' ? undefined : normalizeOrigin(rawBaseUrl);
  if (rawBaseUrl !== undefined && rawBaseUrl !== '' && apiBaseUrl === undefined) {
    throw new InvalidRotationMetadataError(
      'apiBaseUrl',
      'must be an http(s) origin such as https://cloud.mongodb.com',
    );
  }
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
    return { mode: 'self', adminSecretArn: undefined, apiVersion, apiFlavor, apiBaseUrl };
  }
  if (!SECRET_ARN.test(adminSecretArn)) {
    throw new InvalidRotationMetadataError('adminSecretArn', 'must be a Secrets Manager secret ARN');
  }
  return { mode: 'admin', adminSecretArn, apiVersion, apiFlavor, apiBaseUrl };
}

/** An allow-list entry matches exactly, or as a prefix when it ends in `*`. */
export function isAllowedAdminSecret(arn: string, allowList: readonly string[]): boolean {
  return allowList.some((entry) =>
    entry.endsWith('*') ? arn.startsWith(entry.slice(0, -1)) : arn === entry,
  );
}

/** `scheme://host[:port]` in canonical form, or undefined when `raw` is not an http(s) origin. */
export function normalizeOrigin(raw: string): string | undefined {
  if (!URL.canParse(raw)) return undefined;
  const url = new URL(raw);
  const bare = (url.pathname === '/' || url.pathname === '') && url.search === '' && url.hash === '';
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    !bare ||
    url.username !== '' ||
    url.password !== ''
  ) {
    return undefined;
  }
  return url.origin;
}

/**
 * The origin to send the credentials to. The configured default is the operator's own choice; an origin
 * taken from the secret's metadata must be on the allow-list, so a tag can never send credentials to a host
 * the operator did not approve.
 */
export function resolveOrigin(
  metadata: Pick<RotationMetadata, 'apiBaseUrl'>,
  policy: {
    readonly defaultBaseUrl: string;
    readonly allowedBaseUrls: readonly string[];
    readonly allowInsecureHttp: boolean;
  },
): string {
  const requested = metadata.apiBaseUrl;
  if (requested === undefined) return policy.defaultBaseUrl;
  const allowed = policy.allowedBaseUrls.map((o) => normalizeOrigin(o)).includes(requested);
  if (!allowed) throw new AtlasOriginNotAllowedError(requested);
  if (requested.startsWith('http:') && !policy.allowInsecureHttp)
    throw new AtlasOriginNotAllowedError(requested, true);
  return requested;
}
