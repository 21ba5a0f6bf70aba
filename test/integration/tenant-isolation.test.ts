import {
  CreateSecretCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TAG_ADMIN_SECRET_ARN,
  TAG_API_BASE_URL,
  TAG_API_FLAVOR,
  TAG_MANAGED,
} from '../../src/domain/rotation-metadata.js';
import type { RotationOutcome } from '../../src/domain/rotation-outcome.js';
import { CLAIM_LABEL } from '../../src/domain/rotation-protocol.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import {
  logLines,
  newToken,
  plainSecrets,
  processAdapters,
  region,
  rotateSecret,
  secretsManagerClient,
  valueAt,
} from './support/rotation-harness.js';

/**
 * The attack suite of the tenant-isolation issue: someone who may create and tag managed secrets tries to make
 * atlas-rotator act on another team's Atlas account, or to stop or churn a secret's rotation. Every attempt is
 * refused as a failed outcome (what the worker publishes as RotationFailed), and nothing changes in Atlas or in
 * Secrets Manager for anyone.
 */
let atlas: AtlasSimulator;
let client: SecretsManagerClient;
const opened: { close: () => Promise<void> }[] = [];
let counter = 0;
const ACCOUNT = `arn:aws:secretsmanager:${region}:000000000000:secret:`;

function adapters() {
  const a = processAdapters(atlas, client);
  opened.push(a);
  return a;
}

async function store(name: string, value: Record<string, unknown>, tags: Record<string, string> = {}) {
  const created = await client.send(
    new CreateSecretCommand({
      Name: `${name}/${Date.now()}-${counter++}`,
      SecretString: JSON.stringify(value),
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  return { arn: created.ARN ?? '', name: created.Name ?? '' };
}

async function versionsOf(secretId: string) {
  const listed = await client.send(
    new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true }),
  );
  return (listed.Versions ?? [])
    .map((v) => `${v.VersionId}:${[...(v.VersionStages ?? [])].sort().join(',')}`)
    .sort();
}

/** What could change for anyone: every managed secret's versions and every account's Atlas secrets. */
async function snapshot(secretIds: readonly string[], accounts: readonly (readonly [string, string])[]) {
  return {
    versions: await Promise.all(secretIds.map(versionsOf)),
    atlas: accounts.map(([orgId, clientId]) =>
      atlas.serviceAccount(orgId, clientId)?.secrets.map((s) => `${s.id}:${s.expiresAt}`),
    ),
  };
}

function expectRefused(outcome: RotationOutcome, errorCode: string) {
  expect(outcome).toMatchObject({ status: 'failed', errorCode, retryable: false });
}

/** The victim: team A's account, rotated by team A's admin, whose secret serves team A's secrets only. */
async function victimTeam(flavor: 'atlas-org' | 'atlas-project' | 'cloud-manager-api-key') {
  const { orgId } = atlas.createOrg();
  const projectId = flavor === 'atlas-project' ? atlas.createProject(orgId).projectId : undefined;
  const victim = atlas.createServiceAccount(
    orgId,
    projectId === undefined ? { roles: ['ORG_OWNER'] } : { projectId, projectRoles: ['GROUP_OWNER'] },
  );
  plainSecrets.add(victim.secret);
  const serves = [`${ACCOUNT}team-a/*`];
  let admin: { arn: string; name: string };
  if (flavor === 'cloud-manager-api-key') {
    const key = atlas.createApiKey(orgId, { roles: ['ORG_OWNER'] });
    plainSecrets.add(key.privateKey);
    admin = await store('team-a-admin', { publicKey: key.publicKey, privateKey: key.privateKey, serves });
  } else {
    const account = atlas.createServiceAccount(orgId, { roles: ['ORG_OWNER'] });
    plainSecrets.add(account.secret);
    admin = await store('team-a-admin', { clientId: account.clientId, clientSecret: account.secret, serves });
  }
  const apiFlavor = flavor === 'cloud-manager-api-key' ? 'cloud-manager' : 'atlas';
  const identity = { clientId: victim.clientId, orgId, ...(projectId === undefined ? {} : { projectId }) };
  const victimSecret = await store(
    'team-a',
    { ...identity, clientSecret: victim.secret },
    { [TAG_MANAGED]: 'true', [TAG_ADMIN_SECRET_ARN]: admin.arn, [TAG_API_FLAVOR]: apiFlavor },
  );
  return { orgId, victim, identity, admin, apiFlavor, victimSecret };
}

beforeAll(async () => {
  atlas = await AtlasSimulator.start();
  client = secretsManagerClient();
});

afterAll(async () => {
  await Promise.all(opened.map((a) => a.close()));
  client.destroy();
  await atlas.close();
});

describe('cross-tenant: a secret of team B names team A account and team A admin secret', () => {
  for (const flavor of ['atlas-org', 'atlas-project', 'cloud-manager-api-key'] as const) {
    it(`refuses it with ADMIN_SECRET_NOT_BOUND before any Atlas call (${flavor})`, async () => {
      const team = await victimTeam(flavor);
      const attacker = await store(
        'team-b',
        { ...team.identity, clientSecret: 'x' },
        { [TAG_MANAGED]: 'true', [TAG_ADMIN_SECRET_ARN]: team.admin.arn, [TAG_API_FLAVOR]: team.apiFlavor },
      );
      const accounts = [[team.orgId, team.victim.clientId]] as const;
      const before = await snapshot([attacker.arn, team.victimSecret.arn], accounts);
      const atlasCalls = atlas.requests.length;
      const outcome = await rotateSecret(adapters(), {
        adminSecretAllowList: [`${ACCOUNT}team-a-admin/*`],
      }).execute({ secretId: attacker.name, token: newToken() });
      expectRefused(outcome, 'ADMIN_SECRET_NOT_BOUND');
      expect(outcome.status === 'failed' && outcome.message).toContain(attacker.arn);
      expect(atlas.requests.length).toBe(atlasCalls);
      expect(await snapshot([attacker.arn, team.victimSecret.arn], accounts)).toEqual(before);
      // The same admin still rotates the secret it serves.
      const served = await rotateSecret(adapters(), {
        adminSecretAllowList: [`${ACCOUNT}team-a-admin/*`],
      }).execute({ secretId: team.victimSecret.name, token: newToken() });
      expect(served.status).toBe('completed');
    });
  }

  it('refuses an admin secret without serves, and says what to add', async () => {
    const { orgId } = atlas.createOrg();
    const account = atlas.createServiceAccount(orgId, { roles: ['ORG_OWNER'] });
    const adminAccount = atlas.createServiceAccount(orgId, { roles: ['ORG_OWNER'] });
    plainSecrets.add(account.secret).add(adminAccount.secret);
    const admin = await store('unbound-admin', {
      clientId: adminAccount.clientId,
      clientSecret: adminAccount.secret,
    });
    const secret = await store(
      'team-a',
      { clientId: account.clientId, clientSecret: account.secret, orgId },
      { [TAG_MANAGED]: 'true', [TAG_ADMIN_SECRET_ARN]: admin.arn },
    );
    const atlasCalls = atlas.requests.length;
    const outcome = await rotateSecret(adapters(), { adminSecretAllowList: [admin.arn] }).execute({
      secretId: secret.name,
      token: newToken(),
    });
    expectRefused(outcome, 'ADMIN_SECRET_NOT_BOUND');
    expect(outcome.status === 'failed' && outcome.message).toContain(`"serves": ["${secret.arn}"]`);
    expect(atlas.requests.length).toBe(atlasCalls);
  });
});

describe('a clientId swapped into a managed secret by hand', () => {
  it('refuses it with SECRET_IDENTITY_CHANGED, even behind two hand-written versions', async () => {
    const team = await victimTeam('atlas-org');
    // Team A's admin serves team A's secrets; one of them, once rotated, is pointed at another account of the org.
    const other = atlas.createServiceAccount(team.orgId, { roles: ['ORG_MEMBER'] });
    plainSecrets.add(other.secret);
    const settings = { adminSecretAllowList: [team.admin.arn] };
    const first = await rotateSecret(adapters(), settings).execute({
      secretId: team.victimSecret.name,
      token: newToken(),
    });
    expect(first.status).toBe('completed');
    for (let i = 0; i < 2; i++) {
      await client.send(
        new PutSecretValueCommand({
          SecretId: team.victimSecret.arn,
          SecretString: JSON.stringify({ clientId: other.clientId, clientSecret: 'x', orgId: team.orgId }),
        }),
      );
    }
    const accounts = [
      [team.orgId, team.victim.clientId],
      [team.orgId, other.clientId],
    ] as const;
    const before = await snapshot([team.victimSecret.arn], accounts);
    const atlasCalls = atlas.requests.length;
    const outcome = await rotateSecret(adapters(), settings).execute({
      secretId: team.victimSecret.name,
      token: newToken(),
    });
    expectRefused(outcome, 'SECRET_IDENTITY_CHANGED');
    expect(outcome.status === 'failed' && outcome.message).toContain('clientId');
    expect(atlas.requests.length).toBe(atlasCalls);
    expect(await snapshot([team.victimSecret.arn], accounts)).toEqual(before);
  });
});

describe('abuse limits', () => {
  async function selfManaged(tags: Record<string, string> = {}) {
    const { orgId } = atlas.createOrg();
    const account = atlas.createServiceAccount(orgId, { roles: ['ORG_OWNER'] });
    plainSecrets.add(account.secret);
    const secret = await store(
      'abuse',
      { clientId: account.clientId, clientSecret: account.secret, orgId },
      { [TAG_MANAGED]: 'true', ...tags },
    );
    return { orgId, account, secret };
  }

  it('refuses a flood of requests for one secret with ROTATION_TOO_SOON; a replay still answers as before', async () => {
    const { orgId, account, secret } = await selfManaged();
    const settings = { minIntervalMs: 60 * 60_000 };
    const token = newToken();
    const first = await rotateSecret(adapters(), settings).execute({ secretId: secret.name, token });
    expect(first.status).toBe('completed');
    const accounts = [[orgId, account.clientId]] as const;
    const before = await snapshot([secret.arn], accounts);
    const flood = await Promise.all(
      Array.from({ length: 5 }, () =>
        rotateSecret(adapters(), settings).execute({ secretId: secret.name, token: newToken() }),
      ),
    );
    for (const outcome of flood) {
      expectRefused(outcome, 'ROTATION_TOO_SOON');
      expect(outcome.status === 'failed' && outcome.message).toMatch(/from \d{4}-\d\d-\d\dT/);
    }
    expect(await snapshot([secret.arn], accounts)).toEqual(before);
    const replay = await rotateSecret(adapters(), settings).execute({ secretId: secret.name, token });
    expect(replay).toMatchObject({ status: 'completed', alreadyCompleted: true });
  });

  it('lets a forged claim hold the secret only for the lease, then rotates', async () => {
    const { secret } = await selfManaged();
    const leaseMs = 1_500;
    await client.send(
      new PutSecretValueCommand({
        SecretId: secret.arn,
        ClientRequestToken: `claim-${newToken()}`,
        SecretString: JSON.stringify({
          atlasRotatorClaim: { token: 'nobody', attempt: 99, execution: 'forged', basedOn: 'x' },
        }),
        VersionStages: [CLAIM_LABEL],
      }),
    );
    const before = await versionsOf(secret.arn);
    const held = await rotateSecret(adapters(), { leaseMs }).execute({
      secretId: secret.name,
      token: newToken(),
    });
    expect(held).toMatchObject({ status: 'failed', errorCode: 'ROTATION_IN_PROGRESS', retryable: true });
    const retryAt = held.status === 'failed' ? Date.parse(held.retryAt ?? '') : Number.NaN;
    expect(retryAt - Date.now()).toBeLessThanOrEqual(leaseMs);
    expect(await versionsOf(secret.arn)).toEqual(before);
    await new Promise((r) => setTimeout(r, leaseMs + 200));
    const after = await rotateSecret(adapters(), { leaseMs }).execute({
      secretId: secret.name,
      token: newToken(),
    });
    expect(after.status).toBe('completed');
  });

  it('refuses a tag pointing the API origin elsewhere with ATLAS_ORIGIN_NOT_ALLOWED', async () => {
    const { orgId, account, secret } = await selfManaged({ [TAG_API_BASE_URL]: 'https://attacker.example' });
    const accounts = [[orgId, account.clientId]] as const;
    const before = await snapshot([secret.arn], accounts);
    const atlasCalls = atlas.requests.length;
    const outcome = await rotateSecret(adapters()).execute({ secretId: secret.name, token: newToken() });
    expectRefused(outcome, 'ATLAS_ORIGIN_NOT_ALLOWED');
    expect(atlas.requests.length).toBe(atlasCalls);
    expect(await snapshot([secret.arn], accounts)).toEqual(before);
    expect((await valueAt(client, secret.arn, 'AWSCURRENT')).json.clientId).toBe(account.clientId);
  });

  it('writes no secret value to the logs', () => {
    const joined = logLines.join('\n');
    for (const secret of plainSecrets) expect(joined).not.toContain(secret);
  });
});
