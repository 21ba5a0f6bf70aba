/**
 * One set of behavioural expectations for the AtlasServiceAccounts port, run against both implementations the
 * tests use: the in-memory fake (test/support/fake-atlas.ts, behind every unit test of the rotation) and the
 * real adapter (AtlasAdminApiClient over HTTP) talking to the Atlas simulator (written from the spec). When
 * the fake and the simulator disagree on what Atlas does, this suite fails, so the fake cannot drift again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtlasAdminApiClient } from '../../src/adapters/outbound/atlas/atlas-admin-api-client.js';
import type {
  AtlasServiceAccounts,
  AtlasTarget,
} from '../../src/application/ports/atlas-service-accounts.js';
import type { ServiceAccountCredential } from '../../src/domain/credential.js';
import type { ApiVersion, AtlasSecretId, ClientId, OrgId } from '../../src/domain/identifiers.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { AtlasWorld, InMemoryAtlasServiceAccounts } from '../support/fake-atlas.js';
import { BuiltPools, failure, RecordingClock } from './support/atlas-client-harness.js';

const HOUR_MS = 3_600_000;
const SEVEN_DAYS_MS = 7 * 24 * HOUR_MS;

interface SeededAccount {
  readonly target: AtlasTarget;
  readonly credential: ServiceAccountCredential;
  readonly secretId: AtlasSecretId;
}

/** What the suite needs of an Atlas: an org, accounts with roles, a client, and a look at the secrets. */
interface AtlasUnderTest {
  readonly name: string;
  readonly now: () => Date;
  newOrg(): OrgId;
  newAccount(orgId: OrgId, roles: readonly string[]): SeededAccount;
  /** A fresh client, as a new process would have (no cached tokens). */
  client(): AtlasServiceAccounts;
  secretIds(account: SeededAccount): string[];
  close(): Promise<void>;
}

function targetOf(baseUrl: string, orgId: OrgId, clientId: ClientId): AtlasTarget {
  return {
    baseUrl,
    flavor: 'atlas',
    orgId,
    projectId: undefined,
    clientId,
    apiVersion: '2024-08-05' as ApiVersion,
  };
}

function fakeAtlas(): AtlasUnderTest {
  const start = Date.parse('2026-06-01T09:00:00.000Z');
  const world = new AtlasWorld(() => new Date(start));
  let orgs = 0;
  let accounts = 0;
  let secrets = 0;
  return {
    name: 'the fake Atlas (test/support/fake-atlas.ts)',
    now: world.now,
    newOrg: () => {
      orgs += 1;
      return `${orgs.toString(16).padStart(24, 'a')}`.slice(-24) as OrgId;
    },
    newAccount: (orgId, roles) => {
      accounts += 1;
      secrets += 1;
      const clientId = `mdb_sa_id_${accounts.toString(16).padStart(24, '0')}` as ClientId;
      const secretId = `5eeded${secrets.toString(16).padStart(18, '0')}` as AtlasSecretId;
      const value = `mdb_sa_sk_seeded_${secrets.toString().padStart(8, '0')}`;
      world.addAccount({
        clientId,
        orgId,
        roles,
        secrets: [
          {
            id: secretId,
            value,
            createdAt: new Date(start - HOUR_MS).toISOString(),
            expiresAt: new Date(start + 90 * 24 * HOUR_MS).toISOString(),
          },
        ],
      });
      return {
        target: targetOf('https://cloud.mongodb.com', orgId, clientId),
        credential: { clientId, clientSecret: SecretValue.of(value) },
        secretId,
      };
    },
    client: () => new InMemoryAtlasServiceAccounts(world),
    secretIds: (account) => world.secretIds(account.target.clientId),
    close: async () => {},
  };
}

async function simulatedAtlas(): Promise<AtlasUnderTest> {
  const simulator = await AtlasSimulator.start();
  const pools = new BuiltPools();
  const clients: AtlasAdminApiClient[] = [];
  return {
    name: 'the real adapter against the Atlas simulator',
    now: () => new Date(),
    newOrg: () => simulator.createOrg().orgId as OrgId,
    newAccount: (orgId, roles) => {
      const seeded = simulator.createServiceAccount(orgId, { roles: [...roles] });
      return {
        target: targetOf(simulator.baseUrl, orgId, seeded.clientId as ClientId),
        credential: { clientId: seeded.clientId as ClientId, clientSecret: SecretValue.of(seeded.secret) },
        secretId: seeded.secretId as AtlasSecretId,
      };
    },
    client: () => {
      const client = new AtlasAdminApiClient({
        baseUrl: simulator.baseUrl,
        dispatcherFor: pools.dispatcherFor,
        clock: new RecordingClock(),
        allowInsecureHttp: true,
        maxAttempts: 1,
      });
      clients.push(client);
      return client;
    },
    secretIds: (account) =>
      simulator.serviceAccount(account.target.orgId, account.target.clientId)?.secrets.map((s) => s.id) ?? [],
    close: async () => {
      await Promise.allSettled(clients.map((c) => c.close()));
      await pools.closeAll();
      await simulator.close();
    },
  };
}

const implementations: readonly [string, () => Promise<AtlasUnderTest>][] = [
  ['fake', async () => fakeAtlas()],
  ['simulator', simulatedAtlas],
];

describe.each(implementations)('the AtlasServiceAccounts contract: %s', (_, make) => {
  let atlas: AtlasUnderTest;

  beforeAll(async () => {
    atlas = await make();
  });

  afterAll(async () => {
    await atlas.close();
  });

  function owner(): SeededAccount {
    return atlas.newAccount(atlas.newOrg(), ['ORG_OWNER']);
  }

  it('lists an account’s secrets with their ids and expiry', async () => {
    const account = owner();
    const secrets = await atlas.client().listSecrets(account.target, account.credential);
    expect(secrets.map((s) => s.id)).toEqual([account.secretId]);
    expect(Date.parse(secrets[0]?.expiresAt ?? '')).toBeGreaterThan(atlas.now().getTime());
    expect(Date.parse(secrets[0]?.createdAt ?? '')).toBeLessThanOrEqual(atlas.now().getTime());
  });

  it('creates a secret whose value works, and cuts the other secret to at most seven days', async () => {
    const account = owner();
    const client = atlas.client();
    const created = await client.createSecret(account.target, account.credential, 720);

    expect(created.secret.reveal()).toMatch(/^mdb_sa_sk_/);
    const createdAt = Date.parse(created.createdAt);
    expect(Date.parse(created.expiresAt) - createdAt).toBe(720 * HOUR_MS);
    const fresh = { clientId: account.target.clientId, clientSecret: created.secret };
    await atlas.client().proveCredential(account.target, fresh);
    const listed = await client.listSecrets(account.target, account.credential);
    const old = listed.find((s) => s.id === account.secretId);
    expect(Date.parse(old?.expiresAt ?? '')).toBeLessThanOrEqual(createdAt + SEVEN_DAYS_MS);
    expect(listed.map((s) => s.id).sort()).toEqual([account.secretId, created.id].sort());
  });

  it('refuses a third secret: an account holds at most two', async () => {
    const account = owner();
    const client = atlas.client();
    await client.createSecret(account.target, account.credential, 720);

    const refused = await failure(client.createSecret(account.target, account.credential, 720));

    expect(refused).toMatchObject({
      retryable: false,
      atlasStatus: 400,
      atlasErrorCode: 'SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED',
    });
    expect(atlas.secretIds(account)).toHaveLength(2);
  });

  it('lets one of two overlapping creates through and answers the other 409 DATA_CONCURRENCY_ERROR', async () => {
    const account = owner();

    const results = await Promise.allSettled([
      atlas.client().createSecret(account.target, account.credential, 720),
      atlas.client().createSecret(account.target, account.credential, 720),
    ]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(refused?.reason).toMatchObject({
      code: 'ATLAS_CONFLICT',
      atlasStatus: 409,
      atlasErrorCode: 'DATA_CONCURRENCY_ERROR',
      retryable: true,
    });
    expect(atlas.secretIds(account)).toHaveLength(2);
  });

  it('refuses a lifetime below eight hours', async () => {
    const account = owner();
    const refused = await failure(atlas.client().createSecret(account.target, account.credential, 7));
    expect(refused).toMatchObject({ code: 'ATLAS_BAD_REQUEST', atlasStatus: 400, retryable: false });
    expect(atlas.secretIds(account)).toEqual([account.secretId]);
  });

  it('deletes a secret once; deleting it again answers false', async () => {
    const account = owner();
    const client = atlas.client();
    const created = await client.createSecret(account.target, account.credential, 720);

    expect(await client.deleteSecret(account.target, created.id, account.credential)).toBe(true);
    expect(await client.deleteSecret(account.target, created.id, account.credential)).toBe(false);
    expect(atlas.secretIds(account)).toEqual([account.secretId]);
  });

  it('kills the tokens of a deleted secret: its credential no longer works', async () => {
    const account = owner();
    const client = atlas.client();
    const created = await client.createSecret(account.target, account.credential, 720);
    const fresh = { clientId: account.target.clientId, clientSecret: created.secret };
    await client.listSecrets(account.target, fresh);

    await client.deleteSecret(account.target, account.secretId, fresh);

    const refused = await failure(atlas.client().listSecrets(account.target, account.credential));
    expect(refused.code).toBe('ATLAS_INVALID_CLIENT');
    expect(await client.listSecrets(account.target, fresh)).toHaveLength(1);
  });

  it('proves a credential Atlas accepts and refuses one it does not know', async () => {
    const account = owner();
    await atlas.client().proveCredential(account.target, account.credential);

    const wrong = {
      clientId: account.target.clientId,
      clientSecret: SecretValue.of('mdb_sa_sk_not_a_secret'),
    };
    const refused = await failure(atlas.client().proveCredential(account.target, wrong));
    expect(refused).toMatchObject({ code: 'ATLAS_INVALID_CLIENT', retryable: false });
  });

  it('proves the credential of an account that holds no right to read itself', async () => {
    const account = atlas.newAccount(atlas.newOrg(), ['ORG_MEMBER']);
    await atlas.client().proveCredential(account.target, account.credential);
  });

  it('lets an Organization Member neither read nor manage service accounts (403)', async () => {
    const orgId = atlas.newOrg();
    const member = atlas.newAccount(orgId, ['ORG_MEMBER']);

    const read = await failure(atlas.client().listSecrets(member.target, member.credential));
    expect(read).toMatchObject({ code: 'ATLAS_FORBIDDEN', atlasStatus: 403, retryable: false });
    const create = await failure(atlas.client().createSecret(member.target, member.credential, 720));
    expect(create).toMatchObject({ code: 'ATLAS_FORBIDDEN', atlasStatus: 403 });
    expect(atlas.secretIds(member)).toEqual([member.secretId]);
  });

  it('lets Organization Read Only read but not create or delete', async () => {
    const orgId = atlas.newOrg();
    const reader = atlas.newAccount(orgId, ['ORG_READ_ONLY']);
    const client = atlas.client();

    expect(await client.listSecrets(reader.target, reader.credential)).toHaveLength(1);
    const create = await failure(client.createSecret(reader.target, reader.credential, 720));
    expect(create).toMatchObject({ code: 'ATLAS_FORBIDDEN', atlasStatus: 403 });
    const remove = await failure(client.deleteSecret(reader.target, reader.secretId, reader.credential));
    expect(remove).toMatchObject({ code: 'ATLAS_FORBIDDEN', atlasStatus: 403 });
    expect(atlas.secretIds(reader)).toEqual([reader.secretId]);
  });

  it('lets an admin of the org manage another account’s secrets', async () => {
    const orgId = atlas.newOrg();
    const admin = atlas.newAccount(orgId, ['ORG_OWNER']);
    const member = atlas.newAccount(orgId, ['ORG_MEMBER']);
    const client = atlas.client();

    const created = await client.createSecret(member.target, admin.credential, 720);
    expect(await client.deleteSecret(member.target, member.secretId, admin.credential)).toBe(true);
    expect(atlas.secretIds(member)).toEqual([created.id]);
    expect(atlas.secretIds(admin)).toEqual([admin.secretId]);
  });

  it('keeps an org owner out of another org’s accounts', async () => {
    const admin = owner();
    const victim = owner();
    const target = victim.target;

    const read = await failure(atlas.client().listSecrets(target, admin.credential));
    expect(read.atlasStatus).toBe(403);
    const create = await failure(atlas.client().createSecret(target, admin.credential, 720));
    expect(create.atlasStatus).toBe(403);
    expect(atlas.secretIds(victim)).toEqual([victim.secretId]);
  });

  it('reads the org’s maximum secret lifetime', async () => {
    const account = owner();
    expect(await atlas.client().maxSecretValidityHours(account.target, account.credential)).toBe(8760);
  });

  it('mints again after a run ended its use of a credential', async () => {
    const account = owner();
    const client = atlas.client();
    await client.listSecrets(account.target, account.credential);
    await client.endRotation([account.credential]);
    expect(await client.listSecrets(account.target, account.credential)).toHaveLength(1);
  });

  it('revokes a credential’s token only once the call running with it has ended', async () => {
    const account = owner();
    const client = atlas.client();

    const [listed] = await Promise.all([
      client.listSecrets(account.target, account.credential),
      client.endRotation([account.credential]),
    ]);

    expect(listed).toHaveLength(1);
  });

  it('keeps working for the other credential after one deletes its own secret', async () => {
    const account = owner();
    const client = atlas.client();
    const created = await client.createSecret(account.target, account.credential, 720);
    const old = { ...account.credential, atlasSecretId: account.secretId };
    const fresh = {
      clientId: account.target.clientId,
      clientSecret: created.secret,
      atlasSecretId: created.id,
    };
    await client.proveCredential(account.target, fresh);

    expect(await client.deleteSecret(account.target, account.secretId, old)).toBe(true);
    await client.endRotation([fresh, old]);

    expect((await client.listSecrets(account.target, fresh)).map((s) => s.id)).toEqual([created.id]);
    expect(await failure(client.listSecrets(account.target, old))).toMatchObject({ retryable: false });
  });
});
