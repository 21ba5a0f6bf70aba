import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Pool } from 'undici';
import { expect } from 'vitest';
import { AtlasAdminApiClient } from '../../../src/adapters/outbound/atlas/atlas-admin-api-client.js';
import { SecretsManagerSecretStore } from '../../../src/adapters/outbound/aws/secrets-manager-secret-store.js';
import { NodeCryptoIdGenerator } from '../../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { JsonLogger } from '../../../src/adapters/outbound/system/json-logger.js';
import { SystemClock } from '../../../src/adapters/outbound/system/system-clock.js';
import type { AtlasServiceAccounts } from '../../../src/application/ports/atlas-service-accounts.js';
import type { SecretStore } from '../../../src/application/ports/secret-store.js';
import { RotateSecret, type RotateSecretSettings } from '../../../src/application/rotate-secret.js';
import { parseRotationToken, type RotationToken } from '../../../src/domain/identifiers.js';
import {
  TAG_ADMIN_SECRET_ARN,
  TAG_CREATE_INTENT,
  TAG_MANAGED,
  TAG_ROTATION,
} from '../../../src/domain/rotation-metadata.js';
import type { AtlasSimulator } from '../../../src/simulator/atlas-simulator.js';

export const region = 'us-east-1';
/** Every secret of the emulator's account: what the suite's admin secrets serve unless a test says otherwise. */
export const EMULATOR_ACCOUNT_SECRETS = `arn:aws:secretsmanager:${region}:000000000000:secret:*`;

export function secretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({ region });
}

/** Every log line any rotation in the suite wrote, to prove no secret value reaches them. */
export const logLines: string[] = [];
/** Every plain secret value the suite created or saw, to search the logs and outputs for. */
export const plainSecrets = new Set<string>();

export const testSettings: Omit<RotateSecretSettings, 'origins'> = {
  secretExpiresAfterHours: 720,
  adminSecretAllowList: [],
  deleteUnknownSecrets: false,
  minIntervalMs: 0,
  oldSecretGraceHours: 0,
  leaseMs: 15 * 60_000,
  verifyRetryDelaysMs: [20, 40],
  orphanSkewMs: 5 * 60_000,
};

/** One process's worth of adapters: a fresh token cache and connection pool, like a restarted service. */
export function processAdapters(simulator: AtlasSimulator, client: SecretsManagerClient) {
  const clock = new SystemClock();
  const atlas = new AtlasAdminApiClient({
    baseUrl: simulator.baseUrl,
    dispatcherFor: (origin) => new Pool(origin, { connections: 4 }),
    clock,
    allowInsecureHttp: true,
    requestTimeoutMs: 5_000,
    backoffBaseMs: 10,
  });
  const store = new SecretsManagerSecretStore(client);
  const logger = new JsonLogger('debug', (line) => logLines.push(line));
  return { atlas, store, clock, logger, baseUrl: simulator.baseUrl, close: () => atlas.close() };
}

export function rotateSecret(
  adapters: ReturnType<typeof processAdapters>,
  settings: Partial<RotateSecretSettings> = {},
  wrap: {
    store?: (s: SecretStore) => SecretStore;
    atlas?: (a: AtlasServiceAccounts) => AtlasServiceAccounts;
  } = {},
): RotateSecret {
  const store = wrap.store ? wrap.store(adapters.store) : adapters.store;
  const atlas = wrap.atlas ? wrap.atlas(adapters.atlas) : adapters.atlas;
  return new RotateSecret(
    store,
    atlas,
    adapters.clock,
    adapters.logger,
    {
      ...testSettings,
      origins: {
        defaultBaseUrl: adapters.baseUrl,
        allowedBaseUrls: [adapters.baseUrl],
        allowInsecureHttp: true,
      },
      ...settings,
    },
    new NodeCryptoIdGenerator(),
  );
}

export interface ManagedAccount {
  readonly orgId: string;
  readonly clientId: string;
  readonly firstSecretId: string;
  readonly secretName: string;
  readonly secretArn: string;
}

/** An Atlas org and service account in the simulator, and a managed secret holding its credential. */
export async function seedManagedSecret(
  simulator: AtlasSimulator,
  client: SecretsManagerClient,
  options: {
    orgId?: string;
    roles?: string[];
    adminSecretArn?: string;
    managed?: boolean;
    extra?: Record<string, unknown>;
  } = {},
): Promise<ManagedAccount> {
  const orgId = options.orgId ?? simulator.createOrg().orgId;
  const account = simulator.createServiceAccount(orgId, { roles: options.roles ?? ['ORG_OWNER'] });
  plainSecrets.add(account.secret);
  const secretName = `it/${randomUUID()}`;
  const secretArn = await createTaggedSecret(
    client,
    secretName,
    { clientId: account.clientId, clientSecret: account.secret, orgId, ...options.extra },
    options,
  );
  return { orgId, clientId: account.clientId, firstSecretId: account.secretId, secretName, secretArn };
}

/** Creates `name` holding `value`, tagged managed (unless `managed: false`) and with its admin secret if given. */
async function createTaggedSecret(
  client: SecretsManagerClient,
  name: string,
  value: Record<string, unknown>,
  options: { managed?: boolean; adminSecretArn?: string },
): Promise<string> {
  const tags = [{ Key: TAG_MANAGED, Value: options.managed === false ? 'false' : 'true' }];
  if (options.adminSecretArn !== undefined)
    tags.push({ Key: TAG_ADMIN_SECRET_ARN, Value: options.adminSecretArn });
  const created = await client.send(
    new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value), Tags: tags }),
  );
  return created.ARN ?? '';
}

export interface RecordedSecret extends ManagedAccount {
  /** The plain Atlas secret (test use only: never printed). */
  readonly clientSecret: string;
  readonly atlasExpiresAt: string;
}

/**
 * A managed secret named `<prefix>/<uuid>` for a new service account of `orgId` whose Atlas secret lives
 * `hours`; the value records its Atlas secret id and expiry, as a value atlas-rotator rotated does.
 */
export async function seedRecordedSecret(
  simulator: AtlasSimulator,
  client: SecretsManagerClient,
  options: { prefix: string; orgId: string; hours: number; adminSecretArn?: string },
): Promise<RecordedSecret> {
  const { orgId } = options;
  const account = simulator.createServiceAccount(orgId, { secretExpiresAfterHours: options.hours });
  plainSecrets.add(account.secret);
  const atlasExpiresAt = simulator.serviceAccount(orgId, account.clientId)?.secrets[0]?.expiresAt ?? '';
  const secretName = `${options.prefix}/${randomUUID()}`;
  const secretArn = await createTaggedSecret(
    client,
    secretName,
    {
      clientId: account.clientId,
      clientSecret: account.secret,
      orgId,
      atlasSecretId: account.secretId,
      atlasSecretExpiresAt: atlasExpiresAt,
    },
    options,
  );
  return {
    orgId,
    clientId: account.clientId,
    firstSecretId: account.secretId,
    secretName,
    secretArn,
    atlasExpiresAt,
    clientSecret: account.secret,
  };
}

/** An admin service account (ORG_OWNER) of the same org, stored in its own secret. */
export async function seedAdminSecret(
  simulator: AtlasSimulator,
  client: SecretsManagerClient,
  orgId: string,
  serves: readonly string[] = [EMULATOR_ACCOUNT_SECRETS],
) {
  const admin = simulator.createServiceAccount(orgId, { roles: ['ORG_OWNER'] });
  plainSecrets.add(admin.secret);
  const created = await client.send(
    new CreateSecretCommand({
      Name: `it-admin/${randomUUID()}`,
      SecretString: JSON.stringify({ clientId: admin.clientId, clientSecret: admin.secret, serves }),
    }),
  );
  return { arn: created.ARN ?? '', clientId: admin.clientId };
}

export async function stagesOf(client: SecretsManagerClient, secretId: string) {
  const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  const tags = Object.fromEntries((described.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  const byStage: Record<string, string> = {};
  for (const [versionId, stages] of Object.entries(described.VersionIdsToStages ?? {})) {
    for (const stage of stages ?? []) byStage[stage] = versionId;
  }
  return { byStage, tags };
}

/** Claims (ADR 0007) whose credential version was never written: a run holds them, or crashed holding them. */
export async function openClaims(client: SecretsManagerClient, secretId: string): Promise<string[]> {
  const listed = await client.send(
    new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true }),
  );
  const ids = new Set((listed.Versions ?? []).map((v) => v.VersionId));
  return [...ids]
    .filter((id): id is string => id?.startsWith('claim-') === true)
    .filter((id) => !ids.has(id.slice('claim-'.length)));
}

/** Requests that changed something in Atlas (a create, or a DELETE that found its secret). */
export function atlasChanges(simulator: AtlasSimulator): string[] {
  return simulator.requests
    .filter(
      (r) =>
        (r.method === 'POST' && r.path.endsWith('/secrets')) || (r.method === 'DELETE' && r.status < 300),
    )
    .map((r) => `${r.method} ${r.path}`);
}

export async function valueAt(client: SecretsManagerClient, secretId: string, stage: string) {
  const value = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
  const parsed = JSON.parse(value.SecretString ?? '{}') as Record<string, string>;
  if (parsed.clientSecret !== undefined) plainSecrets.add(parsed.clientSecret);
  return { versionId: value.VersionId ?? '', json: parsed };
}

/** Does this credential mint a token at the simulator? (An independent check, with plain fetch.) */
export async function credentialWorks(simulator: AtlasSimulator, clientId: string, clientSecret: string) {
  const response = await fetch(`${simulator.baseUrl}/api/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: 'grant_type=client_credentials',
  });
  await response.arrayBuffer();
  return response.status === 200;
}

/**
 * The invariants a rotation must leave behind, finished or resumed: nothing pending beside AWSCURRENT, no open
 * claim, no lease or intent tag (ADR 0003's; never written now), an
 * AWSCURRENT that mints a token, and no orphan (the only Atlas secret left is the one AWSCURRENT holds).
 * `readPrevious` also reads AWSPREVIOUS when there is one, so that its value joins {@link plainSecrets}.
 */
export async function expectConverged(
  simulator: AtlasSimulator,
  client: SecretsManagerClient,
  account: ManagedAccount,
  options: { readonly readPrevious?: boolean } = {},
) {
  const { byStage, tags } = await stagesOf(client, account.secretName);
  // ADR 0007: AWSPENDING stays beside AWSCURRENT after a promotion ("no rotation in progress" to AWS).
  expect([undefined, byStage.AWSCURRENT]).toContain(byStage.AWSPENDING);
  expect(await openClaims(client, account.secretName)).toEqual([]);
  expect(tags[TAG_ROTATION]).toBeUndefined();
  expect(tags[TAG_CREATE_INTENT]).toBeUndefined();
  const current = await valueAt(client, account.secretName, 'AWSCURRENT');
  if (options.readPrevious === true && byStage.AWSPREVIOUS !== undefined) {
    await valueAt(client, account.secretName, 'AWSPREVIOUS');
  }
  expect(await credentialWorks(simulator, current.json.clientId ?? '', current.json.clientSecret ?? '')).toBe(
    true,
  );
  const live = simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id) ?? [];
  expect(live).toEqual([current.json.atlasSecretId]);
  return current;
}

export function newToken(): RotationToken {
  return parseRotationToken(randomUUID());
}

/** Thrown by a {@link crashAfter} wrapper: the process "died" before this call. */
export class SimulatedCrash extends Error {
  constructor(readonly call: string) {
    super(`simulated crash before ${call}`);
    this.name = 'SimulatedCrash';
  }
}

/**
 * Wraps ports so that external call number `k` (counting both ports) and every call after it fail as if
 * the process had died: nothing more reaches AWS or Atlas. `k = Infinity` counts calls without crashing.
 */
export function crashAfter(k: number) {
  const calls: string[] = [];
  const wrap = <T extends object>(port: T, name: string): T =>
    new Proxy(port, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const call = `${name}.${String(prop)}`;
          if (calls.length + 1 >= k) {
            calls.push(`${call} (crashed)`);
            throw new SimulatedCrash(call);
          }
          calls.push(call);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return {
    calls,
    store: (s: SecretStore) => wrap(s, 'store'),
    atlas: (a: AtlasServiceAccounts) => wrap(a, 'atlas'),
  };
}
