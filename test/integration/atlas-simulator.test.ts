import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { ContractValidator } from '../support/contract-validator.js';
import { control, DAY, HOUR, iso, SECRET_FORMAT, START, V2024, V2025 } from './support/simulator-test-kit.js';

const V2023 = 'application/vnd.atlas.2023-01-01+json';

let simulator: AtlasSimulator;
let current: Date;

function advance(ms: number): void {
  current = new Date(current.getTime() + ms);
}

function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function tokenRequest(
  authorization: string | undefined,
  form: Record<string, string> = { grant_type: 'client_credentials' },
) {
  return fetch(`${simulator.baseUrl}/api/oauth/token`, {
    method: 'POST',
    headers: {
      ...(authorization === undefined ? {} : { authorization }),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams(form),
  });
}

async function tokenFor(clientId: string, secret: string): Promise<string> {
  const response = await tokenRequest(basic(clientId, secret));
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

function revokeRequest(authorization: string, token: string) {
  return fetch(`${simulator.baseUrl}/api/oauth/revoke`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  });
}

function api(
  method: string,
  path: string,
  options: { token?: string; accept?: string | null; body?: unknown; query?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const accept = options.accept === undefined ? V2024 : options.accept;
  if (accept !== null) headers.accept = accept;
  if (options.body !== undefined) headers['content-type'] = V2024;
  return fetch(`${simulator.baseUrl}/api/atlas/v2${path}${options.query ?? ''}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
}

const saPath = (orgId: string, clientId: string) => `/orgs/${orgId}/serviceAccounts/${clientId}`;
const secretsPath = (orgId: string, clientId: string) => `${saPath(orgId, clientId)}/secrets`;

function createSecret(
  orgId: string,
  clientId: string,
  token: string,
  hours: unknown = 720,
): Promise<Response> {
  return api('POST', secretsPath(orgId, clientId), { token, body: { secretExpiresAfterHours: hours } });
}

interface Seeded {
  orgId: string;
  clientId: string;
  secretId: string;
  secret: string;
  token: string;
}

async function seedOwner(options: { maxServiceAccountSecretValidityInHours?: number } = {}): Promise<Seeded> {
  const { orgId } = simulator.createOrg(options);
  const account = simulator.createServiceAccount(orgId, { secretExpiresAfterHours: 720 });
  return { orgId, ...account, token: await tokenFor(account.clientId, account.secret) };
}

interface ApiErrorJson {
  error: number;
  errorCode: string;
  detail: string;
  reason: string;
  parameters: unknown[];
  badRequestDetail?: { fields: { field: string; description: string }[] };
}

beforeEach(async () => {
  current = START;
  simulator = await AtlasSimulator.start({ now: () => current });
});

afterEach(async () => {
  await simulator.close();
});

describe('OAuth token endpoint', () => {
  it('mints a bearer token for valid client credentials', async () => {
    const { clientId, secret } = simulator.createServiceAccount(simulator.createOrg().orgId);

    const response = await tokenRequest(basic(clientId, secret));

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
  });

  it('URL-decodes the Basic credentials (RFC 6749 §2.3.1)', async () => {
    const { clientId, secret } = simulator.createServiceAccount(simulator.createOrg().orgId);
    const encodedId = clientId.replace('_', '%5F');

    const response = await tokenRequest(`Basic ${Buffer.from(`${encodedId}:${secret}`).toString('base64')}`);

    expect(response.status).toBe(200);
  });

  it('answers 401 invalid_client for a wrong secret, an unknown client and missing credentials', async () => {
    const { clientId } = simulator.createServiceAccount(simulator.createOrg().orgId);
    const wrong = await tokenRequest(basic(clientId, `mdb_sa_sk_${'x'.repeat(40)}`));
    const unknown = await tokenRequest(basic('mdb_sa_id_000000000000000000000000', 'whatever'));
    const missing = await tokenRequest(undefined);

    for (const response of [wrong, unknown, missing]) {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Basic');
      expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('answers 400 unsupported_grant_type for another grant', async () => {
    const { clientId, secret } = simulator.createServiceAccount(simulator.createOrg().orgId);

    const response = await tokenRequest(basic(clientId, secret), { grant_type: 'password' });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('refuses an expired secret, which stays listed until deleted', async () => {
    const { orgId } = simulator.createOrg();
    const { clientId, secret, secretId } = simulator.createServiceAccount(orgId, {
      secretExpiresAfterHours: 8,
    });
    advance(8 * HOUR);

    const response = await tokenRequest(basic(clientId, secret));

    expect(response.status).toBe(401);
    expect(simulator.serviceAccount(orgId, clientId)?.secrets.map((s) => s.id)).toEqual([secretId]);
  });

  it('stamps lastUsedAt on the secret that minted a token', async () => {
    const { orgId } = simulator.createOrg();
    const { clientId, secret } = simulator.createServiceAccount(orgId);
    expect(simulator.serviceAccount(orgId, clientId)?.secrets[0]?.lastUsedAt).toBeNull();
    advance(5000);

    await tokenFor(clientId, secret);

    expect(simulator.serviceAccount(orgId, clientId)?.secrets[0]?.lastUsedAt).toBe(
      iso(START.getTime() + 5000),
    );
  });

  it('lets a token expire after its lifetime', async () => {
    const { orgId, clientId, token } = await seedOwner();
    advance(3600 * 1000 - 1000);
    expect((await api('GET', saPath(orgId, clientId), { token })).status).toBe(200);
    advance(1000);

    const response = await api('GET', saPath(orgId, clientId), { token });

    expect(response.status).toBe(401);
  });

  it('kills a token when the secret that minted it expires', async () => {
    const { orgId } = simulator.createOrg();
    const { clientId, secret } = simulator.createServiceAccount(orgId, { secretExpiresAfterHours: 8 });
    advance(8 * HOUR - 60_000);
    const token = await tokenFor(clientId, secret);
    advance(60_000);

    const response = await api('GET', saPath(orgId, clientId), { token });

    expect(response.status).toBe(401);
  });

  it('refuses the 101st active token of a service account with 429 and Retry-After', async () => {
    // The per-minute limit of the token endpoint would answer first; this test is about the active-token cap.
    simulator.configure({ tokenRateLimit: null });
    const { clientId, secret } = simulator.createServiceAccount(simulator.createOrg().orgId);
    for (let i = 0; i < 100; i += 1) await tokenFor(clientId, secret);

    const response = await tokenRequest(basic(clientId, secret));

    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3600');
    expect(await response.json()).toMatchObject({
      error: 429,
      errorCode: 'MAX_ACTIVE_ACCESS_TOKENS_EXCEEDED',
    });
  });
});

describe('OAuth revoke endpoint', () => {
  it('revokes a token so that it no longer authenticates', async () => {
    const { orgId, clientId, secret, token } = await seedOwner();

    const response = await revokeRequest(basic(clientId, secret), token);

    expect(response.status).toBe(200);
    expect((await api('GET', saPath(orgId, clientId), { token })).status).toBe(401);
  });

  it('answers 401 for bad client credentials and keeps the token alive', async () => {
    const { orgId, clientId, token } = await seedOwner();

    const response = await revokeRequest(basic(clientId, 'nope'), token);

    expect(response.status).toBe(401);
    expect((await api('GET', saPath(orgId, clientId), { token })).status).toBe(200);
  });
});

describe('Admin API versioning and authentication', () => {
  it.each([
    ['wildcard (what fetch sends when none is set)', null],
    ['unversioned JSON', 'application/json'],
    ['an unpublished date', 'application/vnd.atlas.2024-09-01+json'],
    ['a date before the resource existed', V2023],
  ])('answers 406 INVALID_VERSION_DATE for a %s Accept header', async (_case, accept) => {
    const { orgId, clientId, token } = await seedOwner();

    const response = await api('GET', saPath(orgId, clientId), { token, accept });

    expect(response.status).toBe(406);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({
      error: 406,
      errorCode: 'INVALID_VERSION_DATE',
      detail: 'Invalid accept header or version date.',
    });
  });

  it('answers 406 when the request carries no Accept header at all', async () => {
    const { orgId, clientId, token } = await seedOwner();
    const url = new URL(`${simulator.baseUrl}/api/atlas/v2${saPath(orgId, clientId)}`);

    const status = await new Promise<number | undefined>((done, fail) => {
      const request = httpRequest(url, { headers: { authorization: `Bearer ${token}` } }, (response) => {
        response.resume();
        done(response.statusCode);
      });
      request.on('error', fail);
      request.end();
    });

    expect(status).toBe(406);
    expect(simulator.requests.at(-1)?.accept).toBeUndefined();
  });

  it('resolves a later date to the newest resource version not later than it', async () => {
    const { orgId, clientId, token } = await seedOwner();

    const sa = await api('GET', saPath(orgId, clientId), { token, accept: V2025 });
    const settings = await api('GET', `/orgs/${orgId}/settings`, { token, accept: V2024 });

    expect(sa.status).toBe(200);
    expect(sa.headers.get('content-type')).toBe(V2024);
    expect(settings.status).toBe(200);
    expect(settings.headers.get('content-type')).toBe(V2023);
  });

  it('answers 401 UNAUTHORIZED without a bearer token or with an unknown one', async () => {
    const { orgId, clientId, secret } = await seedOwner();
    const responses = [
      await api('GET', saPath(orgId, clientId)),
      await api('GET', saPath(orgId, clientId), { token: 'not-a-token' }),
      await fetch(`${simulator.baseUrl}/api/atlas/v2${saPath(orgId, clientId)}`, {
        headers: { accept: V2024, authorization: basic(clientId, secret) },
      }),
    ];

    for (const response of responses) {
      expect(response.status).toBe(401);
      const body = (await response.json()) as ApiErrorJson;
      expect(body).toMatchObject({
        error: 401,
        errorCode: 'UNAUTHORIZED',
        reason: 'Unauthorized',
        parameters: [],
      });
    }
  });

  it('honours envelope and pretty', async () => {
    const { orgId, clientId, token } = await seedOwner();

    const response = await api('GET', saPath(orgId, clientId), {
      token,
      query: '?envelope=true&pretty=true',
    });

    const text = await response.text();
    expect(text).toContain('\n  "status": 200');
    expect(JSON.parse(text)).toMatchObject({ status: 200, content: { clientId } });
  });
});

describe('GET service account', () => {
  it('lists secrets with masked values only', async () => {
    const { orgId, clientId, secretId, token } = await seedOwner();

    const response = await api('GET', saPath(orgId, clientId), { token });

    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text) as {
      clientId: string;
      roles: string[];
      secrets: Record<string, unknown>[];
    };
    expect(body).toMatchObject({ clientId, roles: ['ORG_OWNER'] });
    expect(body.secrets).toEqual([
      {
        id: secretId,
        createdAt: iso(START.getTime()),
        expiresAt: iso(START.getTime() + 720 * HOUR),
        lastUsedAt: iso(START.getTime()),
        maskedSecretValue: expect.stringMatching(/^mdb_sa_sk_\.\.\./),
      },
    ]);
    expect(text).not.toMatch(/"secret"/);
    expect(text).not.toMatch(/mdb_sa_sk_[A-Za-z0-9_-]{40}/);
  });

  it('may be read with Organization Read Only (or Owner), not by a mere ORG_MEMBER nor from another org', async () => {
    const { orgId, clientId } = await seedOwner();
    const member = simulator.createServiceAccount(orgId, { roles: ['ORG_MEMBER'] });
    const memberToken = await tokenFor(member.clientId, member.secret);
    const reader = simulator.createServiceAccount(orgId, { roles: ['ORG_READ_ONLY'] });
    const readerToken = await tokenFor(reader.clientId, reader.secret);
    const stranger = await seedOwner();

    expect((await api('GET', saPath(orgId, clientId), { token: readerToken })).status).toBe(200);
    const asMember = await api('GET', saPath(orgId, clientId), { token: memberToken });
    expect(asMember.status).toBe(403);
    expect(await asMember.json()).toMatchObject({ error: 403, errorCode: 'USER_UNAUTHORIZED' });
    const foreign = await api('GET', saPath(orgId, clientId), { token: stranger.token });
    expect(foreign.status).toBe(403);
  });

  it('answers 404 for an unknown service account or org', async () => {
    const { orgId, token } = await seedOwner();

    const unknownSa = await api('GET', saPath(orgId, 'mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa'), { token });
    const unknownOrg = await api(
      'GET',
      saPath('bbbbbbbbbbbbbbbbbbbbbbbb', 'mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa'),
      { token },
    );

    expect(unknownSa.status).toBe(404);
    expect(await unknownSa.json()).toMatchObject({ error: 404, errorCode: 'RESOURCE_NOT_FOUND' });
    expect(unknownOrg.status).toBe(404);
  });
});

describe('create secret', () => {
  it('answers 201 with the plain secret, once, and the secret works', async () => {
    const { orgId, clientId, token } = await seedOwner();

    const response = await createSecret(orgId, clientId, token, 24);

    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe(V2024);
    const created = (await response.json()) as Record<string, unknown>;
    expect(created).toEqual({
      id: expect.stringMatching(/^[a-f0-9]{24}$/),
      createdAt: iso(START.getTime()),
      expiresAt: iso(START.getTime() + 24 * HOUR),
      lastUsedAt: null,
      secret: expect.stringMatching(SECRET_FORMAT),
    });
    const listed = await (await api('GET', saPath(orgId, clientId), { token })).text();
    expect(listed).not.toContain(String(created.secret));
    expect(listed).toContain(`"maskedSecretValue":"mdb_sa_sk_...${String(created.secret).slice(-4)}"`);
    expect(await tokenFor(clientId, String(created.secret))).toEqual(expect.any(String));
  });

  it('requires ORG_OWNER', async () => {
    const { orgId, clientId } = await seedOwner();
    const member = simulator.createServiceAccount(orgId, { roles: ['ORG_MEMBER'] });
    const memberToken = await tokenFor(member.clientId, member.secret);

    const response = await createSecret(orgId, clientId, memberToken);

    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 403, errorCode: 'USER_UNAUTHORIZED' });
  });

  it('lets an admin service account create secrets for another service account of the org', async () => {
    const { orgId, token } = await seedOwner();
    const target = simulator.createServiceAccount(orgId, { roles: ['ORG_READ_ONLY'] });

    expect((await createSecret(orgId, target.clientId, token)).status).toBe(201);
  });

  it('refuses a third secret, counting expired ones, until one is deleted', async () => {
    const { orgId, clientId, token } = await seedOwner();
    simulator.addSecret(orgId, clientId, { createdAt: new Date(START.getTime() - DAY), expiresAt: START });

    const third = await createSecret(orgId, clientId, token);

    expect(third.status).toBe(400);
    expect(await third.json()).toMatchObject({
      error: 400,
      errorCode: 'SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED',
    });
    expect(simulator.serviceAccount(orgId, clientId)?.secrets).toHaveLength(2);
  });

  it('shortens every other secret to at most 7 days from now', async () => {
    const { orgId, clientId, secretId, secret } = await seedOwner();
    advance(DAY);
    const token = await tokenFor(clientId, secret);

    const response = await createSecret(orgId, clientId, token, 2160);

    expect(response.status).toBe(201);
    const created = (await response.json()) as { id: string };
    const secrets = simulator.serviceAccount(orgId, clientId)?.secrets ?? [];
    expect(secrets.find((s) => s.id === secretId)?.expiresAt).toBe(iso(START.getTime() + DAY + 7 * DAY));
    expect(secrets.find((s) => s.id === created.id)?.expiresAt).toBe(
      iso(START.getTime() + DAY + 2160 * HOUR),
    );
  });

  it('leaves a secret that expires within 7 days unchanged', async () => {
    const { orgId } = simulator.createOrg();
    const account = simulator.createServiceAccount(orgId, { secretExpiresAfterHours: 48 });
    const token = await tokenFor(account.clientId, account.secret);

    expect((await createSecret(orgId, account.clientId, token)).status).toBe(201);

    const old = simulator
      .serviceAccount(orgId, account.clientId)
      ?.secrets.find((s) => s.id === account.secretId);
    expect(old?.expiresAt).toBe(iso(START.getTime() + 48 * HOUR));
  });

  it.each([
    ['below 8 hours', 7],
    ['above the default cap of 8760 hours', 8761],
    ['not an integer', 8.5],
    ['not a number', '24'],
    ['missing', undefined],
  ])('answers 400 VALIDATION_ERROR when secretExpiresAfterHours is %s', async (_case, hours) => {
    const { orgId, clientId, token } = await seedOwner();

    const response = await api('POST', secretsPath(orgId, clientId), {
      token,
      body: hours === undefined ? {} : { secretExpiresAfterHours: hours },
    });

    expect(response.status).toBe(400);
    const body = (await response.json()) as ApiErrorJson;
    expect(body).toMatchObject({ error: 400, errorCode: 'VALIDATION_ERROR' });
    expect(body.badRequestDetail?.fields[0]?.field).toBe('secretExpiresAfterHours');
  });

  it('accepts exactly 8 hours and exactly the org cap, and refuses one hour more than the cap', async () => {
    const { orgId } = simulator.createOrg({ maxServiceAccountSecretValidityInHours: 24 });
    const a = simulator.createServiceAccount(orgId);
    const b = simulator.createServiceAccount(orgId);
    const token = await tokenFor(a.clientId, a.secret);

    expect((await createSecret(orgId, b.clientId, token, 25)).status).toBe(400);
    expect((await createSecret(orgId, a.clientId, token, 8)).status).toBe(201);
    expect((await createSecret(orgId, b.clientId, token, 24)).status).toBe(201);
  });

  it('answers 409 DATA_CONCURRENCY_ERROR to a create that overlaps another on the same service account', async () => {
    const { orgId, clientId, token } = await seedOwner();
    simulator.injectFault({
      method: 'POST',
      path: '^/api/atlas/v2/orgs/[^/]+/serviceAccounts/[^/]+/secrets$',
      latencyMs: 1000,
    });

    const slow = createSecret(orgId, clientId, token);
    await sleep(200);
    const overlapping = await createSecret(orgId, clientId, token);

    expect(overlapping.status).toBe(409);
    expect(await overlapping.json()).toMatchObject({ error: 409, errorCode: 'DATA_CONCURRENCY_ERROR' });
    expect((await slow).status).toBe(201);
    expect(simulator.serviceAccount(orgId, clientId)?.secrets).toHaveLength(2);
  });
});

describe('delete secret', () => {
  it('answers 204 and kills the tokens that secret minted, but not the others', async () => {
    const { orgId, clientId, secretId, token: oldToken } = await seedOwner();
    const created = (await (await createSecret(orgId, clientId, oldToken)).json()) as {
      id: string;
      secret: string;
    };
    const newToken = await tokenFor(clientId, created.secret);

    const response = await api('DELETE', `${secretsPath(orgId, clientId)}/${secretId}`, { token: newToken });

    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect((await api('GET', saPath(orgId, clientId), { token: oldToken })).status).toBe(401);
    expect((await api('GET', saPath(orgId, clientId), { token: newToken })).status).toBe(200);
    expect(simulator.serviceAccount(orgId, clientId)?.secrets.map((s) => s.id)).toEqual([created.id]);
  });

  it('lets a service account delete the secret its own token came from, which ends that token', async () => {
    const { orgId, clientId, secretId, token } = await seedOwner();

    expect((await api('DELETE', `${secretsPath(orgId, clientId)}/${secretId}`, { token })).status).toBe(204);
    expect((await api('GET', saPath(orgId, clientId), { token })).status).toBe(401);
    expect(simulator.requests.at(-2)).toMatchObject({
      method: 'DELETE',
      status: 204,
      auth: 'bearer',
      clientId,
    });
  });

  it('answers 404 for an unknown secret and 403 without ORG_OWNER', async () => {
    const { orgId, clientId, secretId, token } = await seedOwner();
    const member = simulator.createServiceAccount(orgId, { roles: ['ORG_MEMBER'] });
    const memberToken = await tokenFor(member.clientId, member.secret);

    const unknown = await api('DELETE', `${secretsPath(orgId, clientId)}/cccccccccccccccccccccccc`, {
      token,
    });
    const forbidden = await api('DELETE', `${secretsPath(orgId, clientId)}/${secretId}`, {
      token: memberToken,
    });

    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ errorCode: 'RESOURCE_NOT_FOUND' });
    expect(forbidden.status).toBe(403);
  });
});

describe('org settings', () => {
  it('returns maxServiceAccountSecretValidityInHours', async () => {
    const { orgId, token } = await seedOwner({ maxServiceAccountSecretValidityInHours: 2160 });

    const response = await api('GET', `/orgs/${orgId}/settings`, { token, accept: V2023 });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ maxServiceAccountSecretValidityInHours: 2160 });
  });
});

describe('fault injection', () => {
  it('answers an injected status with headers, then lets the next request through', async () => {
    const { orgId, clientId, token } = await seedOwner();
    simulator.injectFault({
      method: 'GET',
      path: '/api/atlas/v2/orgs/',
      status: 429,
      headers: { 'Retry-After': '7' },
    });

    const limited = await api('GET', saPath(orgId, clientId), { token });
    const next = await api('GET', saPath(orgId, clientId), { token });

    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.json()).toMatchObject({
      error: 429,
      errorCode: 'RATE_LIMITED',
      reason: 'Too Many Requests',
    });
    expect(next.status).toBe(200);
  });

  it('skips, repeats and uses a custom body', async () => {
    const { clientId, secret } = simulator.createServiceAccount(simulator.createOrg().orgId);
    simulator.injectFault({
      path: '/api/oauth/token',
      skip: 1,
      times: 2,
      status: 503,
      body: { custom: true },
    });

    const statuses: number[] = [];
    const bodies: unknown[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await tokenRequest(basic(clientId, secret));
      statuses.push(response.status);
      bodies.push(await response.json());
    }

    expect(statuses).toEqual([200, 503, 503, 200]);
    expect(bodies[1]).toEqual({ custom: true });
  });

  it('applies an Infinity rule until the faults are cleared', async () => {
    const { clientId, secret } = simulator.createServiceAccount(simulator.createOrg().orgId);
    simulator.injectFault({
      method: 'post',
      path: '/api/oauth/',
      times: Number.POSITIVE_INFINITY,
      status: 500,
    });

    for (let i = 0; i < 3; i += 1) expect((await tokenRequest(basic(clientId, secret))).status).toBe(500);
    simulator.clearFaults();
    expect((await tokenRequest(basic(clientId, secret))).status).toBe(200);
  });

  it("drops the connection before doing the work with drop: 'before'", async () => {
    const { orgId, clientId, token } = await seedOwner();
    simulator.injectFault({ method: 'POST', path: '/api/atlas/v2/', drop: 'before' });

    await expect(createSecret(orgId, clientId, token)).rejects.toThrow();

    expect(simulator.serviceAccount(orgId, clientId)?.secrets).toHaveLength(1);
    expect(simulator.requests.at(-1)).toMatchObject({ method: 'POST', status: 0, dropped: 'before' });
  });

  it("does the work and then drops the connection with drop: 'after'", async () => {
    const { orgId, clientId, token } = await seedOwner();
    simulator.injectFault({ method: 'POST', path: '/api/atlas/v2/', drop: 'after' });

    await expect(createSecret(orgId, clientId, token)).rejects.toThrow();

    expect(simulator.serviceAccount(orgId, clientId)?.secrets).toHaveLength(2);
    expect(simulator.requests.at(-1)).toMatchObject({ method: 'POST', status: 201, dropped: 'after' });
  });

  it('rejects an invalid rule', () => {
    expect(() => simulator.injectFault({ times: 0 })).toThrow(/times/);
    expect(() => simulator.injectFault({ status: 500, drop: 'after' })).toThrow();
  });
});

describe('request log', () => {
  it('records method, path, status, Accept, auth scheme and client, never secrets or tokens', async () => {
    const { orgId, clientId, secret, token } = await seedOwner();
    const created = (await (await createSecret(orgId, clientId, token)).json()) as { secret: string };
    await api('GET', saPath(orgId, clientId), { accept: null, query: '?pretty=true' });

    expect(simulator.requests).toEqual([
      {
        method: 'POST',
        path: '/api/oauth/token',
        status: 200,
        accept: 'application/json',
        auth: 'basic',
        clientId,
        at: START.toISOString(),
      },
      {
        method: 'POST',
        path: `/api/atlas/v2${secretsPath(orgId, clientId)}`,
        status: 201,
        accept: V2024,
        auth: 'bearer',
        clientId,
        at: START.toISOString(),
      },
      {
        method: 'GET',
        path: `/api/atlas/v2${saPath(orgId, clientId)}`,
        status: 401,
        accept: '*/*',
        auth: 'none',
        clientId: undefined,
        at: START.toISOString(),
      },
    ]);
    const logged = JSON.stringify(simulator.requests);
    for (const sensitive of [secret, created.secret, token]) expect(logged).not.toContain(sensitive);

    simulator.clearRequests();
    expect(simulator.requests).toEqual([]);
  });
});

describe('HTTP control surface', () => {
  it('seeds orgs, service accounts and secrets, and reads service accounts back', async () => {
    const org = await control(simulator, 'POST', 'orgs', { maxServiceAccountSecretValidityInHours: 48 });
    expect(org.status).toBe(201);
    const { orgId } = (await org.json()) as { orgId: string };
    const sa = await control(simulator, 'POST', `orgs/${orgId}/serviceAccounts`, {
      roles: ['ORG_OWNER'],
      secretExpiresAfterHours: 24,
    });
    expect(sa.status).toBe(201);
    const { clientId, secretId, secret } = (await sa.json()) as {
      clientId: string;
      secretId: string;
      secret: string;
    };
    expect(secret).toMatch(SECRET_FORMAT);
    const added = await control(simulator, 'POST', `orgs/${orgId}/serviceAccounts/${clientId}/secrets`, {
      expiresAt: '2026-02-01T00:00:00Z',
    });
    expect(added.status).toBe(201);
    const { id: expiredId } = (await added.json()) as { id: string };

    const read = await control(simulator, 'GET', `orgs/${orgId}/serviceAccounts/${clientId}`);

    expect(await read.json()).toEqual({
      clientId,
      secrets: [
        {
          id: secretId,
          createdAt: iso(START.getTime()),
          expiresAt: iso(START.getTime() + DAY),
          lastUsedAt: null,
        },
        {
          id: expiredId,
          createdAt: iso(START.getTime()),
          expiresAt: '2026-02-01T00:00:00Z',
          lastUsedAt: null,
        },
      ],
    });
    expect(
      (await control(simulator, 'GET', `orgs/${orgId}/serviceAccounts/mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa`))
        .status,
    ).toBe(404);
    expect((await control(simulator, 'POST', 'orgs', { orgId: 'not-hex' })).status).toBe(400);
  });

  it('injects and clears faults and reads and clears the request log, staying out of both', async () => {
    const { clientId, secret } = simulator.createServiceAccount(simulator.createOrg().orgId);
    expect(
      (
        await control(simulator, 'POST', 'faults', {
          path: '/api/oauth/token',
          status: 503,
          times: 'Infinity',
        })
      ).status,
    ).toBe(204);

    expect((await tokenRequest(basic(clientId, secret))).status).toBe(503);
    expect((await tokenRequest(basic(clientId, secret))).status).toBe(503);
    expect((await control(simulator, 'DELETE', 'faults')).status).toBe(204);
    expect((await tokenRequest(basic(clientId, secret))).status).toBe(200);

    const log = (await (await control(simulator, 'GET', 'requests')).json()) as { status: number }[];
    expect(log.map((e) => e.status)).toEqual([503, 503, 200]);
    expect((await control(simulator, 'DELETE', 'requests')).status).toBe(204);
    expect(await (await control(simulator, 'GET', 'requests')).json()).toEqual([]);
  });
});

describe('conformance with the project’s Atlas contract', () => {
  const spec = new ContractValidator();
  const SA = '/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}';
  const CREATE = `${SA}/secrets`;
  const DELETE = `${SA}/secrets/{secretId}`;
  const SETTINGS = '/api/atlas/v2/orgs/{orgId}/settings';

  interface Observed {
    readonly method: string;
    readonly template: string;
    readonly status: number;
    readonly contentType: string | null;
    readonly body: string;
  }

  async function observe(method: string, template: string, response: Promise<Response>): Promise<Observed> {
    const r = await response;
    return {
      method,
      template,
      status: r.status,
      contentType: r.headers.get('content-type'),
      body: await r.text(),
    };
  }

  it('answers every implemented operation with the statuses, media types and bodies the spec declares', async () => {
    const { orgId, clientId, secretId, token } = await seedOwner();
    const member = simulator.createServiceAccount(orgId, { roles: ['ORG_MEMBER'] });
    const memberToken = await tokenFor(member.clientId, member.secret);
    const unknownSa = 'mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa';
    const otherOrg = 'dddddddddddddddddddddddd';
    simulator.createOrg({ orgId: otherOrg });

    const observed: Observed[] = [
      await observe('GET', SA, api('GET', saPath(orgId, clientId), { token })),
      await observe('GET', SA, api('GET', saPath(orgId, clientId), { token, query: '?pretty=true' })),
      await observe('GET', SA, api('GET', saPath(orgId, clientId))),
      await observe('GET', SA, api('GET', saPath(otherOrg, clientId), { token })),
      await observe('GET', SA, api('GET', saPath(orgId, unknownSa), { token })),
      await observe('POST', CREATE, createSecret(orgId, clientId, token, 7)),
      await observe('POST', CREATE, createSecret(orgId, clientId, memberToken)),
      await observe('POST', CREATE, createSecret(orgId, unknownSa, token)),
      await observe('POST', CREATE, createSecret(orgId, clientId, 'dead-token')),
      await observe('POST', CREATE, createSecret(orgId, clientId, token)),
      await observe('POST', CREATE, createSecret(orgId, clientId, token)),
      await observe(
        'DELETE',
        DELETE,
        api('DELETE', `${secretsPath(orgId, clientId)}/${secretId}`, { token: memberToken }),
      ),
      await observe(
        'DELETE',
        DELETE,
        api('DELETE', `${secretsPath(orgId, clientId)}/cccccccccccccccccccccccc`, { token }),
      ),
      await observe('DELETE', DELETE, api('DELETE', `${secretsPath(orgId, clientId)}/${secretId}`)),
      await observe(
        'GET',
        SETTINGS,
        api('GET', `/orgs/${orgId}/settings`, { token: memberToken, accept: V2023 }),
      ),
      await observe('GET', SETTINGS, api('GET', `/orgs/${otherOrg}/settings`, { token, accept: V2023 })),
      await observe(
        'GET',
        SETTINGS,
        api('GET', '/orgs/eeeeeeeeeeeeeeeeeeeeeeee/settings', { token, accept: V2023 }),
      ),
      await observe('GET', SETTINGS, api('GET', `/orgs/${orgId}/settings`, { accept: V2023 })),
    ];
    simulator.injectFault({ path: '/api/atlas/v2/', times: 2, status: 429, headers: { 'retry-after': '1' } });
    observed.push(await observe('GET', SA, api('GET', saPath(orgId, clientId), { token })));
    observed.push(await observe('POST', CREATE, createSecret(orgId, clientId, token)));
    simulator.injectFault({ method: 'DELETE', path: '/api/atlas/v2/', status: 500 });
    observed.push(
      await observe(
        'DELETE',
        DELETE,
        api('DELETE', `${secretsPath(orgId, clientId)}/${secretId}`, { token }),
      ),
    );
    const newToken = await tokenFor(clientId, JSON.parse(observed[9]?.body ?? '{}').secret);
    observed.push(
      await observe(
        'DELETE',
        DELETE,
        api('DELETE', `${secretsPath(orgId, clientId)}/${secretId}`, { token: newToken }),
      ),
    );

    expect(observed.map((o) => `${o.method} ${o.template.split('/').at(-1)} ${o.status}`)).toEqual([
      'GET {clientId} 200',
      'GET {clientId} 200',
      'GET {clientId} 401',
      'GET {clientId} 403',
      'GET {clientId} 404',
      'POST secrets 400',
      'POST secrets 403',
      'POST secrets 404',
      'POST secrets 401',
      'POST secrets 201',
      'POST secrets 400',
      'DELETE {secretId} 403',
      'DELETE {secretId} 404',
      'DELETE {secretId} 401',
      'GET settings 200',
      'GET settings 403',
      'GET settings 404',
      'GET settings 401',
      'GET {clientId} 429',
      'POST secrets 429',
      'DELETE {secretId} 500',
      'DELETE {secretId} 204',
    ]);
    for (const o of observed) {
      expect({
        at: `${o.method} ${o.template} ${o.status}`,
        problems: spec.checkResponse(o.method, o.template, o),
      }).toEqual({
        at: `${o.method} ${o.template} ${o.status}`,
        problems: [],
      });
    }
    for (const template of [SA, CREATE, DELETE, SETTINGS]) {
      expect(
        spec.declaredStatuses(
          template === CREATE ? 'POST' : template === DELETE ? 'DELETE' : 'GET',
          template,
        ),
      ).toEqual(expect.arrayContaining(['401', '403', '404', '429', '500']));
    }
  });

  it('has a validator that notices a response the spec does not allow', () => {
    const problems = spec.checkResponse('POST', CREATE, {
      status: 201,
      contentType: V2024,
      body: JSON.stringify({ createdAt: 'yesterday', expiresAt: '2026-01-01T00:00:00Z', lastUsedAt: null }),
    });
    const wrongMediaType = spec.checkResponse('GET', SA, {
      status: 200,
      contentType: 'application/json',
      body: '{}',
    });

    expect(problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/id/), expect.stringMatching(/date-time/)]),
    );
    expect(wrongMediaType).toEqual([expect.stringMatching(/content type application\/json is not one of/)]);
  });

  it('answers 409 (declared by the contract, from the facts sheet) and 406 (a router status) with a valid ApiError', async () => {
    const { orgId, clientId, token } = await seedOwner();
    simulator.injectFault({ method: 'POST', path: '/api/atlas/v2/', latencyMs: 1000 });
    const slow = createSecret(orgId, clientId, token);
    await sleep(200);

    const conflict = await observe('POST', CREATE, createSecret(orgId, clientId, token));
    const notAcceptable = await observe(
      'GET',
      SA,
      api('GET', saPath(orgId, clientId), { token, accept: null }),
    );
    await slow;

    expect(conflict.status).toBe(409);
    expect(spec.declaredStatuses('POST', CREATE)).toContain('409');
    expect(notAcceptable.status).toBe(406);
    expect(spec.declaredStatuses('GET', SA)).not.toContain('406');
    for (const o of [conflict, notAcceptable]) {
      expect(spec.checkResponse(o.method, o.template, o)).toEqual([]);
      expect(o.contentType).toBe('application/json');
      expect(spec.checkSchema('ApiError', JSON.parse(o.body))).toEqual([]);
    }
  });

  it('wraps an enveloped response around a body that matches the declared schema', async () => {
    const { orgId, clientId, token } = await seedOwner();

    const response = await api('POST', secretsPath(orgId, clientId), {
      token,
      body: { secretExpiresAfterHours: 48 },
      query: '?envelope=true',
    });

    const body = (await response.json()) as { status: number; content: unknown };
    expect(body.status).toBe(201);
    expect(spec.checkSchema('ServiceAccountSecret', body.content)).toEqual([]);
  });

  it('answers the token endpoint in the RFC 6749 shape and its limit with a valid ApiError', async () => {
    // The token endpoint is not an operation of the spec: its shape comes from the facts sheet §1.1.
    const { clientId, secret } = simulator.createServiceAccount(simulator.createOrg().orgId);
    const ok = (await (await tokenRequest(basic(clientId, secret))).json()) as Record<string, unknown>;
    expect(Object.keys(ok).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
    expect(Number.isInteger(ok.expires_in)).toBe(true);
    simulator.injectFault({ path: '/api/oauth/token', status: 429 });

    const limited = await tokenRequest(basic(clientId, secret));

    expect(spec.checkSchema('ApiError', await limited.json())).toEqual([]);
  });
});
