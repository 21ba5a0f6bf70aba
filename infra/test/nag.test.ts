import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { AtlasRotator } from '../lib/atlas-rotator.js';
import { AtlasRotatorStack, type AtlasRotatorStackProps } from '../lib/atlas-rotator-stack.js';
import { NAG_REASONS } from '../lib/nag-suppressions.js';
import { ACCOUNT, nagViolations, REGION, ROTATION_FUNCTION_STUB, repoRoot, synth } from './support.js';

const env = { account: ACCOUNT, region: REGION };
const ADMIN_PREFIX = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/admins/*';

const configurations: Record<string, AtlasRotatorStackProps> = {
  'Lambda, standard queue, SQS-managed encryption, dedicated bus (the defaults)': {},
  'Lambda in a VPC, standard queue with KMS, named senders and sources, default bus, schedules to the queue, rotation function, alarm e-mail':
    {
      vpc: 'create',
      queueType: 'standard',
      queueEncryption: 'kms',
      requestSources: ['team.payments'],
      requestSenders: ['arn:aws:iam::123456789012:role/payments-rotation'],
      eventBus: 'default',
      adminSecretArns: [ADMIN_PREFIX],
      secretKmsKeyArns: ['arn:aws:kms:eu-west-1:123456789012:key/0b9f6c1e-0000-4000-8000-000000000001'],
      scheduledRotation: { expression: 'rate(30 days)', secretIds: ['prod/atlas/a', 'prod/atlas/b'] },
      rotationFunction: true,
      rotationFunctionEntry: ROTATION_FUNCTION_STUB,
      alarmEmail: 'ops@example.com',
    },
  'Fargate built from the Dockerfile, FIFO with KMS, schedules to the bus, alarm topic': {
    runtime: 'fargate',
    queueType: 'fifo',
    queueEncryption: 'kms',
    scheduledRotation: { expression: 'cron(0 3 1 * ? *)', secretIds: ['prod/atlas/a'], deliverTo: 'bus' },
    alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
  },
  'Fargate with a cron sweep, an admin prefix and a named secret pattern': {
    runtime: 'fargate',
    imageUri: 'example.com/atlas-rotator:1.0.0',
    adminSecretArns: [ADMIN_PREFIX],
    managedSecretNamePattern: 'prod/atlas/*',
    sweepSchedule: 'cron(0 4 * * ? *)',
  },
  'Lambda without the sweep (sweepSchedule: false)': { sweepSchedule: false },
  'Fargate from a registry image, standard queue, unknown account and region': {
    runtime: 'fargate',
    imageUri: 'example.com/atlas-rotator:1.0.0',
    queueType: 'standard',
  },
};

/** Every AwsSolutions acknowledgment in a construct tree (CDK adds its own for other plugins). */
function acknowledgments(root: IConstruct): Map<string, string> {
  const found = new Map<string, string>();
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        if (!/^(annotation::)?AwsSolutions-/i.test(id)) continue;
        found.set(`${construct.node.path} ${id.replace(/^annotation::/i, '')}`, reason);
      }
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions', () => {
  for (const [name, props] of Object.entries(configurations)) {
    it(`finds nothing unacknowledged: ${name}`, () => {
      const withEnv = name.includes('unknown account') ? props : { env, ...props };
      expect(nagViolations((app) => new AtlasRotatorStack(app, 'Nag', withEnv))).toEqual([]);
    });
  }

  it('flags exactly the wildcards it is told to accept when nothing is acknowledged', () => {
    const violations = nagViolations((app) => {
      const stack = new Stack(app, 'Bare', { env });
      new AtlasRotator(stack, 'AtlasRotator', { repoRoot, adminSecretArns: [ADMIN_PREFIX], vpc: 'create' });
    });
    // The worker's role and the sweep's: the tagged-secret pattern, the admin prefix, and `*` (the worker's
    // VPC network interfaces; the sweep's ListSecrets).
    const roles = [
      'Bare/AtlasRotator/LambdaWorker/Role/DefaultPolicy/Resource',
      'Bare/AtlasRotator/ScheduledSweep/Role/DefaultPolicy/Resource',
    ];
    expect(violations).toEqual([
      { ruleName: 'AwsSolutions-IAM5[Resource::*]', paths: roles },
      {
        ruleName:
          'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:eu-west-1:123456789012:secret:*]',
        paths: roles,
      },
      { ruleName: `AwsSolutions-IAM5[Resource::${ADMIN_PREFIX}]`, paths: roles },
    ]);
  });

  it('acknowledges each finding on the construct that causes it, with its reason', () => {
    const lambda = synth(
      configurations[
        'Lambda in a VPC, standard queue with KMS, named senders and sources, default bus, schedules to the queue, rotation function, alarm e-mail'
      ],
    ).stack;
    const fargate = synth({ runtime: 'fargate' }).stack;
    const managed =
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:eu-west-1:123456789012:secret:*]';
    expect(Object.fromEntries([...acknowledgments(lambda), ...acknowledgments(fargate)])).toEqual({
      [`Test/AtlasRotator/LambdaWorker/Role ${managed}`]: NAG_REASONS.managedSecrets,
      [`Test/AtlasRotator/LambdaWorker/Role AwsSolutions-IAM5[Resource::${ADMIN_PREFIX}]`]:
        NAG_REASONS.adminSecretPrefix,
      'Test/AtlasRotator/LambdaWorker/Role AwsSolutions-IAM5[Resource::*]': NAG_REASONS.vpcNetworkInterfaces,
      [`Test/AtlasRotator/RotationFunction/Role ${managed}`]: NAG_REASONS.managedSecrets,
      [`Test/AtlasRotator/RotationFunction/Role AwsSolutions-IAM5[Resource::${ADMIN_PREFIX}]`]:
        NAG_REASONS.adminSecretPrefix,
      [`Test/AtlasRotator/ScheduledSweep/Role ${managed}`]: NAG_REASONS.managedSecrets,
      [`Test/AtlasRotator/ScheduledSweep/Role AwsSolutions-IAM5[Resource::${ADMIN_PREFIX}]`]:
        NAG_REASONS.adminSecretPrefix,
      'Test/AtlasRotator/ScheduledSweep/Role AwsSolutions-IAM5[Resource::*]': NAG_REASONS.listSecrets,
      'Test/AtlasRotator/ScheduledRotation/Role AwsSolutions-IAM5[Action::kms:GenerateDataKey*]':
        NAG_REASONS.schedulerQueueKey,
      [`Test/AtlasRotator/FargateWorker/Task/TaskRole ${managed}`]: NAG_REASONS.managedSecrets,
      'Test/AtlasRotator/FargateWorker/Task AwsSolutions-ECS2': NAG_REASONS.containerEnvironment,
      'Test/AtlasRotator/FargateWorker/Task/ExecutionRole AwsSolutions-IAM5[Resource::*]':
        NAG_REASONS.ecrAuthorizationToken,
    });
    for (const reason of Object.values(NAG_REASONS)) expect(reason.length).toBeGreaterThan(40);
  });
});
