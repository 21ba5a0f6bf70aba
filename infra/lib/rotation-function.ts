import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bundleNodeEntry } from './bundle.js';

/** Secrets Manager's rotation entry (createSecret/setSecret/testSecret/finishSecret), exporting `handler`. */
export const ROTATION_FUNCTION_ENTRY = 'src/adapters/bootstrap/rotation-function.ts';

export interface RotationFunctionProps {
  readonly repoRoot: string;
  /** Entry relative to the repository root; `ROTATION_FUNCTION_ENTRY` unless a test stubs it. */
  readonly entry: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The drop-in Secrets Manager rotation function: a secret's `RotationRules` name it, and Secrets Manager
 * invokes it for the four rotation steps. Only Secrets Manager of this account may invoke it.
 */
export class RotationFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: RotationFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'atlas-rotator Secrets Manager rotation function',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    this.function = new lambda.Function(this, 'Function', {
      description: 'atlas-rotator: Secrets Manager rotation function for Atlas service-account secrets',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      code: lambda.Code.fromAsset(bundleNodeEntry(props.repoRoot, props.entry)),
      handler: 'index.handler',
      timeout: Duration.minutes(5),
      memorySize: 512,
      role: this.role,
      logGroup,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    });
    this.function.addPermission('SecretsManagerInvokes', {
      principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: Stack.of(this).account,
    });
  }
}
