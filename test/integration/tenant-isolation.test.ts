import { randomUUID } from 'node:crypto';
import { CreateEventBusCommand, DeleteEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeRotationEventPublisher } from '../../src/adapters/outbound/aws/event-bridge-rotation-event-publisher.js';
import { SystemClock } from '../../src/adapters/outbound/system/system-clock.js';
import { HandleRotationRequest } from '../../src/application/handle-rotation-request.js';
import { KeyedSerializer } from '../../src/application/keyed-serializer.js';
import type { RotateSecret } from '../../src/application/rotate-secret.js';
import { parseRotationToken } from '../../src/domain/identifiers.js';
import { DETAIL_TYPE_COMPLETED, DETAIL_TYPE_FAILED } from '../../src/domain/rotation-events.js';
import {
  TAG_ADMIN_SECRET_ARN,
  TAG_API_BASE_URL,
  TAG_API_FLAVOR,
  TAG_MANAGED,
} from '../../src/domain/rotation-metadata.js';
import type { RotationOutcome } from '../../src/domain/rotation-outcome.js';
import { CLAIM_LABEL } from '../../src/domain/rotation-protocol.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { validateEventDetail } from '../support/event-schemas.js';
import {
  both,
  type CapturedEvent,
  EventCapture,
  forRequest,
  isFailed,
} from './support/event-driven-harness.js';
import { type Cleanups, createQueue, routeToQueue } from './support/event-routing.js';
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
 * refused as a failed outcome, and nothing changes in Atlas or in Secrets Manager for anyone. Each refusal goes
 * through HandleRotationRequest (what the worker, both Lambdas and the CLI run) and the EventBridge publisher to a
 * real bus: the failed event arrives with the refusal's errorCode, matches its schema and carries no secret.
 */
let atlas: AtlasSimulator;
let client: SecretsManagerClient;
const opened: { close: () => Promise<void> }[] = [];
let counter = 0;
const ACCOUNT = `arn:aws:secretsmanager:${region}:000000000000:secret:`;
const SOURCE = 'atlas-rotator';
const suffix = randomUUID().slice(0, 8);
const cleanups: Cleanups = [];
let sqs: SQSClient;
let eventBridge: EventBridgeClient;
let bus: string;
let capture: EventCapture;
const serializer = new KeyedSerializer();
const BACKOFF = { backoffBaseSeconds: 1, backoffMaxSeconds: 60 };

/**
 * Runs `rotate` as one delivery of a request (first delivery unless `lastAttempt`), publishing to the suite's
 * bus, and returns the outcome with the failed events that arrived on the bus for it.
 */
async function requested(rotate: RotateSecret, secretId: string, options: { lastAttempt?: boolean } = {}) {
  const requestId = `attack-${randomUUID()}`;
  const publisher = new EventBridgeRotationEventPublisher({
    client: eventBridge,
    eventBusName: bus,
    source: SOURCE,
    clock: new SystemClock(),
  });
  const result = await new HandleRotationRequest(rotate, publisher, serializer, BACKOFF).execute(
    { secretId, requestId, token: parseRotationToken(randomUUID()), reason: 'attack suite' },
    { attempt: 1, lastAttempt: options.lastAttempt ?? false },
  );
  const wanted = both(isFailed, forRequest(requestId));
  // A failure that is not final publishes nothing: wait a little for an event that should not come.
  const events = await capture.captureEvents(wanted, result.decision.kind === 'retry-after' ? 1_500 : 15_000);
  return { outcome: result.outcome, decision: result.decision, events, requestId };
}

/** The refusal is visible: exactly one final failed event with its errorCode, valid, and without a secret. */
function expectFailedEvent(events: readonly CapturedEvent[], errorCode: string, retryable = false) {
  expect(events).toHaveLength(1);
  const [event] = events as [CapturedEvent];
  expect(event.source).toBe(SOURCE);
  expect(event.detail).toMatchObject({ errorCode, retryable, final: true });
  expect(validateEventDetail(DETAIL_TYPE_FAILED, event.detail)).toEqual([]);
  for (const secret of plainSecrets) expect(event.body).not.toContain(secret);
  expect(event.body).not.toMatch(/clientSecret|privateKey|mdb_sa_sk_/);
}

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
  sqs = new SQSClient({ region });
  eventBridge = new EventBridgeClient({ region });
  bus = `attack-bus-${suffix}`;
  await eventBridge.send(new CreateEventBusCommand({ Name: bus }));
  cleanups.push(() => eventBridge.send(new DeleteEventBusCommand({ Name: bus })));
  const queue = await createQueue(sqs, `attack-capture-${suffix}`, {}, cleanups);
  const targets = await routeToQueue(
    { sqs, eventBridge },
    {
      bus,
      rule: `attack-rule-${suffix}`,
      pattern: { source: [SOURCE], 'detail-type': [DETAIL_TYPE_COMPLETED, DETAIL_TYPE_FAILED] },
      queue,
      targetId: 'capture',
    },
    cleanups,
  );
  expect(targets.FailedEntryCount).toBe(0);
  capture = new EventCapture(sqs, queue.url);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await Promise.all(opened.map((a) => a.close()));
  sqs.destroy();
  eventBridge.destroy();
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
      const { outcome, events } = await requested(
        rotateSecret(adapters(), { adminSecretAllowList: [`${ACCOUNT}team-a-admin/*`] }),
        attacker.name,
      );
      expectRefused(outcome, 'ADMIN_SECRET_NOT_BOUND');
      expectFailedEvent(events, 'ADMIN_SECRET_NOT_BOUND');
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
    const { outcome, events } = await requested(
      rotateSecret(adapters(), { adminSecretAllowList: [admin.arn] }),
      secret.name,
    );
    expectRefused(outcome, 'ADMIN_SECRET_NOT_BOUND');
    expectFailedEvent(events, 'ADMIN_SECRET_NOT_BOUND');
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
    const { outcome, events } = await requested(rotateSecret(adapters(), settings), team.victimSecret.name);
    expectRefused(outcome, 'SECRET_IDENTITY_CHANGED');
    expectFailedEvent(events, 'SECRET_IDENTITY_CHANGED');
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
      Array.from({ length: 5 }, () => requested(rotateSecret(adapters(), settings), secret.name)),
    );
    for (const { outcome, events } of flood) {
      expectRefused(outcome, 'ROTATION_TOO_SOON');
      expectFailedEvent(events, 'ROTATION_TOO_SOON');
      expect(outcome.status === 'failed' && outcome.message).toMatch(/from \d{4}-\d\d-\d\dT/);
    }
    expect(await snapshot([secret.arn], accounts)).toEqual(before);
    const replay = await rotateSecret(adapters(), settings).execute({ secretId: secret.name, token });
    expect(replay).toMatchObject({ status: 'completed', alreadyCompleted: true });
  });

  it('lets a forged claim hold the secret only for the lease, then rotates', async () => {
    const { secret } = await selfManaged();
    // Long enough for two deliveries (the first waits to see that no event comes) inside the lease.
    const leaseMs = 8_000;
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
    // Held for the lease: a first delivery is retried later (no event yet); the last one says so on the bus.
    const first = await requested(rotateSecret(adapters(), { leaseMs }), secret.name);
    expect(first.decision.kind).toBe('retry-after');
    expect(first.events).toEqual([]);
    const last = await requested(rotateSecret(adapters(), { leaseMs }), secret.name, { lastAttempt: true });
    const held = last.outcome;
    expect(held).toMatchObject({ status: 'failed', errorCode: 'ROTATION_IN_PROGRESS', retryable: true });
    expectFailedEvent(last.events, 'ROTATION_IN_PROGRESS', true);
    const retryAt = held.status === 'failed' ? Date.parse(held.retryAt ?? '') : Number.NaN;
    expect(retryAt - Date.now()).toBeLessThanOrEqual(leaseMs);
    expect(await versionsOf(secret.arn)).toEqual(before);
    await new Promise((r) => setTimeout(r, Math.max(0, retryAt - Date.now()) + 200));
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
    const { outcome, events } = await requested(rotateSecret(adapters()), secret.name);
    expectRefused(outcome, 'ATLAS_ORIGIN_NOT_ALLOWED');
    expectFailedEvent(events, 'ATLAS_ORIGIN_NOT_ALLOWED');
    expect(atlas.requests.length).toBe(atlasCalls);
    expect(await snapshot([secret.arn], accounts)).toEqual(before);
    expect((await valueAt(client, secret.arn, 'AWSCURRENT')).json.clientId).toBe(account.clientId);
  });

  it('writes no secret value to the logs', () => {
    const joined = logLines.join('\n');
    for (const secret of plainSecrets) expect(joined).not.toContain(secret);
  });
});
