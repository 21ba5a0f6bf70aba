import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_API_PREFIX, handleAdminApi } from './admin-api-endpoints.js';
import { apiError, defaultFaultError } from './api-error.js';
import { atlasTimestamp } from './atlas-timestamp.js';
import { type Authorization, parseAuthorization } from './authorization-header.js';
import {
  CONTROL_PREFIX,
  handleControl,
  type ServiceAccountSnapshot,
  type SimulatorControl,
} from './control-endpoints.js';
import { FaultInjector, type FaultRule } from './fault-rule.js';
import { emptyResult, type HttpResult, jsonResult } from './http-result.js';
import { handleOAuth, OAUTH_PREFIX } from './oauth-endpoints.js';
import type { RequestLogEntry } from './request-log-entry.js';
import type { SimulatorRequest } from './simulator-request.js';
import { SimulatorStore } from './simulator-store.js';

export type { ServiceAccountSnapshot } from './control-endpoints.js';
export type { FaultRule } from './fault-rule.js';
export type { RequestLogEntry } from './request-log-entry.js';

export interface AtlasSimulatorOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The simulator's clock: token and secret expiry, timestamps. Default: the wall clock. */
  now?: () => Date;
  /** Lifetime of minted access tokens (facts sheet §1.1: 1 hour). */
  tokenTtlSeconds?: number;
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
 * Behaviour the real API leaves undocumented, as chosen here (details beside each piece of code):
 * - check order on the Admin API: bearer token (401) -> operation (404) -> version (406) -> org/role (404/403)
 *   -> SA (404) -> body (400) -> concurrent create (409) -> two-secret limit (400 SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED);
 * - a token works only in its SA's org: 404 RESOURCE_NOT_FOUND for an unknown org, 403 USER_UNAUTHORIZED for a
 *   foreign org or a missing ORG_OWNER; all not-found cases use RESOURCE_NOT_FOUND;
 * - the 101st active token of an SA: 429 MAX_ACTIVE_ACCESS_TOKENS_EXCEEDED (ApiError) with Retry-After;
 * - revoking an unknown or another client's token is a silent 200 (RFC 7009); `token_type_hint` is ignored;
 * - lastUsedAt is stamped when a secret mints a token; maskedSecretValue is `mdb_sa_sk_...` + the last 4 chars;
 * - `envelope=true` wraps bodies as {status, content} without changing the HTTP status; 204 stays empty;
 *   `pretty` also applies to the OAuth endpoints, `envelope` only to the Admin API;
 * - timestamps are whole seconds; access tokens are opaque strings, not JWTs.
 */
/**
 * An in-process, real-HTTP stand-in for the parts of MongoDB Atlas the rotator uses: the OAuth token and
 * revoke endpoints, get-service-account, create/delete-secret and org settings of the Admin API v2, with
 * fault injection and a request log. It shares no code with the service's Atlas adapter on purpose.
 */
export class AtlasSimulator implements SimulatorControl {
  readonly baseUrl: string;
  readonly #server: Server;
  readonly #store: SimulatorStore;
  readonly #now: () => Date;
  readonly #faults = new FaultInjector();
  readonly #shutdown = new AbortController();
  #requests: RequestLogEntry[] = [];

  private constructor(server: Server, store: SimulatorStore, now: () => Date) {
    this.#server = server;
    this.#store = store;
    this.#now = now;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(options: AtlasSimulatorOptions = {}): Promise<AtlasSimulator> {
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
    simulator = new AtlasSimulator(server, store, now);
    return simulator;
  }

  createOrg(options: { orgId?: string; maxServiceAccountSecretValidityInHours?: number } = {}): {
    orgId: string;
  } {
    return { orgId: this.#store.createOrg(options).orgId };
  }

  createServiceAccount(
    orgId: string,
    options: { name?: string; roles?: string[]; secretExpiresAfterHours?: number } = {},
  ): { clientId: string; secretId: string; secret: string } {
    const { account, secret } = this.#store.createServiceAccount(orgId, options);
    return { clientId: account.clientId, secretId: secret.id, secret: secret.value };
  }

  /** Seeding: bypasses the two-secret limit, the expiry bounds and the 7-day shortening. */
  addSecret(
    orgId: string,
    clientId: string,
    options: { createdAt?: Date; expiresAt?: Date } = {},
  ): { id: string; secret: string } {
    const secret = this.#store.addSecret(orgId, clientId, options);
    return { id: secret.id, secret: secret.value };
  }

  serviceAccount(orgId: string, clientId: string): ServiceAccountSnapshot | undefined {
    const account = this.#store.serviceAccount(orgId, clientId);
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
    const log = (status: number, dropped?: 'before' | 'after'): void => {
      const entry: RequestLogEntry = {
        method,
        path,
        status,
        accept,
        auth: authorization.scheme,
        clientId,
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
      query: url.searchParams,
      accept,
      contentType: header(request, 'content-type'),
      authorization,
      body,
      work,
    };
    let result = await this.#route(simulatorRequest);
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

  #route(request: SimulatorRequest): Promise<HttpResult> {
    if (request.path.startsWith(OAUTH_PREFIX)) return handleOAuth(request, this.#store);
    if (request.path === ADMIN_API_PREFIX || request.path.startsWith(`${ADMIN_API_PREFIX}/`)) {
      return handleAdminApi(request, this.#store);
    }
    return Promise.resolve(
      jsonResult(404, apiError(404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${request.path}.`)),
    );
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
