/**
 * The event-driven service end to end: requests on a custom EventBridge bus (or straight on the queue), the
 * built `atlas-rotator worker` as a child process, the Atlas simulator in this process, and the events it
 * publishes read back from a capture queue. Every wait is bounded.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListSecretVersionIdsCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tokenForRequestId } from '../../src/adapters/inbound/sqs/parse-rotation-request.js';
import { NodeCryptoIdGenerator } from '../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { DETAIL_TYPE_COMPLETED, DETAIL_TYPE_FAILED } from '../../src/domain/rotation-events.js';
import { TAG_ROTATION } from '../../src/domain/rotation-metadata.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { validateEventDetail } from '../support/event-schemas.js';
import {
  type CapturedEvent,
  EventDrivenInfra,
  ensureBuilt,
  forRequest,
  isCompleted,
  stopAllWorkers,
  WorkerProcess,
  type WorkQueue,
  waitUntil,
  workerOutputs,
} from './support/event-driven-harness.js';
import {
  credentialWorks,
  expectConverged,
  type ManagedAccount,
  plainSecrets,
  secretsManagerClient,
  seedManagedSecret,
  stagesOf,
  valueAt,
} from './support/rotation-harness.js';

let simulator: AtlasSimulator;
let client: SecretsManagerClient;
let infra: EventDrivenInfra;

const EVENT_TIMEOUT_MS = 30_000;
/** After the expected events arrived, how long to keep reading for an unwanted extra one. */
const SETTLE_MS = 1_500;

beforeAll(async () => {
  ensureBuilt();
  simulator = await AtlasSimulator.start();
  client = secretsManagerClient();
  infra = await EventDrivenInfra.create();
}, 120_000);

afterEach(() => {
  simulator.clearFaults();
});

afterAll(async () => {
  await stopAllWorkers();
  await infra?.destroy();
  client?.destroy();
  await simulator?.close();
}, 60_000);

async function startWorker(name: string, queue: WorkQueue, overrides: Record<string, string> = {}) {
  const worker = WorkerProcess.start(name, infra.workerEnv(queue, simulator.baseUrl, overrides));
  await worker.waitForOutput(/"message":"worker started"/, 20_000);
  return worker;
}

const saPath = (a: ManagedAccount) => `/api/atlas/v2/orgs/${a.orgId}/serviceAccounts/${a.clientId}`;
const createPath = (a: ManagedAccount) => `^${saPath(a)}/secrets/?$`;
const createCalls = (a: ManagedAccount) =>
  simulator.requests.filter((r) => r.method === 'POST' && new RegExp(createPath(a)).test(r.path));

const requestId = (label: string) => `${label}-${randomUUID()}`;

/** Whether a rotation claimed an attempt of the secret (ADR 0007): it is then about to call Atlas. */
async function hasClaim(account: ManagedAccount): Promise<boolean> {
  const listed = await client.send(
    new ListSecretVersionIdsCommand({ SecretId: account.secretName, IncludeDeprecated: true }),
  );
  return (listed.Versions ?? []).some((v) => v.VersionId?.startsWith('claim-'));
}
/** A request id that is not VersionId-shaped (the ':'), so the rotation's token is derived from it. */
const derivedRequestId = (label: string) => `${label}:${randomUUID()}`;
const direct = (secretId: string, id: string) => JSON.stringify({ secretId, requestId: id });

function detailOf(event: CapturedEvent | undefined): Record<string, unknown> {
  expect(event).toBeDefined();
  return event?.detail ?? {};
}

async function expectQueueEmpty(queue: WorkQueue, timeoutMs = 3_000) {
  const depth = await infra.waitForDepth(queue.url, (d) => d.visible === 0 && d.inFlight === 0, timeoutMs);
  expect(depth).toEqual({ visible: 0, inFlight: 0 });
  expect(await infra.depth(queue.dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
}

describe('worker on the bus-fed request queue', () => {
  let worker: WorkerProcess;

  beforeAll(async () => {
    worker = await startWorker('main', infra.requestQueue);
  }, 30_000);

  afterAll(async () => {
    await worker?.dispose();
    // A long poll the stopped worker abandoned can still take a message at the server until its wait ends
    // (see the SIGTERM-during-a-long-poll test): let it run out before the next test sends to this queue.
    await sleep(1_500);
  }, 20_000);

  it('rotates a secret requested on the bus: one completed event, a new AWSCURRENT that works', async () => {
    const account = await seedManagedSecret(simulator, client);
    const before = await valueAt(client, account.secretName, 'AWSCURRENT');
    const id = requestId('bus');

    await infra.requestViaBus({ secretId: account.secretName, requestId: id });
    const events = await infra.capture.captureEvents(forRequest(id), EVENT_TIMEOUT_MS, {
      settleMs: SETTLE_MS,
    });

    expect(
      events.map((e) => e.detailType),
      worker.tail(),
    ).toEqual([DETAIL_TYPE_COMPLETED]);
    const [event] = events;
    expect(event?.source).toBe(infra.eventSource);
    expect(event?.resources).toEqual([account.secretArn]);
    const current = await expectConverged(simulator, client, account, { readPrevious: true });
    expect(detailOf(event)).toMatchObject({
      requestId: id,
      rotationId: tokenForRequestId(id),
      secretArn: account.secretArn,
      secretName: account.secretName,
      clientId: account.clientId,
      orgId: account.orgId,
      mode: 'self',
      newAtlasSecretId: current.json.atlasSecretId,
      deletedAtlasSecretIds: [account.firstSecretId],
      attempts: 1,
    });
    expect(current.versionId).toBe(tokenForRequestId(id));
    expect(current.versionId).not.toBe(before.versionId);
    expect(await credentialWorks(simulator, account.clientId, before.json.clientSecret ?? '')).toBe(false);
    await expectQueueEmpty(infra.requestQueue);
  });

  it('fails an unmanaged secret and malformed messages once each, for good, and keeps running', async () => {
    const q = infra.requestQueue;
    const unmanaged = await seedManagedSecret(simulator, client, { managed: false });
    const unmanagedId = requestId('unmanaged');
    await infra.requestViaBus({ secretId: unmanaged.secretName, requestId: unmanagedId });
    // Malformed: the request id a failed event can carry is the message's own id where none is readable.
    const badJson = await infra.sendToQueue(q, '{"secretId": "it/half-a-message", ');
    const wrongSecretIdType = requestId('wrong-type');
    await infra.sendToQueue(q, JSON.stringify({ secretId: 42, requestId: wrongSecretIdType }));
    const wrongRequestIdType = await infra.sendToQueue(
      q,
      JSON.stringify({ secretId: unmanaged.secretName, requestId: 12345 }),
    );
    const unknownDetailType = await infra.sendToQueue(
      q,
      JSON.stringify({
        version: '0',
        id: randomUUID(),
        'detail-type': 'Atlas Secret Rotation Scheduled',
        source: 'it.rotation-requester',
        detail: { secretId: unmanaged.secretName, requestId: requestId('unknown-type') },
      }),
    );
    const invalidIds = [badJson, wrongSecretIdType, wrongRequestIdType, unknownDetailType];
    const ids = new Set([unmanagedId, ...invalidIds]);

    const events = await infra.capture.captureEvents(
      (e) => ids.has(String(e.detail.requestId)),
      EVENT_TIMEOUT_MS,
      { count: ids.size, settleMs: SETTLE_MS },
    );

    expect(events.map((e) => e.detailType).sort(), worker.tail()).toEqual(
      Array.from(ids, () => DETAIL_TYPE_FAILED),
    );
    const byRequest = (id: string) => events.filter(forRequest(id));
    expect(byRequest(unmanagedId)).toHaveLength(1);
    expect(detailOf(byRequest(unmanagedId)[0])).toMatchObject({
      errorCode: 'SECRET_NOT_MANAGED',
      final: true,
      retryable: false,
      secretId: unmanaged.secretName,
      attempts: 1,
    });
    for (const id of invalidIds) {
      expect(byRequest(id), id).toHaveLength(1);
      expect(detailOf(byRequest(id)[0])).toMatchObject({
        errorCode: 'INVALID_REQUEST',
        stage: 'request',
        final: true,
        retryable: false,
      });
    }
    expect(simulator.serviceAccount(unmanaged.orgId, unmanaged.clientId)?.secrets).toHaveLength(1);
    await expectQueueEmpty(q);

    // Still consuming: a good request after the bad ones completes.
    expect(worker.isRunning).toBe(true);
    const account = await seedManagedSecret(simulator, client);
    const good = requestId('after-bad');
    await infra.sendToQueue(q, direct(account.secretName, good));
    const completed = await infra.capture.captureEvents(forRequest(good), EVENT_TIMEOUT_MS);
    expect(
      completed.map((e) => e.detailType),
      worker.tail(),
    ).toEqual([DETAIL_TYPE_COMPLETED]);
    await expectConverged(simulator, client, account, { readPrevious: true });
  });

  it('converges a duplicated request on one rotation: one Atlas secret, one rotationId', async () => {
    const account = await seedManagedSecret(simulator, client);
    const id = derivedRequestId('duplicate');
    const token = tokenForRequestId(id);
    expect(token).not.toBe(id); // not VersionId-shaped: the token is derived from it
    simulator.clearRequests();

    await infra.requestViaBus({ secretId: account.secretName, requestId: id });
    await infra.requestViaBus({ secretId: account.secretName, requestId: id });
    const events = await infra.capture.captureEvents(forRequest(id), EVENT_TIMEOUT_MS, {
      count: 2,
      settleMs: SETTLE_MS,
    });

    expect(
      events.map((e) => e.detailType),
      worker.tail(),
    ).toEqual([DETAIL_TYPE_COMPLETED, DETAIL_TYPE_COMPLETED]);
    expect(new Set(events.map((e) => e.detail.rotationId))).toEqual(new Set([token]));
    expect(new Set(events.map((e) => e.detail.newAtlasSecretId)).size).toBe(1);
    const current = await expectConverged(simulator, client, account, { readPrevious: true });
    expect(current.versionId).toBe(token);
    expect(createCalls(account)).toHaveLength(1);
    await expectQueueEmpty(infra.requestQueue);
  });

  it('rides out 429 (Retry-After) and 503 from Atlas: a completed event and no failed event', async () => {
    const account = await seedManagedSecret(simulator, client);
    // Retried inside the Atlas client (idempotent GET), after the Retry-After second.
    simulator.injectFault({
      method: 'GET',
      path: saPath(account),
      status: 429,
      headers: { 'retry-after': '1' },
    });
    // The create is never retried blindly: this fails the attempt, and the redelivery resumes it.
    simulator.injectFault({ method: 'POST', path: createPath(account), status: 503 });
    const id = requestId('transient');

    await infra.requestViaBus({ secretId: account.secretName, requestId: id });
    const events = await infra.capture.captureEvents(forRequest(id), EVENT_TIMEOUT_MS, {
      settleMs: SETTLE_MS,
    });

    expect(
      events.map((e) => e.detailType),
      worker.tail(),
    ).toEqual([DETAIL_TYPE_COMPLETED]);
    expect(detailOf(events[0])).toMatchObject({ rotationId: tokenForRequestId(id), attempts: 2 });
    const [limited, retried] = simulator.requests.filter(
      (r) => r.method === 'GET' && r.path === saPath(account),
    );
    expect(limited?.status).toBe(429);
    expect(retried?.status).toBe(200);
    expect(Date.parse(retried?.at ?? '') - Date.parse(limited?.at ?? '')).toBeGreaterThanOrEqual(900);
    await expectConverged(simulator, client, account, { readPrevious: true });
    await expectQueueEmpty(infra.requestQueue);
  });

  it('retries a rotation whose token calls all answer 503 on its first delivery', async () => {
    const account = await seedManagedSecret(simulator, client);
    // ATLAS_MAX_ATTEMPTS=2: both attempts of the first token call fail, so the delivery fails (retryable).
    simulator.injectFault({ method: 'POST', path: '/api/oauth/token', status: 503, times: 2 });
    const id = requestId('unavailable');

    await infra.sendToQueue(infra.requestQueue, direct(account.secretName, id));
    const events = await infra.capture.captureEvents(forRequest(id), EVENT_TIMEOUT_MS, {
      settleMs: SETTLE_MS,
    });

    expect(
      events.map((e) => e.detailType),
      worker.tail(),
    ).toEqual([DETAIL_TYPE_COMPLETED]);
    expect(detailOf(events[0]).attempts).toBe(2);
    await expectConverged(simulator, client, account, { readPrevious: true });
  });

  it('fails a rotation Atlas refuses for good (403 on the create) exactly once, and drops the message', async () => {
    const account = await seedManagedSecret(simulator, client);
    const before = await valueAt(client, account.secretName, 'AWSCURRENT');
    simulator.injectFault({
      method: 'POST',
      path: createPath(account),
      status: 403,
      times: Number.POSITIVE_INFINITY,
    });
    const id = requestId('forbidden');

    await infra.requestViaBus({ secretId: account.secretName, requestId: id });
    const events = await infra.capture.captureEvents(forRequest(id), EVENT_TIMEOUT_MS);
    expect(
      events.map((e) => e.detailType),
      worker.tail(),
    ).toEqual([DETAIL_TYPE_FAILED]);
    expect(detailOf(events[0])).toMatchObject({
      errorCode: 'ATLAS_FORBIDDEN',
      stage: 'create',
      atlasStatus: 403,
      retryable: false,
      final: true,
      attempts: 1,
      rotationId: tokenForRequestId(id),
      secretArn: account.secretArn,
    });
    await expectQueueEmpty(infra.requestQueue);

    // Longer than a retry backoff plus LocalStack's late re-queue: nothing comes back.
    await sleep(3_000);
    await expectQueueEmpty(infra.requestQueue, 0);
    expect(await infra.capture.captureEvents(forRequest(id), 0)).toHaveLength(1);
    expect(createCalls(account)).toHaveLength(1);
    const { byStage, tags } = await stagesOf(client, account.secretName);
    expect(byStage.AWSCURRENT).toBe(before.versionId);
    expect(byStage.AWSPENDING).toBeUndefined();
    expect(tags[TAG_ROTATION]).toBeUndefined();
    expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id)).toEqual([
      account.firstSecretId,
    ]);
  });
});

describe('worker crash and shutdown', () => {
  it('converges when the worker is killed mid-create and a fresh worker gets the redelivery', async () => {
    const account = await seedManagedSecret(simulator, client);
    // The create lands at Atlas after 2.5 s, whether or not its caller is still alive.
    simulator.injectFault({ method: 'POST', path: createPath(account), latencyMs: 2_500 });
    const env = { VISIBILITY_TIMEOUT_SECONDS: '8' };
    const doomed = await startWorker('killed', infra.requestQueue, env);
    const id = requestId('killed');
    simulator.clearRequests();

    await infra.requestViaBus({ secretId: account.secretName, requestId: id });
    // The claim (ADR 0007) is written just before the account's GET and the slow create: then it is inside.
    await waitUntil('the claim', async () => ((await hasClaim(account)) ? true : undefined), 20_000);
    await sleep(400);
    doomed.stop('SIGKILL');
    expect(await doomed.waitForExit(5_000)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(infra.capture.all.filter(forRequest(id))).toEqual([]);
    // The killed worker's create still lands at Atlas: an orphan the resumed rotation has to find.
    await waitUntil(
      'the orphaned create',
      async () =>
        simulator.serviceAccount(account.orgId, account.clientId)?.secrets.length === 2 ? true : undefined,
      5_000,
    );

    // The killed worker's claim stays open: it is waited for until the lease passes, then fenced.
    const fresh = await startWorker('after-kill', infra.requestQueue, {
      ...env,
      ROTATION_LEASE_SECONDS: '30',
    });
    const events = await infra.capture.captureEvents(forRequest(id), 50_000, {
      settleMs: SETTLE_MS,
    });

    expect(events.length, fresh.tail()).toBeGreaterThanOrEqual(1);
    expect(events.every(isCompleted)).toBe(true);
    expect(new Set(events.map((e) => e.detail.rotationId))).toEqual(new Set([tokenForRequestId(id)]));
    expect(Number(detailOf(events[0]).attempts)).toBeGreaterThanOrEqual(2);
    const current = await expectConverged(simulator, client, account, { readPrevious: true });
    // Attempt 1 was fenced: the rotation completed as attempt 2, a VersionId derived from the token.
    expect(current.versionId).toBe(new NodeCryptoIdGenerator().digestId(`${tokenForRequestId(id)}#2`));
    expect(createCalls(account).filter((r) => r.status === 201)).toHaveLength(2);
    await expectQueueEmpty(infra.requestQueue);
    await fresh.dispose();
  }, 120_000);

  it('drains on SIGTERM: exits 0 within the grace period, finishes started rotations, leaves the rest queued', async () => {
    const queue = await infra.createWorkQueue('drain', { fifo: false });
    const accounts = await Promise.all(Array.from({ length: 5 }, () => seedManagedSecret(simulator, client)));
    for (const account of accounts) {
      simulator.injectFault({ method: 'POST', path: createPath(account), latencyMs: 1_500 });
    }
    const ids = new Map(accounts.map((a) => [a.secretName, requestId('drain')]));
    const worker = await startWorker('drained', queue, {
      MAX_CONCURRENCY: '2',
      SHUTDOWN_GRACE_SECONDS: '6',
    });
    for (const account of accounts) {
      await infra.sendToQueue(queue, direct(account.secretName, ids.get(account.secretName) ?? ''));
    }

    const started = await waitUntil(
      'two rotations inside their slow create',
      async () => {
        const inCreate: ManagedAccount[] = [];
        for (const account of accounts) {
          if (await hasClaim(account)) inCreate.push(account);
        }
        return inCreate.length >= 2 ? inCreate : undefined;
      },
      20_000,
      50,
    );
    const stopAt = Date.now();
    worker.stop('SIGTERM');
    const exit = await worker.waitForExit(15_000);

    expect(exit, worker.tail()).toEqual({ code: 0, signal: null });
    // Soft: the rest of the drain contract is checked even when the exit comes late.
    expect.soft(worker.exitedAfterMs(stopAt), 'exit after SIGTERM, ms (grace 6 000)').toBeLessThan(6_000);
    expect(worker.stderr).toContain('SIGTERM; finishing in-flight rotations');
    expect(worker.stderr).not.toContain('grace period over');
    expect(started).toHaveLength(2);
    for (const account of started) {
      const id = ids.get(account.secretName) ?? '';
      const events = await infra.capture.captureEvents(forRequest(id), 10_000);
      expect(
        events.map((e) => e.detailType),
        account.secretName,
      ).toEqual([DETAIL_TYPE_COMPLETED]);
      await expectConverged(simulator, client, account, { readPrevious: true });
    }
    // The rest was never taken (or was handed back): visible at once, not waiting for a visibility timeout.
    const notStarted = accounts.filter((a) => !started.includes(a));
    const depth = await infra.waitForDepth(queue.url, (d) => d.visible === notStarted.length, 1_500);
    expect(depth).toEqual({ visible: notStarted.length, inFlight: 0 });
    for (const account of notStarted) {
      expect(infra.capture.all.filter(forRequest(ids.get(account.secretName) ?? ''))).toEqual([]);
      expect((await stagesOf(client, account.secretName)).byStage.AWSCURRENT).not.toBe(
        tokenForRequestId(ids.get(account.secretName) ?? ''),
      );
    }

    const next = await startWorker('after-drain', queue, { MAX_CONCURRENCY: '4' });
    const all = new Set(ids.values());
    const events = await infra.capture.captureEvents((e) => all.has(String(e.detail.requestId)), 30_000, {
      count: all.size,
      settleMs: SETTLE_MS,
    });
    expect(
      events.map((e) => e.detailType),
      next.tail(),
    ).toEqual(Array.from(all, () => DETAIL_TYPE_COMPLETED));
    expect(new Set(events.map((e) => e.detail.requestId))).toEqual(all);
    for (const account of notStarted)
      await expectConverged(simulator, client, account, { readPrevious: true });
    await expectQueueEmpty(queue);
    await next.dispose();
  });
  it('leaves a message sent while it stops to the next worker: a SIGTERM during a long poll takes nothing', async () => {
    const queue = await infra.createWorkQueue('stop-while-polling', { fifo: false });
    const account = await seedManagedSecret(simulator, client);
    const worker = await startWorker('stopped-while-polling', queue, {
      WAIT_TIME_SECONDS: '5',
      VISIBILITY_TIMEOUT_SECONDS: '30',
    });
    await sleep(300); // idle: inside a 5 s long poll
    worker.stop('SIGTERM');
    expect(await worker.waitForExit(10_000), worker.tail()).toEqual({ code: 0, signal: null });

    // The worker is gone: a request sent now must stay visible for the next worker.
    const id = requestId('after-stop');
    await infra.sendToQueue(queue, direct(account.secretName, id));
    await sleep(1_000);
    expect(await infra.depth(queue.url)).toEqual({ visible: 1, inFlight: 0 });

    const next = await startWorker('after-stop-while-polling', queue);
    const events = await infra.capture.captureEvents(forRequest(id), 15_000);
    expect(
      events.map((e) => e.detailType),
      next.tail(),
    ).toEqual([DETAIL_TYPE_COMPLETED]);
    await next.dispose();
  });
});

describe('worker on a FIFO queue', () => {
  it('completes requests sent to a FIFO queue, one secret’s requests in order', async () => {
    const queue = await infra.createWorkQueue('fifo', { fifo: true });
    const [a, b] = await Promise.all([
      seedManagedSecret(simulator, client),
      seedManagedSecret(simulator, client),
    ]);
    if (a === undefined || b === undefined) throw new Error('seeding failed');
    const worker = await startWorker('fifo', queue);
    const first = requestId('fifo-1');
    const second = requestId('fifo-2');
    const other = requestId('fifo-other');

    await infra.sendToQueue(queue, direct(a.secretName, first), a.secretName);
    await infra.sendToQueue(queue, direct(a.secretName, second), a.secretName);
    await infra.sendToQueue(queue, direct(b.secretName, other), b.secretName);
    const ids = new Set([first, second, other]);
    const events = await infra.capture.captureEvents((e) => ids.has(String(e.detail.requestId)), 30_000, {
      count: 3,
      settleMs: SETTLE_MS,
    });

    expect(
      events.map((e) => e.detailType),
      worker.tail(),
    ).toEqual([DETAIL_TYPE_COMPLETED, DETAIL_TYPE_COMPLETED, DETAIL_TYPE_COMPLETED]);
    const ofA = events.filter((e) => e.detail.secretName === a.secretName);
    expect(ofA.map((e) => e.detail.rotationId)).toEqual([
      tokenForRequestId(first),
      tokenForRequestId(second),
    ]);
    const [e1, e2] = ofA.map((e) => e.detail);
    expect(Date.parse(String(e1?.completedAt))).toBeLessThanOrEqual(Date.parse(String(e2?.startedAt)));
    expect(e2?.deletedAtlasSecretIds).toEqual([e1?.newAtlasSecretId]);
    const current = await expectConverged(simulator, client, a, { readPrevious: true });
    expect(current.versionId).toBe(tokenForRequestId(second));
    expect((await stagesOf(client, a.secretName)).byStage.AWSPREVIOUS).toBe(tokenForRequestId(first));
    expect((await expectConverged(simulator, client, b, { readPrevious: true })).versionId).toBe(
      tokenForRequestId(other),
    );
    await expectQueueEmpty(queue);
    await worker.dispose();
  });

  it('on SIGTERM finishes the started rotation and hands back its group’s next message at once', async () => {
    const queue = await infra.createWorkQueue('fifo-drain', { fifo: true });
    const account = await seedManagedSecret(simulator, client);
    simulator.injectFault({ method: 'POST', path: createPath(account), latencyMs: 1_500 });
    const first = requestId('fifo-drain-1');
    const second = requestId('fifo-drain-2');
    // Both queued before the worker polls, so one receive takes them together; the second waits its turn.
    await infra.sendToQueue(queue, direct(account.secretName, first), account.secretName);
    await infra.sendToQueue(queue, direct(account.secretName, second), account.secretName);
    const worker = await startWorker('fifo-drained', queue, {
      SHUTDOWN_GRACE_SECONDS: '4',
      VISIBILITY_TIMEOUT_SECONDS: '30',
    });
    await waitUntil(
      'the first rotation inside its slow create',
      async () => ((await hasClaim(account)) ? true : undefined),
      20_000,
      50,
    );
    expect(await infra.depth(queue.url)).toEqual({ visible: 0, inFlight: 2 });

    worker.stop('SIGTERM');
    expect(await worker.waitForExit(15_000), worker.tail()).toEqual({ code: 0, signal: null });
    const done = await infra.capture.captureEvents(forRequest(first), 10_000);
    expect(done.map((e) => e.detailType)).toEqual([DETAIL_TYPE_COMPLETED]);
    // Released, not left to its 30 s visibility timeout (LocalStack re-queues within about a second).
    const depth = await infra.waitForDepth(queue.url, (d) => d.visible === 1 && d.inFlight === 0, 2_500);
    expect(depth).toEqual({ visible: 1, inFlight: 0 });
    expect(infra.capture.all.filter(forRequest(second))).toEqual([]);

    const next = await startWorker('after-fifo-drain', queue);
    const events = await infra.capture.captureEvents(forRequest(second), 15_000);
    expect(
      events.map((e) => e.detailType),
      next.tail(),
    ).toEqual([DETAIL_TYPE_COMPLETED]);
    const { byStage } = await stagesOf(client, account.secretName);
    expect(byStage.AWSCURRENT).toBe(tokenForRequestId(second));
    expect(byStage.AWSPREVIOUS).toBe(tokenForRequestId(first));
    await expectConverged(simulator, client, account, { readPrevious: true });
    await expectQueueEmpty(queue);
    await next.dispose();
  });
});

describe('published events and output', () => {
  it('publishes only schema-valid events, and no secret value in any event or worker output', async () => {
    await stopAllWorkers();
    // Whatever is still on its way (at-least-once duplicates included) is checked too.
    await infra.capture.captureEvents(() => false, 1_000);
    const events = infra.capture.all;
    expect(events.length).toBeGreaterThan(10);

    const problems = events.flatMap((e) =>
      validateEventDetail(e.detailType, e.detail).map((p) => `${e.detailType} ${e.id}: ${p}`),
    );
    expect(problems).toEqual([]);
    for (const event of events) {
      expect(event.source).toBe(infra.eventSource);
      expect([DETAIL_TYPE_COMPLETED, DETAIL_TYPE_FAILED]).toContain(event.detailType);
    }

    expect(plainSecrets.size).toBeGreaterThan(10);
    expect(workerOutputs.length).toBeGreaterThan(0);
    const texts = [
      ...events.map((e) => ({ where: `event ${e.id}`, text: e.body })),
      ...workerOutputs.map((w) => ({ where: `worker ${w.name}`, text: w.output() })),
    ];
    const leaks: string[] = [];
    for (const { where, text } of texts) {
      for (const secret of plainSecrets) if (text.includes(secret)) leaks.push(where);
      if (/mdb_sa_sk_[A-Za-z0-9_-]{8}/.test(text)) leaks.push(`${where} (secret-shaped)`);
    }
    expect(leaks).toEqual([]);
  });
});
