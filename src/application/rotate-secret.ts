import {
  type AdminCredential,
  type AtlasCredential,
  parseAdminCredential,
  parseCredential,
  rotatedCredential,
  serializeCredential,
} from '../domain/credential.js';
import {
  AdminSecretNotAllowedError,
  AtlasApiError,
  AtlasSecretLimitError,
  InvalidInputError,
  RotationInProgressError,
  RotationRolledBackError,
  RotatorError,
  SecretNotManagedError,
  SecretStoreError,
  VerificationFailedError,
} from '../domain/errors.js';
import { type AtlasSecretId, parseRotationToken, type RotationToken } from '../domain/identifiers.js';
import { MIN_SECRET_HOURS, planRoom } from '../domain/room-plan.js';
import {
  type FailureReason,
  intentFor,
  intentTagValue,
  leaseDecision,
  leaseTagValue,
  observedState,
  parseLeaseTag,
  type RotationEvent,
  type RotationStage,
  type RotationState,
  transition,
} from '../domain/rotation.js';
import {
  isAllowedAdminSecret,
  isManaged,
  type RotationMetadata,
  resolveOrigin,
  rotationMetadataFrom,
  TAG_CREATE_INTENT,
  TAG_ROTATION,
} from '../domain/rotation-metadata.js';
import type {
  RotationCompleted,
  RotationFailed,
  RotationInProgress,
  RotationOutcome,
  RotationStepOutcome,
} from '../domain/rotation-outcome.js';
import type { SecretValue } from '../domain/secret-value.js';
import type { ActingCredential, AtlasServiceAccounts, AtlasTarget } from './ports/atlas-service-accounts.js';
import type { Clock } from './ports/clock.js';
import type { Logger } from './ports/logger.js';
import type { SecretDescription, SecretStore, SecretVersion } from './ports/secret-store.js';

export interface RotateSecretSettings {
  /** Requested lifetime of a new Atlas secret, 8..8766 hours; clamped to the org's maximum when Atlas refuses it. */
  readonly secretExpiresAfterHours: number;
  /** ARNs (or prefixes ending in `*`) of admin secrets that may be used in admin-assisted mode. */
  readonly adminSecretAllowList: readonly string[];
  /** Whether an Atlas secret that belongs to no version may be deleted to make room. */
  readonly deleteUnknownSecrets: boolean;
  /** How long a rotation's lease protects it from a rotation with another token. */
  readonly leaseMs: number;
  /** Waits between verification attempts while Atlas still answers `invalid_client` for a new secret. */
  readonly verifyRetryDelaysMs: readonly number[];
  /** Clock skew allowed between this host and Atlas when recognising a crashed create's orphan. */
  readonly orphanSkewMs: number;
  /** Where credentials may be sent: the default origin, and the allow-list for origins named by a secret. */
  readonly origins: {
    readonly defaultBaseUrl: string;
    readonly allowedBaseUrls: readonly string[];
    readonly allowInsecureHttp: boolean;
  };
}

export interface RotateSecretCommand {
  /** Secret name or ARN. */
  readonly secretId: string;
  /** The new version's VersionId; the same token resumes the same rotation. */
  readonly token: RotationToken;
  /**
   * Stop once the rotation has reached this point (Secrets Manager's rotation-function steps: createSecret
   * stops after `pending-stored`, testSecret after `verified`). Absent: run to completion.
   */
  readonly stopAfter?: 'pending-stored' | 'verified';
}

/** Atlas answered the create with a refusal (4xx): nothing was created, so nothing can be orphaned. */
function createRefused(run: Run, error: RotatorError): boolean {
  return (
    run.stage === 'create' &&
    error instanceof AtlasApiError &&
    error.atlasStatus !== undefined &&
    error.atlasStatus >= 400 &&
    error.atlasStatus < 500
  );
}

/** No Atlas secret has been created and stored yet: room must still be made for one. */
function beforeCreate(state: RotationState): boolean {
  return state.status === 'requested' || state.status === 'creating';
}

/** Mutable context of one run, so that a failure can say how far it got. */
interface Run {
  stage: RotationStage;
  readonly stopAfter: RotateSecretCommand['stopAfter'];
  readonly startedAt: string;
  secretArn: string | undefined;
  rotationId: string | undefined;
}

/** The token's version as this rotation sees it, and its value when it has one. */
interface TokenVersionRead {
  readonly version: SecretVersion | undefined;
  readonly value: SecretValue | undefined;
}

/** Everything a rotation needs once the secret has been read. */
interface Rotation {
  readonly description: SecretDescription;
  readonly metadata: RotationMetadata;
  readonly token: RotationToken;
  readonly admin: AdminCredential | undefined;
  state: RotationState;
}

/**
 * Rotates one managed secret: make room in Atlas, create the new Atlas secret, store it as AWSPENDING,
 * verify it, promote it to AWSCURRENT and delete the old Atlas secret. Every step is recorded where a
 * crash cannot lose it, so running the same command again converges.
 */
export class RotateSecret {
  constructor(
    private readonly store: SecretStore,
    private readonly atlas: AtlasServiceAccounts,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: RotateSecretSettings,
  ) {}

  execute(command: RotateSecretCommand & { readonly stopAfter?: undefined }): Promise<RotationOutcome>;
  execute(command: RotateSecretCommand): Promise<RotationStepOutcome>;
  async execute(command: RotateSecretCommand): Promise<RotationStepOutcome> {
    const run: Run = {
      stage: 'read-secret',
      stopAfter: command.stopAfter,
      startedAt: this.clock.now().toISOString(),
      secretArn: undefined,
      rotationId: command.token,
    };
    try {
      return await this.rotateRequested(command, run);
    } catch (error) {
      return this.failed(command, run, error);
    }
  }

  private async rotateRequested(
    command: RotateSecretCommand,
    run: Run,
    adopted = false,
  ): Promise<RotationStepOutcome> {
    const description = await this.store.describe(command.secretId);
    run.secretArn = description.arn;
    if (!isManaged(description.tags)) throw new SecretNotManagedError(description.name);
    const metadata = rotationMetadataFrom(description.tags, description.externalRotationMetadata);
    // A token that already names a version is this rotation's own business (finished, rolled back or
    // pending under its lease): another token's lease must not make it run anything. RotateSecret's valueless
    // placeholder is not such a version: nothing of this rotation exists yet, so the lease decides as usual.
    const own = description.versions.some((v) => v.versionId === command.token)
      ? await this.readTokenVersion(description, command.token)
      : undefined;
    if (own?.version !== undefined) {
      return this.rotate(description, metadata, command.token, run, false, own);
    }
    const lease = leaseDecision(
      description.tags[TAG_ROTATION],
      command.token,
      this.clock.now().getTime(),
      this.settings.leaseMs,
    );
    if (lease.kind === 'busy') {
      throw new RotationInProgressError(description.name, lease.otherToken, lease.expiresAt);
    }
    if (lease.kind === 'stale') {
      if (adopted) throw new RotationInProgressError(description.name, lease.otherToken, 'now (stale)');
      // An earlier rotation died holding the lease: finish (or roll back) that one first, so that there is
      // never more than one pending Atlas secret; then this request gets its own rotation.
      this.logger.warn('finishing an abandoned rotation first', {
        rotationId: lease.otherToken,
        requestedRotationId: command.token,
        secretArn: description.arn,
      });
      await this.finishAbandoned(description, metadata, lease.otherToken, run);
      return this.rotateRequested(command, { ...run, stage: 'read-secret', rotationId: command.token }, true);
    }
    return this.rotate(description, metadata, command.token, run, false, own);
  }

  /**
   * Finishes (or rolls back) an abandoned rotation and frees its lease. Rejects only when retrying can help.
   * Works from the description the lease was judged on: nothing has been written since it was read.
   */
  private async finishAbandoned(
    description: SecretDescription,
    metadata: RotationMetadata,
    otherToken: string,
    run: Run,
  ): Promise<void> {
    const abandoned = parseRotationToken(otherToken);
    // RotateSecret's placeholder alone (no value, no intent) means that rotation created nothing.
    const started =
      (description.versions.some((v) => v.versionId === abandoned) &&
        (await this.readTokenVersion(description, abandoned)).version !== undefined) ||
      (await this.unlabelledVersion(description.arn, abandoned)) !== undefined ||
      intentFor(description.tags[TAG_CREATE_INTENT], abandoned) !== undefined;
    if (started) {
      try {
        await this.rotate(description, metadata, abandoned, { ...run, stopAfter: undefined }, true);
      } catch (error) {
        // A clean rollback frees the way. Any other failure is this request's failure: releasing the lease
        // and the intent now could forget an orphaned Atlas secret of that create.
        const rolledBack =
          error instanceof VerificationFailedError || error instanceof RotationRolledBackError;
        if (!rolledBack) throw error;
      }
    }
    // Nothing was created under that lease (it only took it), or it is finished now.
    await this.releaseLease(description.arn, otherToken);
  }

  private async rotate(
    description: SecretDescription,
    metadata: RotationMetadata,
    token: RotationToken,
    run: Run,
    adopting = false,
    read?: TokenVersionRead,
  ): Promise<RotationStepOutcome> {
    run.rotationId = token;
    const arn = description.arn;
    const { version: tokenVersion, value: tokenValue } =
      read ?? (await this.readTokenVersion(description, token));
    const tokenCredential = tokenValue === undefined ? undefined : parseCredential(tokenValue);
    const leaseToken = parseLeaseTag(description.tags[TAG_ROTATION])?.token;
    const observed = observedState(
      {
        token,
        tokenVersionStages: tokenVersion?.stages,
        tokenVersionAtlasSecretId: tokenCredential?.atlasSecretId,
        leaseToken,
        createIntentAt: intentFor(description.tags[TAG_CREATE_INTENT], token)?.at,
      },
      this.rolledBackReason(token),
    );
    if (observed.status === 'already-completed') {
      if (tokenCredential === undefined || observed.newSecretId === undefined) {
        throw new InvalidInputError(
          'requestId',
          'names a version of the secret that atlas-rotator did not create',
        );
      }
      return this.completed(description, metadata, run, tokenCredential, observed.newSecretId, [], true);
    }
    if (observed.status === 'rolled-back') {
      await this.releaseLease(arn, token);
      throw new RotationRolledBackError(token);
    }
    if (observed.status === 'failed' || observed.status === 'completed' || observed.status === 'verified') {
      throw new Error(`unexpected observed state ${observed.status}`);
    }
    if (
      metadata.adminSecretArn !== undefined &&
      !isAllowedAdminSecret(metadata.adminSecretArn, this.settings.adminSecretAllowList)
    ) {
      throw new AdminSecretNotAllowedError(metadata.adminSecretArn);
    }
    const admin =
      metadata.adminSecretArn === undefined
        ? undefined
        : parseAdminCredential(await this.store.getValue(metadata.adminSecretArn, { stage: 'AWSCURRENT' }));
    const rotation: Rotation = { description, metadata, token, admin, state: observed };
    if (!adopting && leaseToken !== token) {
      await this.takeLease(description, token);
    }
    try {
      return await this.advance(rotation, run, tokenCredential);
    } catch (error) {
      // A permanent failure before the create intent frees the secret for the next request at once. Once
      // the intent is recorded the create may have happened (its answer lost): the intent must stay, as it
      // is what lets a resumed rotation find the orphan.
      if (
        error instanceof RotatorError &&
        !error.retryable &&
        (rotation.state.status === 'requested' || createRefused(run, error))
      ) {
        await this.releaseLease(arn, token);
      }
      throw error;
    }
  }

  private async advance(
    rotation: Rotation,
    run: Run,
    storedNewCredential: AtlasCredential | undefined,
  ): Promise<RotationStepOutcome> {
    const arn = rotation.description.arn;
    const current = await this.readCurrent(rotation, storedNewCredential);
    const target: AtlasTarget = {
      baseUrl: resolveOrigin(rotation.metadata, this.settings.origins),
      flavor: rotation.metadata.apiFlavor,
      orgId: current.credential.orgId,
      projectId: current.credential.projectId,
      clientId: current.credential.clientId,
      apiVersion: rotation.metadata.apiVersion,
    };
    let newCredential = storedNewCredential;
    let currentSecretId = current.credential.atlasSecretId;

    if (beforeCreate(rotation.state)) {
      run.stage = 'make-room';
      const acting = rotation.admin ?? current.credential;
      const secrets = await this.step(run, rotation, 'make-room', () =>
        this.atlas.listSecrets(target, acting),
      );
      // Resuming after a crash around the create: whatever appeared since the intent, other than the
      // current credential's secret recorded with it, is the lost create's orphan.
      const intent =
        rotation.state.status === 'creating'
          ? intentFor(rotation.description.tags[TAG_CREATE_INTENT], rotation.token)
          : undefined;
      const intentAt = intent === undefined ? undefined : Date.parse(intent.at);
      const plan = planRoom({
        secrets,
        nowMs: this.clock.now().getTime(),
        currentSecretId: current.credential.atlasSecretId ?? intent?.currentSecretId,
        previousSecretIds: current.previousSecretIds,
        orphansCreatedSince: intentAt === undefined ? undefined : intentAt - this.settings.orphanSkewMs,
        deleteUnknown: this.settings.deleteUnknownSecrets,
      });
      if (!plan.ok) throw new AtlasSecretLimitError(plan.error.blockingSecretIds);
      currentSecretId = plan.value.currentSecretId;
      for (const deletion of plan.value.deletions) {
        await this.step(
          run,
          rotation,
          'make-room',
          () => this.atlas.deleteSecret(target, deletion.id, acting),
          {
            atlasSecretId: deletion.id,
            reason: deletion.reason,
          },
        );
      }

      run.stage = 'create';
      const at = this.clock.now().toISOString();
      await this.store.tag(arn, { [TAG_CREATE_INTENT]: intentTagValue(rotation.token, at, currentSecretId) });
      this.apply(rotation, { type: 'create-intended', at });
      const created = await this.step(run, rotation, 'create', () => this.createSecret(target, acting));
      newCredential = rotatedCredential(current.credential, created);

      run.stage = 'store-pending';
      const pendingValue = serializeCredential(newCredential);
      try {
        await this.step(run, rotation, 'store-pending', () =>
          this.store.putPending(arn, rotation.token, pendingValue),
        );
      } catch (error) {
        // The write may have landed although its answer was lost: then the rotation simply goes on.
        if (!(await this.isStored(arn, rotation.token, pendingValue))) {
          await this.forgetUnsaved(run, target, created.id, acting, arn, rotation.token);
          throw error;
        }
        this.logger.info('the AWSPENDING version was stored although its answer was lost', {
          rotationId: rotation.token,
          secretArn: arn,
        });
      }
      this.apply(rotation, { type: 'pending-stored', newSecretId: created.id });
    }

    if (newCredential === undefined || newCredential.atlasSecretId === undefined) {
      throw new Error('the new credential must be known once it is stored');
    }
    const fresh = newCredential;
    const newSecretId = newCredential.atlasSecretId;

    if (run.stopAfter === 'pending-stored' && rotation.state.status === 'pending-stored') {
      return this.inProgress(rotation, run, fresh, newSecretId);
    }
    if (rotation.state.status === 'pending-stored') {
      run.stage = 'verify';
      const failure = await this.verify(run, rotation, target, fresh);
      if (failure !== undefined) {
        await this.rollback(run, rotation, target, current.credential, fresh, newSecretId);
        throw await this.withCurrentExpiry(
          failure,
          target,
          rotation.admin ?? current.credential,
          currentSecretId,
        );
      }
      this.apply(rotation, { type: 'verified' });
      if (run.stopAfter === 'verified') return this.inProgress(rotation, run, fresh, newSecretId);

      run.stage = 'promote';
      await this.step(run, rotation, 'promote', async () => {
        await this.store.promote(arn, rotation.token, current.versionId);
        await this.store.removeStage(arn, 'AWSPENDING', rotation.token);
      });
      this.apply(rotation, { type: 'promoted' });
    } else if (rotation.state.status === 'promoted') {
      // Resumed after promotion: AWSPENDING may still sit beside AWSCURRENT on the new version.
      await this.store.removeStage(arn, 'AWSPENDING', rotation.token);
    }

    run.stage = 'delete-old';
    const acting = rotation.admin ?? fresh;
    const oldSecretIds = await this.oldSecretIds(
      run,
      rotation,
      target,
      acting,
      current,
      currentSecretId,
      newSecretId,
    );
    const deleted: AtlasSecretId[] = [];
    for (const id of oldSecretIds) {
      const existed = await this.step(
        run,
        rotation,
        'delete-old',
        () => this.atlas.deleteSecret(target, id, acting),
        {
          atlasSecretId: id,
        },
      );
      if (existed) deleted.push(id);
    }
    if (rotation.admin === undefined) this.atlas.forgetTokens(current.credential);
    await this.atlas.releaseTokens(fresh);
    await this.releaseLease(arn, rotation.token);
    this.apply(rotation, { type: 'old-secrets-deleted', deletedSecretIds: deleted });
    return this.completed(rotation.description, rotation.metadata, run, fresh, newSecretId, deleted, false);
  }

  /**
   * The credential before this rotation, the version holding it, and the Atlas secrets of older versions —
   * read only while room is still to be made, the one step that uses them (a resumed or step-wise run past
   * the create need not read AWSPREVIOUS). Once promoted, the old credential is AWSPREVIOUS.
   */
  private async readCurrent(rotation: Rotation, storedNew: AtlasCredential | undefined) {
    const { arn, versions } = rotation.description;
    const promoted = rotation.state.status === 'promoted';
    const currentStage = promoted ? 'AWSPREVIOUS' : 'AWSCURRENT';
    const version = versions.find((v) => v.stages.includes(currentStage) && v.versionId !== rotation.token);
    const previous = beforeCreate(rotation.state)
      ? versions.find((v) => v.stages.includes('AWSPREVIOUS'))
      : undefined;
    if (version === undefined) {
      if (promoted && storedNew !== undefined) {
        return { credential: storedNew, versionId: rotation.token, previousSecretIds: [], hasOld: false };
      }
      throw new SecretStoreError(
        'SECRET_STORE_INVALID_REQUEST',
        `Secret ${rotation.description.name} has no ${currentStage} version`,
        false,
      );
    }
    const credential = parseCredential(await this.store.getValue(arn, { versionId: version.versionId }));
    const previousSecretIds: AtlasSecretId[] = [];
    if (previous !== undefined) {
      const prev = await this.readOptional(arn, previous.versionId);
      if (prev?.atlasSecretId !== undefined && prev.atlasSecretId !== credential.atlasSecretId) {
        previousSecretIds.push(prev.atlasSecretId);
      }
    }
    return { credential, versionId: version.versionId, previousSecretIds, hasOld: true };
  }

  /**
   * The token's version and, when it is labelled, its value. RotateSecret registers the token's version,
   * labelled AWSPENDING, before it invokes the rotation function, and that version has no value until
   * createSecret stores one (GetSecretValue on it: ResourceNotFoundException). Such a placeholder counts as no
   * version at all: the rotation has stored nothing yet, and putPending may fill it.
   */
  private async readTokenVersion(
    description: SecretDescription,
    token: RotationToken,
  ): Promise<TokenVersionRead> {
    const arn = description.arn;
    const listed = description.versions.find((v) => v.versionId === token);
    if (listed === undefined) return { version: await this.unlabelledVersion(arn, token), value: undefined };
    if (listed.stages.length === 0) return { version: listed, value: undefined };
    try {
      return { version: listed, value: await this.store.getValue(arn, { versionId: token }) };
    } catch (error) {
      const placeholder = listed.stages.length === 1 && listed.stages[0] === 'AWSPENDING';
      if (placeholder && error instanceof SecretStoreError && error.code === 'SECRET_NOT_FOUND') {
        return { version: undefined, value: undefined };
      }
      throw error;
    }
  }

  /**
   * DescribeSecret lists labelled versions only, so a rolled-back rotation's version (no labels left) is
   * found by asking for it; without this, the same token would start over and create in Atlas again.
   */
  private async unlabelledVersion(arn: string, token: string) {
    try {
      await this.store.getValue(arn, { versionId: token });
      return { versionId: token, stages: [] };
    } catch (error) {
      if (error instanceof SecretStoreError && error.code === 'SECRET_NOT_FOUND') return undefined;
      throw error;
    }
  }

  private async readOptional(arn: string, versionId: string): Promise<AtlasCredential | undefined> {
    try {
      return parseCredential(await this.store.getValue(arn, { versionId }));
    } catch (error) {
      if (error instanceof RotatorError && !error.retryable) return undefined;
      throw error;
    }
  }

  /** The Atlas secrets the promoted rotation replaces. */
  private async oldSecretIds(
    run: Run,
    rotation: Rotation,
    target: AtlasTarget,
    acting: ActingCredential,
    current: { readonly hasOld: boolean; readonly credential: AtlasCredential },
    knownOld: AtlasSecretId | undefined,
    newSecretId: AtlasSecretId,
  ): Promise<AtlasSecretId[]> {
    if (!current.hasOld) return [];
    if (knownOld !== undefined) return knownOld === newSecretId ? [] : [knownOld];
    // The old credential was never rotated by atlas-rotator and the rotation resumed after promotion:
    // room was made before the create, so the one other live secret is the old credential's.
    const secrets = await this.step(run, rotation, 'delete-old', () =>
      this.atlas.listSecrets(target, acting),
    );
    const others = secrets.filter((s) => s.id !== newSecretId);
    return others.length === 1 && others[0] !== undefined ? [others[0].id] : [];
  }

  private async createSecret(target: AtlasTarget, acting: ActingCredential) {
    const hours = this.settings.secretExpiresAfterHours;
    try {
      return await this.atlas.createSecret(target, acting, hours);
    } catch (error) {
      // A 400 created nothing, so asking again is safe: Atlas refuses lifetimes above the org's maximum.
      if (!(error instanceof AtlasApiError) || error.code !== 'ATLAS_BAD_REQUEST') throw error;
      const max = await this.atlas.maxSecretValidityHours(target, acting);
      if (max === undefined || max >= hours) throw error;
      const clamped = Math.max(MIN_SECRET_HOURS, max);
      this.logger.info('clamping secret lifetime to the org maximum', {
        requestedHours: hours,
        hours: clamped,
      });
      return this.atlas.createSecret(target, acting, clamped);
    }
  }

  /**
   * Mints a token with the new credential, as AWS's managed rotation verifies ("by generating an OAuth
   * token"); undefined when verified. No API call follows: the account may lack the right to read itself
   * (an Organization Member in admin mode) or this address may be off its access list, and a 403 then would
   * not mean a bad credential — a rollback cannot undo the 7-day cut the create already made to AWSCURRENT.
   */
  private async verify(
    run: Run,
    rotation: Rotation,
    target: AtlasTarget,
    fresh: AtlasCredential,
  ): Promise<VerificationFailedError | undefined> {
    const delays = this.settings.verifyRetryDelaysMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.step(run, rotation, 'verify', () => this.atlas.proveCredential(target, fresh), {
          attempt: attempt + 1,
        });
        return undefined;
      } catch (error) {
        if (!(error instanceof AtlasApiError)) throw error;
        if (error.retryable) throw error;
        const justCreated = error.code === 'ATLAS_INVALID_CLIENT' || error.code === 'ATLAS_UNAUTHORIZED';
        const delay = delays[attempt];
        if (justCreated && delay !== undefined) {
          this.atlas.forgetTokens(fresh);
          await this.clock.sleep(delay);
          continue;
        }
        return new VerificationFailedError(
          `The new Atlas secret did not work (${error.code}): ${error.message}. It was deleted and AWSCURRENT left untouched`,
          { cause: error },
        );
      }
    }
  }

  private async rollback(
    run: Run,
    rotation: Rotation,
    target: AtlasTarget,
    current: AtlasCredential,
    fresh: AtlasCredential,
    newSecretId: AtlasSecretId,
  ): Promise<void> {
    run.stage = 'rollback';
    const acting = rotation.admin ?? current;
    const arn = rotation.description.arn;
    await this.step(run, rotation, 'rollback', async () => {
      await this.atlas.deleteSecret(target, newSecretId, acting);
      this.atlas.forgetTokens(fresh);
      await this.store.removeStage(arn, 'AWSPENDING', rotation.token);
    });
    await this.releaseLease(arn, rotation.token);
    this.apply(rotation, { type: 'rolled-back', reason: this.rolledBackReason(rotation.token) });
    run.stage = 'verify';
  }

  /**
   * Creating the new secret made Atlas cut every other secret of the account to at most seven days, the
   * current one included, and a rollback cannot undo that: the failure says until when AWSCURRENT works.
   */
  private async withCurrentExpiry(
    failure: VerificationFailedError,
    target: AtlasTarget,
    acting: ActingCredential,
    currentSecretId: AtlasSecretId | undefined,
  ): Promise<VerificationFailedError> {
    try {
      const secrets = await this.atlas.listSecrets(target, acting);
      const current =
        secrets.find((s) => s.id === currentSecretId) ?? (secrets.length === 1 ? secrets[0] : undefined);
      if (current === undefined) return failure;
      return new VerificationFailedError(
        `${failure.message}. Atlas shortened AWSCURRENT's secret ${current.id} to expire at ${current.expiresAt} ` +
          'when the new one was created: fix the cause and rotate again before then',
        { cause: failure.cause },
      );
    } catch {
      return failure;
    }
  }

  /**
   * Records this rotation on the secret, then reads it back: of two rotations that tag at the same moment,
   * the one that does not read its own token back gives way.
   */
  private async takeLease(description: SecretDescription, token: RotationToken): Promise<void> {
    const startedAt = this.clock.now().toISOString();
    await this.store.tag(description.arn, { [TAG_ROTATION]: leaseTagValue(token, startedAt) });
    const holder = (await this.store.describe(description.arn)).tags[TAG_ROTATION];
    const lease = leaseDecision(holder, token, this.clock.now().getTime(), this.settings.leaseMs);
    if (lease.kind === 'busy' || lease.kind === 'stale') {
      throw new RotationInProgressError(description.name, lease.otherToken, startedAt);
    }
  }

  /**
   * Whether version `token` holds exactly `value` (a write whose answer was lost may have landed). Only a
   * missing version means "not stored"; when the store cannot say, the caller must not assume either.
   */
  private async isStored(arn: string, token: string, value: SecretValue): Promise<boolean> {
    try {
      return (await this.store.getValue(arn, { versionId: token })).equals(value);
    } catch (error) {
      if (error instanceof SecretStoreError && error.code === 'SECRET_NOT_FOUND') return false;
      throw error;
    }
  }

  /**
   * The plain value of a just-created Atlas secret exists nowhere else: free the Atlas slot rather than
   * leave an orphan. Should that fail too, lease and intent stay, so that a resumed rotation deletes it.
   */
  private async forgetUnsaved(
    run: Run,
    target: AtlasTarget,
    secretId: AtlasSecretId,
    acting: ActingCredential,
    arn: string,
    token: RotationToken,
  ): Promise<void> {
    let deleted = false;
    await this.bestEffort('delete the unsaved Atlas secret', run, async () => {
      await this.atlas.deleteSecret(target, secretId, acting);
      deleted = true;
    });
    if (deleted) await this.releaseLease(arn, token);
  }

  private async releaseLease(arn: string, token: string): Promise<void> {
    try {
      await this.store.untag(arn, [TAG_ROTATION, TAG_CREATE_INTENT]);
    } catch (error) {
      this.logger.warn('could not release the rotation lease; it expires by itself', {
        secretArn: arn,
        rotationId: token,
        errorCode: error instanceof RotatorError ? error.code : 'UNEXPECTED',
      });
    }
  }

  private async bestEffort(what: string, run: Run, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.logger.warn(`could not ${what}`, {
        rotationId: run.rotationId,
        secretArn: run.secretArn,
        stage: run.stage,
        errorCode: error instanceof RotatorError ? error.code : 'UNEXPECTED',
      });
    }
  }

  /** Runs one external step and logs it: one line per step, with its duration and outcome. */
  private async step<T>(
    run: Run,
    rotation: Rotation,
    stage: RotationStage,
    action: () => Promise<T>,
    fields: Readonly<Record<string, string | number>> = {},
  ): Promise<T> {
    run.stage = stage;
    const started = this.clock.now().getTime();
    try {
      const result = await action();
      this.logger.info('rotation step', {
        rotationId: rotation.token,
        secretArn: rotation.description.arn,
        stage,
        durationMs: this.clock.now().getTime() - started,
        outcome: 'ok',
        ...fields,
      });
      return result;
    } catch (error) {
      this.logger.warn('rotation step', {
        rotationId: rotation.token,
        secretArn: rotation.description.arn,
        stage,
        durationMs: this.clock.now().getTime() - started,
        outcome: 'error',
        errorCode: error instanceof RotatorError ? error.code : 'UNEXPECTED',
        retryable: error instanceof RotatorError ? error.retryable : true,
        ...fields,
      });
      throw error;
    }
  }

  private apply(rotation: Rotation, event: RotationEvent): void {
    const next = transition(rotation.state, event);
    if (!next.ok) throw new Error(`invalid rotation transition ${next.error.event} from ${next.error.from}`);
    rotation.state = next.value;
  }

  private rolledBackReason(token: string): FailureReason {
    return {
      stage: 'verify',
      code: 'ROTATION_ROLLED_BACK',
      message: `Rotation ${token} was rolled back`,
      retryable: false,
      atlasStatus: undefined,
      atlasErrorCode: undefined,
    };
  }

  private inProgress(
    rotation: Rotation,
    run: Run,
    credential: AtlasCredential,
    newSecretId: AtlasSecretId,
  ): RotationInProgress {
    const reached = rotation.state.status === 'verified' ? 'verified' : 'pending-stored';
    this.logger.info('rotation paused', {
      rotationId: rotation.token,
      secretArn: rotation.description.arn,
      reached,
    });
    return {
      status: 'in-progress',
      rotationId: rotation.token,
      secretArn: rotation.description.arn,
      secretName: rotation.description.name,
      orgId: credential.orgId,
      clientId: credential.clientId,
      newAtlasSecretId: newSecretId,
      reached,
      startedAt: run.startedAt,
    };
  }

  private completed(
    description: SecretDescription,
    metadata: RotationMetadata,
    run: Run,
    credential: AtlasCredential,
    newSecretId: AtlasSecretId,
    deleted: readonly AtlasSecretId[],
    alreadyCompleted: boolean,
  ): RotationCompleted {
    const outcome: RotationCompleted = {
      status: 'completed',
      rotationId: run.rotationId ?? '',
      secretArn: description.arn,
      secretName: description.name,
      orgId: credential.orgId,
      clientId: credential.clientId,
      mode: metadata.mode,
      newAtlasSecretId: newSecretId,
      newSecretExpiresAt: credential.atlasSecretExpiresAt,
      deletedAtlasSecretIds: deleted,
      startedAt: run.startedAt,
      completedAt: this.clock.now().toISOString(),
      alreadyCompleted,
    };
    this.logger.info('rotation completed', {
      rotationId: outcome.rotationId,
      secretArn: outcome.secretArn,
      newAtlasSecretId: newSecretId,
      deletedAtlasSecretIds: deleted,
      alreadyCompleted,
    });
    return outcome;
  }

  private failed(command: RotateSecretCommand, run: Run, error: unknown): RotationFailed {
    const known = error instanceof RotatorError;
    const atlas =
      error instanceof AtlasApiError
        ? error
        : error instanceof VerificationFailedError && error.cause instanceof AtlasApiError
          ? error.cause
          : undefined;
    const outcome: RotationFailed = {
      status: 'failed',
      secretId: command.secretId,
      secretArn: run.secretArn,
      rotationId: run.rotationId,
      stage: run.stage,
      errorCode: known ? error.code : 'INTERNAL_ERROR',
      message: known ? error.message : 'An unexpected error occurred; see the logs',
      retryable: known ? error.retryable : true,
      atlasStatus: atlas?.atlasStatus,
      atlasErrorCode: atlas?.atlasErrorCode,
      startedAt: run.startedAt,
      failedAt: this.clock.now().toISOString(),
    };
    this.logger.error('rotation failed', {
      rotationId: outcome.rotationId,
      secretArn: outcome.secretArn,
      stage: outcome.stage,
      errorCode: outcome.errorCode,
      retryable: outcome.retryable,
      atlasStatus: outcome.atlasStatus,
      atlasErrorCode: outcome.atlasErrorCode,
      errorName: error instanceof Error ? error.name : typeof error,
    });
    return outcome;
  }
}
