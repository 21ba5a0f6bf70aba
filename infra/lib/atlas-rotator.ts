import { Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DEFAULT_EVENT_SOURCE, DETAIL_TYPE_REQUESTED } from './contract.js';
import { FargateWorker, workerImageFromSource } from './fargate-worker.js';
import { LambdaWorker } from './lambda-worker.js';
import { managedSecretsArn, type SecretPermissionsProps, secretStatements } from './permissions.js';
import type { QueueEncryption, QueueType, RequestQueue } from './request-queue.js';
import { RotationAlarms } from './rotation-alarms.js';
import { ROTATION_FUNCTION_ENTRY, RotationFunction } from './rotation-function.js';
import { addRotationMessaging } from './rotation-messaging.js';
import {
  DEFAULT_METRICS_NAMESPACE,
  RotationMonitoring,
  type RotatorMetricName,
  rotatorMetric,
} from './rotation-monitoring.js';
import {
  SCHEDULE_EVENT_SOURCE,
  ScheduledRotation,
  type ScheduledRotationProps,
} from './scheduled-rotation.js';
import {
  DEFAULT_SWEEP_SCHEDULE,
  ScheduledSweep,
  SWEEP_TASK_GROUP,
  sweepNamePrefixFor,
} from './scheduled-sweep.js';

export type WorkerRuntime = 'lambda' | 'fargate';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export { BUS_MESSAGE_GROUP_ID } from './rotation-messaging.js';

export interface AtlasRotatorProps {
  /** The repository root (the service's sources and package.json); found from this file when absent. */
  readonly repoRoot: string;
  /** `lambda` (default): SQS event source; `fargate`: the long-running `atlas-rotator worker`. */
  readonly runtime?: WorkerRuntime;
  /**
   * `standard`: at-least-once, unordered; every request is handled on its own, so one secret's retries never
   * hold up another's. `fifo`: ordered per MessageGroupId, but every request from the bus shares one group
   * (an EventBridge SQS target takes only a static MessageGroupId; see ADR 0005).
   * @default 'standard'
   */
  readonly queueType?: QueueType;
  /** `sqs-managed` (default) or `kms` (a customer managed key with rotation, also used by the DLQ). */
  readonly queueEncryption?: QueueEncryption;
  /** Deliveries before a request moves to the DLQ; default 5. */
  readonly maxReceiveCount?: number;
  /** The queue's visibility timeout; default 6 × the function timeout (Lambda), 120 s (Fargate, heartbeats). */
  readonly visibilityTimeout?: Duration;
  /** `dedicated` (default): a new bus; `default`: the account's default bus. */
  readonly eventBus?: 'dedicated' | 'default';
  /** Name of the dedicated bus; generated when absent. */
  readonly eventBusName?: string;
  /** `Source` of the events the service publishes; default `atlas-rotator`. */
  readonly eventSource?: string;
  /**
   * The `source` values of the `Atlas Secret Rotation Requested` events the request rule routes to the
   * queue. Events from other accounts are never routed, whatever their source. With schedules that deliver
   * to the bus, `atlas-rotator.scheduler` is added. A source is the sender's claim: bind it to a team with an
   * `events:source` condition on that team's `events:PutEvents` permission.
   * @default - any source, from principals of this account only (the rule matches `account` = this account)
   */
  readonly requestSources?: readonly string[];
  /**
   * IAM role or user ARNs allowed to SendMessage straight to the request queue (the queue policy grants
   * them; with a KMS queue the key policy too). Everyone else is denied SendMessage by the queue policy,
   * identity policies of this account included — except the request rule and the schedules' role.
   * A DLQ redrive sends as the principal that starts it: list that role here too.
   * @default - none: requests arrive only through the bus (and the schedules)
   */
  readonly requestSenders?: readonly string[];
  /** Secret-name pattern of the managed secrets in this account and region; default `*` (the tag decides). */
  readonly managedSecretNamePattern?: string;
  /** Admin secret ARNs (admin-assisted mode); a trailing `*` matches a prefix. Becomes ADMIN_SECRET_ARNS. */
  readonly adminSecretArns?: readonly string[];
  /** Customer managed KMS keys of managed or admin secrets (used only through Secrets Manager). */
  readonly secretKmsKeyArns?: readonly string[];
  readonly atlasBaseUrl?: string;
  readonly secretExpiresAfterHours?: number;
  readonly logLevel?: LogLevel;
  /** Rotations at once per worker process (MAX_CONCURRENCY); default 4. */
  readonly maxConcurrency?: number;
  /** Further service settings (see the README's configuration table), e.g. ATLAS_REQUEST_TIMEOUT_MS. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly lambda?: {
    /** Default 5 minutes. */
    readonly timeout?: Duration;
    /** Default 512 MB. */
    readonly memorySize?: number;
    /** Messages per invocation; default 4. */
    readonly batchSize?: number;
    /** Concurrent invocations the event source starts (2..1000); default 2. */
    readonly maxConcurrency?: number;
  };
  readonly fargate?: {
    /** The worker image; built from this repository (infra/docker/Dockerfile) at deploy time when absent. */
    readonly image?: ecs.ContainerImage;
    readonly cpu?: number;
    readonly memoryLimitMiB?: number;
    /** Default 1. */
    readonly desiredCount?: number;
  };
  /**
   * The network of the worker. Fargate: created when absent (two AZs, one NAT gateway with a fixed Elastic
   * IP for Atlas's access list). Lambda: none unless given, or `create` for the same created VPC.
   */
  readonly vpc?: ec2.IVpc | 'create';
  /** Scheduled rotation of listed secrets; off when absent. */
  readonly scheduledRotation?: ScheduledRotationProps;
  /**
   * When `atlas-rotator sweep` runs (an EventBridge Scheduler `rate(…)` or `cron(…)` expression, UTC), on
   * the worker's runtime: it requests a rotation of every managed secret whose Atlas secret expires within
   * `rotateBeforeExpiryHours`. Daily, because that is often enough by far and cheap: with the default 14-day
   * margin a secret is seen due on 14 sweeps before it expires (each a chance for the worker, its retries and
   * the alarms), and a failed rotation — after which Atlas cuts the account's other secrets to 7 days — is
   * noticed within a day, leaving six. Sweeping more often only spends Atlas token mints and ListSecrets calls.
   * `false` deploys no sweep at all (no schedule, function, role or alarm); leaving it out (`undefined`)
   * means the default, it does not turn the sweep off.
   * @default 'rate(1 day)'
   */
  readonly sweepSchedule?: string | false;
  /**
   * ROTATE_BEFORE_EXPIRY_HOURS of the scheduled sweep: a secret whose Atlas secret expires within this many
   * hours is due. Must be below `secretExpiresAfterHours` (else a freshly rotated secret is due at once).
   * @default 336 (14 days)
   */
  readonly rotateBeforeExpiryHours?: number;
  /**
   * SWEEP_CONCURRENCY of the scheduled sweep: secrets looked at at once (1..32).
   * @default 4
   */
  readonly sweepConcurrency?: number;
  /** SNS topic for the alarms' ALARM and OK actions. */
  readonly alarmTopic?: sns.ITopic;
  /** Retention of every log group; default three months. */
  readonly logRetention?: logs.RetentionDays;
  /** Also deploy the Secrets Manager rotation function (src/adapters/bootstrap/rotation-function.ts). */
  readonly rotationFunction?: boolean;
  /** Entry of the rotation function, relative to `repoRoot`; for tests. */
  readonly rotationFunctionEntry?: string;
  /**
   * METRICS_NAMESPACE: the CloudWatch namespace of the service's EMF metrics. The `Service` dimension is the
   * stack name, so that two deployments in one account stay apart.
   * @default 'AtlasRotator'
   */
  readonly metricsNamespace?: string;
  /**
   * Alarm when a managed secret's current Atlas secret expires within this many hours.
   * @default 168 (7 days)
   */
  readonly expiryAlarmHours?: number;
  /**
   * Alarm when this many rotation runs failed within an hour (retryable failures included).
   * @default 3
   */
  readonly failureAlarmThreshold?: number;
  /**
   * Name of the CloudWatch dashboard.
   * @default - generated by CloudFormation
   */
  readonly dashboardName?: string;
}

const ADMIN_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:/;
const EVENT_SOURCE = /^[A-Za-z0-9._-]{1,256}$/;

function wholeNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max} (got ${value})`);
  }
  return value;
}

/**
 * atlas-rotator on AWS: the request queue (and DLQ), the rule that routes `Atlas Secret Rotation Requested`
 * from the bus to it, the worker (Lambda or Fargate) with least-privilege permissions, optional schedules,
 * optional rotation function, and alarms.
 */
export class AtlasRotator extends Construct {
  readonly requests: RequestQueue;
  readonly eventBus: events.IEventBus;
  /** The bus's name as the service sees it (EVENT_BUS_NAME): `default` for the default bus. */
  readonly eventBusName: string;
  readonly requestRule: events.Rule;
  readonly workerRole: iam.IRole;
  readonly lambdaWorker: LambdaWorker | undefined;
  readonly fargateWorker: FargateWorker | undefined;
  readonly scheduledRotation: ScheduledRotation | undefined;
  /** The scheduled sweep; undefined with `sweepSchedule: false`. */
  readonly scheduledSweep: ScheduledSweep | undefined;
  readonly rotationFunction: RotationFunction | undefined;
  readonly alarms: RotationAlarms;
  /** The dashboard of the service's metrics, and the alarms on failures and on secrets near expiry. */
  readonly monitoring: RotationMonitoring;
  readonly metricsNamespace: string;
  /** The `Service` dimension of this deployment's metrics (METRICS_SERVICE): the stack name. */
  readonly metricsService: string;
  readonly vpc: ec2.IVpc | undefined;
  /** The ARN patterns of the managed secrets (the tag condition narrows them). */
  readonly managedSecretArns: readonly string[];
  readonly adminSecretArns: readonly string[];
  /** The NAT gateway's Elastic IP when this construct created the VPC (put it on Atlas's access list). */
  readonly egressIp: ec2.CfnEIP | undefined;

  constructor(scope: Construct, id: string, props: AtlasRotatorProps) {
    super(scope, id);
    const runtime = props.runtime ?? 'lambda';
    const queueType = props.queueType ?? 'standard';
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    const eventSource = props.eventSource ?? DEFAULT_EVENT_SOURCE;
    if (!EVENT_SOURCE.test(eventSource) || eventSource.startsWith('aws.')) {
      throw new Error(
        `eventSource "${eventSource}" must be 1-256 letters, digits, . _ - and not start with aws.`,
      );
    }
    const adminSecretArns = props.adminSecretArns ?? [];
    for (const arn of adminSecretArns) {
      if (!ADMIN_SECRET_ARN.test(arn)) throw new Error(`admin secret "${arn}" is not a Secrets Manager ARN`);
    }
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const maxConcurrency = wholeNumber('maxConcurrency', props.maxConcurrency ?? 4, 1, 64);
    const lambdaTimeout = props.lambda?.timeout ?? Duration.minutes(5);
    const visibilityTimeout =
      props.visibilityTimeout ??
      (runtime === 'lambda'
        ? Duration.seconds(Math.min(6 * lambdaTimeout.toSeconds(), 43_200))
        : Duration.minutes(2));
    const visibilitySeconds = wholeNumber(
      'visibilityTimeout (seconds)',
      visibilityTimeout.toSeconds(),
      5,
      43_200,
    );
    if (runtime === 'lambda' && visibilitySeconds < lambdaTimeout.toSeconds()) {
      throw new Error(
        `the queue's visibility timeout (${visibilitySeconds} s) must be at least the function timeout ` +
          `(${lambdaTimeout.toSeconds()} s): the Lambda handler does not extend visibility`,
      );
    }

    // The same constructs (and logical ids) as the messaging-only stack (AtlasRotatorMessagingStack).
    const messaging = addRotationMessaging(this, {
      queueType,
      queueEncryption: props.queueEncryption ?? 'sqs-managed',
      maxReceiveCount,
      visibilityTimeout,
      eventBus: props.eventBus ?? 'dedicated',
      eventBusName: props.eventBusName,
      requestSources:
        props.requestSources !== undefined && props.scheduledRotation?.deliverTo === 'bus'
          ? [...new Set([...props.requestSources, SCHEDULE_EVENT_SOURCE])]
          : props.requestSources,
      requestSenders: props.requestSenders,
    });
    this.requests = messaging.requests;
    this.eventBus = messaging.eventBus;
    this.eventBusName = messaging.eventBusName;
    this.requestRule = messaging.requestRule;

    this.metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    this.metricsService = Stack.of(this).stackName;
    const environment: Record<string, string> = {
      METRICS_NAMESPACE: this.metricsNamespace,
      METRICS_SERVICE: this.metricsService,
      ...props.environment,
      ROTATION_QUEUE_URL: this.requests.queue.queueUrl,
      EVENT_BUS_NAME: this.eventBusName,
      EVENT_SOURCE: eventSource,
      MAX_CONCURRENCY: String(maxConcurrency),
      MAX_RECEIVE_COUNT: String(maxReceiveCount),
      VISIBILITY_TIMEOUT_SECONDS: String(visibilitySeconds),
      LOG_LEVEL: props.logLevel ?? 'info',
      ...(adminSecretArns.length > 0 ? { ADMIN_SECRET_ARNS: adminSecretArns.join(',') } : {}),
      ...(props.atlasBaseUrl === undefined ? {} : { ATLAS_BASE_URL: props.atlasBaseUrl }),
      ...(props.secretExpiresAfterHours === undefined
        ? {}
        : {
            SECRET_EXPIRES_AFTER_HOURS: String(
              wholeNumber('secretExpiresAfterHours', props.secretExpiresAfterHours, 8, 8766),
            ),
          }),
    };

    const wantsVpc = runtime === 'fargate' || props.vpc !== undefined;
    if (props.vpc !== undefined && props.vpc !== 'create') {
      this.vpc = props.vpc;
    } else if (wantsVpc) {
      this.egressIp = new ec2.CfnEIP(this, 'EgressIp', { domain: 'vpc' });
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 1,
        natGatewayProvider: ec2.NatProvider.gateway({ eipAllocationIds: [this.egressIp.attrAllocationId] }),
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'workers', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
        ],
        // A custom resource (a Lambda function) otherwise; nothing here uses the default security group.
        restrictDefaultSecurityGroup: false,
        flowLogs: {
          all: {
            destination: ec2.FlowLogDestination.toCloudWatchLogs(
              new logs.LogGroup(this, 'FlowLogs', { retention: logRetention }),
            ),
            trafficType: ec2.FlowLogTrafficType.REJECT,
          },
        },
      });
    }

    const secretPermissions = {
      managedSecretNamePattern: props.managedSecretNamePattern ?? '*',
      adminSecretArns,
      secretKmsKeyArns: props.secretKmsKeyArns ?? [],
    };
    this.adminSecretArns = adminSecretArns;
    this.managedSecretArns = [managedSecretsArn(this, secretPermissions.managedSecretNamePattern)];
    let workerLogGroup: logs.ILogGroup;
    if (runtime === 'lambda') {
      this.lambdaWorker = new LambdaWorker(this, 'LambdaWorker', {
        repoRoot: props.repoRoot,
        queue: this.requests.queue,
        environment,
        timeout: lambdaTimeout,
        memorySize: props.lambda?.memorySize ?? 512,
        batchSize: props.lambda?.batchSize ?? 4,
        maxConcurrency: props.lambda?.maxConcurrency ?? 2,
        logRetention,
        vpc: this.vpc,
      });
      this.workerRole = this.lambdaWorker.role;
      workerLogGroup = this.lambdaWorker.logGroup;
    } else {
      if (this.vpc === undefined) throw new Error('unreachable: Fargate always has a VPC');
      this.fargateWorker = new FargateWorker(this, 'FargateWorker', {
        vpc: this.vpc,
        image: props.fargate?.image ?? workerImageFromSource(props.repoRoot),
        environment,
        cpu: props.fargate?.cpu ?? 256,
        memoryLimitMiB: props.fargate?.memoryLimitMiB ?? 512,
        desiredCount: props.fargate?.desiredCount ?? 1,
        logRetention,
        stopTimeout: Duration.seconds(120),
      });
      this.workerRole = this.fargateWorker.taskDefinition.taskRole;
      workerLogGroup = this.fargateWorker.logGroup;
      this.requests.queue.grantConsumeMessages(this.workerRole);
    }
    for (const statement of secretStatements(this, secretPermissions)) {
      this.workerRole.addToPrincipalPolicy(statement);
    }
    this.eventBus.grantPutEventsTo(this.workerRole);

    if (props.scheduledRotation !== undefined) {
      this.scheduledRotation = new ScheduledRotation(this, 'ScheduledRotation', {
        ...props.scheduledRotation,
        queue: this.requests.queue,
        fifo: queueType === 'fifo',
        eventBus: this.eventBus,
      });
      if (props.scheduledRotation.deliverTo !== 'bus')
        messaging.exemptSender(this.scheduledRotation.role.roleArn);
    }

    if (props.sweepSchedule !== false) {
      this.scheduledSweep = this.#scheduledSweep(props, {
        expression: props.sweepSchedule ?? DEFAULT_SWEEP_SCHEDULE,
        environment,
        secretPermissions,
        runtime,
        logRetention,
      });
      messaging.exemptSender(this.scheduledSweep.role.roleArn);
    }

    if (props.rotationFunction === true) {
      const {
        ROTATION_QUEUE_URL: _queue,
        VISIBILITY_TIMEOUT_SECONDS: _v,
        MAX_RECEIVE_COUNT: _m,
        ...rest
      } = environment;
      this.rotationFunction = new RotationFunction(this, 'RotationFunction', {
        repoRoot: props.repoRoot,
        entry: props.rotationFunctionEntry ?? ROTATION_FUNCTION_ENTRY,
        environment: rest,
        logRetention,
      });
      for (const statement of secretStatements(this, secretPermissions)) {
        this.rotationFunction.role.addToPrincipalPolicy(statement);
      }
      this.eventBus.grantPutEventsTo(this.rotationFunction.role);
    }

    this.alarms = new RotationAlarms(this, 'Alarms', {
      deadLetterQueue: this.requests.deadLetterQueue,
      eventBus: this.eventBus,
      eventSource,
      workerLogGroup,
      workerFunction: this.lambdaWorker?.function,
      sweepFunction: this.scheduledSweep?.function,
      sweepTask:
        this.scheduledSweep !== undefined && this.fargateWorker !== undefined
          ? { cluster: this.fargateWorker.cluster, group: SWEEP_TASK_GROUP }
          : undefined,
      alarmTopic: props.alarmTopic,
      logRetention,
    });
    this.monitoring = new RotationMonitoring(this, 'Monitoring', {
      namespace: this.metricsNamespace,
      service: this.metricsService,
      deadLetterQueue: this.requests.deadLetterQueue,
      deadLetterAlarm: this.alarms.deadLetterAlarm,
      ...(props.expiryAlarmHours === undefined ? {} : { expiryAlarmHours: props.expiryAlarmHours }),
      ...(props.failureAlarmThreshold === undefined
        ? {}
        : { failureAlarmThreshold: props.failureAlarmThreshold }),
      ...(props.alarmTopic === undefined ? {} : { alarmTopic: props.alarmTopic }),
      ...(props.dashboardName === undefined ? {} : { dashboardName: props.dashboardName }),
    });
  }

  /**
   * Lets `grantee` request rotations the documented way: `PutEvents` of `Atlas Secret Rotation Requested` on the
   * bus (the request rule routes them to the queue). Only that detail type; with `source`, only events of that
   * source — which the request rule must accept (`requestSources`, or any source when that is absent).
   */
  grantRequestRotation(grantee: iam.IGrantable, options: { readonly source?: string } = {}): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['events:PutEvents'],
      resourceArns: [this.eventBus.eventBusArn],
      conditions: {
        StringEquals: {
          'events:detail-type': DETAIL_TYPE_REQUESTED,
          ...(options.source === undefined ? {} : { 'events:source': options.source }),
        },
      },
    });
  }

  /** Any of the service's metrics for this deployment (Sum over 5 minutes; HoursToExpiry: Minimum). */
  metric(metricName: RotatorMetricName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return rotatorMetric(this.metricsNamespace, this.metricsService, metricName, props);
  }

  /** Rotation runs that failed, any error code (Sum over 5 minutes). */
  metricRotationsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RotationsFailed', props);
  }

  /** Rotation runs that failed with one error code (Sum over 5 minutes). */
  metricRotationsFailedWith(errorCode: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('RotationsFailed', {
      ...props,
      dimensionsMap: { ...props.dimensionsMap, ErrorCode: errorCode },
    });
  }

  /** Rotations completed (a redelivery that found one done is `RotationsAlreadyCompleted`; Sum over 5 minutes). */
  metricRotationsCompleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RotationsCompleted', props);
  }

  /** How long rotation runs took, in milliseconds (Sum unless `statistic` says otherwise, e.g. `p99`). */
  metricRotationDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RotationDuration', props);
  }

  /** The soonest expiry of any managed secret's current Atlas secret, in hours (Minimum over 5 minutes). */
  metricHoursToExpiry(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('HoursToExpiry', props);
  }

  /** Old Atlas secrets the sweep found still live beside the current ones (Sum over 5 minutes). */
  metricOldSecretsAwaitingRetirement(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OldSecretsAwaitingRetirement', props);
  }

  /** Waits on Atlas's 429 (Sum over 5 minutes). */
  metricAtlasRateLimitWaits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('AtlasRateLimitWaits', props);
  }

  /** The sweep on the worker's runtime, with the worker's configuration plus the sweep's own keys. */
  #scheduledSweep(
    props: AtlasRotatorProps,
    shared: {
      readonly expression: string;
      readonly environment: Readonly<Record<string, string>>;
      readonly secretPermissions: SecretPermissionsProps;
      readonly runtime: WorkerRuntime;
      readonly logRetention: logs.RetentionDays;
    },
  ): ScheduledSweep {
    const rotateBeforeExpiryHours = wholeNumber(
      'rotateBeforeExpiryHours',
      props.rotateBeforeExpiryHours ?? 336,
      1,
      8766,
    );
    const secretExpiresAfterHours = props.secretExpiresAfterHours ?? 2160;
    if (rotateBeforeExpiryHours >= secretExpiresAfterHours) {
      throw new Error(
        `rotateBeforeExpiryHours (${rotateBeforeExpiryHours}) must be below secretExpiresAfterHours ` +
          `(${secretExpiresAfterHours}): otherwise every sweep finds a freshly rotated secret due again`,
      );
    }
    const namePrefix = sweepNamePrefixFor(shared.secretPermissions.managedSecretNamePattern);
    // Added to the worker's configuration: the function's environment, or the RunTask override on top of the
    // task definition's (the worker ignores them).
    const sweepEnvironment: Record<string, string> = {
      ROTATE_BEFORE_EXPIRY_HOURS: String(rotateBeforeExpiryHours),
      SWEEP_CONCURRENCY: String(wholeNumber('sweepConcurrency', props.sweepConcurrency ?? 4, 1, 32)),
      ...(namePrefix === undefined ? {} : { SWEEP_NAME_PREFIX: namePrefix }),
    };
    const common = {
      expression: shared.expression,
      queue: this.requests.queue,
      queueKey: this.requests.key,
      secretPermissions: shared.secretPermissions,
    };
    if (shared.runtime === 'fargate') {
      if (this.fargateWorker === undefined) throw new Error('unreachable: the Fargate worker exists');
      return new ScheduledSweep(this, 'ScheduledSweep', {
        ...common,
        runtime: { kind: 'fargate', worker: this.fargateWorker, environment: sweepEnvironment },
      });
    }
    return new ScheduledSweep(this, 'ScheduledSweep', {
      ...common,
      runtime: {
        kind: 'lambda',
        repoRoot: props.repoRoot,
        memorySize: props.lambda?.memorySize ?? 512,
        logRetention: shared.logRetention,
        vpc: this.vpc,
        environment: { ...shared.environment, ...sweepEnvironment },
      },
    });
  }
}
