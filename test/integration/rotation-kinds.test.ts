import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TAG_ADMIN_SECRET_ARN,
  TAG_API_BASE_URL,
  TAG_API_FLAVOR,
  TAG_CREATE_INTENT,
  TAG_MANAGED,
  TAG_ROTATION,
} from '../../src/domain/rotation-metadata.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import {
  crashAfter,
  credentialWorks,
  newToken,
  openClaims,
  plainSecrets,
  processAdapters,
  region,
  rotateSecret,
  secretsManagerClient,
  stagesOf,
  valueAt,
} from './support/rotation-harness.js';

/**
 * One secret of each kind a service account can live behind: Atlas org and project level (self-rotating),
 * Cloud Manager with an OAuth admin and with an API-key (Digest) admin, and Ops Manager at another origin.
 */
let atlas: AtlasSimulator;
let opsManager: AtlasSimulator;
let client: SecretsManagerClient;
const opened: { close: () => Promise<void> }[] = [];

interface Seeded {
  readonly simulator: AtlasSimulator;
  readonly orgId: string;
  readonly clientId: string;
  readonly secretName: string;
  readonly adminArn: string | undefined;
}

interface Kind {
  readonly name: string;
  readonly mode: 'self' | 'admin';
  /** Token mints that happen before the verification's mint in a clean run. */
  readonly mintsBeforeVerify: number;
  seed(): Promise<Seeded>;
}

let counter = 0;
/** What the admin secrets here serve: the managed secrets of this suite. */
const KINDS_SECRETS = `arn:aws:secretsmanager:${region}:000000000000:secret:kinds/*`;

async function storeSecret(name: string, value: Record<string, unknown>, tags: Record<string, string> = {}) {
  const created = await client.send(
    new CreateSecretCommand({
      Name: `${name}/${Date.now()}-${counter++}`,
      SecretString: JSON.stringify(value),
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  return { arn: created.ARN ?? '', name: created.Name ?? '' };
}

async function seed(
  simulator: AtlasSimulator,
  options: {
    readonly project: boolean;
    readonly admin: 'none' | 'oauth' | 'api-key';
    readonly flavor: 'atlas' | 'cloud-manager';
    readonly origin?: string;
  },
): Promise<Seeded> {
  const { orgId } = simulator.createOrg();
  const projectId = options.project ? simulator.createProject(orgId).projectId : undefined;
  const selfManaging = options.admin === 'none';
  const account = simulator.createServiceAccount(orgId, {
    ...(projectId === undefined
      ? { roles: selfManaging ? ['ORG_OWNER'] : ['ORG_MEMBER'] }
      : { projectId, projectRoles: selfManaging ? ['GROUP_OWNER'] : ['GROUP_READ_ONLY'] }),
  });
  plainSecrets.add(account.secret);
  let adminArn: string | undefined;
  if (options.admin === 'oauth') {
    const admin = simulator.createServiceAccount(orgId, { roles: ['ORG_OWNER'] });
    plainSecrets.add(admin.secret);
    adminArn = (
      await storeSecret('kinds-admin', {
        clientId: admin.clientId,
        clientSecret: admin.secret,
        serves: [KINDS_SECRETS],
      })
    ).arn;
  } else if (options.admin === 'api-key') {
    const key = simulator.createApiKey(orgId, { roles: ['ORG_OWNER'] });
    plainSecrets.add(key.privateKey);
    adminArn = (
      await storeSecret('kinds-admin', {
        publicKey: key.publicKey,
        privateKey: key.privateKey,
        serves: [KINDS_SECRETS],
      })
    ).arn;
  }
  const tags: Record<string, string> = { [TAG_MANAGED]: 'true', [TAG_API_FLAVOR]: options.flavor };
  if (adminArn !== undefined) tags[TAG_ADMIN_SECRET_ARN] = adminArn;
  if (options.origin !== undefined) tags[TAG_API_BASE_URL] = options.origin;
  const secret = await storeSecret(
    'kinds',
    {
      clientId: account.clientId,
      clientSecret: account.secret,
      orgId,
      ...(projectId === undefined ? {} : { projectId }),
    },
    tags,
  );
  return { simulator, orgId, clientId: account.clientId, secretName: secret.name, adminArn };
}

const KINDS: readonly Kind[] = [
  {
    name: 'Atlas org-level account (self)',
    mode: 'self',
    mintsBeforeVerify: 1,
    seed: () => seed(atlas, { project: false, admin: 'none', flavor: 'atlas' }),
  },
  {
    name: 'Atlas project-level account (self, Project Owner)',
    mode: 'self',
    mintsBeforeVerify: 1,
    seed: () => seed(atlas, { project: true, admin: 'none', flavor: 'atlas' }),
  },
  {
    name: 'Cloud Manager project account with an OAuth admin',
    mode: 'admin',
    mintsBeforeVerify: 1,
    seed: () => seed(atlas, { project: true, admin: 'oauth', flavor: 'cloud-manager' }),
  },
  {
    name: 'Cloud Manager org account with an API-key (Digest) admin',
    mode: 'admin',
    mintsBeforeVerify: 0,
    seed: () => seed(atlas, { project: false, admin: 'api-key', flavor: 'cloud-manager' }),
  },
  {
    name: 'Ops Manager at a non-default origin with an API-key admin',
    mode: 'admin',
    mintsBeforeVerify: 0,
    seed: () =>
      seed(opsManager, {
        project: true,
        admin: 'api-key',
        flavor: 'cloud-manager',
        origin: opsManager.baseUrl,
      }),
  },
];

function adapters() {
  const a = processAdapters(atlas, client);
  opened.push(a);
  return a;
}

function rotation(
  wrap: Parameters<typeof rotateSecret>[2] = {},
  admins: readonly string[] = [],
  leaseMs?: number,
) {
  return rotateSecret(
    adapters(),
    {
      ...(leaseMs === undefined ? {} : { leaseMs }),
      adminSecretAllowList: [...admins],
      origins: {
        defaultBaseUrl: atlas.baseUrl,
        allowedBaseUrls: [atlas.baseUrl, opsManager.baseUrl],
        allowInsecureHttp: true,
      },
    },
    wrap,
  );
}

async function expectConverged(seeded: Seeded) {
  const { byStage, tags } = await stagesOf(client, seeded.secretName);
  // ADR 0007: AWSPENDING stays beside AWSCURRENT; no claim is left open.
  expect([undefined, byStage.AWSCURRENT]).toContain(byStage.AWSPENDING);
  expect(await openClaims(client, seeded.secretName)).toEqual([]);
  expect(tags[TAG_ROTATION]).toBeUndefined();
  expect(tags[TAG_CREATE_INTENT]).toBeUndefined();
  const current = await valueAt(client, seeded.secretName, 'AWSCURRENT');
  expect(await credentialWorks(seeded.simulator, seeded.clientId, current.json.clientSecret ?? '')).toBe(
    true,
  );
  const live = seeded.simulator.serviceAccount(seeded.orgId, seeded.clientId)?.secrets.map((s) => s.id);
  expect(live).toEqual([current.json.atlasSecretId]);
}

beforeAll(async () => {
  atlas = await AtlasSimulator.start();
  opsManager = await AtlasSimulator.start();
  client = secretsManagerClient();
});

afterAll(async () => {
  await Promise.all(opened.map((a) => a.close()));
  client.destroy();
  await atlas.close();
  await opsManager.close();
});

describe.each(KINDS)('$name', (kind) => {
  it('rotates and converges', async () => {
    const seeded = await kind.seed();
    const admins = seeded.adminArn === undefined ? [] : [seeded.adminArn];
    const outcome = await rotation({}, admins).execute({ secretId: seeded.secretName, token: newToken() });
    expect(outcome).toMatchObject({ status: 'completed', mode: kind.mode });
    await expectConverged(seeded);
    const other = seeded.simulator === atlas ? opsManager : atlas;
    expect(other.serviceAccount(seeded.orgId, seeded.clientId)).toBeUndefined();
  });

  it('converges after a crash between any two external calls', async () => {
    const probe = await kind.seed();
    const probeAdmins = probe.adminArn === undefined ? [] : [probe.adminArn];
    const counting = crashAfter(Number.POSITIVE_INFINITY);
    const clean = await rotation(counting, probeAdmins).execute({
      secretId: probe.secretName,
      token: newToken(),
    });
    expect(clean.status).toBe('completed');

    for (let k = 1; k <= counting.calls.length; k++) {
      const seeded = await kind.seed();
      const admins = seeded.adminArn === undefined ? [] : [seeded.adminArn];
      const token = newToken();
      await rotation(crashAfter(k), admins).execute({ secretId: seeded.secretName, token });
      let resumed = await rotation({}, admins).execute({ secretId: seeded.secretName, token });
      if (resumed.status === 'failed' && resumed.errorCode === 'ROTATION_IN_PROGRESS') {
        // The crash left its claim open: waited for until the lease passes (here: a lease of 0).
        resumed = await rotation({}, admins, 0).execute({ secretId: seeded.secretName, token });
      }
      expect(resumed.status, `resume after a crash before call ${k}`).toBe('completed');
      await expectConverged(seeded);
    }
  });

  it('rolls back when the new secret fails verification', async () => {
    const seeded = await kind.seed();
    const admins = seeded.adminArn === undefined ? [] : [seeded.adminArn];
    const before = await valueAt(client, seeded.secretName, 'AWSCURRENT');
    seeded.simulator.injectFault({
      method: 'POST',
      path: '/api/oauth/token',
      skip: kind.mintsBeforeVerify,
      times: 3,
      status: 401,
      body: { error: 'invalid_client', error_description: 'Invalid client credentials' },
    });
    const token = newToken();
    const outcome = await rotation({}, admins).execute({ secretId: seeded.secretName, token });
    seeded.simulator.clearFaults();

    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'VERIFICATION_FAILED', stage: 'verify' });
    // ADR 0007: AWSCURRENT moved to undo-<token>, a copy of the value it held.
    const { byStage } = await stagesOf(client, seeded.secretName);
    expect(byStage.AWSCURRENT).toBe(`undo-${token}`);
    expect((await valueAt(client, seeded.secretName, 'AWSCURRENT')).json).toEqual(before.json);
    expect(seeded.simulator.serviceAccount(seeded.orgId, seeded.clientId)?.secrets).toHaveLength(1);
    expect(await credentialWorks(seeded.simulator, seeded.clientId, before.json.clientSecret ?? '')).toBe(
      true,
    );
  });
});

describe('an origin named by a secret', () => {
  it('is refused unless allow-listed, and no credential is sent there', async () => {
    const seeded = await seed(opsManager, {
      project: false,
      admin: 'none',
      flavor: 'cloud-manager',
      origin: opsManager.baseUrl,
    });
    opsManager.clearRequests();
    const outcome = await rotateSecret(adapters(), {
      origins: { defaultBaseUrl: atlas.baseUrl, allowedBaseUrls: [atlas.baseUrl], allowInsecureHttp: true },
    }).execute({ secretId: seeded.secretName, token: newToken() });

    expect(outcome).toMatchObject({
      status: 'failed',
      errorCode: 'ATLAS_ORIGIN_NOT_ALLOWED',
      retryable: false,
    });
    expect(opsManager.requests).toHaveLength(0);
    const { tags } = await stagesOf(client, seeded.secretName);
    expect(tags[TAG_ROTATION]).toBeUndefined();
  });
});
