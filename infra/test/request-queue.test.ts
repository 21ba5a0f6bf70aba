import { Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BUS_MESSAGE_GROUP_ID } from '../lib/atlas-rotator.js';
import { AtlasRotatorStack } from '../lib/atlas-rotator-stack.js';
import { SCHEDULE_EVENT_SOURCE } from '../lib/scheduled-rotation.js';
import { ACCOUNT, logicalId, newApp, REGION, resource, resourcesOfType, synth } from './support.js';

/** The statements of each queue policy on the queue. */
function queuePolicyStatements(template: Template, queueLogicalId: string): Record<string, unknown>[][] {
  return resourcesOfType(template, 'AWS::SQS::QueuePolicy')
    .filter(
      ([, properties]) => JSON.stringify(properties.Queues) === JSON.stringify([{ Ref: queueLogicalId }]),
    )
    .map(
      ([, properties]) => (properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
    );
}

describe('request queue', () => {
  it('is a standard queue with SQS-managed encryption and a standard DLQ by default', () => {
    const { template } = synth();
    const dlq = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsDeadLetterQueue');
    expect(resource(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue')).toEqual({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      MessageRetentionPeriod: 345_600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(resource(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsDeadLetterQueue')).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('is FIFO with content-based deduplication and a FIFO DLQ when asked, and takes the maxReceiveCount', () => {
    const { template } = synth({ queueType: 'fifo', maxReceiveCount: 3 });
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: true,
      SqsManagedSseEnabled: true,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
    expect(resource(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsDeadLetterQueue')).toEqual({
      FifoQueue: true,
      ContentBasedDeduplication: true,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
  });

  it('encrypts both queues with one customer managed key that rotates, with kms', () => {
    const { template } = synth({ queueEncryption: 'kms' });
    const key = logicalId(template, 'AWS::KMS::Key', 'AtlasRotatorRequestsKey');
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    for (const prefix of ['AtlasRotatorRequestsQueue', 'AtlasRotatorRequestsDeadLetterQueue']) {
      const queue = resource(template, 'AWS::SQS::Queue', prefix);
      expect(queue.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
      expect(queue.SqsManagedSseEnabled).toBeUndefined();
    }
  });

  it('refuses TLS-less access to both queues', () => {
    const { template } = synth();
    for (const prefix of ['AtlasRotatorRequestsQueue', 'AtlasRotatorRequestsDeadLetterQueue']) {
      const queue = logicalId(template, 'AWS::SQS::Queue', prefix);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
            },
          ]),
        },
      });
    }
  });

  it('gives the Lambda 6x its timeout as visibility, and refuses a visibility shorter than the timeout', () => {
    const { template } = synth({ lambda: { timeout: Duration.minutes(2) } });
    expect(resource(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue').VisibilityTimeout).toBe(720);
    expect(() => synth({ visibilityTimeout: Duration.seconds(60) })).toThrow(/at least the function timeout/);
    expect(() => synth({ maxReceiveCount: 0 })).toThrow(/maxReceiveCount/);
  });

  it('uses a 2-minute visibility for Fargate (the worker extends it while it works)', () => {
    const { template } = synth({ runtime: 'fargate', imageUri: 'example/atlas-rotator:1' });
    expect(resource(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue').VisibilityTimeout).toBe(120);
  });
});

describe('event bus and request rule', () => {
  it('creates a dedicated bus and routes Atlas Secret Rotation Requested from this account to the queue', () => {
    const { template } = synth({ eventBusName: 'atlas-rotator' });
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'atlas-rotator' });
    expect(resource(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule')).toEqual({
      Description: 'atlas-rotator: Atlas Secret Rotation Requested to the request queue',
      EventBusName: { Ref: bus },
      // Any source, but only events put by principals of this account (EventBridge sets `account`).
      EventPattern: { account: [ACCOUNT], 'detail-type': ['Atlas Secret Rotation Requested'] },
      State: 'ENABLED',
      // A standard queue: no message group, so no request waits behind another secret's.
      Targets: [{ Arn: { 'Fn::GetAtt': [queue, 'Arn'] }, Id: 'Target0' }],
    });
  });

  it('matches the deploying account when the stack is environment-agnostic', () => {
    const app = newApp();
    const stack = new AtlasRotatorStack(app, 'Agnostic', {});
    const rule = resource(Template.fromStack(stack), 'AWS::Events::Rule', 'AtlasRotatorRequestRule');
    expect(rule.EventPattern).toEqual({
      account: [{ Ref: 'AWS::AccountId' }],
      'detail-type': ['Atlas Secret Rotation Requested'],
    });
  });

  it('routes only the configured sources when requestSources is given', () => {
    const { template } = synth({ requestSources: ['team.payments', 'team.search'] });
    expect(resource(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule').EventPattern).toEqual({
      account: [ACCOUNT],
      source: ['team.payments', 'team.search'],
      'detail-type': ['Atlas Secret Rotation Requested'],
    });
  });

  it("adds the schedules' source when they deliver to the bus", () => {
    const { template } = synth({
      requestSources: ['team.payments'],
      scheduledRotation: { expression: 'rate(30 days)', secretIds: ['prod/atlas/a'], deliverTo: 'bus' },
    });
    expect(resource(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule').EventPattern).toMatchObject({
      source: ['team.payments', SCHEDULE_EVENT_SOURCE],
    });
  });

  it('refuses sources and senders that cannot be valid', () => {
    expect(() => synth({ requestSources: [] })).toThrow(/at least one source/);
    expect(() => synth({ requestSources: ['aws.events'] })).toThrow(/request source "aws.events"/);
    expect(() => synth({ requestSources: ['team payments'] })).toThrow(/request source/);
    expect(() => synth({ requestSenders: ['arn:aws:iam::123456789012:role/*'] })).toThrow(
      /request sender .* is not an IAM role or user ARN/,
    );
    expect(() => synth({ requestSenders: ['123456789012'] })).toThrow(/request sender/);
  });

  it('puts every bus request in one static message group on a FIFO queue, and warns about it', () => {
    const { template, stack } = synth({ queueType: 'fifo' });
    const rule = resource(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule');
    expect((rule.Targets as Record<string, unknown>[])[0]?.SqsParameters).toEqual({
      MessageGroupId: BUS_MESSAGE_GROUP_ID,
    });
    Annotations.fromStack(stack).hasWarning(
      '/Test/AtlasRotator/RequestRule',
      Match.stringLikeRegexp('share(s)? the FIFO message group'),
    );
  });

  it('lets only that rule send to the queue: EventBridge for the rule, everyone else denied', () => {
    const { template } = synth({ sweepSchedule: false });
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const rule = logicalId(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule');
    const [statements] = queuePolicyStatements(template, queue);
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      {
        Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
      },
      {
        Sid: 'OnlyTheRequestRuleAndNamedSenders',
        Action: 'sqs:SendMessage',
        Condition: { ArnNotEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
      },
    ]);
  });

  it('admits the named senders and exempts them (and the schedules, and the sweep) from the denial', () => {
    const senders = [
      'arn:aws:iam::123456789012:role/payments-rotation',
      'arn:aws:iam::210987654321:role/search/rotation',
    ];
    const { template } = synth({
      requestSenders: senders,
      scheduledRotation: { expression: 'rate(30 days)', secretIds: ['prod/atlas/a'] },
    });
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const rule = logicalId(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule');
    const schedulerRole = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledRotationRole');
    const sweepRole = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepRole');
    const [statements] = queuePolicyStatements(template, queue);
    expect(statements).toContainEqual({
      Sid: 'NamedRequestSenders',
      Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      Effect: 'Allow',
      Principal: { AWS: senders },
      Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
    });
    expect(statements).toContainEqual({
      Sid: 'OnlyTheRequestRuleAndNamedSenders',
      Action: 'sqs:SendMessage',
      Condition: {
        ArnNotEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } },
        ArnNotLike: {
          'aws:PrincipalArn': [
            ...senders,
            { 'Fn::GetAtt': [schedulerRole, 'Arn'] },
            { 'Fn::GetAtt': [sweepRole, 'Arn'] },
          ],
        },
      },
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
    });
    // Nothing else may send: the only Allow statements are EventBridge's (for the rule) and the senders'.
    const allows = (statements ?? []).filter((statement) => statement.Effect === 'Allow');
    expect(allows.map((statement) => statement.Principal)).toEqual([
      { Service: 'events.amazonaws.com' },
      { AWS: senders },
    ]);
  });

  it('lets the named senders use the queue key through SQS only, with a KMS queue', () => {
    const sender = 'arn:aws:iam::123456789012:role/payments-rotation';
    const { template } = synth({ queueEncryption: 'kms', requestSenders: [sender] });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'NamedRequestSenders',
            Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
            Condition: { StringEquals: { 'kms:ViaService': `sqs.${REGION}.amazonaws.com` } },
            Effect: 'Allow',
            Principal: { AWS: sender },
            Resource: '*',
          },
        ]),
      },
    });
  });

  it('with a KMS queue, lets EventBridge of this account only use the queue and its key', () => {
    const { template } = synth({ queueEncryption: 'kms' });
    const sameAccount = { StringEquals: { 'aws:SourceAccount': '123456789012' } };
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Condition: sameAccount }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
            Condition: sameAccount,
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Resource: '*',
          },
        ]),
      },
    });
  });

  it('sets no message group on a standard queue', () => {
    const { template } = synth({ queueType: 'standard' });
    const rule = resource(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule');
    expect((rule.Targets as Record<string, unknown>[])[0]?.SqsParameters).toBeUndefined();
  });

  it('denies everyone but the rule with a KMS queue too, where EventBridge is only conditioned on the account', () => {
    const { template } = synth({ queueEncryption: 'kms', sweepSchedule: false });
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const rule = logicalId(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule');
    const [statements] = queuePolicyStatements(template, queue);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sqs:SendMessage',
        Condition: { ArnNotEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
      }),
    );
  });

  it('uses the default bus when asked: no bus resource, the rule on "default"', () => {
    const { template, stack } = synth({ eventBus: 'default' });
    template.resourceCountIs('AWS::Events::EventBus', 0);
    expect(resource(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule').EventBusName).toBe('default');
    expect(stack.rotator.eventBusName).toBe('default');
  });
});

describe('outputs', () => {
  it('exports the queue URL and ARN, the DLQ URL and the bus name', () => {
    const { template } = synth();
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const dlq = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsDeadLetterQueue');
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    template.hasOutput('RequestQueueUrl', { Value: { Ref: queue } });
    template.hasOutput('RequestQueueArn', { Value: { 'Fn::GetAtt': [queue, 'Arn'] } });
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: dlq } });
    template.hasOutput('EventBusName', { Value: { Ref: bus } });
    template.hasOutput('EventBusArn', { Value: { 'Fn::GetAtt': [bus, 'Arn'] } });
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual([
      'DeadLetterQueueUrl',
      'EventBusArn',
      'EventBusName',
      'RequestQueueArn',
      'RequestQueueUrl',
    ]);
  });
});
