import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { type ContextKey, stackPropsFromContext } from '../lib/context.js';

const props = (context: Partial<Record<ContextKey, unknown>>) => stackPropsFromContext((key) => context[key]);

describe('context values', () => {
  it('leave every prop at its default when absent', () => {
    expect(props({})).toEqual({});
  });

  it('map -c strings and cdk.json values onto stack props', () => {
    expect(
      props({
        runtime: 'fargate',
        queueType: 'standard',
        queueEncryption: 'kms',
        maxReceiveCount: 3,
        visibilityTimeoutSeconds: '600',
        eventBus: 'default',
        eventSource: 'atlas-rotator',
        requestSources: 'team.payments, team.search',
        requestSenders: ['arn:aws:iam::123456789012:role/payments-rotation'],
        adminSecretArns:
          'arn:aws:secretsmanager:eu-west-1:1:secret:a, arn:aws:secretsmanager:eu-west-1:1:secret:b',
        secretKmsKeyArns: ['arn:aws:kms:eu-west-1:1:key/k'],
        secretExpiresAfterHours: '720',
        logLevel: 'warn',
        maxConcurrency: '8',
        lambdaTimeoutSeconds: '120',
        lambdaBatchSize: '2',
        lambdaMaxConcurrency: '10',
        imageUri: 'example/a:1',
        fargateDesiredCount: '2',
        vpc: 'create',
        scheduleExpression: 'cron(0 3 1 * ? *)',
        scheduledSecretIds: 'prod/a,prod/b',
        scheduleTimeZone: 'Europe/Berlin',
        scheduleDeliverTo: 'bus',
        sweepSchedule: 'cron(0 4 * * ? *)',
        rotateBeforeExpiryHours: '168',
        sweepConcurrency: 8,
        alarmEmail: 'ops@example.com',
        logRetentionDays: '30',
        rotationFunction: 'true',
      }),
    ).toEqual({
      runtime: 'fargate',
      queueType: 'standard',
      queueEncryption: 'kms',
      maxReceiveCount: 3,
      visibilityTimeout: Duration.seconds(600),
      eventBus: 'default',
      eventSource: 'atlas-rotator',
      requestSources: ['team.payments', 'team.search'],
      requestSenders: ['arn:aws:iam::123456789012:role/payments-rotation'],
      adminSecretArns: [
        'arn:aws:secretsmanager:eu-west-1:1:secret:a',
        'arn:aws:secretsmanager:eu-west-1:1:secret:b',
      ],
      secretKmsKeyArns: ['arn:aws:kms:eu-west-1:1:key/k'],
      secretExpiresAfterHours: 720,
      logLevel: 'warn',
      maxConcurrency: 8,
      lambda: { timeout: Duration.seconds(120), batchSize: 2, maxConcurrency: 10 },
      imageUri: 'example/a:1',
      fargate: { desiredCount: 2 },
      vpc: 'create',
      scheduledRotation: {
        expression: 'cron(0 3 1 * ? *)',
        secretIds: ['prod/a', 'prod/b'],
        timeZone: 'Europe/Berlin',
        deliverTo: 'bus',
      },
      sweepSchedule: 'cron(0 4 * * ? *)',
      rotateBeforeExpiryHours: 168,
      sweepConcurrency: 8,
      alarmEmail: 'ops@example.com',
      logRetention: 30,
      rotationFunction: true,
    });
  });

  it('turn the sweep off with sweepSchedule=false (or off), in any case', () => {
    for (const off of ['false', 'FALSE', 'off', false]) {
      expect(props({ sweepSchedule: off })).toEqual({ sweepSchedule: false });
    }
    expect(props({ sweepSchedule: 'rate(12 hours)' })).toEqual({ sweepSchedule: 'rate(12 hours)' });
  });

  it('name every invalid key at once', () => {
    expect(() =>
      props({
        runtime: 'ec2',
        maxReceiveCount: 'five',
        scheduleExpression: 'rate(1 day)',
        rotateBeforeExpiryHours: '14d',
        logRetentionDays: '31',
      }),
    ).toThrow(
      /runtime must be one of lambda, fargate[\s\S]*maxReceiveCount must be a whole number[\s\S]*scheduleExpression and scheduledSecretIds go together[\s\S]*rotateBeforeExpiryHours must be a whole number[\s\S]*logRetentionDays/,
    );
  });
});
