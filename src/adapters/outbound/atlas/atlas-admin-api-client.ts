import type { Dispatcher } from 'undici';
import { AtlasApiError } from '../../../application/infrastructure-errors.js';
import type {
  ActingCredential,
  AtlasServiceAccounts,
  AtlasTarget,
  CreatedAtlasSecret,
} from '../../../application/ports/atlas-service-accounts.js';
import type { Clock } from '../../../application/ports/clock.js';
import {
  type ApiKeyCredential,
  isApiKey,
  type ServiceAccountCredential,
} from '../../../domain/credential.js';
import { AtlasOriginNotAllowedError, RotatorError } from '../../../domain/errors.js';
import { type AtlasSecretId, isAtlasSecretId } from '../../../domain/identifiers.js';
import type { AtlasSecretInfo } from '../../../domain/room-plan.js';
import { SecretValue } from '../../../domain/secret-value.js';
import { InvalidAtlasBaseUrlError, parseAtlasBaseUrl } from './atlas-base-url.js';
import {
  atlasErrorFromAnswer,
  atlasErrorFromTransport,
  type HttpAnswer,
  headerValue,
  oauthErrorFromAnswer,
  parseJsonObject,
  parseRetryAfterMs,
  type RequestContext,
  unexpectedResponse,
} from './atlas-error-mapping.js';
import { DigestSessions, parseDigestChallenge } from './http-digest.js';
import { type MintedToken, OAuthTokenCache, type ReleasedTokens } from './oauth-token-cache.js';
import { RateLimitPacer, rateLimitKey } from './rate-limit-pacer.js';
import { type Endpoint, type ServiceAccountRoutes, serviceAccountRoutes } from './service-account-routes.js';

/** Where the connections come from. */
export type AtlasDispatcherSource =
  | {
      /**
       * Builds the dispatcher for one origin (see `createAtlasDispatcher`), called lazily, once per origin the
       * client is asked to serve. The client owns what it returns and closes it in `close()`, after revoking the
       * tokens it holds: only the client knows which origins it served and that revocation must come first.
       */
      readonly dispatcherFor: (origin: string) => Dispatcher;
      readonly dispatcher?: never;
    }
  | {
      /**
       * One dispatcher for the default origin (`baseUrl`) only, owned by the caller and never closed here.
       * A target on any other origin is refused: a `Pool` would send its request to the wrong host.
       */
      readonly dispatcher: Dispatcher;
      readonly dispatcherFor?: never;
    };

/** Told of every HTTP request sent to Atlas and every retry (the metrics adapter counts them). */
export interface AtlasCallObserver {
  atlasCall(): void;
  /** A retry after `delayMs`; `rateLimited` when Atlas answered 429. */
  atlasRetry(delayMs: number, rateLimited: boolean): void;
}

export interface AtlasAdminApiClientSettings {
  /**
   * The default origin, e.g. `https://cloud.mongodb.com`: checked at construction, and the origin messages
   * leave unnamed. Each call goes to its `target.baseUrl` (tokens are minted and revoked there too).
   */
  readonly baseUrl: string;
  readonly clock: Clock;
  /** Counts calls and retries; none by default. */
  readonly observer?: AtlasCallObserver;
  /** Permit plain `http://` origins (local simulators only). */
  readonly allowInsecureHttp?: boolean;
  /** Per-request `headersTimeout` and `bodyTimeout`. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Attempts for idempotent calls (GET, DELETE, token mint). Default 4. The create POST gets one. */
  readonly maxAttempts?: number;
  /** First backoff delay; doubles per attempt. Default 250. */
  readonly backoffBaseMs?: number;
  /** A longer `Retry-After` fails (retryable) instead of waiting. Default 30 000. */
  readonly maxRetryAfterMs?: number;
  /**
   * Longest total wait of one call for Atlas's rate limits (429 with `Retry-After`, paced per org, project or
   * client id; ADR 0010) before its 429 counts as a failure. Default 120 000.
   */
  readonly maxRateLimitWaitMs?: number;
  /** Source of jitter in [0, 1): backoff and rate-limit waits. Default `Math.random`; tests pin it. */
  readonly random?: () => number;
  /** Refresh a token this long before it expires, but at most half its lifetime early. Default 10 min. */
  readonly tokenRefreshMarginMs?: number;
  /**
   * The largest response body read, in bytes. Default 1 MiB (Atlas's answers are a few KiB). A longer body
   * is discarded unread past the limit and the call fails with ATLAS_UNEXPECTED_RESPONSE, not retried: a
   * misbehaving proxy or origin cannot make the worker buffer without bound.
   */
  readonly maxResponseBytes?: number;
}

export type AtlasAdminApiClientOptions = AtlasAdminApiClientSettings & AtlasDispatcherSource;

const TOKEN_PATH = '/api/oauth/token';
const REVOKE_PATH = '/api/oauth/revoke';
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
/** 1 MiB: a list of secrets or an error is a few KiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576;

type Method = 'GET' | 'POST' | 'DELETE';

interface HttpRequest {
  readonly method: Method;
  /** The request-target (path, and query if any): also the Digest `uri`. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly idempotent: boolean;
}

/** One API operation: what to send, and how to read the answers that are not errors. */
interface ApiCall<T> {
  readonly method: Method;
  readonly endpoint: Endpoint;
  readonly body?: string;
  readonly idempotent: boolean;
  readonly action: string;
  /** The result of a success (or expected "nothing there") answer; undefined maps the answer as an error. */
  readonly read: (answer: HttpAnswer, context: RequestContext) => { readonly value: T } | undefined;
}

/** Per call: the bearer path refreshes a refused cached token at most once, whatever the attempts. */
interface CallState {
  refreshedAfter401: boolean;
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

function basicAuthorization(credential: ServiceAccountCredential): string {
  const pair = `${formEncode(credential.clientId)}:${formEncode(credential.clientSecret.reveal())}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

/**
 * `envelope=true` (documented on Atlas v2 and the public API v1.0) turns a single result into
 * `{status, content}`; this client never asks for it, but a proxy or a deployment default may. The envelope's
 * status stands for the HTTP status, which may be a bare 200 for clients "that cannot read status codes".
 * Lists only gain a `status` field, which the readers ignore.
 */
function unwrapEnvelope(answer: HttpAnswer): HttpAnswer {
  if (!answer.text.includes('"content"')) return answer;
  const body = parseJsonObject(answer.text);
  if (body === undefined || Object.keys(body).some((k) => k !== 'status' && k !== 'content')) return answer;
  const { status, content } = body;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return answer;
  if (typeof content !== 'object' || content === null) return answer;
  return { status, headers: answer.headers, text: JSON.stringify(content) };
}

function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

/** Reads one `ServiceAccountSecret`; a reason string when it does not have the documented shape. */
function readSecretInfo(raw: unknown): AtlasSecretInfo | string {
  if (typeof raw !== 'object' || raw === null) return 'a secret is not an object';
  const record = raw as Record<string, unknown>;
  const id = record.id;
  if (!isAtlasSecretId(id)) return 'a secret has no 24-hex id';
  if (!isTimestamp(record.createdAt)) return `secret ${id} has no valid createdAt`;
  if (!isTimestamp(record.expiresAt)) return `secret ${id} has no valid expiresAt`;
  return {
    id,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    // Evidence for adopting a credential atlas-rotator did not write (ADR 0007): optional, never required.
    maskedSecretValue: typeof record.maskedSecretValue === 'string' ? record.maskedSecretValue : undefined,
    lastUsedAt: isTimestamp(record.lastUsedAt) ? record.lastUsedAt : undefined,
  };
}

/**
 * `AtlasServiceAccounts` over undici, for the Atlas Admin API v2 and the Cloud Manager / Ops Manager public
 * API v1.0, at org or project level, on any origin a target names (one dispatcher per origin).
 *
 * Authentication: a service account uses an OAuth bearer token minted at the target's origin, cached per origin
 * and credential and shared by concurrent callers. An API key uses HTTP Digest (RFC 7616, MD5, qop=auth): the
 * request goes out, its 401 challenge is answered once (and a `stale=true` challenge once more); the nonce is then
 * reused per origin and key with an incrementing nonce count. A Digest round-trip sends the create POST twice,
 * which is safe only because the first was refused with 401 before Atlas did anything.
 *
 * Idempotent calls (GET, DELETE, token mint) are retried on 409, 429, 5xx, timeouts and connection errors with
 * deterministic exponential backoff through `clock.sleep`, honouring `Retry-After`; the create POST is never
 * retried after a timeout, a dropped connection or any error status. No token, secret, private key or Digest
 * response appears in an error.
 */
export class AtlasAdminApiClient implements AtlasServiceAccounts {
  readonly #defaultOrigin: string;
  readonly #allowInsecureHttp: boolean;
  readonly #dispatcherFor: ((origin: string) => Dispatcher) | undefined;
  readonly #sharedDispatcher: Dispatcher | undefined;
  /** Dispatchers built by `dispatcherFor`, per origin: owned, closed in `close()`. */
  readonly #dispatchers = new Map<string, Dispatcher>();
  readonly #clock: Clock;
  readonly #observer: AtlasCallObserver | undefined;
  readonly #requestTimeoutMs: number;
  readonly #maxAttempts: number;
  readonly #backoffBaseMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #maxResponseBytes: number;
  readonly #tokens: OAuthTokenCache;
  /** Calls running per service-account credential key: `endRotation` waits for them before it revokes. */
  readonly #running = new Map<string, Set<Promise<unknown>>>();
  readonly #digest = new DigestSessions();
  readonly #random: () => number;
  readonly #maxRateLimitWaitMs: number;
  readonly #pacer: RateLimitPacer;

  constructor(options: AtlasAdminApiClientOptions) {
    this.#allowInsecureHttp = options.allowInsecureHttp ?? false;
    this.#defaultOrigin = parseAtlasBaseUrl(options.baseUrl, this.#allowInsecureHttp).origin;
    this.#dispatcherFor = options.dispatcherFor;
    this.#sharedDispatcher = options.dispatcher;
    if ((this.#dispatcherFor === undefined) === (this.#sharedDispatcher === undefined)) {
      throw new TypeError('AtlasAdminApiClient needs exactly one of dispatcherFor and dispatcher');
    }
    this.#clock = options.clock;
    this.#observer = options.observer;
    this.#requestTimeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs, 10_000);
    this.#maxAttempts = positiveInteger('maxAttempts', options.maxAttempts, 4);
    this.#backoffBaseMs = nonNegativeInteger('backoffBaseMs', options.backoffBaseMs, 250);
    this.#maxRetryAfterMs = nonNegativeInteger('maxRetryAfterMs', options.maxRetryAfterMs, 30_000);
    this.#maxResponseBytes = positiveInteger(
      'maxResponseBytes',
      options.maxResponseBytes,
      DEFAULT_MAX_RESPONSE_BYTES,
    );
    const margin = nonNegativeInteger('tokenRefreshMarginMs', options.tokenRefreshMarginMs, 10 * 60_000);
    this.#tokens = new OAuthTokenCache(() => this.#nowMs(), margin);
    this.#random = options.random ?? Math.random;
    this.#maxRateLimitWaitMs = nonNegativeInteger('maxRateLimitWaitMs', options.maxRateLimitWaitMs, 120_000);
    this.#pacer = new RateLimitPacer(this.#clock, () => this.#nowMs(), this.#random);
  }

  async listSecrets(target: AtlasTarget, as: ActingCredential): Promise<AtlasSecretInfo[]> {
    const { origin, routes } = this.#resolve(target);
    return this.#call<AtlasSecretInfo[]>(origin, routes, as, {
      method: 'GET',
      endpoint: routes.account,
      idempotent: true,
      action: `list the secrets of service account ${target.clientId} in ${routes.where}`,
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

  async proveCredential(target: AtlasTarget, credential: ServiceAccountCredential): Promise<void> {
    const { origin, routes } = this.#resolve(target);
    await this.#tracked(credential, () =>
      this.#tokens.get(origin, credential, () =>
        this.#mint(origin, routes, credential, `prove the credential of ${target.clientId} works`),
      ),
    );
  }

  async createSecret(
    target: AtlasTarget,
    as: ActingCredential,
    expiresAfterHours: number,
  ): Promise<CreatedAtlasSecret> {
    if (!Number.isInteger(expiresAfterHours) || expiresAfterHours <= 0) {
      throw new RangeError(`expiresAfterHours must be a positive integer: ${expiresAfterHours}`);
    }
    const { origin, routes } = this.#resolve(target);
    const orphanWarning =
      'a secret may have been created although its value is lost; list the secrets and delete the orphan';
    return this.#call<CreatedAtlasSecret>(origin, routes, as, {
      method: 'POST',
      endpoint: routes.secrets,
      body: routes.createBody(expiresAfterHours),
      idempotent: false,
      action: `create a secret for service account ${target.clientId} in ${routes.where}`,
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
    const { origin, routes } = this.#resolve(target);
    return this.#call<boolean>(origin, routes, as, {
      method: 'DELETE',
      endpoint: routes.secret(secretId),
      idempotent: true,
      action: `delete secret ${secretId} of service account ${target.clientId} in ${routes.where}`,
      read: (answer) => {
        if (answer.status === 204 || answer.status === 200) {
          this.#forgetDeleted(target, secretId, as);
          return { value: true };
        }
        if (answer.status === 404) {
          this.#forgetDeleted(target, secretId, as);
          return { value: false };
        }
        return undefined;
      },
    });
  }

  async maxSecretValidityHours(target: AtlasTarget, as: ActingCredential): Promise<number | undefined> {
    const { origin, routes } = this.#resolve(target);
    const settings = routes.orgSettings;
    if (settings === undefined) return undefined;
    return this.#call<number | undefined>(origin, routes, as, {
      method: 'GET',
      endpoint: settings,
      idempotent: true,
      action: `read the settings of org ${target.orgId}`,
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

  /**
   * Revokes the credentials' tokens at every origin that minted one, once the calls running with them have ended.
   * An API key has none: nothing happens.
   */
  async endRotation(credentials: readonly ActingCredential[]): Promise<void> {
    await Promise.all(
      credentials.map(async (credential) => {
        if (isApiKey(credential)) return;
        const key = OAuthTokenCache.keyOf(credential);
        // The token that serves a running call must not be revoked under it.
        await Promise.allSettled([...(this.#running.get(key) ?? [])]);
        try {
          await Promise.all(this.#tokens.release(credential).map((released) => this.#revokeAll(released)));
        } catch {
          // Best effort by contract: an unrevoked token expires on its own within the hour.
        }
      }),
    );
  }

  /** The deletion of `secretId` killed the tokens minted with it: forget those of credentials that name it. */
  #forgetDeleted(target: AtlasTarget, secretId: AtlasSecretId, as: ActingCredential): void {
    if (!isApiKey(as) && as.atlasSecretId === secretId) this.#tokens.forget(as);
    this.#tokens.forgetWhere((c) => c.clientId === target.clientId && c.atlasSecretId === secretId);
  }

  /** Runs a call made with `acting`, known as running until it settles (see `endRotation`). */
  #tracked<T>(acting: ActingCredential, call: () => Promise<T>): Promise<T> {
    if (isApiKey(acting)) return call();
    const key = OAuthTokenCache.keyOf(acting);
    const promise = call();
    const running = this.#running.get(key) ?? new Set<Promise<unknown>>();
    this.#running.set(key, running);
    running.add(promise);
    const done = () => {
      running.delete(promise);
      if (running.size === 0 && this.#running.get(key) === running) this.#running.delete(key);
    };
    promise.then(done, done);
    return promise;
  }

  /**
   * Shutdown: revokes every cached token at its origin (as Terraform does on exit), forgets tokens and Digest
   * nonces, then closes the dispatchers `dispatcherFor` built. A `dispatcher` passed in is left to its owner.
   * Never rejects.
   */
  async close(): Promise<void> {
    try {
      await Promise.all(this.#tokens.releaseAll().map((released) => this.#revokeAll(released)));
    } catch {
      // Best effort, as in endRotation.
    }
    this.#digest.clear();
    const owned = [...this.#dispatchers.values()];
    this.#dispatchers.clear();
    await Promise.allSettled(owned.map((dispatcher) => dispatcher.close()));
  }

  /** The target's origin, checked (plain http only when allowed), and its routes. */
  #resolve(target: AtlasTarget): { readonly origin: string; readonly routes: ServiceAccountRoutes } {
    const url = parseAtlasBaseUrl(target.baseUrl, true);
    if (url.protocol === 'http:' && !this.#allowInsecureHttp) {
      throw new AtlasOriginNotAllowedError(url.origin, true);
    }
    return { origin: url.origin, routes: serviceAccountRoutes(target, url.origin, this.#defaultOrigin) };
  }

  #dispatcher(origin: string): Dispatcher {
    if (this.#sharedDispatcher !== undefined) {
      if (origin !== this.#defaultOrigin) {
        throw new InvalidAtlasBaseUrlError(
          `This Atlas client was given one dispatcher for ${this.#defaultOrigin} and cannot serve ${origin}; ` +
            'build it with dispatcherFor to serve several origins',
        );
      }
      return this.#sharedDispatcher;
    }
    let dispatcher = this.#dispatchers.get(origin);
    if (dispatcher === undefined) {
      dispatcher = (this.#dispatcherFor as (origin: string) => Dispatcher)(origin);
      this.#dispatchers.set(origin, dispatcher);
    }
    return dispatcher;
  }

  async #revokeAll(released: ReleasedTokens): Promise<void> {
    const accessTokens = [...released.accessTokens];
    if (released.inflight !== undefined) {
      try {
        accessTokens.push(await released.inflight);
      } catch {
        // The mint failed: there is no token to revoke.
      }
    }
    await Promise.all(accessTokens.map((token) => this.#revoke(released.origin, released.credential, token)));
  }

  #nowMs(): number {
    return this.#clock.now().getTime();
  }

  #call<T>(
    origin: string,
    routes: ServiceAccountRoutes,
    acting: ActingCredential,
    call: ApiCall<T>,
  ): Promise<T> {
    return this.#tracked(acting, () => this.#callNow(origin, routes, acting, call));
  }

  async #callNow<T>(
    origin: string,
    routes: ServiceAccountRoutes,
    acting: ActingCredential,
    call: ApiCall<T>,
  ): Promise<T> {
    const request: HttpRequest = {
      method: call.method,
      path: call.endpoint.path,
      headers: {
        accept: call.endpoint.mediaType,
        ...(call.body === undefined ? {} : { 'content-type': call.endpoint.mediaType }),
      },
      ...(call.body === undefined ? {} : { body: call.body }),
      idempotent: call.idempotent,
    };
    const state: CallState = { refreshedAfter401: false };
    return this.#withRetries(call.idempotent, async () => {
      // Filled by the exchange with what must never be echoed: secret, private key, token, Digest responses.
      const sensitive: string[] = [];
      const context: RequestContext = {
        action: call.action,
        sensitive,
        apiVersion: call.endpoint.apiVersion,
        service: routes.service,
        principal: isApiKey(acting) ? 'API key' : 'service account',
        roleNeeded: routes.roleNeeded,
      };
      try {
        const answer = unwrapEnvelope(
          isApiKey(acting)
            ? await this.#exchangeAsApiKey(origin, acting, request, sensitive)
            : await this.#exchangeAsServiceAccount(
                origin,
                routes,
                acting,
                request,
                call.action,
                sensitive,
                state,
              ),
        );
        return call.read(answer, context) ?? atlasErrorFromAnswer(answer, context, this.#nowMs());
      } catch (failure) {
        return this.#transportError(failure, context, call.idempotent);
      }
    });
  }

  /**
   * Makes attempts until one yields `{ value }`. An attempt resolves with the error its failure maps to instead;
   * an idempotent call is then attempted again after the backoff (see `#retryDelay`), any other call rejects.
   */
  async #withRetries<T>(
    idempotent: boolean,
    once: () => Promise<{ readonly value: T } | AtlasApiError>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await once();
      if (!(outcome instanceof AtlasApiError)) return outcome.value;
      const delay = idempotent ? this.#retryDelay(attempt, outcome) : undefined;
      if (delay === undefined) throw outcome;
      this.#observer?.atlasRetry(delay, outcome.atlasStatus === 429);
      await this.#clock.sleep(delay);
    }
  }

  /**
   * A failure below HTTP (timeout, connection) as an `AtlasApiError`. One that is already a `RotatorError` (a
   * failed mint, which was retried on its own; a success with an unreadable body) is thrown as it is.
   */
  #transportError(failure: unknown, context: RequestContext, idempotent: boolean): AtlasApiError {
    if (failure instanceof RotatorError) throw failure;
    return atlasErrorFromTransport(failure, context, {
      timeoutMs: this.#requestTimeoutMs,
      outcomeUnknown: !idempotent,
    });
  }

  /** Sends with a bearer token from the cache; a 401 on a cached token gets one fresh token per call. */
  async #exchangeAsServiceAccount(
    origin: string,
    routes: ServiceAccountRoutes,
    as: ServiceAccountCredential,
    request: HttpRequest,
    action: string,
    sensitive: string[],
    state: CallState,
  ): Promise<HttpAnswer> {
    sensitive.push(as.clientSecret.reveal());
    for (;;) {
      const token = await this.#tokens.get(origin, as, () => this.#mint(origin, routes, as, action));
      sensitive.push(token.accessToken.reveal());
      const answer = await this.#send(origin, {
        ...request,
        headers: { ...request.headers, authorization: `Bearer ${token.accessToken.reveal()}` },
      });
      if (answer.status === 401 && !token.fresh && !state.refreshedAfter401) {
        // The cached token may have been revoked (its secret deleted): the API did nothing, so a single
        // retry with a freshly minted token is safe even for the create POST.
        state.refreshedAfter401 = true;
        this.#tokens.invalidate(origin, as, token.accessToken);
        continue;
      }
      return answer;
    }
  }

  /**
   * Sends with HTTP Digest: with the cached nonce when there is one, else without credentials to get a
   * challenge. The first 401 that carries a usable challenge is answered (a cached nonce may be stale or
   * forgotten), and after that only a `stale=true` one, once; any other 401 is returned, to be mapped to
   * ATLAS_UNAUTHORIZED. Every request refused with 401 was refused before anything was done, so repeating it
   * is safe even for the create POST; timeouts, dropped connections and other statuses are never repeated here.
   */
  async #exchangeAsApiKey(
    origin: string,
    key: ApiKeyCredential,
    request: HttpRequest,
    sensitive: string[],
  ): Promise<HttpAnswer> {
    sensitive.push(key.privateKey.reveal());
    let answeredChallenge = false;
    let answeredStale = false;
    for (;;) {
      const authorization = this.#digest.authorize(origin, key, request.method, request.path);
      if (authorization !== undefined) sensitive.push(authorization.response);
      const answer = await this.#send(
        origin,
        authorization === undefined
          ? request
          : { ...request, headers: { ...request.headers, authorization: authorization.header } },
      );
      if (answer.status !== 401) return answer;
      const challenge = parseDigestChallenge(answer.headers['www-authenticate']);
      if (challenge !== undefined && !answeredChallenge) {
        answeredChallenge = true;
      } else if (challenge?.stale === true && !answeredStale) {
        answeredStale = true;
      } else {
        this.#digest.forget(origin, key);
        return answer;
      }
      this.#digest.remember(origin, key, challenge);
    }
  }

  async #mint(
    origin: string,
    routes: ServiceAccountRoutes,
    as: ServiceAccountCredential,
    purpose: string,
  ): Promise<MintedToken> {
    const context: RequestContext = {
      action: `get an OAuth token for ${as.clientId} (to ${purpose})`,
      sensitive: [as.clientSecret.reveal()],
      service: routes.service,
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
    return this.#withRetries(request.idempotent, async () => {
      try {
        const answer = await this.#send(origin, request);
        if (answer.status === 200) return { value: this.#readToken(answer, context) };
        return oauthErrorFromAnswer(answer, as.clientId, context, this.#nowMs());
      } catch (failure) {
        return this.#transportError(failure, context, request.idempotent);
      }
    });
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

  /** Best effort, at the origin that minted the token: a failed revocation leaves a token that expires. */
  async #revoke(
    origin: string,
    credential: ServiceAccountCredential,
    accessToken: SecretValue,
  ): Promise<void> {
    const form = new URLSearchParams({ token: accessToken.reveal(), token_type_hint: 'access_token' });
    try {
      await this.#send(origin, {
        method: 'POST',
        path: REVOKE_PATH,
        headers: {
          accept: 'application/json',
          authorization: basicAuthorization(credential),
          'content-type': FORM_CONTENT_TYPE,
        },
        body: form.toString(),
        idempotent: true,
      });
    } catch {
      // Ignored by contract (see endRotation).
    }
  }

  /** Delay before the next attempt, or undefined when the error must be thrown now. */
  #retryDelay(attempt: number, error: AtlasApiError): number | undefined {
    if (!error.retryable || attempt >= this.#maxAttempts) return undefined;
    // Jitter (up to half the step) so that retries after an outage do not line up across rotations and workers.
    const backoff = Math.round(this.#backoffBaseMs * 2 ** (attempt - 1) * (1 - this.#random() / 2));
    if (error.retryAfterMs === undefined) return backoff;
    if (error.retryAfterMs > this.#maxRetryAfterMs) return undefined;
    return Math.max(error.retryAfterMs, backoff);
  }

  /**
   * Sends one request and reads the whole body, so the connection goes back to the pool — up to
   * `maxResponseBytes`: a longer body (by its Content-Length, or once that much has arrived) is destroyed
   * unread, which closes the connection, and the call fails with ATLAS_UNEXPECTED_RESPONSE (not retryable).
   */
  async #send(origin: string, request: HttpRequest): Promise<HttpAnswer> {
    // A revocation is best effort and ends a rotation: pacing would send the second of a rotation's two (the new
    // and the replaced credential share a client id) only after the first's answer, a round trip on the
    // critical path, for an endpoint whose refusal costs nothing (the token expires on its own).
    if (request.path === REVOKE_PATH) return this.#sendOnce(origin, request);
    const key = rateLimitKey(origin, request.path, request.headers.authorization);
    let waitedMs = 0;
    for (;;) {
      await this.#pacer.admit(key);
      let answer: HttpAnswer;
      try {
        answer = await this.#sendOnce(origin, request);
      } catch (error) {
        this.#pacer.abandon(key);
        throw error;
      }
      const remainingHeader = headerValue(answer.headers, 'ratelimit-remaining');
      const remaining = remainingHeader === undefined ? Number.NaN : Number(remainingHeader);
      const retryAfterMs =
        answer.status === 429
          ? parseRetryAfterMs(headerValue(answer.headers, 'retry-after'), this.#nowMs())
          : undefined;
      const waitMs = this.#pacer.settle(
        key,
        {
          status: answer.status,
          remaining: Number.isInteger(remaining) ? remaining : undefined,
          retryAfterMs,
        },
        Math.min(this.#maxRetryAfterMs, this.#maxRateLimitWaitMs - waitedMs),
      );
      if (waitMs === undefined) return answer;
      // A 429 waited out (Retry-After) and sent again: a rate-limit wait for the metrics.
      this.#observer?.atlasRetry(waitMs, true);
      waitedMs += waitMs;
    }
  }

  /** One request on the wire; see `#send`. */
  async #sendOnce(origin: string, request: HttpRequest): Promise<HttpAnswer> {
    this.#observer?.atlasCall();
    const response = await this.#dispatcher(origin).request({
      origin,
      method: request.method,
      path: request.path,
      headers: request.headers,
      body: request.body ?? null,
      idempotent: request.idempotent,
      headersTimeout: this.#requestTimeoutMs,
      bodyTimeout: this.#requestTimeoutMs,
    });
    const limit = this.#maxResponseBytes;
    const tooLarge = () =>
      new AtlasApiError(
        'ATLAS_UNEXPECTED_RESPONSE',
        `${origin} answered ${response.statusCode} to ${request.method} ${request.path} with a body larger ` +
          `than ${limit} bytes (maxResponseBytes); it was discarded unread`,
        false,
        response.statusCode,
        undefined,
      );
    const chunks: Buffer[] = [];
    let received = 0;
    try {
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > limit) throw tooLarge();
      for await (const chunk of response.body) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        received += bytes.byteLength;
        if (received > limit) throw tooLarge();
        chunks.push(bytes);
      }
    } catch (error) {
      // Destroying an unfinished body emits an abort error that nobody else would be listening for.
      response.body.on('error', () => undefined);
      response.body.destroy();
      throw error;
    }
    const text = new TextDecoder().decode(Buffer.concat(chunks));
    return { status: response.statusCode, headers: response.headers, text };
  }
}
