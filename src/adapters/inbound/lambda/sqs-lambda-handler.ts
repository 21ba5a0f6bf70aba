import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../../../application/ports/logger.js';
import type { RotationMessageProcessor } from '../sqs/rotation-message-processor.js';

/** The part of Lambda's SQS event this handler reads. */
export interface SqsEvent {
  readonly Records: readonly SqsRecord[];
}

export interface SqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: { readonly ApproximateReceiveCount?: string; readonly MessageGroupId?: string };
  readonly eventSourceARN: string;
}

/** `ReportBatchItemFailures`: the messages to leave on the queue. */
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Queue URL of a record: the configured one, or AWS's URL built from the record's queue ARN. */
export function queueUrlOf(record: SqsRecord, configuredQueueUrl: string | undefined): string {
  if (configuredQueueUrl !== undefined) return configuredQueueUrl;
  const [, partition, , region, account, name] = record.eventSourceARN.split(':');
  return `https://sqs.${region}.amazonaws.${partition === 'aws-cn' ? 'com.cn' : 'com'}/${account}/${name}`;
}

/**
 * An SQS event-source mapping handler with partial batch responses, on the same processor as the worker.
 * FIFO: records of a group run in order; after a failure the rest of that group is reported failed too.
 * A retry gets its backoff through ChangeMessageVisibility before it is reported.
 */
export function createSqsLambdaHandler(deps: {
  readonly processor: RotationMessageProcessor;
  readonly sqs: SQSClient;
  readonly logger: Logger;
  readonly queueUrl: string | undefined;
  readonly maxConcurrency: number;
}): (event: SqsEvent) => Promise<SqsBatchResponse> {
  return async (event) => {
    const failures = new Set<string>();
    const groups = new Map<string, SqsRecord[]>();
    for (const record of event.Records) {
      const key = record.attributes.MessageGroupId ?? record.messageId;
      groups.set(key, [...(groups.get(key) ?? []), record]);
    }
    const queue = [...groups.values()];
    const runGroup = async (records: SqsRecord[]) => {
      for (const [index, record] of records.entries()) {
        const decision = await deps.processor.process({
          messageId: record.messageId,
          body: record.body,
          receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
        });
        if (decision.kind === 'ack') continue;
        if (decision.kind === 'retry-after') await setVisibility(record, decision.seconds);
        for (const rest of records.slice(index)) failures.add(rest.messageId);
        // Dead-letter: visible at once, so that the redrive policy moves it to the dead-letter queue.
        if (decision.kind === 'dead-letter') await setVisibility(record, 0);
        return;
      }
    };
    const setVisibility = async (record: SqsRecord, seconds: number) => {
      try {
        await deps.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrlOf(record, deps.queueUrl),
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: seconds,
          }),
        );
      } catch (error) {
        deps.logger.warn('could not set the backoff of a message', {
          messageId: record.messageId,
          errorName: error instanceof Error ? error.name : typeof error,
        });
      }
    };
    const workers = Array.from(
      { length: Math.max(1, Math.min(deps.maxConcurrency, queue.length)) },
      async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) await runGroup(next);
      },
    );
    await Promise.all(workers);
    return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
