import type { Dispatcher } from 'undici';
import type {
  ActingCredential,
  AtlasServiceAccounts,
  AtlasTarget,
  CreatedAtlasSecret,
} from '../../../application/ports/atlas-service-accounts.js';
import type { Clock } from '../../../application/ports/clock.js';
import type { ServiceAccountCredential } from '../../../domain/credential.js';
import { AtlasApiError } from '../../../domain/errors.js';
import { type AtlasSecretId, type OrgId, parseAtlasSecretId } from '../../../domain/identifiers.js';
import type { AtlasSecretInfo } from '../../../domain/room-plan.js';
import { SecretValue } from '../../../domain/secret-value.js';
import { parseAtlasBaseUrl } from './atlas-base-url.js';
import {
  atlasErrorFromAnswer,
  atlasErrorFromTransport,
  type HttpAnswer,
  oauthErrorFromAnswer,
  type RequestContext,
  unexpectedResponse,
} from './atlas-error-mapping.js';
import {
  type MintedToken,
  OAuthTokenCache,
  type ReleasedTokens,
  type UsableToken,
} from './oauth-token-cache.js';

export interface AtlasAdminApiClientOptions {
  /** The Atlas origin, e.g. `https://cloud.mongodb.com`. */
  readonly baseUrl: string;
  /** An undici `Pool` for that origin (see `createAtlasDispatcher`); never the global dispatcher. */
  readonly dispatcher: Dispatcher;
  readonly clock: Clock;
  /** Permit a plain `http://` origin (local simulators only). */
  readonly allowInsecureHttp?: boolean;
  /** Per-request `headersTimeout` and `bodyTimeout`. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Attempts for idempotent calls (GET, DELETE, token mint). Default 4. The create POST gets one. */
  readonly maxAttempts?: number;
  /** First backoff delay; doubles per attempt. Default 250. */
  readonly backoffBaseMs?: number;
  /** A longer `Retry-After` fails (retryable) instead of waiting. Default 30 000. */
  readonly maxRetryAfterMs?: number;
  /** Refresh a token this long before it expires, but at most half its lifetime early. Default 10 min. */
  readonly tokenRefreshMarginMs?: number;
}

/** Service-account endpoints exist only in resource version 2024-08-05; the org settings in 2023-01-01. */
const ORG_SETTINGS_API_VERSION = '2023-01-01';
const ADMIN_API_PREFIX = '/api/atlas/v2';
const TOKEN_PATH = '/api/oauth/token';
const REVOKE_PATH = '/api/oauth/revoke';
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

type Method = 'GET' | 'POST' | 'DELETE';

interface HttpRequest {
  readonly method: Method;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly idempotent: boolean;
}

/** One Admin API operation: what to send, and how to read the answers that are not errors. */
interface AdminCall<T> {
  readonly method: Method;
  /** Path under `/api/atlas/v2`, segments already encoded. */
  readonly path: string;
  readonly apiVersion: string;
  readonly body?: unknown;
  readonly idempotent: boolean;
  readonly action: string;
  /** The result of a success (or expected "nothing there") answer; undefined maps the answer as an error. */
  readonly read: (answer: HttpAnswer, context: RequestContext) => { readonly value: T } | undefined;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen <= 0)
    throw new RangeError(`${name} must be a positive integer: ${chosen}`);
  return chosen;
}

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < 0)
    throw new RangeError(`${name} must be a non-negative integer: ${chosen}`);
  return chosen;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are Basic-encoded. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replaceAll('%20', '+');
}

/** Until API-key (Digest) authentication lands, an API key cannot act here. */
function serviceAccountOnly(credential: ActingCredential): ServiceAccountCredential {
  if ('publicKey' in credential) {
    throw new AtlasApiError(
      'ATLAS_BAD_REQUEST',
      'API-key (HTTP Digest) authentication is not supported by this client',
      false,
      undefined,
      undefined,
    );
  }
  return credential;
}

function basicAuthorization(credential: ServiceAccountCredential): string {
  const pair = `${formEncode(credential.clientId)}:${formEncode(credential.clientSecret.reveal())}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

function accountPath(target: AtlasTarget): string {
  return `/orgs/${encodeURIComponent(target.orgId)}/serviceAccounts/${encodeURIComponent(target.clientId)}`;
}

function versionedMediaType(apiVersion: string): string {
  return `application/vnd.atlas.${apiVersion}+json`;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

/** Reads one `ServiceAccountSecret`; a reason string when it does not have the documented shape. */
function readSecretInfo(raw: unknown): AtlasSecretInfo | string {
  if (typeof raw !== 'object' || raw === null) return 'a secret is not an object';
  const record = raw as Record<string, unknown>;
  let id: AtlasSecretId;
  try {
    id = parseAtlasSecretId(record.id);
  } catch {
    return 'a secret has no 24-hex id';
  }
  if (!isTimestamp(record.createdAt)) return `secret ${id} has no valid createdAt`;
  if (!isTimestamp(record.expiresAt)) return `secret ${id} has no valid expiresAt`;
  return { id, createdAt: record.createdAt, expiresAt: record.expiresAt };
}

/**
 * `AtlasServiceAccounts` over the Atlas Admin API v2 with undici. OAuth tokens are cached per credential
 * and shared by concurrent callers. Idempotent calls (GET, DELETE, token mint) are retried on 409, 429,
 * 5xx, timeouts and connection errors with deterministic exponential backoff through `clock.sleep`,
 * honouring `Retry-After`; the create POST is never retried. No token or secret appears in an error.
 */
export class AtlasAdminApiClient implements AtlasServiceAccounts {
  readonly #origin: string;
  readonly #dispatcher: Dispatcher;
  readonly #clock: Clock;
  readonly #requestTimeoutMs: number;
  readonly #maxAttempts: number;
  readonly #backoffBaseMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #tokens: OAuthTokenCache;

  constructor(options: AtlasAdminApiClientOptions) {
    this.#origin = parseAtlasBaseUrl(options.baseUrl, options.allowInsecureHttp ?? false).origin;
    this.#dispatcher = options.dispatcher;
    this.#clock = options.clock;
    this.#requestTimeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 10_000);
    this.#maxAttempts = positiveInteger('maxAttempts', options.maxAttempts, 4);
    this.#backoffBaseMs = nonNegativeInteger('backoffBaseMs', options.backoffBaseMs, 250);
    this.#maxRetryAfterMs = nonNegativeInteger('maxRetryAfterMs', options.maxRetryAfterMs, 30_000);
    const margin = nonNegativeInteger('tokenRefreshMarginMs', options.tokenRefreshMarginMs, 10 * 60_000);
    this.#tokens = new OAuthTokenCache(() => this.#nowMs(), margin);
  }

  async listSecrets(target: AtlasTarget, as: ActingCredential): Promise<AtlasSecretInfo[]> {
    return this.#adminCall<AtlasSecretInfo[]>(as, {
      method: 'GET',
      path: accountPath(target),
      apiVersion: target.apiVersion,
      idempotent: true,
      action: `list the secrets of service account ${target.clientId} in org ${target.orgId}`,
      read: (answer, context) => {
        if (answer.status !== 200) return undefined;
        const body = parseJsonObject(answer.text);
        if (body === undefined) throw unexpectedResponse(answer, context, 'not a JSON object');
        const secrets = body.secrets ?? [];
        if (!Array.isArray(secrets)) throw unexpectedResponse(answer, context, 'secrets is not an array');
        const infos: AtlasSecretInfo[] = [];
        for (const raw of secrets) {
          const info = readSecretInfo(raw);
          if (typeof info === 'string') throw unexpectedResponse(answer, context, info);
          infos.push(info);
        }
        return { value: infos };
      },
    });
  }

  async createSecret(
    target: AtlasTarget,
    as: ActingCredential,
    expiresAfterHours: number,
  ): Promise<CreatedAtlasSecret> {
    if (!Number.isInteger(expiresAfterHours) || expiresAfterHours <= 0) {
      throw new RangeError(`expiresAfterHours must be a positive integer: ${expiresAfterHours}`);
    }
    const orphanWarning =
      'a secret may have been created although its value is lost; list the secrets and delete the orphan';
    return this.#adminCall<CreatedAtlasSecret>(as, {
      method: 'POST',
      path: `${accountPath(target)}/secrets`,
      apiVersion: target.apiVersion,
      body: { secretExpiresAfterHours: expiresAfterHours },
      idempotent: false,
      action: `create a secret for service account ${target.clientId} in org ${target.orgId}`,
      read: (answer, context) => {
        if (answer.status !== 201 && answer.status !== 200) return undefined;
        const body = parseJsonObject(answer.text);
        if (body === undefined) throw unexpectedResponse(answer, context, 'not a JSON object', orphanWarning);
        const info = readSecretInfo(body);
        if (typeof info === 'string') throw unexpectedResponse(answer, context, info, orphanWarning);
        if (typeof body.secret !== 'string' || body.secret === '') {
          throw unexpectedResponse(
            answer,
            context,
            `secret ${info.id} came without its value`,
            orphanWarning,
          );
        }
        return { value: { ...info, secret: SecretValue.of(body.secret) } };
      },
    });
  }

  async deleteSecret(target: AtlasTarget, secretId: AtlasSecretId, as: ActingCredential): Promise<boolean> {
    return this.#adminCall<boolean>(as, {
      method: 'DELETE',
      path: `${accountPath(target)}/secrets/${encodeURIComponent(secretId)}`,
      apiVersion: target.apiVersion,
      idempotent: true,
      action: `delete secret ${secretId} of service account ${target.clientId} in org ${target.orgId}`,
      read: (answer) => {
        if (answer.status === 204 || answer.status === 200) return { value: true };
        if (answer.status === 404) return { value: false };
        return undefined;
      },
    });
  }

  async maxSecretValidityHours(target: AtlasTarget, as: ActingCredential): Promise<number | undefined> {
    const orgId = target.orgId;
    return this.#adminCall<number | undefined>(as, {
      method: 'GET',
      path: `/orgs/${encodeURIComponent(orgId)}/settings`,
      apiVersion: ORG_SETTINGS_API_VERSION,
      idempotent: true,
      action: `read the settings of org ${orgId}`,
      read: (answer, context) => {
        if (answer.status === 403 || answer.status === 404) return { value: undefined };
        if (answer.status !== 200) return undefined;
        const body = parseJsonObject(answer.text);
        if (body === undefined) throw unexpectedResponse(answer, context, 'not a JSON object');
        const max = body.maxServiceAccountSecretValidityInHours;
        if (max === undefined || max === null) return { value: undefined };
        if (typeof max !== 'number' || !Number.isInteger(max) || max <= 0) {
          throw unexpectedResponse(
            answer,
            context,
            'maxServiceAccountSecretValidityInHours is not a positive integer',
          );
        }
        return { value: max };
      },
    });
  }

  async releaseTokens(credential: ActingCredential): Promise<void> {
    try {
      await this.#revokeAll(credential, this.#tokens.release(credential));
    } catch {
      // Best effort by contract: an unrevoked token expires on its own within the hour.
    }
  }

  forgetTokens(credential: ActingCredential): void {
    this.#tokens.forget(credential);
  }

  /**
   * Shutdown: revokes every cached token (as Terraform does on exit) and forgets them. Best effort, never
   * rejects. Does not close the dispatcher, which belongs to whoever created it; call this before closing it.
   */
  async close(): Promise<void> {
    try {
      await Promise.all(
        this.#tokens.releaseAll().map(({ credential, tokens }) => this.#revokeAll(credential, tokens)),
      );
    } catch {
      // Best effort, as in releaseTokens.
    }
  }

  async #revokeAll(credential: ActingCredential, released: ReleasedTokens): Promise<void> {
    const accessTokens = [...released.accessTokens];
    if (released.inflight !== undefined) {
      try {
        accessTokens.push(await released.inflight);
      } catch {
        // The mint failed: there is no token to revoke.
      }
    }
    await Promise.all(accessTokens.map((token) => this.#revoke(credential, token)));
  }

  #nowMs(): number {
    return this.#clock.now().getTime();
  }

  async #adminCall<T>(acting: ActingCredential, call: AdminCall<T>): Promise<T> {
    const as = serviceAccountOnly(acting);
    const mediaType = versionedMediaType(call.apiVersion);
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    let refreshedAfter401 = false;
    for (let attempt = 1; ; ) {
      // A failed mint was already retried on its own; it is not retried again here.
      const token: UsableToken = await this.#tokens.get(as, () => this.#mint(as, call.action));
      const context: RequestContext = {
        action: call.action,
        sensitive: [as.clientSecret.reveal(), token.accessToken.reveal()],
        apiVersion: call.apiVersion,
      };
      const request: HttpRequest = {
        method: call.method,
        path: `${ADMIN_API_PREFIX}${call.path}`,
        headers: {
          accept: mediaType,
          authorization: `Bearer ${token.accessToken.reveal()}`,
          ...(body === undefined ? {} : { 'content-type': mediaType }),
        },
        ...(body === undefined ? {} : { body }),
        idempotent: call.idempotent,
      };
      let error: AtlasApiError;
      try {
        const answer = await this.#send(request);
        if (answer.status === 401 && !token.fresh && !refreshedAfter401) {
          // The cached token may have been revoked (its secret deleted): Atlas did nothing, so a single
          // retry with a freshly minted token is safe even for the create POST.
          refreshedAfter401 = true;
          this.#tokens.invalidate(as, token.accessToken);
          continue;
        }
        const read = call.read(answer, context);
        if (read !== undefined) return read.value;
        error = atlasErrorFromAnswer(answer, context, this.#nowMs());
      } catch (failure) {
        if (failure instanceof AtlasApiError) throw failure;
        error = atlasErrorFromTransport(failure, context, {
          timeoutMs: this.#requestTimeoutMs,
          outcomeUnknown: !call.idempotent,
        });
      }
      const delay = call.idempotent ? this.#retryDelay(attempt, error) : undefined;
      if (delay === undefined) throw error;
      await this.#clock.sleep(delay);
      attempt += 1;
    }
  }

  async #mint(as: ServiceAccountCredential, purpose: string): Promise<MintedToken> {
    const context: RequestContext = {
      action: `get an OAuth token for ${as.clientId} (to ${purpose})`,
      sensitive: [as.clientSecret.reveal()],
    };
    const request: HttpRequest = {
      method: 'POST',
      path: TOKEN_PATH,
      headers: {
        accept: 'application/json',
        authorization: basicAuthorization(as),
        'cache-control': 'no-cache',
        'content-type': FORM_CONTENT_TYPE,
      },
      body: 'grant_type=client_credentials',
      idempotent: true,
    };
    for (let attempt = 1; ; attempt += 1) {
      let error: AtlasApiError;
      try {
        const answer = await this.#send(request);
        if (answer.status === 200) return this.#readToken(answer, context);
        error = oauthErrorFromAnswer(answer, as.clientId, context, this.#nowMs());
      } catch (failure) {
        if (failure instanceof AtlasApiError) throw failure;
        error = atlasErrorFromTransport(failure, context, {
          timeoutMs: this.#requestTimeoutMs,
          outcomeUnknown: false,
        });
      }
      const delay = this.#retryDelay(attempt, error);
      if (delay === undefined) throw error;
      await this.#clock.sleep(delay);
    }
  }

  #readToken(answer: HttpAnswer, context: RequestContext): MintedToken {
    const body = parseJsonObject(answer.text);
    if (body === undefined) throw unexpectedResponse(answer, context, 'not a JSON object');
    const accessToken = body.access_token;
    const expiresIn = body.expires_in;
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw unexpectedResponse(answer, context, 'no access_token');
    }
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw unexpectedResponse(answer, context, 'no positive expires_in');
    }
    if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
      throw unexpectedResponse(answer, context, `token_type ${body.token_type.slice(0, 20)} is not Bearer`);
    }
    return { accessToken: SecretValue.of(accessToken), lifetimeMs: expiresIn * 1000 };
  }

  /** Best effort: a failed revocation leaves a token that expires on its own. */
  async #revoke(credential: ActingCredential, accessToken: SecretValue): Promise<void> {
    const form = new URLSearchParams({ token: accessToken.reveal(), token_type_hint: 'access_token' });
    try {
      await this.#send({
        method: 'POST',
        path: REVOKE_PATH,
        headers: {
          accept: 'application/json',
          authorization: basicAuthorization(serviceAccountOnly(credential)),
          'content-type': FORM_CONTENT_TYPE,
        },
        body: form.toString(),
        idempotent: true,
      });
    } catch {
      // Ignored by contract (see releaseTokens).
    }
  }

  /** Delay before the next attempt, or undefined when the error must be thrown now. */
  #retryDelay(attempt: number, error: AtlasApiError): number | undefined {
    if (!error.retryable || attempt >= this.#maxAttempts) return undefined;
    const backoff = this.#backoffBaseMs * 2 ** (attempt - 1);
    if (error.retryAfterMs === undefined) return backoff;
    if (error.retryAfterMs > this.#maxRetryAfterMs) return undefined;
    return Math.max(error.retryAfterMs, backoff);
  }

  /** Sends one request and always reads the whole body, so the connection goes back to the pool. */
  async #send(request: HttpRequest): Promise<HttpAnswer> {
    const response = await this.#dispatcher.request({
      origin: this.#origin,
      method: request.method,
      path: request.path,
      headers: request.headers,
      body: request.body ?? null,
      idempotent: request.idempotent,
      headersTimeout: this.#requestTimeoutMs,
      bodyTimeout: this.#requestTimeoutMs,
    });
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      response.body.destroy();
      throw error;
    }
    return { status: response.statusCode, headers: response.headers, text };
  }
}
