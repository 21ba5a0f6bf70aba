import { apiError } from './api-error.js';
import type { DigestAuthenticator } from './digest-auth.js';
import { emptyResult, type HttpResult, jsonResult, queryFlag } from './http-result.js';
import { authenticate, challengeHeaders } from './principal-authentication.js';
import {
  authorizeScope,
  createSecret,
  type Dialect,
  decodeSegment,
  deleteSecret,
  getServiceAccount,
  listServiceAccounts,
  notFound,
  type OperationContext,
  type Outcome,
  outcomeBody,
  parseJsonObject,
  parsePaging,
  type Scope,
  secretView,
  validationError,
} from './service-account-resources.js';
import type { SimulatorRequest } from './simulator-request.js';
import { MIN_SECRET_VALIDITY_HOURS, type OrgRecord, type SimulatorStore } from './simulator-store.js';
import { negotiateVersion, versionedContentType } from './version-negotiation.js';

export const ADMIN_API_PREFIX = '/api/atlas/v2';

interface Operation {
  readonly method: string;
  readonly pattern: RegExp;
  /** Resource versions the spec defines for the operation (facts sheet §2: SA endpoints only 2024-08-05). */
  readonly versions: readonly string[];
  readonly run: (params: readonly string[], context: OperationContext) => Promise<Outcome>;
}

const SA_VERSIONS = ['2024-08-05'];
const SETTINGS_VERSIONS = ['2023-01-01'];

/**
 * Validates `{secretExpiresAfterHours}`: an integer within 8..the org's maxServiceAccountSecretValidityInHours
 * (facts sheet §2.1; the error shape is undocumented, VALIDATION_ERROR with badRequestDetail is chosen).
 * Project-level secrets take the bounds of the project's parent org.
 */
function parseSecretRequest(
  body: string,
  org: OrgRecord,
): { readonly hours: number } | { readonly invalid: Outcome } {
  const parsed = parseJsonObject(body);
  if (parsed === undefined)
    return { invalid: validationError('VALIDATION_ERROR', 'body', 'must be a JSON object') };
  const hours = parsed.secretExpiresAfterHours;
  if (hours === undefined || hours === null) {
    return { invalid: validationError('VALIDATION_ERROR', 'secretExpiresAfterHours', 'is required') };
  }
  if (typeof hours !== 'number' || !Number.isInteger(hours)) {
    return { invalid: validationError('VALIDATION_ERROR', 'secretExpiresAfterHours', 'must be an integer') };
  }
  const max = org.maxServiceAccountSecretValidityInHours;
  if (hours < MIN_SECRET_VALIDITY_HOURS || hours > max) {
    return {
      invalid: validationError(
        'VALIDATION_ERROR',
        'secretExpiresAfterHours',
        `must be between ${MIN_SECRET_VALIDITY_HOURS} and ${max} hours`,
      ),
    };
  }
  return { hours };
}

const V2_DIALECT: Dialect = {
  orgManagerRoles: ['ORG_OWNER'],
  parseSecretRequest,
  createdSecretView: (secret) => {
    const { maskedSecretValue: _masked, ...view } = secretView(secret) as Record<string, unknown>;
    // The plain value appears here and nowhere else (facts sheet §2.2); no maskedSecretValue in the create response.
    return { ...view, secret: secret.value };
  },
};

async function getSettings([orgId = '']: readonly string[], context: OperationContext): Promise<Outcome> {
  const scopeAccess = authorizeScope(
    context.store,
    context.principal,
    { kind: 'org', id: orgId },
    false,
    context.dialect,
  );
  if ('denied' in scopeAccess) return scopeAccess.denied;
  await context.request.work();
  return {
    status: 200,
    payload: {
      apiAccessListRequired: false,
      genAIFeaturesEnabled: true,
      maxServiceAccountSecretValidityInHours: scopeAccess.org.maxServiceAccountSecretValidityInHours,
      multiFactorAuthRequired: false,
      restrictEmployeeAccess: false,
      streamsCrossGroupEnabled: false,
    },
  };
}

async function list(scope: Scope, context: OperationContext): Promise<Outcome> {
  const paging = parsePaging(context.request.query);
  if ('invalid' in paging) {
    const { field, value } = paging.invalid;
    return validationError('VALIDATION_ERROR', field, `${value} is not an integer within the allowed range`);
  }
  return listServiceAccounts(scope, paging, context);
}

const SEGMENT = '([^/]+)';
const SCOPES = [
  { prefix: 'orgs', kind: 'org' },
  { prefix: 'groups', kind: 'project' },
] as const;

const OPERATIONS: readonly Operation[] = [
  ...SCOPES.flatMap(({ prefix, kind }): Operation[] => [
    {
      method: 'GET',
      pattern: new RegExp(`^/${prefix}/${SEGMENT}/serviceAccounts/?$`),
      versions: SA_VERSIONS,
      run: ([id = ''], context) => list({ kind, id }, context),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/${prefix}/${SEGMENT}/serviceAccounts/${SEGMENT}/?$`),
      versions: SA_VERSIONS,
      run: ([id = '', clientId = ''], context) => getServiceAccount({ kind, id }, clientId, context),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/${prefix}/${SEGMENT}/serviceAccounts/${SEGMENT}/secrets/?$`),
      versions: SA_VERSIONS,
      run: ([id = '', clientId = ''], context) => createSecret({ kind, id }, clientId, context),
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/${prefix}/${SEGMENT}/serviceAccounts/${SEGMENT}/secrets/${SEGMENT}/?$`),
      versions: SA_VERSIONS,
      run: ([id = '', clientId = '', secretId = ''], context) =>
        deleteSecret({ kind, id }, clientId, secretId, context),
    },
  ]),
  {
    method: 'GET',
    pattern: new RegExp(`^/orgs/${SEGMENT}/settings/?$`),
    versions: SETTINGS_VERSIONS,
    run: getSettings,
  },
];

/**
 * Order of checks (undocumented; chosen): authentication (401, bearer token or Digest API key), operation (404),
 * version (406), then the operation's own checks. Errors are `application/json` ApiErrors (facts sheet §4.1).
 * Every 401 carries a Digest challenge, since the spec also lists `DigestAuth`.
 */
export async function handleAdminApi(
  request: SimulatorRequest,
  store: SimulatorStore,
  digest: DigestAuthenticator,
): Promise<HttpResult> {
  const envelope = queryFlag(request.query, 'envelope');
  const pretty = queryFlag(request.query, 'pretty');
  const respond = (outcome: Outcome, version?: string, headers: Record<string, string> = {}): HttpResult => {
    const { status, body } = outcomeBody(outcome, envelope);
    if (body === undefined) return emptyResult(status, headers);
    const contentType =
      'error' in outcome || version === undefined ? 'application/json' : versionedContentType(version);
    return jsonResult(status, body, { contentType, pretty, headers });
  };

  const authentication = authenticate(request, store, digest);
  if ('refused' in authentication) {
    const { detail, stale } = authentication.refused;
    return respond(
      { error: apiError(401, 'UNAUTHORIZED', detail) },
      undefined,
      challengeHeaders(digest, stale),
    );
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
    const context = { principal: authentication.principal, request, store, dialect: V2_DIALECT };
    const outcome = await operation.run(match.slice(1).map(decodeSegment), context);
    return respond(outcome, version);
  }
  return respond(notFound(`${request.method} ${request.path}`));
}
