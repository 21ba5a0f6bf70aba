import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { AtlasRotatorStackProps } from './atlas-rotator-stack.js';

/** Every context key the app reads (`cdk synth -c key=value`, or `context` in cdk.json). */
export const CONTEXT_KEYS = [
  'runtime',
  'queueType',
  'queueEncryption',
  'maxReceiveCount',
  'visibilityTimeoutSeconds',
  'eventBus',
  'eventBusName',
  'eventSource',
  'requestSources',
  'requestSenders',
  'managedSecretNamePattern',
  'adminSecretArns',
  'secretKmsKeyArns',
  'atlasBaseUrl',
  'secretExpiresAfterHours',
  'logLevel',
  'maxConcurrency',
  'lambdaTimeoutSeconds',
  'lambdaMemorySize',
  'lambdaBatchSize',
  'lambdaMaxConcurrency',
  'imageUri',
  'fargateCpu',
  'fargateMemoryMiB',
  'fargateDesiredCount',
  'vpc',
  'vpcId',
  'scheduleExpression',
  'scheduleTimeZone',
  'scheduledSecretIds',
  'scheduleDeliverTo',
  'sweepSchedule',
  'rotateBeforeExpiryHours',
  'sweepConcurrency',
  'alarmTopicArn',
  'alarmEmail',
  'logRetentionDays',
  'rotationFunction',
  'metricsNamespace',
  'expiryAlarmHours',
  'failureAlarmThreshold',
  'dashboardName',
  'messagingOnly',
] as const;

export type ContextKey = (typeof CONTEXT_KEYS)[number];

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Stack props from context values. `-c` values arrive as strings, cdk.json values as JSON: lists may be
 * either a JSON array or a comma-separated string. Throws one error naming every invalid key.
 */
export function stackPropsFromContext(get: (key: ContextKey) => unknown): AtlasRotatorStackProps {
  const problems: string[] = [];
  const text = (key: ContextKey): string | undefined => {
    const raw = get(key);
    if (raw === undefined || raw === null) return undefined;
    const value = String(raw).trim();
    return value === '' ? undefined : value;
  };
  const oneOf = <T extends string>(key: ContextKey, allowed: readonly T[]): T | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      problems.push(`${key} must be one of ${allowed.join(', ')} (got "${value}")`);
      return undefined;
    }
    return value as T;
  };
  const integer = (key: ContextKey): number | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) {
      problems.push(`${key} must be a whole number (got "${value}")`);
      return undefined;
    }
    return Number(value);
  };
  const list = (key: ContextKey): string[] | undefined => {
    const raw = get(key);
    if (raw === undefined || raw === null) return undefined;
    const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
    const values = items.map((item) => item.trim()).filter((item) => item !== '');
    return values.length === 0 ? undefined : values;
  };
  const bool = (key: ContextKey): boolean | undefined => {
    const value = text(key)?.toLowerCase();
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') {
      problems.push(`${key} must be true or false (got "${value}")`);
      return undefined;
    }
    return value === 'true';
  };

  const props: Writable<AtlasRotatorStackProps> = {};
  const set = <K extends keyof AtlasRotatorStackProps>(
    key: K,
    value: AtlasRotatorStackProps[K] | undefined,
  ) => {
    if (value !== undefined) props[key] = value;
  };
  set('runtime', oneOf('runtime', ['lambda', 'fargate'] as const));
  set('queueType', oneOf('queueType', ['fifo', 'standard'] as const));
  set('queueEncryption', oneOf('queueEncryption', ['sqs-managed', 'kms'] as const));
  set('maxReceiveCount', integer('maxReceiveCount'));
  const visibility = integer('visibilityTimeoutSeconds');
  set('visibilityTimeout', visibility === undefined ? undefined : Duration.seconds(visibility));
  set('eventBus', oneOf('eventBus', ['dedicated', 'default'] as const));
  set('eventBusName', text('eventBusName'));
  set('eventSource', text('eventSource'));
  set('requestSources', list('requestSources'));
  set('requestSenders', list('requestSenders'));
  set('managedSecretNamePattern', text('managedSecretNamePattern'));
  set('adminSecretArns', list('adminSecretArns'));
  set('secretKmsKeyArns', list('secretKmsKeyArns'));
  set('atlasBaseUrl', text('atlasBaseUrl'));
  set('secretExpiresAfterHours', integer('secretExpiresAfterHours'));
  set('logLevel', oneOf('logLevel', ['debug', 'info', 'warn', 'error', 'silent'] as const));
  set('maxConcurrency', integer('maxConcurrency'));

  const lambda: Writable<NonNullable<AtlasRotatorStackProps['lambda']>> = {};
  const timeout = integer('lambdaTimeoutSeconds');
  if (timeout !== undefined) lambda.timeout = Duration.seconds(timeout);
  const memorySize = integer('lambdaMemorySize');
  if (memorySize !== undefined) lambda.memorySize = memorySize;
  const batchSize = integer('lambdaBatchSize');
  if (batchSize !== undefined) lambda.batchSize = batchSize;
  const lambdaMaxConcurrency = integer('lambdaMaxConcurrency');
  if (lambdaMaxConcurrency !== undefined) lambda.maxConcurrency = lambdaMaxConcurrency;
  if (Object.keys(lambda).length > 0) props.lambda = lambda;

  const fargate: Writable<NonNullable<AtlasRotatorStackProps['fargate']>> = {};
  const cpu = integer('fargateCpu');
  if (cpu !== undefined) fargate.cpu = cpu;
  const memoryLimitMiB = integer('fargateMemoryMiB');
  if (memoryLimitMiB !== undefined) fargate.memoryLimitMiB = memoryLimitMiB;
  const desiredCount = integer('fargateDesiredCount');
  if (desiredCount !== undefined) fargate.desiredCount = desiredCount;
  if (Object.keys(fargate).length > 0) props.fargate = fargate;
  set('imageUri', text('imageUri'));

  const vpc = oneOf('vpc', ['create', 'none'] as const);
  const vpcId = text('vpcId');
  if (vpc === 'create' && vpcId !== undefined) problems.push('vpc=create and vpcId exclude each other');
  set('vpcId', vpcId);
  if (vpc === 'create') props.vpc = 'create';

  const expression = text('scheduleExpression');
  const secretIds = list('scheduledSecretIds');
  if ((expression === undefined) !== (secretIds === undefined)) {
    problems.push('scheduleExpression and scheduledSecretIds go together');
  } else if (expression !== undefined && secretIds !== undefined) {
    const timeZone = text('scheduleTimeZone');
    const deliverTo = oneOf('scheduleDeliverTo', ['queue', 'bus'] as const);
    props.scheduledRotation = {
      expression,
      secretIds,
      ...(timeZone === undefined ? {} : { timeZone }),
      ...(deliverTo === undefined ? {} : { deliverTo }),
    };
  }

  // `false` (or `off`) turns the sweep off; any other value is its schedule expression.
  const sweepSchedule = text('sweepSchedule');
  if (sweepSchedule !== undefined) {
    props.sweepSchedule = ['false', 'off'].includes(sweepSchedule.toLowerCase()) ? false : sweepSchedule;
  }
  set('rotateBeforeExpiryHours', integer('rotateBeforeExpiryHours'));
  set('sweepConcurrency', integer('sweepConcurrency'));

  set('alarmTopicArn', text('alarmTopicArn'));
  set('alarmEmail', text('alarmEmail'));
  const retention = integer('logRetentionDays');
  if (retention !== undefined) {
    if ((Object.values(logs.RetentionDays) as unknown[]).includes(retention)) {
      props.logRetention = retention as logs.RetentionDays;
    } else {
      problems.push(`logRetentionDays must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, …)`);
    }
  }
  set('rotationFunction', bool('rotationFunction'));
  set('metricsNamespace', text('metricsNamespace'));
  set('expiryAlarmHours', integer('expiryAlarmHours'));
  set('failureAlarmThreshold', integer('failureAlarmThreshold'));
  set('dashboardName', text('dashboardName'));

  if (problems.length > 0) throw new Error(`invalid context:\n  ${problems.join('\n  ')}`);
  return props;
}

/**
 * `-c messagingOnly=true`: the app synthesizes AtlasRotatorMessagingStack (request queue, DLQ, bus, request
 * rule, outputs) instead of the full stack; the worker, schedule, sweep, alarm and rotation-function keys are ignored.
 */
export function messagingOnlyFromContext(get: (key: ContextKey) => unknown): boolean {
  const raw = get('messagingOnly');
  const value = raw === undefined || raw === null ? '' : String(raw).trim().toLowerCase();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`invalid context:\n  messagingOnly must be true or false (got "${value}")`);
}
