/**
 * EventBridgeRotationEventPublisher against the real endpoint (LocalStack, see global-setup.ts): a custom bus, a
 * rule on source + detail-type, an SQS queue as target that captures what the bus delivers.
 *
 * Per-entry failures: LocalStack 4.14.0 refuses entries per entry only with permanent codes (`MalformedDetail`
 * for a Detail that is not a JSON object, `InvalidArgument` for a missing field; see `validate_event` in its
 * events provider), and refuses an oversized Detail for the whole call (`ValidationException`). It never answers
 * a retryable per-entry code (`ThrottlingException`, `InternalFailure`) nor a 5xx. For those paths the client's
 * `send` is wrapped: the wrapper withholds the chosen entries from the real call and answers for them the way
 * EventBridge does, so every entry that is accepted really went through the endpoint and really arrives.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  EventBridgeClient,
  EventBridgeServiceException,
  InternalException,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBridgeRotationEventPublisher,
  type EventBridgeRotationEventPublisherOptions,
  EventPublishError,
} from '../../src/adapters/outbound/aws/event-bridge-rotation-event-publisher.js';
import {
  completedEvent,
  DETAIL_TYPE_COMPLETED,
  DETAIL_TYPE_FAILED,
  failedEvent,
  type PublishedEvent,
  type RotationCompletedDetail,
} from '../../src/domain/rotation-events.js';
import type { RotationFailed } from '../../src/domain/rotation-outcome.js';
import { aCompletedOutcome, aToken, SECRET_ARN, SECRET_NAME } from '../support/builders.js';
import { validateEventDetail } from '../support/event-schemas.js';
import { DEFAULT_NOW, FixedClock } from '../support/fixed-clock.js';
import { createQueue, routeToQueue } from './support/event-routing.js';

const region = 'us-east-1';
const suffix = randomUUID().slice(0, 8);
const SOURCE = 'atlas-rotator';

let sqs: SQSClient;
let admin: EventBridgeClient;
const cleanups: Array<() => Promise<unknown>> = [];
const clients: EventBridgeClient[] = [];

beforeAll(() => {
  sqs = new SQSClient({ region });
  admin = new EventBridgeClient({ region });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  for (const client of clients) client.destroy();
  sqs.destroy();
  admin.destroy();
});

// ---------------------------------------------------------------- test data

function aFailure(overrides: Partial<RotationFailed> = {}): RotationFailed {
  return {
    status: 'failed',
    secretId: SECRET_NAME,
    secretArn: SECRET_ARN,
    rotationId: aToken(2),
    stage: 'make-room',
    errorCode: 'ATLAS_SECRET_LIMIT',
    message: 'The service account already holds two secrets',
    retryable: false,
    atlasStatus: undefined,
    atlasErrorCode: undefined,
    startedAt: '2025-06-02T08:59:58.000Z',
    failedAt: DEFAULT_NOW,
    ...overrides,
  };
}

/** A completed event told apart from others by its requestId (`request-<n>`). */
function completedNumber(n: number): PublishedEvent {
  return completedEvent(aCompletedOutcome({ rotationId: aToken(100 + n) }), {
    requestId: `request-${n}`,
    attempts: 1,
  });
}

function requestIdOf(entry: PutEventsRequestEntry): string {
  return (JSON.parse(entry.Detail ?? '{}') as { requestId?: string }).requestId ?? '';
}

// ---------------------------------------------------------------- capture: bus → rule → queue

interface Capture {
  readonly bus: string;
  readonly queueUrl: string;
}

let captures = 0;

async function newCapture(): Promise<Capture> {
  captures += 1;
  const bus = `publisher-bus-${suffix}-${captures}`;
  const rule = `publisher-rule-${suffix}-${captures}`;
  const queue = await createQueue(sqs, `publisher-capture-${suffix}-${captures}`, {}, cleanups);

  await admin.send(new CreateEventBusCommand({ Name: bus }));
  cleanups.push(() => admin.send(new DeleteEventBusCommand({ Name: bus })));
  const targets = await routeToQueue(
    { sqs, eventBridge: admin },
    {
      bus,
      rule,
      pattern: { source: [SOURCE], 'detail-type': [DETAIL_TYPE_COMPLETED, DETAIL_TYPE_FAILED] },
      queue,
      targetId: 'capture',
    },
    cleanups,
  );
  expect(targets.FailedEntryCount).toBe(0);
  return { bus, queueUrl: queue.url };
}

interface Envelope {
  readonly source: string;
  readonly 'detail-type': string;
  readonly resources: string[];
  readonly time: string;
  readonly detail: Record<string, unknown>;
}

/**
 * Receives (and deletes) until `count` events arrived, then waits once more to make sure no further one
 * (a duplicate) follows. Delivery through the rule is asynchronous.
 */
async function captured(capture: Capture, count: number, timeoutMs = 15_000): Promise<Envelope[]> {
  const envelopes: Envelope[] = [];
  const deadline = Date.now() + timeoutMs;
  const take = async (waitSeconds: number): Promise<number> => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: capture.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
      }),
    );
    for (const message of Messages) envelopes.push(JSON.parse(message.Body ?? '{}') as Envelope);
    await deleteAll(capture.queueUrl, Messages);
    return Messages.length;
  };
  while (envelopes.length < count && Date.now() < deadline) await take(1);
  await take(1);
  return envelopes;
}

async function deleteAll(queueUrl: string, messages: readonly Message[]): Promise<void> {
  if (messages.length === 0) return;
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
    }),
  );
}

// ---------------------------------------------------------------- the client, counted (and faulty on demand)

/** What the wrapper does with one PutEvents call (1-based `call`): pass it on, fail it whole, or refuse entries. */
type Fault = (
  entries: readonly PutEventsRequestEntry[],
  call: number,
) => { readonly throws: Error } | { readonly refuse: ReadonlyMap<number, string> } | undefined;

interface CountedClient {
  readonly client: EventBridgeClient;
  /** The entries of every PutEvents call the publisher made, in order. */
  readonly calls: PutEventsRequestEntry[][];
}

function countedClient(fault?: Fault): CountedClient {
  const client = new EventBridgeClient({ region });
  clients.push(client);
  const calls: PutEventsRequestEntry[][] = [];
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  const wrapped = async (command: unknown): Promise<unknown> => {
    if (!(command instanceof PutEventsCommand)) return send(command);
    const entries = command.input.Entries ?? [];
    calls.push([...entries]);
    const decision = fault?.(entries, calls.length);
    if (decision === undefined) return send(command);
    if ('throws' in decision) throw decision.throws;
    // Withhold the refused entries from the endpoint; answer for them in their positions, as EventBridge does.
    const passed = entries.filter((_, i) => !decision.refuse.has(i));
    const real =
      passed.length === 0
        ? { Entries: [] as PutEventsResultEntry[], FailedEntryCount: 0 }
        : ((await send(new PutEventsCommand({ Entries: passed }))) as {
            Entries?: PutEventsResultEntry[];
            FailedEntryCount?: number;
          });
    const realResults = [...(real.Entries ?? [])];
    const results = entries.map((_, i): PutEventsResultEntry => {
      const refused = decision.refuse.get(i);
      return refused === undefined
        ? (realResults.shift() ?? {})
        : { ErrorCode: refused, ErrorMessage: 'injected by the test' };
    });
    return {
      $metadata: { httpStatusCode: 200 },
      Entries: results,
      FailedEntryCount: (real.FailedEntryCount ?? 0) + decision.refuse.size,
    };
  };
  client.send = wrapped as unknown as typeof client.send;
  return { client, calls };
}

function newPublisher(
  capture: Capture,
  counted: CountedClient,
  clock: FixedClock,
  options: Partial<EventBridgeRotationEventPublisherOptions> = {},
): EventBridgeRotationEventPublisher {
  return new EventBridgeRotationEventPublisher({
    client: counted.client,
    eventBusName: capture.bus,
    source: SOURCE,
    clock,
    ...options,
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<EventPublishError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EventPublishError);
  return error as EventPublishError;
}

// ---------------------------------------------------------------- tests

describe('EventBridgeRotationEventPublisher', () => {
  it('delivers completed and failed events with the envelope and a detail that matches its schema', async () => {
    const capture = await newCapture();
    const counted = countedClient();
    const clock = new FixedClock();
    const publisher = newPublisher(capture, counted, clock);
    const completed = completedEvent(aCompletedOutcome(), { requestId: 'request-completed', attempts: 1 });
    const failed = failedEvent(aFailure(), { requestId: 'request-failed', attempts: 2, final: true });
    const rejected = failedEvent(
      aFailure({
        secretId: '',
        secretArn: undefined,
        rotationId: undefined,
        stage: 'request',
        errorCode: 'INVALID_REQUEST',
        message: 'Invalid rotation request: the message body is not JSON',
      }),
      { requestId: 'request-rejected', attempts: 1, final: true },
    );

    await Promise.all([publisher.publish([completed, failed]), publisher.publish([rejected])]);

    expect(counted.calls).toHaveLength(1);
    const envelopes = await captured(capture, 3);
    expect(envelopes).toHaveLength(3);
    for (const envelope of envelopes) {
      expect(envelope.source).toBe(SOURCE);
      expect(Date.parse(envelope.time)).toBe(Date.parse(DEFAULT_NOW));
      expect(validateEventDetail(envelope['detail-type'], envelope.detail)).toEqual([]);
    }
    const byRequest = new Map(envelopes.map((e) => [String(e.detail.requestId), e]));
    expect(byRequest.get('request-completed')).toMatchObject({
      'detail-type': DETAIL_TYPE_COMPLETED,
      resources: [SECRET_ARN],
      detail: completed.detail,
    });
    expect(byRequest.get('request-failed')).toMatchObject({
      'detail-type': DETAIL_TYPE_FAILED,
      resources: [SECRET_ARN],
      detail: failed.detail,
    });
    expect(byRequest.get('request-rejected')).toMatchObject({
      'detail-type': DETAIL_TYPE_FAILED,
      resources: [],
      detail: rejected.detail,
    });
  });

  it('combines 25 concurrent publish() calls into at most ceil(25/10)+1 PutEvents calls and delivers all', async () => {
    const capture = await newCapture();
    const counted = countedClient();
    const publisher = newPublisher(capture, counted, new FixedClock());
    const events = Array.from({ length: 25 }, (_, i) => completedNumber(i));

    await Promise.all(events.map((event) => publisher.publish([event])));

    expect(counted.calls.length).toBeLessThanOrEqual(Math.ceil(25 / 10) + 1);
    expect(counted.calls.every((entries) => entries.length <= 10)).toBe(true);
    expect(counted.calls.flat()).toHaveLength(25);
    const envelopes = await captured(capture, 25);
    expect(envelopes.map((e) => String(e.detail.requestId)).sort()).toEqual(
      events.map((e) => String((e.detail as { readonly requestId?: string }).requestId)).sort(),
    );
  });

  it('rejects only the publish() whose entry the endpoint refuses (MalformedDetail), without retrying it', async () => {
    const capture = await newCapture();
    const counted = countedClient();
    const clock = new FixedClock();
    const publisher = newPublisher(capture, counted, clock);
    // Not a JSON object: EventBridge (and LocalStack) answer MalformedDetail for this entry alone.
    const malformed: PublishedEvent = {
      detailType: DETAIL_TYPE_COMPLETED,
      detail: 'mdb_sa_sk_must_not_appear_in_errors' as unknown as RotationCompletedDetail,
      resources: [SECRET_ARN],
    };

    const [good, bad] = await Promise.allSettled([
      publisher.publish([completedNumber(1)]),
      publisher.publish([malformed]),
      publisher.publish([completedNumber(2)]),
    ]);

    expect(good.status).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
    const error = (bad as PromiseRejectedResult).reason as EventPublishError;
    expect(error).toBeInstanceOf(EventPublishError);
    expect(error).toMatchObject({
      code: 'EVENT_REJECTED',
      retryable: false,
      failedCount: 1,
      awsErrorCodes: ['MalformedDetail'],
    });
    expect(error.message).toContain(`1 event ("${DETAIL_TYPE_COMPLETED}")`);
    expect(error.message).not.toContain('mdb_sa_sk_');
    expect(counted.calls).toHaveLength(1);
    expect(counted.calls[0]).toHaveLength(3);
    expect(clock.sleeps).toEqual([]);
    const envelopes = await captured(capture, 2);
    expect(envelopes.map((e) => e.detail.requestId).sort()).toEqual(['request-1', 'request-2']);
  });

  it('retries only the entries a call did not accept (ThrottlingException per entry) and delivers each once', async () => {
    const capture = await newCapture();
    // LocalStack never answers a retryable per-entry code: refuse request-1 in the first call only.
    const counted = countedClient((entries, call) =>
      call === 1
        ? {
            refuse: new Map([
              [entries.findIndex((e) => requestIdOf(e) === 'request-1'), 'ThrottlingException'],
            ]),
          }
        : undefined,
    );
    const clock = new FixedClock();
    const publisher = newPublisher(capture, counted, clock);

    await Promise.all([0, 1, 2].map((n) => publisher.publish([completedNumber(n)])));

    expect(counted.calls.map((entries) => entries.map(requestIdOf))).toEqual([
      ['request-0', 'request-1', 'request-2'],
      ['request-1'],
    ]);
    expect(counted.calls[1]?.[0]).toEqual(counted.calls[0]?.[1]); // the same entry, Time included
    expect(clock.sleeps).toHaveLength(1);
    const envelopes = await captured(capture, 3);
    expect(envelopes.map((e) => e.detail.requestId).sort()).toEqual(['request-0', 'request-1', 'request-2']);
  });

  it('rejects the publish() whose entry keeps failing after maxAttempts, with backoff, and not the others', async () => {
    const capture = await newCapture();
    const counted = countedClient((entries) => ({
      refuse: new Map(
        entries.flatMap((e, i): [number, string][] =>
          requestIdOf(e) === 'request-1' ? [[i, 'InternalFailure']] : [],
        ),
      ),
    }));
    const clock = new FixedClock();
    const publisher = newPublisher(capture, counted, clock, { maxAttempts: 3, backoffBaseMs: 100 });

    const results = await Promise.allSettled([0, 1, 2].map((n) => publisher.publish([completedNumber(n)])));

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (results[1] as PromiseRejectedResult).reason as EventPublishError;
    expect(error).toBeInstanceOf(EventPublishError);
    expect(error).toMatchObject({
      code: 'EVENT_PUBLISH_FAILED',
      retryable: true,
      failedCount: 1,
      awsErrorCodes: ['InternalFailure'],
    });
    expect(error.message).toContain('after 3 attempts');
    expect(counted.calls.map((entries) => entries.map(requestIdOf))).toEqual([
      ['request-0', 'request-1', 'request-2'],
      ['request-1'],
      ['request-1'],
    ]);
    // Exponential with equal jitter: [base/2, base], then [base, 2*base].
    expect(clock.sleeps).toHaveLength(2);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(clock.sleeps[0]).toBeLessThanOrEqual(100);
    expect(clock.sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(clock.sleeps[1]).toBeLessThanOrEqual(200);
    const envelopes = await captured(capture, 2);
    expect(envelopes.map((e) => e.detail.requestId).sort()).toEqual(['request-0', 'request-2']);
  });

  it('retries a call that failed as a whole (HTTP 500, then a network error) and delivers once', async () => {
    const capture = await newCapture();
    const counted = countedClient((_entries, call) => {
      if (call === 1) {
        return { throws: new InternalException({ $metadata: { httpStatusCode: 500 }, message: 'injected' }) };
      }
      if (call === 2) return { throws: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) };
      return undefined;
    });
    const clock = new FixedClock();
    const publisher = newPublisher(capture, counted, clock);

    await publisher.publish([completedNumber(7)]);

    expect(counted.calls).toHaveLength(3);
    expect(clock.sleeps).toHaveLength(2);
    const envelopes = await captured(capture, 1);
    expect(envelopes.map((e) => e.detail.requestId)).toEqual(['request-7']);
  });

  it('gives each entry its own call when a whole call is refused with ValidationException', async () => {
    const capture = await newCapture();
    const validation = new EventBridgeServiceException({
      name: 'ValidationException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'injected',
    });
    const counted = countedClient((entries) =>
      entries.some((e) => requestIdOf(e) === 'request-1') ? { throws: validation } : undefined,
    );
    const clock = new FixedClock();
    const publisher = newPublisher(capture, counted, clock);

    const results = await Promise.allSettled([0, 1, 2].map((n) => publisher.publish([completedNumber(n)])));

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({
      code: 'EVENT_REJECTED',
      retryable: false,
    });
    expect(counted.calls).toHaveLength(4);
    expect(counted.calls.slice(1).map((entries) => entries.map(requestIdOf))).toEqual(
      expect.arrayContaining([['request-0'], ['request-1'], ['request-2']]),
    );
    expect(clock.sleeps).toEqual([]);
    expect((await captured(capture, 2)).map((e) => e.detail.requestId).sort()).toEqual([
      'request-0',
      'request-2',
    ]);
  });

  it('refuses an event over 256 KiB before calling the bus, and publishes the others', async () => {
    const capture = await newCapture();
    const counted = countedClient();
    const publisher = newPublisher(capture, counted, new FixedClock());
    const huge = failedEvent(aFailure({ message: 'x'.repeat(256 * 1024) }), {
      requestId: 'request-huge',
      attempts: 1,
      final: true,
    });

    const [hugeResult, normal] = await Promise.allSettled([
      publisher.publish([huge]),
      publisher.publish([completedNumber(3)]),
    ]);

    expect(hugeResult.status).toBe('rejected');
    expect((hugeResult as PromiseRejectedResult).reason).toMatchObject({
      code: 'EVENT_REJECTED',
      retryable: false,
      failedCount: 1,
    });
    expect(normal.status).toBe('fulfilled');
    expect(counted.calls.map((entries) => entries.map(requestIdOf))).toEqual([['request-3']]);
    expect((await captured(capture, 1)).map((e) => e.detail.requestId)).toEqual(['request-3']);
  });

  it('splits entries that together exceed 256 KiB into calls below the limit', async () => {
    const capture = await newCapture();
    const counted = countedClient();
    const publisher = newPublisher(capture, counted, new FixedClock());
    // Three events of ~100 KiB each: two fit in one call, the third needs another.
    const events = [0, 1, 2].map((n) =>
      failedEvent(aFailure({ message: 'y'.repeat(100 * 1024) }), {
        requestId: `request-${n}`,
        attempts: 1,
        final: true,
      }),
    );

    await Promise.all(events.map((event) => publisher.publish([event])));

    expect(counted.calls.map((entries) => entries.length)).toEqual([2, 1]);
    expect(await captured(capture, 3)).toHaveLength(3);
  });

  it('flush() publishes what is pending without waiting for the window; close() refuses later events', async () => {
    const capture = await newCapture();
    const counted = countedClient();
    const publisher = newPublisher(capture, counted, new FixedClock(), { batchWindowMs: 600_000 });

    const pending = publisher.publish([completedNumber(4)]);
    expect(counted.calls).toHaveLength(0);
    await publisher.flush();
    await pending;
    expect(counted.calls).toHaveLength(1);

    await publisher.close();
    const error = await rejectionOf(publisher.publish([completedNumber(5)]));
    expect(error).toMatchObject({ code: 'EVENT_PUBLISH_FAILED', retryable: true });
    expect(counted.calls).toHaveLength(1);
    expect((await captured(capture, 1)).map((e) => e.detail.requestId)).toEqual(['request-4']);
  });
});
