import type { IncomingHttpHeaders } from 'node:http';
import { AtlasApiError, type AtlasErrorCode } from '../../../application/infrastructure-errors.js';

/** A complete HTTP answer: the body is always read, so the connection can be reused. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** What the failing request was for, in words an operator understands, and what must never be echoed. */
export interface RequestContext {
  /** Completes "Atlas refused to …", e.g. `create a secret for service account mdb_sa_id_… in org …` */
  readonly action: string;
  /** Values (client secret, token) scrubbed from anything Atlas sends back before it reaches a message. */
  readonly sensitive: readonly string[];
  /** The resource version asked for, named in the 406 message. */
  readonly apiVersion?: string | undefined;
  /** Names the API in messages: `Atlas` (default), `Cloud Manager`, with the origin when not the default one. */
  readonly service?: string;
  /** Who acted, named in the 401 and 403 hints. Default a service account (OAuth bearer token). */
  readonly principal?: 'service account' | 'API key';
  /** The role creating and deleting secrets needs, named in the 403 hint. Default Organization Owner. */
  readonly roleNeeded?: string;
}

function serviceOf(context: RequestContext): string {
  return context.service ?? 'Atlas';
}

const MAX_DETAIL_LENGTH = 400;
const SECRET_LIKE = /mdb_sa_sk_[A-Za-z0-9_-]+/g;

interface AtlasErrorBody {
  readonly errorCode: string | undefined;
  readonly detail: string | undefined;
  /** OAuth 2.0 error code (RFC 6749 §5.2), from the token endpoint. */
  readonly oauthError: string | undefined;
}

function stringField(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A body that is a JSON object; undefined for anything else (not JSON, an array, a scalar). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Reads an Atlas `ApiError` or an OAuth error body; anything else yields nothing (it is never echoed). */
export function parseErrorBody(text: string): AtlasErrorBody {
  const body = parseJsonObject(text);
  if (body === undefined) return { errorCode: undefined, detail: undefined, oauthError: undefined };
  const oauthError = stringField(body, 'error');
  let detail =
    stringField(body, 'detail') ?? stringField(body, 'error_description') ?? stringField(body, 'reason');
  const fields = (body.badRequestDetail as { fields?: unknown } | null | undefined)?.fields;
  if (Array.isArray(fields) && fields.length > 0) {
    const described = fields
      .map((f: { field?: unknown; description?: unknown }) =>
        typeof f?.field === 'string' && typeof f.description === 'string'
          ? `${f.field}: ${f.description}`
          : undefined,
      )
      .filter((f) => f !== undefined);
    if (described.length > 0) detail = `${detail ?? 'Invalid fields'} (${described.join('; ')})`;
  }
  return { errorCode: stringField(body, 'errorCode'), detail, oauthError };
}

/** Removes sensitive values and anything shaped like an Atlas secret, and bounds the length. */
export function scrub(text: string, sensitive: readonly string[]): string {
  let out = text;
  for (const value of sensitive) {
    if (value.length > 0) out = out.replaceAll(value, '[REDACTED]');
  }
  out = out.replace(SECRET_LIKE, 'mdb_sa_sk_[REDACTED]');
  return out.length > MAX_DETAIL_LENGTH ? `${out.slice(0, MAX_DETAIL_LENGTH)}…` : out;
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` (delta-seconds or HTTP date) in milliseconds from now; undefined when absent or invalid. */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number.parseInt(trimmed, 10) * 1000;
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

interface StatusMapping {
  readonly code: AtlasErrorCode;
  readonly retryable: boolean;
  readonly verb: string;
  readonly hint: (context: RequestContext) => string | undefined;
}

function mappingFor(status: number): StatusMapping {
  switch (status) {
    case 400:
      return {
        code: 'ATLAS_BAD_REQUEST',
        retryable: false,
        verb: 'rejected the request to',
        hint: () => undefined,
      };
    case 401:
      return {
        code: 'ATLAS_UNAUTHORIZED',
        retryable: false,
        verb: 'refused to',
        hint: (context) =>
          context.principal === 'API key'
            ? 'the API key was rejected: its public or private key is wrong, it was deleted, or it cannot use ' +
              'this API (HTTP Digest)'
            : 'the OAuth token was rejected: it expired, was revoked, or the secret that minted it was deleted',
      };
    case 403:
      return {
        code: 'ATLAS_FORBIDDEN',
        retryable: false,
        verb: 'refused to',
        hint: (context) =>
          `the acting ${context.principal ?? 'service account'} lacks the role (creating and deleting secrets ` +
          `needs ${context.roleNeeded ?? 'Organization Owner'}) or the caller's IP address is not on its API ` +
          'access list',
      };
    case 404:
      return {
        code: 'ATLAS_NOT_FOUND',
        retryable: false,
        verb: 'found nothing to',
        hint: () =>
          'the organization, service account or secret does not exist, or the acting account cannot see it',
      };
    case 406:
      return {
        code: 'ATLAS_INVALID_VERSION',
        retryable: false,
        verb: 'refused to',
        hint: (context) =>
          `${serviceOf(context)} does not accept API version ${context.apiVersion ?? '(none)'}; fix the apiVersion setting`,
      };
    case 409:
      return {
        code: 'ATLAS_CONFLICT',
        retryable: true,
        verb: 'refused to',
        hint: () => 'another change to this service account was in progress; try again',
      };
    case 429:
      return {
        code: 'ATLAS_RATE_LIMITED',
        retryable: true,
        verb: 'rate-limited the request to',
        hint: () => undefined,
      };
    default:
      if (status >= 500) {
        return { code: 'ATLAS_UNAVAILABLE', retryable: true, verb: 'failed to', hint: () => undefined };
      }
      return {
        code: 'ATLAS_UNEXPECTED_RESPONSE',
        retryable: false,
        verb: 'answered with an unexpected status to',
        hint: () => undefined,
      };
  }
}

function retryAfterOf(answer: HttpAnswer, nowMs: number): number | undefined {
  return parseRetryAfterMs(headerValue(answer.headers, 'retry-after'), nowMs);
}

function compose(parts: readonly (string | undefined)[]): string {
  return parts.filter((p) => p !== undefined && p !== '').join('; ');
}

/**
 * Maps an API answer that is not a success to an `AtlasApiError`. Atlas v2 and the public API v1.0 (Cloud
 * Manager, Ops Manager) share the `ApiError` body `{error, errorCode, detail, reason, parameters}`.
 */
export function atlasErrorFromAnswer(
  answer: HttpAnswer,
  context: RequestContext,
  nowMs: number,
): AtlasApiError {
  const body = parseErrorBody(answer.text);
  const mapping = mappingFor(answer.status);
  const retryAfterMs = retryAfterOf(answer, nowMs);
  const label = body.errorCode === undefined ? `${answer.status}` : `${answer.status} ${body.errorCode}`;
  const detail =
    body.detail === undefined
      ? `no ${serviceOf(context)} error detail`
      : scrub(body.detail, context.sensitive);
  const message = compose([
    `${serviceOf(context)} ${mapping.verb} ${context.action} (${label}): ${detail}`,
    mapping.hint(context),
    retryAfterMs === undefined ? undefined : `retry after ${Math.ceil(retryAfterMs / 1000)} s`,
  ]);
  return new AtlasApiError(mapping.code, message, mapping.retryable, answer.status, body.errorCode, {
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/**
 * Maps a token-endpoint failure. Bad credentials come back as an OAuth error (`{"error":"invalid_client"}`),
 * rate limits and outages as Atlas `ApiError`s.
 */
export function oauthErrorFromAnswer(
  answer: HttpAnswer,
  clientId: string,
  context: RequestContext,
  nowMs: number,
): AtlasApiError {
  const body = parseErrorBody(answer.text);
  const isClientError =
    answer.status === 401 || (answer.status === 400 && body.oauthError === 'invalid_client');
  if (!isClientError) return atlasErrorFromAnswer(answer, context, nowMs);
  const code = body.oauthError ?? body.errorCode;
  const label = code === undefined ? `${answer.status}` : `${answer.status} ${code}`;
  return new AtlasApiError(
    'ATLAS_INVALID_CLIENT',
    `${serviceOf(context)} did not accept the client credentials of ${clientId} to ${context.action} (${label}): ` +
      'the client secret is wrong, expired or deleted, or the service account no longer exists',
    false,
    answer.status,
    code,
  );
}

/** What went wrong below HTTP: a timeout or a connection problem. */
export function atlasErrorFromTransport(
  error: unknown,
  context: RequestContext,
  options: { readonly timeoutMs: number; readonly outcomeUnknown: boolean },
): AtlasApiError {
  const code =
    typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  const name = error instanceof Error ? error.name : 'Error';
  const isTimeout =
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    name === 'TimeoutError';
  const unknownOutcome = options.outcomeUnknown
    ? 'the request may have been carried out although no answer came; check its effect before repeating it'
    : undefined;
  const cause = error instanceof Error ? { cause: error } : {};
  if (isTimeout) {
    return new AtlasApiError(
      'ATLAS_TIMEOUT',
      compose([
        `${serviceOf(context)} did not answer in time to ${context.action} (${code ?? name}, ${options.timeoutMs} ms)`,
        unknownOutcome,
      ]),
      true,
      undefined,
      undefined,
      cause,
    );
  }
  const what = error instanceof Error ? scrub(error.message, context.sensitive) : 'unknown error';
  return new AtlasApiError(
    'ATLAS_NETWORK_ERROR',
    compose([
      `Could not reach ${serviceOf(context)} to ${context.action} (${code ?? name}: ${what})`,
      unknownOutcome,
    ]),
    true,
    undefined,
    undefined,
    cause,
  );
}

/** A success status whose body is not what the API documents. The body itself is never echoed. */
export function unexpectedResponse(
  answer: HttpAnswer,
  context: RequestContext,
  problem: string,
  consequence?: string,
): AtlasApiError {
  return new AtlasApiError(
    'ATLAS_UNEXPECTED_RESPONSE',
    compose([
      `${serviceOf(context)} answered ${answer.status} to ${context.action} with an unexpected body: ${problem}`,
      consequence,
    ]),
    false,
    answer.status,
    undefined,
  );
}
