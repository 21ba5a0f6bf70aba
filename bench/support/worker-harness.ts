import { randomUUID } from 'node:crypto';
import {
  DeleteEventBusCommand,
  DeleteRuleCommand,
  type EventBridgeClient,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { LocalEventInfrastructure } from '../../src/adapters/bootstrap/local-event-infrastructure.js';
import { DETAIL_TYPE_COMPLETED, DETAIL_TYPE_FAILED } from '../../src/domain/rotation-events.js';
import type { SeededSecret } from './fixtures.js';

/** Puts one direct-shape rotation request per secret on the request queue; returns the request ids. */
export async function sendRequests(
  sqs: SQSClient,
  queueUrl: string,
  secrets: readonly SeededSecret[],
): Promise<Set<string>> {
  const requestIds = new Set<string>();
  for (let i = 0; i < secrets.length; i += 10) {
    const entries = secrets.slice(i, i + 10).map((secret, j) => {
      const requestId = randomUUID();
      requestIds.add(requestId);
      return {
        Id: String(j),
        MessageBody: JSON.stringify({ secretId: secret.name, requestId, reason: 'benchmark' }),
      };
    });
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if ((sent.Failed ?? []).length > 0)
      throw new Error(`SendMessageBatch refused ${sent.Failed?.length} entries`);
  }
  return requestIds;
}

interface CapturedEvent {
  readonly 'detail-type'?: string;
  readonly detail?: { readonly requestId?: string; readonly errorCode?: string; readonly stage?: string };
}

/**
 * Drains the capture queue until a completed event arrived for every request id (duplicates and other
 * runs' events are ignored). A failed event for one of them, or the deadline, rejects.
 */
export async function awaitCompleted(
  sqs: SQSClient,
  captureQueueUrl: string,
  requestIds: ReadonlySet<string>,
  timeoutMs: number,
): Promise<void> {
  const pending = new Set(requestIds);
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    if (Date.now() > deadline) {
      throw new Error(`${pending.size} of ${requestIds.size} completed events missing after ${timeoutMs} ms`);
    }
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: captureQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (Messages.length === 0) continue;
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: captureQueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    for (const message of Messages) {
      const event = JSON.parse(message.Body ?? '{}') as CapturedEvent;
      const requestId = event.detail?.requestId;
      if (requestId === undefined || !pending.has(requestId)) continue;
      if (event['detail-type'] === DETAIL_TYPE_FAILED) {
        throw new Error(
          `request ${requestId} failed at ${event.detail?.stage ?? '?'}: ${event.detail?.errorCode ?? '?'}`,
        );
      }
      if (event['detail-type'] === DETAIL_TYPE_COMPLETED) pending.delete(requestId);
    }
  }
}

/** Best effort: removes what provisionLocalEventInfrastructure created under `prefix`. */
export async function removeEventInfrastructure(
  clients: { readonly sqs: SQSClient; readonly eventBridge: EventBridgeClient },
  wiring: LocalEventInfrastructure,
  prefix: string,
): Promise<void> {
  const { sqs, eventBridge } = clients;
  const bus = wiring.eventBusName;
  await Promise.allSettled([
    eventBridge.send(
      new RemoveTargetsCommand({ Rule: `${prefix}-requests`, EventBusName: bus, Ids: ['request-queue'] }),
    ),
    eventBridge.send(
      new RemoveTargetsCommand({ Rule: `${prefix}-events`, EventBusName: bus, Ids: ['capture-queue'] }),
    ),
  ]);
  await Promise.allSettled([
    eventBridge.send(new DeleteRuleCommand({ Name: `${prefix}-requests`, EventBusName: bus })),
    eventBridge.send(new DeleteRuleCommand({ Name: `${prefix}-events`, EventBusName: bus })),
  ]);
  await Promise.allSettled([
    eventBridge.send(new DeleteEventBusCommand({ Name: bus })),
    ...[wiring.requestQueueUrl, wiring.deadLetterQueueUrl, wiring.captureQueueUrl].map((QueueUrl) =>
      sqs.send(new DeleteQueueCommand({ QueueUrl })),
    ),
  ]);
}
