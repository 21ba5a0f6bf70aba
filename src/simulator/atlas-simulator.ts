import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiError, defaultFaultError } from './api-error.js';
import { ADMIN_API_PREFIX, handleApi, PUBLIC_API_PREFIX } from './api-router.js';
import { atlasTimestamp } from './atlas-timestamp.js';
import { type Authorization, parseAuthorization } from './authorization-header.js';
import {
  type AccessListSnapshot,
  type ApiKeyCredentials,
  CONTROL_PREFIX,
  handleControl,
  type ServiceAccountSnapshot,
  type SimulatorControl,
} from './control-endpoints.js';
import { DEFAULT_DIGEST_NONCE_TTL_SECONDS, DigestAuthenticator } from './digest-auth.js';
import { FaultInjector, type FaultRule } from './fault-rule.js';
import { emptyResult, type HttpResult, jsonResult } from './http-result.js';
import { checkAccessListInput, normalizeAddress } from './ip-access.js';
import { handleOAuth, OAUTH_PREFIX } from './oauth-endpoints.js';
import {
  checkBucketLimit,
  checkTokenRateLimit,
  DEFAULT_TOKEN_RATE_LIMIT,
  SlidingWindowLimiter,
  type TokenBucketLimit,
  TokenBucketLimiter,
  type TokenRateLimit,
} from './rate-limits.js';
import type { RequestLogEntry } from './request-log-entry.js';
import type { SimulatorRequest } from './simulator-request.js';
import {
  type AccessListInput,
  type OrgSeed,
  type ServiceAccountRecord,
  SimulatorStore,
} from './simulator-store.js';

export type { AccessListSnapshot, ApiKeyCredentials, ServiceAccountSnapshot } from './control-endpoints.js';
export type { FaultRule } from './fault-rule.js';
export type { TokenBucketLimit, TokenRateLimit } from './rate-limits.js';
export type { RequestLogEntry } from './request-log-entry.js';
export type { AccessListInput, OrgSeed } from './simulator-store.js';

/** The behaviour a running simulator can change (in-process with `configure`, or `PATCH /__simulator/settings`). */
export interface SimulatorSettings {
  /**
   * The token endpoint's limit per (caller IP, clientId) pair; null switches it off. Default 50 per 1 minute, as
   * the newest Atlas source says (facts sheet §4.3 lists 10 and 50 per minute as conflicting).
   */
  tokenRateLimit?: TokenRateLimit | null;
  /** Admin API token buckets per (org, endpoint set), 429 RATE_LIMITED_TOKEN_BUCKET; null (default): off. */
  adminApiRateLimit?: TokenBucketLimit | null;
  /**
   * How long a create-secret works while it holds the account's create lock, in ms (default 100): a second
   * create on the account within that window answers 409 DATA_CONCURRENCY_ERROR. 0 makes creates instant.
   */
  createSecretProcessingMs?: number;
  /**
   * Honour the `x-simulator-client-ip` request header as the caller's address (default false: the socket's
   * remote address, always loopback for a local simulator). For tests of access lists and per-IP limits.
   */
  trustClientIpHeader?: boolean;
}

export interface AtlasSimulatorOptions extends SimulatorSettings {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The simulator's clock: token and secret expiry, rate limits, timestamps. Default: the wall clock. */
  now?: () => Date;
  /** Lifetime of minted access tokens (facts sheet §1.1: 1 hour). */
  tokenTtlSeconds?: number;
  /** How long an HTTP Digest nonce stays usable before it earns `stale=true` (undocumented; default 300). */
  digestNonceTtlSeconds?: number;
}

export const CLIENT_IP_HEADER = 'x-simulator-client-ip';
export const DEFAULT_CREATE_SECRET_PROCESSING_MS = 100;

interface ActiveSettings {
  tokenRateLimit: TokenRateLimit | null;
  adminApiRateLimit: TokenBucketLimit | null;
  createSecretProcessingMs: number;
  trustClientIpHeader: boolean;
}

function applySettings(target: ActiveSettings, settings: SimulatorSettings): void {
  if (settings.tokenRateLimit !== undefined) {
    if (settings.tokenRateLimit !== null) checkTokenRateLimit(settings.tokenRateLimit);
    target.tokenRateLimit = settings.tokenRateLimit === null ? null : { ...settings.tokenRateLimit };
  }
  if (settings.adminApiRateLimit !== undefined) {
    if (settings.adminApiRateLimit !== null) checkBucketLimit(settings.adminApiRateLimit);
    target.adminApiRateLimit = settings.adminApiRateLimit === null ? null : { ...settings.adminApiRateLimit };
  }
  if (settings.createSecretProcessingMs !== undefined) {
    const ms = settings.createSecretProcessingMs;
    if (!(Number.isFinite(ms) && ms >= 0)) throw new Error(`createSecretProcessingMs must be >= 0: ${ms}`);
    target.createSecretProcessingMs = ms;
  }
  if (settings.trustClientIpHeader !== undefined) target.trustClientIpHeader = settings.trustClientIpHeader;
}

const MAX_BODY_BYTES = 1024 * 1024;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function faultResult(rule: FaultRule & { status: number }): HttpResult {
  const headers = rule.headers ?? {};
  if (typeof rule.body === 'string')
    return { status: rule.status, headers: { 'content-type': 'text/plain', ...headers }, body: rule.body };
  if (rule.body !== undefined) return jsonResult(rule.status, rule.body, { headers });
  return rule.status >= 400
    ? jsonResult(rule.status, defaultFaultError(rule.status), { headers })
    : emptyResult(rule.status, headers);
}

/**
 * An in-process, real-HTTP stand-in for the parts of MongoDB Atlas, Cloud Manager and Ops Manager the rotator
 * uses, built from MongoDB's spec and the facts sheet rather than from the rotator's assumptions. It shares no
 * code with the service's Atlas adapter on purpose, and imports nothing but node built-ins. See README.md beside
 * this file for seeding, faults, the control API and running it stand-alone.
 *
 * What it serves (any Host: it never assumes cloud.mongodb.com, so the same class is Atlas, Cloud Manager or,
 * started a second time, "Ops Manager at a non-default origin"):
 * - OAuth 2.0 `POST /api/oauth/token` and `/api/oauth/revoke` (client credentials of service accounts only;
 *   programmatic API keys never mint tokens);
 * - Atlas Admin API v2: all 24 service-account operations of the spec (org and project level: accounts, secrets,
 *   access lists, groups, :invite, org settings), and the Cloud Manager / Ops Manager public API v1.0 operations
 *   of facts sheet §3.2. The contract (atlas-contract.ts) drives the router (api-router.ts): paths, 405 + Allow,
 *   versions, parameter and body validation, roles and success shapes; handlers only add behaviour;
 * - authentication: a service account's bearer token, or an API key over HTTP Digest (RFC 7616, MD5, qop=auth,
 *   realm "MMS Public API"; nonces issued here, expiring, each nc accepted once);
 * - IP access lists, the token endpoint's rate limit, optional Admin API token buckets, fault injection, a
 *   request log that never holds a secret, key or token, and the `/__simulator/` control surface.
 *
 * Behaviour the real APIs leave undocumented, as chosen here (details beside each piece of code):
 * - order of checks on both public APIs: authentication (401) -> IP access list (403) -> token bucket (429, when
 *   enabled) -> path (404) and method (405 METHOD_NOT_ALLOWED with Allow) -> version (406 INVALID_VERSION_DATE,
 *   v2) -> path parameters (400 VALIDATION_ERROR naming the parameter) -> query parameters (400) -> org/project
 *   (404 RESOURCE_NOT_FOUND; 403 USER_UNAUTHORIZED for another org's) -> role (403 USER_UNAUTHORIZED) -> body
 *   (400 INVALID_JSON for malformed JSON [inference], VALIDATION_ERROR with badRequestDetail otherwise) ->
 *   the operation (404 for an unknown account or secret, 409 DATA_CONCURRENCY_ERROR, two-secret limit
 *   400 SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED [inference]);
 * - roles follow x-rolesRequirements with the hierarchy of authorization.ts: ORG_OWNER implies everything in
 *   the org and its projects, ORG_READ_ONLY reads org and project paths [inference for projects], every org role
 *   is an ORG_MEMBER (enough for GET settings only), GROUP_OWNER implies every project role; v1.0 reads with any
 *   org role and writes with ORG_OWNER or ORG_USER_ADMIN at org level, as its docs say;
 * - a project-level SA is an ORG_MEMBER of the parent org and appears on the org paths too, showing its org
 *   roles there and its project roles on the project paths; deleting it from a project keeps it in the org;
 * - create-secret holds the account's create lock for `createSecretProcessingMs` (default 100 ms): a second
 *   create within that window answers 409; sequential creates never do;
 * - token endpoint: 50 requests per minute per (caller IP, clientId) by default (the newest of two conflicting
 *   sources; 10/min is the other), counting every request, 429 RATE_LIMITED ApiError with Retry-After and
 *   `parameters: ["/api/oauth/token", limit, minutes]`; RateLimit-Limit/-Remaining on every token answer;
 * - Admin API token buckets (off by default): per (org, endpoint set `api/atlas/v2/orgs` | `…/groups`),
 *   continuous refill, 429 RATE_LIMITED_TOKEN_BUCKET with the documented detail and parameters;
 * - access lists are checked when a credential is used, never when a token is minted or revoked; an empty
 *   list admits any address unless the org sets apiAccessListRequired (documented for API keys; an inference for
 *   service accounts); the entry that admits a request records lastUsedAddress, lastUsedAt and requestCount at
 *   once (Atlas: up to 5 minutes later); the caller is the socket's peer, or `x-simulator-client-ip` when
 *   `trustClientIpHeader` is on;
 * - project-level secrets use the parent org's expiry bounds (8..maxServiceAccountSecretValidityInHours) on v2;
 *   v1.0 uses Cloud Manager's fixed 8..8766 and also takes a numeric string; v1.0 validation errors are
 *   400 INVALID_ATTRIBUTE with the field as the single positional parameter and no badRequestDetail;
 *   the 201 of a v1.0 create-secret is exactly `{id, secret, createdAt, expiresAt}`;
 * - every 401 of either API carries a Digest challenge with a fresh nonce; `stale=true` only when the digest
 *   was right but its nonce expired; a replayed nc, an unknown nonce, a wrong uri/realm/algorithm/qop is a plain 401;
 * - list `links` are absolute URLs on `http://` + the request's Host, with `self`, `previous`, `next`;
 * - the 101st active token of an SA: 429 MAX_ACTIVE_ACCESS_TOKENS_EXCEEDED (ApiError) with Retry-After;
 * - revoking an unknown or another client's token is a silent 200 (RFC 7009); `token_type_hint` is ignored;
 * - lastUsedAt is stamped when a secret mints a token (the one moment the secret value is presented), not when
 *   the token is used; maskedSecretValue is `mdb_sa_sk_...` + the last 4 chars;
 * - `envelope=true` wraps single bodies (errors too) as {status, content} and adds `status` to lists, without
 *   changing the HTTP status; 204 stays empty; `pretty` also applies to the OAuth endpoints, `envelope` not;
 * - timestamps are whole seconds; access tokens are opaque strings, not JWTs.
 */
export class AtlasSimulator implements SimulatorControl {
  readonly baseUrl: string;
  readonly #server: Server;
  readonly #store: SimulatorStore;
  readonly #now: () => Date;
  readonly #digest: DigestAuthenticator;
  readonly #faults = new FaultInjector();
  readonly #shutdown = new AbortController();
  readonly #settings: ActiveSettings;
  readonly #tokenLimiter = new SlidingWindowLimiter();
  readonly #buckets = new TokenBucketLimiter();
  #requests: RequestLogEntry[] = [];

  private constructor(
    server: Server,
    store: SimulatorStore,
    now: () => Date,
    digestNonceTtlSeconds: number,
    settings: ActiveSettings,
  ) {
    this.#server = server;
    this.#store = store;
    this.#now = now;
    this.#settings = settings;
    this.#digest = new DigestAuthenticator(
      now,
      digestNonceTtlSeconds,
      (publicKey) => store.apiKey(publicKey)?.privateKey,
    );
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(options: AtlasSimulatorOptions = {}): Promise<AtlasSimulator> {
    const settings: ActiveSettings = {
      tokenRateLimit: DEFAULT_TOKEN_RATE_LIMIT,
      adminApiRateLimit: null,
      createSecretProcessingMs: DEFAULT_CREATE_SECRET_PROCESSING_MS,
      trustClientIpHeader: false,
    };
    applySettings(settings, options);
    const now = options.now ?? (() => new Date());
    const store = new SimulatorStore(now, options.tokenTtlSeconds ?? 3600);
    let simulator: AtlasSimulator | undefined;
    const server = createServer((request, response) => {
      if (simulator === undefined) response.destroy();
      else void simulator.#handle(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    simulator = new AtlasSimulator(
      server,
      store,
      now,
      options.digestNonceTtlSeconds ?? DEFAULT_DIGEST_NONCE_TTL_SECONDS,
      settings,
    );
    return simulator;
  }

  /** Changes rate limits, the create window or the client-IP header at run time; resets the limiters' counts. */
  configure(settings: SimulatorSettings): void {
    applySettings(this.#settings, settings);
    this.#tokenLimiter.clear();
    this.#buckets.clear();
  }

  get settings(): Readonly<Required<SimulatorSettings>> {
    return { ...this.#settings };
  }

  createOrg(options: OrgSeed = {}): { orgId: string } {
    return { orgId: this.#store.createOrg(options).orgId };
  }

  /** Seeding: org settings the API would change with PATCH /orgs/{orgId}/settings. */
  updateOrgSettings(
    orgId: string,
    settings: { apiAccessListRequired?: boolean; maxServiceAccountSecretValidityInHours?: number },
  ): void {
    const org = this.#store.org(orgId);
    if (org === undefined) throw new Error(`org ${orgId} not found`);
    const max = settings.maxServiceAccountSecretValidityInHours;
    if (max !== undefined && !(Number.isInteger(max) && max >= 8 && max <= 8760)) {
      throw new Error(`maxServiceAccountSecretValidityInHours must be an integer in 8..8760: ${max}`);
    }
    if (max !== undefined) org.settings.maxServiceAccountSecretValidityInHours = max;
    if (settings.apiAccessListRequired !== undefined) {
      org.settings.apiAccessListRequired = settings.apiAccessListRequired;
    }
  }

  /** Seeding: a project (group) of the org. */
  createProject(orgId: string, options: { projectId?: string } = {}): { projectId: string } {
    return { projectId: this.#store.createProject(orgId, options).projectId };
  }

  /**
   * Seeding: an org-level service account (default roles ['ORG_OWNER']) or, with `projectId`, a project-level
   * one: ORG_MEMBER of the org (`roles` overrides) and `projectRoles` (default ['GROUP_OWNER']) in the project.
   */
  createServiceAccount(
    orgId: string,
    options: {
      name?: string;
      roles?: string[];
      projectId?: string;
      projectRoles?: string[];
      secretExpiresAfterHours?: number;
      accessList?: AccessListInput[];
    } = {},
  ): { clientId: string; secretId: string; secret: string } {
    for (const entry of options.accessList ?? []) checkAccessListInput(entry);
    const { account, secret } = this.#store.createServiceAccount(orgId, options);
    return { clientId: account.clientId, secretId: secret.id, secret: secret.value };
  }

  /**
   * Seeding: a programmatic API key for HTTP Digest. Without `projectId`, `roles` are org roles (default
   * ['ORG_OWNER']); with it, project roles in that project (default ['GROUP_OWNER']) and the key is an ORG_MEMBER.
   * `publicKey` is 8 lower-case letters and `privateKey` a UUID, as Atlas's look.
   */
  createApiKey(
    orgId: string,
    options: { roles?: string[]; projectId?: string; accessList?: AccessListInput[] } = {},
  ): ApiKeyCredentials {
    for (const entry of options.accessList ?? []) checkAccessListInput(entry);
    const key = this.#store.createApiKey(orgId, options);
    return { publicKey: key.publicKey, privateKey: key.privateKey };
  }

  /** Seeding, for org- and project-level accounts alike: bypasses the two-secret limit, the expiry bounds and the 7-day shortening. */
  addSecret(
    orgId: string,
    clientId: string,
    options: { createdAt?: Date; expiresAt?: Date } = {},
  ): { id: string; secret: string } {
    const secret = this.#store.addSecret(orgId, clientId, options);
    return { id: secret.id, secret: secret.value };
  }

  /** Seeding: entries on a service account's API access list (an address or a CIDR block each). */
  addAccessListEntries(orgId: string, clientId: string, entries: AccessListInput[]): void {
    const account = this.#store.serviceAccount(orgId, clientId);
    if (account === undefined) throw new Error(`service account ${clientId} not found in org ${orgId}`);
    for (const entry of entries) checkAccessListInput(entry);
    this.#store.addAccessListEntries(account, entries);
  }

  /** A service account's access list, with how each entry was last used. */
  accessList(orgId: string, clientId: string): AccessListSnapshot[] | undefined {
    return this.#store.serviceAccount(orgId, clientId)?.accessList.map((e) => ({
      ipAddress: e.ipAddress,
      cidrBlock: e.cidrBlock,
      createdAt: atlasTimestamp(e.createdAt),
      lastUsedAddress: e.lastUsedAddress,
      lastUsedAt: e.lastUsedAt === null ? null : atlasTimestamp(e.lastUsedAt),
      requestCount: e.requestCount,
    }));
  }

  /**
   * Seeding: replaces a service account's org roles and/or its roles in some projects (an empty list removes it
   * from that project).
   */
  setRoles(
    orgId: string,
    clientId: string,
    roles: { roles?: string[]; projectRoles?: Record<string, string[]> },
  ): void {
    const account = this.#store.serviceAccount(orgId, clientId);
    if (account === undefined) throw new Error(`service account ${clientId} not found in org ${orgId}`);
    if (roles.roles !== undefined) account.roles = [...roles.roles];
    for (const [projectId, projectRoles] of Object.entries(roles.projectRoles ?? {})) {
      if (this.#store.project(projectId)?.orgId !== orgId) {
        throw new Error(`project ${projectId} is not a project of org ${orgId}`);
      }
      if (projectRoles.length === 0) account.projectRoles.delete(projectId);
      else account.projectRoles.set(projectId, [...projectRoles]);
    }
  }

  /** Any service account of the org, org-level or project-level. */
  serviceAccount(orgId: string, clientId: string): ServiceAccountSnapshot | undefined {
    return this.#snapshot(this.#store.serviceAccount(orgId, clientId));
  }

  /** A service account that holds a role in the project. */
  projectServiceAccount(projectId: string, clientId: string): ServiceAccountSnapshot | undefined {
    const project = this.#store.project(projectId);
    const account = project === undefined ? undefined : this.#store.serviceAccount(project.orgId, clientId);
    return account?.projectRoles.has(projectId) === true ? this.#snapshot(account) : undefined;
  }

  #snapshot(account: ServiceAccountRecord | undefined): ServiceAccountSnapshot | undefined {
    if (account === undefined) return undefined;
    return {
      clientId: account.clientId,
      secrets: account.secrets.map((s) => ({
        id: s.id,
        createdAt: atlasTimestamp(s.createdAt),
        expiresAt: atlasTimestamp(s.expiresAt),
        lastUsedAt: s.lastUsedAt === null ? null : atlasTimestamp(s.lastUsedAt),
      })),
    };
  }

  injectFault(rule: FaultRule): void {
    this.#faults.add(rule);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  get requests(): readonly RequestLogEntry[] {
    return [...this.#requests];
  }

  clearRequests(): void {
    this.#requests = [];
  }

  async close(): Promise<void> {
    this.#shutdown.abort();
    const closed = new Promise<void>((resolve, reject) =>
      this.#server.close((error) => (error === undefined ? resolve() : reject(error))),
    );
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      await this.#dispatch(request, response);
    } catch (error) {
      if (response.headersSent || response.destroyed || this.#shutdown.signal.aborted || request.destroyed) {
        // Closing, or the client went away: nobody to answer.
        response.destroy();
        return;
      }
      // A simulator bug: say so loudly in the answer instead of hanging the client (error messages carry no secrets).
      const detail = `Atlas simulator failure: ${error instanceof Error ? error.message : String(error)}`;
      this.#write(response, jsonResult(500, apiError(500, 'UNEXPECTED_ERROR', detail)));
    }
  }

  async #dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    if (path.startsWith(CONTROL_PREFIX)) {
      const body = await readBody(request);
      this.#write(response, handleControl(method, path, body, this));
      return;
    }

    const authorization = parseAuthorization(header(request, 'authorization'));
    const accept = header(request, 'accept');
    const at = this.#now().toISOString();
    // Taken on arrival: a request that deletes the secret behind its own token still shows who made it.
    const clientId = this.#clientIdOf(authorization);
    const publicKey = authorization.scheme === 'digest' ? authorization.params.get('username') : undefined;
    const log = (status: number, dropped?: 'before' | 'after'): void => {
      const entry: RequestLogEntry = {
        method,
        path,
        status,
        accept,
        auth: authorization.scheme,
        clientId,
        ...(publicKey === undefined ? {} : { publicKey }),
        at,
        ...(dropped === undefined ? {} : { dropped }),
      };
      this.#requests.push(Object.freeze(entry));
    };

    const fault = this.#faults.take(method, path);
    const latency = async (): Promise<void> => {
      if (fault?.latencyMs !== undefined && fault.latencyMs > 0) {
        await sleep(fault.latencyMs, undefined, { signal: this.#shutdown.signal });
      }
    };

    if (fault?.drop === 'before') {
      await latency();
      log(0, 'before');
      response.destroy();
      return;
    }
    const body = await readBody(request);
    if (fault?.status !== undefined) {
      await latency();
      const result = faultResult({ ...fault, status: fault.status });
      log(result.status);
      this.#write(response, result);
      return;
    }

    let worked = false;
    const work = async (): Promise<void> => {
      if (worked) return;
      worked = true;
      await latency();
    };
    const simulatorRequest: SimulatorRequest = {
      method,
      path,
      target: request.url ?? '/',
      host: header(request, 'host') ?? '127.0.0.1',
      query: url.searchParams,
      accept,
      contentType: header(request, 'content-type'),
      authorization,
      body,
      work,
    };
    let result = await this.#route(simulatorRequest, this.#callerIp(request));
    await work(); // an endpoint that answered before its work still takes the injected latency
    if (fault?.headers !== undefined)
      result = { ...result, headers: { ...result.headers, ...fault.headers } };
    if (fault?.drop === 'after') {
      log(result.status, 'after');
      response.destroy();
      return;
    }
    log(result.status);
    this.#write(response, result);
  }

  #route(request: SimulatorRequest, callerIp: string): Promise<HttpResult> {
    if (request.path.startsWith(OAUTH_PREFIX)) {
      return handleOAuth(request, this.#store, {
        callerIp,
        now: this.#now,
        tokenRateLimit: this.#settings.tokenRateLimit,
        limiter: this.#tokenLimiter,
      });
    }
    const deps = {
      store: this.#store,
      digest: this.#digest,
      now: this.#now,
      callerIp,
      bucketLimit: this.#settings.adminApiRateLimit,
      buckets: this.#buckets,
      createSecretProcessingMs: this.#settings.createSecretProcessingMs,
      signal: this.#shutdown.signal,
    };
    if (request.path === ADMIN_API_PREFIX || request.path.startsWith(`${ADMIN_API_PREFIX}/`)) {
      return handleApi('atlas-v2', request, deps);
    }
    if (request.path === PUBLIC_API_PREFIX || request.path.startsWith(`${PUBLIC_API_PREFIX}/`)) {
      return handleApi('cloud-manager-v1', request, deps);
    }
    return Promise.resolve(
      jsonResult(404, apiError(404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${request.path}.`)),
    );
  }

  /** The socket's peer, or the `x-simulator-client-ip` header when `trustClientIpHeader` is on and it holds an address. */
  #callerIp(request: IncomingMessage): string {
    const claimed = header(request, CLIENT_IP_HEADER)?.trim();
    if (this.#settings.trustClientIpHeader && claimed !== undefined && isIP(claimed) !== 0) {
      return normalizeAddress(claimed);
    }
    return normalizeAddress(request.socket.remoteAddress ?? '127.0.0.1');
  }

  #clientIdOf(authorization: Authorization): string | undefined {
    if (authorization.scheme === 'basic') return authorization.credentials?.clientId;
    if (authorization.scheme === 'bearer') return this.#store.tokenClientId(authorization.token);
    return undefined;
  }

  #write(response: ServerResponse, result: HttpResult): void {
    if (result.status === 204) {
      response.writeHead(204, result.headers);
      response.end();
      return;
    }
    response.writeHead(result.status, {
      ...result.headers,
      'content-length': String(Buffer.byteLength(result.body)),
    });
    response.end(result.body);
  }
}
