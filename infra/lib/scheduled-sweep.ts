import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { bundleNodeEntry } from './bundle.js';
import type { FargateWorker } from './fargate-worker.js';
import { type SecretPermissionsProps, sweepStatements } from './permissions.js';

/** The sweep's Lambda entry (exports `handler`), relative to the repository root. */
export const SWEEP_LAMBDA_ENTRY = 'src/adapters/bootstrap/sweep-lambda.ts';
/** The default schedule of the sweep (see `AtlasRotatorProps.sweepSchedule`). */
export const DEFAULT_SWEEP_SCHEDULE = 'rate(1 day)';
/** The ECS task group of the scheduled sweep's tasks: what the failure alarm matches on. */
export const SWEEP_TASK_GROUP = 'atlas-rotator-sweep';

/** The same rule as the service's SWEEP_NAME_PREFIX (src/adapters/config/load-config.ts). */
const NAME_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/**
 * SWEEP_NAME_PREFIX for a managed-secret name pattern: `prod/atlas/*` → `prod/atlas/`. The sweep lists every
 * secret tagged managed; without the prefix it would list (and fail to read) managed secrets outside the
 * pattern, which the role may not read. Undefined for `*` and for patterns that are not a plain prefix.
 */
export function sweepNamePrefixFor(pattern: string): string | undefined {
  if (!pattern.endsWith('*')) return undefined;
  const prefix = pattern.slice(0, -1);
  return NAME_PREFIX.test(prefix) ? prefix : undefined;
}

/**
 * Scheduler retries only what it could not start (throttling, RunTask capacity), not a sweep that ran and
 * failed. A start that has not happened within an hour waits for the next scheduled sweep.
 */
const RETRY_POLICY = { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 10 };

interface SweepRuntimeBase {
  readonly environment: Readonly<Record<string, string>>;
}

/** The sweep as its own function, next to the Lambda worker. */
export interface LambdaSweepRuntime extends SweepRuntimeBase {
  readonly kind: 'lambda';
  readonly repoRoot: string;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  /** The worker's network: the sweep calls Atlas too, so it leaves through the same egress IP. */
  readonly vpc: ec2.IVpc | undefined;
}

/** The sweep as a one-off task of the Fargate worker's task definition, command `sweep`. */
export interface FargateSweepRuntime extends SweepRuntimeBase {
  readonly kind: 'fargate';
  readonly worker: FargateWorker;
}

export interface ScheduledSweepProps {
  /** EventBridge Scheduler expression (UTC). */
  readonly expression: string;
  readonly queue: sqs.IQueue;
  readonly queueKey: kms.IKey | undefined;
  readonly secretPermissions: SecretPermissionsProps;
  readonly runtime: LambdaSweepRuntime | FargateSweepRuntime;
}

/**
 * `atlas-rotator sweep` on a schedule, on the worker's runtime: EventBridge Scheduler invokes the sweep
 * function (Lambda worker) or runs the worker's task definition with the command `sweep` (Fargate worker).
 * Either way the sweep runs as a role of its own ({@link sweepStatements}): it lists and reads the managed
 * secrets and sends rotation requests; it cannot write a secret.
 */
export class ScheduledSweep extends Construct {
  readonly schedule: scheduler.Schedule;
  /** The role EventBridge Scheduler assumes to invoke the function or run the task. */
  readonly scheduleRole: iam.Role;
  /** The role the sweep runs as: the function's execution role, or the task role the schedule overrides. */
  readonly role: iam.Role;
  /** The sweep function (Lambda runtime). */
  readonly function: lambda.Function | undefined;

  constructor(scope: Construct, id: string, props: ScheduledSweepProps) {
    super(scope, id);
    if (!/^(rate|cron)\(.+\)$/.test(props.expression)) {
      throw new Error(`sweepSchedule "${props.expression}" must be rate(…) or cron(…)`);
    }
    const stack = Stack.of(this);
    const { runtime } = props;
    this.scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'atlas-rotator scheduled sweep: starts the sweep',
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal(
        runtime.kind === 'lambda' ? 'lambda.amazonaws.com' : 'ecs-tasks.amazonaws.com',
      ),
      description: 'atlas-rotator scheduled sweep: lists and reads managed secrets, requests rotations',
    });

    let target: scheduler.IScheduleTarget;
    if (runtime.kind === 'lambda') {
      const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: runtime.logRetention });
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      if (runtime.vpc !== undefined) {
        // As the worker's (lambda-worker.ts): what Lambda needs to attach the function to the VPC.
        this.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: 'ManageVpcNetworkInterfaces',
            actions: [
              'ec2:AssignPrivateIpAddresses',
              'ec2:CreateNetworkInterface',
              'ec2:DeleteNetworkInterface',
              'ec2:DescribeNetworkInterfaces',
              'ec2:DescribeSubnets',
              'ec2:UnassignPrivateIpAddresses',
            ],
            resources: ['*'],
          }),
        );
      }
      const fn = new lambda.Function(this, 'Function', {
        description: 'atlas-rotator: scheduled sweep, requests rotations of secrets about to expire',
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        code: lambda.Code.fromAsset(bundleNodeEntry(runtime.repoRoot, SWEEP_LAMBDA_ENTRY)),
        handler: 'index.handler',
        // Lambda's maximum: one pass over every managed secret, once a day.
        timeout: Duration.minutes(15),
        memorySize: runtime.memorySize,
        role: this.role,
        logGroup,
        environment: { ...runtime.environment, NODE_OPTIONS: '--enable-source-maps' },
        // A failed sweep is not run again at once: the next scheduled sweep is the retry (the margin is
        // ROTATE_BEFORE_EXPIRY_HOURS), and each failure counts one error for the alarm.
        retryAttempts: 0,
        ...(runtime.vpc === undefined
          ? {}
          : { vpc: runtime.vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }),
      });
      this.function = fn;
      this.scheduleRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'InvokeSweepFunction',
          actions: ['lambda:InvokeFunction'],
          resources: [fn.functionArn],
        }),
      );
      target = {
        bind: () => ({ arn: fn.functionArn, role: this.scheduleRole, retryPolicy: RETRY_POLICY }),
      };
    } else {
      const { worker } = runtime;
      const { taskDefinition, cluster } = worker;
      const executionRole = taskDefinition.executionRole;
      if (executionRole === undefined) throw new Error('unreachable: a Fargate task has an execution role');
      this.scheduleRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'RunWorkerTaskDefinitionInItsCluster',
          actions: ['ecs:RunTask'],
          resources: [taskDefinition.taskDefinitionArn],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
      );
      // The task runs as the sweep's role (a task-role override), not the worker's: only these two are passed.
      this.scheduleRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'PassSweepAndExecutionRolesToEcs',
          actions: ['iam:PassRole'],
          resources: [executionRole.roleArn, this.role.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        }),
      );
      const subnets = cluster.vpc.selectSubnets({
        subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
      });
      // Scheduler's ECS RunTask target reads Input as the RunTask `overrides` (a TaskOverride).
      const overrides = scheduler.ScheduleTargetInput.fromObject({
        containerOverrides: [
          {
            name: worker.containerName,
            command: ['sweep'],
            environment: Object.entries(runtime.environment).map(([name, value]) => ({ name, value })),
          },
        ],
        taskRoleArn: this.role.roleArn,
      });
      target = {
        bind: () => ({
          arn: cluster.clusterArn,
          role: this.scheduleRole,
          input: overrides,
          retryPolicy: RETRY_POLICY,
          ecsParameters: {
            taskDefinitionArn: taskDefinition.taskDefinitionArn,
            taskCount: 1,
            launchType: 'FARGATE',
            platformVersion: 'LATEST',
            group: SWEEP_TASK_GROUP,
            networkConfiguration: {
              awsvpcConfiguration: {
                subnets: subnets.subnetIds,
                securityGroups: worker.service.connections.securityGroups.map((sg) => sg.securityGroupId),
                assignPublicIp: 'DISABLED',
              },
            },
          },
        }),
      };
    }

    for (const statement of sweepStatements(this, {
      ...props.secretPermissions,
      queue: props.queue,
      queueKey: props.queueKey,
    })) {
      this.role.addToPrincipalPolicy(statement);
    }

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.expression(props.expression),
      target,
      description: 'atlas-rotator: sweep, request rotations of managed secrets about to expire',
    });
  }
}
