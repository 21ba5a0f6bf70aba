import { CfnOutput, type Duration, type Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as cxapi from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { DETAIL_TYPE_REQUESTED } from './contract.js';
import { type QueueEncryption, type QueueType, RequestQueue } from './request-queue.js';

/** The static MessageGroupId of every request the bus delivers to a FIFO queue (see ADR 0005). */
export const BUS_MESSAGE_GROUP_ID = 'atlas-rotator-bus-requests';

export interface RotationMessagingProps {
  readonly queueType: QueueType;
  readonly queueEncryption: QueueEncryption;
  readonly maxReceiveCount: number;
  readonly visibilityTimeout: Duration;
  /** `dedicated`: a new bus; `default`: the account's default bus. */
  readonly eventBus: 'dedicated' | 'default';
  /** Name of the dedicated bus; generated when absent. */
  readonly eventBusName?: string | undefined;
}

/** Requests in, outcomes out: what the worker needs from AWS besides Secrets Manager. */
export interface RotationMessaging {
  readonly requests: RequestQueue;
  readonly eventBus: events.IEventBus;
  /** The bus's name as the service sees it (EVENT_BUS_NAME): `default` for the default bus. */
  readonly eventBusName: string;
  readonly requestRule: events.Rule;
}

/**
 * The request queue and DLQ (with their policies), the event bus and the rule that routes
 * `Atlas Secret Rotation Requested` to the queue — created directly in `scope` (ids `Requests`, `Bus`,
 * `RequestRule`), so the full stack and the messaging-only stack share construct paths and logical ids.
 * Call it before `scope` has children: it sets a context flag on `scope`.
 */
export function addRotationMessaging(scope: Construct, props: RotationMessagingProps): RotationMessaging {
  // With a KMS-encrypted queue, the rule's SqsQueue target conditions EventBridge's queue and key access on
  // aws:SourceAccount only behind this flag (without KMS it uses aws:SourceArn = the rule regardless).
  scope.node.setContext(cxapi.EVENTS_TARGET_QUEUE_SAME_ACCOUNT, true);
  const requests = new RequestQueue(scope, 'Requests', {
    queueType: props.queueType,
    encryption: props.queueEncryption,
    maxReceiveCount: props.maxReceiveCount,
    visibilityTimeout: props.visibilityTimeout,
  });

  let eventBus: events.IEventBus;
  let eventBusName: string;
  if (props.eventBus === 'default') {
    eventBus = events.EventBus.fromEventBusName(scope, 'Bus', 'default');
    eventBusName = 'default';
  } else {
    const bus = new events.EventBus(scope, 'Bus', {
      ...(props.eventBusName === undefined ? {} : { eventBusName: props.eventBusName }),
      description: 'atlas-rotator: rotation requests in, rotation outcomes out',
    });
    eventBus = bus;
    eventBusName = bus.eventBusName;
  }

  const requestRule = new events.Rule(scope, 'RequestRule', {
    description: `atlas-rotator: ${DETAIL_TYPE_REQUESTED} to the request queue`,
    eventBus,
    // Any source: teams request rotations under their own Source. Malformed details still go to the
    // queue, where the worker answers them with a failure event instead of a silent drop.
    eventPattern: { detailType: [DETAIL_TYPE_REQUESTED] },
    targets: [
      new eventTargets.SqsQueue(
        requests.queue,
        props.queueType === 'fifo' ? { messageGroupId: BUS_MESSAGE_GROUP_ID } : {},
      ),
    ],
  });
  return { requests, eventBus, eventBusName, requestRule };
}

/** The outputs teams need to send requests and subscribe to outcomes (both stacks). */
export function addMessagingOutputs(stack: Stack, messaging: RotationMessaging): void {
  const { queue, deadLetterQueue } = messaging.requests;
  new CfnOutput(stack, 'RequestQueueUrl', {
    value: queue.queueUrl,
    description: 'Send rotation requests here: {"secretId": "..."} (FIFO: MessageGroupId = the secret id)',
  });
  new CfnOutput(stack, 'RequestQueueArn', { value: queue.queueArn });
  new CfnOutput(stack, 'DeadLetterQueueUrl', { value: deadLetterQueue.queueUrl });
  new CfnOutput(stack, 'EventBusName', {
    value: messaging.eventBusName,
    description: 'Put "Atlas Secret Rotation Requested" here; rotation outcomes are published here',
  });
  new CfnOutput(stack, 'EventBusArn', { value: messaging.eventBus.eventBusArn });
}
