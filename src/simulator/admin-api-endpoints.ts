import { type ApiErrorBody, apiError } from './api-error.js';
import { atlasTimestamp as timestamp } from './atlas-timestamp.js';
import { emptyResult, type HttpResult, jsonResult, queryFlag } from './http-result.js';
import { maskSecretValue } from './identifiers.js';
import type { SimulatorRequest } from './simulator-request.js';
import {
  type Caller,
  MAX_SECRETS_PER_SERVICE_ACCOUNT,
  MIN_SECRET_VALIDITY_HOURS,
  type OrgRecord,
  type SecretRecord,
  type ServiceAccountRecord,
  type SimulatorStore,
} from './simulator-store.js';
import { negotiateVersion, versionedContentType } from './version-negotiation.js';

export const ADMIN_API_PREFIX = '/api/atlas/v2';

/** What an operation answers; the caller adds the versioned content type, `envelope` and `pretty`. */
type Outcome = { readonly status: number; readonly payload?: unknown } | { readonly error: ApiErrorBody };

interface Operation {
  readonly method: string;
  readonly pattern: RegExp;
  /** Resource versions the spec defines for the operation (facts sheet §2: SA endpoints only 2024-08-05). */
  readonly versions: readonly string[];
  readonly run: (
    params: readonly string[],
    caller: Caller,
    request: SimulatorRequest,
    store: SimulatorStore,
  ) => Promise<Outcome>;
}

const SA_VERSIONS = ['2024-08-05'];
const SETTINGS_VERSIONS = ['2023-01-01'];

function secretView(secret: SecretRecord): object {
  return {
    id: secret.id,
    createdAt: timestamp(secret.createdAt),
    expiresAt: timestamp(secret.expiresAt),
    lastUsedAt: secret.lastUsedAt === null ? null : timestamp(secret.lastUsedAt),
    maskedSecretValue: maskSecretValue(secret.value),
  };
}

function serviceAccountView(account: ServiceAccountRecord): object {
  return {
    clientId: account.clientId,
    createdAt: timestamp(account.createdAt),
    description: account.description,
    name: account.name,
    roles: [...account.roles],
    secrets: account.secrets.map(secretView),
  };
}

function notFound(what: string): Outcome {
  return { error: apiError(404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${what}.`) };
}

const FORBIDDEN: Outcome = {
  error: apiError(403, 'USER_UNAUTHORIZED', 'Current user is not authorized to perform this action.'),
};

/**
 * A service account's token works only inside its own org (undocumented: 404 for an org that does not exist,
 * 403 for an existing org the caller does not belong to). `owner` demands ORG_OWNER (facts sheet §2.6).
 */
function authorize(
  store: SimulatorStore,
  caller: Caller,
  orgId: string,
  owner: boolean,
): { readonly org: OrgRecord } | { readonly denied: Outcome } {
  const org = store.org(orgId);
  if (org === undefined) return { denied: notFound(`organization ${orgId}`) };
  if (caller.account.orgId !== orgId) return { denied: FORBIDDEN };
  if (owner && !caller.account.roles.includes('ORG_OWNER')) return { denied: FORBIDDEN };
  return { org };
}

function validationError(field: string, description: string): Outcome {
  return {
    error: apiError(400, 'VALIDATION_ERROR', `Invalid attribute ${field}: ${description}`, [
      { field, description },
    ]),
  };
}

/**
 * Validates `{secretExpiresAfterHours}`: an integer within 8..the org's maxServiceAccountSecretValidityInHours
 * (facts sheet §2.1; the error shape is undocumented, VALIDATION_ERROR with badRequestDetail is chosen).
 */
function parseSecretRequest(
  body: string,
  org: OrgRecord,
): { readonly hours: number } | { readonly invalid: Outcome } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { invalid: validationError('body', 'must be a JSON object') };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { invalid: validationError('body', 'must be a JSON object') };
  }
  const hours: unknown = (parsed as Record<string, unknown>).secretExpiresAfterHours;
  if (hours === undefined || hours === null) {
    return { invalid: validationError('secretExpiresAfterHours', 'is required') };
  }
  if (typeof hours !== 'number' || !Number.isInteger(hours)) {
    return { invalid: validationError('secretExpiresAfterHours', 'must be an integer') };
  }
  const max = org.maxServiceAccountSecretValidityInHours;
  if (hours < MIN_SECRET_VALIDITY_HOURS || hours > max) {
    return {
      invalid: validationError(
        'secretExpiresAfterHours',
        `must be between ${MIN_SECRET_VALIDITY_HOURS} and ${max} hours`,
      ),
    };
  }
  return { hours };
}

async function getServiceAccount(
  [orgId = '', clientId = '']: readonly string[],
  caller: Caller,
  request: SimulatorRequest,
  store: SimulatorStore,
): Promise<Outcome> {
  const access = authorize(store, caller, orgId, false);
  if ('denied' in access) return access.denied;
  const account = access.org.serviceAccounts.get(clientId);
  if (account === undefined) return notFound(`service account ${clientId}`);
  await request.work();
  return { status: 200, payload: serviceAccountView(account) };
}

/**
 * Order of checks (undocumented): role, SA, body, concurrent create (409, facts sheet §2.5), the two-secret
 * limit (400 SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED: status and code undocumented; 400 because the spec declares
 * no 409 for this operation). The SA is held from the 409 check until the secret is stored.
 */
async function createSecret(
  [orgId = '', clientId = '']: readonly string[],
  caller: Caller,
  request: SimulatorRequest,
  store: SimulatorStore,
): Promise<Outcome> {
  const access = authorize(store, caller, orgId, true);
  if ('denied' in access) return access.denied;
  const account = access.org.serviceAccounts.get(clientId);
  if (account === undefined) return notFound(`service account ${clientId}`);
  const parsed = parseSecretRequest(request.body, access.org);
  if ('invalid' in parsed) return parsed.invalid;
  if (account.createInFlight) {
    return {
      error: apiError(
        409,
        'DATA_CONCURRENCY_ERROR',
        'A concurrent request modified this service account. Retry the request.',
      ),
    };
  }
  if (account.secrets.length >= MAX_SECRETS_PER_SERVICE_ACCOUNT) {
    return {
      error: apiError(
        400,
        'SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED',
        `Service account ${clientId} already has the maximum of ${MAX_SECRETS_PER_SERVICE_ACCOUNT} secrets; expired secrets count until deleted.`,
      ),
    };
  }
  account.createInFlight = true;
  try {
    await request.work();
    const secret = store.createSecret(account, parsed.hours);
    const { maskedSecretValue: _masked, ...view } = secretView(secret) as Record<string, unknown>;
    // The plain value appears here and nowhere else (facts sheet §2.2); no maskedSecretValue in the create response.
    return { status: 201, payload: { ...view, secret: secret.value } };
  } finally {
    account.createInFlight = false;
  }
}

async function deleteSecret(
  [orgId = '', clientId = '', secretId = '']: readonly string[],
  caller: Caller,
  request: SimulatorRequest,
  store: SimulatorStore,
): Promise<Outcome> {
  const access = authorize(store, caller, orgId, true);
  if ('denied' in access) return access.denied;
  const account = access.org.serviceAccounts.get(clientId);
  if (account === undefined) return notFound(`service account ${clientId}`);
  if (!account.secrets.some((s) => s.id === secretId)) return notFound(`secret ${secretId}`);
  await request.work();
  // Kills every token the secret minted, possibly the caller's own (facts sheet §2.3).
  store.deleteSecret(account, secretId);
  return { status: 204 };
}

async function getSettings(
  [orgId = '']: readonly string[],
  caller: Caller,
  request: SimulatorRequest,
  store: SimulatorStore,
): Promise<Outcome> {
  const access = authorize(store, caller, orgId, false);
  if ('denied' in access) return access.denied;
  await request.work();
  return {
    status: 200,
    payload: {
      apiAccessListRequired: false,
      genAIFeaturesEnabled: true,
      maxServiceAccountSecretValidityInHours: access.org.maxServiceAccountSecretValidityInHours,
      multiFactorAuthRequired: false,
      restrictEmployeeAccess: false,
      streamsCrossGroupEnabled: false,
    },
  };
}

const SEGMENT = '([^/]+)';
const OPERATIONS: readonly Operation[] = [
  {
    method: 'GET',
    pattern: new RegExp(`^/orgs/${SEGMENT}/serviceAccounts/${SEGMENT}/?$`),
    versions: SA_VERSIONS,
    run: getServiceAccount,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/orgs/${SEGMENT}/serviceAccounts/${SEGMENT}/secrets/?$`),
    versions: SA_VERSIONS,
    run: createSecret,
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/orgs/${SEGMENT}/serviceAccounts/${SEGMENT}/secrets/${SEGMENT}/?$`),
    versions: SA_VERSIONS,
    run: deleteSecret,
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/orgs/${SEGMENT}/settings/?$`),
    versions: SETTINGS_VERSIONS,
    run: getSettings,
  },
];

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Order of checks (undocumented; chosen): bearer token (401), operation (404), version (406), then the
 * operation's own checks. Errors are `application/json` ApiErrors (facts sheet §4.1).
 */
export async function handleAdminApi(request: SimulatorRequest, store: SimulatorStore): Promise<HttpResult> {
  const envelope = queryFlag(request.query, 'envelope');
  const pretty = queryFlag(request.query, 'pretty');
  const respond = (outcome: Outcome, version?: string): HttpResult => {
    const status = 'error' in outcome ? outcome.error.error : outcome.status;
    const payload = 'error' in outcome ? outcome.error : outcome.payload;
    if (payload === undefined) return emptyResult(status);
    // envelope=true wraps single results as {status, content}; the HTTP status is left as is (undocumented).
    const body = envelope ? { status, content: payload } : payload;
    const contentType =
      'error' in outcome || version === undefined ? 'application/json' : versionedContentType(version);
    return jsonResult(status, body, { contentType, pretty });
  };

  const { authorization } = request;
  const caller = authorization.scheme === 'bearer' ? store.resolveToken(authorization.token) : undefined;
  if (caller === undefined) {
    const detail =
      authorization.scheme === 'bearer'
        ? 'The access token is invalid, expired or revoked.'
        : 'This resource requires an OAuth 2.0 bearer access token.';
    return respond({ error: apiError(401, 'UNAUTHORIZED', detail) });
  }

  const subPath = request.path.slice(ADMIN_API_PREFIX.length);
  for (const operation of OPERATIONS) {
    const match = operation.pattern.exec(subPath);
    if (match === null || operation.method !== request.method) continue;
    const version = negotiateVersion(request.accept, operation.versions);
    if (version === undefined) {
      return respond({
        error: apiError(406, 'INVALID_VERSION_DATE', 'Invalid accept header or version date.'),
      });
    }
    const outcome = await operation.run(match.slice(1).map(decodeSegment), caller, request, store);
    return respond(outcome, version);
  }
  return respond(notFound(`${request.method} ${request.path}`));
}
