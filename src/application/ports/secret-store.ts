import type { SecretValue } from '../../domain/secret-value.js';

export type VersionStage = 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS';

export interface SecretVersion {
  readonly versionId: string;
  readonly stages: readonly string[];
}

export interface SecretDescription {
  readonly arn: string;
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Labelled versions only: a version with no staging label left is not listed (see `getValue`). */
  readonly versions: readonly SecretVersion[];
  /** AWS's `ExternalSecretRotationMetadata` as key/value pairs, where DescribeSecret returns it. */
  readonly externalRotationMetadata: Readonly<Record<string, string>> | undefined;
  /** Secrets Manager's own (native) rotation of this secret: whether it is on, and the function it invokes. */
  readonly nativeRotation: {
    readonly enabled: boolean;
    readonly lambdaArn: string | undefined;
  };
  /**
   * AWS's secret `Type`: set for a managed external secret (`MongoDBAtlasServiceAccount`, rotated by AWS itself),
   * undefined for a plain secret.
   */
  readonly type: string | undefined;
}

/** A version as ListSecretVersionIds shows it, labelled or not. */
export interface ListedVersion {
  readonly versionId: string;
  readonly stages: readonly string[];
  /** When Secrets Manager created the version (ISO 8601): versions are immutable, so this never changes. */
  readonly createdAt: string;
}

/** Names one version explicitly: never rely on a store's default version. */
export type VersionRef = { readonly versionId: string } | { readonly stage: VersionStage };

/**
 * The secret store (AWS Secrets Manager semantics): versions identified by VersionId and labelled with
 * staging labels, one label on one version at a time. Failures are `SecretStoreError`s.
 */
export interface SecretStore {
  /** Metadata, tags and version stages. Rejects with SECRET_NOT_FOUND for an unknown id. */
  describe(secretId: string): Promise<SecretDescription>;

  /**
   * The value of one version, labelled or not. Rejects with SECRET_NOT_FOUND when the secret or that version
   * does not exist, or when the version is RotateSecret's valueless placeholder.
   */
  getValue(secretArn: string, version: VersionRef): Promise<SecretValue>;

  /**
   * Every version of the secret, labelled or not (ListSecretVersionIds with IncludeDeprecated), with its
   * CreatedDate, oldest first. Includes RotateSecret's valueless placeholder. AWS keeps an unlabelled version at
   * least 24 hours (it prunes unlabelled versions beyond 100, none younger than a day).
   */
  listVersions(secretArn: string): Promise<ListedVersion[]>;

  /**
   * Creates version `versionId` holding `value`, with `stages` (each label moves here from wherever it was; a
   * moved AWSCURRENT leaves AWSPREVIOUS behind). Compare-and-swap on the VersionId: the same id and value again
   * changes nothing (not even labels); another value for an existing id rejects with `SecretVersionExistsError`
   * — except RotateSecret's valueless placeholder, which the first put fills (and labels) once.
   */
  putVersion(
    secretArn: string,
    versionId: string,
    value: SecretValue,
    stages: readonly string[],
  ): Promise<void>;

  /**
   * Compare-and-swap of a staging label: moves `stage` to `toVersionId` only if it is still on `fromVersionId`
   * (undefined: on no version). Moving AWSCURRENT leaves AWSPREVIOUS on the old holder. Rejects with
   * `StageMovedError` when the label is elsewhere — also when a repeat finds the move already done, so the
   * caller reads again to tell "done by me or someone" from "moved by someone else".
   */
  moveStage(
    secretArn: string,
    stage: string,
    toVersionId: string,
    fromVersionId: string | undefined,
  ): Promise<void>;

  /**
   * Every secret that may be managed: ListSecrets filtered by the tag key `atlas-rotator:managed` and the tag
   * value `true`, all pages, without those scheduled for deletion. The two filters match independently (a
   * secret with `managed=false` and any other tag valued `true` is listed too): check `tags` before use.
   * `namePrefix` narrows the listing to names that start with it (exactly, case included).
   */
  listManagedSecrets(options?: { readonly namePrefix?: string }): Promise<ListedSecret[]>;
}

/** A secret as ListSecrets shows it: enough to decide whether to look closer. */
export interface ListedSecret {
  readonly arn: string;
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
}
