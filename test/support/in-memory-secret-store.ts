import {
  SecretStoreError,
  SecretVersionExistsError,
  StageMovedError,
} from '../../src/application/infrastructure-errors.js';
import type {
  ListedSecret,
  ListedVersion,
  SecretDescription,
  SecretStore,
  VersionRef,
  VersionStage,
} from '../../src/application/ports/secret-store.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import { type CallInterceptor, type FailureOptions, InjectedFailures } from './injected-failures.js';

export type SecretStoreMethod =
  | 'describe'
  | 'getValue'
  | 'listVersions'
  | 'putVersion'
  | 'moveStage'
  | 'listManagedSecrets';

export interface StoreCall {
  readonly method: SecretStoreMethod;
  readonly secretId: string;
  readonly versionId?: string;
  readonly stage?: string;
  readonly fromVersionId?: string;
  readonly keys?: readonly string[];
}

export interface StoredVersion {
  readonly versionId: string;
  /** undefined: the placeholder RotateSecret registers (GetSecretValue on it: not found) until a put fills it. */
  value: SecretValue | undefined;
  stages: string[];
  /** ISO 8601, from the store's clock when the version was created. */
  readonly createdAt: string;
}

export interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  tags: Record<string, string>;
  /** Every version, in creation order, labelled or not (DescribeSecret shows only labelled ones). */
  readonly versions: StoredVersion[];
  externalRotationMetadata: Record<string, string> | undefined;
  nativeRotation: { enabled: boolean; lambdaArn: string | undefined };
  type: string | undefined;
}

export interface SeedSecret {
  readonly arn: string;
  readonly name: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly versions: readonly {
    readonly versionId: string;
    readonly value: SecretValue | string;
    readonly stages: readonly string[];
    readonly createdAt?: string;
  }[];
  readonly externalRotationMetadata?: Readonly<Record<string, string>>;
  readonly nativeRotation?: { readonly enabled: boolean; readonly lambdaArn: string | undefined };
  readonly type?: string;
}

/**
 * Secrets Manager in memory: versions by VersionId, staging labels that sit on one version at a time,
 * AWSPREVIOUS following AWSCURRENT, and DescribeSecret listing only labelled versions. The state lives in
 * `secrets`, which `reopen()` shares with a fresh adapter (as a new process would see it).
 */
export class InMemorySecretStore implements SecretStore {
  readonly calls: StoreCall[] = [];
  interceptor: CallInterceptor | undefined;
  readonly #failures = new InjectedFailures<SecretStoreMethod>();

  /**
   * @param now the store's clock: a new version's CreatedDate (give it the test's FixedClock so that claims
   * age with the clock the rotation reads).
   */
  constructor(
    readonly secrets: Map<string, StoredSecret> = new Map(),
    readonly now: () => Date = () => new Date(),
  ) {}

  /** A new adapter over the same state: no call log, no injected failures, no interceptor. */
  reopen(): InMemorySecretStore {
    return new InMemorySecretStore(this.secrets, this.now);
  }

  seed(seed: SeedSecret): StoredSecret {
    const secret: StoredSecret = {
      arn: seed.arn,
      name: seed.name,
      tags: { ...seed.tags },
      versions: seed.versions.map((v) => ({
        versionId: v.versionId,
        value: typeof v.value === 'string' ? SecretValue.of(v.value) : v.value,
        stages: [...v.stages],
        createdAt: v.createdAt ?? this.now().toISOString(),
      })),
      externalRotationMetadata:
        seed.externalRotationMetadata === undefined ? undefined : { ...seed.externalRotationMetadata },
      nativeRotation:
        seed.nativeRotation === undefined
          ? { enabled: false, lambdaArn: undefined }
          : { ...seed.nativeRotation },
      type: seed.type,
    };
    this.secrets.set(secret.arn, secret);
    return secret;
  }

  /** Makes calls of `method` fail, from its `nth` call on (1-based), `times` times in a row. */
  failOn(method: SecretStoreMethod, error: Error, options: FailureOptions = {}): void {
    this.#failures.failOn(method, error, options);
  }

  secret(secretId: string): StoredSecret {
    const found = this.#find(secretId);
    if (found === undefined) throw new Error(`no secret ${secretId} in the fake store`);
    return found;
  }

  /** The version carrying `stage`, if any. */
  versionWith(secretId: string, stage: VersionStage): StoredVersion | undefined {
    return this.secret(secretId).versions.find((v) => v.stages.includes(stage));
  }

  /** The plain value carrying `stage`, parsed as JSON. */
  jsonAt(secretId: string, stage: VersionStage): Record<string, unknown> | undefined {
    const version = this.versionWith(secretId, stage);
    return version?.value === undefined
      ? undefined
      : (JSON.parse(version.value.reveal()) as Record<string, unknown>);
  }

  /**
   * What RotateSecret does before it invokes the rotation function: turns native rotation on (with `lambdaArn`,
   * or the function already configured) and registers version `token`, labelled AWSPENDING, with no value yet
   * (AWS refuses while another version is AWSPENDING, so this does too).
   */
  registerRotation(secretId: string, token: string, lambdaArn?: string): void {
    const s = this.secret(secretId);
    s.nativeRotation = { enabled: true, lambdaArn: lambdaArn ?? s.nativeRotation.lambdaArn };
    if (s.versions.some((v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'))) {
      throw new Error('RotateSecret: a previous rotation is not complete');
    }
    for (const v of s.versions) v.stages = v.stages.filter((stage) => stage !== 'AWSPENDING');
    s.versions.push({
      versionId: token,
      value: undefined,
      stages: ['AWSPENDING'],
      createdAt: this.now().toISOString(),
    });
  }

  /** Labels by version, for comparing whole states. */
  stagesOf(secretId: string): Record<string, string[]> {
    const stages: Record<string, string[]> = {};
    for (const v of this.secret(secretId).versions) stages[v.versionId] = [...v.stages].sort();
    return stages;
  }

  async describe(secretId: string): Promise<SecretDescription> {
    return this.#call({ method: 'describe', secretId }, () => {
      const s = this.#require(secretId);
      return {
        arn: s.arn,
        name: s.name,
        tags: { ...s.tags },
        versions: s.versions
          .filter((v) => v.stages.length > 0)
          .map((v) => ({ versionId: v.versionId, stages: [...v.stages] })),
        externalRotationMetadata:
          s.externalRotationMetadata === undefined ? undefined : { ...s.externalRotationMetadata },
        nativeRotation: { ...s.nativeRotation },
        type: s.type,
      };
    });
  }

  async listVersions(secretArn: string): Promise<ListedVersion[]> {
    return this.#call({ method: 'listVersions', secretId: secretArn }, () =>
      this.#require(secretArn).versions.map((v) => ({
        versionId: v.versionId,
        stages: [...v.stages],
        createdAt: v.createdAt,
      })),
    );
  }

  async putVersion(
    secretArn: string,
    versionId: string,
    value: SecretValue,
    stages: readonly string[],
  ): Promise<void> {
    return this.#call({ method: 'putVersion', secretId: secretArn, versionId }, () => {
      const s = this.#require(secretArn);
      const existing = s.versions.find((v) => v.versionId === versionId);
      if (existing !== undefined && existing.value !== undefined) {
        // A ClientRequestToken already used: ignored for the same value (labels stay), refused otherwise.
        if (existing.value.equals(value)) return;
        throw new SecretVersionExistsError(versionId, s.name);
      }
      let target = existing;
      if (target === undefined) {
        target = { versionId, value, stages: [], createdAt: this.now().toISOString() };
        s.versions.push(target);
      } else {
        target.value = value; // RotateSecret's placeholder: the one version a put may fill, once
      }
      for (const stage of stages) this.#attach(s, stage, target);
    });
  }

  async moveStage(
    secretArn: string,
    stage: string,
    toVersionId: string,
    fromVersionId: string | undefined,
  ): Promise<void> {
    return this.#call(
      {
        method: 'moveStage',
        secretId: secretArn,
        versionId: toVersionId,
        stage,
        ...(fromVersionId === undefined ? {} : { fromVersionId }),
      },
      () => {
        const s = this.#require(secretArn);
        const target = s.versions.find((v) => v.versionId === toVersionId);
        if (target === undefined) {
          throw new SecretStoreError(
            'SECRET_NOT_FOUND',
            `Secret ${s.name} has no version ${toVersionId}`,
            false,
          );
        }
        const holder = s.versions.find((v) => v.stages.includes(stage));
        // AWS: InvalidParameterException for a RemoveFromVersionId that does not hold the label, and for a
        // move without one of a label another version holds.
        if (fromVersionId === undefined) {
          if (holder === target) return;
          if (holder !== undefined) throw new StageMovedError(stage, fromVersionId, s.name);
        } else if (holder?.versionId !== fromVersionId) {
          throw new StageMovedError(stage, fromVersionId, s.name);
        }
        this.#attach(s, stage, target);
      },
    );
  }

  async getValue(secretArn: string, version: VersionRef): Promise<SecretValue> {
    const call: StoreCall =
      'versionId' in version
        ? { method: 'getValue', secretId: secretArn, versionId: version.versionId }
        : { method: 'getValue', secretId: secretArn, stage: version.stage };
    return this.#call(call, () => {
      const s = this.#require(secretArn);
      const found =
        'versionId' in version
          ? s.versions.find((v) => v.versionId === version.versionId)
          : s.versions.find((v) => v.stages.includes(version.stage));
      if (found?.value === undefined) {
        throw new SecretStoreError('SECRET_NOT_FOUND', `Secret ${s.name} has no such version`, false);
      }
      return found.value;
    });
  }

  /** Puts `stage` on `target`, taking it from its holder; a moved AWSCURRENT leaves AWSPREVIOUS there. */
  #attach(s: StoredSecret, stage: string, target: StoredVersion): void {
    const holder = s.versions.find((v) => v.stages.includes(stage));
    if (holder === target) return;
    if (holder !== undefined) holder.stages = holder.stages.filter((l) => l !== stage);
    if (stage === 'AWSCURRENT' && holder !== undefined) {
      for (const v of s.versions) v.stages = v.stages.filter((l) => l !== 'AWSPREVIOUS');
      holder.stages = [...holder.stages, 'AWSPREVIOUS'];
    }
    target.stages = [...target.stages, stage];
  }

  #find(secretId: string): StoredSecret | undefined {
    return this.secrets.get(secretId) ?? [...this.secrets.values()].find((s) => s.name === secretId);
  }

  #require(secretId: string): StoredSecret {
    const found = this.#find(secretId);
    if (found === undefined) {
      throw new SecretStoreError(
        'SECRET_NOT_FOUND',
        `Secrets Manager can't find the specified secret ${secretId}`,
        false,
      );
    }
    return found;
  }

  #call<T>(call: StoreCall, effect: () => T): T {
    this.calls.push(call);
    return this.#failures.run(call.method, `store.${call.method}`, this.interceptor, effect);
  }

  /** As ListSecrets filters: tag key and tag value match independently; no secret here is scheduled for deletion. */
  async listManagedSecrets(options: { readonly namePrefix?: string } = {}): Promise<ListedSecret[]> {
    return this.#call({ method: 'listManagedSecrets', secretId: options.namePrefix ?? '' }, () =>
      [...this.secrets.values()]
        .filter(
          (s) =>
            'atlas-rotator:managed' in s.tags &&
            Object.values(s.tags).includes('true') &&
            (options.namePrefix === undefined || s.name.startsWith(options.namePrefix)),
        )
        .map((s) => ({ arn: s.arn, name: s.name, tags: { ...s.tags } })),
    );
  }
}
