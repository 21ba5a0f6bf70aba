import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { AtlasRotatorMessagingStack } from '../lib/atlas-rotator-messaging-stack.js';
import { messagingOnlyFromContext } from '../lib/context.js';
import { BUS_MESSAGE_GROUP_ID } from '../lib/rotation-messaging.js';
import { ACCOUNT, nagViolations, newApp, REGION, synth } from './support.js';

const env = { account: ACCOUNT, region: REGION };
const MESSAGING_TYPES = [
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
] as const;

function messagingTemplate(
  props: ConstructorParameters<typeof AtlasRotatorMessagingStack>[2] = {},
  // The full stack of synth() is 'Test': generated names (the bus's) derive from the stack's id.
  id = 'Test',
) {
  const app = newApp();
  return Template.fromStack(new AtlasRotatorMessagingStack(app, id, { env, ...props }));
}

/** The template's resources of the messaging types, by logical id. */
function messagingResources(template: Template): Record<string, unknown> {
  return Object.fromEntries(MESSAGING_TYPES.flatMap((type) => Object.entries(template.findResources(type))));
}

describe('messaging-only stack (-c messagingOnly=true)', () => {
  it('holds exactly the queue, DLQ, their policies, the bus and the request rule, and nothing else', () => {
    const template = messagingTemplate();
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.resourceCountIs('AWS::SQS::QueuePolicy', 2);
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::Events::Rule', 1);
    const types = new Set(
      Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type),
    );
    expect([...types].sort()).toEqual([...MESSAGING_TYPES].sort());
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { account: [ACCOUNT], 'detail-type': ['Atlas Secret Rotation Requested'] },
      Targets: [Match.objectLike({ SqsParameters: Match.absent() })],
    });
    // A standard queue by default; the long-running worker heartbeats visibility: 120 s as for Fargate.
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: Match.absent(), VisibilityTimeout: 120 });
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(
      ['DeadLetterQueueUrl', 'EventBusArn', 'EventBusName', 'RequestQueueArn', 'RequestQueueUrl'].sort(),
    );
  });

  it('is built by the same code as the full stack: same logical ids, same properties, same outputs', () => {
    for (const variant of [
      {},
      {
        queueType: 'fifo',
        queueEncryption: 'kms',
        eventBus: 'default',
        maxReceiveCount: 3,
        requestSources: ['team.payments'],
        requestSenders: ['arn:aws:iam::123456789012:role/payments-rotation'],
      } as const,
    ]) {
      // Without the sweep: its role is a sender of the full stack only (exempted from the queue's denial).
      const full = synth({ ...variant, sweepSchedule: false }).template;
      const messaging = messagingTemplate({ ...variant, visibilityTimeout: Duration.seconds(1800) });
      const kmsKeys = (template: Template) => template.findResources('AWS::KMS::Key');
      const fullMessaging = Object.fromEntries(
        // The full stack's other rule (final failures, for the alarm) is not part of the messaging.
        Object.entries(messagingResources(full)).filter(([id]) => !id.startsWith('AtlasRotatorAlarms')),
      );
      expect(messagingResources(messaging)).toEqual(fullMessaging);
      expect(kmsKeys(messaging)).toEqual(kmsKeys(full));
      const outputs = (template: Template) => template.toJSON().Outputs as Record<string, unknown>;
      for (const [key, value] of Object.entries(outputs(messaging))) {
        expect(outputs(full)[key]).toEqual(value);
      }
    }
  });

  it('sets the static bus message group only when FIFO is asked for', () => {
    messagingTemplate({ queueType: 'fifo' }).hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ SqsParameters: { MessageGroupId: BUS_MESSAGE_GROUP_ID } })],
    });
  });

  it('has no cdk-nag finding', () => {
    expect(nagViolations((app) => new AtlasRotatorMessagingStack(app, 'Messaging', { env }))).toEqual([]);
    expect(
      nagViolations(
        (app) =>
          new AtlasRotatorMessagingStack(app, 'Messaging', { queueType: 'standard', queueEncryption: 'kms' }),
      ),
    ).toEqual([]);
  });

  it('is chosen by the messagingOnly context value', () => {
    expect(messagingOnlyFromContext(() => undefined)).toBe(false);
    expect(messagingOnlyFromContext(() => 'false')).toBe(false);
    expect(messagingOnlyFromContext(() => 'true')).toBe(true);
    expect(messagingOnlyFromContext(() => true)).toBe(true);
    expect(() => messagingOnlyFromContext(() => 'yes')).toThrow(/messagingOnly must be true or false/);
  });
});
