import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { QueueEncryption, QueueType } from './request-queue.js';
import { addMessagingOutputs, addRotationMessaging, type RotationMessaging } from './rotation-messaging.js';

export interface AtlasRotatorMessagingStackProps extends StackProps {
  readonly queueType?: QueueType;
  readonly queueEncryption?: QueueEncryption;
  readonly maxReceiveCount?: number;
  /** Default 120 s: the long-running worker (`atlas-rotator worker`) extends visibility while it works. */
  readonly visibilityTimeout?: Duration;
  readonly eventBus?: 'dedicated' | 'default';
  readonly eventBusName?: string;
  /** As AtlasRotatorProps.requestSources. @default - any source of this account */
  readonly requestSources?: readonly string[];
  /** As AtlasRotatorProps.requestSenders. @default - none */
  readonly requestSenders?: readonly string[];
}

/**
 * Only the messaging part of AtlasRotatorStack (`cdk synth -c messagingOnly=true`): the request queue and
 * DLQ with their policies, the event bus, the rule routing `Atlas Secret Rotation Requested` to the queue,
 * and the same outputs — built by the same code, under the same construct path (`AtlasRotator/…`), so the
 * logical ids match the full stack's. No worker, IAM role, asset or alarm: you run `atlas-rotator worker`
 * yourself. It is what the CloudFormation proof on the local emulator deploys
 * (test/integration/cloudformation-deploy.test.ts).
 */
export class AtlasRotatorMessagingStack extends Stack {
  readonly messaging: RotationMessaging;

  constructor(scope: Construct, id: string, props: AtlasRotatorMessagingStackProps = {}) {
    super(scope, id, props);
    this.messaging = addRotationMessaging(new Construct(this, 'AtlasRotator'), {
      queueType: props.queueType ?? 'standard',
      queueEncryption: props.queueEncryption ?? 'sqs-managed',
      maxReceiveCount: props.maxReceiveCount ?? 5,
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(2),
      eventBus: props.eventBus ?? 'dedicated',
      eventBusName: props.eventBusName,
      requestSources: props.requestSources,
      requestSenders: props.requestSenders,
    });
    addMessagingOutputs(this, this.messaging);
  }
}
