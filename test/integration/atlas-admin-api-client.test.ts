import { inspect } from 'node:util';
import { MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AtlasAdminApiClient,
  type AtlasAdminApiClientSettings,
} from '../../src/adapters/outbound/atlas/atlas-admin-api-client.js';
import {
  InvalidAtlasBaseUrlError,
  parseAtlasBaseUrl,
} from '../../src/adapters/outbound/atlas/atlas-base-url.js';
import { createAtlasDispatcher } from '../../src/adapters/outbound/atlas/create-atlas-dispatcher.js';
import type { ActingCredential, AtlasTarget } from '../../src/application/ports/atlas-service-accounts.js';
import { AtlasOriginNotAllowedError } from '../../src/domain/errors.js';
import {
  type ApiVersion,
  type AtlasSecretId,
  parseApiVersion,
  parseAtlasSecretId,
  parseClientId,
  parseOrgId,
} from '../../src/domain/identifiers.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { BuiltPools, failure, RecordingClock } from './support/atlas-client-harness.js';

const SA_MEDIA_TYPE = 'application/vnd.atlas.2024-08-05+json';
const SETTINGS_MEDIA_TYPE = 'application/vnd.atlas.2023-01-01+json';
const TOKEN_PATH = '/api/oauth/token';
const REVOKE_PATH = '/api/oauth/revoke';

interface Account {
  readonly target: AtlasTarget;
  readonly credential: ActingCredential;
  readonly secretId: AtlasSecretId;
  readonly plainSecret: string;
}

function seedAccount(
  sim: AtlasSimulator,
  options: { roles?: string[]; maxHours?: number; apiVersion?: string } = {},
): Account {
  const { orgId } = sim.createOrg(
    options.maxHours === undefined ? {} : { maxServiceAccountSecretValidityInHours: options.maxHours },
  );
  const sa = sim.createServiceAccount(orgId, options.roles === undefined ? {} : { roles: options.roles });
  return {
    target: {
      baseUrl: sim.baseUrl,
      flavor: 'atlas',
      projectId: undefined,
      orgId: parseOrgId(orgId),
      clientId: parseClientId(sa.clientId),
      apiVersion: parseApiVersion(options.apiVersion ?? '2024-08-05'),
    },
    credential: { clientId: parseClientId(sa.clientId), clientSecret: SecretValue.of(sa.secret) },
    secretId: parseAtlasSecretId(sa.secretId),
    plainSecret: sa.secret,
  };
}

function expectNoLeak(error: unknown, ...sensitive: string[]): void {
  const rendered = [
    error instanceof Error ? error.message : String(error),
    inspect(error, { depth: 10, showHidden: true }),
    JSON.stringify(error),
  ];
  for (const text of rendered) {
    for (const value of sensitive) expect(text).not.toContain(value);
    expect(text).not.toMatch(/Bearer |Basic /);
  }
}

describe('AtlasAdminApiClient against the Atlas simulator', () => {
  let sim: AtlasSimulator;
  let clock: RecordingClock;
  const pools = new BuiltPools();

  function client(overrides: Partial<AtlasAdminApiClientSettings> = {}) {
    return new AtlasAdminApiClient({
      baseUrl: sim.baseUrl,
      dispatcherFor: pools.dispatcherFor,
      clock,
      allowInsecureHttp: true,
      // Jitter pinned to none: the delays asserted below are the exact steps.
      random: () => 0,
      ...overrides,
    });
  }

  const calls = (method: string, pathPart: string) =>
    sim.requests.filter((r) => r.method === method && r.path.includes(pathPart));

  beforeAll(async () => {
    sim = await AtlasSimulator.start();
  });

  afterAll(async () => {
    await sim.close();
  });

  afterEach(async () => {
    await pools.closeAll();
  });

  beforeEach(() => {
    clock = new RecordingClock();
    sim.clearFaults();
    sim.clearRequests();
  });

  it('lists, creates and deletes secrets', async () => {
    const account = seedAccount(sim);
    const atlas = client();

    const before = await atlas.listSecrets(account.target, account.credential);
    // The mask and lastUsedAt are evidence for adopting a value atlas-rotator never wrote (ADR 0007).
    expect(before).toEqual([
      {
        id: account.secretId,
        createdAt: expect.any(String),
        expiresAt: expect.any(String),
        maskedSecretValue: expect.stringMatching(/^mdb_sa_sk_\.\.\..{4}$/),
        lastUsedAt: expect.any(String),
      },
    ]);
    expect(Object.keys(before[0] ?? {})).toEqual([
      'id',
      'createdAt',
      'expiresAt',
      'maskedSecretValue',
      'lastUsedAt',
    ]);

    const created = await atlas.createSecret(account.target, account.credential, 24);
    expect(created.id).toMatch(/^[0-9a-f]{24}$/);
    expect(created.secret).toBeInstanceOf(SecretValue);
    expect(created.secret.reveal()).toMatch(/^mdb_sa_sk_/);
    expect(Date.parse(created.expiresAt) - Date.parse(created.createdAt)).toBe(24 * 3600 * 1000);
    expect(JSON.stringify(created)).not.toContain(created.secret.reveal());

    const listed = await atlas.listSecrets(account.target, account.credential);
    expect(listed.map((s) => s.id).sort()).toEqual([account.secretId, created.id].sort());

    expect(await atlas.deleteSecret(account.target, created.id, account.credential)).toBe(true);
    expect(
      sim.serviceAccount(account.target.orgId, account.target.clientId)?.secrets.map((s) => s.id),
    ).toEqual([account.secretId]);
  });

  it('authenticates with the new secret right after creating it', async () => {
    const account = seedAccount(sim);
    const atlas = client();
    const created = await atlas.createSecret(account.target, account.credential, 24);
    const asNew: ActingCredential = { clientId: account.target.clientId, clientSecret: created.secret };
    const listed = await atlas.listSecrets(account.target, asNew);
    expect(listed).toHaveLength(2);
  });

  it('reuses one token for several calls of the same credential', async () => {
    const account = seedAccount(sim);
    const atlas = client();
    await atlas.listSecrets(account.target, account.credential);
    const created = await atlas.createSecret(account.target, account.credential, 24);
    await atlas.deleteSecret(account.target, created.id, account.credential);
    await atlas.maxSecretValidityHours(account.target, account.credential);

    expect(calls('POST', TOKEN_PATH)).toHaveLength(1);
    const token = calls('POST', TOKEN_PATH)[0];
    expect(token?.auth).toBe('basic');
    expect(token?.clientId).toBe(account.target.clientId);
    const adminCalls = sim.requests.filter((r) => r.path.startsWith('/api/atlas/v2/'));
    expect(adminCalls).toHaveLength(4);
    expect(adminCalls.every((r) => r.auth === 'bearer' && r.clientId === account.target.clientId)).toBe(true);
  });

  it('shares one token mint between concurrent callers', async () => {
    const account = seedAccount(sim);
    const atlas = client();
    await Promise.all([1, 2, 3].map(() => atlas.listSecrets(account.target, account.credential)));
    expect(calls('POST', TOKEN_PATH)).toHaveLength(1);
    expect(calls('GET', '/serviceAccounts/')).toHaveLength(3);
  });

  it('sends the versioned Accept header of the target, and 2023-01-01 for the org settings', async () => {
    const account = seedAccount(sim, { maxHours: 720 });
    const atlas = client();
    await atlas.listSecrets(account.target, account.credential);
    const created = await atlas.createSecret(account.target, account.credential, 12);
    await atlas.deleteSecret(account.target, created.id, account.credential);
    expect(await atlas.maxSecretValidityHours(account.target, account.credential)).toBe(720);

    const accepts = sim.requests.filter((r) => r.path.startsWith('/api/atlas/v2/')).map((r) => r.accept);
    expect(accepts).toEqual([SA_MEDIA_TYPE, SA_MEDIA_TYPE, SA_MEDIA_TYPE, SETTINGS_MEDIA_TYPE]);
    expect(calls('POST', TOKEN_PATH)[0]?.accept).toBe('application/json');
  });

  it('uses a newer API version date as given (Atlas resolves it to the resource version)', async () => {
    const account = seedAccount(sim, { apiVersion: '2025-03-12' });
    await client().listSecrets(account.target, account.credential);
    expect(calls('GET', '/serviceAccounts/')[0]?.accept).toBe('application/vnd.atlas.2025-03-12+json');
  });

  it('maps 406 for an API version Atlas does not know to a permanent ATLAS_INVALID_VERSION', async () => {
    const account = seedAccount(sim, { apiVersion: '2019-01-01' });
    const error = await failure(client().listSecrets(account.target, account.credential));
    expect(error).toMatchObject({
      code: 'ATLAS_INVALID_VERSION',
      retryable: false,
      atlasStatus: 406,
      atlasErrorCode: 'INVALID_VERSION_DATE',
    });
    expect(error.message).toContain('2019-01-01');
    expect(error.message).toContain('(406 INVALID_VERSION_DATE)');
    expect(calls('GET', '/serviceAccounts/')).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  /** A 429 with `Retry-After: 3` on the next list of secrets. */
  const LIST_RATE_LIMITED_3S = {
    method: 'GET',
    path: '/api/atlas/v2/orgs',
    status: 429,
    headers: { 'retry-after': '3' },
  } as const;

  it('waits for Retry-After on 429 and then succeeds', async () => {
    const account = seedAccount(sim);
    sim.injectFault(LIST_RATE_LIMITED_3S);
    const listed = await client().listSecrets(account.target, account.credential);
    expect(listed).toHaveLength(1);
    expect(clock.sleeps).toEqual([3_000]);
    expect(calls('GET', '/serviceAccounts/').map((r) => r.status)).toEqual([429, 200]);
  });

  it('tells its observer of every request sent, every retry and every rate-limit wait (the metrics)', async () => {
    const account = seedAccount(sim);
    sim.injectFault(LIST_RATE_LIMITED_3S);
    sim.injectFault({ method: 'GET', path: '/api/atlas/v2/orgs', status: 503 });
    const seen: string[] = [];
    const observer = {
      atlasCall: () => seen.push('call'),
      atlasRetry: (delayMs: number, rateLimited: boolean) => seen.push(`retry ${delayMs} ${rateLimited}`),
    };
    await client({ observer }).listSecrets(account.target, account.credential);
    const sent = sim.requests.filter((r) => r.path.startsWith('/api/')).length;
    expect(seen.filter((s) => s === 'call')).toHaveLength(sent);
    // The 5xx backoff of 500 ms is jittered over [250, 500]; this suite's client draws 0, the lower bound.
    expect(seen.filter((s) => s.startsWith('retry'))).toEqual(['retry 3000 true', 'retry 250 false']);
  });

  it('retries a token mint that was rate-limited', async () => {
    const account = seedAccount(sim);
    sim.injectFault({ method: 'POST', path: TOKEN_PATH, status: 429, headers: { 'retry-after': '1' } });
    await client().listSecrets(account.target, account.credential);
    expect(calls('POST', TOKEN_PATH).map((r) => r.status)).toEqual([429, 200]);
    expect(clock.sleeps).toEqual([1_000]);
  });

  it('fails retryable at once when Retry-After is longer than it is willing to wait', async () => {
    const account = seedAccount(sim);
    sim.injectFault({
      method: 'GET',
      path: '/api/atlas/v2/orgs',
      status: 429,
      headers: { 'retry-after': '55' },
    });
    const error = await failure(client().listSecrets(account.target, account.credential));
    expect(error).toMatchObject({
      code: 'ATLAS_RATE_LIMITED',
      retryable: true,
      atlasStatus: 429,
      atlasErrorCode: 'RATE_LIMITED',
      retryAfterMs: 55_000,
    });
    expect(error.message).toContain('retry after 55 s');
    expect(clock.sleeps).toEqual([]);
  });

  it('retries a GET after 5xx with exponential backoff and succeeds', async () => {
    const account = seedAccount(sim);
    sim.injectFault({ method: 'GET', path: '/api/atlas/v2/orgs', status: 503, times: 2 });
    const listed = await client().listSecrets(account.target, account.credential);
    expect(listed).toHaveLength(1);
    expect(clock.sleeps).toEqual([250, 500]);
    expect(calls('GET', '/serviceAccounts/').map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('gives up after maxAttempts with a retryable ATLAS_UNAVAILABLE', async () => {
    const account = seedAccount(sim);
    sim.injectFault({
      method: 'GET',
      path: '/api/atlas/v2/orgs',
      status: 500,
      times: Number.POSITIVE_INFINITY,
    });
    const error = await failure(client({ maxAttempts: 3 }).listSecrets(account.target, account.credential));
    expect(error).toMatchObject({ code: 'ATLAS_UNAVAILABLE', retryable: true, atlasStatus: 500 });
    expect(error.message).toMatch(/^Atlas failed to list the secrets of service account mdb_sa_id_/);
    expect(calls('GET', '/serviceAccounts/')).toHaveLength(3);
    expect(clock.sleeps).toEqual([250, 500]);
  });

  it('retries a DELETE after a dropped connection', async () => {
    const account = seedAccount(sim);
    const extra = sim.addSecret(account.target.orgId, account.target.clientId);
    sim.injectFault({ method: 'DELETE', drop: 'before' });
    const deleted = await client().deleteSecret(
      account.target,
      parseAtlasSecretId(extra.id),
      account.credential,
    );
    expect(deleted).toBe(true);
    expect(calls('DELETE', '/secrets/').map((r) => r.dropped ?? r.status)).toEqual(['before', 204]);
  });

  it('retries a 409 DATA_CONCURRENCY_ERROR on a DELETE', async () => {
    const account = seedAccount(sim);
    const extra = sim.addSecret(account.target.orgId, account.target.clientId);
    sim.injectFault({ method: 'DELETE', status: 409 });
    await client().deleteSecret(account.target, parseAtlasSecretId(extra.id), account.credential);
    expect(calls('DELETE', '/secrets/').map((r) => r.status)).toEqual([409, 204]);
  });

  it('does not retry the create POST on 503', async () => {
    const account = seedAccount(sim);
    sim.injectFault({ method: 'POST', path: '/api/atlas/v2/', status: 503 });
    const error = await failure(client().createSecret(account.target, account.credential, 24));
    expect(error).toMatchObject({ code: 'ATLAS_UNAVAILABLE', retryable: true, atlasStatus: 503 });
    expect(calls('POST', '/secrets')).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('does not retry the create POST when the connection drops after the work', async () => {
    const account = seedAccount(sim);
    sim.injectFault({ method: 'POST', path: '/api/atlas/v2/', drop: 'after' });
    const error = await failure(client().createSecret(account.target, account.credential, 24));
    expect(error).toMatchObject({ code: 'ATLAS_NETWORK_ERROR', retryable: true, atlasStatus: undefined });
    expect(error.message).toContain('may have been carried out');
    const posts = calls('POST', '/secrets');
    expect(posts).toHaveLength(1);
    expect(posts[0]?.dropped).toBe('after');
    // Why it must not be retried: the secret exists although no answer came.
    expect(sim.serviceAccount(account.target.orgId, account.target.clientId)?.secrets).toHaveLength(2);
    expectNoLeak(error, account.plainSecret);
  });

  it('does not retry the create POST after a timeout', async () => {
    const account = seedAccount(sim);
    sim.injectFault({ method: 'POST', path: '/api/atlas/v2/', latencyMs: 1_500 });
    const atlas = client({ requestTimeoutMs: 300 });
    const error = await failure(atlas.createSecret(account.target, account.credential, 24));
    expect(error).toMatchObject({ code: 'ATLAS_TIMEOUT', retryable: true });
    expect(calls('POST', '/secrets')).toHaveLength(0); // the simulator logs when it answers
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect(calls('POST', '/secrets')).toHaveLength(1);
  });

  it('maps a 201 without the secret value to ATLAS_UNEXPECTED_RESPONSE', async () => {
    const account = seedAccount(sim);
    sim.injectFault({
      method: 'POST',
      path: '/api/atlas/v2/',
      status: 201,
      body: {
        id: '0123456789abcdef01234567',
        createdAt: '2026-01-01T00:00:00Z',
        expiresAt: '2026-01-02T00:00:00Z',
        maskedSecretValue: 'mdb_sa_sk_...abcd',
      },
    });
    const error = await failure(client().createSecret(account.target, account.credential, 24));
    expect(error).toMatchObject({ code: 'ATLAS_UNEXPECTED_RESPONSE', retryable: false, atlasStatus: 201 });
    expect(error.message).toContain('0123456789abcdef01234567 came without its value');
    expect(calls('POST', '/secrets')).toHaveLength(1);
  });

  it('resolves false when deleting a secret that is already gone', async () => {
    const account = seedAccount(sim);
    const gone = parseAtlasSecretId('0123456789abcdef01234567');
    expect(await client().deleteSecret(account.target, gone, account.credential)).toBe(false);
    expect(calls('DELETE', '/secrets/').map((r) => r.status)).toEqual([404]);
  });

  it('maps 403 for an account without Organization Owner to a clear, permanent ATLAS_FORBIDDEN', async () => {
    const account = seedAccount(sim, { roles: ['ORG_READ_ONLY'] });
    const error = await failure(client().createSecret(account.target, account.credential, 24));
    expect(error).toMatchObject({
      code: 'ATLAS_FORBIDDEN',
      retryable: false,
      atlasStatus: 403,
      atlasErrorCode: 'USER_UNAUTHORIZED',
    });
    expect(error.message).toMatch(
      new RegExp(
        `^Atlas refused to create a secret for service account ${account.target.clientId} in org ` +
          `${account.target.orgId} \\(403 USER_UNAUTHORIZED\\): .+Organization Owner`,
      ),
    );
  });

  it('answers undefined for the org settings when the caller may not read them', async () => {
    const account = seedAccount(sim);
    const other = seedAccount(sim);
    expect(await client().maxSecretValidityHours(other.target, account.credential)).toBeUndefined();
  });

  it('mints a fresh token once the secret that minted the cached one is deleted', async () => {
    const account = seedAccount(sim);
    const atlas = client();
    const created = await atlas.createSecret(account.target, account.credential, 24);
    const asNew: ActingCredential = { clientId: account.target.clientId, clientSecret: created.secret };
    await atlas.listSecrets(account.target, account.credential); // token(old) is cached
    // Deleting the old secret with the new credential kills token(old) and the old secret.
    await atlas.deleteSecret(account.target, account.secretId, asNew);
    sim.clearRequests();

    const error = await failure(atlas.listSecrets(account.target, account.credential));
    expect(
      sim.requests.map(
        (r) => `${r.method} ${r.path.startsWith('/api/oauth') ? r.path : 'admin'} ${r.status}`,
      ),
    ).toEqual(['GET admin 401', `POST ${TOKEN_PATH} 401`]);
    expect(error).toMatchObject({
      code: 'ATLAS_INVALID_CLIENT',
      retryable: false,
      atlasErrorCode: 'invalid_client',
    });
    expectNoLeak(error, account.plainSecret, created.secret.reveal());
  });

  it('recovers from a 401 on a cached token by minting a fresh one, and only once', async () => {
    let simNowMs = Date.now();
    const timed = await AtlasSimulator.start({ now: () => new Date(simNowMs) });
    const pool = createAtlasDispatcher(timed.baseUrl, {
      connectTimeoutMs: 2_000,
      keepAliveTimeoutMs: 4_000,
      connections: 2,
      allowInsecureHttp: true,
    });
    try {
      const account = seedAccount(timed);
      const atlas = new AtlasAdminApiClient({
        baseUrl: timed.baseUrl,
        dispatcher: pool,
        clock,
        allowInsecureHttp: true,
      });
      await atlas.listSecrets(account.target, account.credential);
      // Atlas's clock runs past the token's hour while ours does not: the token is dead, the secret alive.
      simNowMs += 2 * 3600 * 1000;
      expect(await atlas.listSecrets(account.target, account.credential)).toHaveLength(1);
      const log = timed.requests.map(
        (r) => `${r.method} ${r.path.startsWith('/api/oauth') ? r.path : 'admin'} ${r.status}`,
      );
      expect(log).toEqual([
        `POST ${TOKEN_PATH} 200`,
        'GET admin 200',
        'GET admin 401',
        `POST ${TOKEN_PATH} 200`,
        'GET admin 200',
      ]);

      timed.clearRequests();
      timed.injectFault({ method: 'GET', path: '/api/atlas/v2/', status: 401, times: 2 });
      const error = await failure(atlas.listSecrets(account.target, account.credential));
      expect(error).toMatchObject({ code: 'ATLAS_UNAUTHORIZED', retryable: false, atlasStatus: 401 });
      expect(timed.requests.map((r) => `${r.method} ${r.status}`)).toEqual([
        'GET 401',
        'POST 200',
        'GET 401',
      ]);
    } finally {
      await pool.close();
      await timed.close();
    }
  });

  it('refreshes a token before it expires, at most half its lifetime early', async () => {
    const short = await AtlasSimulator.start({ tokenTtlSeconds: 60 });
    const pool = createAtlasDispatcher(short.baseUrl, {
      connectTimeoutMs: 2_000,
      keepAliveTimeoutMs: 4_000,
      connections: 2,
      allowInsecureHttp: true,
    });
    try {
      const account = seedAccount(short);
      const atlas = new AtlasAdminApiClient({
        baseUrl: short.baseUrl,
        dispatcher: pool,
        clock,
        allowInsecureHttp: true,
      });
      await atlas.listSecrets(account.target, account.credential);
      clock.advance(29_000);
      await atlas.listSecrets(account.target, account.credential);
      expect(short.requests.filter((r) => r.path === TOKEN_PATH)).toHaveLength(1);
      clock.advance(2_000); // 31 s of 60: past half the lifetime (the 10 min margin is capped)
      await atlas.listSecrets(account.target, account.credential);
      expect(short.requests.filter((r) => r.path === TOKEN_PATH)).toHaveLength(2);
    } finally {
      await pool.close();
      await short.close();
    }
  });

  it('refreshes an hour-long token ten minutes before it expires', async () => {
    const account = seedAccount(sim);
    const atlas = client();
    await atlas.listSecrets(account.target, account.credential);
    clock.advance(49 * 60_000);
    await atlas.listSecrets(account.target, account.credential);
    expect(calls('POST', TOKEN_PATH)).toHaveLength(1);
    clock.advance(2 * 60_000);
    await atlas.listSecrets(account.target, account.credential);
    expect(calls('POST', TOKEN_PATH)).toHaveLength(2);
  });

  it('maps wrong client credentials to a permanent ATLAS_INVALID_CLIENT without retrying', async () => {
    const account = seedAccount(sim);
    const wrong = 'mdb_sa_sk_thisIsNotTheRightSecretValue0123456789';
    const error = await failure(
      client().listSecrets(account.target, {
        clientId: account.target.clientId,
        clientSecret: SecretValue.of(wrong),
      }),
    );
    expect(error).toMatchObject({
      code: 'ATLAS_INVALID_CLIENT',
      retryable: false,
      atlasStatus: 401,
      atlasErrorCode: 'invalid_client',
    });
    expect(error.message).toContain(account.target.clientId);
    expect(calls('POST', TOKEN_PATH)).toHaveLength(1);
    expect(calls('GET', '/serviceAccounts/')).toHaveLength(0);
    expectNoLeak(error, wrong, account.plainSecret);
  });

  it('revokes cached tokens on endRotation and mints anew afterwards', async () => {
    const account = seedAccount(sim);
    const atlas = client();
    await atlas.listSecrets(account.target, account.credential);
    await atlas.endRotation([account.credential]);
    const revokes = calls('POST', REVOKE_PATH);
    expect(revokes).toHaveLength(1);
    expect(revokes[0]).toMatchObject({ auth: 'basic', clientId: account.target.clientId, status: 200 });

    await atlas.listSecrets(account.target, account.credential);
    expect(calls('POST', TOKEN_PATH)).toHaveLength(2);
  });

  it('never rejects from endRotation, even when the revoke fails', async () => {
    const account = seedAccount(sim);
    const atlas = client();
    await atlas.listSecrets(account.target, account.credential);
    sim.injectFault({ path: REVOKE_PATH, drop: 'before' });
    await expect(atlas.endRotation([account.credential])).resolves.toBeUndefined();
    await expect(atlas.endRotation([account.credential])).resolves.toBeUndefined(); // nothing cached any more
    expect(calls('POST', REVOKE_PATH)).toHaveLength(1);
  });

  it('forgets, without calling Atlas, the tokens of a credential whose secret it deleted', async () => {
    const account = seedAccount(sim);
    const atlas = client();
    const created = await atlas.createSecret(account.target, account.credential, 720);
    const fresh = {
      clientId: account.target.clientId,
      clientSecret: created.secret,
      atlasSecretId: created.id,
    };
    await atlas.listSecrets(account.target, fresh);
    await atlas.deleteSecret(account.target, created.id, {
      ...account.credential,
      atlasSecretId: account.secretId,
    });
    await atlas.endRotation([fresh]);
    expect(calls('POST', REVOKE_PATH)).toHaveLength(0);

    const own = { ...account.credential, atlasSecretId: account.secretId };
    await atlas.listSecrets(account.target, own);
    await atlas.deleteSecret(account.target, account.secretId, own);
    await atlas.endRotation([own]);
    expect(calls('POST', REVOKE_PATH)).toHaveLength(0);
    expect(calls('POST', TOKEN_PATH)).toHaveLength(2);
  });

  it('revokes every cached token on close, then closes the pool it built', async () => {
    const one = seedAccount(sim);
    const two = seedAccount(sim);
    const atlas = client();
    await atlas.listSecrets(one.target, one.credential);
    await atlas.listSecrets(two.target, two.credential);
    expect(pools.built).toHaveLength(1);
    await atlas.close();
    expect(
      calls('POST', REVOKE_PATH)
        .map((r) => r.clientId)
        .sort(),
    ).toEqual([one.target.clientId, two.target.clientId].sort());
    expect(pools.built[0]?.pool.closed).toBe(true);
  });

  it('keeps secrets and tokens out of messages even when Atlas echoes them', async () => {
    const account = seedAccount(sim);
    sim.injectFault({
      method: 'GET',
      path: '/api/atlas/v2/',
      status: 400,
      body: { error: 400, errorCode: 'VALIDATION_ERROR', detail: `Bad value ${account.plainSecret} here` },
    });
    const error = await failure(client().listSecrets(account.target, account.credential));
    expect(error).toMatchObject({
      code: 'ATLAS_BAD_REQUEST',
      retryable: false,
      atlasErrorCode: 'VALIDATION_ERROR',
    });
    expect(error.message).toContain('Bad value [REDACTED] here');
    expectNoLeak(error, account.plainSecret);
    expect(inspect(client())).not.toContain(account.plainSecret);
  });

  it('refuses an http:// target unless insecure http is allowed', async () => {
    const account = seedAccount(sim);
    const secure = client({ baseUrl: 'https://cloud.mongodb.com', allowInsecureHttp: false });
    await expect(secure.listSecrets(account.target, account.credential)).rejects.toThrow(
      AtlasOriginNotAllowedError,
    );
    expect(sim.requests).toHaveLength(0);
    expect(pools.built).toHaveLength(0);
  });

  it('refuses an http:// default origin unless insecure http is allowed', () => {
    expect(() => client({ allowInsecureHttp: false })).toThrow(InvalidAtlasBaseUrlError);
    expect(() =>
      createAtlasDispatcher(sim.baseUrl, {
        connectTimeoutMs: 1_000,
        keepAliveTimeoutMs: 1_000,
        connections: 1,
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ATLAS_BASE_URL', retryable: false }));
    expect(parseAtlasBaseUrl('https://cloud.mongodb.com', false).origin).toBe('https://cloud.mongodb.com');
    expect(() => parseAtlasBaseUrl('https://cloud.mongodb.com/api', false)).toThrow(InvalidAtlasBaseUrlError);
    expect(() => parseAtlasBaseUrl('https://user:pw@cloud.mongodb.com', false)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('pw') }),
    );
    expect(() => parseAtlasBaseUrl('not a url', true)).toThrow(InvalidAtlasBaseUrlError);
  });
});

/** Edge cases the simulator cannot produce. */
describe('AtlasAdminApiClient edge cases (undici MockAgent)', () => {
  const origin = 'https://atlas.example.test';
  const orgId = parseOrgId('0123456789abcdef01234567');
  const clientId = parseClientId('mdb_sa_id_0123456789abcdef01234567');
  const target: AtlasTarget = {
    baseUrl: origin,
    flavor: 'atlas',
    projectId: undefined,
    orgId,
    clientId,
    apiVersion: '2024-08-05' as ApiVersion,
  };
  const secret = 'mdb_sa_sk_mock+secret/with=special&chars';
  const credential: ActingCredential = { clientId, clientSecret: SecretValue.of(secret) };
  const token = 'eyJ.mock-access-token.SENSITIVE';
  const accountPath = `/api/atlas/v2/orgs/${orgId}/serviceAccounts/${clientId}`;
  let agent: MockAgent;
  let clock: RecordingClock;

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    clock = new RecordingClock(Date.parse('2026-05-01T12:00:00Z'));
  });

  afterEach(async () => {
    await agent.close();
  });

  function mockToken(): void {
    agent
      .get(origin)
      .intercept({ path: TOKEN_PATH, method: 'POST' })
      .reply(200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
  }

  function atlas(): AtlasAdminApiClient {
    return new AtlasAdminApiClient({ baseUrl: origin, dispatcherFor: () => agent, clock, random: () => 0 });
  }

  it('sends the form-urlencoded client credentials as Basic auth', async () => {
    let authorization: unknown;
    let body: unknown;
    agent
      .get(origin)
      .intercept({ path: TOKEN_PATH, method: 'POST' })
      .reply(200, (options) => {
        authorization = (options.headers as Record<string, string>).authorization;
        body = options.body;
        return { access_token: token, token_type: 'Bearer', expires_in: 3600 };
      });
    agent.get(origin).intercept({ path: accountPath, method: 'GET' }).reply(200, { secrets: [] });
    await atlas().listSecrets(target, credential);
    const encoded = `${clientId}:${encodeURIComponent(secret)}`;
    expect(authorization).toBe(`Basic ${Buffer.from(encoded).toString('base64')}`);
    expect(body).toBe('grant_type=client_credentials');
  });

  it('honours Retry-After given as an HTTP date', async () => {
    mockToken();
    const retryAt = new Date(clock.now().getTime() + 7_000).toUTCString();
    const pool = agent.get(origin);
    pool
      .intercept({ path: accountPath, method: 'GET' })
      .reply(
        429,
        { error: 429, errorCode: 'RATE_LIMITED_TOKEN_BUCKET', detail: 'Rate limit exceeded.' },
        { headers: { 'retry-after': retryAt } },
      );
    pool.intercept({ path: accountPath, method: 'GET' }).reply(200, { secrets: [] });
    expect(await atlas().listSecrets(target, credential)).toEqual([]);
    expect(clock.sleeps).toEqual([7_000]);
  });

  it('maps a malformed 200 body to ATLAS_UNEXPECTED_RESPONSE without retrying', async () => {
    mockToken();
    agent
      .get(origin)
      .intercept({ path: accountPath, method: 'GET' })
      .reply(200, `{"secrets": [{"id": "${secret}"`);
    const error = await failure(atlas().listSecrets(target, credential));
    expect(error).toMatchObject({ code: 'ATLAS_UNEXPECTED_RESPONSE', retryable: false, atlasStatus: 200 });
    expect(clock.sleeps).toEqual([]);
    expectNoLeak(error, secret, token);
  });

  it('rejects a secret entry without a valid id', async () => {
    mockToken();
    agent
      .get(origin)
      .intercept({ path: accountPath, method: 'GET' })
      .reply(200, {
        secrets: [{ id: 'nope', createdAt: '2026-01-01T00:00:00Z', expiresAt: '2026-01-02T00:00:00Z' }],
      });
    const error = await failure(atlas().listSecrets(target, credential));
    expect(error).toMatchObject({ code: 'ATLAS_UNEXPECTED_RESPONSE' });
  });

  it('maps a malformed token response to ATLAS_UNEXPECTED_RESPONSE', async () => {
    agent.get(origin).intercept({ path: TOKEN_PATH, method: 'POST' }).reply(200, { token_type: 'Bearer' });
    const error = await failure(atlas().listSecrets(target, credential));
    expect(error).toMatchObject({ code: 'ATLAS_UNEXPECTED_RESPONSE', retryable: false });
    expect(error.message).toContain('no access_token');
  });

  it('maps an OAuth 400 invalid_client to ATLAS_INVALID_CLIENT', async () => {
    agent
      .get(origin)
      .intercept({ path: TOKEN_PATH, method: 'POST' })
      .reply(400, { error: 'invalid_client', error_description: 'Invalid client credentials.' });
    const error = await failure(atlas().listSecrets(target, credential));
    expect(error).toMatchObject({
      code: 'ATLAS_INVALID_CLIENT',
      retryable: false,
      atlasStatus: 400,
      atlasErrorCode: 'invalid_client',
    });
  });

  it('scrubs the bearer token and anything secret-shaped from an echoed error detail', async () => {
    mockToken();
    agent
      .get(origin)
      .intercept({ path: accountPath, method: 'GET' })
      .reply(403, {
        error: 403,
        errorCode: 'ORG_REQUIRES_ACCESS_LIST',
        detail: `This organization requires an access list; token ${token}, mdb_sa_sk_otherSecret123`,
      });
    const error = await failure(atlas().listSecrets(target, credential));
    expect(error.message).toMatch(
      /^Atlas refused to list the secrets .+ \(403 ORG_REQUIRES_ACCESS_LIST\): This organization/,
    );
    expectNoLeak(error, token, secret, 'mdb_sa_sk_otherSecret123');
  });

  it('maps a headers timeout on a GET to ATLAS_TIMEOUT and retries it', async () => {
    mockToken();
    const pool = agent.get(origin);
    pool
      .intercept({ path: accountPath, method: 'GET' })
      .replyWithError(Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    pool.intercept({ path: accountPath, method: 'GET' }).reply(200, { secrets: [] });
    expect(await atlas().listSecrets(target, credential)).toEqual([]);
    expect(clock.sleeps).toEqual([250]);
  });
});
