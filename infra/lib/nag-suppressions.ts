import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { AtlasRotator } from './atlas-rotator.js';

/**
 * Why each cdk-nag AwsSolutions finding this stack accepts is acceptable. Keyed by rule; ADR 0005 repeats
 * them. Every acknowledgment is granular (one resource string) and sits on the construct that causes it.
 */
export const NAG_REASONS = {
  managedSecrets:
    'Managed secrets are not known at deploy time (teams opt in by tagging). Every statement on this ARN ' +
    'pattern carries aws:ResourceTag/atlas-rotator:managed = true, and Tag/UntagResource also ' +
    'aws:TagKeys limited to the rotation-state tags, so only opted-in secrets are reachable.',
  adminSecretPrefix:
    'An allow-listed admin secret given as a prefix (ADMIN_SECRET_ARNS supports a trailing *), chosen by ' +
    'the operator; the statement grants GetSecretValue only.',
  vpcNetworkInterfaces:
    'Lambda in a VPC manages its ENIs; ec2:Describe* and the ENI actions Lambda calls take no resource ' +
    'narrower than * (the same statement as AWSLambdaVPCAccessExecutionRole, without its logs:*).',
  ecrAuthorizationToken:
    'Added by CDK to the Fargate execution role: ecr:GetAuthorizationToken supports no resource-level ' +
    'permissions; image pulls themselves are limited to the asset repository.',
  schedulerQueueKey:
    "CDK's SqsSendMessage grant on the request queue's own key (the only resource): SendMessage to a " +
    'KMS-encrypted queue needs kms:GenerateDataKey, which CDK grants as GenerateDataKey*.',
  listSecrets:
    'The scheduled sweep finds the managed secrets with secretsmanager:ListSecrets, which supports no ' +
    'resource-level permissions or conditions (only * is valid); it returns names, ARNs and tags, never a ' +
    'value. With a VPC, the same * covers the ENI actions Lambda needs (see vpcNetworkInterfaces).',
  containerEnvironment:
    'The worker environment holds names, ARNs, URLs and numbers only, never a secret value (the service ' +
    'reads every credential from Secrets Manager at run time; STYLE.md "Config holds names and ARNs").',
} as const;

/** How cdk-nag prints a resource in a finding: intrinsics as `<AWS::Partition>`, `<Logical.Attr>`. */
export function nagResourceString(scope: IConstruct, value: string): string {
  const render = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (typeof node === 'object' && node !== null) {
      const object = node as Record<string, unknown>;
      if (typeof object.Ref === 'string') return `<${object.Ref}>`;
      const getAtt = object['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
      const join = object['Fn::Join'];
      if (Array.isArray(join)) {
        const [separator, parts] = join as [string, unknown[]];
        return parts.map(render).join(separator);
      }
    }
    return JSON.stringify(node);
  };
  return render(Stack.of(scope).resolve(value));
}

function acknowledge(scope: IConstruct, finding: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: finding, reason });
}

/** Acknowledges, with its reason, each finding the rotator's resources produce by design. */
export function acknowledgeNagFindings(rotator: AtlasRotator): void {
  const roles: IConstruct[] = [rotator.workerRole];
  if (rotator.rotationFunction !== undefined) roles.push(rotator.rotationFunction.role);
  for (const role of roles) {
    for (const arn of rotator.managedSecretArns) {
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::${nagResourceString(role, arn)}]`,
        NAG_REASONS.managedSecrets,
      );
    }
    for (const arn of rotator.adminSecretArns.filter((candidate) => candidate.includes('*'))) {
      acknowledge(role, `AwsSolutions-IAM5[Resource::${arn}]`, NAG_REASONS.adminSecretPrefix);
    }
  }
  const sweep = rotator.scheduledSweep;
  if (sweep !== undefined) {
    for (const arn of rotator.managedSecretArns) {
      acknowledge(
        sweep.role,
        `AwsSolutions-IAM5[Resource::${nagResourceString(sweep.role, arn)}]`,
        NAG_REASONS.managedSecrets,
      );
    }
    for (const arn of rotator.adminSecretArns.filter((candidate) => candidate.includes('*'))) {
      acknowledge(sweep.role, `AwsSolutions-IAM5[Resource::${arn}]`, NAG_REASONS.adminSecretPrefix);
    }
    acknowledge(sweep.role, 'AwsSolutions-IAM5[Resource::*]', NAG_REASONS.listSecrets);
  }
  if (rotator.scheduledRotation !== undefined && rotator.requests.key !== undefined) {
    acknowledge(
      rotator.scheduledRotation.role,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      NAG_REASONS.schedulerQueueKey,
    );
  }
  if (rotator.lambdaWorker !== undefined && rotator.vpc !== undefined) {
    acknowledge(
      rotator.lambdaWorker.role,
      'AwsSolutions-IAM5[Resource::*]',
      NAG_REASONS.vpcNetworkInterfaces,
    );
  }
  if (rotator.fargateWorker !== undefined) {
    const { taskDefinition } = rotator.fargateWorker;
    acknowledge(taskDefinition, 'AwsSolutions-ECS2', NAG_REASONS.containerEnvironment);
    if (taskDefinition.executionRole !== undefined) {
      acknowledge(
        taskDefinition.executionRole,
        'AwsSolutions-IAM5[Resource::*]',
        NAG_REASONS.ecrAuthorizationToken,
      );
    }
  }
}
