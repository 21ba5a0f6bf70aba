import { describe, expect, it } from 'vitest';
import { messageGroupIdFor, SCHEDULE_EVENT_SOURCE } from '../lib/scheduled-rotation.js';
import { logicalId, resource, resourcesOfType, synth } from './support.js';

const secretIds = [
  'prod/atlas/reporting-sa',
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/atlas/b-AbCdEf',
];

describe('scheduled rotation', () => {
  it('is off unless configured', () => {
    const { template } = synth();
    // The one schedule by default is the sweep's.
    expect(Object.keys(template.findResources('AWS::Scheduler::Schedule'))).toEqual([
      expect.stringMatching(/^AtlasRotatorScheduledSweepSchedule/),
    ]);
  });

  it('sends one direct request per secret to a FIFO queue, grouped by the secret', () => {
    const { template } = synth({
      queueType: 'fifo',
      scheduledRotation: { expression: 'cron(0 3 1 * ? *)', timeZone: 'Europe/Berlin', secretIds },
    });
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledRotationRole');
    const schedules = resourcesOfType(template, 'AWS::Scheduler::Schedule')
      .filter(([id]) => id.startsWith('AtlasRotatorScheduledRotation'))
      .map(([, properties]) => properties);
    expect(schedules).toHaveLength(2);
    for (const secretId of secretIds) {
      expect(schedules).toContainEqual({
        Description: `atlas-rotator: rotate ${secretId}`,
        FlexibleTimeWindow: { Mode: 'OFF' },
        ScheduleExpression: 'cron(0 3 1 * ? *)',
        ScheduleExpressionTimezone: 'Europe/Berlin',
        State: 'ENABLED',
        Target: {
          Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
          Input: JSON.stringify({ secretId, reason: 'scheduled rotation' }),
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
          RoleArn: { 'Fn::GetAtt': [role, 'Arn'] },
          SqsParameters: { MessageGroupId: secretId },
        },
      });
    }
  });

  it('sets no message group on the standard queue (the default)', () => {
    const { template } = synth({
      scheduledRotation: { expression: 'rate(30 days)', secretIds: ['prod/atlas/a'] },
    });
    const schedule = resource(template, 'AWS::Scheduler::Schedule', 'AtlasRotatorScheduledRotation') as {
      Target: { Arn: unknown; SqsParameters?: object };
    };
    expect(schedule.Target.Arn).toEqual({
      'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue'), 'Arn'],
    });
    expect(schedule.Target.SqsParameters ?? {}).toEqual({});
  });

  it('can put Atlas Secret Rotation Requested events on the bus instead', () => {
    const { template } = synth({
      scheduledRotation: { expression: 'rate(30 days)', secretIds: ['prod/atlas/a'], deliverTo: 'bus' },
    });
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(30 days)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      Target: {
        Arn: { 'Fn::GetAtt': [bus, 'Arn'] },
        EventBridgeParameters: {
          DetailType: 'Atlas Secret Rotation Requested',
          Source: SCHEDULE_EVENT_SOURCE,
        },
        Input: JSON.stringify({ secretId: 'prod/atlas/a', reason: 'scheduled rotation' }),
      },
    });
  });

  it('names each schedule after its secret, so reordering the list replaces nothing', () => {
    const ids = (list: string[]) =>
      Object.keys(
        synth({ scheduledRotation: { expression: 'rate(30 days)', secretIds: list } }).template.findResources(
          'AWS::Scheduler::Schedule',
        ),
      ).sort();
    expect(ids([...secretIds])).toEqual(ids([...secretIds].reverse()));
  });

  it('refuses malformed schedules and secret ids', () => {
    expect(() => synth({ scheduledRotation: { expression: 'every day', secretIds: ['a'] } })).toThrow(/rate/);
    expect(() => synth({ scheduledRotation: { expression: 'rate(1 day)', secretIds: [] } })).toThrow(
      /at least one/,
    );
    expect(() => synth({ scheduledRotation: { expression: 'rate(1 day)', secretIds: ['a b'] } })).toThrow(
      /not a secret name/,
    );
    expect(() => synth({ scheduledRotation: { expression: 'rate(1 day)', secretIds: ['a', 'a'] } })).toThrow(
      /twice/,
    );
  });

  it('keeps a MessageGroupId within SQS limits for very long secret ids', () => {
    expect(messageGroupIdFor('prod/a')).toBe('prod/a');
    const long = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${'x'.repeat(200)}`;
    expect(messageGroupIdFor(long)).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(messageGroupIdFor(long)).toBe(messageGroupIdFor(long));
  });
});
