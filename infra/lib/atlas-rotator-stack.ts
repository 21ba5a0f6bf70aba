import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { AtlasRotator, type AtlasRotatorProps } from './atlas-rotator.js';
import { findRepoRoot } from './bundle.js';
import { acknowledgeNagFindings } from './nag-suppressions.js';
import { addMessagingOutputs } from './rotation-messaging.js';

export interface AtlasRotatorStackProps
  extends StackProps,
    Omit<AtlasRotatorProps, 'repoRoot' | 'alarmTopic' | 'vpc' | 'fargate'> {
  readonly repoRoot?: string;
  /** `create`: a new VPC (Fargate creates one anyway); `vpcId` instead looks one up (needs credentials). */
  readonly vpc?: 'create';
  /** An existing VPC with private subnets with egress (looked up at synth: needs an account and region). */
  readonly vpcId?: string;
  /** Fargate: run this image instead of building infra/docker/Dockerfile at deploy time. */
  readonly imageUri?: string;
  readonly fargate?: Omit<NonNullable<AtlasRotatorProps['fargate']>, 'image'>;
  /** An existing SNS topic for the alarms. */
  readonly alarmTopicArn?: string;
  /** Creates an encrypted SNS topic for the alarms with this e-mail subscribed (ignored with alarmTopicArn). */
  readonly alarmEmail?: string;
}

/** The deployable unit: the AtlasRotator construct, an optional alarm topic, and the outputs teams need. */
export class AtlasRotatorStack extends Stack {
  readonly rotator: AtlasRotator;
  readonly alarmTopic: sns.ITopic | undefined;

  constructor(scope: Construct, id: string, props: AtlasRotatorStackProps = {}) {
    super(scope, id, props);
    this.alarmTopic = this.#alarmTopic(props);
    const {
      repoRoot,
      alarmTopicArn: _arn,
      alarmEmail: _email,
      vpc,
      vpcId,
      imageUri,
      fargate,
      ...rotatorProps
    } = props;
    if (vpc !== undefined && vpcId !== undefined) throw new Error('vpc: create and vpcId exclude each other');
    const image = imageUri === undefined ? undefined : ecs.ContainerImage.fromRegistry(imageUri);
    this.rotator = new AtlasRotator(this, 'AtlasRotator', {
      ...rotatorProps,
      repoRoot: repoRoot ?? findRepoRoot(),
      ...(vpcId === undefined ? {} : { vpc: ec2.Vpc.fromLookup(this, 'Vpc', { vpcId }) }),
      ...(vpc === undefined ? {} : { vpc }),
      fargate: { ...fargate, ...(image === undefined ? {} : { image }) },
      ...(this.alarmTopic === undefined ? {} : { alarmTopic: this.alarmTopic }),
    });

    addMessagingOutputs(this, this.rotator);
    if (this.rotator.egressIp !== undefined) {
      new CfnOutput(this, 'EgressIp', {
        value: this.rotator.egressIp.ref,
        description: "The worker's outbound IP: add it to the Atlas organization's API access list",
      });
    }
    if (this.rotator.rotationFunction !== undefined) {
      new CfnOutput(this, 'RotationFunctionArn', {
        value: this.rotator.rotationFunction.function.functionArn,
      });
    }
    acknowledgeNagFindings(this.rotator);
  }

  #alarmTopic(props: AtlasRotatorStackProps): sns.ITopic | undefined {
    if (props.alarmTopicArn !== undefined) {
      return sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
    }
    if (props.alarmEmail === undefined) return undefined;
    // CloudWatch must be able to use the key: the AWS managed alias/aws/sns key does not let it.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'atlas-rotator alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'atlas-rotator alarms',
      masterKey: key,
      enforceSSL: true,
    });
    topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    return topic;
  }
}
