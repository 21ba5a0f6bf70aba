import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqsEvent, SqsRecord } from '../../src/adapters/inbound/lambda/sqs-lambda-handler.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { validateEventDetail } from '../support/event-schemas.js';
import {
  both,
  EventDrivenInfra,
  forRequest,
  isCompleted,
  isFailed,
  type WorkQueue,
} from './support/event-driven-harness.js';
import { secretsManagerClient, seedManagedSecret, stagesOf } from './support/rotation-harness.js';

/**
 * The Lambda entry (`src/adapters/bootstrap/lambda.ts`) as an SQS event-source mapping calls it: records
 * received from a real queue, partial batch failures back, events on a real bus.
 */
let simulator: AtlasSimulator;
let infra: EventDrivenInfra;
let queue: WorkQueue;
let fifo: WorkQueue;
const client = secretsManagerClient();
let handler: (event: SqsEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
const saved = { ...process.env };

/** What Lambda does after the function returns: deletes every record not reported as a failure. */
async function acknowledge(
  from: WorkQueue,
  event: SqsEvent,
  result: { batchItemFailures: { itemIdentifier: string }[] },
) {
  const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
  for (const record of event.Records) {
    if (!failed.has(record.messageId)) {
      await infra.sqs.send(
        new DeleteMessageCommand({ QueueUrl: from.url, ReceiptHandle: record.receiptHandle }),
      );
    }
  }
}

/** What Lambda's poller would hand the function: the messages, as records. */
async function receiveAsEvent(from: WorkQueue, count: number): Promise<SqsEvent> {
  const records: SqsRecord[] = [];
  for (let tries = 0; records.length < count && tries < 10; tries++) {
    const { Messages = [] } = await infra.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: from.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
      }),
    );
    for (const m of Messages) {
      records.push({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ...(m.Attributes?.ApproximateReceiveCount === undefined
            ? {}
            : { ApproximateReceiveCount: m.Attributes.ApproximateReceiveCount }),
          ...(m.Attributes?.MessageGroupId === undefined
            ? {}
            : { MessageGroupId: m.Attributes.MessageGroupId }),
        },
        eventSourceARN: from.arn,
      });
    }
  }
  return { Records: records };
}

beforeAll(async () => {
  simulator = await AtlasSimulator.start();
  infra = await EventDrivenInfra.create();
  queue = await infra.createWorkQueue('lambda', { fifo: false });
  fifo = await infra.createWorkQueue('lambda-fifo', { fifo: true });
  Object.assign(process.env, {
    ATLAS_BASE_URL: simulator.baseUrl,
    ATLAS_ALLOW_INSECURE_HTTP: 'true',
    ATLAS_MAX_ATTEMPTS: '1',
    EVENT_BUS_NAME: infra.busName,
    EVENT_SOURCE: infra.eventSource,
    ROTATION_QUEUE_URL: queue.url,
    RETRY_BACKOFF_BASE_SECONDS: '7',
    VERIFY_RETRY_DELAYS_MS: '50',
    LOG_LEVEL: 'silent',
  });
  ({ handler } = await import('../../src/adapters/bootstrap/lambda.js'));
}, 120_000);

afterAll(async () => {
  process.env = saved;
  await infra.destroy();
  client.destroy();
  await simulator.close();
});

describe('the SQS Lambda handler', () => {
  it('settles a batch: the rotation completes, the malformed record fails for good, nothing is retried', async () => {
    const good = await seedManagedSecret(simulator, client);
    await infra.sendToQueue(queue, JSON.stringify({ secretId: good.secretName, requestId: 'lambda-good-1' }));
    await infra.sendToQueue(queue, '{"secretId": 42}');
    const event = await receiveAsEvent(queue, 2);

    const result = await handler(event);
    await acknowledge(queue, event, result);

    expect(result.batchItemFailures).toEqual([]);
    const completed = await infra.capture.captureEvents(
      both(isCompleted, forRequest('lambda-good-1')),
      20_000,
    );
    expect(completed[0]?.detail).toMatchObject({ requestId: 'lambda-good-1', attempts: 1 });
    const invalid = await infra.capture.captureEvents(isFailed, 20_000);
    expect(invalid[0]?.detail).toMatchObject({ errorCode: 'INVALID_REQUEST', final: true });
    expect((await stagesOf(client, good.secretName)).byStage.AWSCURRENT).toBe(
      completed[0]?.detail.rotationId,
    );
  });

  it('reports a retryable failure, backs it off, and completes it on the next delivery', async () => {
    const flaky = await seedManagedSecret(simulator, client);
    await infra.sendToQueue(
      queue,
      JSON.stringify({ secretId: flaky.secretName, requestId: 'lambda-flaky-1' }),
    );
    const event = await receiveAsEvent(queue, 1);
    simulator.injectFault({ path: '/api/oauth/token', status: 503, times: Number.POSITIVE_INFINITY });

    const failed = await handler(event);
    simulator.clearFaults();

    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
    // Invisible for the first attempt's backoff (7 s, jittered to 4–7 s), not the queue's 30 s visibility timeout.
    expect((await infra.depth(queue.url)).visible).toBe(0);
    expect((await infra.waitForDepth(queue.url, (d) => d.visible === 1, 15_000)).visible).toBe(1);

    const redelivery = await receiveAsEvent(queue, 1);
    const retried = await handler(redelivery);
    await acknowledge(queue, redelivery, retried);
    expect(retried.batchItemFailures).toEqual([]);
    const completed = await infra.capture.captureEvents(
      both(isCompleted, forRequest('lambda-flaky-1')),
      20_000,
    );
    expect(completed[0]?.detail).toMatchObject({ attempts: 2 });
    expect(infra.capture.all.filter(both(isFailed, forRequest('lambda-flaky-1')))).toEqual([]);
    for (const e of infra.capture.all) expect(validateEventDetail(e.detailType, e.detail)).toEqual([]);
  });

  it('keeps FIFO order: after a failure, the rest of that group is reported too', async () => {
    const first = await seedManagedSecret(simulator, client);
    const second = await seedManagedSecret(simulator, client);
    const group = 'group-1';
    await infra.sendToQueue(fifo, JSON.stringify({ secretId: first.secretName, requestId: 'fifo-a' }), group);
    await infra.sendToQueue(
      fifo,
      JSON.stringify({ secretId: second.secretName, requestId: 'fifo-b' }),
      group,
    );
    const event = await receiveAsEvent(fifo, 2);
    expect(event.Records).toHaveLength(2);
    simulator.injectFault({ path: '/api/oauth/token', status: 503, times: 1 });

    const result = await handler(event);

    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      event.Records.map((r) => r.messageId),
    );
    expect((await stagesOf(client, second.secretName)).byStage.AWSPENDING).toBeUndefined();
  });
});
