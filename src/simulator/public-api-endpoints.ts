import { type ApiErrorBody, apiError } from './api-error.js';
import { atlasTimestamp as timestamp } from './atlas-timestamp.js';
import type { DigestAuthenticator } from './digest-auth.js';
import { emptyResult, type HttpResult, jsonResult, queryFlag } from './http-result.js';
import { authenticate, challengeHeaders } from './principal-authentication.js';
import {
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
  type Paging,
  parseJsonObject,
  parsePaging,
  type Scope,
  validationError,
} from './service-account-resources.js';
import type { SimulatorRequest } from './simulator-request.js';
import type { SimulatorStore } from './simulator-store.js';

/** The Cloud Manager public API (facts sheet §3.2); Ops Manager serves the same API at its own origin. */
export const PUBLIC_API_PREFIX = '/api/public/v1.0';

/** Cloud Manager's documented bounds for `secretExpiresAfterHours` (the org setting is an Atlas v2 concept). */
export const PUBLIC_API_MIN_SECRET_HOURS = 8;
export const PUBLIC_API_MAX_SECRET_HOURS = 8766;

const INVALID_ATTRIBUTE = 'INVALID_ATTRIBUTE';

/**
 * `secretExpiresAfterHours` as a JSON integer or a string of decimal digits (the Cloud Manager docs show
 * `"3600"`), within 8..8766 whatever the org's Atlas setting says. Anything else: 400 INVALID_ATTRIBUTE.
 */
function parseSecretRequest(body: string): { readonly hours: number } | { readonly invalid: Outcome } {
  const parsed = parseJsonObject(body);
  if (parsed === undefined)
    return { invalid: validationError(INVALID_ATTRIBUTE, 'body', 'must be a JSON object') };
  const raw = parsed.secretExpiresAfterHours;
  if (raw === undefined || raw === null) {
    return { invalid: validationError(INVALID_ATTRIBUTE, 'secretExpiresAfterHours', 'is required') };
  }
  const hours = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (typeof hours !== 'number' || !Number.isSafeInteger(hours)) {
    return { invalid: validationError(INVALID_ATTRIBUTE, 'secretExpiresAfterHours', 'must be an integer') };
  }
  if (hours < PUBLIC_API_MIN_SECRET_HOURS || hours > PUBLIC_API_MAX_SECRET_HOURS) {
    return {
      invalid: validationError(
        INVALID_ATTRIBUTE,
        'secretExpiresAfterHours',
        `must be between ${PUBLIC_API_MIN_SECRET_HOURS} and ${PUBLIC_API_MAX_SECRET_HOURS} hours`,
      ),
    };
  }
  return { hours };
}

const V1_DIALECT: Dialect = {
  // Facts sheet §3.2: "Organization Owner or Organization User Admin to create/update/delete".
  orgManagerRoles: ['ORG_OWNER', 'ORG_USER_ADMIN'],
  parseSecretRequest,
  createdSecretView: (secret) => ({
    id: secret.id,
    secret: secret.value,
    createdAt: timestamp(secret.createdAt),
    expiresAt: timestamp(secret.expiresAt),
  }),
};

interface Operation {
  readonly method: string;
  readonly pattern: RegExp;
  readonly run: (params: readonly string[], paging: Paging, context: OperationContext) => Promise<Outcome>;
}

const SEGMENT = '([^/]+)';
const SCOPES = [
  { prefix: 'orgs', kind: 'org' },
  { prefix: 'groups', kind: 'project' },
] as const;

const OPERATIONS: readonly Operation[] = SCOPES.flatMap(({ prefix, kind }): Operation[] => {
  const scope = (id: string): Scope => ({ kind, id });
  return [
    {
      method: 'GET',
      pattern: new RegExp(`^/${prefix}/${SEGMENT}/serviceAccounts/?$`),
      run: ([id = ''], paging, context) => listServiceAccounts(scope(id), paging, context),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/${prefix}/${SEGMENT}/serviceAccounts/${SEGMENT}/?$`),
      run: ([id = '', clientId = ''], _paging, context) => getServiceAccount(scope(id), clientId, context),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/${prefix}/${SEGMENT}/serviceAccounts/${SEGMENT}/secrets/?$`),
      run: ([id = '', clientId = ''], _paging, context) => createSecret(scope(id), clientId, context),
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/${prefix}/${SEGMENT}/serviceAccounts/${SEGMENT}/secrets/${SEGMENT}/?$`),
      run: ([id = '', clientId = '', secretId = ''], _paging, context) =>
        deleteSecret(scope(id), clientId, secretId, context),
    },
  ];
});

/** Cloud Manager's error body: `{detail, error, errorCode, parameters, reason}`, positional parameters, no badRequestDetail. */
function publicApiError(error: ApiErrorBody): ApiErrorBody {
  const { badRequestDetail, ...rest } = error;
  return badRequestDetail === undefined
    ? rest
    : { ...rest, parameters: badRequestDetail.fields.map((f) => f.field) };
}

/**
 * Order of checks (undocumented; chosen): authentication (401 with a Digest challenge; bearer token or Digest API
 * key), operation (404), `pageNum`/`itemsPerPage` (400 INVALID_QUERY_PARAMETER, on every operation since the docs
 * list them on every page), then the operation's own checks as on the v2 API. Plain `application/json` both ways;
 * the Accept header is ignored, a versioned one included.
 */
export async function handlePublicApi(
  request: SimulatorRequest,
  store: SimulatorStore,
  digest: DigestAuthenticator,
): Promise<HttpResult> {
  const envelope = queryFlag(request.query, 'envelope');
  const pretty = queryFlag(request.query, 'pretty');
  const respond = (outcome: Outcome, headers: Record<string, string> = {}): HttpResult => {
    const { status, body } = outcomeBody(outcome, envelope, publicApiError);
    if (body === undefined) return emptyResult(status, headers);
    return jsonResult(status, body, { pretty, headers });
  };

  const authentication = authenticate(request, store, digest);
  if ('refused' in authentication) {
    const { detail, stale } = authentication.refused;
    return respond(
      { error: apiError(401, 'UNAUTHORIZED', `You are not authorized for this resource. ${detail}`) },
      challengeHeaders(digest, stale),
    );
  }

  const subPath = request.path.slice(PUBLIC_API_PREFIX.length);
  for (const operation of OPERATIONS) {
    const match = operation.pattern.exec(subPath);
    if (match === null || operation.method !== request.method) continue;
    const paging = parsePaging(request.query);
    if ('invalid' in paging) {
      const { field, value } = paging.invalid;
      return respond({
        error: {
          ...apiError(400, 'INVALID_QUERY_PARAMETER', `Invalid query parameter ${field}: ${value}.`),
          parameters: [field, value],
        },
      });
    }
    const context = { principal: authentication.principal, request, store, dialect: V1_DIALECT };
    return respond(await operation.run(match.slice(1).map(decodeSegment), paging, context));
  }
  return respond(notFound(`${request.method} ${request.path}`));
}
