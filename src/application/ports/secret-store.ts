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
   * The value of one version, labelled or not: the only way to learn that an unlabelled version (a rolled-back
   * rotation's) exists. Rejects with SECRET_NOT_FOUND when the secret or that version does not exist.
   */
  getValue(secretArn: string, version: VersionRef): Promise<SecretValue>;

  /**
   * Stores `value` as version `token` labelled AWSPENDING. Idempotent for the same token and value;
   * rejects when the token already names a version with another value.
   */
  putPending(secretArn: string, token: string, value: SecretValue): Promise<void>;

  /** Moves AWSCURRENT from `currentVersionId` to `token`; the old version becomes AWSPREVIOUS. Idempotent. */
  promote(secretArn: string, token: string, currentVersionId: string): Promise<void>;

  /** Removes a label from a version. Idempotent: nothing happens when the version does not carry it. */
  removeStage(secretArn: string, stage: VersionStage, versionId: string): Promise<void>;

  /** Sets tags; a key the secret already has gets the new value (that is how a stale lease is taken over). */
  tag(secretArn: string, tags: Readonly<Record<string, string>>): Promise<void>;

  /** Removes tags. Idempotent: keys the secret does not have are ignored. */
  untag(secretArn: string, keys: readonly string[]): Promise<void>;

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
