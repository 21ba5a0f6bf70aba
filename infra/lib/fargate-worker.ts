import { type Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The Dockerfile of the worker image, relative to the repository root (the build context). */
export const DOCKERFILE = 'infra/docker/Dockerfile';

/**
 * What the image build needs from the repository, as Docker ignore patterns: everything else (node_modules,
 * .venv-aws, infra/cdk.out, …) stays out of the staged context, which keeps synth fast and the asset hash
 * independent of local installs.
 */
export const IMAGE_CONTEXT_EXCLUDE = [
  '*',
  '!package.json',
  '!package-lock.json',
  '!tsconfig.json',
  '!tsconfig.build.json',
  '!src',
  '!infra',
  'infra/*',
  '!infra/docker',
];

/** The image built from this repository at deploy time (`cdk deploy` needs Docker; `cdk synth` does not). */
export function workerImageFromSource(repoRoot: string): ecs.ContainerImage {
  return ecs.ContainerImage.fromAsset(repoRoot, {
    file: DOCKERFILE,
    exclude: IMAGE_CONTEXT_EXCLUDE,
    platform: Platform.LINUX_AMD64,
  });
}

export interface FargateWorkerProps {
  readonly vpc: ec2.IVpc;
  readonly image: ecs.ContainerImage;
  readonly environment: Readonly<Record<string, string>>;
  readonly cpu: number;
  readonly memoryLimitMiB: number;
  readonly desiredCount: number;
  readonly logRetention: logs.RetentionDays;
  /** How long ECS waits after SIGTERM (the worker drains in-flight rotations); at most 120 s on Fargate. */
  readonly stopTimeout: Duration;
}

/** The long-running worker (`atlas-rotator worker`) as an ECS Fargate service in private subnets. */
export class FargateWorker extends Construct {
  readonly cluster: ecs.Cluster;
  readonly service: ecs.FargateService;
  /** The worker container's name in the task definition (what a RunTask override names). */
  readonly containerName = 'Worker';
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FargateWorkerProps) {
    super(scope, id);
    const stopSeconds = props.stopTimeout.toSeconds();
    if (stopSeconds < 2 || stopSeconds > 120) {
      throw new Error(`the Fargate stopTimeout must be 2..120 seconds (got ${stopSeconds})`);
    }
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention });
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryLimitMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.taskDefinition.addContainer(this.containerName, {
      image: props.image,
      command: ['worker'],
      essential: true,
      readonlyRootFilesystem: true,
      stopTimeout: props.stopTimeout,
      environment: {
        ...props.environment,
        AWS_REGION: Stack.of(this).region,
        // Leave ECS's SIGKILL a margin after the drain.
        SHUTDOWN_GRACE_SECONDS: String(Math.max(0, stopSeconds - 10)),
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'worker' }),
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
    });
  }
}
