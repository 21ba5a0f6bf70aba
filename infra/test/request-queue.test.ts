import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BUS_MESSAGE_GROUP_ID } from '../lib/atlas-rotator.js';
import { logicalId, resource, synth } from './support.js';

describe('request queue', () => {
  it('is FIFO with content-based deduplication, SQS-managed encryption and a FIFO DLQ by default', () => {
    const { template } = synth();
    const dlq = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsDeadLetterQueue');
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: true,
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      MessageRetentionPeriod: 345_600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(resource(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsDeadLetterQueue')).toEqual({
      FifoQueue: true,
      ContentBasedDeduplication: true,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('is a standard queue with a standard DLQ when asked, and takes the maxReceiveCount', () => {
    const { template } = synth({ queueType: 'standard', maxReceiveCount: 3 });
    const queue = resource(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    expect(queue.FifoQueue).toBeUndefined();
    expect(queue.ContentBasedDeduplication).toBeUndefined();
    expect(queue.RedrivePolicy).toMatchObject({ maxReceiveCount: 3 });
    expect(
      resource(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsDeadLetterQueue').FifoQueue,
    ).toBeUndefined();
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
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, VisibilityTimeout: 720 });
    expect(() => synth({ visibilityTimeout: Duration.seconds(60) })).toThrow(/at least the function timeout/);
    expect(() => synth({ maxReceiveCount: 0 })).toThrow(/maxReceiveCount/);
  });

  it('uses a 2-minute visibility for Fargate (the worker extends it while it works)', () => {
    const { template } = synth({ runtime: 'fargate', imageUri: 'example/atlas-rotator:1' });
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, VisibilityTimeout: 120 });
  });
});

describe('event bus and request rule', () => {
  it('creates a dedicated bus and routes Atlas Secret Rotation Requested to the queue in one message group', () => {
    const { template } = synth({ eventBusName: 'atlas-rotator' });
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'atlas-rotator' });
    expect(resource(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule')).toEqual({
      Description: 'atlas-rotator: Atlas Secret Rotation Requested to the request queue',
      EventBusName: { Ref: bus },
      EventPattern: { 'detail-type': ['Atlas Secret Rotation Requested'] },
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
          Id: 'Target0',
          SqsParameters: { MessageGroupId: BUS_MESSAGE_GROUP_ID },
        },
      ],
    });
  });

  it('lets only that rule send to the queue', () => {
    const { template } = synth();
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const rule = logicalId(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule');
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
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
