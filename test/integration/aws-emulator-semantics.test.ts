/**
 * Smoke test of the AWS semantics atlas-rotator relies on, run against whatever endpoint global-setup.ts provided
 * (LocalStack 4.14.0 in Docker or on the host, or AWS_ENDPOINT_URL). The clients get no explicit endpoint: the SDK
 * reads AWS_ENDPOINT_URL. An emulator upgrade that breaks one of these semantics must fail here.
 * Known differences from AWS and how this file accounts for them: docs/adr/0002-aws-emulator-without-docker.md.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { routeToQueue } from './support/event-routing.js';

const region = 'us-east-1';
const suffix = randomUUID().slice(0, 8);

// The integration project may not list setup-env.ts in setupFiles yet: apply the same defaults here.
process.env.AWS_ENDPOINT_URL = inject('awsEndpoint');
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

let sm: SecretsManagerClient;
let sqs: SQSClient;
let eb: EventBridgeClient;
const queues: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(() => {
  sm = new SecretsManagerClient({ region });
  sqs = new SQSClient({ region });
  eb = new EventBridgeClient({ region });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  for (const QueueUrl of queues) await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
  sm.destroy();
  sqs.destroy();
  eb.destroy();
});

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`no QueueUrl for ${name}`);
  queues.push(QueueUrl);
  return QueueUrl;
}

async function queueArn(QueueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`no QueueArn for ${QueueUrl}`);
  return arn;
}

async function receive(QueueUrl: string, waitSeconds: number, max = 10): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

describe('Secrets Manager: the rotation protocol', () => {
  const name = `semantics/secret-${suffix}`;
  const v1 = randomUUID();
  const v2 = randomUUID();

  it('CreateSecret keeps ClientRequestToken as VersionId, labels it AWSCURRENT and stores tags', async () => {
    const created = await sm.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: '{"v":1}',
        ClientRequestToken: v1,
        Tags: [
          { Key: 'team', Value: 'identity' },
          { Key: 'rotation', Value: 'atlas' },
        ],
      }),
    );
    cleanups.push(() =>
      sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true })),
    );
    expect(created.VersionId).toBe(v1);
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:/);

    const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({ [v1]: ['AWSCURRENT'] });
    expect(described.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'team', Value: 'identity' },
        { Key: 'rotation', Value: 'atlas' },
      ]),
    );
  });

  it('PutSecretValue(ClientRequestToken, [AWSPENDING]) adds a pending version; a retry is idempotent', async () => {
    const put = () =>
      sm.send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretString: '{"v":2}',
          ClientRequestToken: v2,
          VersionStages: ['AWSPENDING'],
        }),
      );
    const first = await put();
    expect(first.VersionId).toBe(v2);
    expect(first.VersionStages).toEqual(['AWSPENDING']);
    const retry = await put();
    expect(retry.VersionId).toBe(v2);

    // The same token with a different value is not a retry: versions are immutable. Checked on the AWSCURRENT
    // version: LocalStack 4.14.0 (moto-ext) lets an AWSPENDING version be overwritten this way (ADR 0002).
    await expect(
      sm.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: '{"v":"other"}', ClientRequestToken: v1 }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });

    const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
  });

  it('GetSecretValue by VersionStage and by VersionId', async () => {
    const pending = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }));
    expect(pending).toMatchObject({ SecretString: '{"v":2}', VersionId: v2, VersionStages: ['AWSPENDING'] });
    const current = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
    expect(current).toMatchObject({ SecretString: '{"v":1}', VersionId: v1 });
    const byId = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: v2 }));
    expect(byId).toMatchObject({ SecretString: '{"v":2}', VersionId: v2 });
    const byDefault = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(byDefault.VersionId).toBe(v1);
  });

  it('TagResource adds and overwrites tags; UntagResource removes them', async () => {
    await sm.send(
      new TagResourceCommand({
        SecretId: name,
        Tags: [
          { Key: 'env', Value: 'ci' },
          { Key: 'team', Value: 'platform' },
        ],
      }),
    );
    await sm.send(new UntagResourceCommand({ SecretId: name, TagKeys: ['rotation'] }));
    const { Tags } = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    const tags = Object.fromEntries((Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toEqual({ team: 'platform', env: 'ci' });
  });

  it('UpdateSecretVersionStage moves AWSCURRENT (old version becomes AWSPREVIOUS), then removes AWSPENDING', async () => {
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: v2,
        RemoveFromVersionId: v1,
      }),
    );
    let described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages?.[v1]).toEqual(['AWSPREVIOUS']);
    expect([...(described.VersionIdsToStages?.[v2] ?? [])].sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);

    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: v2,
      }),
    );
    described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });

    // With no VersionStage, GetSecretValue returns AWSCURRENT (moto alone gets this wrong: ADR 0002).
    const byDefault = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(byDefault).toMatchObject({ SecretString: '{"v":2}', VersionId: v2 });
    const previous = await sm.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous).toMatchObject({ SecretString: '{"v":1}', VersionId: v1 });
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('SQS', () => {
  it('standard queue: send with attributes, receive, ChangeMessageVisibility, delete', async () => {
    const url = await createQueue(`semantics-std-${suffix}`, { VisibilityTimeout: '30' });
    // Queue URLs must point at the endpoint itself (no *.localstack.cloud DNS name).
    expect(new URL(url).host).toBe(new URL(inject('awsEndpoint')).host);

    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"secretId":"s"}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'rotate' } },
      }),
    );
    const first = only(await receive(url, 1));
    expect(first.Body).toBe('{"secretId":"s"}');
    expect(first.MessageAttributes?.kind?.StringValue).toBe('rotate');
    expect(first.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(await receive(url, 0)).toHaveLength(0); // in flight for 30 s

    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: first.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const second = only(await receive(url, 1));
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.Attributes?.ApproximateReceiveCount).toBe('2');

    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle }));
    expect(await receive(url, 1)).toHaveLength(0);
  });

  it('an unacknowledged message comes back after its visibility timeout', async () => {
    const url = await createQueue(`semantics-vis-${suffix}`, { VisibilityTimeout: '2' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'again' }));
    const started = Date.now();
    const first = only(await receive(url, 1));
    // Long poll instead of a fixed sleep: LocalStack re-queues expired messages on a 1 s tick (ADR 0002).
    const again = only(await receive(url, 6));
    const elapsed = Date.now() - started;
    expect(again.MessageId).toBe(first.MessageId);
    expect(again.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('FIFO queue: group id required, deduplication, order and one in-flight batch per group', async () => {
    const url = await createQueue(`semantics-fifo-${suffix}.fifo`, { FifoQueue: 'true' });
    const send = (body: string, dedup: string, group: string) =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: body,
          MessageDeduplicationId: dedup,
          MessageGroupId: group,
        }),
      );
    const a1 = await send('a1', 'd1', 'A');
    const retry = await send('a1', 'd1', 'A'); // deduplicated: same MessageId, not delivered twice
    expect(retry.MessageId).toBe(a1.MessageId);
    await send('a2', 'd2', 'A');
    await send('b1', 'd3', 'B');
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd4' })),
    ).rejects.toMatchObject({ name: 'MissingParameter' });

    const batch = await receive(url, 1);
    expect(batch.map((m) => m.Body)).toEqual(['a1', 'a2', 'b1']);
    expect(batch.every((m) => m.Attributes?.SequenceNumber && m.Attributes.MessageGroupId)).toBe(true);

    // Make a1 and a2 visible again: group A is redelivered in its original order.
    const [m1, m2, b1] = batch as [Message, Message, Message];
    for (const m of [m1, m2]) {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    const redelivered = await receive(url, 1);
    expect(redelivered.map((m) => m.Body)).toEqual(['a1', 'a2']);
    for (const m of [...redelivered, b1]) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
    expect(await receive(url, 0)).toHaveLength(0);
  });

  it('redrives to the dead-letter queue after maxReceiveCount receives', async () => {
    const dlq = await createQueue(`semantics-dlq-${suffix}`);
    const src = await createQueue(`semantics-src-${suffix}`, {
      VisibilityTimeout: '1',
    });
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: src,
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(dlq), maxReceiveCount: 2 }),
        },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: src, MessageBody: 'poison' }));

    expect(only(await receive(src, 1)).Attributes?.ApproximateReceiveCount).toBe('1');
    expect(only(await receive(src, 5)).Attributes?.ApproximateReceiveCount).toBe('2');
    // The third receive finds the count exhausted: the message moves to the DLQ instead of being delivered.
    expect(await receive(src, 3)).toHaveLength(0);
    const dead = only(await receive(dlq, 5));
    expect(dead.Body).toBe('poison');
  });
});

describe('EventBridge', () => {
  it('custom bus + rule + SQS target delivers matching PutEvents entries', async () => {
    const bus = `semantics-bus-${suffix}`;
    const rule = `semantics-rule-${suffix}`;
    const target = await createQueue(`semantics-events-${suffix}`);
    const targetArn = await queueArn(target);
    const { EventBusArn } = await eb.send(new CreateEventBusCommand({ Name: bus }));
    cleanups.push(() => eb.send(new DeleteEventBusCommand({ Name: bus })));
    expect(EventBusArn).toMatch(new RegExp(`^arn:aws:events:us-east-1:\\d{12}:event-bus/${bus}$`));

    // With the queue policy AWS needs for delivery; emulators do not check it (ADR 0002).
    const targets = await routeToQueue(
      { sqs, eventBridge: eb },
      {
        bus,
        rule,
        pattern: {
          source: ['atlas-rotator'],
          'detail-type': ['SecretRotated'],
          detail: { attempt: [{ numeric: ['>', 0] }] },
        },
        queue: { url: target, arn: targetArn },
        targetId: 'queue',
      },
      cleanups,
    );
    expect(targets.FailedEntryCount).toBe(0);

    const put = await eb.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: bus,
            Source: 'atlas-rotator',
            DetailType: 'SecretRotated',
            Detail: '{"attempt":1}',
          },
          {
            EventBusName: bus,
            Source: 'atlas-rotator',
            DetailType: 'SecretRotated',
            Detail: '{"attempt":0}',
          },
          { EventBusName: bus, Source: 'someone-else', DetailType: 'SecretRotated', Detail: '{"attempt":2}' },
          {
            EventBusName: bus,
            Source: 'atlas-rotator',
            DetailType: 'RotationFailed',
            Detail: '{"attempt":3}',
          },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    expect(put.Entries).toHaveLength(4);
    expect(put.Entries?.every((e) => typeof e.EventId === 'string' && e.EventId.length > 0)).toBe(true);

    // Delivery is asynchronous: long poll for it, then make sure nothing else arrives.
    const delivered = only(await receive(target, 5));
    const envelope = JSON.parse(delivered.Body ?? '{}') as Record<string, unknown>;
    expect(envelope).toMatchObject({
      id: put.Entries?.[0]?.EventId,
      source: 'atlas-rotator',
      'detail-type': 'SecretRotated',
      region,
      detail: { attempt: 1 },
    });
    expect(envelope.account).toMatch(/^\d{12}$/);
    expect(Number.isNaN(Date.parse(String(envelope.time)))).toBe(false);
    expect(await receive(target, 2)).toHaveLength(0);
  });
});
