import {
  CreateEventBusCommand,
  type EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  DETAIL_TYPE_COMPLETED,
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_REQUESTED,
} from '../../domain/rotation-events.js';

export interface LocalEventInfrastructure {
  readonly eventBusName: string;
  readonly eventSource: string;
  readonly requestQueueUrl: string;
  readonly requestQueueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly captureQueueUrl: string;
}

async function queue(sqs: SQSClient, name: string, attributes: Record<string, string>) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (QueueUrl === undefined) throw new Error(`CreateQueue ${name} returned no URL`);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (arn === undefined) throw new Error(`queue ${name} has no ARN`);
  return { url: QueueUrl, arn };
}

/** Lets EventBridge rules deliver to a queue (AWS checks it; emulators do not). */
function allowEventBridge(queueArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
      },
    ],
  });
}

/**
 * The event-driven wiring on an AWS endpoint, for the embedded demo and the tests: a custom bus; a request
 * queue with a dead-letter queue; a rule routing `Atlas Secret Rotation Requested` to the request queue;
 * and a capture queue receiving the service's completed and failed events. `fifo` makes the request queue
 * FIFO (the request rule then sets MessageGroupId from the secret id).
 */
export async function provisionLocalEventInfrastructure(
  clients: { readonly sqs: SQSClient; readonly eventBridge: EventBridgeClient },
  options: { readonly prefix: string; readonly fifo?: boolean; readonly maxReceiveCount?: number },
): Promise<LocalEventInfrastructure> {
  const { sqs, eventBridge } = clients;
  const { prefix } = options;
  const fifo = options.fifo === true;
  const suffix = fifo ? '.fifo' : '';
  const fifoAttributes: Record<string, string> = fifo
    ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' }
    : {};
  const dlq = await queue(sqs, `${prefix}-dlq${suffix}`, fifoAttributes);
  const requests = await queue(sqs, `${prefix}-requests${suffix}`, {
    ...fifoAttributes,
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlq.arn,
      maxReceiveCount: options.maxReceiveCount ?? 5,
    }),
  });
  const capture = await queue(sqs, `${prefix}-events`, {});
  for (const q of [requests, capture]) {
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: q.url, Attributes: { Policy: allowEventBridge(q.arn) } }),
    );
  }

  const eventBusName = `${prefix}-bus`;
  const eventSource = `${prefix}.atlas-rotator`;
  await eventBridge.send(new CreateEventBusCommand({ Name: eventBusName }));
  await eventBridge.send(
    new PutRuleCommand({
      Name: `${prefix}-requests`,
      EventBusName: eventBusName,
      EventPattern: JSON.stringify({ 'detail-type': [DETAIL_TYPE_REQUESTED] }),
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: `${prefix}-requests`,
      EventBusName: eventBusName,
      Targets: [
        {
          Id: 'request-queue',
          Arn: requests.arn,
          ...(fifo ? { SqsParameters: { MessageGroupId: 'atlas-rotator-requests' } } : {}),
        },
      ],
    }),
  );
  await eventBridge.send(
    new PutRuleCommand({
      Name: `${prefix}-events`,
      EventBusName: eventBusName,
      EventPattern: JSON.stringify({
        source: [eventSource],
        'detail-type': [DETAIL_TYPE_COMPLETED, DETAIL_TYPE_FAILED],
      }),
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: `${prefix}-events`,
      EventBusName: eventBusName,
      Targets: [{ Id: 'capture-queue', Arn: capture.arn }],
    }),
  );
  return {
    eventBusName,
    eventSource,
    requestQueueUrl: requests.url,
    requestQueueArn: requests.arn,
    deadLetterQueueUrl: dlq.url,
    captureQueueUrl: capture.url,
  };
}
