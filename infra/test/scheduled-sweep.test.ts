import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleNodeEntry } from '../lib/bundle.js';
import {
  DEFAULT_SWEEP_SCHEDULE,
  SWEEP_LAMBDA_ENTRY,
  SWEEP_TASK_GROUP,
  sweepNamePrefixFor,
} from '../lib/scheduled-sweep.js';
import { logicalId, policyStatements, repoRoot, resource, resourcesOfType, synth } from './support.js';

const FARGATE = { runtime: 'fargate', imageUri: 'example.com/atlas-rotator:1.0.0' } as const;
const ADMIN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/admin-AbCdEf';
const SECRET_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/0b9f6c1e-0000-4000-8000-000000000001';

const managedSecrets = (pattern = '*') => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:eu-west-1:123456789012:secret:${pattern}`],
  ],
});
const listSecrets = {
  Sid: 'ListSecretsToFindManagedOnes',
  Action: 'secretsmanager:ListSecrets',
  Effect: 'Allow',
  Resource: '*',
};
const readManaged = (pattern?: string) => ({
  Sid: 'ReadManagedSecrets',
  Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
  Condition: { StringEquals: { 'aws:ResourceTag/atlas-rotator:managed': 'true' } },
  Effect: 'Allow',
  Resource: managedSecrets(pattern),
});
const sendRequests = (queue: string) => ({
  Sid: 'SendRotationRequests',
  Action: 'sqs:SendMessage',
  Effect: 'Allow',
  Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
});
const putEvents = (template: Template) => ({
  Action: 'events:PutEvents',
  Effect: 'Allow',
  Resource: { 'Fn::GetAtt': [logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus'), 'Arn'] },
});
const schedulerTrust = {
  Statement: [
    {
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
      Effect: 'Allow',
      Principal: { Service: 'scheduler.amazonaws.com' },
    },
  ],
  Version: '2012-10-17',
};

type Template = ReturnType<typeof synth>['template'];
const roleProperties = (template: Template, id: string) =>
  template.findResources('AWS::IAM::Role')[id]?.Properties as Record<string, unknown>;
const sweepSchedule = (template: Template) =>
  resource(template, 'AWS::Scheduler::Schedule', 'AtlasRotatorScheduledSweepSchedule') as {
    ScheduleExpression: string;
    Target: Record<string, unknown>;
  };

describe('the scheduled sweep, Lambda worker (the default)', () => {
  it('invokes the sweep function once a day by default, as its own schedule role', () => {
    const { template } = synth();
    const fn = logicalId(template, 'AWS::Lambda::Function', 'AtlasRotatorScheduledSweepFunction');
    const scheduleRole = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepScheduleRole');
    expect(DEFAULT_SWEEP_SCHEDULE).toBe('rate(1 day)');
    expect(sweepSchedule(template)).toEqual({
      Description: 'atlas-rotator: sweep, request rotations of managed secrets about to expire',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ScheduleExpression: 'rate(1 day)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [scheduleRole, 'Arn'] },
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
      },
    });
    // No event: the handler ignores it; never --now.
    expect(sweepSchedule(template).Target.Input).toBeUndefined();
  });

  it('runs the bundled sweep entry on Node 24 with the worker configuration plus the sweep keys', () => {
    const { template } = synth({
      adminSecretArns: [ADMIN],
      atlasBaseUrl: 'https://cloud.mongodb.com',
      environment: { ATLAS_ALLOWED_BASE_URLS: 'https://cloud.mongodb.com' },
      lambda: { memorySize: 1024 },
    });
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepRole');
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorScheduledSweepLogGroup');
    const sweep = resource(template, 'AWS::Lambda::Function', 'AtlasRotatorScheduledSweepFunction');
    const worker = resource(template, 'AWS::Lambda::Function', 'AtlasRotatorLambdaWorkerFunction');
    expect(sweep).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 900,
      MemorySize: 1024,
      Role: { 'Fn::GetAtt': [role, 'Arn'] },
      LoggingConfig: { LogGroup: { Ref: logGroup } },
    });
    const variables = (fn: Record<string, unknown>) =>
      (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables(sweep)).toEqual({
      ...variables(worker),
      ROTATE_BEFORE_EXPIRY_HOURS: '336',
      SWEEP_CONCURRENCY: '4',
    });
    expect(variables(sweep)).toMatchObject({
      ROTATION_QUEUE_URL: { Ref: queue },
      ADMIN_SECRET_ARNS: ADMIN,
      ATLAS_BASE_URL: 'https://cloud.mongodb.com',
      ATLAS_ALLOWED_BASE_URLS: 'https://cloud.mongodb.com',
    });
    // A failed sweep is not re-run by Lambda: the next scheduled sweep is the retry.
    const fn = logicalId(template, 'AWS::Lambda::Function', 'AtlasRotatorScheduledSweepFunction');
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fn },
      MaximumRetryAttempts: 0,
    });
  });

  it('takes rotateBeforeExpiryHours, sweepConcurrency and the secret-name prefix of managedSecretNamePattern', () => {
    const { template } = synth({
      rotateBeforeExpiryHours: 168,
      sweepConcurrency: 8,
      managedSecretNamePattern: 'prod/atlas/*',
    });
    const variables = (
      resource(template, 'AWS::Lambda::Function', 'AtlasRotatorScheduledSweepFunction').Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(variables).toMatchObject({
      ROTATE_BEFORE_EXPIRY_HOURS: '168',
      SWEEP_CONCURRENCY: '8',
      SWEEP_NAME_PREFIX: 'prod/atlas/',
    });
    expect(sweepNamePrefixFor('*')).toBeUndefined();
    expect(sweepNamePrefixFor('prod/*/atlas-*')).toBeUndefined();
    expect(sweepNamePrefixFor('prod/atlas-sa')).toBeUndefined();
  });

  it('runs in the worker’s VPC when the worker does (the same egress IP for Atlas)', () => {
    const { template } = synth({ vpc: 'create' });
    const sweep = resource(template, 'AWS::Lambda::Function', 'AtlasRotatorScheduledSweepFunction');
    const worker = resource(template, 'AWS::Lambda::Function', 'AtlasRotatorLambdaWorkerFunction');
    expect(sweep.VpcConfig).toBeDefined();
    expect((sweep.VpcConfig as { SubnetIds: unknown }).SubnetIds).toEqual(
      (worker.VpcConfig as { SubnetIds: unknown }).SubnetIds,
    );
  });

  it('bundles an ESM entry that exports handler', async () => {
    const dir = bundleNodeEntry(repoRoot, SWEEP_LAMBDA_ENTRY);
    expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(code).toMatch(/export\s*{[^}]*\bhandler\b[^}]*}/);
    const module = (await import(join(dir, 'index.mjs'))) as { handler: unknown };
    expect(typeof module.handler).toBe('function');
  });
});

describe('the scheduled sweep, Fargate worker', () => {
  it("runs one task of the worker's task definition with the command sweep, as the sweep's role", () => {
    const { template } = synth({ ...FARGATE, rotateBeforeExpiryHours: 240, sweepConcurrency: 2 });
    const cluster = logicalId(template, 'AWS::ECS::Cluster', 'AtlasRotatorFargateWorkerCluster');
    const task = logicalId(template, 'AWS::ECS::TaskDefinition', 'AtlasRotatorFargateWorkerTask');
    const sweepRole = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepRole');
    const scheduleRole = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepScheduleRole');
    const securityGroup = logicalId(
      template,
      'AWS::EC2::SecurityGroup',
      'AtlasRotatorFargateWorkerServiceSecurityGroup',
    );
    const { Target, ScheduleExpression } = sweepSchedule(template);
    expect(ScheduleExpression).toBe('rate(1 day)');
    expect(Target).toMatchObject({
      Arn: { 'Fn::GetAtt': [cluster, 'Arn'] },
      RoleArn: { 'Fn::GetAtt': [scheduleRole, 'Arn'] },
      EcsParameters: {
        TaskDefinitionArn: { Ref: task },
        TaskCount: 1,
        LaunchType: 'FARGATE',
        PlatformVersion: 'LATEST',
        Group: SWEEP_TASK_GROUP,
        NetworkConfiguration: {
          AwsvpcConfiguration: {
            AssignPublicIp: 'DISABLED',
            SecurityGroups: [{ 'Fn::GetAtt': [securityGroup, 'GroupId'] }],
            Subnets: [
              { Ref: expect.stringMatching(/workersSubnet1/) },
              { Ref: expect.stringMatching(/workersSubnet2/) },
            ],
          },
        },
      },
    });
    // The RunTask overrides: the worker container, command sweep, the sweep keys, and the sweep's task role.
    const input = Target.Input as { 'Fn::Join': [string, unknown[]] };
    const [prefix, roleArn, suffix] = input['Fn::Join'][1] as [string, unknown, string];
    expect(roleArn).toEqual({ 'Fn::GetAtt': [sweepRole, 'Arn'] });
    expect(JSON.parse(`${prefix}ROLE${suffix}`)).toEqual({
      containerOverrides: [
        {
          name: 'Worker',
          command: ['sweep'],
          environment: [
            { name: 'ROTATE_BEFORE_EXPIRY_HOURS', value: '240' },
            { name: 'SWEEP_CONCURRENCY', value: '2' },
          ],
        },
      ],
      taskRoleArn: 'ROLE',
    });
    // The task definition's container is the worker's (the override, not a second task definition).
    template.resourceCountIs('AWS::ECS::TaskDefinition', 1);
    template.resourceCountIs('AWS::Lambda::Function', 0);
  });

  it('lets the schedule role only run that task definition in its cluster and pass the two roles it needs', () => {
    const { template } = synth(FARGATE);
    const cluster = logicalId(template, 'AWS::ECS::Cluster', 'AtlasRotatorFargateWorkerCluster');
    const task = logicalId(template, 'AWS::ECS::TaskDefinition', 'AtlasRotatorFargateWorkerTask');
    const sweepRole = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepRole');
    const executionRole = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorFargateWorkerTaskExecutionRole');
    const scheduleRole = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepScheduleRole');
    expect(policyStatements(template, scheduleRole)).toEqual([
      {
        Sid: 'RunWorkerTaskDefinitionInItsCluster',
        Action: 'ecs:RunTask',
        Condition: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [cluster, 'Arn'] } } },
        Effect: 'Allow',
        Resource: { Ref: task },
      },
      {
        Sid: 'PassSweepAndExecutionRolesToEcs',
        Action: 'iam:PassRole',
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        Effect: 'Allow',
        Resource: [{ 'Fn::GetAtt': [executionRole, 'Arn'] }, { 'Fn::GetAtt': [sweepRole, 'Arn'] }],
      },
    ]);
    expect(roleProperties(template, scheduleRole).AssumeRolePolicyDocument).toEqual(schedulerTrust);
    expect(roleProperties(template, sweepRole).AssumeRolePolicyDocument).toEqual({
      Statement: [
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' } },
      ],
      Version: '2012-10-17',
    });
  });
});

describe("the sweep's role", () => {
  it('holds exactly: its logs, ListSecrets, reads of the tagged secrets, SendMessage and PutEvents (Lambda)', () => {
    const { template } = synth();
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepRole');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorScheduledSweepLogGroup');
    expect(policyStatements(template, role)).toEqual([
      {
        Sid: 'WriteOwnLogs',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
      },
      listSecrets,
      readManaged(),
      sendRequests(queue),
      putEvents(template),
    ]);
    expect(roleProperties(template, role).ManagedPolicyArns).toBeUndefined();
    expect(roleProperties(template, role).AssumeRolePolicyDocument).toEqual({
      Statement: [
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ],
      Version: '2012-10-17',
    });
  });

  it('holds exactly ListSecrets, the reads, SendMessage and PutEvents as the Fargate task role (logs are the execution role’s)', () => {
    const { template } = synth(FARGATE);
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepRole');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    expect(policyStatements(template, role)).toEqual([
      listSecrets,
      readManaged(),
      sendRequests(queue),
      putEvents(template),
    ]);
  });

  it('adds the admin secrets, decryption of secret keys and the queue key through their services only', () => {
    const { template } = synth({
      ...FARGATE,
      adminSecretArns: [ADMIN],
      secretKmsKeyArns: [SECRET_KEY],
      queueEncryption: 'kms',
      managedSecretNamePattern: 'prod/atlas/*',
    });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepRole');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const key = logicalId(template, 'AWS::KMS::Key', 'AtlasRotatorRequestsKey');
    expect(policyStatements(template, role)).toEqual([
      listSecrets,
      readManaged('prod/atlas/*'),
      {
        Sid: 'ReadAllowListedAdminSecrets',
        Action: 'secretsmanager:GetSecretValue',
        Effect: 'Allow',
        Resource: ADMIN,
      },
      {
        Sid: 'DecryptSecretsThroughSecretsManager',
        Action: 'kms:Decrypt',
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
        Effect: 'Allow',
        Resource: SECRET_KEY,
      },
      sendRequests(queue),
      {
        Sid: 'UseQueueKeyThroughSqs',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Condition: { StringEquals: { 'kms:ViaService': 'sqs.eu-west-1.amazonaws.com' } },
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [key, 'Arn'] },
      },
      putEvents(template),
    ]);
  });

  it('can write nothing to Secrets Manager, in any configuration', () => {
    for (const props of [{}, { vpc: 'create' as const, adminSecretArns: [ADMIN] }, FARGATE]) {
      const { template } = synth(props);
      const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepRole');
      const actions = policyStatements(template, role).flatMap((s) => [s.Action].flat() as string[]);
      expect(actions.filter((a) => a.startsWith('secretsmanager:')).sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        ...(JSON.stringify(props).includes(ADMIN) ? ['secretsmanager:GetSecretValue'] : []),
        'secretsmanager:ListSecrets',
      ]);
      // Events: only PutEvents (the old-secret events of ADR 0009), onto the service's bus.
      expect(actions.some((a) => /^(sqs:(?!SendMessage$)|events:(?!PutEvents$)|iam:|ecs:)/.test(a))).toBe(
        false,
      );
    }
  });

  it('lets the schedule role invoke only the sweep function (Lambda)', () => {
    const { template } = synth();
    const fn = logicalId(template, 'AWS::Lambda::Function', 'AtlasRotatorScheduledSweepFunction');
    const scheduleRole = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepScheduleRole');
    expect(policyStatements(template, scheduleRole)).toEqual([
      {
        Sid: 'InvokeSweepFunction',
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [fn, 'Arn'] },
      },
    ]);
    expect(roleProperties(template, scheduleRole).AssumeRolePolicyDocument).toEqual(schedulerTrust);
  });

  it('is admitted by the queue policy: exempted from the denial of SendMessage, in both runtimes', () => {
    for (const props of [{}, FARGATE]) {
      const { template } = synth(props);
      const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
      const rule = logicalId(template, 'AWS::Events::Rule', 'AtlasRotatorRequestRule');
      const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledSweepRole');
      const statements = resourcesOfType(template, 'AWS::SQS::QueuePolicy')
        .filter(([, p]) => JSON.stringify(p.Queues) === JSON.stringify([{ Ref: queue }]))
        .flatMap(([, p]) => (p.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
      expect(statements).toContainEqual({
        Sid: 'OnlyTheRequestRuleAndNamedSenders',
        Action: 'sqs:SendMessage',
        Condition: {
          ArnNotEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } },
          ArnNotLike: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': [role, 'Arn'] }] },
        },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
      });
    }
  });
});

describe('the sweep failure alarm', () => {
  it('alarms on the sweep function’s errors (Lambda)', () => {
    const { template } = synth({ alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' });
    const fn = logicalId(template, 'AWS::Lambda::Function', 'AtlasRotatorScheduledSweepFunction');
    expect(resource(template, 'AWS::CloudWatch::Alarm', 'AtlasRotatorAlarmsSweepFailed')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'],
      OKActions: ['arn:aws:sns:eu-west-1:123456789012:ops'],
    });
  });

  it('keeps the failed sweep tasks’ state changes in a log group and alarms on each (Fargate)', () => {
    const { template, stack } = synth({
      ...FARGATE,
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
    });
    const cluster = logicalId(template, 'AWS::ECS::Cluster', 'AtlasRotatorFargateWorkerCluster');
    const rule = logicalId(template, 'AWS::Events::Rule', 'AtlasRotatorAlarmsSweepTaskFailedRule');
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorAlarmsSweepTaskFailureLog');
    const properties = resource(template, 'AWS::Events::Rule', 'AtlasRotatorAlarmsSweepTaskFailedRule');
    // On the default bus (no EventBusName): ECS publishes task state changes there only.
    expect(properties.EventBusName).toBeUndefined();
    expect(properties.EventPattern).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: {
        clusterArn: [{ 'Fn::GetAtt': [cluster, 'Arn'] }],
        group: [SWEEP_TASK_GROUP],
        lastStatus: ['STOPPED'],
        $or: [{ containers: { exitCode: [{ 'anything-but': 0 }] } }, { stopCode: ['TaskFailedToStart'] }],
      },
    });
    expect(JSON.stringify(properties.Targets)).toContain(logGroup);
    expect(
      stack.resolve(stack.rotator.alarms.finalFailureLogPolicy.document.toJSON()).Statement,
    ).toContainEqual({
      Sid: 'EventBridgeWritesSweepTaskFailures',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
      Effect: 'Allow',
      Principal: { Service: ['events.amazonaws.com', 'delivery.logs.amazonaws.com'] },
      Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
    });
    template.resourceCountIs('AWS::Logs::ResourcePolicy', 1);
    expect(resource(template, 'AWS::CloudWatch::Alarm', 'AtlasRotatorAlarmsSweepFailed')).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: rule } }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'],
    });
  });
});

describe('sweepSchedule', () => {
  it('takes another expression', () => {
    const { template } = synth({ sweepSchedule: 'cron(0 4 * * ? *)' });
    expect(sweepSchedule(template).ScheduleExpression).toBe('cron(0 4 * * ? *)');
  });

  it('false deploys no sweep: no schedule, function, role, alarm or queue exemption', () => {
    for (const props of [{ sweepSchedule: false as const }, { ...FARGATE, sweepSchedule: false as const }]) {
      const { template, stack } = synth(props);
      expect(stack.rotator.scheduledSweep).toBeUndefined();
      template.resourceCountIs('AWS::Scheduler::Schedule', 0);
      const ids = Object.keys(template.toJSON().Resources as object);
      expect(ids.filter((id) => /Sweep/.test(id))).toEqual([]);
      expect(JSON.stringify(template.findResources('AWS::SQS::QueuePolicy'))).not.toContain('PrincipalArn');
    }
  });

  it('refuses a malformed schedule, a margin that is not below the secret lifetime, and bad numbers', () => {
    expect(() => synth({ sweepSchedule: 'daily' })).toThrow(/sweepSchedule "daily" must be rate/);
    expect(() => synth({ sweepSchedule: 'at(2026-12-24T00:00:00)' })).toThrow(/must be rate/);
    expect(() => synth({ rotateBeforeExpiryHours: 720, secretExpiresAfterHours: 720 })).toThrow(
      /rotateBeforeExpiryHours \(720\) must be below secretExpiresAfterHours \(720\)/,
    );
    expect(() => synth({ rotateBeforeExpiryHours: 2160 })).toThrow(/below secretExpiresAfterHours \(2160\)/);
    expect(() => synth({ rotateBeforeExpiryHours: 0 })).toThrow(/rotateBeforeExpiryHours must be/);
    expect(() => synth({ sweepConcurrency: 33 })).toThrow(/sweepConcurrency must be/);
    // With the sweep off, its settings are not checked.
    expect(() => synth({ sweepSchedule: false, rotateBeforeExpiryHours: 5000 })).not.toThrow();
  });
});
