import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { ContractValidator } from '../support/contract-validator.js';
import { control, DAY, HOUR, iso, SECRET_FORMAT, START, V2024, V2025 } from './support/simulator-test-kit.js';

const execFileAsync = promisify(execFile);

const V1 = '/api/public/v1.0';
const CHALLENGE =
  /^Digest realm="MMS Public API", domain="", nonce="([^"]+)", algorithm=MD5, qop="auth", stale=(true|false)$/;

let simulator: AtlasSimulator;
let current: Date;

function advance(ms: number): void {
  current = new Date(current.getTime() + ms);
}

beforeEach(async () => {
  current = START;
  simulator = await AtlasSimulator.start({ now: () => current });
});

afterEach(async () => {
  await simulator.close();
});

async function tokenFor(clientId: string, secret: string): Promise<string> {
  const response = await fetch(`${simulator.baseUrl}/api/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

interface ApiKey {
  publicKey: string;
  privateKey: string;
}

type Auth = { token: string } | { key: ApiKey } | undefined;

// --- A hand-written RFC 7616 client (MD5, qop=auth), so the tests can also misbehave on purpose. ---

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

function digestHeader(
  key: ApiKey,
  method: string,
  uri: string,
  nonce: string,
  nc: string,
  overrides: { realm?: string; uri?: string } = {},
): string {
  const cnonce = randomBytes(8).toString('hex');
  const realm = overrides.realm ?? 'MMS Public API';
  const ha1 = md5(`${key.publicKey}:${realm}:${key.privateKey}`);
  const ha2 = md5(`${method}:${overrides.uri ?? uri}`);
  const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${key.publicKey}", realm="${realm}", nonce="${nonce}", uri="${overrides.uri ?? uri}", cnonce="${cnonce}", nc=${nc}, qop=auth, response="${response}", algorithm=MD5`;
}

/** Asks the simulator for a nonce the way a client learns one: an unauthenticated request's 401. */
async function freshNonce(): Promise<string> {
  const response = await fetch(`${simulator.baseUrl}${V1}/orgs/ffffffffffffffffffffffff/serviceAccounts`);
  expect(response.status).toBe(401);
  const nonce = CHALLENGE.exec(response.headers.get('www-authenticate') ?? '')?.[1];
  expect(nonce).toBeDefined();
  return nonce ?? '';
}

async function call(
  method: string,
  pathAndQuery: string,
  auth: Auth,
  options: { accept?: string | null; body?: unknown; nonce?: string; nc?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const accept = options.accept === undefined ? 'application/json' : options.accept;
  if (accept !== null) headers.accept = accept;
  if (auth !== undefined && 'token' in auth) headers.authorization = `Bearer ${auth.token}`;
  if (auth !== undefined && 'key' in auth) {
    const nonce = options.nonce ?? (await freshNonce());
    headers.authorization = digestHeader(auth.key, method, pathAndQuery, nonce, options.nc ?? '00000001');
  }
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${simulator.baseUrl}${pathAndQuery}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
}

/** The independent client: curl's own Digest implementation. Asynchronous: the simulator lives in this process. */
async function curl(
  key: ApiKey,
  method: string,
  url: string,
  options: { body?: unknown; accept?: string; extra?: string[] } = {},
): Promise<{ status: number; body: string }> {
  const args = [
    '--silent',
    '--show-error',
    '--digest',
    '--user',
    `${key.publicKey}:${key.privateKey}`,
    '--request',
    method,
    '--header',
    `Accept: ${options.accept ?? 'application/json'}`,
    '--write-out',
    '\n%{http_code}',
    ...(options.body === undefined
      ? []
      : ['--header', 'Content-Type: application/json', '--data', JSON.stringify(options.body)]),
    ...(options.extra ?? []),
    url,
  ];
  const { stdout } = await execFileAsync('curl', args, { timeout: 20_000 });
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

interface ProjectSeed {
  orgId: string;
  projectId: string;
  clientId: string;
  secretId: string;
  secret: string;
  token: string;
}

/** A project-level SA that is GROUP_OWNER of its project (the seeding default), with a token. */
async function seedProjectOwner(
  options: { maxServiceAccountSecretValidityInHours?: number } = {},
): Promise<ProjectSeed> {
  const { orgId } = simulator.createOrg(options);
  const { projectId } = simulator.createProject(orgId);
  const account = simulator.createServiceAccount(orgId, { projectId, secretExpiresAfterHours: 720 });
  return { orgId, projectId, ...account, token: await tokenFor(account.clientId, account.secret) };
}

const v2 = (path: string) => `/api/atlas/v2${path}`;
const groupSa = (projectId: string, clientId: string) => `/groups/${projectId}/serviceAccounts/${clientId}`;
const orgSa = (orgId: string, clientId: string) => `/orgs/${orgId}/serviceAccounts/${clientId}`;

function v2Create(projectId: string, clientId: string, auth: Auth, hours: unknown = 720, accept = V2024) {
  return call('POST', v2(`${groupSa(projectId, clientId)}/secrets`), auth, {
    accept,
    body: { secretExpiresAfterHours: hours },
  });
}

describe('Atlas v2 project-level service accounts', () => {
  it('reads a project service account with masked secrets and its project roles', async () => {
    const { projectId, clientId, secretId, token } = await seedProjectOwner();

    const response = await call('GET', v2(groupSa(projectId, clientId)), { token }, { accept: V2024 });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(V2024);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({
      clientId,
      roles: ['GROUP_OWNER'],
      secrets: [{ id: secretId, maskedSecretValue: expect.stringMatching(/^mdb_sa_sk_\.\.\./) }],
    });
    expect(text).not.toMatch(/mdb_sa_sk_[A-Za-z0-9_-]{40}/);
  });

  it('creates a secret (plain once), lists it masked, deletes it, and the new secret mints tokens', async () => {
    const { orgId, projectId, clientId, token } = await seedProjectOwner();

    const created = await v2Create(projectId, clientId, { token }, 24);
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: string; secret: string };
    expect(body).toEqual({
      id: expect.stringMatching(/^[a-f0-9]{24}$/),
      createdAt: iso(START.getTime()),
      expiresAt: iso(START.getTime() + 24 * HOUR),
      lastUsedAt: null,
      secret: expect.stringMatching(SECRET_FORMAT),
    });
    const listed = await (
      await call('GET', v2(groupSa(projectId, clientId)), { token }, { accept: V2024 })
    ).text();
    expect(listed).not.toContain(body.secret);
    expect(listed).toContain(`"maskedSecretValue":"mdb_sa_sk_...${body.secret.slice(-4)}"`);
    expect(await tokenFor(clientId, body.secret)).toEqual(expect.any(String));

    const deleted = await call(
      'DELETE',
      v2(`${groupSa(projectId, clientId)}/secrets/${body.id}`),
      { token },
      {
        accept: V2024,
      },
    );

    expect(deleted.status).toBe(204);
    expect(simulator.projectServiceAccount(projectId, clientId)?.secrets).toHaveLength(1);
    expect(simulator.serviceAccount(orgId, clientId)?.secrets).toHaveLength(1);
  });

  it('lets any project member read but only GROUP_OWNER or the parent ORG_OWNER create and delete', async () => {
    const { orgId, projectId, clientId, secretId } = await seedProjectOwner();
    const reader = simulator.createServiceAccount(orgId, { projectId, projectRoles: ['GROUP_READ_ONLY'] });
    const readerToken = await tokenFor(reader.clientId, reader.secret);
    const orgOwner = simulator.createServiceAccount(orgId);
    const orgOwnerToken = await tokenFor(orgOwner.clientId, orgOwner.secret);
    const orgMember = simulator.createServiceAccount(orgId, { roles: ['ORG_MEMBER'] });
    const orgMemberToken = await tokenFor(orgMember.clientId, orgMember.secret);
    const { projectId: otherProject } = simulator.createProject(orgId);
    const elsewhere = simulator.createServiceAccount(orgId, { projectId: otherProject });
    const elsewhereToken = await tokenFor(elsewhere.clientId, elsewhere.secret);
    const deletePath = v2(`${groupSa(projectId, clientId)}/secrets/${secretId}`);

    expect(
      (await call('GET', v2(groupSa(projectId, clientId)), { token: readerToken }, { accept: V2024 })).status,
    ).toBe(200);
    expect((await v2Create(projectId, clientId, { token: readerToken })).status).toBe(403);
    expect((await call('DELETE', deletePath, { token: readerToken }, { accept: V2024 })).status).toBe(403);
    expect(
      (await call('GET', v2(groupSa(projectId, clientId)), { token: orgMemberToken }, { accept: V2024 }))
        .status,
    ).toBe(403);
    expect((await v2Create(projectId, clientId, { token: elsewhereToken })).status).toBe(403);
    expect((await v2Create(projectId, clientId, { token: orgOwnerToken })).status).toBe(201);
    const forbidden = await call('DELETE', deletePath, { token: orgMemberToken }, { accept: V2024 });
    expect(await forbidden.json()).toMatchObject({ error: 403, errorCode: 'USER_UNAUTHORIZED' });
    expect((await call('DELETE', deletePath, { token: orgOwnerToken }, { accept: V2024 })).status).toBe(204);
  });

  it('answers 404 for an unknown project, an SA outside the project, and 403 for a project of another org', async () => {
    const { orgId, projectId, token } = await seedProjectOwner();
    const orgLevel = simulator.createServiceAccount(orgId);
    const stranger = await seedProjectOwner();

    const unknownProject = await call(
      'GET',
      v2(groupSa('cccccccccccccccccccccccc', orgLevel.clientId)),
      { token },
      { accept: V2024 },
    );
    const notInProject = await call(
      'GET',
      v2(groupSa(projectId, orgLevel.clientId)),
      { token },
      { accept: V2024 },
    );
    const foreign = await call(
      'GET',
      v2(groupSa(stranger.projectId, stranger.clientId)),
      { token },
      { accept: V2024 },
    );

    expect(unknownProject.status).toBe(404);
    expect(await notInProject.json()).toMatchObject({ error: 404, errorCode: 'RESOURCE_NOT_FOUND' });
    expect(foreign.status).toBe(403);
  });

  it('applies the two-secret limit and the 7-day shortening, and the parent org bounds the expiry', async () => {
    const { projectId, clientId, secretId, token } = await seedProjectOwner({
      maxServiceAccountSecretValidityInHours: 2160,
    });

    expect((await v2Create(projectId, clientId, { token }, 2161)).status).toBe(400);
    expect((await v2Create(projectId, clientId, { token }, 7)).status).toBe(400);
    expect((await v2Create(projectId, clientId, { token }, 2160)).status).toBe(201);
    const third = await v2Create(projectId, clientId, { token }, 24);

    expect(third.status).toBe(400);
    expect(await third.json()).toMatchObject({ errorCode: 'SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED' });
    const old = simulator.projectServiceAccount(projectId, clientId)?.secrets.find((s) => s.id === secretId);
    expect(old?.expiresAt).toBe(iso(START.getTime() + 7 * DAY));
  });

  it('demands the versioned Accept header and resolves 2025-03-12 to 2024-08-05', async () => {
    const { projectId, clientId, token } = await seedProjectOwner();

    const missing = await call(
      'GET',
      v2(groupSa(projectId, clientId)),
      { token },
      { accept: 'application/json' },
    );
    const later = await call('GET', v2(groupSa(projectId, clientId)), { token }, { accept: V2025 });

    expect(missing.status).toBe(406);
    expect(await missing.json()).toMatchObject({ errorCode: 'INVALID_VERSION_DATE' });
    expect(later.status).toBe(200);
    expect(later.headers.get('content-type')).toBe(V2024);
  });

  it('lists the project service accounts a page at a time', async () => {
    const { orgId, projectId, clientId, token } = await seedProjectOwner();
    const second = simulator.createServiceAccount(orgId, { projectId, projectRoles: ['GROUP_READ_ONLY'] });
    simulator.createServiceAccount(orgId);

    const response = await call(
      'GET',
      v2(`/groups/${projectId}/serviceAccounts?itemsPerPage=1&pageNum=2`),
      { token },
      { accept: V2024 },
    );

    const body = (await response.json()) as {
      results: { clientId: string; roles: string[] }[];
      totalCount: number;
      links: { rel: string }[];
    };
    expect(body.totalCount).toBe(2);
    expect(body.results).toEqual([
      expect.objectContaining({ clientId: second.clientId, roles: ['GROUP_READ_ONLY'] }),
    ]);
    expect(body.links.map((l) => l.rel)).toEqual(['self', 'previous']);
    expect(body.results[0]?.clientId).not.toBe(clientId);
  });

  it('also accepts an API key over Digest, with the same role rules', async () => {
    const { orgId, projectId, clientId } = await seedProjectOwner();
    const owner = simulator.createApiKey(orgId, { projectId });
    const reader = simulator.createApiKey(orgId, { projectId, roles: ['GROUP_READ_ONLY'] });

    expect((await v2Create(projectId, clientId, { key: owner })).status).toBe(201);
    expect((await v2Create(projectId, clientId, { key: reader })).status).toBe(403);
    expect(
      (await call('GET', v2(groupSa(projectId, clientId)), { key: reader }, { accept: V2024 })).status,
    ).toBe(200);
  });

  describe('conformance with the spec’s groups operations', () => {
    const spec = new ContractValidator();
    const SA = '/api/atlas/v2/groups/{groupId}/serviceAccounts/{clientId}';
    const LIST = '/api/atlas/v2/groups/{groupId}/serviceAccounts';
    const CREATE = `${SA}/secrets`;
    const DELETE = `${SA}/secrets/{secretId}`;

    it('answers with the statuses, media types and bodies the spec declares', async () => {
      const { orgId, projectId, clientId, secretId, token } = await seedProjectOwner();
      const reader = simulator.createServiceAccount(orgId, { projectId, projectRoles: ['GROUP_READ_ONLY'] });
      const readerToken = await tokenFor(reader.clientId, reader.secret);
      const unknownSa = 'mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa';
      const key = simulator.createApiKey(orgId, { projectId });
      const deletePath = (id: string) => v2(`${groupSa(projectId, clientId)}/secrets/${id}`);
      const get = (auth: Auth, id = clientId, query = '') =>
        call('GET', v2(`${groupSa(projectId, id)}${query}`), auth, { accept: V2024 });

      const cases: [string, string, number, () => Promise<Response>][] = [
        [
          'GET',
          LIST,
          200,
          () => call('GET', v2(`/groups/${projectId}/serviceAccounts`), { token }, { accept: V2024 }),
        ],
        [
          'GET',
          LIST,
          401,
          () => call('GET', v2(`/groups/${projectId}/serviceAccounts`), undefined, { accept: V2024 }),
        ],
        ['GET', SA, 200, () => get({ token })],
        ['GET', SA, 200, () => get({ key }, clientId, '?pretty=true')],
        ['GET', SA, 401, () => get({ token: 'dead' })],
        ['GET', SA, 404, () => get({ token }, unknownSa)],
        ['POST', CREATE, 400, () => v2Create(projectId, clientId, { token }, 8761)],
        ['POST', CREATE, 403, () => v2Create(projectId, clientId, { token: readerToken })],
        ['POST', CREATE, 404, () => v2Create(projectId, unknownSa, { token })],
        ['POST', CREATE, 401, () => v2Create(projectId, clientId, undefined)],
        ['POST', CREATE, 201, () => v2Create(projectId, clientId, { key })],
        [
          'DELETE',
          DELETE,
          403,
          () => call('DELETE', deletePath(secretId), { token: readerToken }, { accept: V2024 }),
        ],
        [
          'DELETE',
          DELETE,
          404,
          () => call('DELETE', deletePath('cccccccccccccccccccccccc'), { token }, { accept: V2024 }),
        ],
        ['DELETE', DELETE, 401, () => call('DELETE', deletePath(secretId), undefined, { accept: V2024 })],
        ['DELETE', DELETE, 204, () => call('DELETE', deletePath(secretId), { key }, { accept: V2024 })],
      ];
      for (const [method, template, status, send] of cases) {
        const response = await send();
        const observed = {
          status: response.status,
          contentType: response.headers.get('content-type'),
          body: await response.text(),
        };
        expect({ at: `${method} ${template} ${status}`, status: observed.status }).toEqual({
          at: `${method} ${template} ${status}`,
          status,
        });
        expect(spec.checkResponse(method, template, observed)).toEqual([]);
      }
    });
  });
});

describe('Cloud Manager public API v1.0', () => {
  interface OrgSeed {
    orgId: string;
    projectId: string;
    clientId: string;
    secretId: string;
    token: string;
    key: ApiKey;
  }

  async function seed(): Promise<OrgSeed> {
    const { orgId } = simulator.createOrg();
    const { projectId } = simulator.createProject(orgId);
    const account = simulator.createServiceAccount(orgId, { secretExpiresAfterHours: 720 });
    return {
      orgId,
      projectId,
      clientId: account.clientId,
      secretId: account.secretId,
      token: await tokenFor(account.clientId, account.secret),
      key: simulator.createApiKey(orgId),
    };
  }

  const create = (path: string, auth: Auth, hours: unknown, query = '') =>
    call('POST', `${V1}${path}/secrets/${query}`, auth, { body: { secretExpiresAfterHours: hours } });

  it('serves an org service account as plain JSON with a bearer token, whatever the Accept header', async () => {
    const { orgId, clientId, secretId, token } = await seed();

    for (const accept of [null, 'application/json', V2024]) {
      const response = await call('GET', `${V1}${orgSa(orgId, clientId)}`, { token }, { accept });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toMatchObject({
        clientId,
        roles: ['ORG_OWNER'],
        secrets: [{ id: secretId, maskedSecretValue: expect.stringMatching(/^mdb_sa_sk_\.\.\./) }],
      });
    }
  });

  it('creates and deletes org and project secrets with an API key over Digest', async () => {
    const { orgId, projectId, clientId, key } = await seed();
    const projectAccount = simulator.createServiceAccount(orgId, { projectId });

    const orgCreated = await create(orgSa(orgId, clientId), { key }, 24);
    const projectCreated = await create(groupSa(projectId, projectAccount.clientId), { key }, '48');

    expect(orgCreated.status).toBe(201);
    const orgSecret = (await orgCreated.json()) as Record<string, string>;
    expect(Object.keys(orgSecret).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'secret']);
    expect(orgSecret.secret).toMatch(SECRET_FORMAT);
    expect(projectCreated.status).toBe(201);
    const projectSecret = (await projectCreated.json()) as Record<string, string>;
    expect(projectSecret.expiresAt).toBe(iso(START.getTime() + 48 * HOUR));
    const deleted = await call(
      'DELETE',
      `${V1}${groupSa(projectId, projectAccount.clientId)}/secrets/${projectSecret.id}`,
      { key },
    );
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect(simulator.projectServiceAccount(projectId, projectAccount.clientId)?.secrets).toHaveLength(1);
  });

  it('accepts the create path with and without the trailing slash', async () => {
    const { orgId, clientId, token } = await seed();
    const body = { secretExpiresAfterHours: 24 };

    const withSlash = await call('POST', `${V1}${orgSa(orgId, clientId)}/secrets/`, { token }, { body });
    const { id } = (await withSlash.json()) as { id: string };
    const deleted = await call('DELETE', `${V1}${orgSa(orgId, clientId)}/secrets/${id}`, { token });
    const withoutSlash = await call('POST', `${V1}${orgSa(orgId, clientId)}/secrets`, { token }, { body });

    expect(withSlash.status).toBe(201);
    expect(deleted.status).toBe(204);
    expect(withoutSlash.status).toBe(201);
  });

  it.each([
    ['a numeric string', '3600', 201],
    ['a number', 3600, 201],
    ['the lower bound', 8, 201],
    ['the upper bound, above Atlas’s 8760', 8766, 201],
    ['below the lower bound', 7, 400],
    ['above the upper bound', '8767', 400],
    ['a non-numeric string', 'soon', 400],
    ['a fraction', 12.5, 400],
    ['missing', undefined, 400],
  ])('answers secretExpiresAfterHours as %s with %i', async (_case, hours, status) => {
    const { orgId, clientId, token } = await seed();

    const response = await call(
      'POST',
      `${V1}${orgSa(orgId, clientId)}/secrets/`,
      { token },
      {
        body: hours === undefined ? {} : { secretExpiresAfterHours: hours },
      },
    );

    expect(response.status).toBe(status);
    const body = (await response.json()) as Record<string, unknown>;
    if (status === 201) {
      expect(body.expiresAt).toBe(iso(START.getTime() + Number(hours) * HOUR));
    } else {
      expect(Object.keys(body).sort()).toEqual(['detail', 'error', 'errorCode', 'parameters', 'reason']);
      expect(body).toMatchObject({
        error: 400,
        errorCode: 'INVALID_ATTRIBUTE',
        parameters: ['secretExpiresAfterHours'],
        reason: 'Bad Request',
      });
    }
  });

  it('refuses itemsPerPage above 500 and pageNum below 1 with 400, and pages with valid values', async () => {
    const { orgId, clientId, token } = await seed();
    simulator.createServiceAccount(orgId, { roles: ['ORG_MEMBER'] });

    const tooMany = await call('GET', `${V1}/orgs/${orgId}/serviceAccounts?itemsPerPage=501`, { token });
    const pageZero = await call('GET', `${V1}${orgSa(orgId, clientId)}?pageNum=0`, { token });
    const max = await call('GET', `${V1}/orgs/${orgId}/serviceAccounts?itemsPerPage=500`, { token });
    const paged = await call('GET', `${V1}/orgs/${orgId}/serviceAccounts?itemsPerPage=1`, { token });

    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({
      error: 400,
      errorCode: 'INVALID_QUERY_PARAMETER',
      parameters: ['itemsPerPage', '501'],
    });
    expect(pageZero.status).toBe(400);
    expect(((await max.json()) as { results: unknown[] }).results).toHaveLength(2);
    const page = (await paged.json()) as {
      results: { clientId: string }[];
      totalCount: number;
      links: { rel: string; href: string }[];
    };
    expect(page.results.map((r) => r.clientId)).toEqual([clientId]);
    expect(page.totalCount).toBe(2);
    expect(page.links).toEqual([
      {
        rel: 'self',
        href: `${simulator.baseUrl}${V1}/orgs/${orgId}/serviceAccounts?itemsPerPage=1&pageNum=1`,
      },
      {
        rel: 'next',
        href: `${simulator.baseUrl}${V1}/orgs/${orgId}/serviceAccounts?itemsPerPage=1&pageNum=2`,
      },
    ]);
  });

  it('wraps single results as {status, content} and adds status to lists with envelope=true, and not without', async () => {
    const { orgId, clientId, token } = await seed();

    const single = await (
      await call('GET', `${V1}${orgSa(orgId, clientId)}?envelope=true`, { token })
    ).json();
    const plain = await (
      await call('GET', `${V1}${orgSa(orgId, clientId)}?envelope=false`, { token })
    ).json();
    const list = await (
      await call('GET', `${V1}/orgs/${orgId}/serviceAccounts?envelope=true&pretty=true`, { token })
    ).json();
    const created = await create(orgSa(orgId, clientId), { token }, 24, '?envelope=true');
    const error = await create(orgSa(orgId, clientId), { token }, 1, '?envelope=true');

    expect(single).toMatchObject({ status: 200, content: { clientId } });
    expect(plain).toMatchObject({ clientId });
    expect(plain).not.toHaveProperty('status');
    expect(list).toMatchObject({ status: 200, totalCount: 1, results: [{ clientId }] });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      status: 201,
      content: { secret: expect.stringMatching(SECRET_FORMAT) },
    });
    expect(error.status).toBe(400);
    expect(await error.json()).toMatchObject({ status: 400, content: { errorCode: 'INVALID_ATTRIBUTE' } });
  });

  it('lets ORG_USER_ADMIN manage org secrets on v1.0 (but not on v2), and not ORG_MEMBER', async () => {
    const { orgId, clientId } = await seed();
    const userAdmin = simulator.createApiKey(orgId, { roles: ['ORG_USER_ADMIN'] });
    const member = simulator.createApiKey(orgId, { roles: ['ORG_MEMBER'] });

    expect((await create(orgSa(orgId, clientId), { key: userAdmin }, 24)).status).toBe(201);
    const forbidden = await create(orgSa(orgId, clientId), { key: member }, 24);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: 403, errorCode: 'USER_UNAUTHORIZED' });
    const v2Attempt = await call(
      'POST',
      v2(`${orgSa(orgId, clientId)}/secrets`),
      { key: userAdmin },
      {
        accept: V2024,
        body: { secretExpiresAfterHours: 24 },
      },
    );
    expect(v2Attempt.status).toBe(403);
    expect((await call('GET', `${V1}${orgSa(orgId, clientId)}`, { key: member })).status).toBe(200);
  });

  it('answers an unauthenticated request with 401 and a Digest challenge', async () => {
    const { orgId, clientId } = await seed();

    const response = await call('GET', `${V1}${orgSa(orgId, clientId)}`, undefined);

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(CHALLENGE);
    expect(response.headers.get('www-authenticate')).toContain('stale=false');
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['detail', 'error', 'errorCode', 'parameters', 'reason']);
    expect(body).toMatchObject({ error: 401, reason: 'Unauthorized' });
  });
});

describe('Cloud Manager public API v1.0: the operations beyond secrets (facts sheet §3.2)', () => {
  it('creates, renames, lists the projects of and deletes an org service account', async () => {
    const { orgId } = simulator.createOrg();
    const { projectId } = simulator.createProject(orgId);
    const key = simulator.createApiKey(orgId);

    const created = await call(
      'POST',
      `${V1}/orgs/${orgId}/serviceAccounts`,
      { key },
      {
        body: {
          name: 'exporter',
          description: 'Exports invoices',
          roles: ['ORG_MEMBER'],
          secretExpiresAfterHours: 24,
        },
      },
    );
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/json');
    const account = (await created.json()) as { clientId: string; secrets: { secret: string }[] };
    expect(account.secrets[0]?.secret).toMatch(SECRET_FORMAT);
    const path = `${V1}${orgSa(orgId, account.clientId)}`;

    const renamed = await call('PATCH', path, { key }, { body: { name: 'renamed' } });
    expect(await renamed.json()).toMatchObject({
      clientId: account.clientId,
      name: 'renamed',
      roles: ['ORG_MEMBER'],
    });
    const invited = await call(
      'POST',
      `${V1}${groupSa(projectId, account.clientId)}:invite`,
      { key },
      {
        body: { roles: ['GROUP_READ_ONLY'] },
      },
    );
    expect(invited.status).toBe(200);
    const groups = await call('GET', `${path}/groups`, { key });
    expect(await groups.json()).toMatchObject({
      results: [{ groupId: projectId, roles: ['GROUP_READ_ONLY'] }],
      totalCount: 1,
    });
    expect((await call('DELETE', path, { key })).status).toBe(204);
    expect((await call('GET', path, { key })).status).toBe(404);
  });

  it('manages a project service account’s access list, with INVALID_ATTRIBUTE for a bad entry', async () => {
    const { orgId } = simulator.createOrg();
    const { projectId } = simulator.createProject(orgId);
    const account = simulator.createServiceAccount(orgId, { projectId });
    const token = await tokenFor(account.clientId, account.secret);
    const list = `${V1}${groupSa(projectId, account.clientId)}/accessList`;

    const added = await call(
      'POST',
      list,
      { token },
      { body: [{ cidrBlock: '127.0.0.0/8' }, { ipAddress: '203.0.113.10' }] },
    );
    expect(added.status).toBe(200);
    expect(((await added.json()) as { totalCount: number }).totalCount).toBe(2);
    const bad = await call('POST', list, { token }, { body: [{ ipAddress: 'nowhere' }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errorCode: 'INVALID_ATTRIBUTE', parameters: ['[0].ipAddress'] });
    expect((await call('DELETE', `${list}/203.0.113.10`, { token })).status).toBe(204);
    const listed = (await (await call('GET', list, { token })).json()) as {
      results: { cidrBlock?: string; requestCount: number }[];
    };
    expect(listed.results).toEqual([expect.objectContaining({ cidrBlock: '127.0.0.0/8' })]);
    expect(listed.results[0]?.requestCount).toBeGreaterThanOrEqual(3);
  });

  it('answers 405 with Allow on v1.0 too', async () => {
    const { orgId } = simulator.createOrg();
    const account = simulator.createServiceAccount(orgId);
    const token = await tokenFor(account.clientId, account.secret);

    const response = await call('PUT', `${V1}${orgSa(orgId, account.clientId)}`, { token }, { body: {} });

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('DELETE, GET, PATCH');
  });
});

describe('HTTP Digest authentication', () => {
  it('works with curl --digest on v1.0 and v2, and refuses a wrong private key', async () => {
    const { orgId } = simulator.createOrg();
    const { projectId } = simulator.createProject(orgId);
    const account = simulator.createServiceAccount(orgId, { projectId });
    const key = simulator.createApiKey(orgId);
    const base = `${simulator.baseUrl}${V1}`;

    const read = await curl(key, 'GET', `${base}${groupSa(projectId, account.clientId)}?pretty=true`);
    const created = await curl(key, 'POST', `${base}${orgSa(orgId, account.clientId)}/secrets/`, {
      body: { secretExpiresAfterHours: '24' },
    });
    const viaV2 = await curl(key, 'GET', `${simulator.baseUrl}${v2(groupSa(projectId, account.clientId))}`, {
      accept: V2024,
    });
    const wrong = await curl(
      { ...key, privateKey: '00000000-0000-4000-8000-000000000000' },
      'GET',
      `${base}${orgSa(orgId, account.clientId)}`,
    );

    expect(read.status).toBe(200);
    expect(JSON.parse(read.body)).toMatchObject({ clientId: account.clientId, roles: ['GROUP_OWNER'] });
    expect(created.status).toBe(201);
    const secret = JSON.parse(created.body) as { id: string; secret: string };
    expect(secret.secret).toMatch(SECRET_FORMAT);
    const deleted = await curl(
      key,
      'DELETE',
      `${base}${orgSa(orgId, account.clientId)}/secrets/${secret.id}`,
    );
    expect(deleted.status).toBe(204);
    expect(viaV2.status).toBe(200);
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body)).toMatchObject({ error: 401, errorCode: 'UNAUTHORIZED' });
  });

  it('answers a correct digest on an expired nonce with 401 stale=true, and a wrong one with stale=false', async () => {
    const { orgId } = simulator.createOrg();
    const key = simulator.createApiKey(orgId);
    const path = `${V1}/orgs/${orgId}/serviceAccounts`;
    const nonce = await freshNonce();
    advance(5 * 60 * 1000);

    const stale = await call('GET', path, { key }, { nonce });
    const wrongAndStale = await call('GET', path, { key: { ...key, privateKey: 'nope' } }, { nonce });

    expect(stale.status).toBe(401);
    expect(stale.headers.get('www-authenticate')).toMatch(/stale=true$/);
    const newNonce = CHALLENGE.exec(stale.headers.get('www-authenticate') ?? '')?.[1] ?? '';
    expect(newNonce).not.toBe(nonce);
    expect(wrongAndStale.headers.get('www-authenticate')).toMatch(/stale=false$/);
    expect((await call('GET', path, { key }, { nonce: newNonce })).status).toBe(200);
  });

  it('refuses a replayed nonce count and accepts the next one', async () => {
    const { orgId } = simulator.createOrg();
    const key = simulator.createApiKey(orgId);
    const path = `${V1}/orgs/${orgId}/serviceAccounts`;
    const nonce = await freshNonce();

    const first = await call('GET', path, { key }, { nonce, nc: '00000001' });
    const replayed = await call('GET', path, { key }, { nonce, nc: '00000001' });
    const next = await call('GET', path, { key }, { nonce, nc: '00000002' });

    expect([first.status, replayed.status, next.status]).toEqual([200, 401, 200]);
    expect(replayed.headers.get('www-authenticate')).toMatch(/stale=false$/);
  });

  it('refuses a nonce it never issued, a digest for another uri, and another realm', async () => {
    const { orgId } = simulator.createOrg();
    const key = simulator.createApiKey(orgId);
    const path = `${V1}/orgs/${orgId}/serviceAccounts`;
    const nonce = await freshNonce();
    const send = (authorization: string) =>
      fetch(`${simulator.baseUrl}${path}`, { headers: { authorization } });

    const invented = await send(digestHeader(key, 'GET', path, 'invented-nonce', '00000001'));
    const otherUri = await send(
      digestHeader(key, 'GET', path, nonce, '00000001', { uri: `${path}?pageNum=2` }),
    );
    const otherRealm = await send(digestHeader(key, 'GET', path, nonce, '00000002', { realm: 'Elsewhere' }));

    expect([invented.status, otherUri.status, otherRealm.status]).toEqual([401, 401, 401]);
  });

  it('never lets an API key mint an OAuth token', async () => {
    const key = simulator.createApiKey(simulator.createOrg().orgId);
    expect(key.publicKey).toMatch(/^[a-z]{8}$/);
    expect(key.privateKey).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const response = await fetch(`${simulator.baseUrl}/api/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${key.publicKey}:${key.privateKey}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('logs digest requests with the public key, never the private key, and bearer ones with the client id', async () => {
    const { orgId } = simulator.createOrg();
    const account = simulator.createServiceAccount(orgId);
    const token = await tokenFor(account.clientId, account.secret);
    const key = simulator.createApiKey(orgId);
    simulator.clearRequests();

    await curl(key, 'GET', `${simulator.baseUrl}${V1}${orgSa(orgId, account.clientId)}`);
    await call('GET', `${V1}${orgSa(orgId, account.clientId)}`, { token });

    expect(
      simulator.requests.map(({ status, auth, clientId, publicKey }) => ({
        status,
        auth,
        clientId,
        publicKey,
      })),
    ).toEqual([
      { status: 401, auth: 'none', clientId: undefined, publicKey: undefined },
      { status: 200, auth: 'digest', clientId: undefined, publicKey: key.publicKey },
      { status: 200, auth: 'bearer', clientId: account.clientId, publicKey: undefined },
    ]);
    const logged = JSON.stringify(simulator.requests);
    for (const sensitive of [key.privateKey, token, account.secret]) expect(logged).not.toContain(sensitive);
  });
});

describe('Ops Manager at a non-default origin', () => {
  it('serves the same public API to a second simulator instance reached under another host name', async () => {
    const opsManager = await AtlasSimulator.start({ now: () => current });
    try {
      const { orgId } = opsManager.createOrg();
      const account = opsManager.createServiceAccount(orgId);
      const key = opsManager.createApiKey(orgId);
      const port = new URL(opsManager.baseUrl).port;
      const origin = 'http://ops-manager.example.internal:8080';
      const connectTo = ['--connect-to', `ops-manager.example.internal:8080:127.0.0.1:${port}`];

      const listed = await curl(key, 'GET', `${origin}${V1}/orgs/${orgId}/serviceAccounts?itemsPerPage=5`, {
        extra: connectTo,
      });
      const created = await curl(key, 'POST', `${origin}${V1}${orgSa(orgId, account.clientId)}/secrets/`, {
        body: { secretExpiresAfterHours: 24 },
        extra: connectTo,
      });

      expect(listed.status).toBe(200);
      expect(JSON.parse(listed.body)).toMatchObject({
        totalCount: 1,
        links: [
          { rel: 'self', href: `${origin}${V1}/orgs/${orgId}/serviceAccounts?itemsPerPage=5&pageNum=1` },
        ],
      });
      expect(created.status).toBe(201);
      expect(simulator.serviceAccount(orgId, account.clientId)).toBeUndefined();
      expect(opsManager.serviceAccount(orgId, account.clientId)?.secrets).toHaveLength(2);
    } finally {
      await opsManager.close();
    }
  });
});

describe('HTTP control surface for projects and API keys', () => {
  it('seeds projects, project service accounts and API keys, and reads project accounts back', async () => {
    const { orgId } = (await (await control(simulator, 'POST', 'orgs', {})).json()) as { orgId: string };
    const project = await control(simulator, 'POST', `orgs/${orgId}/projects`, {
      projectId: 'abcdefabcdefabcdefabcdef',
    });
    expect(project.status).toBe(201);
    expect(await project.json()).toEqual({ projectId: 'abcdefabcdefabcdefabcdef' });
    const sa = await control(simulator, 'POST', `orgs/${orgId}/serviceAccounts`, {
      projectId: 'abcdefabcdefabcdefabcdef',
      projectRoles: ['GROUP_READ_ONLY'],
    });
    const { clientId } = (await sa.json()) as { clientId: string };
    const keyResponse = await control(simulator, 'POST', `orgs/${orgId}/apiKeys`, {
      projectId: 'abcdefabcdefabcdefabcdef',
      roles: ['GROUP_OWNER'],
    });
    expect(keyResponse.status).toBe(201);
    const key = (await keyResponse.json()) as ApiKey;

    const read = await control(
      simulator,
      'GET',
      `projects/abcdefabcdefabcdefabcdef/serviceAccounts/${clientId}`,
    );
    const viaDigest = await curl(
      key,
      'GET',
      `${simulator.baseUrl}${V1}${groupSa('abcdefabcdefabcdefabcdef', clientId)}`,
    );

    expect(await read.json()).toMatchObject({ clientId, secrets: [{ lastUsedAt: null }] });
    expect(JSON.parse(viaDigest.body)).toMatchObject({ clientId, roles: ['GROUP_READ_ONLY'] });
    expect(
      (
        await control(
          simulator,
          'GET',
          `projects/abcdefabcdefabcdefabcdef/serviceAccounts/mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa`,
        )
      ).status,
    ).toBe(404);
    expect(
      (await control(simulator, 'POST', `orgs/${orgId}/projects`, { projectId: 'not-hex' })).status,
    ).toBe(400);
    expect(
      (await control(simulator, 'POST', `orgs/${orgId}/serviceAccounts`, { projectRoles: ['GROUP_OWNER'] }))
        .status,
    ).toBe(400);
  });
});
