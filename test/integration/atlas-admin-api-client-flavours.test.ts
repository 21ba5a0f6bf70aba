import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { type Dispatcher, MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AtlasAdminApiClient,
  type AtlasAdminApiClientSettings,
} from '../../src/adapters/outbound/atlas/atlas-admin-api-client.js';
import type { AtlasTarget } from '../../src/application/ports/atlas-service-accounts.js';
import type { ApiKeyCredential, ServiceAccountCredential } from '../../src/domain/credential.js';
import {
  type AtlasSecretId,
  parseApiVersion,
  parseAtlasSecretId,
  parseClientId,
  parseOrgId,
  parseProjectId,
} from '../../src/domain/identifiers.js';
import type { ApiFlavor } from '../../src/domain/rotation-metadata.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { BuiltPools, failure, RecordingClock } from './support/atlas-client-harness.js';

const TOKEN_PATH = '/api/oauth/token';
const REVOKE_PATH = '/api/oauth/revoke';
const V2 = '/api/atlas/v2';
const V1 = '/api/public/v1.0';
const SA_MEDIA_TYPE = 'application/vnd.atlas.2024-08-05+json';

interface Seeded {
  readonly target: AtlasTarget;
  /** The account's own credential (self mode). */
  readonly credential: ServiceAccountCredential;
  readonly secretId: AtlasSecretId;
  /** Base of the account's paths: `/orgs/{orgId}/serviceAccounts/{clientId}` or the `/groups/…` one. */
  readonly accountPath: string;
}

/** An org- or project-level service account on `sim`, addressed in the given flavour. */
function seed(sim: AtlasSimulator, flavor: ApiFlavor, options: { project?: boolean } = {}): Seeded {
  const { orgId } = sim.createOrg();
  const projectId = options.project === true ? sim.createProject(orgId).projectId : undefined;
  const sa = sim.createServiceAccount(orgId, projectId === undefined ? {} : { projectId });
  const scope = projectId === undefined ? `/orgs/${orgId}` : `/groups/${projectId}`;
  return {
    target: {
      baseUrl: sim.baseUrl,
      flavor,
      orgId: parseOrgId(orgId),
      projectId: projectId === undefined ? undefined : parseProjectId(projectId),
      clientId: parseClientId(sa.clientId),
      apiVersion: parseApiVersion('2024-08-05'),
    },
    credential: { clientId: parseClientId(sa.clientId), clientSecret: SecretValue.of(sa.secret) },
    secretId: parseAtlasSecretId(sa.secretId),
    accountPath: `${scope}/serviceAccounts/${sa.clientId}`,
  };
}

/** An API key of the account's org (ORG_OWNER) or, for a project-level account, of its project (GROUP_OWNER). */
function apiKeyFor(sim: AtlasSimulator, account: Seeded): ApiKeyCredential {
  const projectId = account.target.projectId;
  const key = sim.createApiKey(account.target.orgId, projectId === undefined ? {} : { projectId });
  return { publicKey: key.publicKey, privateKey: SecretValue.of(key.privateKey) };
}

function secretsOf(sim: AtlasSimulator, account: Seeded): string[] {
  return sim.serviceAccount(account.target.orgId, account.target.clientId)?.secrets.map((s) => s.id) ?? [];
}

/** `METHOD path auth status` per request, the account path shortened to `…`. */
function log(sim: AtlasSimulator, account?: Seeded): string[] {
  return sim.requests.map((r) => {
    const path = account === undefined ? r.path : r.path.replace(account.accountPath, '…');
    return `${r.method} ${path} ${r.auth} ${r.dropped ?? r.status}`;
  });
}

function expectNoLeak(subject: unknown, ...sensitive: string[]): void {
  const rendered = [
    subject instanceof Error ? subject.message : String(subject),
    inspect(subject, { depth: 10, showHidden: true }),
    JSON.stringify(subject) ?? '',
  ];
  for (const text of rendered) {
    for (const value of sensitive) expect(text).not.toContain(value);
    expect(text).not.toMatch(/Bearer |Basic |Digest username|response="/);
  }
}

/** A fresh nonce the simulator issued, from the challenge to an unauthenticated request. */
async function issuedNonce(sim: AtlasSimulator): Promise<string> {
  const response = await fetch(`${sim.baseUrl}${V1}/orgs/000000000000000000000000/serviceAccounts`);
  await response.arrayBuffer();
  const nonce = /nonce="([^"]+)"/.exec(response.headers.get('www-authenticate') ?? '')?.[1];
  if (nonce === undefined) throw new Error('the simulator sent no Digest challenge');
  return nonce;
}

function staleChallenge(nonce: string): string {
  return `Digest realm="MMS Public API", nonce="${nonce}", algorithm=MD5, qop="auth", stale=true`;
}

describe('AtlasAdminApiClient flavours, scopes, origins and HTTP Digest (simulator)', () => {
  /** Atlas and Cloud Manager at the default origin. */
  let sim: AtlasSimulator;
  /** "Ops Manager at a non-default origin": a second simulator. */
  let ops: AtlasSimulator;
  let clock: RecordingClock;
  const pools = new BuiltPools();
  const { dispatcherFor } = pools;

  function client(
    overrides: Partial<AtlasAdminApiClientSettings> = {},
    factory: (origin: string) => Dispatcher = dispatcherFor,
  ) {
    return new AtlasAdminApiClient({
      baseUrl: sim.baseUrl,
      dispatcherFor: factory,
      clock,
      allowInsecureHttp: true,
      ...overrides,
    });
  }

  beforeAll(async () => {
    sim = await AtlasSimulator.start();
    ops = await AtlasSimulator.start();
  });

  afterAll(async () => {
    await sim.close();
    await ops.close();
  });

  beforeEach(() => {
    clock = new RecordingClock();
    for (const s of [sim, ops]) {
      s.clearFaults();
      s.clearRequests();
    }
  });

  afterEach(async () => {
    await pools.closeAll();
  });

  describe('project-level accounts on the Admin API v2', () => {
    it('lists, creates and deletes under /groups/{projectId} with the versioned Accept', async () => {
      const account = seed(sim, 'atlas', { project: true });
      const atlas = client();

      expect(await atlas.listSecrets(account.target, account.credential)).toEqual([
        {
          id: account.secretId,
          createdAt: expect.any(String),
          expiresAt: expect.any(String),
          maskedSecretValue: expect.stringMatching(/^mdb_sa_sk_\.\.\..{4}$/),
          lastUsedAt: expect.any(String),
        },
      ]);
      const created = await atlas.createSecret(account.target, account.credential, 24);
      expect(created.secret.reveal()).toMatch(/^mdb_sa_sk_/);
      const projectId = account.target.projectId ?? '';
      expect(sim.projectServiceAccount(projectId, account.target.clientId)?.secrets).toHaveLength(2);
      expect(await atlas.deleteSecret(account.target, created.id, account.credential)).toBe(true);

      expect(account.accountPath).toMatch(/^\/groups\//);
      expect(log(sim, account)).toEqual([
        `POST ${TOKEN_PATH} basic 200`,
        `GET ${V2}… bearer 200`,
        `POST ${V2}…/secrets bearer 201`,
        `DELETE ${V2}…/secrets/${created.id} bearer 204`,
      ]);
      expect(sim.requests.filter((r) => r.path.startsWith(V2)).map((r) => r.accept)).toEqual([
        SA_MEDIA_TYPE,
        SA_MEDIA_TYPE,
        SA_MEDIA_TYPE,
      ]);
      expect(secretsOf(sim, account)).toEqual([account.secretId]);
    });

    it("reads the parent org's settings for a project-level account", async () => {
      const account = seed(sim, 'atlas', { project: true });
      expect(await client().maxSecretValidityHours(account.target, account.credential)).toBe(8760);
      expect(log(sim).at(-1)).toBe(`GET ${V2}/orgs/${account.target.orgId}/settings bearer 200`);
    });

    it('names Project Owner when the credential has no role in the project', async () => {
      const account = seed(sim, 'atlas', { project: true });
      const { projectId: otherProject } = sim.createProject(account.target.orgId);
      const elsewhere = { ...account.target, projectId: parseProjectId(otherProject) };
      const error = await failure(client().createSecret(elsewhere, account.credential, 24));
      expect(error).toMatchObject({ code: 'ATLAS_FORBIDDEN', retryable: false, atlasStatus: 403 });
      expect(error.message).toContain(`in project ${otherProject} (org ${account.target.orgId})`);
      expect(error.message).toContain('needs Project Owner or Organization Owner');
    });
  });

  describe('Cloud Manager public API v1.0', () => {
    for (const project of [false, true]) {
      const level = project ? 'project' : 'org';

      it(`${level} level with a service account bearer token: list, create (POST …/secrets/), delete`, async () => {
        const account = seed(sim, 'cloud-manager', { project });
        const atlas = client();

        expect((await atlas.listSecrets(account.target, account.credential)).map((s) => s.id)).toEqual([
          account.secretId,
        ]);
        const created = await atlas.createSecret(account.target, account.credential, 24);
        expect(created.secret.reveal()).toMatch(/^mdb_sa_sk_/);
        expect(Date.parse(created.expiresAt) - Date.parse(created.createdAt)).toBe(24 * 3600 * 1000);
        expect(await atlas.deleteSecret(account.target, created.id, account.credential)).toBe(true);
        expect(await atlas.deleteSecret(account.target, created.id, account.credential)).toBe(false);

        expect(log(sim, account)).toEqual([
          `POST ${TOKEN_PATH} basic 200`,
          `GET ${V1}… bearer 200`,
          `POST ${V1}…/secrets/ bearer 201`,
          `DELETE ${V1}…/secrets/${created.id} bearer 204`,
          `DELETE ${V1}…/secrets/${created.id} bearer 404`,
        ]);
        const publicCalls = sim.requests.filter((r) => r.path.startsWith(V1));
        expect(publicCalls.every((r) => r.accept === 'application/json')).toBe(true);
        expect(secretsOf(sim, account)).toEqual([account.secretId]);
      });

      it(`${level} level with an API key over HTTP Digest: list, create, delete`, async () => {
        const account = seed(sim, 'cloud-manager', { project });
        const key = apiKeyFor(sim, account);
        const atlas = client();

        expect(await atlas.listSecrets(account.target, key)).toHaveLength(1);
        const created = await atlas.createSecret(account.target, key, 24);
        expect(created.secret.reveal()).toMatch(/^mdb_sa_sk_/);
        expect(await atlas.deleteSecret(account.target, created.id, key)).toBe(true);

        // One challenge round-trip, then the nonce is reused: no token is ever minted for an API key.
        expect(log(sim, account)).toEqual([
          `GET ${V1}… none 401`,
          `GET ${V1}… digest 200`,
          `POST ${V1}…/secrets/ digest 201`,
          `DELETE ${V1}…/secrets/${created.id} digest 204`,
        ]);
        expect(
          sim.requests.filter((r) => r.auth === 'digest').every((r) => r.publicKey === key.publicKey),
        ).toBe(true);
        expect(secretsOf(sim, account)).toEqual([account.secretId]);
      });
    }

    it('has no secret-validity setting: undefined without a call', async () => {
      const account = seed(sim, 'cloud-manager');
      const atlas = client();
      expect(await atlas.maxSecretValidityHours(account.target, account.credential)).toBeUndefined();
      expect(await atlas.maxSecretValidityHours(account.target, apiKeyFor(sim, account))).toBeUndefined();
      expect(sim.requests).toHaveLength(0);
    });

    it("maps Cloud Manager's error body (400 INVALID_ATTRIBUTE) as on Atlas", async () => {
      const account = seed(sim, 'cloud-manager');
      const error = await failure(client().createSecret(account.target, apiKeyFor(sim, account), 9000));
      expect(error).toMatchObject({
        code: 'ATLAS_BAD_REQUEST',
        retryable: false,
        atlasStatus: 400,
        atlasErrorCode: 'INVALID_ATTRIBUTE',
      });
      expect(error.message).toMatch(
        /^Cloud Manager rejected the request to create a secret for service account .+\(400 INVALID_ATTRIBUTE\): .*between 8 and 8766/,
      );
      expect(secretsOf(sim, account)).toEqual([account.secretId]);
    });

    it('reads enveloped answers ({status, content}) to list, create, delete and errors', async () => {
      const account = seed(sim, 'cloud-manager');
      let enveloped = 0;
      const envelope: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => {
        if (!options.path.startsWith(V1)) return dispatch(options, handler);
        enveloped += 1;
        return dispatch({ ...options, path: `${options.path}?envelope=true` }, handler);
      };
      const atlas = client({}, (origin) => dispatcherFor(origin).compose(envelope));

      expect(await atlas.listSecrets(account.target, account.credential)).toHaveLength(1);
      const created = await atlas.createSecret(account.target, account.credential, 24);
      expect(created.secret.reveal()).toMatch(/^mdb_sa_sk_/);
      expect(await atlas.deleteSecret(account.target, created.id, account.credential)).toBe(true);
      expect(await atlas.deleteSecret(account.target, created.id, account.credential)).toBe(false);
      const tooLong = await failure(atlas.createSecret(account.target, account.credential, 9000));
      expect(tooLong).toMatchObject({ code: 'ATLAS_BAD_REQUEST', atlasErrorCode: 'INVALID_ATTRIBUTE' });
      expect(enveloped).toBe(5);
      expect(log(sim, account).slice(1)).toEqual([
        `GET ${V1}… bearer 200`,
        `POST ${V1}…/secrets/ bearer 201`,
        `DELETE ${V1}…/secrets/${created.id} bearer 204`,
        `DELETE ${V1}…/secrets/${created.id} bearer 404`,
        `POST ${V1}…/secrets/ bearer 400`,
      ]);
      await atlas.close();
    });

    it('reads an enveloped create answer to a Digest request', async () => {
      const account = seed(sim, 'cloud-manager');
      const value = 'mdb_sa_sk_envelopedValue0123456789';
      sim.injectFault({
        method: 'POST',
        path: V1,
        skip: 1, // the unauthenticated first attempt gets its real challenge
        status: 201,
        body: {
          status: 201,
          content: {
            id: '0123456789abcdef01234567',
            secret: value,
            createdAt: '2026-01-01T00:00:00Z',
            expiresAt: '2026-01-02T00:00:00Z',
          },
        },
      });
      const created = await client().createSecret(account.target, apiKeyFor(sim, account), 24);
      expect(created).toMatchObject({ id: '0123456789abcdef01234567', expiresAt: '2026-01-02T00:00:00Z' });
      expect(created.secret.reveal()).toBe(value);
      expect(log(sim, account)).toEqual([`POST ${V1}…/secrets/ none 401`, `POST ${V1}…/secrets/ digest 201`]);
    });
  });

  describe('HTTP Digest', () => {
    it('makes exactly one successful create POST, after the challenge refused the first', async () => {
      const account = seed(sim, 'cloud-manager');
      const key = apiKeyFor(sim, account);
      const created = await client().createSecret(account.target, key, 24);
      expect(log(sim, account)).toEqual([`POST ${V1}…/secrets/ none 401`, `POST ${V1}…/secrets/ digest 201`]);
      expect(secretsOf(sim, account).sort()).toEqual([account.secretId, created.id].sort());
      expect(clock.sleeps).toEqual([]);
    });

    it('does not repeat the create POST after a 503 to the answered challenge', async () => {
      const account = seed(sim, 'cloud-manager');
      sim.injectFault({ method: 'POST', path: V1, skip: 1, status: 503 });
      const error = await failure(client().createSecret(account.target, apiKeyFor(sim, account), 24));
      expect(error).toMatchObject({ code: 'ATLAS_UNAVAILABLE', retryable: true, atlasStatus: 503 });
      expect(log(sim, account)).toEqual([`POST ${V1}…/secrets/ none 401`, `POST ${V1}…/secrets/ digest 503`]);
      expect(clock.sleeps).toEqual([]);
    });

    it('does not repeat the create POST when the connection drops after the work', async () => {
      const account = seed(sim, 'cloud-manager');
      sim.injectFault({ method: 'POST', path: V1, skip: 1, drop: 'after' });
      const error = await failure(client().createSecret(account.target, apiKeyFor(sim, account), 24));
      expect(error).toMatchObject({ code: 'ATLAS_NETWORK_ERROR', retryable: true });
      expect(error.message).toContain('may have been carried out');
      expect(log(sim, account)).toEqual([
        `POST ${V1}…/secrets/ none 401`,
        `POST ${V1}…/secrets/ digest after`,
      ]);
      expect(secretsOf(sim, account)).toHaveLength(2); // why it must not be repeated
    });

    it('maps a wrong API key to a permanent ATLAS_UNAUTHORIZED after one answered challenge', async () => {
      const account = seed(sim, 'cloud-manager');
      const right = apiKeyFor(sim, account);
      const wrongValue = '00000000-0000-4000-8000-000000000000';
      const wrong: ApiKeyCredential = { publicKey: right.publicKey, privateKey: SecretValue.of(wrongValue) };
      const atlas = client();

      const error = await failure(atlas.createSecret(account.target, wrong, 24));
      expect(error).toMatchObject({
        code: 'ATLAS_UNAUTHORIZED',
        retryable: false,
        atlasStatus: 401,
        atlasErrorCode: 'UNAUTHORIZED',
      });
      expect(error.message).toContain('the API key was rejected');
      expect(log(sim, account)).toEqual([`POST ${V1}…/secrets/ none 401`, `POST ${V1}…/secrets/ digest 401`]);
      expect(secretsOf(sim, account)).toEqual([account.secretId]);
      expectNoLeak(error, wrongValue, right.privateKey.reveal());

      const unknown = await failure(
        atlas.listSecrets(account.target, { publicKey: 'zzzzzzzz', privateKey: SecretValue.of(wrongValue) }),
      );
      expect(unknown).toMatchObject({ code: 'ATLAS_UNAUTHORIZED', retryable: false });
      expectNoLeak(unknown, wrongValue);
    });

    it('answers a stale nonce with the new one once the simulator expires it', async () => {
      let simNowMs = Date.now();
      const timed = await AtlasSimulator.start({ now: () => new Date(simNowMs), digestNonceTtlSeconds: 60 });
      try {
        const account = seed(timed, 'cloud-manager');
        const key = apiKeyFor(timed, account);
        const atlas = client({ baseUrl: timed.baseUrl });
        await atlas.listSecrets(account.target, key);
        simNowMs += 61_000;
        await atlas.listSecrets(account.target, key);
        simNowMs += 61_000;
        const created = await atlas.createSecret(account.target, key, 24);
        expect(log(timed, account)).toEqual([
          `GET ${V1}… none 401`,
          `GET ${V1}… digest 200`,
          `GET ${V1}… digest 401`, // stale=true
          `GET ${V1}… digest 200`,
          `POST ${V1}…/secrets/ digest 401`, // stale=true: refused before anything was created
          `POST ${V1}…/secrets/ digest 201`,
        ]);
        expect(secretsOf(timed, account).sort()).toEqual([account.secretId, created.id].sort());
        await atlas.close();
      } finally {
        await timed.close();
      }
    });

    it('answers stale=true once more after the challenge, but not twice', async () => {
      const account = seed(sim, 'cloud-manager');
      const key = apiKeyFor(sim, account);
      const nonce = await issuedNonce(sim);
      sim.clearRequests();
      const challenge = { 'www-authenticate': staleChallenge(nonce) };
      sim.injectFault({ method: 'GET', path: V1, skip: 1, status: 401, headers: challenge });
      expect(await client().listSecrets(account.target, key)).toHaveLength(1);
      expect(log(sim, account)).toEqual([
        `GET ${V1}… none 401`,
        `GET ${V1}… digest 401`,
        `GET ${V1}… digest 200`,
      ]);

      sim.clearRequests();
      const nonces = [await issuedNonce(sim), await issuedNonce(sim)];
      sim.clearRequests();
      for (const n of nonces) {
        sim.injectFault({
          method: 'GET',
          path: V1,
          skip: 1, // a skip counts on every rule the request passes: both let the first attempt through
          status: 401,
          headers: { 'www-authenticate': staleChallenge(n) },
        });
      }
      const error = await failure(client().listSecrets(account.target, key));
      expect(error).toMatchObject({ code: 'ATLAS_UNAUTHORIZED', retryable: false });
      expect(log(sim, account)).toEqual([
        `GET ${V1}… none 401`,
        `GET ${V1}… digest 401`,
        `GET ${V1}… digest 401`,
      ]);
    });

    it('works on the Admin API v2 too, settings included', async () => {
      const account = seed(sim, 'atlas');
      const key = apiKeyFor(sim, account);
      const atlas = client();
      expect(await atlas.listSecrets(account.target, key)).toHaveLength(1);
      expect(await atlas.maxSecretValidityHours(account.target, key)).toBe(8760);
      expect(log(sim, account)).toEqual([
        `GET ${V2}… none 401`,
        `GET ${V2}… digest 200`,
        `GET ${V2}/orgs/${account.target.orgId}/settings digest 200`,
      ]);
    });

    it('mints no token for an API key; endRotation leaves its nonce alone', async () => {
      const account = seed(sim, 'cloud-manager');
      const key = apiKeyFor(sim, account);
      const atlas = client();
      await atlas.listSecrets(account.target, key);
      await atlas.endRotation([key]);
      await atlas.listSecrets(account.target, key);
      await atlas.close();
      expect(log(sim, account)).toEqual([
        `GET ${V1}… none 401`,
        `GET ${V1}… digest 200`,
        `GET ${V1}… digest 200`,
      ]);
    });

    it('keeps the private key and Digest responses out of errors and util.inspect', async () => {
      const account = seed(sim, 'cloud-manager');
      const key = apiKeyFor(sim, account);
      sim.injectFault({
        method: 'GET',
        path: V1,
        skip: 1,
        status: 400,
        body: { error: 400, errorCode: 'INVALID_ATTRIBUTE', detail: `Echo ${key.privateKey.reveal()} here` },
      });
      const atlas = client();
      const error = await failure(atlas.listSecrets(account.target, key));
      expect(error.message).toContain('Echo [REDACTED] here');
      expectNoLeak(error, key.privateKey.reveal());
      expectNoLeak(atlas, key.privateKey.reveal(), account.credential.clientSecret.reveal());
    });
  });

  describe('two origins', () => {
    it('serves Atlas and an Ops Manager origin from one client, with a pool and tokens per origin', async () => {
      const atlasAccount = seed(sim, 'atlas');
      const opsAccount = seed(ops, 'cloud-manager');
      const opsKey = apiKeyFor(ops, opsAccount);
      const atlas = client();

      await atlas.listSecrets(atlasAccount.target, atlasAccount.credential);
      await atlas.listSecrets(opsAccount.target, opsAccount.credential);
      await atlas.listSecrets(opsAccount.target, opsKey);
      await atlas.listSecrets(atlasAccount.target, atlasAccount.credential);
      await atlas.listSecrets(opsAccount.target, opsAccount.credential);

      expect(pools.built.map((b) => b.origin)).toEqual([sim.baseUrl, ops.baseUrl]);
      expect(log(sim, atlasAccount)).toEqual([
        `POST ${TOKEN_PATH} basic 200`,
        `GET ${V2}… bearer 200`,
        `GET ${V2}… bearer 200`,
      ]);
      expect(log(ops, opsAccount)).toEqual([
        `POST ${TOKEN_PATH} basic 200`,
        `GET ${V1}… bearer 200`,
        `GET ${V1}… none 401`,
        `GET ${V1}… digest 200`,
        `GET ${V1}… bearer 200`,
      ]);

      const error = await failure(atlas.createSecret(opsAccount.target, opsKey, 9000));
      expect(error.message).toMatch(new RegExp(`^Cloud Manager \\(${ops.baseUrl}\\) rejected the request`));

      sim.clearRequests();
      ops.clearRequests();
      await atlas.close();
      expect(log(sim)).toEqual([`POST ${REVOKE_PATH} basic 200`]);
      expect(log(ops)).toEqual([`POST ${REVOKE_PATH} basic 200`]);
      expect(pools.built.every((b) => b.pool.closed)).toBe(true);
    });

    it('never sends a token minted at one origin to another', async () => {
      const account = seed(sim, 'atlas');
      const atlas = client();
      await atlas.listSecrets(account.target, account.credential);
      const elsewhere: AtlasTarget = { ...account.target, baseUrl: ops.baseUrl };
      const error = await failure(atlas.listSecrets(elsewhere, account.credential));
      expect(error).toMatchObject({ code: 'ATLAS_INVALID_CLIENT', retryable: false });
      expect(log(ops)).toEqual([`POST ${TOKEN_PATH} basic 401`]);
      expect(ops.requests[0]?.clientId).toBe(account.target.clientId);
    });

    it("releases and forgets a credential's tokens on every origin", async () => {
      const account = seed(sim, 'atlas');
      const elsewhere: AtlasTarget = { ...account.target, baseUrl: ops.baseUrl };
      // The same account "exists" at the second origin too: its token and read come from faults there.
      const fakeOps = () => {
        ops.injectFault({
          method: 'POST',
          path: TOKEN_PATH,
          status: 200,
          body: { access_token: 'ops-token-of-the-account', token_type: 'Bearer', expires_in: 3600 },
        });
        ops.injectFault({ method: 'GET', path: V2, status: 200, body: { secrets: [] } });
      };
      const atlas = client();
      fakeOps();
      await atlas.listSecrets(account.target, account.credential);
      expect(await atlas.listSecrets(elsewhere, account.credential)).toEqual([]);

      await atlas.endRotation([account.credential]);
      expect(log(sim).filter((l) => l.includes(REVOKE_PATH))).toEqual([`POST ${REVOKE_PATH} basic 200`]);
      expect(ops.requests.filter((r) => r.path === REVOKE_PATH).map((r) => r.clientId)).toEqual([
        account.target.clientId,
      ]);

      sim.clearRequests();
      ops.clearRequests();
      fakeOps();
      await atlas.listSecrets(account.target, account.credential);
      await atlas.listSecrets(elsewhere, account.credential);
      // A delete of the secret a credential names kills its tokens: forgotten on every origin, not revoked.
      const created = await atlas.createSecret(account.target, account.credential, 720);
      await atlas.deleteSecret(account.target, created.id, {
        ...account.credential,
        atlasSecretId: created.id,
      });
      fakeOps();
      await atlas.listSecrets(account.target, account.credential);
      await atlas.listSecrets(elsewhere, account.credential);
      expect(sim.requests.filter((r) => r.path === TOKEN_PATH)).toHaveLength(2);
      expect(ops.requests.filter((r) => r.path === TOKEN_PATH)).toHaveLength(2);
      expect([...sim.requests, ...ops.requests].filter((r) => r.path === REVOKE_PATH)).toHaveLength(0);
    });

    it('serves only the default origin when given one dispatcher, and leaves it open', async () => {
      const account = seed(sim, 'atlas');
      const pool = dispatcherFor(sim.baseUrl);
      const single = new AtlasAdminApiClient({
        baseUrl: sim.baseUrl,
        dispatcher: pool,
        clock,
        allowInsecureHttp: true,
      });
      const elsewhere: AtlasTarget = { ...account.target, baseUrl: ops.baseUrl };
      await expect(single.listSecrets(elsewhere, account.credential)).rejects.toMatchObject({
        code: 'INVALID_ATLAS_BASE_URL',
        retryable: false,
      });
      expect(ops.requests).toHaveLength(0);
      expect(await single.listSecrets(account.target, account.credential)).toHaveLength(1);
      await single.close();
      expect(pool.closed).toBe(false);
    });
  });
});

/** What the simulator cannot show: the exact Digest header and request bodies, and a bare-200 envelope. */
describe('AtlasAdminApiClient wire details (undici MockAgent)', () => {
  const origin = 'https://ops.example.test';
  const orgId = parseOrgId('0123456789abcdef01234567');
  const clientId = parseClientId('mdb_sa_id_0123456789abcdef01234567');
  const target: AtlasTarget = {
    baseUrl: origin,
    flavor: 'cloud-manager',
    projectId: undefined,
    orgId,
    clientId,
    apiVersion: parseApiVersion('2024-08-05'),
  };
  const accountPath = `${V1}/orgs/${orgId}/serviceAccounts/${clientId}`;
  const key: ApiKeyCredential = { publicKey: 'abcdefgh', privateKey: SecretValue.of('private-key-value') };
  let agent: MockAgent;

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
  });

  afterEach(async () => {
    await agent.close();
  });

  const atlas = () =>
    new AtlasAdminApiClient({ baseUrl: origin, dispatcherFor: () => agent, clock: new RecordingClock() });

  function params(header: string): Map<string, string> {
    const found = new Map<string, string>();
    for (const m of header.replace(/^Digest /, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) {
      found.set(m[1] ?? '', m[2] ?? m[3] ?? '');
    }
    return found;
  }

  const md5 = (text: string) => createHash('md5').update(text).digest('hex');

  it('answers a Digest challenge as RFC 7616 says, and reuses the nonce with the next nc', async () => {
    const seen: string[] = [];
    const pool = agent.get(origin);
    pool.intercept({ path: accountPath, method: 'GET' }).reply(
      401,
      { error: 401, errorCode: 'UNAUTHORIZED', detail: 'no' },
      {
        headers: {
          'www-authenticate':
            'Bearer realm="x", Digest realm="MMS Public API", domain="", nonce="n0nce", ' +
            'algorithm=MD5, qop="auth,auth-int", opaque="0paque", stale=false',
        },
      },
    );
    for (let i = 0; i < 2; i += 1) {
      pool.intercept({ path: accountPath, method: 'GET' }).reply(200, (options) => {
        seen.push(String((options.headers as Record<string, string>).authorization));
        return { secrets: [] };
      });
    }
    const client = atlas();
    await client.listSecrets(target, key);
    await client.listSecrets(target, key);

    const [first, second] = seen.map(params);
    expect(seen.every((h) => h.startsWith('Digest '))).toBe(true);
    for (const [p, nc] of [
      [first, '00000001'],
      [second, '00000002'],
    ] as const) {
      expect(p).toBeDefined();
      const get = (name: string) => p?.get(name) ?? '';
      expect(get('username')).toBe('abcdefgh');
      expect(get('realm')).toBe('MMS Public API');
      expect(get('nonce')).toBe('n0nce');
      expect(get('uri')).toBe(accountPath);
      expect(get('algorithm')).toBe('MD5');
      expect(get('qop')).toBe('auth');
      expect(get('nc')).toBe(nc);
      expect(get('cnonce')).toMatch(/^[0-9a-f]{32}$/);
      expect(get('opaque')).toBe('0paque');
      const ha1 = md5('abcdefgh:MMS Public API:private-key-value');
      const ha2 = md5(`GET:${accountPath}`);
      expect(get('response')).toBe(md5(`${ha1}:n0nce:${nc}:${get('cnonce')}:auth:${ha2}`));
    }
    expect(first?.get('cnonce')).not.toBe(second?.get('cnonce'));
  });

  it('does not answer a challenge it cannot speak (SHA-256 only)', async () => {
    agent
      .get(origin)
      .intercept({ path: accountPath, method: 'GET' })
      .reply(
        401,
        { error: 401, errorCode: 'UNAUTHORIZED' },
        {
          headers: {
            'www-authenticate': 'Digest realm="MMS Public API", nonce="n", algorithm=SHA-256, qop="auth"',
          },
        },
      );
    const error = await failure(atlas().listSecrets(target, key));
    expect(error).toMatchObject({ code: 'ATLAS_UNAUTHORIZED', atlasStatus: 401 });
  });

  it('sends secretExpiresAfterHours as the documented string on v1.0 and as an integer on v2', async () => {
    const bodies: unknown[] = [];
    const contentTypes: unknown[] = [];
    const capture = (id: string) => (options: { body?: unknown; headers?: unknown }) => {
      bodies.push(options.body);
      contentTypes.push((options.headers as Record<string, string>)['content-type']);
      return {
        id,
        secret: 'mdb_sa_sk_x',
        createdAt: '2026-01-01T00:00:00Z',
        expiresAt: '2026-01-02T00:00:00Z',
      };
    };
    const pool = agent.get(origin);
    pool
      .intercept({ path: `${accountPath}/secrets/`, method: 'POST' })
      .reply(
        401,
        {},
        { headers: { 'www-authenticate': 'Digest realm="MMS Public API", nonce="n", qop="auth"' } },
      );
    pool
      .intercept({ path: `${accountPath}/secrets/`, method: 'POST' })
      .reply(201, capture('0123456789abcdef01234567'));
    pool
      .intercept({ path: `${V2}/orgs/${orgId}/serviceAccounts/${clientId}/secrets`, method: 'POST' })
      .reply(
        401,
        {},
        { headers: { 'www-authenticate': 'Digest realm="MMS Public API", nonce="m", qop="auth"' } },
      );
    pool
      .intercept({ path: `${V2}/orgs/${orgId}/serviceAccounts/${clientId}/secrets`, method: 'POST' })
      .reply(201, capture('0123456789abcdef01234568'));
    const client = atlas();
    await client.createSecret(target, key, 24);
    await client.createSecret({ ...target, flavor: 'atlas' }, key, 24);
    expect(bodies).toEqual(['{"secretExpiresAfterHours":"24"}', '{"secretExpiresAfterHours":24}']);
    expect(contentTypes).toEqual(['application/json', SA_MEDIA_TYPE]);
  });

  it('takes the status of an envelope served with a bare 200', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: `${accountPath}/secrets/`, method: 'POST' }).reply(
      401,
      {},
      {
        headers: { 'www-authenticate': 'Digest realm="MMS Public API", nonce="n", qop="auth"' },
      },
    );
    pool.intercept({ path: `${accountPath}/secrets/`, method: 'POST' }).reply(200, {
      status: 409,
      content: { error: 409, errorCode: 'DATA_CONCURRENCY_ERROR', detail: 'A concurrent request.' },
    });
    const error = await failure(atlas().createSecret(target, key, 24));
    expect(error).toMatchObject({
      code: 'ATLAS_CONFLICT',
      atlasStatus: 409,
      atlasErrorCode: 'DATA_CONCURRENCY_ERROR',
    });
  });
});
