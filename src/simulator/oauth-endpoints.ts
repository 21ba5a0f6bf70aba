import { apiError } from './api-error.js';
import { operationsOf } from './atlas-contract.js';
import { emptyResult, type HttpResult, jsonResult, queryFlag } from './http-result.js';
import type { SlidingWindowLimiter, TokenRateLimit } from './rate-limits.js';
import type { SimulatorRequest } from './simulator-request.js';
import {
  type Caller,
  MAX_ACTIVE_TOKENS_PER_SERVICE_ACCOUNT,
  type SimulatorStore,
} from './simulator-store.js';

export const OAUTH_PREFIX = '/api/oauth/';

/** RFC 6749 §5.2 error body: the token endpoint does not use the Atlas ApiError shape for these (facts sheet §1.1). */
function oauthError(
  status: number,
  error: string,
  description: string,
  pretty: boolean,
  extraHeaders: Readonly<Record<string, string>> = {},
): HttpResult {
  const headers: Record<string, string> = { ...extraHeaders, 'cache-control': 'no-store' };
  if (status === 401) headers['www-authenticate'] = 'Basic realm="Atlas"';
  return jsonResult(status, { error, error_description: description }, { pretty, headers });
}

function authenticate(request: SimulatorRequest, store: SimulatorStore): Caller | undefined {
  const { authorization } = request;
  if (authorization.scheme !== 'basic' || authorization.credentials === undefined) return undefined;
  return store.authenticateClient(authorization.credentials.clientId, authorization.credentials.clientSecret);
}

function isForm(request: SimulatorRequest): boolean {
  return request.contentType?.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** What both endpoints check first: client authentication (401 invalid_client), then a form body (400). */
function authenticatedForm(
  request: SimulatorRequest,
  store: SimulatorStore,
  pretty: boolean,
): { readonly caller: Caller; readonly form: URLSearchParams } | { readonly refused: HttpResult } {
  const caller = authenticate(request, store);
  if (caller === undefined) {
    return { refused: oauthError(401, 'invalid_client', 'Invalid client credentials.', pretty) };
  }
  if (!isForm(request)) {
    return {
      refused: oauthError(
        400,
        'invalid_request',
        'Content-Type must be application/x-www-form-urlencoded.',
        pretty,
      ),
    };
  }
  return { caller, form: new URLSearchParams(request.body) };
}

/**
 * Order of checks (undocumented; RFC 6749 order chosen): client authentication (401 invalid_client), then the
 * form (400 invalid_request / unsupported_grant_type), then the 100-active-token limit.
 */
async function token(request: SimulatorRequest, store: SimulatorStore, pretty: boolean): Promise<HttpResult> {
  const authenticated = authenticatedForm(request, store, pretty);
  if ('refused' in authenticated) return authenticated.refused;
  const { caller, form } = authenticated;
  const grantType = form.get('grant_type');
  if (grantType === null) return oauthError(400, 'invalid_request', 'Missing grant_type.', pretty);
  if (grantType !== 'client_credentials') {
    return oauthError(400, 'unsupported_grant_type', 'Only client_credentials is supported.', pretty);
  }
  await request.work();
  const minted = store.mintToken(caller);
  if (!minted.ok) {
    // Undocumented (facts sheet §2.5 gives the limit, not the error): 429 with an Atlas ApiError, like the
    // endpoint's rate limit (§4.3), and Retry-After until the oldest active token expires.
    return jsonResult(
      429,
      apiError(
        429,
        'MAX_ACTIVE_ACCESS_TOKENS_EXCEEDED',
        `Service account ${caller.account.clientId} already has ${MAX_ACTIVE_TOKENS_PER_SERVICE_ACCOUNT} active access tokens. Revoke one or reuse it.`,
      ),
      { pretty, headers: { 'retry-after': String(minted.retryAfterSeconds) } },
    );
  }
  return jsonResult(
    200,
    { access_token: minted.accessToken, token_type: 'Bearer', expires_in: minted.expiresIn },
    { pretty, headers: { 'cache-control': 'no-store', pragma: 'no-cache' } },
  );
}

/** RFC 7009: an unknown or foreign token is not an error; the answer is 200 with an empty body. */
async function revoke(
  request: SimulatorRequest,
  store: SimulatorStore,
  pretty: boolean,
): Promise<HttpResult> {
  const authenticated = authenticatedForm(request, store, pretty);
  if ('refused' in authenticated) return authenticated.refused;
  const { caller, form } = authenticated;
  const accessToken = form.get('token');
  if (accessToken === null || accessToken === '')
    return oauthError(400, 'invalid_request', 'Missing token.', pretty);
  await request.work();
  store.revokeToken(caller, accessToken);
  return emptyResult(200);
}

export interface OAuthDependencies {
  readonly callerIp: string;
  readonly now: () => Date;
  /** null: no limit. */
  readonly tokenRateLimit: TokenRateLimit | null;
  readonly limiter: SlidingWindowLimiter;
}

/**
 * Paths and methods come from the contract (atlas-contract.ts, api `oauth`). The token endpoint's rate limit
 * (facts sheet §4.3) is checked first, per (caller IP, clientId as claimed in the Basic credentials), and
 * answers 429 RATE_LIMITED as an Atlas ApiError with Retry-After; every token answer carries RateLimit-Limit and
 * RateLimit-Remaining while a limit is set. Access lists are not checked here (facts sheet §5).
 */
export async function handleOAuth(
  request: SimulatorRequest,
  store: SimulatorStore,
  deps: OAuthDependencies,
): Promise<HttpResult> {
  const pretty = queryFlag(request.query, 'pretty');
  const path = request.path.replace(/\/$/, '');
  const operations = operationsOf('oauth').filter((o) => o.path === path);
  if (operations.length === 0) {
    return jsonResult(404, apiError(404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${request.path}.`), {
      pretty,
    });
  }
  if (!operations.some((o) => o.method === request.method)) {
    const allow = operations.map((o) => o.method).join(', ');
    return oauthError(405, 'invalid_request', `Use ${allow}.`, pretty, { allow });
  }
  if (path === '/api/oauth/revoke') return revoke(request, store, pretty);
  if (deps.tokenRateLimit === null) return token(request, store, pretty);
  const { authorization } = request;
  const clientId = authorization.scheme === 'basic' ? (authorization.credentials?.clientId ?? '') : '';
  const decision = deps.limiter.take(
    `${deps.callerIp}|${clientId}`,
    deps.tokenRateLimit,
    deps.now().getTime(),
    '/api/oauth/token',
  );
  if (!decision.allowed) return jsonResult(429, decision.error, { pretty, headers: decision.headers });
  const result = await token(request, store, pretty);
  return { ...result, headers: { ...result.headers, ...decision.headers } };
}
