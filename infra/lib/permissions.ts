import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';

/** The tag a secret carries to opt in to rotation (src/domain/rotation-metadata.ts `TAG_MANAGED`). */
export const MANAGED_TAG = 'atlas-rotator:managed';

/**
 * The service writes no tags (ADR 0007 keeps a rotation's state in versions, not in ADR 0003's lease and intent
 * tags), so the role may not tag at all: every tag on a secret — `atlas-rotator:managed`, `adminSecretArn`,
 * `apiVersion` — is the owner's, and the role can neither opt a secret out nor point it at another admin secret.
 */

export interface SecretPermissionsProps {
  /** Secret-name pattern the managed secrets live under (`*` = every secret of this account and region). */
  readonly managedSecretNamePattern: string;
  /** Admin secrets whose GetSecretValue is allowed (ARNs; a trailing `*` matches a prefix). */
  readonly adminSecretArns: readonly string[];
  /** Customer managed KMS keys encrypting managed or admin secrets. */
  readonly secretKmsKeyArns: readonly string[];
}

/** The managed secrets' ARN pattern: this account and region, names matching `namePattern`. */
export function managedSecretsArn(scope: IConstruct, namePattern: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: namePattern,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * What a process running the rotation needs on Secrets Manager and KMS, as named statements (the Sid
 * names what each is for). Used for the worker's role and for the rotation function's.
 */
export function secretStatements(scope: IConstruct, props: SecretPermissionsProps): iam.PolicyStatement[] {
  const managedSecrets = managedSecretsArn(scope, props.managedSecretNamePattern);
  const managed = { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: 'true' } };
  const statements = [
    new iam.PolicyStatement({
      sid: 'RotateManagedSecrets',
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      resources: [managedSecrets],
      conditions: managed,
    }),
  ];
  // The admin secret's `serves` list is part of its value (read by this GetSecretValue), and the identity pin
  // reads older versions of managed secrets by VersionId (GetSecretValue above): tenant isolation needs no action.
  if (props.adminSecretArns.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ReadAllowListedAdminSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...props.adminSecretArns],
      }),
    );
  }
  if (props.secretKmsKeyArns.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'UseSecretKeysThroughSecretsManager',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [...props.secretKmsKeyArns],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(scope).region}.amazonaws.com` },
        },
      }),
    );
  }
  return statements;
}

export interface SweepPermissionsProps extends SecretPermissionsProps {
  /** The request queue the sweep sends rotation requests to. */
  readonly queue: sqs.IQueue;
  /** The queue's customer managed key, when it has one. */
  readonly queueKey: kms.IKey | undefined;
}

/**
 * What the scheduled sweep needs, and nothing more: it lists the secrets, reads the managed ones (and the
 * allow-listed admin secrets, and the versions the identity pin needs) to learn from Atlas when their secret expires, and sends a rotation request for
 * each one due. It writes nothing to Secrets Manager — no PutSecretValue, no staging, no tagging: the worker
 * rotates (only `sweep --now` would rotate in the sweep's process, and the schedule never passes it).
 */
export function sweepStatements(scope: IConstruct, props: SweepPermissionsProps): iam.PolicyStatement[] {
  const region = Stack.of(scope).region;
  const statements = [
    // ListSecrets supports no resource-level permissions and no tag condition: `*` is all IAM allows.
    // It returns names, ARNs and tags, never a value; the reads below are what the tag guards.
    new iam.PolicyStatement({
      sid: 'ListSecretsToFindManagedOnes',
      actions: ['secretsmanager:ListSecrets'],
      resources: ['*'],
    }),
    // ListSecretVersionIds: the identity pin (a hand-written AWSCURRENT is checked against atlas-rotator's last
    // value before any credential is used for it), as in a rotation.
    new iam.PolicyStatement({
      sid: 'ReadManagedSecrets',
      actions: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:GetSecretValue',
      ],
      resources: [managedSecretsArn(scope, props.managedSecretNamePattern)],
      conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: 'true' } },
    }),
  ];
  if (props.adminSecretArns.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ReadAllowListedAdminSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...props.adminSecretArns],
      }),
    );
  }
  if (props.secretKmsKeyArns.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'DecryptSecretsThroughSecretsManager',
        actions: ['kms:Decrypt'],
        resources: [...props.secretKmsKeyArns],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
      }),
    );
  }
  statements.push(
    new iam.PolicyStatement({
      sid: 'SendRotationRequests',
      actions: ['sqs:SendMessage'],
      resources: [props.queue.queueArn],
    }),
  );
  if (props.queueKey !== undefined) {
    // SendMessage to a KMS-encrypted queue: a data key (GenerateDataKey) and its reuse (Decrypt), via SQS only.
    statements.push(
      new iam.PolicyStatement({
        sid: 'UseQueueKeyThroughSqs',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.queueKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${region}.amazonaws.com` } },
      }),
    );
  }
  return statements;
}
