import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { AtlasRotatorStack } from '../lib/atlas-rotator-stack.js';
import { DETAIL_TYPE_REQUESTED } from '../lib/contract.js';
import { ACCOUNT, logicalId, newApp, REGION, resource, resourcesOfType, synth } from './support.js';

describe('monitoring: the EMF metrics', () => {
  it('tells every worker its namespace and the stack name as the Service dimension', () => {
    const { template } = synth({ rotationFunction: true, metricsNamespace: 'Team/Rotator' });
    const functions = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, fn]) => {
      const env = (fn.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
      return env?.EVENT_BUS_NAME !== undefined;
    });
    // The worker, the sweep and the rotation function.
    expect(functions).toHaveLength(3);
    for (const [, fn] of functions) {
      expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        METRICS_NAMESPACE: 'Team/Rotator',
        METRICS_SERVICE: 'Test',
      });
    }
  });

  it('alarms on failed rotations: three or more runs within an hour by default', () => {
    const { template } = synth();
    expect(
      resource(template, 'AWS::CloudWatch::Alarm', 'AtlasRotatorMonitoringRotationsFailed'),
    ).toMatchObject({
      Namespace: 'AtlasRotator',
      MetricName: 'RotationsFailed',
      Dimensions: [{ Name: 'Service', Value: 'Test' }],
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when the soonest expiry in the fleet is within the configured hours', () => {
    const { template } = synth({ expiryAlarmHours: 96, failureAlarmThreshold: 1 });
    expect(
      resource(template, 'AWS::CloudWatch::Alarm', 'AtlasRotatorMonitoringSecretNearExpiry'),
    ).toMatchObject({
      Namespace: 'AtlasRotator',
      MetricName: 'HoursToExpiry',
      Dimensions: [{ Name: 'Service', Value: 'Test' }],
      Statistic: 'Minimum',
      Period: 86_400,
      Threshold: 96,
      ComparisonOperator: 'LessThanThreshold',
    });
    expect(
      resource(template, 'AWS::CloudWatch::Alarm', 'AtlasRotatorMonitoringRotationsFailed'),
    ).toMatchObject({
      Threshold: 1,
    });
  });

  it('refuses an expiry threshold of zero hours and a failure threshold below one', () => {
    expect(() => synth({ expiryAlarmHours: 0 })).toThrow(/expiryAlarmHours/);
    expect(() => synth({ failureAlarmThreshold: 0 })).toThrow(/failureAlarmThreshold/);
  });

  it('draws a dashboard of the metrics, the DLQ depth and the alarms', () => {
    const { template } = synth({ dashboardName: 'atlas-rotator-test' });
    const dashboard = resource(template, 'AWS::CloudWatch::Dashboard', 'AtlasRotatorMonitoringDashboard');
    expect(dashboard.DashboardName).toBe('atlas-rotator-test');
    const body = JSON.stringify(dashboard.DashboardBody);
    for (const name of [
      'RotationsCompleted',
      'RotationsFailed',
      'RotationDuration',
      'HoursToExpiry',
      'OldSecretsAwaitingRetirement',
      'AtlasCalls',
      'AtlasRetries',
      'AtlasRateLimitWaits',
      'SweepSecrets',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(name);
    }
    expect(body).toContain('{AtlasRotator,Service,ErrorCode}');
    const dlqAlarm = logicalId(
      template,
      'AWS::CloudWatch::Alarm',
      'AtlasRotatorAlarmsDeadLetterQueueNotEmpty',
    );
    expect(body).toContain(dlqAlarm);
  });

  it('notifies the alarm topic from both alarms', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:ops';
    const { template } = synth({ alarmTopicArn: topic });
    for (const prefix of [
      'AtlasRotatorMonitoringRotationsFailed',
      'AtlasRotatorMonitoringSecretNearExpiry',
    ]) {
      expect(resource(template, 'AWS::CloudWatch::Alarm', prefix)).toMatchObject({
        AlarmActions: [topic],
        OKActions: [topic],
      });
    }
  });
});

describe('AtlasRotator helpers', () => {
  it('grantRequestRotation allows PutEvents of rotation requests on the bus only, optionally of one source', () => {
    const stack = new AtlasRotatorStack(newApp(), 'Test', { env: { account: ACCOUNT, region: REGION } });
    const role = new iam.Role(stack, 'Requester', { assumedBy: new iam.AccountRootPrincipal() });
    const other = new iam.Role(stack, 'Other', { assumedBy: new iam.AccountRootPrincipal() });
    stack.rotator.grantRequestRotation(role, { source: 'team.payments' });
    stack.rotator.grantRequestRotation(other);
    const template = Template.fromStack(stack);
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    const requester = logicalId(template, 'AWS::IAM::Role', 'Requester');
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: requester }],
      PolicyDocument: {
        Statement: [
          {
            Action: 'events:PutEvents',
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [bus, 'Arn'] },
            Condition: {
              StringEquals: { 'events:detail-type': DETAIL_TYPE_REQUESTED, 'events:source': 'team.payments' },
            },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(template, 'AWS::IAM::Role', 'Other') }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Condition: { StringEquals: { 'events:detail-type': DETAIL_TYPE_REQUESTED } } }),
        ],
      },
    });
  });

  it('metric helpers name this deployment and the metric, with overrides', () => {
    const { stack } = synth();
    const failed = stack.rotator.metricRotationsFailed({ period: Duration.minutes(15) });
    expect(failed.namespace).toBe('AtlasRotator');
    expect(failed.metricName).toBe('RotationsFailed');
    expect(failed.dimensions).toEqual({ Service: 'Test' });
    expect(failed.period.toMinutes()).toBe(15);
    expect(failed.statistic).toBe('Sum');
    const throttled = stack.rotator.metricRotationsFailedWith('ATLAS_RATE_LIMITED');
    expect(throttled.dimensions).toEqual({ Service: 'Test', ErrorCode: 'ATLAS_RATE_LIMITED' });
    expect(stack.rotator.metricHoursToExpiry().statistic).toBe('Minimum');
    expect(stack.rotator.metricRotationsCompleted().metricName).toBe('RotationsCompleted');
    expect(stack.rotator.metricRotationDuration({ statistic: 'p99' }).statistic).toBe('p99');
    expect(stack.rotator.metricOldSecretsAwaitingRetirement().metricName).toBe(
      'OldSecretsAwaitingRetirement',
    );
    expect(stack.rotator.metricAtlasRateLimitWaits().metricName).toBe('AtlasRateLimitWaits');
  });
});
