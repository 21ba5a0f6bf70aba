import { Annotations, CfnOutput, type Duration, Lazy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cxapi from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { DETAIL_TYPE_REQUESTED } from './contract.js';
import { type QueueEncryption, type QueueType, RequestQueue } from './request-queue.js';

/** The static MessageGroupId of every request the bus delivers to a FIFO queue (see ADR 0005). */
export const BUS_MESSAGE_GROUP_ID = 'atlas-rotator-bus-requests';

const EVENT_SOURCE = /^[A-Za-z0-9._-]{1,256}$/;
/** An IAM role or user (no wildcard: a resource policy's principal must name one). */
const SENDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/;

/** Checks `requestSources` and `requestSenders`; throws naming the bad entry. */
export function checkRequestOrigins(
  sources: readonly string[] | undefined,
  senders: readonly string[],
): void {
  if (sources !== undefined && sources.length === 0) {
    throw new Error(
      'requestSources must name at least one source (leave it out for any source of this account)',
    );
  }
  for (const source of sources ?? []) {
    if (!EVENT_SOURCE.test(source) || source.startsWith('aws.')) {
      throw new Error(
        `request source "${source}" must be 1-256 letters, digits, . _ - and not start with aws.`,
      );
    }
  }
  for (const arn of senders) {
    if (!SENDER_ARN.test(arn)) throw new Error(`request sender "${arn}" is not an IAM role or user ARN`);
  }
}

export interface RotationMessagingProps {
  readonly queueType: QueueType;
  readonly queueEncryption: QueueEncryption;
  readonly maxReceiveCount: number;
  readonly visibilityTimeout: Duration;
  /** `dedicated`: a new bus; `default`: the account's default bus. */
  readonly eventBus: 'dedicated' | 'default';
  /** Name of the dedicated bus; generated when absent. */
  readonly eventBusName?: string | undefined;
  /** The `source` values the request rule routes; any source (of this account) when absent. */
  readonly requestSources?: readonly string[] | undefined;
  /** IAM role or user ARNs that may SendMessage to the request queue besides the request rule. */
  readonly requestSenders?: readonly string[] | undefined;
}

/** Requests in, outcomes out: what the worker needs from AWS besides Secrets Manager. */
export interface RotationMessaging {
  readonly requests: RequestQueue;
  readonly eventBus: events.IEventBus;
  /** The bus's name as the service sees it (EVENT_BUS_NAME): `default` for the default bus. */
  readonly eventBusName: string;
  readonly requestRule: events.Rule;
  /**
   * Exempts a principal of this stack (the scheduler role) from the queue policy's SendMessage denial; it
   * still needs `sqs:SendMessage` in its own policy. Call before synthesis.
   */
  readonly exemptSender: (principalArn: string) => void;
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

  const senders = props.requestSenders ?? [];
  checkRequestOrigins(props.requestSources, senders);
  const requestRule = new events.Rule(scope, 'RequestRule', {
    description: `atlas-rotator: ${DETAIL_TYPE_REQUESTED} to the request queue`,
    eventBus,
    // Only events put by this account's principals: `account` is set by EventBridge (the caller's account)
    // and cannot be forged, so a bus policy or a cross-account rule that forwards another account's events
    // routes nothing here. `source` is the caller's own claim: listed sources narrow the routing, while who
    // may claim a source is decided by `events:source` conditions on PutEvents (see infra/README.md).
    // Malformed details still go to the queue, where the worker answers them with a failure event.
    eventPattern: {
      account: [Stack.of(scope).account],
      ...(props.requestSources === undefined ? {} : { source: [...props.requestSources] }),
      detailType: [DETAIL_TYPE_REQUESTED],
    },
    targets: [
      new eventTargets.SqsQueue(
        requests.queue,
        props.queueType === 'fifo' ? { messageGroupId: BUS_MESSAGE_GROUP_ID } : {},
      ),
    ],
  });
  if (props.queueType === 'fifo') {
    Annotations.of(requestRule).addWarningV2(
      'atlas-rotator:fifo-bus-group',
      `every request from the bus shares the FIFO message group ${BUS_MESSAGE_GROUP_ID}: one stuck secret ` +
        'delays all bus requests (ADR 0005); the standard queue (the default) has no such group',
    );
  }
  const exempt = admitOnlyRequestSenders(requests, requestRule, senders);
  return { requests, eventBus, eventBusName, requestRule, exemptSender: (arn) => exempt.push(arn) };
}

/**
 * The request queue's SendMessage boundary, on top of the rule target's Allow for EventBridge: an Allow for the
 * named senders (and their use of the queue key), and a Deny of SendMessage for every principal except the
 * request rule (`aws:SourceArn`) and the named or exempted principals (`aws:PrincipalArn`). The Deny also
 * overrides identity policies of this account (an administrator's `sqs:*` included), and with a KMS queue it
 * narrows EventBridge from "this account" (`aws:SourceAccount`, all CDK can put on the key) to the one rule.
 * Returns the list that `exemptSender` extends.
 */
function admitOnlyRequestSenders(
  requests: RequestQueue,
  rule: events.Rule,
  senders: readonly string[],
): string[] {
  const queue = requests.queue;
  if (senders.length > 0) {
    const principals = senders.map((arn) => new iam.ArnPrincipal(arn));
    queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NamedRequestSenders',
        principals,
        actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: [queue.queueArn],
      }),
    );
    requests.key?.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NamedRequestSenders',
        principals,
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${Stack.of(queue).region}.amazonaws.com` } },
      }),
    );
  }
  const exempt = [...senders];
  const denial = new iam.PolicyStatement({
    sid: 'OnlyTheRequestRuleAndNamedSenders',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['sqs:SendMessage'],
    resources: [queue.queueArn],
    conditions: { ArnNotEquals: { 'aws:SourceArn': rule.ruleArn } },
  });
  // Without a named principal the Deny has no PrincipalArn condition (an empty list is not a valid one).
  denial.addCondition(
    'ArnNotLike',
    Lazy.any({
      produce: () => (exempt.length === 0 ? undefined : { 'aws:PrincipalArn': exempt }),
    }),
  );
  queue.addToResourcePolicy(denial);
  return exempt;
}

/** The outputs teams need to send requests and subscribe to outcomes (both stacks). */
export function addMessagingOutputs(
  stack: Stack,
  messaging: Pick<RotationMessaging, 'requests' | 'eventBus' | 'eventBusName'>,
): void {
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
