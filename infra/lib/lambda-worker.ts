import type { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { bundleNodeEntry } from './bundle.js';

/** The worker's SQS entry point (exports `handler`), relative to the repository root. */
export const LAMBDA_ENTRY = 'src/adapters/bootstrap/lambda.ts';

export interface LambdaWorkerProps {
  readonly repoRoot: string;
  readonly queue: sqs.IQueue;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Messages per invocation. */
  readonly batchSize: number;
  /** Concurrent invocations the event source may start (2..1000). */
  readonly maxConcurrency: number;
  readonly logRetention: logs.RetentionDays;
  /** Runs the function in the VPC's private subnets (a fixed egress IP for Atlas's access list). */
  readonly vpc: ec2.IVpc | undefined;
}

/**
 * The worker as a Lambda function on an SQS event source with partial batch responses. Its role is its own
 * (no AWS managed policy): logs to its log group, plus what the caller adds.
 */
export class LambdaWorker extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: LambdaWorkerProps) {
    super(scope, id);
    if (!Number.isInteger(props.maxConcurrency) || props.maxConcurrency < 2 || props.maxConcurrency > 1000) {
      throw new Error(`the event source's maxConcurrency must be 2..1000 (got ${props.maxConcurrency})`);
    }
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'atlas-rotator worker (Lambda)',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    if (props.vpc !== undefined) {
      // What Lambda needs to attach the function to the VPC (AWSLambdaVPCAccessExecutionRole without its
      // logs:* part). The EC2 network-interface actions take no resource narrower than `*`.
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
    this.function = new lambda.Function(this, 'Function', {
      description: 'atlas-rotator worker: rotation requests from SQS',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      code: lambda.Code.fromAsset(bundleNodeEntry(props.repoRoot, LAMBDA_ENTRY)),
      handler: 'index.handler',
      timeout: props.timeout,
      memorySize: props.memorySize,
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      ...(props.vpc === undefined
        ? {}
        : { vpc: props.vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }),
    });
    this.function.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: props.batchSize,
        maxConcurrency: props.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }
}
