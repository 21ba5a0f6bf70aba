import { parseAdminBinding, requireAdminBinding } from '../domain/admin-binding.js';
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
  AtlasSecretLimitError,
  InvalidInputError,
  RotationConflictError,
  RotationInProgressError,
  RotationRolledBackError,
  RotationTooSoonError,
  RotatorError,
  SecretIdentityChangedError,
  SecretNotManagedError,
  VerificationFailedError,
} from '../domain/errors.js';
import type { AtlasSecretId, RotationToken } from '../domain/identifiers.js';
import { checkIdentityPin, pinCandidates } from '../domain/identity-pin.js';
import {
  type AtlasSecretInfo,
  type ClaimFact,
  MIN_SECRET_HOURS,
  maskMatches,
  placeCredential,
  planRoom,
} from '../domain/room-plan.js';
import type { RotationStage } from '../domain/rotation.js';
import { checkMinInterval } from '../domain/rotation-interval.js';
import {
  isAllowedAdminSecret,
  isManaged,
  type RotationMetadata,
  resolveOrigin,
  rotationMetadataFrom,
} from '../domain/rotation-metadata.js';
import type {
  RotationCompleted,
  RotationFailed,
  RotationInProgress,
  RotationStepOutcome,
} from '../domain/rotation-outcome.js';
import {
  attemptState,
  claimedCredentialId,
  contentOf,
  credentialVersionId,
  isBookkeepingVersion,
  latestAttempt,
  type NextStep,
  nextStep,
  openClaims,
  pendingVersion,
  type SecretView,
  type TombstoneReason,
  undoVersionId,
  type VersionContent,
  versionOf,
} from '../domain/rotation-protocol.js';
import type { SecretValue } from '../domain/secret-value.js';
import { AttemptClaims } from './attempt-claims.js';
import {
  AtlasApiError,
  SecretStoreError,
  SecretVersionExistsError,
  StageMovedError,
} from './infrastructure-errors.js';
import type { ActingCredential, AtlasServiceAccounts, AtlasTarget } from './ports/atlas-service-accounts.js';
import type { Clock } from './ports/clock.js';
import type { IdGenerator } from './ports/id-generator.js';
import type { Logger } from './ports/logger.js';
import type { ListedVersion, SecretDescription, SecretStore } from './ports/secret-store.js';

export interface RotateSecretSettings {
  /** Requested lifetime of a new Atlas secret, 8..8766 hours; clamped to the org's maximum when Atlas refuses it. */
  readonly secretExpiresAfterHours: number;
  /** ARNs (or prefixes ending in `*`) of admin secrets that may be used in admin-assisted mode. */
  readonly adminSecretAllowList: readonly string[];
  /** Whether an Atlas secret that belongs to no version may be deleted to make room. */
  readonly deleteUnknownSecrets: boolean;
  /** Least time between completed rotations of one secret (ROTATION_MIN_INTERVAL_MINUTES); 0: no limit. */
  readonly minIntervalMs: number;
  /** How long an open claim (no credential version yet) is taken to belong to a live run (ROTATION_LEASE_SECONDS). */
  readonly leaseMs: number;
  /** Waits between verification attempts while Atlas still answers `invalid_client` for a new secret. */
  readonly verifyRetryDelaysMs: readonly number[];
  /** Clock skew allowed between Secrets Manager and Atlas when telling which claim may have created a secret. */
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
  /** The rotation's token: the first attempt's VersionId; the same token resumes the same rotation. */
  readonly token: RotationToken;
  /**
   * Stop once the rotation has reached this point (Secrets Manager's rotation-function steps: createSecret
   * stops after `pending-stored`, testSecret after `verified`). Absent: run to completion.
   */
  readonly stopAfter?: 'pending-stored' | 'verified';
  /**
   * Who asks: a request (worker, Lambda, CLI) — refused with ROTATION_CONFLICT when Secrets Manager's native
   * rotation owns the secret — or the rotation function Secrets Manager invokes, which checks the native entry
   * conditions instead (rotation enabled, the token a version of the secret). Default `request`.
   */
  readonly entry?: 'request' | 'rotation-function';
}

/** AWS rotates a managed external secret itself (facts: Secrets Manager managed external secrets). */
const MANAGED_EXTERNAL_TYPE = 'MongoDBAtlasServiceAccount';
/** Versions read at a time while looking for the identity pin (only when AWSCURRENT is not atlas-rotator's). */
const PIN_READ_BATCH = 10;
/** How often one run reads again after a fence, an adoption or a lost swap before it gives way. */
const MAX_ROUNDS = 5;

/** Mutable context of one run, so that a failure can say how far it got. */
interface Run {
  stage: RotationStage;
  readonly token: RotationToken;
  readonly stopAfter: RotateSecretCommand['stopAfter'];
  readonly entry: 'request' | 'rotation-function';
  readonly startedAt: string;
  secretArn: string | undefined;
}

/** Everything one read of the secret gave (ADR 0007 step 1). */
interface SecretRead {
  readonly description: SecretDescription;
  readonly metadata: RotationMetadata;
  readonly versions: readonly ListedVersion[];
  readonly view: SecretView;
  /** Values read, by VersionId (undefined: RotateSecret's placeholder). */
  readonly values: ReadonlyMap<string, SecretValue | undefined>;
  readonly currentVersionId: string;
  readonly currentValue: SecretValue;
  readonly current: AtlasCredential;
  readonly previous: AtlasCredential | undefined;
  readonly admin: AdminCredential | undefined;
  readonly target: AtlasTarget;
}

/** The result of a verification: proven, refused for good, or not known yet (retryable). */
type Verification = { readonly ok: true } | { readonly ok: false; readonly failure: VerificationFailedError };

/**
 * Rotates one managed secret by the protocol of ADR 0007: the domain names the next step from what the secret's
 * versions say, and each step here is one unit whose safety rests on the store's compare-and-swap (a VersionId is
 * written once; AWSCURRENT moves only from the version it was read on), never on timing.
 */
export class RotateSecret {
  private readonly claims: AttemptClaims;

  constructor(
    private readonly store: SecretStore,
    private readonly atlas: AtlasServiceAccounts,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: RotateSecretSettings,
    private readonly ids: IdGenerator,
  ) {
    this.claims = new AttemptClaims(store, ids, logger);
  }

  execute(
    command: RotateSecretCommand & { readonly stopAfter?: undefined },
  ): Promise<RotationCompleted | RotationFailed>;
  execute(command: RotateSecretCommand): Promise<RotationStepOutcome>;
  async execute(command: RotateSecretCommand): Promise<RotationStepOutcome> {
    const run: Run = {
      stage: 'read-secret',
      token: command.token,
      stopAfter: command.stopAfter,
      entry: command.entry ?? 'request',
      startedAt: this.clock.now().toISOString(),
      secretArn: undefined,
    };
    try {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        run.stage = 'read-secret';
        const read = await this.read(command.secretId, run);
        const step = nextStep(
          read.view,
          run.token,
          (text) => this.ids.digestId(text),
          read.currentValue,
          (id) => read.values.get(id),
        );
        this.intervalGuard(step, read);
        this.logger.debug('rotation next step', {
          rotationId: run.token,
          secretArn: read.description.arn,
          step: step.kind,
        });
        const outcome = await this.perform(step, read, run);
        if (outcome !== 'again') return outcome;
      }
      throw new RotationInProgressError(
        command.secretId,
        command.token,
        'now: other runs keep changing the secret',
      );
    } catch (error) {
      return this.failed(command, run, error);
    }
  }

  private async perform(step: NextStep, read: SecretRead, run: Run): Promise<RotationStepOutcome | 'again'> {
    const name = read.description.name;
    switch (step.kind) {
      case 'already-completed': {
        const atlasSecretId = this.credentialContent(read, step.credentialId);
        const replaced = this.credentialOrUndefined(read.values.get(step.credentialId));
        return this.completed(
          read,
          run,
          replaced ?? read.current,
          atlasSecretId,
          replaced?.atlasSecretExpiresAt,
          [],
          true,
        );
      }
      case 'rolled-back':
        throw new RotationRolledBackError(run.token);
      case 'wait':
        throw new RotationInProgressError(name, step.credentialId, step.until);
      case 'fence': {
        this.logger.warn('fencing a stale rotation attempt', {
          secretArn: read.description.arn,
          rotationId: run.token,
          fencedVersionId: step.credentialId,
        });
        await this.claims.close(read.description.arn, step.credentialId, {
          token: run.token,
          attempt: 0,
          reason: 'fenced',
        });
        return 'again';
      }
      case 'finish-rollback': {
        run.stage = 'rollback';
        await this.finishRollback(read, step.undoId, step.credentialId);
        return 'again';
      }
      case 'adopt': {
        this.logger.warn('finishing another rotation whose credential is pending', {
          secretArn: read.description.arn,
          rotationId: run.token,
          pendingVersionId: step.credentialId,
        });
        try {
          await this.verifyPending(read, run, step.credentialId, true);
        } catch (error) {
          // Rolled back (by this run or another): the way is free. Anything else stops this run too.
          if (!(error instanceof VerificationFailedError) && !(error instanceof RotationRolledBackError)) {
            throw error;
          }
        }
        return 'again';
      }
      case 'finish':
        return this.finish(read, run, step.credentialId);
      case 'verify':
        return this.verifyPending(read, run, step.credentialId, false);
      case 'start':
        return this.attempt(read, run, step.attempt, step.credentialId);
    }
  }

  // ---- step 1: read ------------------------------------------------------------------------------------------

  private async read(secretId: string, run: Run): Promise<SecretRead> {
    const [described, listed, currentValue, previousValue] = await Promise.allSettled([
      this.store.describe(secretId),
      this.store.listVersions(secretId),
      this.store.getValue(secretId, { stage: 'AWSCURRENT' }),
      this.store.getValue(secretId, { stage: 'AWSPREVIOUS' }),
    ]);
    if (described.status === 'rejected') throw described.reason;
    const description = described.value;
    run.secretArn = description.arn;
    if (!isManaged(description.tags)) throw new SecretNotManagedError(description.name);
    this.guard(description, run);
    if (listed.status === 'rejected') throw listed.reason;
    if (currentValue.status === 'rejected') throw currentValue.reason;
    const versions = listed.value;
    const metadata = rotationMetadataFrom(description.tags, description.externalRotationMetadata);
    const currentVersion = versions.find((v) => v.stages.includes('AWSCURRENT'));
    if (currentVersion === undefined) {
      throw new SecretStoreError(
        'SECRET_STORE_INVALID_REQUEST',
        `Secret ${description.name} has no AWSCURRENT version`,
        false,
      );
    }
    const values = new Map<string, SecretValue | undefined>([[currentVersion.versionId, currentValue.value]]);
    const previousVersion = versions.find((v) => v.stages.includes('AWSPREVIOUS'));
    if (previousValue.status === 'fulfilled' && previousVersion !== undefined) {
      values.set(previousVersion.versionId, previousValue.value);
    } else if (
      previousValue.status === 'rejected' &&
      !(previousValue.reason instanceof RotatorError && !previousValue.reason.retryable)
    ) {
      throw previousValue.reason;
    }
    if (run.entry === 'rotation-function') this.nativeEntryGuard(description, versions, run);

    // The contents the domain needs beyond AWSCURRENT's: this token's latest credential version, and the
    // AWSPENDING version not on AWSCURRENT (a placeholder, another run's credential, or an undo copy).
    const digest = (text: string) => this.ids.digestId(text);
    const listedView = { versions, contents: new Map(), nowMs: 0, leaseMs: 0 };
    const ownId = credentialVersionId(run.token, latestAttempt(listedView, run.token, digest), digest);
    const wanted = [ownId, pendingVersion(listedView)?.versionId].filter(
      (id): id is string => id !== undefined && !values.has(id) && versions.some((v) => v.versionId === id),
    );
    await Promise.all(
      [...new Set(wanted)].map(async (id) =>
        values.set(id, await this.valueOrPlaceholder(description.arn, id)),
      ),
    );
    const contents = new Map<string, VersionContent>();
    for (const [id, value] of values) contents.set(id, contentOf(value));
    const view: SecretView = {
      versions,
      contents,
      nowMs: this.clock.now().getTime(),
      leaseMs: this.settings.leaseMs,
    };
    const current = parseCredential(currentValue.value);
    const previous = this.credentialOrUndefined(
      previousVersion === undefined ? undefined : values.get(previousVersion.versionId),
    );
    if (
      metadata.adminSecretArn !== undefined &&
      !isAllowedAdminSecret(metadata.adminSecretArn, this.settings.adminSecretAllowList)
    ) {
      throw new AdminSecretNotAllowedError(metadata.adminSecretArn);
    }
    const admin =
      metadata.adminSecretArn === undefined
        ? undefined
        : await this.boundAdmin(metadata.adminSecretArn, description.arn);
    await this.identityGuard(description, versions, values, current);
    const target: AtlasTarget = {
      baseUrl: resolveOrigin(metadata, this.settings.origins),
      flavor: metadata.apiFlavor,
      orgId: current.orgId,
      projectId: current.projectId,
      clientId: current.clientId,
      apiVersion: metadata.apiVersion,
    };
    return {
      description,
      metadata,
      versions,
      view,
      values,
      currentVersionId: currentVersion.versionId,
      currentValue: currentValue.value,
      current,
      previous,
      admin,
      target,
    };
  }

  /** The admin credential, once its own secret's `serves` covers the managed secret (before it is used). */
  private async boundAdmin(adminArn: string, managedArn: string): Promise<AdminCredential> {
    const value = await this.store.getValue(adminArn, { stage: 'AWSCURRENT' });
    requireAdminBinding(parseAdminBinding(value), adminArn, managedArn);
    return parseAdminCredential(value);
  }

  /** A hand-written AWSCURRENT naming another account than atlas-rotator's last value: refused, nothing written. */
  private async identityGuard(
    description: SecretDescription,
    versions: readonly ListedVersion[],
    known: ReadonlyMap<string, SecretValue | undefined>,
    current: AtlasCredential,
  ): Promise<void> {
    const candidates = pinCandidates(versions, current);
    const values = new Map(known);
    for (let i = 0; i < candidates.length; i += PIN_READ_BATCH) {
      const batch = candidates.slice(i, i + PIN_READ_BATCH);
      await Promise.all(
        batch
          .filter((v) => !values.has(v.versionId))
          .map(async (v) =>
            values.set(v.versionId, await this.valueOrPlaceholder(description.arn, v.versionId)),
          ),
      );
      const read = candidates.slice(0, i + PIN_READ_BATCH).map((v) => ({
        versionId: v.versionId,
        credential: this.credentialOrUndefined(values.get(v.versionId)),
      }));
      const check = checkIdentityPin(current, read);
      if (!check.ok)
        throw new SecretIdentityChangedError(description.name, check.changed, check.pinnedVersionId);
      if (check.pinnedVersionId !== undefined) return;
    }
  }

  /** A new rotation inside ROTATION_MIN_INTERVAL_MINUTES of the last completed one is refused (it says when). */
  private intervalGuard(step: NextStep, read: SecretRead): void {
    const check = checkMinInterval(step, read.view, this.settings.minIntervalMs);
    if (!check.ok)
      throw new RotationTooSoonError(read.description.name, check.lastCompletedAt, check.notBefore);
  }

  /** Two rotators on one secret would fight: refused before anything is written. */
  private guard(description: SecretDescription, run: Run): void {
    if (description.type === MANAGED_EXTERNAL_TYPE) {
      throw new RotationConflictError(description.name, 'AWS itself (a managed external secret)');
    }
    if (run.entry === 'request' && description.nativeRotation.enabled) {
      throw new RotationConflictError(
        description.name,
        `Secrets Manager's native rotation with ${description.nativeRotation.lambdaArn ?? 'its rotation function'}; ` +
          'request an on-demand rotation with `aws secretsmanager rotate-secret`',
      );
    }
  }

  /** The entry checks of AWS's rotation-function templates: rotation enabled, the token a version of the secret. */
  private nativeEntryGuard(
    description: SecretDescription,
    versions: readonly ListedVersion[],
    run: Run,
  ): void {
    if (!description.nativeRotation.enabled) {
      throw new InvalidInputError(
        'SecretId',
        `names secret ${description.name}, which is not enabled for rotation`,
      );
    }
    if (!versions.some((v) => v.versionId === run.token)) {
      throw new InvalidInputError('ClientRequestToken', 'is not a version of the secret');
    }
  }

  private async valueOrPlaceholder(arn: string, versionId: string): Promise<SecretValue | undefined> {
    try {
      return await this.store.getValue(arn, { versionId });
    } catch (error) {
      // The one listed version without a value is RotateSecret's placeholder.
      if (error instanceof SecretStoreError && error.code === 'SECRET_NOT_FOUND') return undefined;
      throw error;
    }
  }

  private credentialOrUndefined(value: SecretValue | undefined): AtlasCredential | undefined {
    if (value === undefined || contentOf(value).kind !== 'credential') return undefined;
    try {
      return parseCredential(value);
    } catch (error) {
      if (error instanceof RotatorError && !error.retryable) return undefined;
      throw error;
    }
  }

  private credentialContent(read: SecretRead, credentialId: string): AtlasSecretId {
    const content = read.view.contents.get(credentialId);
    if (content?.kind !== 'credential' || content.atlasSecretId === undefined) {
      throw new InvalidInputError(
        'requestId',
        'names a version of the secret that atlas-rotator did not create',
      );
    }
    return content.atlasSecretId;
  }

  // ---- steps 3-8: a new attempt ----------------------------------------------------------------------------

  private async attempt(
    read: SecretRead,
    run: Run,
    attempt: number,
    credentialId: string,
  ): Promise<RotationStepOutcome> {
    const arn = read.description.arn;
    const acting = read.admin ?? read.current;
    const release = (reason: TombstoneReason) =>
      this.claims.release(arn, credentialId, { token: run.token, attempt, reason });

    // Step 3: claim, in parallel with the token the calls that follow need.
    run.stage = 'make-room';
    const provenAt = this.clock.now().getTime();
    const [claimed, minted] = await Promise.allSettled([
      this.claims.claim(read.description, run.token, attempt, credentialId, read.currentVersionId),
      read.admin === undefined
        ? this.step(run, 'make-room', () => this.atlas.proveCredential(read.target, read.current))
        : Promise.resolve(),
    ]);
    if (claimed.status === 'rejected') {
      if (!(claimed.reason instanceof RotationInProgressError)) await release('nothing-created');
      throw claimed.reason;
    }
    let created: Awaited<ReturnType<AtlasServiceAccounts['createSecret']>> | undefined;
    let oldSecretId: AtlasSecretId | undefined;
    try {
      if (minted.status === 'rejected') throw minted.reason;
      // Step 4: make room.
      run.stage = 'make-room';
      oldSecretId = await this.makeRoom(
        read,
        run,
        acting,
        credentialId,
        read.admin === undefined ? provenAt : undefined,
      );
      // Step 5: create (never retried).
      run.stage = 'create';
      created = await this.step(run, 'create', () => this.createSecret(read.target, acting));
    } catch (error) {
      const refused =
        run.stage !== 'create' ||
        (error instanceof AtlasApiError &&
          error.atlasStatus !== undefined &&
          error.atlasStatus >= 400 &&
          error.atlasStatus < 500);
      await release(refused ? 'nothing-created' : 'maybe-created');
      if (refused && run.stage === 'create')
        throw await this.refusedBecauseOfAnotherRun(read, credentialId, error);
      throw error;
    }

    // Step 6: store and verify in parallel.
    const fresh = rotatedCredential(read.current, created);
    const value = serializeCredential(fresh);
    run.stage = 'store-pending';
    const storing = this.storeCredential(arn, credentialId, value, { token: run.token, attempt });
    const verifying =
      run.stopAfter === 'pending-stored' ? Promise.resolve(undefined) : this.verify(run, read.target, fresh);
    const [stored, verified] = await Promise.allSettled([storing, verifying]);
    if (stored.status === 'rejected' && stored.reason instanceof KeepSecret) throw stored.reason;
    if (stored.status === 'rejected' || stored.value !== 'stored') {
      // Not stored: nobody else has this value, so the Atlas secret is ours alone to delete.
      await this.bestEffort('delete the unsaved Atlas secret', run, () =>
        this.atlas.deleteSecret(read.target, created.id, acting),
      );
      this.atlas.forgetTokens(fresh);
      if (stored.status === 'fulfilled' && stored.value === 'fenced') {
        throw new RotationInProgressError(read.description.name, run.token, 'now (this attempt was fenced)');
      }
      throw stored.status === 'rejected' ? stored.reason : new Error('unreachable');
    }
    if (run.stopAfter === 'pending-stored')
      return this.inProgress(read, run, fresh, created.id, 'pending-stored');
    if (verified.status === 'rejected') {
      run.stage = 'verify';
      throw verified.reason;
    }
    return this.conclude(
      read,
      run,
      credentialId,
      fresh,
      created.id,
      verified.value ?? { ok: true },
      oldSecretId,
    );
  }

  /**
   * Atlas refused the create. When another run claimed or stored an attempt since this run read the secret (two
   * claims made at the same moment), that run took the one free slot: this run gives way, retryably, rather than
   * failing the request for good. Otherwise the refusal stands.
   */
  private async refusedBecauseOfAnotherRun(
    read: SecretRead,
    ownCredentialId: string,
    refusal: unknown,
  ): Promise<unknown> {
    try {
      const versions = await this.store.listVersions(read.description.arn);
      const ids = new Set(versions.map((v) => v.versionId));
      const other =
        versions
          .map((v) => claimedCredentialId(v.versionId))
          .find((id) => id !== undefined && id !== ownCredentialId && !ids.has(id)) ??
        versions.find(
          (v) =>
            v.stages.includes('AWSPENDING') &&
            !v.stages.includes('AWSCURRENT') &&
            v.versionId !== ownCredentialId &&
            !isBookkeepingVersion(v.versionId) &&
            !read.versions.some((r) => r.versionId === v.versionId),
        )?.versionId;
      if (other === undefined) return refusal;
      return new RotationInProgressError(read.description.name, other, 'now (it took the free slot)');
    } catch {
      return refusal;
    }
  }

  /**
   * Makes room for one new secret; resolves AWSCURRENT's Atlas secret (to retire after the promotion). Fences
   * stale claims that may have created a secret in the way, once.
   */
  private async makeRoom(
    read: SecretRead,
    run: Run,
    acting: ActingCredential,
    ownCredentialId: string,
    provenAtMs: number | undefined,
  ): Promise<AtlasSecretId | undefined> {
    const secrets = await this.step(run, 'make-room', () => this.atlas.listSecrets(read.target, acting));
    const [replaced, facts] = await Promise.all([
      this.replacedSecretIds(read, secrets),
      this.claimFacts(read, ownCredentialId, secrets),
    ]);
    let claims = facts;
    for (let round = 0; round < 2; round++) {
      const plan = planRoom({
        secrets,
        nowMs: this.clock.now().getTime(),
        current: read.current,
        previous: read.previous,
        replacedSecretIds: replaced,
        claims,
        skewMs: this.settings.orphanSkewMs,
        currentProvenAtMs: provenAtMs,
        deleteUnknown: this.settings.deleteUnknownSecrets,
      });
      if (plan.ok) {
        await Promise.all(
          plan.value.deletions.map((d) =>
            this.step(run, 'make-room', () => this.atlas.deleteSecret(read.target, d.id, acting), {
              atlasSecretId: d.id,
              reason: d.reason,
            }),
          ),
        );
        return plan.value.currentSecretId;
      }
      const refusal = plan.error;
      if (refusal.kind === 'limit') {
        throw new AtlasSecretLimitError(refusal.blockingSecretIds, refusal.currentKnown);
      }
      if (refusal.kind === 'wait') {
        throw new RotationInProgressError(
          read.description.name,
          refusal.credentialId,
          new Date(Date.parse(refusal.claimedAt) + this.settings.leaseMs).toISOString(),
        );
      }
      for (const id of refusal.credentialIds) {
        const closed = await this.claims.close(read.description.arn, id, {
          token: run.token,
          attempt: 0,
          reason: 'fenced',
        });
        if (closed === 'credential-stored') {
          // That attempt stored its credential after our read: it is pending, not an orphan's creator.
          throw new RotationInProgressError(read.description.name, id, 'now (read again)');
        }
      }
      const fenced = new Set(refusal.credentialIds);
      const closedAt = this.clock.now().toISOString();
      claims = claims.map((c) =>
        fenced.has(c.credentialId) ? { ...c, open: false, fresh: false, closedAt } : c,
      );
    }
    throw new RotationInProgressError(read.description.name, run.token, 'now (read again)');
  }

  /**
   * Claims of other runs, open or closed, with when they were claimed and closed. Whether a closed attempt may
   * have created a secret needs its tombstone's reason: read only when Atlas lists a secret nothing names.
   */
  private async claimFacts(
    read: SecretRead,
    ownCredentialId: string,
    secrets: readonly AtlasSecretInfo[],
  ): Promise<ClaimFact[]> {
    const named = new Set([read.current.atlasSecretId, read.previous?.atlasSecretId]);
    const unnamed = secrets.some((s) => !named.has(s.id));
    const open = new Map(openClaims(read.view).map((c) => [c.credentialId, c]));
    const facts = await Promise.all(
      read.versions.map(async (v): Promise<ClaimFact | undefined> => {
        const credentialId = claimedCredentialId(v.versionId);
        if (credentialId === undefined || credentialId === ownCredentialId) return undefined;
        const o = open.get(credentialId);
        const closing = versionOf(read.view, credentialId);
        if (o !== undefined || closing === undefined) {
          return {
            credentialId,
            claimedAt: v.createdAt,
            open: true,
            fresh: o?.fresh ?? false,
            closedAt: undefined,
            mayHaveCreated: true,
          };
        }
        let content = read.view.contents.get(credentialId);
        if (content === undefined && unnamed) {
          content = contentOf(await this.valueOrPlaceholder(read.description.arn, credentialId));
        }
        const mayHaveCreated =
          content?.kind === 'tombstone' && content.tombstone.reason !== 'nothing-created';
        return {
          credentialId,
          claimedAt: v.createdAt,
          open: false,
          fresh: false,
          closedAt: closing.createdAt,
          mayHaveCreated,
        };
      }),
    );
    return facts.filter((f): f is ClaimFact => f !== undefined);
  }

  /**
   * Atlas secrets of versions that were replaced or rolled back. Read only when Atlas lists a secret that neither
   * AWSCURRENT nor AWSPREVIOUS names: the versions created since it are the ones that may name it.
   */
  private async replacedSecretIds(
    read: SecretRead,
    secrets: readonly AtlasSecretInfo[],
  ): Promise<AtlasSecretId[]> {
    const named = new Set([read.current.atlasSecretId, read.previous?.atlasSecretId]);
    const unnamed = secrets.filter((s) => !named.has(s.id));
    if (unnamed.length === 0) return [];
    const since = Math.min(...unnamed.map((s) => Date.parse(s.createdAt))) - this.settings.orphanSkewMs;
    const candidates = read.versions.filter(
      (v) =>
        !isBookkeepingVersion(v.versionId) &&
        !v.stages.includes('AWSCURRENT') &&
        Date.parse(v.createdAt) >= since &&
        !read.values.has(v.versionId),
    );
    const read2 = await Promise.all(
      candidates
        .slice(-20)
        .map(
          async (v) =>
            [v.versionId, await this.valueOrPlaceholder(read.description.arn, v.versionId)] as const,
        ),
    );
    const ids: AtlasSecretId[] = [];
    for (const [versionId, value] of [...read2, ...read.values]) {
      const version = versionOf(read.view, versionId);
      if (version === undefined || version.stages.includes('AWSCURRENT')) continue;
      const content = contentOf(value);
      if (content.kind !== 'credential' || content.atlasSecretId === undefined) continue;
      const state = attemptState({ ...read.view, contents: new Map([[versionId, content]]) }, versionId);
      if (state.status === 'superseded' || state.status === 'rolled-back') ids.push(content.atlasSecretId);
    }
    return ids.filter((id) => id !== read.current.atlasSecretId);
  }

  /** Stores the credential; `fenced` when someone closed this attempt first. A lost answer is retried once. */
  private async storeCredential(
    arn: string,
    credentialId: string,
    value: SecretValue,
    attempt: { readonly token: RotationToken; readonly attempt: number },
  ): Promise<'stored' | 'fenced'> {
    try {
      await this.store.putVersion(arn, credentialId, value, ['AWSPENDING']);
      return 'stored';
    } catch (error) {
      if (error instanceof SecretVersionExistsError) return 'fenced';
      if (!(error instanceof RotatorError) || !error.retryable) throw error;
    }
    try {
      await this.store.putVersion(arn, credentialId, value, ['AWSPENDING']);
      return 'stored';
    } catch (error) {
      if (error instanceof SecretVersionExistsError) return 'fenced';
      // Still unknown whether it landed. Closing the attempt decides: if the tombstone wins, the credential is
      // not stored (and never will be); if the credential won, it is.
      const closed = await this.claims
        .close(arn, credentialId, { ...attempt, reason: 'maybe-created' })
        .catch(() => undefined);
      if (closed === 'credential-stored') return 'stored';
      if (closed === 'closed') throw error;
      // Neither write answered: the claim stays open and goes stale; the secret stays for that run to find.
      throw new KeepSecret(error);
    }
  }

  // ---- steps 6-8 on a stored credential --------------------------------------------------------------------

  /** Verifies a stored credential (this token's or another run's), then promotes or rolls it back. */
  private async verifyPending(
    read: SecretRead,
    run: Run,
    credentialId: string,
    adopting: boolean,
  ): Promise<RotationStepOutcome> {
    const value = read.values.get(credentialId);
    const fresh = value === undefined ? undefined : parseCredential(value);
    if (fresh?.atlasSecretId === undefined) {
      throw new InvalidInputError(
        'requestId',
        'names a version of the secret that atlas-rotator did not create',
      );
    }
    if (run.stopAfter === 'pending-stored' && !adopting) {
      return this.inProgress(read, run, fresh, fresh.atlasSecretId, 'pending-stored');
    }
    run.stage = 'verify';
    const verification = await this.verify(run, read.target, fresh);
    return this.conclude(
      read,
      run,
      credentialId,
      fresh,
      fresh.atlasSecretId,
      verification,
      undefined,
      adopting,
    );
  }

  /** Promote (write 3) or roll back, then retire. */
  private async conclude(
    read: SecretRead,
    run: Run,
    credentialId: string,
    fresh: AtlasCredential,
    newSecretId: AtlasSecretId,
    verification: Verification,
    oldSecretId: AtlasSecretId | undefined,
    adopting = false,
  ): Promise<RotationStepOutcome> {
    const arn = read.description.arn;
    if (!verification.ok) {
      run.stage = 'rollback';
      const rolledBack = await this.rollback(read, credentialId, fresh, newSecretId);
      if (rolledBack === 'promoted') {
        // Another run promoted it first and may have retired the old secret already.
        return this.retire(read, run, fresh, newSecretId, read.current, oldSecretId, true);
      }
      // Reported where it failed: verification (the rollback went through).
      run.stage = 'verify';
      throw await this.withCurrentExpiry(
        verification.failure,
        read,
        oldSecretId ?? read.current.atlasSecretId,
      );
    }
    if (run.stopAfter === 'verified' && !adopting)
      return this.inProgress(read, run, fresh, newSecretId, 'verified');
    run.stage = 'promote';
    try {
      await this.step(run, 'promote', () =>
        this.store.moveStage(arn, 'AWSCURRENT', credentialId, read.currentVersionId),
      );
    } catch (error) {
      if (!(error instanceof StageMovedError)) throw error;
      // Someone moved AWSCURRENT since it was read: find out who.
      const holder = (await this.store.listVersions(arn)).find((v) => v.stages.includes('AWSCURRENT'));
      if (holder?.versionId === undoVersionId(credentialId)) throw new RotationRolledBackError(run.token);
      if (holder?.versionId !== credentialId) {
        throw new RotationInProgressError(read.description.name, run.token, 'now (AWSCURRENT moved)');
      }
      this.logger.info('another run promoted this rotation first', { secretArn: arn, rotationId: run.token });
      return this.retire(read, run, fresh, newSecretId, read.current, oldSecretId, true);
    }
    return this.retire(read, run, fresh, newSecretId, read.current, oldSecretId);
  }

  /**
   * Rolls an attempt back (ADR 0007 step 7): a copy of AWSCURRENT's value becomes AWSCURRENT by a swap from the
   * version read, which makes "promote the attempt from that version" impossible forever; only then is the
   * attempt's Atlas secret deleted. `promoted` when the attempt won the race instead.
   */
  private async rollback(
    read: SecretRead,
    credentialId: string,
    fresh: AtlasCredential,
    newSecretId: AtlasSecretId,
  ): Promise<'rolled-back' | 'promoted' | 'moved'> {
    const arn = read.description.arn;
    const undoId = undoVersionId(credentialId);
    try {
      await this.store.putVersion(arn, undoId, read.currentValue, ['AWSPENDING']);
    } catch (error) {
      if (!(error instanceof SecretVersionExistsError)) throw error;
      // An undo copy of another AWSCURRENT exists already: that rollback is someone else's to finish.
      return 'moved';
    }
    return this.swapToUndo(read, undoId, credentialId, newSecretId, fresh);
  }

  private async finishRollback(read: SecretRead, undoId: string, credentialId: string): Promise<void> {
    const value =
      read.values.get(credentialId) ?? (await this.valueOrPlaceholder(read.description.arn, credentialId));
    const fresh = this.credentialOrUndefined(value);
    await this.swapToUndo(read, undoId, credentialId, fresh?.atlasSecretId, fresh);
  }

  private async swapToUndo(
    read: SecretRead,
    undoId: string,
    credentialId: string,
    newSecretId: AtlasSecretId | undefined,
    fresh: AtlasCredential | undefined,
  ): Promise<'rolled-back' | 'promoted' | 'moved'> {
    const arn = read.description.arn;
    try {
      await this.store.moveStage(arn, 'AWSCURRENT', undoId, read.currentVersionId);
    } catch (error) {
      if (!(error instanceof StageMovedError)) throw error;
      const holder = (await this.store.listVersions(arn)).find((v) => v.stages.includes('AWSCURRENT'));
      if (holder?.versionId === credentialId) return 'promoted';
      if (holder?.versionId !== undoId) return 'moved';
    }
    // AWSCURRENT is on the copy: the attempt can never become current, its Atlas secret may go.
    if (newSecretId !== undefined) {
      await this.atlas.deleteSecret(read.target, newSecretId, read.admin ?? read.current);
    }
    if (fresh !== undefined) this.atlas.forgetTokens(fresh);
    return 'rolled-back';
  }

  /**
   * Step 8: delete the Atlas secret the promotion replaced (`replaced`'s: known from room-making or its value, or
   * placed by evidence), and revoke this run's tokens.
   */
  private async retire(
    read: SecretRead,
    run: Run,
    fresh: AtlasCredential,
    newSecretId: AtlasSecretId,
    replaced: AtlasCredential | undefined,
    knownOld: AtlasSecretId | undefined,
    replay = false,
  ): Promise<RotationCompleted> {
    run.stage = 'delete-old';
    // Right after a promotion the replaced credential still works and its token is cached: it deletes its own
    // secret while the new credential's token is revoked in parallel. A replay acts as the current credential.
    const acting = read.admin ?? (replay || replaced === undefined ? fresh : replaced);
    let old = knownOld ?? replaced?.atlasSecretId;
    if (old === undefined && replaced !== undefined) {
      // A value atlas-rotator never wrote, not placed before: ask Atlas for evidence.
      const secrets = await this.step(run, 'delete-old', () => this.atlas.listSecrets(read.target, acting));
      const others = secrets.filter((s) => s.id !== newSecretId);
      old = placeCredential(others, replaced, undefined, this.settings.orphanSkewMs);
      if (
        old === undefined &&
        others.length === 1 &&
        !others.some((s) => maskMatches(s, fresh.clientSecret))
      ) {
        old = others[0]?.id;
      }
    }
    const deleted: AtlasSecretId[] = [];
    const deleting =
      old === undefined || old === newSecretId
        ? Promise.resolve(false)
        : this.step(run, 'delete-old', () => this.atlas.deleteSecret(read.target, old, acting), {
            atlasSecretId: old,
          });
    const revoke = async () => this.atlas.releaseTokens(fresh);
    const [deletion] = await Promise.allSettled([
      deleting,
      // The token that deletes must not be revoked under it.
      acting === fresh ? deleting.then(revoke, revoke) : revoke(),
    ]);
    if (deletion.status === 'rejected') throw deletion.reason;
    if (deletion.value && old !== undefined) deleted.push(old);
    if (read.admin === undefined && replaced !== undefined) this.atlas.forgetTokens(replaced);
    return this.completed(read, run, fresh, newSecretId, fresh.atlasSecretExpiresAt, deleted, false);
  }

  /** The token's rotation is current already: retire what it replaced if still there (AWSPREVIOUS's secret). */
  private async finish(read: SecretRead, run: Run, credentialId: string): Promise<RotationStepOutcome> {
    const newSecretId = this.credentialContent(read, credentialId);
    const previous = read.previous;
    if (previous === undefined || previous.clientSecret.equals(read.current.clientSecret)) {
      return this.completed(
        read,
        run,
        read.current,
        newSecretId,
        read.current.atlasSecretExpiresAt,
        [],
        true,
      );
    }
    const outcome = await this.retire(read, run, read.current, newSecretId, previous, undefined, true);
    return { ...outcome, alreadyCompleted: outcome.deletedAtlasSecretIds.length === 0 };
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
   * Mints a token with the new credential, as AWS's managed rotation verifies ("by generating an OAuth token").
   * No API call follows: a 403 there would not mean a bad credential. Rejects only when retrying may help.
   */
  private async verify(run: Run, target: AtlasTarget, fresh: AtlasCredential): Promise<Verification> {
    const delays = this.settings.verifyRetryDelaysMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.step(run, 'verify', () => this.atlas.proveCredential(target, fresh), {
          attempt: attempt + 1,
        });
        return { ok: true };
      } catch (error) {
        if (!(error instanceof AtlasApiError) || error.retryable) throw error;
        const justCreated = error.code === 'ATLAS_INVALID_CLIENT' || error.code === 'ATLAS_UNAUTHORIZED';
        const delay = delays[attempt];
        if (justCreated && delay !== undefined) {
          this.atlas.forgetTokens(fresh);
          await this.clock.sleep(delay);
          continue;
        }
        return {
          ok: false,
          failure: new VerificationFailedError(
            `The new Atlas secret did not work (${error.code}): ${error.message}. It was deleted and AWSCURRENT left holding the credential it held`,
            { cause: error },
          ),
        };
      }
    }
  }

  /**
   * Creating the new secret made Atlas cut every other secret of the account to at most seven days, the current
   * one included, and a rollback cannot undo that: the failure says until when AWSCURRENT works.
   */
  private async withCurrentExpiry(
    failure: VerificationFailedError,
    read: SecretRead,
    currentSecretId: AtlasSecretId | undefined,
  ): Promise<VerificationFailedError> {
    try {
      const secrets = await this.atlas.listSecrets(read.target, read.admin ?? read.current);
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

  private async bestEffort(what: string, run: Run, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.logger.warn(`could not ${what}`, {
        rotationId: run.token,
        secretArn: run.secretArn,
        stage: run.stage,
        errorCode: error instanceof RotatorError ? error.code : 'UNEXPECTED',
      });
    }
  }

  /** Runs one external call and logs it: one line per call, with its duration and outcome. */
  private async step<T>(
    run: Run,
    stage: RotationStage,
    action: () => Promise<T>,
    fields: Readonly<Record<string, string | number>> = {},
  ): Promise<T> {
    const started = this.clock.now().getTime();
    const base = { rotationId: run.token, secretArn: run.secretArn, stage };
    try {
      const result = await action();
      this.logger.info('rotation step', {
        ...base,
        durationMs: this.clock.now().getTime() - started,
        outcome: 'ok',
        ...fields,
      });
      return result;
    } catch (error) {
      this.logger.warn('rotation step', {
        ...base,
        durationMs: this.clock.now().getTime() - started,
        outcome: 'error',
        errorCode: error instanceof RotatorError ? error.code : 'UNEXPECTED',
        retryable: error instanceof RotatorError ? error.retryable : true,
        ...fields,
      });
      throw error;
    }
  }

  private inProgress(
    read: SecretRead,
    run: Run,
    credential: AtlasCredential,
    newSecretId: AtlasSecretId,
    reached: 'pending-stored' | 'verified',
  ): RotationInProgress {
    this.logger.info('rotation paused', { rotationId: run.token, secretArn: read.description.arn, reached });
    return {
      status: 'in-progress',
      rotationId: run.token,
      secretArn: read.description.arn,
      secretName: read.description.name,
      orgId: credential.orgId,
      clientId: credential.clientId,
      newAtlasSecretId: newSecretId,
      reached,
      startedAt: run.startedAt,
    };
  }

  private completed(
    read: SecretRead,
    run: Run,
    credential: AtlasCredential,
    newSecretId: AtlasSecretId,
    newSecretExpiresAt: string | undefined,
    deleted: readonly AtlasSecretId[],
    alreadyCompleted: boolean,
  ): RotationCompleted {
    const outcome: RotationCompleted = {
      status: 'completed',
      rotationId: run.token,
      secretArn: read.description.arn,
      secretName: read.description.name,
      orgId: credential.orgId,
      clientId: credential.clientId,
      mode: read.metadata.mode,
      newAtlasSecretId: newSecretId,
      newSecretExpiresAt,
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

  private failed(command: RotateSecretCommand, run: Run, thrown: unknown): RotationFailed {
    const error = thrown instanceof KeepSecret ? thrown.error : thrown;
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
      rotationId: run.token,
      stage: run.stage,
      errorCode: known ? error.code : 'INTERNAL_ERROR',
      message: known ? error.message : 'An unexpected error occurred; see the logs',
      retryable: known ? error.retryable : true,
      atlasStatus: atlas?.atlasStatus,
      atlasErrorCode: atlas?.atlasErrorCode,
      startedAt: run.startedAt,
      failedAt: this.clock.now().toISOString(),
      ...(error instanceof RotationInProgressError && error.retryAt !== undefined
        ? { retryAt: error.retryAt }
        : {}),
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

/** A store failure after which the new Atlas secret must stay: whether it was stored is not known. */
class KeepSecret extends Error {
  constructor(readonly error: unknown) {
    super('the new Atlas secret is kept: its store may have landed');
  }
}
