import { InvalidInputError, InvalidSecretValueError } from './errors.js';
import {
  type AtlasSecretId,
  type ClientId,
  type OrgId,
  type ProjectId,
  parseAtlasSecretId,
  parseClientId,
  parseOrgId,
  parseProjectId,
} from './identifiers.js';
import {
  parseRetirement,
  RETIREMENT_FIELD,
  type RetirementRecord,
  serializeRetirement,
} from './retirement.js';
import { SecretValue } from './secret-value.js';

/** The credential a managed secret holds: an Atlas service account's client id and secret, and its org. */
export interface AtlasCredential {
  readonly clientId: ClientId;
  readonly clientSecret: SecretValue;
  readonly orgId: OrgId;
  /** Set for a project-level service account: the project (group) it belongs to. */
  readonly projectId: ProjectId | undefined;
  /** The Atlas secret this value is; written by atlas-rotator, absent on a secret it has not rotated yet. */
  readonly atlasSecretId: AtlasSecretId | undefined;
  readonly atlasSecretExpiresAt: string | undefined;
  /** The retirement of the Atlas secret this value replaced (ADR 0009), written with the value; never carried over. */
  readonly retirement?: RetirementRecord | undefined;
  /** Fields atlas-rotator does not own; carried over unchanged to every new version. */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** A service account's OAuth client credential. */
export interface ServiceAccountCredential {
  readonly clientId: ClientId;
  readonly clientSecret: SecretValue;
  /** The Atlas secret this value is, when known: a delete of that secret kills the tokens minted with it. */
  readonly atlasSecretId?: AtlasSecretId | undefined;
}

/** A programmatic API key (HTTP Digest): Cloud Manager and Ops Manager admins. */
export interface ApiKeyCredential {
  readonly publicKey: string;
  readonly privateKey: SecretValue;
}

/** The credential an admin secret holds (admin-assisted mode): a service account or an API key. */
export type AdminCredential = ServiceAccountCredential | ApiKeyCredential;

export function isApiKey(credential: AdminCredential): credential is ApiKeyCredential {
  return 'publicKey' in credential;
}

const PUBLIC_KEY = /^[A-Za-z0-9]{8,32}$/;

const OWN_FIELDS = new Set([
  'clientId',
  'clientSecret',
  'orgId',
  'projectId',
  'atlasSecretId',
  'atlasSecretExpiresAt',
  RETIREMENT_FIELD,
]);

function parseObject(secretString: SecretValue, error: (field: string, problem: string) => Error) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString.reveal());
  } catch {
    // The parser's message quotes the input, so neither it nor the cause is kept.
    throw error('SecretString', 'is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw error('SecretString', 'must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function field<T>(parse: () => T, error: (field: string, problem: string) => Error): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof InvalidInputError) throw error(e.field, e.problem);
    throw e;
  }
}

function secretField(raw: unknown, name: string, error: (field: string, problem: string) => Error) {
  if (typeof raw !== 'string' || raw.length === 0) throw error(name, 'must be a non-empty string');
  return SecretValue.of(raw);
}

/** Parses a managed secret's SecretString. Errors name the field, never the value. */
export function parseCredential(secretString: SecretValue): AtlasCredential {
  const invalid = (f: string, p: string) => new InvalidSecretValueError(f, p);
  const json = parseObject(secretString, invalid);
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (!OWN_FIELDS.has(key)) extra[key] = value;
  }
  return {
    clientId: field(() => parseClientId(json.clientId), invalid),
    clientSecret: secretField(json.clientSecret, 'clientSecret', invalid),
    orgId: field(() => parseOrgId(json.orgId), invalid),
    projectId:
      json.projectId === undefined ? undefined : field(() => parseProjectId(json.projectId), invalid),
    atlasSecretId:
      json.atlasSecretId === undefined
        ? undefined
        : field(() => parseAtlasSecretId(json.atlasSecretId), invalid),
    atlasSecretExpiresAt:
      typeof json.atlasSecretExpiresAt === 'string' ? json.atlasSecretExpiresAt : undefined,
    retirement: parseRetirement(json[RETIREMENT_FIELD]),
    extra,
  };
}

/** An admin secret holds `{clientId, clientSecret}` (service account) or `{publicKey, privateKey}` (API key). */
export function parseAdminCredential(secretString: SecretValue): AdminCredential {
  const invalid = (f: string, p: string) => new InvalidSecretValueError(`admin secret ${f}`, p);
  const json = parseObject(secretString, invalid);
  if (json.publicKey !== undefined || json.privateKey !== undefined) {
    if (typeof json.publicKey !== 'string' || !PUBLIC_KEY.test(json.publicKey)) {
      throw invalid('publicKey', 'must be 8 to 32 letters or digits');
    }
    return { publicKey: json.publicKey, privateKey: secretField(json.privateKey, 'privateKey', invalid) };
  }
  return {
    clientId: field(() => parseClientId(json.clientId), invalid),
    clientSecret: secretField(json.clientSecret, 'clientSecret', invalid),
  };
}

/** The credential after rotation: same account and extra fields, the new Atlas secret. */
export function rotatedCredential(
  current: AtlasCredential,
  newSecret: { readonly id: AtlasSecretId; readonly secret: SecretValue; readonly expiresAt: string },
  retirement?: RetirementRecord,
): AtlasCredential {
  return {
    ...current,
    clientSecret: newSecret.secret,
    atlasSecretId: newSecret.id,
    atlasSecretExpiresAt: newSecret.expiresAt,
    retirement,
  };
}

/** The SecretString for a credential: extra fields first, then the fields atlas-rotator owns. */
export function serializeCredential(credential: AtlasCredential): SecretValue {
  const json: Record<string, unknown> = {
    ...credential.extra,
    clientId: credential.clientId,
    clientSecret: credential.clientSecret.reveal(),
    orgId: credential.orgId,
  };
  if (credential.projectId !== undefined) json.projectId = credential.projectId;
  if (credential.atlasSecretId !== undefined) json.atlasSecretId = credential.atlasSecretId;
  if (credential.atlasSecretExpiresAt !== undefined)
    json.atlasSecretExpiresAt = credential.atlasSecretExpiresAt;
  if (credential.retirement !== undefined)
    json[RETIREMENT_FIELD] = serializeRetirement(credential.retirement);
  return SecretValue.of(JSON.stringify(json));
}
