import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { logicalId, resource, resourcesOfType, synth } from './support.js';

const alarmCount = (template: ReturnType<typeof synth>['template']) =>
  resourcesOfType(template, 'AWS::CloudWatch::Alarm').length;

describe('alarms', () => {
  it('alarms when anything is in the dead-letter queue', () => {
    const { template } = synth();
    const dlq = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsDeadLetterQueue');
    expect(
      resource(template, 'AWS::CloudWatch::Alarm', 'AtlasRotatorAlarmsDeadLetterQueueNotEmpty'),
    ).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('routes final failures (source, detail-type, final: true) to a log group and alarms on each', () => {
    const { template, stack } = synth({ eventSource: 'team.atlas-rotator' });
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    const rule = logicalId(template, 'AWS::Events::Rule', 'AtlasRotatorAlarmsFinalFailureRule');
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorAlarmsFinalFailureLog');
    expect(resource(template, 'AWS::Events::Rule', 'AtlasRotatorAlarmsFinalFailureRule')).toEqual({
      Description: 'atlas-rotator: rotations that failed for good (final: true)',
      EventBusName: { Ref: bus },
      EventPattern: {
        source: ['team.atlas-rotator'],
        'detail-type': ['Atlas Secret Rotation Failed'],
        detail: { final: [true] },
      },
      State: 'ENABLED',
      Targets: [
        {
          Arn: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':logs:eu-west-1:123456789012:log-group:',
                { Ref: logGroup },
              ],
            ],
          },
          Id: 'Target0',
        },
      ],
    });
    template.resourceCountIs('AWS::Logs::ResourcePolicy', 1);
    expect(stack.resolve(stack.rotator.alarms.finalFailureLogPolicy.document.toJSON())).toEqual({
      Statement: [
        {
          Sid: 'EventBridgeWritesFinalFailures',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
          Effect: 'Allow',
          Principal: { Service: ['events.amazonaws.com', 'delivery.logs.amazonaws.com'] },
          Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
        },
      ],
      Version: '2012-10-17',
    });
    expect(
      resource(template, 'AWS::CloudWatch::Alarm', 'AtlasRotatorAlarmsRotationFailedForGood'),
    ).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: rule } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('counts error log lines of the worker and alarms on them, and on Lambda errors', () => {
    const { template } = synth();
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorLambdaWorkerLogGroup');
    const fn = logicalId(template, 'AWS::Lambda::Function', 'AtlasRotatorLambdaWorkerFunction');
    expect(resource(template, 'AWS::Logs::MetricFilter', 'AtlasRotatorAlarmsWorkerErrorLines')).toEqual({
      LogGroupName: { Ref: logGroup },
      FilterPattern: '{ $.level = "error" }',
      MetricTransformations: [
        {
          MetricNamespace: 'AtlasRotator',
          MetricName: 'WorkerErrorLines-Test',
          MetricValue: '1',
          DefaultValue: 0,
        },
      ],
    });
    expect(
      resource(template, 'AWS::CloudWatch::Alarm', 'AtlasRotatorAlarmsWorkerLoggedErrors'),
    ).toMatchObject({
      Namespace: 'AtlasRotator',
      MetricName: 'WorkerErrorLines-Test',
      Statistic: 'Sum',
      Threshold: 0,
    });
    expect(
      resource(template, 'AWS::CloudWatch::Alarm', 'AtlasRotatorAlarmsWorkerFunctionErrors'),
    ).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Statistic: 'Sum',
      Threshold: 0,
    });
    // And the scheduled sweep's (scheduled-sweep.test.ts), and the two on the EMF metrics (monitoring.test.ts).
    expect(alarmCount(template)).toBe(7);
  });

  it('watches the Fargate worker through its log lines (no Lambda errors metric)', () => {
    const { template } = synth({ runtime: 'fargate', imageUri: 'example/a:1' });
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorFargateWorkerLogGroup');
    template.hasResourceProperties('AWS::Logs::MetricFilter', { LogGroupName: { Ref: logGroup } });
    // Four of RotationAlarms and the two on the EMF metrics (monitoring.test.ts).
    expect(alarmCount(template)).toBe(6);
  });

  it('has no alarm actions without a topic', () => {
    const { template } = synth();
    for (const [, alarm] of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.AlarmActions).toBeUndefined();
    }
  });

  it('notifies an existing topic on ALARM and OK', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:ops';
    const { template } = synth({ alarmTopicArn: topic });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const [, alarm] of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.AlarmActions).toEqual([topic]);
      expect(alarm.OKActions).toEqual([topic]);
    }
  });

  it('creates an encrypted, TLS-only topic that CloudWatch can publish to, with an e-mail subscription', () => {
    const { template } = synth({ alarmEmail: 'ops@example.com' });
    const topic = logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic');
    const key = logicalId(template, 'AWS::KMS::Key', 'AlarmTopicKey');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topic },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Effect: 'Deny' }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'CloudWatchAlarmsPublish',
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Resource: '*',
          },
        ]),
      },
    });
    for (const [, alarm] of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
    }
  });
});
