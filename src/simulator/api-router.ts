import { type ApiErrorBody, apiError, type FieldViolation } from './api-error.js';
import {
  type ApiName,
  type OperationContract,
  operationsOf,
  type ParameterContract,
} from './atlas-contract.js';
import { atlasTimestamp as timestamp } from './atlas-timestamp.js';
import { authorized } from './authorization.js';
import type { DigestAuthenticator } from './digest-auth.js';
import { emptyResult, type HttpResult, jsonResult } from './http-result.js';
import { checkAccessList } from './ip-access.js';
import { authenticate, challengeHeaders } from './principal-authentication.js';
import type { TokenBucketLimit, TokenBucketLimiter } from './rate-limits.js';
import { violations } from './schema-validator.js';
import {
  type Behaviour,
  createdSecretView,
  HANDLERS,
  handlerName,
  notFound,
  type Outcome,
  type ResolvedScope,
} from './service-account-handlers.js';
import type { SimulatorRequest } from './simulator-request.js';
import { MIN_SECRET_VALIDITY_HOURS, type OrgRecord, type SimulatorStore } from './simulator-store.js';
import { negotiateVersion, versionedContentType } from './version-negotiation.js';

/**
 * The generic router of the two public APIs. Everything about an operation that is a fact of the API comes from
 * the contract (atlas-contract.ts): its path template and methods (404, 405 + Allow), its versions (406), its
 * parameters (400), its body schema (400), the role it demands (403), its success schema (checked on the way
 * out: a handler that breaks the contract answers 500, so a simulator bug cannot pass for Atlas behaviour).
 *
 * Order of checks (undocumented; chosen): authentication (401, with a Digest challenge) -> IP access list (403,
 * facts sheet §5) -> Admin API token bucket when enabled (429) -> path (404/405) -> version (406, v2) -> path
 * parameters (400) -> query parameters (400) -> org or project (404 unknown, 403 another org's) -> role (403)
 * -> body (400) -> the handler's own checks.
 */

export const ADMIN_API_PREFIX = '/api/atlas/v2';
export const PUBLIC_API_PREFIX = '/api/public/v1.0';

/** What differs between Atlas v2 and Cloud Manager v1.0 beyond the contract. */
interface Dialect extends Behaviour {
  readonly api: ApiName;
  readonly versioned: boolean;
  readonly unauthorized: (detail: string) => string;
  readonly queryError: (name: string, raw: string, description: string) => ApiErrorBody;
  /** How an error body goes on the wire. */
  readonly renderError: (error: ApiErrorBody) => ApiErrorBody;
}

function validation(errorCode: string, fields: readonly FieldViolation[]): ApiErrorBody {
  const summary = fields.map((f) => `${f.field} ${f.description}`).join('; ');
  return apiError(400, errorCode, `Invalid attribute ${summary}.`, fields);
}

/** Facts sheet §2.1: 8 hours up to the org's maxServiceAccountSecretValidityInHours (project paths: the parent org's). */
function v2SecretHours(raw: unknown, org: OrgRecord): number | ApiErrorBody {
  const max = org.settings.maxServiceAccountSecretValidityInHours;
  const hours = raw as number;
  if (hours < MIN_SECRET_VALIDITY_HOURS || hours > max) {
    // The spec only says "> 0"; the error for out-of-range hours is undocumented [inference: 400 VALIDATION_ERROR].
    return validation('VALIDATION_ERROR', [
      {
        field: 'secretExpiresAfterHours',
        description: `must be between ${MIN_SECRET_VALIDITY_HOURS} and ${max} hours`,
      },
    ]);
  }
  return hours;
}

/** Cloud Manager's documented bounds for `secretExpiresAfterHours` (the org setting is an Atlas v2 concept). */
export const PUBLIC_API_MIN_SECRET_HOURS = 8;
export const PUBLIC_API_MAX_SECRET_HOURS = 8766;
const INVALID_ATTRIBUTE = 'INVALID_ATTRIBUTE';

function v1SecretHours(raw: unknown): number | ApiErrorBody {
  const hours = typeof raw === 'string' ? Number(raw) : (raw as number);
  if (
    !Number.isSafeInteger(hours) ||
    hours < PUBLIC_API_MIN_SECRET_HOURS ||
    hours > PUBLIC_API_MAX_SECRET_HOURS
  ) {
    return validation(INVALID_ATTRIBUTE, [
      {
        field: 'secretExpiresAfterHours',
        description: `must be between ${PUBLIC_API_MIN_SECRET_HOURS} and ${PUBLIC_API_MAX_SECRET_HOURS} hours`,
      },
    ]);
  }
  return hours;
}

const V2: Dialect = {
  api: 'atlas-v2',
  versioned: true,
  unauthorized: (detail) => detail,
  // Facts sheet §4.2: validation is 400 VALIDATION_ERROR with badRequestDetail, query parameters included.
  queryError: (name, _raw, description) => validation('VALIDATION_ERROR', [{ field: name, description }]),
  renderError: (error) => error,
  secretHours: v2SecretHours,
  createdSecretView,
  validationError: (field, description) => validation('VALIDATION_ERROR', [{ field, description }]),
};

/** Cloud Manager: errors are `{detail, error, errorCode, parameters, reason}`, positional parameters, no badRequestDetail. */
const V1: Dialect = {
  api: 'cloud-manager-v1',
  versioned: false,
  unauthorized: (detail) => `You are not authorized for this resource. ${detail}`,
  queryError: (name, raw) => ({
    ...apiError(400, 'INVALID_QUERY_PARAMETER', `Invalid query parameter ${name}: ${raw}.`),
    parameters: [name, raw],
  }),
  renderError: (error) => {
    const { badRequestDetail, ...rest } = error;
    return badRequestDetail === undefined || badRequestDetail === null
      ? rest
      : { ...rest, parameters: badRequestDetail.fields.map((f) => f.field) };
  },
  secretHours: v1SecretHours,
  createdSecretView: (secret) => ({
    id: secret.id,
    secret: secret.value,
    createdAt: timestamp(secret.createdAt),
    expiresAt: timestamp(secret.expiresAt),
  }),
  validationError: (field, description) => validation(INVALID_ATTRIBUTE, [{ field, description }]),
};

// ---------------------------------------------------------------------------------------------------------------
// Path matching

interface CompiledOperation {
  readonly operation: OperationContract;
  /** Per segment: a literal, or a parameter with an optional literal suffix. */
  readonly segments: readonly ({ literal: string } | { param: string; suffix: string })[];
  readonly suffixed: boolean;
}

function compile(operation: OperationContract): CompiledOperation {
  const segments = operation.path
    .split('/')
    .slice(1)
    .map((segment) => {
      const match = /^\{([A-Za-z]+)\}(.*)$/.exec(segment);
      return match === null ? { literal: segment } : { param: match[1] ?? '', suffix: match[2] ?? '' };
    });
  return { operation, segments, suffixed: segments.some((s) => 'param' in s && s.suffix !== '') };
}

function match(compiled: CompiledOperation, raw: readonly string[]): Record<string, string> | undefined {
  if (compiled.segments.length !== raw.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of compiled.segments.entries()) {
    const value = raw[index] ?? '';
    if ('literal' in segment) {
      if (segment.literal !== value) return undefined;
      continue;
    }
    if (!value.endsWith(segment.suffix)) return undefined;
    const param = value.slice(0, value.length - segment.suffix.length);
    // A plain parameter never swallows a `:verb` suffix that another template names.
    if (param === '' || (segment.suffix === '' && param.includes(':'))) return undefined;
    params[segment.param] = param;
  }
  return params;
}

const COMPILED: Readonly<Record<'atlas-v2' | 'cloud-manager-v1', readonly CompiledOperation[]>> = {
  'atlas-v2': operationsOf('atlas-v2').map(compile),
  'cloud-manager-v1': operationsOf('cloud-manager-v1').map(compile),
};

for (const operation of [...operationsOf('atlas-v2'), ...operationsOf('cloud-manager-v1')]) {
  if (HANDLERS[handlerName(operation.operationId)] === undefined) {
    throw new Error(`no handler for contract operation ${operation.operationId}`);
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The operation the method and path name, the methods the path allows (for 405), or nothing (404). */
export function route(
  api: 'atlas-v2' | 'cloud-manager-v1',
  method: string,
  path: string,
):
  | { readonly operation: OperationContract; readonly rawParams: Record<string, string> }
  | { readonly allow: readonly string[] }
  | undefined {
  const trimmed = path.length > 1 ? path.replace(/\/$/, '') : path;
  const raw = trimmed.split('/').slice(1);
  let candidates = COMPILED[api]
    .map((compiled) => ({ compiled, params: match(compiled, raw) }))
    .filter((c) => c.params !== undefined);
  if (candidates.some((c) => c.compiled.suffixed)) candidates = candidates.filter((c) => c.compiled.suffixed);
  if (candidates.length === 0) return undefined;
  const chosen = candidates.find((c) => c.compiled.operation.method === method);
  if (chosen === undefined)
    return { allow: [...new Set(candidates.map((c) => c.compiled.operation.method))].sort() };
  return { operation: chosen.compiled.operation, rawParams: chosen.params ?? {} };
}

// ---------------------------------------------------------------------------------------------------------------
// Parameter validation

function checkPathParams(operation: OperationContract, raw: Record<string, string>): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const parameter of operation.parameters) {
    if (parameter.in !== 'path' || parameter.pattern === undefined) continue;
    if (!new RegExp(parameter.pattern, 'u').test(raw[parameter.name] ?? '')) {
      out.push({
        field: parameter.name,
        description: `${raw[parameter.name] ?? ''} is not a valid ${parameter.name}`,
      });
    }
  }
  return out;
}

function parseQueryValue(
  parameter: ParameterContract,
  raw: string,
): { readonly value: number | boolean } | { readonly problem: string } {
  if (parameter.type === 'boolean') {
    const lower = raw.toLowerCase();
    if (lower === 'true' || lower === 'false') return { value: lower === 'true' };
    return { problem: 'must be true or false' };
  }
  if (parameter.type === 'integer') {
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    const min = parameter.minimum ?? Number.MIN_SAFE_INTEGER;
    const max = parameter.maximum ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      return {
        problem: `must be an integer${parameter.maximum === undefined ? ` of at least ${min}` : ` in ${min}..${max}`}`,
      };
    }
    return { value };
  }
  return { problem: 'unsupported parameter type' };
}

// ---------------------------------------------------------------------------------------------------------------
// The pipeline

export interface ApiDependencies {
  readonly store: SimulatorStore;
  readonly digest: DigestAuthenticator;
  readonly now: () => Date;
  readonly callerIp: string;
  readonly bucketLimit: TokenBucketLimit | null;
  readonly buckets: TokenBucketLimiter;
  readonly createSecretProcessingMs: number;
  readonly signal: AbortSignal;
}

function resolveScope(
  operation: OperationContract,
  params: Readonly<Record<string, string>>,
  store: SimulatorStore,
): ResolvedScope | Outcome {
  if (operation.scope === 'org') {
    const org = store.org(params.orgId ?? '');
    return org === undefined ? notFound(`organization ${params.orgId ?? ''}`) : { org, project: null };
  }
  const project = store.project(params.groupId ?? '');
  const org = project === undefined ? undefined : store.org(project.orgId);
  return project === undefined || org === undefined
    ? notFound(`project ${params.groupId ?? ''}`)
    : { org, project };
}

const FORBIDDEN = apiError(
  403,
  'USER_UNAUTHORIZED',
  'Current user is not authorized to perform this action.',
);

/** `envelope=true`: one result (an error too) becomes `{status, content}` and a list gains `status`; the HTTP status stays. */
function envelopeBody(outcome: Outcome, payload: unknown, envelope: boolean): unknown {
  if (payload === undefined || !envelope) return payload;
  const status = 'error' in outcome ? outcome.error.error : outcome.status;
  const listed = !('error' in outcome) && outcome.list === true;
  return listed ? { ...(payload as object), status } : { status, content: payload };
}

function flag(query: URLSearchParams, name: string): boolean {
  return query.get(name)?.toLowerCase() === 'true';
}

/** Serves one request of Atlas Admin API v2 or Cloud Manager v1.0 (`api`), path and all, from the contract. */
export async function handleApi(
  api: 'atlas-v2' | 'cloud-manager-v1',
  request: SimulatorRequest,
  deps: ApiDependencies,
): Promise<HttpResult> {
  const dialect = api === 'atlas-v2' ? V2 : V1;
  const prefix = api === 'atlas-v2' ? ADMIN_API_PREFIX : PUBLIC_API_PREFIX;
  const envelope = flag(request.query, 'envelope');
  const pretty = flag(request.query, 'pretty');
  let extraHeaders: Record<string, string> = {};
  const respond = (outcome: Outcome, version?: string, operation?: OperationContract): HttpResult => {
    if ('error' in outcome) {
      const body = envelopeBody(outcome, dialect.renderError(outcome.error), envelope);
      return jsonResult(outcome.error.error, body, { pretty, headers: extraHeaders });
    }
    const declared = operation?.responses[outcome.status];
    if (declared?.body !== undefined) {
      const problems = violations(declared.body, outcome.payload);
      if (problems.length > 0) {
        const detail = `Atlas simulator failure: ${operation?.operationId} answered a ${declared.body} that breaks the contract: ${problems.map((p) => `${p.field} ${p.description}`).join('; ')}`;
        return jsonResult(500, apiError(500, 'UNEXPECTED_ERROR', detail), { headers: extraHeaders });
      }
    }
    const body = envelopeBody(outcome, outcome.payload, envelope);
    if (body === undefined) return emptyResult(outcome.status, extraHeaders);
    const contentType =
      dialect.versioned && version !== undefined ? versionedContentType(version) : 'application/json';
    return jsonResult(outcome.status, body, { contentType, pretty, headers: extraHeaders });
  };

  const { store } = deps;
  const authentication = authenticate(request, store, deps.digest);
  if ('refused' in authentication) {
    const { detail, stale } = authentication.refused;
    extraHeaders = challengeHeaders(deps.digest, stale);
    return respond({ error: apiError(401, 'UNAUTHORIZED', dialect.unauthorized(detail)) });
  }
  const { principal } = authentication;

  const denied = checkAccessList(principal, store.org(principal.orgId), deps.callerIp, store.timestamp());
  if (denied !== undefined) return respond({ error: denied });

  if (deps.bucketLimit !== null) {
    // One endpoint set per API and level, in the shape of the documented example (`api/atlas/v2/orgs`).
    const level = request.path.slice(prefix.length).split('/')[1] ?? '';
    const endpointSet = `${prefix.slice(1)}/${level}`;
    const decision = deps.buckets.take(
      `${principal.orgId}|${endpointSet}`,
      deps.bucketLimit,
      deps.now().getTime(),
      endpointSet,
    );
    extraHeaders = decision.headers;
    if (!decision.allowed) return respond({ error: decision.error });
  }

  const routed = route(api, request.method, request.path);
  if (routed === undefined) return respond(notFound(`${request.method} ${request.path}`));
  if ('allow' in routed) {
    extraHeaders = { ...extraHeaders, allow: routed.allow.join(', ') };
    // 405 and its code are not in the facts sheet [inference: METHOD_NOT_ALLOWED].
    return respond({
      error: apiError(
        405,
        'METHOD_NOT_ALLOWED',
        `${request.method} is not allowed on ${request.path}; use ${routed.allow.join(', ')}.`,
      ),
    });
  }
  const { operation, rawParams } = routed;

  let version: string | undefined;
  if (dialect.versioned) {
    version = negotiateVersion(request.accept, operation.versions);
    if (version === undefined) {
      return respond({
        error: apiError(406, 'INVALID_VERSION_DATE', 'Invalid accept header or version date.'),
      });
    }
  }

  // Facts sheet §4.2: a path parameter that breaks its pattern is a validation error (400 VALIDATION_ERROR);
  // which field Atlas names is undocumented [inference: the parameter's name].
  const badParams = checkPathParams(operation, rawParams);
  if (badParams.length > 0) return respond({ error: validation('VALIDATION_ERROR', badParams) }, version);
  const params = Object.fromEntries(Object.entries(rawParams).map(([k, v]) => [k, decode(v)]));

  const query: Record<string, number | boolean> = {};
  for (const parameter of operation.parameters) {
    if (parameter.in !== 'query') continue;
    const raw = request.query.get(parameter.name);
    if (raw === null) {
      if (parameter.default !== undefined) query[parameter.name] = parameter.default;
      continue;
    }
    const parsed = parseQueryValue(parameter, raw);
    if ('problem' in parsed)
      return respond({ error: dialect.queryError(parameter.name, raw, parsed.problem) });
    query[parameter.name] = parsed.value;
  }

  const scope = resolveScope(operation, params, store);
  if ('status' in scope || 'error' in scope) return respond(scope);
  if (principal.orgId !== scope.org.orgId) return respond({ error: FORBIDDEN });
  if (!authorized(principal, operation.roles, scope.project?.projectId ?? null))
    return respond({ error: FORBIDDEN });

  let body: unknown;
  if (operation.requestBody !== undefined) {
    if (request.body.trim() === '') {
      return respond({
        error: validation(api === 'atlas-v2' ? 'VALIDATION_ERROR' : INVALID_ATTRIBUTE, [
          { field: 'body', description: 'is required' },
        ]),
      });
    }
    try {
      body = JSON.parse(request.body);
    } catch {
      // Not in the facts sheet [inference: 400 INVALID_JSON, as Atlas names malformed JSON elsewhere].
      return respond({ error: apiError(400, 'INVALID_JSON', 'Received JSON is malformed.') });
    }
    const problems = violations(operation.requestBody.schema, body);
    if (problems.length > 0) {
      return respond({
        error: validation(api === 'atlas-v2' ? 'VALIDATION_ERROR' : INVALID_ATTRIBUTE, problems),
      });
    }
  }

  const handler = HANDLERS[handlerName(operation.operationId)];
  if (handler === undefined) throw new Error(`no handler for ${operation.operationId}`);
  const outcome = await handler({
    operation,
    behaviour: dialect,
    principal,
    callerIp: deps.callerIp,
    params,
    query,
    body,
    scope,
    store,
    request,
    createSecretProcessingMs: deps.createSecretProcessingMs,
    signal: deps.signal,
  });
  return respond(outcome, version, operation);
}
