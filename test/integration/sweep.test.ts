/**
 * `atlas-rotator sweep` as a user runs it: the built CLI against the AWS emulator (behind the semantics layer)
 * and the Atlas simulator. Every test sweeps its own name prefix: other suites' managed secrets share the
 * emulator, and a sweep sees every managed secret in the account.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenForRequestId } from '../../src/adapters/inbound/sqs/parse-rotation-request.js';
import { SecretsManagerSecretStore } from '../../src/adapters/outbound/aws/secrets-manager-secret-store.js';
import type { SweepReport } from '../../src/application/sweep-secrets.js';
import { type ClientId, DEFAULT_API_VERSION, type OrgId } from '../../src/domain/identifiers.js';
import { TAG_MANAGED } from '../../src/domain/rotation-metadata.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import {
  type CliRun,
  EventDrivenInfra,
  ensureBuilt,
  runCli,
  stopAllWorkers,
  WorkerProcess,
  type WorkQueue,
  waitUntil,
} from './support/event-driven-harness.js';
import {
  expectConverged,
  plainSecrets,
  processAdapters,
  secretsManagerClient,
  seedAdminSecret,
  seedRecordedSecret,
  stagesOf,
  valueAt,
} from './support/rotation-harness.js';

let simulator: AtlasSimulator;
let client: SecretsManagerClient;
let infra: EventDrivenInfra;
let standardQueue: WorkQueue;
let fifoQueue: WorkQueue;

type Run = CliRun;

const cli = (args: string[], env: Record<string, string>): Promise<Run> => runCli(args, env);

function sweepEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ATLAS_BASE_URL: simulator.baseUrl,
    ATLAS_ALLOW_INSECURE_HTTP: 'true',
    ATLAS_MAX_ATTEMPTS: '2',
    VERIFY_RETRY_DELAYS_MS: '50,100',
    // The seeded values record an atlasSecretId, so each poses as a rotation atlas-rotator completed just now;
    // the interval's own refusals are tested in tenant-isolation.test.ts.
    ROTATION_MIN_INTERVAL_MINUTES: '0',
    OLD_SECRET_GRACE_HOURS: '0',
    LOG_LEVEL: 'debug',
    ...overrides,
  };
}

function reportOf(run: Run): SweepReport {
  try {
    return JSON.parse(run.stdout) as SweepReport;
  } catch {
    throw new Error(
      `stdout is not one JSON document (exit ${run.code}):\n${run.stdout}\n${run.stderr.slice(-3000)}`,
    );
  }
}

function expectNoSecretIn(run: Run) {
  const output = `${run.stdout}\n${run.stderr}`;
  for (const secret of plainSecrets) expect(output.includes(secret)).toBe(false);
  expect(output).not.toMatch(/mdb_sa_sk_[A-Za-z0-9_-]{8}/);
}

const seedSecret = (
  prefix: string,
  orgId: string,
  hours: number,
  options: { adminSecretArn?: string } = {},
) => seedRecordedSecret(simulator, client, { prefix, orgId, hours, ...options });

/** Runs `tasks` at most `limit` at once (the emulator is shared with other engineers' runs). */
async function inBatches<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < count; i += limit) {
    results.push(
      ...(await Promise.all(Array.from({ length: Math.min(limit, count - i) }, (_, j) => task(i + j)))),
    );
  }
  return results;
}

/** Everything on a queue now (receiving until three empty answers in a row), deleted as read. */
async function drain(queue: WorkQueue): Promise<Message[]> {
  const all: Message[] = [];
  for (let empty = 0; empty < 3; ) {
    const { Messages = [] } = await infra.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
      }),
    );
    if (Messages.length === 0) {
      empty += 1;
      continue;
    }
    empty = 0;
    all.push(...Messages);
    await infra.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return all;
}

beforeAll(async () => {
  ensureBuilt();
  simulator = await AtlasSimulator.start();
  client = secretsManagerClient();
  infra = await EventDrivenInfra.create();
  standardQueue = await infra.createWorkQueue('sweep', { fifo: false });
  fifoQueue = await infra.createWorkQueue('sweep', { fifo: true });
}, 120_000);

afterAll(async () => {
  await stopAllWorkers();
  await infra?.destroy();
  client?.destroy();
  await simulator?.close();
});

describe('atlas-rotator sweep', () => {
  it('sweeps 200 managed secrets in bounded time, requesting the few due, one admin token for 100 of them', async () => {
    const prefix = `sweep-it/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const admin = await seedAdminSecret(simulator, client, orgId);
    const due = new Set([7, 42, 99, 150, 199]);
    const seeded = await inBatches(200, 10, (i) =>
      seedSecret(prefix, orgId, due.has(i) ? 100 : 2160, i % 2 === 0 ? { adminSecretArn: admin.arn } : {}),
    );
    const sinceRequest = simulator.requests.length;

    const run = await cli(
      ['sweep', '--prefix', prefix],
      sweepEnv({
        ROTATION_QUEUE_URL: standardQueue.url,
        ADMIN_SECRET_ARNS: admin.arn,
        SWEEP_CONCURRENCY: '4',
      }),
    );
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const report = reportOf(run);
    console.info(
      `sweep of 200 managed secrets (100 self, 100 admin-assisted, 5 due) at SWEEP_CONCURRENCY=4: ` +
        `${report.durationMs} ms in the use case, ${run.wallMs} ms wall for the CLI process`,
    );
    expect(report.summary).toMatchObject({
      secrets: 200,
      due: 5,
      permanentFailures: 0,
      retryableFailures: 0,
    });
    expect(report.summary.byAction).toMatchObject({ requested: 5, 'not-due': 195 });
    expect(run.wallMs).toBeLessThan(60_000);

    const dueArns = [...due].map((i) => seeded[i]?.secretArn).sort();
    const requested = report.secrets.filter((e) => e.action === 'requested');
    expect(requested.map((e) => e.secretArn).sort()).toEqual(dueArns);
    for (const entry of requested) {
      const account = seeded.find((s) => s.secretArn === entry.secretArn);
      expect(entry).toMatchObject({ atlasSecretId: account?.firstSecretId, expired: false });
      expect('requestId' in entry && entry.requestId).toBe(
        `sweep:${account?.firstSecretId}:${new Date(account?.atlasExpiresAt ?? '').toISOString()}`,
      );
    }
    const messages = await drain(standardQueue);
    expect(messages.map((m) => JSON.parse(m.Body ?? '{}').secretId).sort()).toEqual(dueArns);

    // Within the token endpoint's 50 per minute per client: the admin minted once for its 100 secrets.
    const mints = simulator.requests.slice(sinceRequest).filter((r) => r.path === '/api/oauth/token');
    expect(mints.filter((r) => r.clientId === admin.clientId)).toHaveLength(1);
    expect(mints.every((r) => r.status === 200)).toBe(true);
    expectNoSecretIn(run);
  }, 240_000);

  it('two sweeps at once send identical requests; on a FIFO queue SQS keeps one of each', async () => {
    const prefix = `sweep-it/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const seeded = await inBatches(6, 6, (i) => seedSecret(prefix, orgId, i < 3 ? 48 : 2160));

    const [a, b] = await Promise.all([
      cli(['sweep', '--prefix', prefix], sweepEnv({ ROTATION_QUEUE_URL: standardQueue.url })),
      cli(['sweep', '--prefix', prefix], sweepEnv({ ROTATION_QUEUE_URL: standardQueue.url })),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const bodies = (await drain(standardQueue)).map((m) => m.Body ?? '');
    expect(bodies).toHaveLength(6);
    const copies = new Map<string, number>();
    for (const body of bodies) copies.set(body, (copies.get(body) ?? 0) + 1);
    expect([...copies.values()]).toEqual([2, 2, 2]);
    const firstThree = seeded
      .slice(0, 3)
      .map((s) => s.secretArn)
      .sort();
    expect([...copies.keys()].map((body) => JSON.parse(body).secretId).sort()).toEqual(firstThree);

    const [c, d] = await Promise.all([
      cli(['sweep', '--prefix', prefix], sweepEnv({ ROTATION_QUEUE_URL: fifoQueue.url })),
      cli(['sweep', '--prefix', prefix], sweepEnv({ ROTATION_QUEUE_URL: fifoQueue.url })),
    ]);
    expect([c.code, d.code]).toEqual([0, 0]);
    const fifo = await drain(fifoQueue);
    expect(fifo.map((m) => m.Body).sort()).toEqual([...copies.keys()].sort());
    for (const message of fifo) {
      const body = JSON.parse(message.Body ?? '{}');
      expect(message.Attributes?.MessageGroupId).toBe(body.secretId);
      expect(message.Attributes?.MessageDeduplicationId).toBe(body.requestId);
    }
    for (const run of [a, b, c, d]) expectNoSecretIn(run);
  }, 120_000);

  it('--now rotates a due secret end to end under the token of its request id; the next sweep finds it not due', async () => {
    const prefix = `sweep-it/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const dueSecret = await seedSecret(prefix, orgId, 30);
    const fresh = await seedSecret(prefix, orgId, 2160);

    const run = await cli(['sweep', '--now', '--prefix', prefix], sweepEnv());
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const report = reportOf(run);
    expect(report.mode).toBe('rotate-now');
    const entry = report.secrets.find((e) => e.secretArn === dueSecret.secretArn);
    const requestId = `sweep:${dueSecret.firstSecretId}:${new Date(dueSecret.atlasExpiresAt).toISOString()}`;
    expect(entry).toMatchObject({
      action: 'rotated',
      status: 'completed',
      requestId,
      rotationId: tokenForRequestId(requestId),
      alreadyCompleted: false,
    });
    expect(report.secrets.find((e) => e.secretArn === fresh.secretArn)?.action).toBe('not-due');
    const current = await expectConverged(simulator, client, dueSecret, { readPrevious: true });
    expect(current.versionId).toBe(tokenForRequestId(requestId));
    expect((await stagesOf(client, fresh.secretName)).byStage.AWSPREVIOUS).toBeUndefined();

    const again = await cli(['sweep', '--now', '--prefix', prefix], sweepEnv());
    expect(again.code).toBe(0);
    expect(reportOf(again).summary).toMatchObject({ due: 0, secrets: 2 });
    expectNoSecretIn(run);
    expectNoSecretIn(again);
  }, 120_000);

  it('exits 1 with the secret skipped and its code when a due secret cannot be handled for good', async () => {
    const prefix = `sweep-it/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const ok = await seedSecret(prefix, orgId, 20);
    const broken = await client.send(
      new CreateSecretCommand({
        Name: `${prefix}/broken`,
        SecretString: JSON.stringify({
          clientId: 'not-a-client-id',
          clientSecret: 'mdb_sa_sk_not_a_real_value_0',
        }),
        Tags: [{ Key: TAG_MANAGED, Value: 'true' }],
      }),
    );
    plainSecrets.add('mdb_sa_sk_not_a_real_value_0');
    // Listed (the tag-key and tag-value filters match independently) but not managed: no failure.
    await client.send(
      new CreateSecretCommand({
        Name: `${prefix}/opted-out`,
        SecretString: '{}',
        Tags: [
          { Key: TAG_MANAGED, Value: 'false' },
          { Key: 'team-owned', Value: 'true' },
        ],
      }),
    );

    const run = await cli(['sweep', '--prefix', prefix], sweepEnv({ ROTATION_QUEUE_URL: standardQueue.url }));
    expect(run.code).toBe(1);
    const report = reportOf(run);
    expect(report.secrets.map((e) => [e.secretName.slice(prefix.length + 1), e.action]).sort()).toEqual(
      [
        ['broken', 'skipped'],
        ['opted-out', 'skipped'],
        [ok.secretName.slice(prefix.length + 1), 'requested'],
      ].sort(),
    );
    expect(report.secrets.find((e) => e.secretArn === broken.ARN)).toMatchObject({
      reason: 'invalid-value',
      errorCode: 'INVALID_SECRET_VALUE',
      retryable: false,
    });
    expect(report.secrets.find((e) => e.secretName.endsWith('/opted-out'))).toMatchObject({
      reason: 'unmanaged',
    });
    expect(report.summary).toMatchObject({ permanentFailures: 1, retryableFailures: 0 });
    expect(run.stderr).toMatch(/swept 3 secrets in \d+ ms: 1 due, 1 rotations requested, 1 failed for good/);
    await drain(standardQueue);
    expectNoSecretIn(run);
  }, 120_000);

  it("takes Atlas's word for the expiry: a failed rotation's 7-day cut makes a secret due at once", async () => {
    const prefix = `sweep-it/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const secret = await seedSecret(prefix, orgId, 2160);
    const env = sweepEnv({ ROTATION_QUEUE_URL: standardQueue.url });
    expect(reportOf(await cli(['sweep', '--prefix', prefix], env)).secrets[0]?.action).toBe('not-due');

    // What a failed rotation leaves: a create (Atlas cuts every other secret to <= 7 days), then its delete.
    const adapters = processAdapters(simulator, client);
    const target = {
      baseUrl: simulator.baseUrl,
      flavor: 'atlas' as const,
      orgId: orgId as OrgId,
      projectId: undefined,
      clientId: secret.clientId as ClientId,
      apiVersion: DEFAULT_API_VERSION,
    };
    const credential = {
      clientId: secret.clientId as ClientId,
      clientSecret: SecretValue.of(secret.clientSecret),
    };
    try {
      const created = await adapters.atlas.createSecret(target, credential, 720);
      plainSecrets.add(created.secret.reveal());
      await adapters.atlas.deleteSecret(target, created.id, credential);
    } finally {
      await adapters.close();
    }
    const stored = await valueAt(client, secret.secretName, 'AWSCURRENT');
    expect(stored.json.atlasSecretExpiresAt).toBe(secret.atlasExpiresAt); // still says 90 days

    const run = await cli(['sweep', '--prefix', prefix], env);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const entry = reportOf(run).secrets[0];
    expect(entry).toMatchObject({ action: 'requested', atlasSecretId: secret.firstSecretId });
    const hours = entry !== undefined && 'hoursToExpiry' in entry ? entry.hoursToExpiry : Number.NaN;
    expect(hours).toBeGreaterThan(167);
    expect(hours).toBeLessThanOrEqual(168);
    await drain(standardQueue);
    expectNoSecretIn(run);
  }, 120_000);

  it('exits 75 when the only failure may pass (Atlas answering 503)', async () => {
    const prefix = `sweep-it/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const flaky = await seedSecret(prefix, orgId, 2160);
    await seedSecret(prefix, orgId, 2160);
    simulator.injectFault({
      method: 'GET',
      path: `/api/atlas/v2/orgs/${orgId}/serviceAccounts/${flaky.clientId}`,
      status: 503,
      times: Number.POSITIVE_INFINITY,
    });
    try {
      const run = await cli(
        ['sweep', '--prefix', prefix],
        sweepEnv({ ROTATION_QUEUE_URL: standardQueue.url }),
      );
      expect(run.code).toBe(75);
      const report = reportOf(run);
      expect(report.secrets.find((e) => e.secretArn === flaky.secretArn)).toMatchObject({
        action: 'skipped',
        reason: 'atlas-error',
        errorCode: 'ATLAS_UNAVAILABLE',
        retryable: true,
      });
      expect(report.summary).toMatchObject({ retryableFailures: 1, permanentFailures: 0 });
      expect(report.summary.byAction['not-due']).toBe(1);
    } finally {
      simulator.clearFaults();
    }
  }, 120_000);

  it("the worker carries out the sweep's request; the next sweep finds the secret not due", async () => {
    const prefix = `sweep-it/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const secret = await seedSecret(prefix, orgId, 50);
    const queue = await infra.createWorkQueue(`sweep-worker-${randomUUID().slice(0, 4)}`, { fifo: true });
    const env = sweepEnv({ ROTATION_QUEUE_URL: queue.url });
    const first = reportOf(await cli(['sweep', '--prefix', prefix], env));
    const entry = first.secrets[0];
    const requestId = entry !== undefined && 'requestId' in entry ? entry.requestId : '';
    expect(entry?.action).toBe('requested');

    const worker = WorkerProcess.start('sweep-worker', infra.workerEnv(queue, simulator.baseUrl));
    try {
      await waitUntil(
        'the requested rotation',
        async () =>
          (await stagesOf(client, secret.secretName)).byStage.AWSCURRENT === tokenForRequestId(requestId)
            ? true
            : undefined,
        60_000,
        250,
      );
    } finally {
      await worker.dispose();
    }
    await expectConverged(simulator, client, secret, { readPrevious: true });
    const again = await cli(['sweep', '--prefix', prefix], env);
    expect(again.code).toBe(0);
    expect(reportOf(again).secrets[0]).toMatchObject({ action: 'not-due' });
    expectNoSecretIn(again);
    for (const output of [worker.stdout, worker.stderr]) {
      for (const plain of plainSecrets) expect(output.includes(plain)).toBe(false);
    }
  }, 120_000);

  it('exits 2 naming the key when requests have no queue, and says it on stderr', async () => {
    const run = await cli(['sweep', '--prefix', 'sweep-it/none'], sweepEnv());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('ROTATION_QUEUE_URL is required');
    expect(run.stdout).toBe('');
  });
});

describe('SecretsManagerSecretStore.listManagedSecrets', () => {
  it('lists what the managed tag filters match, with tags, across pages, without deleted secrets or other prefixes', async () => {
    const prefix = `sweep-list/${randomUUID().slice(0, 8)}`;
    const create = (name: string, tags: { Key: string; Value: string }[]) =>
      client.send(new CreateSecretCommand({ Name: name, SecretString: '{}', Tags: tags }));
    const managed = [{ Key: TAG_MANAGED, Value: 'true' }];
    const names = Array.from({ length: 105 }, (_, i) => `${prefix}/m${i.toString().padStart(3, '0')}`);
    await inBatches(names.length, 10, (i) => create(names[i] ?? '', managed));
    await create(`${prefix}/opted-out`, [
      { Key: TAG_MANAGED, Value: 'false' },
      { Key: 'team-owned', Value: 'true' },
    ]);
    await create(`${prefix}/untagged`, []);
    const doomed = await create(`${prefix}/doomed`, managed);
    await client.send(new DeleteSecretCommand({ SecretId: doomed.ARN, RecoveryWindowInDays: 7 }));
    await create(`${prefix}x/not-this-prefix`, managed);

    const counting = secretsManagerClient();
    let listCalls = 0;
    counting.middlewareStack.add(
      (next) => async (args) => {
        listCalls += 1;
        return next(args);
      },
      { step: 'initialize' },
    );
    const listed = await new SecretsManagerSecretStore(counting)
      .listManagedSecrets({ namePrefix: `${prefix}/` })
      .finally(() => counting.destroy());
    expect(listCalls).toBe(2); // pages of 100
    expect(listed.map((s) => s.name).sort()).toEqual([...names, `${prefix}/opted-out`].sort());
    expect(listed.find((s) => s.name === `${prefix}/opted-out`)?.tags).toEqual({
      [TAG_MANAGED]: 'false',
      'team-owned': 'true',
    });
    expect(listed.every((s) => s.arn.startsWith('arn:aws:secretsmanager:'))).toBe(true);
  }, 120_000);
});
