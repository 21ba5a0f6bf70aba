import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { OPERATIONS } from '../../src/simulator/atlas-contract.js';
import { AtlasSimulator, type AtlasSimulatorOptions } from '../../src/simulator/atlas-simulator.js';
import { ContractValidator } from '../support/contract-validator.js';
import { control, HOUR, iso, SECRET_FORMAT, START, V2024 } from './support/simulator-test-kit.js';

/**
 * Where the simulator follows MongoDB's spec and the facts sheet rather than the rotator's assumptions: roles
 * from x-rolesRequirements, 409 on overlapping creates, rate limits, IP access lists, all 24 service-account
 * operations of the contract, and the error statuses of the facts sheet.
 */

const V2023 = 'application/vnd.atlas.2023-01-01+json';
const contract = new ContractValidator();

let simulator: AtlasSimulator;
let current: Date;

async function start(options: AtlasSimulatorOptions = {}): Promise<AtlasSimulator> {
  current = START;
  simulator = await AtlasSimulator.start({ now: () => current, ...options });
  return simulator;
}

afterEach(async () => {
  await simulator.close();
});

function advance(ms: number): void {
  current = new Date(current.getTime() + ms);
}

function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

function tokenRequest(clientId: string, secret: string, ip?: string): Promise<Response> {
  return fetch(`${simulator.baseUrl}/api/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basic(clientId, secret),
      'content-type': 'application/x-www-form-urlencoded',
      ...(ip === undefined ? {} : { 'x-simulator-client-ip': ip }),
    },
    body: 'grant_type=client_credentials',
  });
}

async function tokenFor(account: { clientId: string; secret: string }): Promise<string> {
  const response = await tokenRequest(account.clientId, account.secret);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

interface Call {
  token?: string;
  accept?: string;
  body?: unknown;
  rawBody?: string;
  ip?: string;
}

function api(method: string, path: string, call: Call = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: call.accept ?? V2024 };
  if (call.token !== undefined) headers.authorization = `Bearer ${call.token}`;
  if (call.ip !== undefined) headers['x-simulator-client-ip'] = call.ip;
  const body = call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  if (body !== undefined) headers['content-type'] = call.accept ?? V2024;
  return fetch(`${simulator.baseUrl}/api/atlas/v2${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

/** An RFC 7616 Digest GET (MD5, qop=auth) with a nonce taken from a 401, as API keys authenticate. */
async function digestGet(
  key: { publicKey: string; privateKey: string },
  path: string,
  ip: string,
): Promise<Response> {
  const challenge = await fetch(`${simulator.baseUrl}${path}`, { headers: { accept: V2024 } });
  await challenge.arrayBuffer();
  const nonce = /nonce="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')?.[1] ?? '';
  const md5 = (text: string) => createHash('md5').update(text).digest('hex');
  const realm = 'MMS Public API';
  const cnonce = '0a4f113b';
  const nc = '00000001';
  const ha1 = md5(`${key.publicKey}:${realm}:${key.privateKey}`);
  const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${md5(`GET:${path}`)}`);
  return fetch(`${simulator.baseUrl}${path}`, {
    headers: {
      accept: V2024,
      'x-simulator-client-ip': ip,
      authorization: `Digest username="${key.publicKey}", realm="${realm}", nonce="${nonce}", uri="${path}", cnonce="${cnonce}", nc=${nc}, qop=auth, response="${response}", algorithm=MD5`,
    },
  });
}

async function status(response: Promise<Response>): Promise<number> {
  const r = await response;
  await r.arrayBuffer();
  return r.status;
}

const sa = (orgId: string, clientId: string) => `/orgs/${orgId}/serviceAccounts/${clientId}`;
const groupSa = (projectId: string, clientId: string) => `/groups/${projectId}/serviceAccounts/${clientId}`;

interface World {
  orgId: string;
  projectId: string;
  otherProjectId: string;
  target: { clientId: string; secret: string };
  projectTarget: { clientId: string; secret: string };
  tokens: Record<Holder, string>;
}

type Holder =
  | 'orgOwner'
  | 'orgReadOnly'
  | 'orgMember'
  | 'orgBillingAdmin'
  | 'groupOwner'
  | 'groupReadOnly'
  | 'groupAccessManager'
  | 'otherGroupOwner';

/** One org with two projects, a target org account, a target project account, and one token per role. */
async function world(): Promise<World> {
  const { orgId } = simulator.createOrg();
  const { projectId } = simulator.createProject(orgId);
  const { projectId: otherProjectId } = simulator.createProject(orgId);
  const target = simulator.createServiceAccount(orgId, { roles: ['ORG_MEMBER'] });
  const projectTarget = simulator.createServiceAccount(orgId, {
    projectId,
    projectRoles: ['GROUP_READ_ONLY'],
  });
  const holders: Record<Holder, { roles?: string[]; projectId?: string; projectRoles?: string[] }> = {
    orgOwner: { roles: ['ORG_OWNER'] },
    orgReadOnly: { roles: ['ORG_READ_ONLY'] },
    orgMember: { roles: ['ORG_MEMBER'] },
    orgBillingAdmin: { roles: ['ORG_BILLING_ADMIN'] },
    groupOwner: { projectId, projectRoles: ['GROUP_OWNER'] },
    groupReadOnly: { projectId, projectRoles: ['GROUP_READ_ONLY'] },
    groupAccessManager: { projectId, projectRoles: ['GROUP_ACCESS_MANAGER'] },
    otherGroupOwner: { projectId: otherProjectId, projectRoles: ['GROUP_OWNER'] },
  };
  const tokens = {} as Record<Holder, string>;
  for (const [name, options] of Object.entries(holders) as [Holder, (typeof holders)[Holder]][]) {
    tokens[name] = await tokenFor(simulator.createServiceAccount(orgId, options));
  }
  return { orgId, projectId, otherProjectId, target, projectTarget, tokens };
}

describe('roles from the spec’s x-rolesRequirements', () => {
  it('refuses every org-level read to ORG_MEMBER (Organization Read Only needed) but lets it read org settings', async () => {
    await start();
    const { orgId, target, tokens } = await world();
    const token = tokens.orgMember;

    for (const path of [
      sa(orgId, target.clientId),
      `/orgs/${orgId}/serviceAccounts`,
      `${sa(orgId, target.clientId)}/accessList`,
      `${sa(orgId, target.clientId)}/groups`,
    ]) {
      const response = await api('GET', path, { token });
      expect({ path, status: response.status }).toEqual({ path, status: 403 });
      expect(await response.json()).toMatchObject({ error: 403, errorCode: 'USER_UNAUTHORIZED' });
    }
    expect(await status(api('GET', `/orgs/${orgId}/settings`, { token, accept: V2023 }))).toBe(200);
    expect(
      await status(
        api('PATCH', `/orgs/${orgId}/settings`, {
          token,
          accept: V2023,
          body: { apiAccessListRequired: true },
        }),
      ),
    ).toBe(403);
  });

  it('lets ORG_READ_ONLY read org and project accounts but write nothing', async () => {
    await start();
    const { orgId, projectId, target, projectTarget, tokens } = await world();
    const token = tokens.orgReadOnly;

    expect(await status(api('GET', sa(orgId, target.clientId), { token }))).toBe(200);
    expect(await status(api('GET', `/orgs/${orgId}/serviceAccounts`, { token }))).toBe(200);
    expect(await status(api('GET', `${sa(orgId, target.clientId)}/groups`, { token }))).toBe(200);
    expect(await status(api('GET', groupSa(projectId, projectTarget.clientId), { token }))).toBe(200);
    expect(
      await status(
        api('POST', `${sa(orgId, target.clientId)}/secrets`, {
          token,
          body: { secretExpiresAfterHours: 24 },
        }),
      ),
    ).toBe(403);
    expect(await status(api('PATCH', sa(orgId, target.clientId), { token, body: { name: 'renamed' } }))).toBe(
      403,
    );
    expect(
      await status(
        api('POST', `${groupSa(projectId, projectTarget.clientId)}/secrets`, {
          token,
          body: { secretExpiresAfterHours: 24 },
        }),
      ),
    ).toBe(403);
  });

  it('does not let other org roles (ORG_BILLING_ADMIN) read service accounts', async () => {
    await start();
    const { orgId, target, tokens } = await world();

    expect(await status(api('GET', sa(orgId, target.clientId), { token: tokens.orgBillingAdmin }))).toBe(403);
    expect(
      await status(api('GET', `/orgs/${orgId}/settings`, { token: tokens.orgBillingAdmin, accept: V2023 })),
    ).toBe(200);
  });

  it('gives the org owner every right in the org’s projects, :invite included', async () => {
    await start();
    const { orgId, projectId, target, projectTarget, tokens } = await world();
    const token = tokens.orgOwner;

    expect(await status(api('GET', groupSa(projectId, projectTarget.clientId), { token }))).toBe(200);
    expect(
      await status(
        api('POST', `${groupSa(projectId, projectTarget.clientId)}/secrets`, {
          token,
          body: { secretExpiresAfterHours: 24 },
        }),
      ),
    ).toBe(201);
    const invited = await api('POST', `${groupSa(projectId, target.clientId)}:invite`, {
      token,
      body: { roles: ['GROUP_READ_ONLY'] },
    });
    expect(invited.status).toBe(200);
    expect(await invited.json()).toMatchObject({ clientId: target.clientId, roles: ['GROUP_READ_ONLY'] });
    expect(await status(api('PATCH', `/orgs/${orgId}/settings`, { token, accept: V2023, body: {} }))).toBe(
      200,
    );
  });

  it('separates Project Read Only, Project Access Manager and Project Owner, and keeps :invite for the org owner', async () => {
    await start();
    const { projectId, projectTarget, tokens } = await world();
    const path = groupSa(projectId, projectTarget.clientId);
    const createSecret = (token: string | undefined) =>
      status(
        api('POST', `${path}/secrets`, {
          ...(token === undefined ? {} : { token }),
          body: { secretExpiresAfterHours: 24 },
        }),
      );
    const addEntry = (token: string | undefined) =>
      status(
        api('POST', `${path}/accessList`, {
          ...(token === undefined ? {} : { token }),
          body: [{ ipAddress: '203.0.113.10' }],
        }),
      );

    expect(await status(api('GET', path, { token: tokens.groupReadOnly }))).toBe(200);
    expect(await createSecret(tokens.groupReadOnly)).toBe(403);
    expect(await addEntry(tokens.groupReadOnly)).toBe(403);
    expect(await addEntry(tokens.groupAccessManager)).toBe(200);
    expect(await createSecret(tokens.groupAccessManager)).toBe(403);
    expect(await createSecret(tokens.groupOwner)).toBe(201);
    expect(await addEntry(tokens.groupOwner)).toBe(200);
    expect(
      await status(
        api('POST', `${path}:invite`, { token: tokens.groupOwner, body: { roles: ['GROUP_OWNER'] } }),
      ),
    ).toBe(403);
  });

  it('keeps a project account inside its project: another project and org-level reads answer 403', async () => {
    await start();
    const { orgId, projectId, otherProjectId, target, tokens } = await world();
    const token = tokens.otherGroupOwner;

    expect(await status(api('GET', `/groups/${projectId}/serviceAccounts`, { token }))).toBe(403);
    expect(await status(api('GET', `/groups/${otherProjectId}/serviceAccounts`, { token }))).toBe(200);
    expect(await status(api('GET', sa(orgId, target.clientId), { token }))).toBe(403);
    expect(await status(api('GET', `/orgs/${orgId}/serviceAccounts`, { token }))).toBe(403);
  });
});

describe('concurrent creates of a secret (facts sheet §2.5)', () => {
  it('answers 409 DATA_CONCURRENCY_ERROR to the second of two creates in flight at once, and lets sequential ones through', async () => {
    await start({ createSecretProcessingMs: 400 });
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);
    const create = () =>
      api('POST', `${sa(orgId, owner.clientId)}/secrets`, { token, body: { secretExpiresAfterHours: 24 } });

    const [first, second] = await Promise.all([create(), create()]);
    const answers = [first, second].map((r) => r.status).sort();
    expect(answers).toEqual([201, 409]);
    const loser = first.status === 409 ? first : second;
    expect(await loser.json()).toMatchObject({ error: 409, errorCode: 'DATA_CONCURRENCY_ERROR' });
    expect(simulator.serviceAccount(orgId, owner.clientId)?.secrets).toHaveLength(2);

    const created = (await (first.status === 201 ? first : second).json()) as { secret: string };
    const newToken = await tokenFor({ clientId: owner.clientId, secret: created.secret });
    await api('DELETE', `${sa(orgId, owner.clientId)}/secrets/${owner.secretId}`, { token: newToken });
    const again = await api('POST', `${sa(orgId, owner.clientId)}/secrets`, {
      token: newToken,
      body: { secretExpiresAfterHours: 24 },
    });
    expect(again.status).toBe(201);
  });

  it('holds the lock for 100 ms by default, settable through the control API', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);
    const create = () =>
      api('POST', `${sa(orgId, owner.clientId)}/secrets`, { token, body: { secretExpiresAfterHours: 24 } });

    const [a, b] = await Promise.all([create(), create()]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    expect(simulator.settings.createSecretProcessingMs).toBe(100);

    const changed = await control(simulator, 'PATCH', 'settings', { createSecretProcessingMs: 0 });
    expect(await changed.json()).toMatchObject({ createSecretProcessingMs: 0 });
  });
});

describe('rate limits (facts sheet §4.3)', () => {
  it('limits the token endpoint to 50 per minute per (IP, clientId) by default, with Retry-After and RateLimit headers', async () => {
    await start({ trustClientIpHeader: true });
    const { orgId } = simulator.createOrg();
    const account = simulator.createServiceAccount(orgId);
    const other = simulator.createServiceAccount(orgId);

    for (let i = 1; i <= 50; i += 1) {
      const response = await tokenRequest(account.clientId, account.secret);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBe('50');
      expect(response.headers.get('ratelimit-remaining')).toBe(String(50 - i));
      await response.arrayBuffer();
      advance(1000);
    }
    const limited = await tokenRequest(account.clientId, account.secret);

    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toBe('application/json');
    expect(limited.headers.get('retry-after')).toBe('10');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    const body = await limited.json();
    expect(body).toEqual({
      error: 429,
      errorCode: 'RATE_LIMITED',
      detail: 'Resource /api/oauth/token is limited to 50 requests every 1 minutes.',
      reason: 'Too Many Requests',
      parameters: ['/api/oauth/token', 50, 1],
    });
    expect(contract.checkSchema('ApiError', body)).toEqual([]);
    expect(await status(tokenRequest(other.clientId, other.secret))).toBe(200);
    expect(await status(tokenRequest(account.clientId, account.secret, '198.51.100.7'))).toBe(200);
    advance(10_000);
    expect(await status(tokenRequest(account.clientId, account.secret))).toBe(200);
  });

  it('takes another limit from the options and from the control API, and can be switched off', async () => {
    await start({ tokenRateLimit: { requests: 10, perMinutes: 1 } });
    const account = simulator.createServiceAccount(simulator.createOrg().orgId);
    for (let i = 0; i < 10; i += 1)
      expect(await status(tokenRequest(account.clientId, account.secret))).toBe(200);
    const limited = await tokenRequest(account.clientId, account.secret);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ parameters: ['/api/oauth/token', 10, 1] });

    expect(
      (await control(simulator, 'PATCH', 'settings', { tokenRateLimit: { requests: 2, perMinutes: 5 } }))
        .status,
    ).toBe(200);
    expect(await status(tokenRequest(account.clientId, account.secret))).toBe(200);
    expect(await status(tokenRequest(account.clientId, account.secret))).toBe(200);
    const five = await tokenRequest(account.clientId, account.secret);
    expect(five.headers.get('retry-after')).toBe('300');
    expect(await five.json()).toMatchObject({
      detail: 'Resource /api/oauth/token is limited to 2 requests every 5 minutes.',
    });

    await control(simulator, 'PATCH', 'settings', { tokenRateLimit: null });
    expect(await status(tokenRequest(account.clientId, account.secret))).toBe(200);
  });

  it('has no Admin API token buckets by default', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);

    for (let i = 0; i < 20; i += 1) {
      const response = await api('GET', sa(orgId, owner.clientId), { token });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBeNull();
      await response.arrayBuffer();
    }
  });

  it('answers 429 RATE_LIMITED_TOKEN_BUCKET per org once a configured bucket is empty, and refills it', async () => {
    await start({ adminApiRateLimit: { capacity: 2, refillRate: 1, refillDurationSeconds: 60 } });
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);
    const { orgId: otherOrg } = simulator.createOrg();
    const stranger = simulator.createServiceAccount(otherOrg);
    const strangerToken = await tokenFor(stranger);

    const first = await api('GET', sa(orgId, owner.clientId), { token });
    const second = await api('GET', sa(orgId, owner.clientId), { token });
    const third = await api('GET', sa(orgId, owner.clientId), { token });

    expect([first.status, second.status, third.status]).toEqual([200, 200, 429]);
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    expect(second.headers.get('ratelimit-remaining')).toBe('0');
    expect(third.headers.get('retry-after')).toBe('60');
    const body = await third.json();
    expect(body).toEqual({
      error: 429,
      errorCode: 'RATE_LIMITED_TOKEN_BUCKET',
      detail:
        'Rate limit exceeded for api/atlas/v2/orgs. Please retry after 60 seconds. Request capacity: 2. Refill rate: 1 per 60 seconds.',
      reason: 'Too Many Requests',
      parameters: ['api/atlas/v2/orgs', 60, 2, 1, 60],
    });
    expect(
      contract.checkResponse('GET', '/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}', {
        status: 429,
        contentType: third.headers.get('content-type'),
        body: JSON.stringify(body),
      }),
    ).toEqual([]);
    expect(await status(api('GET', sa(otherOrg, stranger.clientId), { token: strangerToken }))).toBe(200);
    advance(30_000);
    const stillEmpty = await api('GET', sa(orgId, owner.clientId), { token });
    expect(stillEmpty.headers.get('retry-after')).toBe('30');
    advance(30_000);
    expect(await status(api('GET', sa(orgId, owner.clientId), { token }))).toBe(200);
  });
});

describe('IP access lists (facts sheet §5)', () => {
  it('refuses API calls from an address the account’s list does not cover, even on loopback, but mints tokens anywhere', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId, { accessList: [{ ipAddress: '203.0.113.10' }] });

    const token = await tokenFor(owner);
    const refused = await api('GET', sa(orgId, owner.clientId), { token, ip: '203.0.113.10' });

    // The header is ignored unless trustClientIpHeader is on: the caller is 127.0.0.1.
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: 403,
      errorCode: 'IP_ADDRESS_NOT_ON_ACCESS_LIST',
      detail: 'IP address 127.0.0.1 is not allowed to access this resource.',
      reason: 'Forbidden',
      parameters: ['127.0.0.1'],
    });
  });

  it('admits addresses and CIDR blocks (IPv4 and IPv6) on the list and records their use', async () => {
    await start({ trustClientIpHeader: true });
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId, {
      accessList: [
        { ipAddress: '203.0.113.10' },
        { cidrBlock: '192.0.2.0/24' },
        { cidrBlock: '2001:db8::/32' },
      ],
    });
    const token = await tokenFor(owner);
    advance(5000);

    expect(await status(api('GET', sa(orgId, owner.clientId), { token, ip: '203.0.113.10' }))).toBe(200);
    expect(await status(api('GET', sa(orgId, owner.clientId), { token, ip: '192.0.2.77' }))).toBe(200);
    expect(await status(api('GET', sa(orgId, owner.clientId), { token, ip: '192.0.2.78' }))).toBe(200);
    expect(await status(api('GET', sa(orgId, owner.clientId), { token, ip: '2001:db8::1' }))).toBe(200);
    const outside = await api('GET', sa(orgId, owner.clientId), { token, ip: '198.51.100.7' });

    expect(outside.status).toBe(403);
    expect(await outside.json()).toMatchObject({
      errorCode: 'IP_ADDRESS_NOT_ON_ACCESS_LIST',
      detail: 'IP address 198.51.100.7 is not allowed to access this resource.',
    });
    const listed = await api('GET', `${sa(orgId, owner.clientId)}/accessList`, { token, ip: '203.0.113.10' });
    const text = await listed.text();
    expect(
      contract.checkResponse('GET', '/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/accessList', {
        status: listed.status,
        contentType: listed.headers.get('content-type'),
        body: text,
      }),
    ).toEqual([]);
    const entries = (JSON.parse(text) as { results: Record<string, unknown>[]; totalCount: number }).results;
    expect(entries).toEqual([
      {
        ipAddress: '203.0.113.10',
        createdAt: iso(START.getTime()),
        lastUsedAddress: '203.0.113.10',
        lastUsedAt: iso(START.getTime() + 5000),
        requestCount: 2,
      },
      {
        cidrBlock: '192.0.2.0/24',
        createdAt: iso(START.getTime()),
        lastUsedAddress: '192.0.2.78',
        lastUsedAt: iso(START.getTime() + 5000),
        requestCount: 2,
      },
      {
        cidrBlock: '2001:db8::/32',
        createdAt: iso(START.getTime()),
        lastUsedAddress: '2001:db8::1',
        lastUsedAt: iso(START.getTime() + 5000),
        requestCount: 1,
      },
    ]);
  });

  it('answers ORG_REQUIRES_ACCESS_LIST to an account without a list in an org that requires one', async () => {
    await start({ trustClientIpHeader: true });
    const { orgId } = simulator.createOrg({ apiAccessListRequired: true });
    const owner = simulator.createServiceAccount(orgId);
    const listed = simulator.createServiceAccount(orgId, {
      roles: ['ORG_MEMBER'],
      accessList: [{ cidrBlock: '198.51.100.0/24' }],
    });
    const token = await tokenFor(owner);

    const refused = await api('GET', sa(orgId, owner.clientId), { token, ip: '198.51.100.7' });

    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: 403,
      errorCode: 'ORG_REQUIRES_ACCESS_LIST',
      detail: 'This organization requires access through an access list of ip ranges.',
      reason: 'Forbidden',
      parameters: ['198.51.100.7'],
    });
    expect(
      await status(
        api('GET', sa(orgId, owner.clientId), { token: await tokenFor(listed), ip: '198.51.100.7' }),
      ),
    ).toBe(403);
    simulator.setRoles(orgId, listed.clientId, { roles: ['ORG_OWNER'] });
    expect(
      await status(
        api('GET', sa(orgId, owner.clientId), { token: await tokenFor(listed), ip: '198.51.100.7' }),
      ),
    ).toBe(200);
  });

  it('admits any address with an empty list in an org that does not require one, and applies lists to API keys too', async () => {
    await start({ trustClientIpHeader: true });
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);

    expect(await status(api('GET', sa(orgId, owner.clientId), { token, ip: '198.51.100.7' }))).toBe(200);
    expect(await status(api('GET', sa(orgId, owner.clientId), { token, ip: '2001:db8::9' }))).toBe(200);
    const key = simulator.createApiKey(orgId, { accessList: [{ ipAddress: '203.0.113.10' }] });
    const path = `/api/atlas/v2${sa(orgId, owner.clientId)}`;

    expect((await digestGet(key, path, '203.0.113.10')).status).toBe(200);
    const refused = await digestGet(key, path, '203.0.113.11');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ errorCode: 'IP_ADDRESS_NOT_ON_ACCESS_LIST' });
  });

  it('manages the list through the API: add (also %2F in a body), list, remove; never the entry that admits the caller', async () => {
    await start({ trustClientIpHeader: true });
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const target = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);
    const list = `${sa(orgId, target.clientId)}/accessList`;

    const added = await api('POST', list, {
      token,
      ip: '198.51.100.7',
      body: [{ ipAddress: '198.51.100.7' }, { cidrBlock: '192.0.2.0%2F24' }, { ipAddress: '198.51.100.7' }],
    });
    expect(added.status).toBe(200);
    expect(((await added.json()) as { totalCount: number }).totalCount).toBe(2);
    expect(await status(api('POST', list, { token, body: [{ ipAddress: '1.2.3' }] }))).toBe(400);
    expect(
      await status(
        api('POST', list, { token, body: [{ ipAddress: '198.51.100.8', cidrBlock: '192.0.2.0/24' }] }),
      ),
    ).toBe(400);
    expect(await status(api('DELETE', `${list}/192.0.2.0%2F24`, { token, ip: '198.51.100.7' }))).toBe(204);
    expect(await status(api('DELETE', `${list}/192.0.2.0%2F24`, { token, ip: '198.51.100.7' }))).toBe(404);
    expect(simulator.accessList(orgId, target.clientId)?.map((e) => e.ipAddress)).toEqual(['198.51.100.7']);
    const own = await api('DELETE', `${list}/198.51.100.7`, { token, ip: '198.51.100.7' });
    expect(own.status).toBe(400);
    expect(await own.json()).toMatchObject({ errorCode: 'CANNOT_REMOVE_CALLER_ACCESS_LIST_ENTRY' });
    expect(await status(api('DELETE', `${list}/198.51.100.7`, { token, ip: '203.0.113.1' }))).toBe(204);
  });
});

describe('all 24 service-account operations of the contract', () => {
  it('serves each one with a response the contract allows', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const { projectId } = simulator.createProject(orgId);
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);
    const seen = new Set<string>();
    const check = async (
      template: string,
      method: string,
      path: string,
      expected: number,
      call: Call = {},
    ): Promise<unknown> => {
      const response = await api(method, path, { token, ...call });
      const text = await response.text();
      const at = `${method} ${template}`;
      expect({ at, status: response.status }).toEqual({ at, status: expected });
      expect({
        at,
        problems: contract.checkResponse(method, `/api/atlas/v2${template}`, {
          status: response.status,
          contentType: response.headers.get('content-type'),
          body: text,
        }),
      }).toEqual({ at, problems: [] });
      seen.add(`${method} /api/atlas/v2${template}`);
      return text === '' ? undefined : JSON.parse(text);
    };
    const ORG_SA = '/orgs/{orgId}/serviceAccounts/{clientId}';
    const GROUP_SA = '/groups/{groupId}/serviceAccounts/{clientId}';
    const request = {
      name: 'billing exporter',
      description: 'Exports invoices, nightly',
      secretExpiresAfterHours: 24,
    };

    await check('/orgs/{orgId}/serviceAccounts', 'GET', `/orgs/${orgId}/serviceAccounts?itemsPerPage=1`, 200);
    const created = (await check(
      '/orgs/{orgId}/serviceAccounts',
      'POST',
      `/orgs/${orgId}/serviceAccounts`,
      201,
      {
        body: { ...request, roles: ['ORG_READ_ONLY'] },
      },
    )) as { clientId: string; secrets: { id: string; secret: string; maskedSecretValue?: string }[] };
    expect(created.secrets[0]?.secret).toMatch(SECRET_FORMAT);
    expect(created.secrets[0]?.maskedSecretValue).toBeUndefined();
    const orgSa = sa(orgId, created.clientId);
    await check(ORG_SA, 'GET', orgSa, 200);
    const patched = (await check(ORG_SA, 'PATCH', orgSa, 200, {
      body: { name: 'renamed', roles: ['ORG_MEMBER'] },
    })) as { name: string; roles: string[] };
    expect(patched).toMatchObject({ name: 'renamed', roles: ['ORG_MEMBER'] });
    await check(`${ORG_SA}/accessList`, 'POST', `${orgSa}/accessList`, 200, {
      body: [{ cidrBlock: '10.0.0.0/8' }],
    });
    await check(`${ORG_SA}/accessList`, 'GET', `${orgSa}/accessList?includeCount=false`, 200);
    await check(`${ORG_SA}/accessList/{ipAddress}`, 'DELETE', `${orgSa}/accessList/10.0.0.0%2F8`, 204);
    const secret = (await check(`${ORG_SA}/secrets`, 'POST', `${orgSa}/secrets`, 201, {
      body: { secretExpiresAfterHours: 48 },
    })) as { id: string };
    await check(`${ORG_SA}/secrets/{secretId}`, 'DELETE', `${orgSa}/secrets/${secret.id}`, 204);

    const inProject = (await check(
      '/groups/{groupId}/serviceAccounts',
      'POST',
      `/groups/${projectId}/serviceAccounts`,
      201,
      {
        body: { ...request, roles: ['GROUP_READ_ONLY'] },
      },
    )) as { clientId: string };
    await check('/groups/{groupId}/serviceAccounts', 'GET', `/groups/${projectId}/serviceAccounts`, 200);
    const groupPath = groupSa(projectId, inProject.clientId);
    await check(GROUP_SA, 'GET', groupPath, 200);
    await check(GROUP_SA, 'PATCH', groupPath, 200, {
      body: { description: 'Now reads clusters', roles: ['GROUP_OWNER'] },
    });
    await check(`${GROUP_SA}/accessList`, 'POST', `${groupPath}/accessList`, 200, {
      body: [{ ipAddress: '203.0.113.10' }],
    });
    await check(`${GROUP_SA}/accessList`, 'GET', `${groupPath}/accessList`, 200);
    await check(`${GROUP_SA}/accessList/{ipAddress}`, 'DELETE', `${groupPath}/accessList/203.0.113.10`, 204);
    const groupSecret = (await check(`${GROUP_SA}/secrets`, 'POST', `${groupPath}/secrets`, 201, {
      body: { secretExpiresAfterHours: 48 },
    })) as { id: string };
    await check(`${GROUP_SA}/secrets/{secretId}`, 'DELETE', `${groupPath}/secrets/${groupSecret.id}`, 204);
    await check(`${GROUP_SA}:invite`, 'POST', `${groupSa(projectId, created.clientId)}:invite`, 200, {
      body: { roles: ['GROUP_READ_ONLY'] },
    });
    const groups = (await check(`${ORG_SA}/groups`, 'GET', `${orgSa}/groups`, 200)) as { results: unknown[] };
    expect(groups.results).toEqual([{ groupId: projectId, roles: ['GROUP_READ_ONLY'] }]);
    await check(GROUP_SA, 'DELETE', groupPath, 204);
    expect(simulator.serviceAccount(orgId, inProject.clientId)).toBeDefined();
    await check(ORG_SA, 'DELETE', orgSa, 204);
    expect(simulator.serviceAccount(orgId, created.clientId)).toBeUndefined();

    await check('/orgs/{orgId}/settings', 'GET', `/orgs/${orgId}/settings`, 200, { accept: V2023 });
    const settings = (await check('/orgs/{orgId}/settings', 'PATCH', `/orgs/${orgId}/settings`, 200, {
      accept: V2023,
      body: { maxServiceAccountSecretValidityInHours: 48 },
    })) as { maxServiceAccountSecretValidityInHours: number };
    expect(settings.maxServiceAccountSecretValidityInHours).toBe(48);

    const v2 = OPERATIONS.filter((o) => o.api === 'atlas-v2').map((o) => `${o.method} ${o.path}`);
    expect(v2).toHaveLength(24);
    expect([...seen].sort()).toEqual([...v2].sort());
  });

  it('answers 405 with Allow for a method a known path does not define', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const { projectId } = simulator.createProject(orgId);
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);

    const put = await api('PUT', sa(orgId, owner.clientId), { token, body: {} });
    const getInvite = await api('GET', `${groupSa(projectId, owner.clientId)}:invite`, { token });
    const deleteSettings = await api('DELETE', `/orgs/${orgId}/settings`, { token, accept: V2023 });

    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('DELETE, GET, PATCH');
    expect(await put.json()).toMatchObject({ error: 405, errorCode: 'METHOD_NOT_ALLOWED' });
    expect(getInvite.status).toBe(405);
    expect(getInvite.headers.get('allow')).toBe('POST');
    expect(deleteSettings.headers.get('allow')).toBe('GET, PATCH');
    expect(await status(api('GET', `/orgs/${orgId}/nothingHere`, { token }))).toBe(404);
  });

  it('validates bodies against the contract: required fields, lengths, patterns, enums', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);
    const create = (body: unknown) => api('POST', `/orgs/${orgId}/serviceAccounts`, { token, body });
    const valid = {
      name: 'exporter',
      description: 'Exports',
      roles: ['ORG_MEMBER'],
      secretExpiresAfterHours: 24,
    };

    for (const [body, field] of [
      [{ ...valid, name: undefined }, 'name'],
      [{ ...valid, name: 'x'.repeat(65) }, 'name'],
      [{ ...valid, description: 'semi;colon' }, 'description'],
      [{ ...valid, roles: [] }, 'roles'],
      [{ ...valid, roles: ['GROUP_OWNER'] }, 'roles[0]'],
      [{ ...valid, secretExpiresAfterHours: 0 }, 'secretExpiresAfterHours'],
    ] as const) {
      const response = await create(body);
      expect(response.status).toBe(400);
      const error = (await response.json()) as {
        errorCode: string;
        badRequestDetail: { fields: { field: string }[] };
      };
      expect(error.errorCode).toBe('VALIDATION_ERROR');
      expect(error.badRequestDetail.fields.map((f) => f.field)).toContain(field);
    }
    expect(await status(create({ ...valid, name: "Zürich ops, l'équipe_1.2" }))).toBe(201);
  });
});

describe('error statuses and codes of the facts sheet', () => {
  it('answers 400 VALIDATION_ERROR naming the path parameter that breaks its pattern', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);

    const badOrg = await api('GET', `/orgs/NOT-HEX/serviceAccounts/${owner.clientId}`, { token });
    const badClient = await api('GET', sa(orgId, 'mdb_sa_id_short'), { token });
    const badGroup = await api('GET', '/groups/123/serviceAccounts', { token });

    for (const [response, field] of [
      [badOrg, 'orgId'],
      [badClient, 'clientId'],
      [badGroup, 'groupId'],
    ] as const) {
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        error: 400,
        errorCode: 'VALIDATION_ERROR',
        reason: 'Bad Request',
        badRequestDetail: { fields: [{ field, description: expect.any(String) }] },
      });
    }
  });

  it('answers 404 RESOURCE_NOT_FOUND for a well-formed but unknown org, project, account or secret', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);

    for (const path of [
      '/orgs/aaaaaaaaaaaaaaaaaaaaaaaa/serviceAccounts',
      '/groups/bbbbbbbbbbbbbbbbbbbbbbbb/serviceAccounts',
      sa(orgId, 'mdb_sa_id_cccccccccccccccccccccccc'),
    ]) {
      const response = await api('GET', path, { token });
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(await response.json()).toMatchObject({
        error: 404,
        errorCode: 'RESOURCE_NOT_FOUND',
        reason: 'Not Found',
      });
    }
    expect(
      await status(api('DELETE', `${sa(orgId, owner.clientId)}/secrets/dddddddddddddddddddddddd`, { token })),
    ).toBe(404);
  });

  it('answers 400 INVALID_JSON to a body that is not JSON, and VALIDATION_ERROR to JSON of the wrong shape', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    const token = await tokenFor(owner);
    const path = `${sa(orgId, owner.clientId)}/secrets`;

    const malformed = await api('POST', path, { token, rawBody: '{"secretExpiresAfterHours": 24' });
    const array = await api('POST', path, { token, body: [24] });

    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 400, errorCode: 'INVALID_JSON' });
    expect(array.status).toBe(400);
    expect(await array.json()).toMatchObject({
      errorCode: 'VALIDATION_ERROR',
      badRequestDetail: { fields: [{ field: 'body' }] },
    });
  });

  it('keeps 406 INVALID_VERSION_DATE ahead of parameter validation and the secret limit at 400', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    simulator.addSecret(orgId, owner.clientId);
    const token = await tokenFor(owner);

    expect(
      await status(api('GET', '/orgs/NOT-HEX/serviceAccounts', { token, accept: 'application/json' })),
    ).toBe(406);
    const third = await api('POST', `${sa(orgId, owner.clientId)}/secrets`, {
      token,
      body: { secretExpiresAfterHours: 24 },
    });
    expect(third.status).toBe(400);
    expect(await third.json()).toMatchObject({ errorCode: 'SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED' });
  });
});

describe('lastUsedAt of a secret', () => {
  it('is stamped when the secret mints a token, not when the token is used', async () => {
    await start();
    const { orgId } = simulator.createOrg();
    const owner = simulator.createServiceAccount(orgId);
    advance(HOUR / 2);
    const token = await tokenFor(owner);
    advance(HOUR / 4);

    const read = (await (await api('GET', sa(orgId, owner.clientId), { token })).json()) as {
      secrets: { lastUsedAt: string }[];
    };

    expect(read.secrets[0]?.lastUsedAt).toBe(iso(START.getTime() + HOUR / 2));
  });
});

describe('the control API for the new seeding', () => {
  it('seeds roles, access lists, org settings and rate limits over HTTP', async () => {
    await start();
    const org = (await (
      await control(simulator, 'POST', 'orgs', { apiAccessListRequired: true })
    ).json()) as {
      orgId: string;
    };
    const seeded = (await (
      await control(simulator, 'POST', `orgs/${org.orgId}/serviceAccounts`, {
        roles: ['ORG_MEMBER'],
        accessList: [{ cidrBlock: '127.0.0.0/8' }],
      })
    ).json()) as { clientId: string; secret: string };
    const token = await tokenFor(seeded);
    const read = () => api('GET', sa(org.orgId, seeded.clientId), { token });

    expect(await status(read())).toBe(403);
    expect(
      (
        await control(simulator, 'PUT', `orgs/${org.orgId}/serviceAccounts/${seeded.clientId}/roles`, {
          roles: ['ORG_READ_ONLY'],
        })
      ).status,
    ).toBe(204);
    expect(await status(read())).toBe(200);
    const entries = await control(
      simulator,
      'POST',
      `orgs/${org.orgId}/serviceAccounts/${seeded.clientId}/accessList`,
      [{ ipAddress: '203.0.113.10' }],
    );
    expect(entries.status).toBe(201);
    const list = (await (
      await control(simulator, 'GET', `orgs/${org.orgId}/serviceAccounts/${seeded.clientId}/accessList`)
    ).json()) as {
      cidrBlock: string | null;
      requestCount: number;
    }[];
    expect(list.map((e) => [e.cidrBlock, e.requestCount])).toEqual([
      // Both reads passed the list (the first was then refused for its role).
      ['127.0.0.0/8', 2],
      [null, 0],
    ]);

    const bare = (await (
      await control(simulator, 'POST', `orgs/${org.orgId}/serviceAccounts`, {})
    ).json()) as {
      clientId: string;
      secret: string;
    };
    const bareToken = await tokenFor(bare);
    const refused = await api('GET', sa(org.orgId, bare.clientId), { token: bareToken });
    expect(await refused.json()).toMatchObject({ errorCode: 'ORG_REQUIRES_ACCESS_LIST' });
    expect(
      (await control(simulator, 'PATCH', `orgs/${org.orgId}/settings`, { apiAccessListRequired: false }))
        .status,
    ).toBe(204);
    expect(await status(api('GET', sa(org.orgId, bare.clientId), { token: bareToken }))).toBe(200);

    const limited = await control(simulator, 'PATCH', 'settings', {
      adminApiRateLimit: { capacity: 1, refillRate: 1, refillDurationSeconds: 10 },
    });
    expect(await limited.json()).toMatchObject({ adminApiRateLimit: { capacity: 1 } });
    expect(await status(api('GET', sa(org.orgId, bare.clientId), { token: bareToken }))).toBe(200);
    expect(await status(api('GET', sa(org.orgId, bare.clientId), { token: bareToken }))).toBe(429);
    expect(
      (await control(simulator, 'PATCH', 'settings', { adminApiRateLimit: { capacity: 'x' } })).status,
    ).toBe(400);
    expect(
      (await control(simulator, 'POST', `orgs/${org.orgId}/apiKeys`, { accessList: [{ ipAddress: 'nope' }] }))
        .status,
    ).toBe(400);
  });
});
