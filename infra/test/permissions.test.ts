import { describe, expect, it } from 'vitest';
import { TAG_MANAGED } from '../../src/domain/rotation-metadata.js';
import { MANAGED_TAG } from '../lib/permissions.js';
import { logicalId, policyStatements, ROTATION_FUNCTION_STUB, synth } from './support.js';

const managedSecrets = (pattern = '*') => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:eu-west-1:123456789012:secret:${pattern}`],
  ],
});
const rotateManaged = (pattern?: string) => ({
  Sid: 'RotateManagedSecrets',
  Action: [
    'secretsmanager:DescribeSecret',
    'secretsmanager:ListSecretVersionIds',
    'secretsmanager:GetSecretValue',
    'secretsmanager:PutSecretValue',
    'secretsmanager:UpdateSecretVersionStage',
  ],
  Condition: { StringEquals: { 'aws:ResourceTag/atlas-rotator:managed': 'true' } },
  Effect: 'Allow',
  Resource: managedSecrets(pattern),
});
const consumeQueue = (queue: string) => ({
  Action: [
    'sqs:ReceiveMessage',
    'sqs:ChangeMessageVisibility',
    'sqs:GetQueueUrl',
    'sqs:DeleteMessage',
    'sqs:GetQueueAttributes',
  ],
  Effect: 'Allow',
  Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
});
const putEvents = (bus: unknown) => ({ Action: 'events:PutEvents', Effect: 'Allow', Resource: bus });
const writeLogs = (logGroup: string) => ({
  Sid: 'WriteOwnLogs',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Effect: 'Allow',
  Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
});

describe('the Lambda worker role', () => {
  it('holds exactly: its logs, the queue, the tagged secrets, and PutEvents on the bus', () => {
    const { template } = synth();
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorLambdaWorkerRole');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorLambdaWorkerLogGroup');
    expect(policyStatements(template, role)).toEqual([
      writeLogs(logGroup),
      consumeQueue(queue),
      rotateManaged(),
      putEvents({ 'Fn::GetAtt': [bus, 'Arn'] }),
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
      },
    });
    expect(template.findResources('AWS::IAM::Role')[role]?.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('reads only the allow-listed admin secrets, and uses secret CMKs only through Secrets Manager', () => {
    const admin = [
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/admin-AbCdEf',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/admins/*',
    ];
    const keys = ['arn:aws:kms:eu-west-1:123456789012:key/0b9f6c1e-0000-4000-8000-000000000001'];
    const { template } = synth({
      adminSecretArns: admin,
      secretKmsKeyArns: keys,
      managedSecretNamePattern: 'prod/atlas/*',
    });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorLambdaWorkerRole');
    const statements = policyStatements(template, role);
    expect(statements).toContainEqual(rotateManaged('prod/atlas/*'));
    expect(statements).toContainEqual({
      Sid: 'ReadAllowListedAdminSecrets',
      Action: 'secretsmanager:GetSecretValue',
      Effect: 'Allow',
      Resource: admin,
    });
    expect(statements).toContainEqual({
      Sid: 'UseSecretKeysThroughSecretsManager',
      Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
      Effect: 'Allow',
      Resource: keys[0],
    });
    expect(statements).toHaveLength(6);
  });

  it('decrypts with the queue key when the queue uses KMS', () => {
    const { template } = synth({ queueEncryption: 'kms' });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorLambdaWorkerRole');
    const key = logicalId(template, 'AWS::KMS::Key', 'AtlasRotatorRequestsKey');
    expect(policyStatements(template, role)).toContainEqual({
      Action: 'kms:Decrypt',
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [key, 'Arn'] },
    });
  });

  it('puts events on the default bus only, when the default bus is used', () => {
    const { template } = synth({ eventBus: 'default' });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorLambdaWorkerRole');
    expect(policyStatements(template, role)).toContainEqual(
      putEvents({
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:123456789012:event-bus/default'],
        ],
      }),
    );
  });

  it('may manage its network interfaces only when it runs in a VPC', () => {
    const { template } = synth({ vpc: 'create' });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorLambdaWorkerRole');
    expect(policyStatements(template, role)).toContainEqual({
      Sid: 'ManageVpcNetworkInterfaces',
      Action: [
        'ec2:AssignPrivateIpAddresses',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Effect: 'Allow',
      Resource: '*',
    });
  });

  it('rejects an admin secret that is not a Secrets Manager ARN', () => {
    expect(() => synth({ adminSecretArns: ['atlas/admin'] })).toThrow(/not a Secrets Manager ARN/);
  });
});

describe('the Fargate task role', () => {
  it('holds exactly: the queue, the tagged secrets, and PutEvents on the bus', () => {
    const { template } = synth({ runtime: 'fargate', imageUri: 'example/atlas-rotator:1' });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorFargateWorkerTaskTaskRole');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    expect(policyStatements(template, role)).toEqual([
      consumeQueue(queue),
      rotateManaged(),
      putEvents({ 'Fn::GetAtt': [bus, 'Arn'] }),
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' } },
        ],
      },
    });
  });

  it('leaves the execution role to image pulls and the container log group', () => {
    const { template } = synth({ runtime: 'fargate' });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorFargateWorkerTaskExecutionRole');
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorFargateWorkerLogGroup');
    const statements = policyStatements(template, role);
    expect(statements).toEqual([
      {
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        Effect: 'Allow',
        Resource: expect.anything(),
      },
      { Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' },
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
      },
    ]);
    expect(JSON.stringify(statements[0]?.Resource)).toContain('container-assets');
  });
});

describe('the scheduler role', () => {
  it('may only send to the request queue, assumed by EventBridge Scheduler of this account', () => {
    const { template } = synth({
      scheduledRotation: { expression: 'rate(30 days)', secretIds: ['prod/atlas/a'] },
    });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledRotationRole');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    expect(policyStatements(template, role)).toEqual([
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: { 'Fn::GetAtt': [queue, 'Arn'] } },
    ]);
    expect(template.findResources('AWS::IAM::Role')[role]?.Properties.AssumeRolePolicyDocument).toEqual({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
        },
      ],
      Version: '2012-10-17',
    });
  });

  it('may only put events on the bus when the schedules deliver there', () => {
    const { template } = synth({
      scheduledRotation: { expression: 'rate(30 days)', secretIds: ['prod/atlas/a'], deliverTo: 'bus' },
    });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorScheduledRotationRole');
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    expect(policyStatements(template, role)).toEqual([putEvents({ 'Fn::GetAtt': [bus, 'Arn'] })]);
  });
});

describe('the rotation function role', () => {
  it('holds its logs, the tagged secrets and PutEvents, and no queue access', () => {
    const { template } = synth({ rotationFunction: true, rotationFunctionEntry: ROTATION_FUNCTION_STUB });
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorRotationFunctionRole');
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorRotationFunctionLogGroup');
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    expect(policyStatements(template, role)).toEqual([
      writeLogs(logGroup),
      rotateManaged(),
      putEvents({ 'Fn::GetAtt': [bus, 'Arn'] }),
    ]);
  });
});

describe('tags', () => {
  it('keys every secret permission on the tag the service checks, and grants no tagging (ADR 0007 writes none)', () => {
    expect(MANAGED_TAG).toBe(TAG_MANAGED);
    const { template } = synth();
    expect(JSON.stringify(template.toJSON())).not.toContain('secretsmanager:TagResource');
    expect(JSON.stringify(template.toJSON())).not.toContain('secretsmanager:UntagResource');
  });
});
