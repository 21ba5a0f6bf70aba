import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  ListSecretsCommand,
  type ListSecretsCommandOutput,
  ListSecretVersionIdsCommand,
  type ListSecretVersionIdsCommandOutput,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  SecretStoreError,
  type SecretStoreErrorCode,
  SecretVersionExistsError,
  StageMovedError,
} from '../../../application/infrastructure-errors.js';
import type {
  ListedSecret,
  ListedVersion,
  SecretDescription,
  SecretStore,
  VersionRef,
} from '../../../application/ports/secret-store.js';
import { TAG_MANAGED } from '../../../domain/rotation-metadata.js';
import { SecretValue } from '../../../domain/secret-value.js';

const PERMANENT: Readonly<Record<string, SecretStoreErrorCode>> = {
  ResourceNotFoundException: 'SECRET_NOT_FOUND',
  AccessDeniedException: 'SECRET_STORE_ACCESS_DENIED',
  AccessDeniedExceptionReason: 'SECRET_STORE_ACCESS_DENIED',
  UnrecognizedClientException: 'SECRET_STORE_ACCESS_DENIED',
  InvalidSignatureException: 'SECRET_STORE_ACCESS_DENIED',
  DecryptionFailure: 'SECRET_STORE_ACCESS_DENIED',
  EncryptionFailure: 'SECRET_STORE_ACCESS_DENIED',
  InvalidParameterException: 'SECRET_STORE_INVALID_REQUEST',
  InvalidRequestException: 'SECRET_STORE_INVALID_REQUEST',
  ResourceExistsException: 'SECRET_STORE_INVALID_REQUEST',
  ValidationException: 'SECRET_STORE_INVALID_REQUEST',
};

/**
 * Translates an SDK failure. The SDK's messages name resources, never secret values; still only the
 * exception name and status are kept, and the SDK error is not attached as `cause`.
 */
function translate(action: string, secretId: string, error: unknown): SecretStoreError {
  // A network failure arrives as a plain Error: its code (ECONNREFUSED, ETIMEDOUT …) says more than its name.
  const systemCode = (error as { code?: unknown })?.code;
  const name =
    error instanceof Error
      ? error.name === 'Error' && typeof systemCode === 'string' && /^[A-Z_]+$/.test(systemCode)
        ? systemCode
        : error.name
      : 'UnknownError';
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const code = PERMANENT[name];
  if (code !== undefined) {
    const hint =
      code === 'SECRET_NOT_FOUND'
        ? 'check the secret id'
        : code === 'SECRET_STORE_ACCESS_DENIED'
          ? 'check the IAM permissions and KMS key policy of this service'
          : 'the request was refused';
    return new SecretStoreError(
      code,
      `Secrets Manager ${action} on ${secretId} failed with ${name}: ${hint}`,
      false,
    );
  }
  return new SecretStoreError(
    'SECRET_STORE_UNAVAILABLE',
    `Secrets Manager ${action} on ${secretId} failed with ${name}${status === undefined ? '' : ` (HTTP ${status})`}; it can be retried`,
    true,
  );
}

function tagsOf(output: DescribeSecretCommandOutput): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of output.Tags ?? []) {
    if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
  }
  return tags;
}

function externalMetadataOf(output: DescribeSecretCommandOutput): Record<string, string> | undefined {
  // Present only on AWS-managed external rotation; older SDK models do not declare it.
  const items = (output as { ExternalSecretRotationMetadata?: { Key?: string; Value?: string }[] })
    .ExternalSecretRotationMetadata;
  if (items === undefined || items.length === 0) return undefined;
  const metadata: Record<string, string> = {};
  for (const item of items) {
    if (item.Key !== undefined && item.Value !== undefined) metadata[item.Key] = item.Value;
  }
  return metadata;
}

/** AWS Secrets Manager. Reads always name a version or a stage. */
export class SecretsManagerSecretStore implements SecretStore {
  constructor(private readonly client: SecretsManagerClient) {}

  async describe(secretId: string): Promise<SecretDescription> {
    const output = await this.call('DescribeSecret', secretId, () =>
      this.client.send(new DescribeSecretCommand({ SecretId: secretId })),
    );
    if (output.ARN === undefined || output.Name === undefined) {
      throw new SecretStoreError(
        'SECRET_STORE_UNAVAILABLE',
        `DescribeSecret on ${secretId} returned no ARN`,
        true,
      );
    }
    if (output.DeletedDate !== undefined) {
      throw new SecretStoreError(
        'SECRET_NOT_FOUND',
        `Secret ${output.Name} is scheduled for deletion`,
        false,
      );
    }
    return {
      arn: output.ARN,
      name: output.Name,
      tags: tagsOf(output),
      versions: Object.entries(output.VersionIdsToStages ?? {}).map(([versionId, stages]) => ({
        versionId,
        stages: stages ?? [],
      })),
      externalRotationMetadata: externalMetadataOf(output),
      nativeRotation: {
        enabled: output.RotationEnabled === true,
        lambdaArn: output.RotationLambdaARN === '' ? undefined : output.RotationLambdaARN,
      },
      type: output.Type === '' ? undefined : output.Type,
    };
  }

  async listVersions(secretArn: string): Promise<ListedVersion[]> {
    const versions: ListedVersion[] = [];
    let nextToken: string | undefined;
    do {
      const page: ListSecretVersionIdsCommandOutput = await this.call('ListSecretVersionIds', secretArn, () =>
        this.client.send(
          new ListSecretVersionIdsCommand({
            SecretId: secretArn,
            IncludeDeprecated: true,
            MaxResults: 100,
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        ),
      );
      for (const v of page.Versions ?? []) {
        if (v.VersionId === undefined) continue;
        if (v.CreatedDate === undefined) {
          throw new SecretStoreError(
            'SECRET_STORE_UNAVAILABLE',
            `ListSecretVersionIds on ${secretArn} returned version ${v.VersionId} without a CreatedDate`,
            true,
          );
        }
        versions.push({
          versionId: v.VersionId,
          stages: v.VersionStages ?? [],
          createdAt: v.CreatedDate.toISOString(),
        });
      }
      nextToken = page.NextToken === '' ? undefined : page.NextToken;
    } while (nextToken !== undefined);
    return versions.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async putVersion(
    secretArn: string,
    versionId: string,
    value: SecretValue,
    stages: readonly string[],
  ): Promise<void> {
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: secretArn,
          ClientRequestToken: versionId,
          SecretString: value.reveal(),
          VersionStages: [...stages],
        }),
      );
    } catch (error) {
      if ((error as Error)?.name === 'ResourceExistsException') {
        throw new SecretVersionExistsError(versionId, secretArn);
      }
      throw translate('PutSecretValue', secretArn, error);
    }
  }

  async moveStage(
    secretArn: string,
    stage: string,
    toVersionId: string,
    fromVersionId: string | undefined,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretArn,
          VersionStage: stage,
          MoveToVersionId: toVersionId,
          ...(fromVersionId === undefined ? {} : { RemoveFromVersionId: fromVersionId }),
        }),
      );
    } catch (error) {
      // AWS refuses a RemoveFromVersionId that does not hold the label, and a move without one of a label that
      // another version holds, with InvalidParameterException: both mean "not where you read it".
      if ((error as Error)?.name === 'InvalidParameterException') {
        throw new StageMovedError(stage, fromVersionId, secretArn);
      }
      throw translate('UpdateSecretVersionStage', secretArn, error);
    }
  }

  async getValue(secretArn: string, version: VersionRef): Promise<SecretValue> {
    const output = await this.call('GetSecretValue', secretArn, () =>
      this.client.send(
        new GetSecretValueCommand(
          'versionId' in version
            ? { SecretId: secretArn, VersionId: version.versionId }
            : { SecretId: secretArn, VersionStage: version.stage },
        ),
      ),
    );
    if (output.SecretString === undefined || output.SecretString === '') {
      throw new SecretStoreError(
        'SECRET_STORE_INVALID_REQUEST',
        `Secret ${secretArn} holds no SecretString (a binary secret cannot hold Atlas credentials)`,
        false,
      );
    }
    return SecretValue.of(output.SecretString);
  }

  private async call<T>(action: string, secretId: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw translate(action, secretId, error);
    }
  }

  async listManagedSecrets(options: { readonly namePrefix?: string } = {}): Promise<ListedSecret[]> {
    const filters = [
      { Key: 'tag-key' as const, Values: [TAG_MANAGED] },
      { Key: 'tag-value' as const, Values: ['true'] },
      ...(options.namePrefix === undefined ? [] : [{ Key: 'name' as const, Values: [options.namePrefix] }]),
    ];
    const listed: ListedSecret[] = [];
    let nextToken: string | undefined;
    do {
      const page: ListSecretsCommandOutput = await this.call('ListSecrets', 'the managed secrets', () =>
        this.client.send(
          new ListSecretsCommand({
            Filters: filters,
            MaxResults: 100,
            IncludePlannedDeletion: false,
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        ),
      );
      for (const entry of page.SecretList ?? []) {
        if (entry.ARN === undefined || entry.Name === undefined || entry.DeletedDate !== undefined) continue;
        // The name filter is a prefix match that ignores case: keep exact prefixes only.
        if (options.namePrefix !== undefined && !entry.Name.startsWith(options.namePrefix)) continue;
        const tags: Record<string, string> = {};
        for (const tag of entry.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
        listed.push({ arn: entry.ARN, name: entry.Name, tags });
      }
      nextToken = page.NextToken === '' ? undefined : page.NextToken;
    } while (nextToken !== undefined);
    return listed;
  }
}
