import { type AdminBinding, parseAdminBinding, requireAdminBinding } from '../domain/admin-binding.js';
import {
  type AdminCredential,
  type AtlasCredential,
  parseAdminCredential,
  parseCredential,
} from '../domain/credential.js';
import { InvalidConfigError, RotatorError } from '../domain/errors.js';
import {
  type CurrentAtlasSecret,
  currentAtlasSecret,
  hoursToExpiry,
  isRotationDue,
  sweepRequestId,
} from '../domain/expiry-check.js';
import type { RotationToken } from '../domain/identifiers.js';
import { decideRetirement, type RetirementRecord } from '../domain/retirement.js';
import type { AtlasSecretInfo } from '../domain/room-plan.js';
import { oldSecretInUseEvent, oldSecretRetiredEvent } from '../domain/rotation-events.js';
import { isManaged, rotationMetadataFrom } from '../domain/rotation-metadata.js';
import { allowedAdminSecretArn, atlasTargetFor, type OriginPolicy } from './atlas-target.js';
import { requirePinnedIdentity } from './identity-guard.js';
import { AtlasApiError, SecretStoreError } from './infrastructure-errors.js';
import { mapLimited } from './map-limited.js';
import { retireIfDue } from './old-secret-retirement.js';
import type { ActingCredential, AtlasServiceAccounts, AtlasTarget } from './ports/atlas-service-accounts.js';
import type { Clock } from './ports/clock.js';
import type { Logger } from './ports/logger.js';
import type { RotationEventPublisher } from './ports/rotation-event-publisher.js';
import { NO_METRICS, type RotationMetrics } from './ports/rotation-metrics.js';
import type { RotationRequests } from './ports/rotation-requests.js';
import type { ListedSecret, SecretDescription, SecretStore } from './ports/secret-store.js';
import type { RotateSecret } from './rotate-secret.js';

export interface SweepSettings {
  /** A secret whose Atlas secret expires within this many hours (or has expired) is due. */
  readonly rotateBeforeExpiryHours: number;
  /** Secrets looked at (and, with `rotateNow`, rotated) at once. */
  readonly concurrency: number;
  /** ARNs (or prefixes ending in `*`) of admin secrets that may be used in admin-assisted mode. */
  readonly adminSecretAllowList: readonly string[];
  readonly origins: OriginPolicy;
}

export interface SweepCommand {
  /** Rotate due secrets in this process instead of requesting rotations from the worker. */
  readonly rotateNow: boolean;
  /** Look only at secrets whose name starts with this. */
  readonly namePrefix: string | undefined;
}

/** How `rotateNow` rotates: the use case, and the worker's mapping from a request id to a rotation token. */
export interface InProcessRotation {
  readonly rotateSecret: RotateSecret;
  readonly tokenFor: (requestId: string) => RotationToken;
}

/** Why a secret was not checked. `unmanaged` and `gone` are no failure: there is nothing to keep alive. */
export type SkipReason =
  | 'unmanaged'
  | 'gone'
  | 'invalid-value'
  | 'invalid-metadata'
  | 'admin-not-allowed'
  | 'admin-not-bound'
  | 'identity-changed'
  | 'origin-not-allowed'
  | 'atlas-error'
  | 'secret-store-error'
  | 'internal-error';

/** An admin secret as read: what its owner lets it serve, and its credential. */
interface BoundAdmin {
  readonly binding: AdminBinding;
  readonly credential: AdminCredential;
}

interface Named {
  readonly secretArn: string;
  readonly secretName: string;
  /** The retirement of the Atlas secret the last rotation replaced, when AWSCURRENT records one (ADR 0009). */
  readonly oldSecret?: OldSecretEntry;
}

/**
 * What the sweep did about the replaced Atlas secret: `retired` (deleted now; `why`), `gone` (no longer listed:
 * retired before), `in-grace` (until `retireAfter`), `in-use` (a consumer minted with it at `lastUsedAt`, after the
 * promotion: kept until `expiresAt`), `kept` (the record names AWSCURRENT's own secret: never deleted),
 * `retire-failed` (Atlas or the bus failed: the next sweep tries again).
 */
export type OldSecretEntry = {
  readonly oldAtlasSecretId: string;
  readonly retireAfter: string;
} & (
  | { readonly action: 'retired'; readonly why: 'grace-over' | 'now' | 'expired' }
  | { readonly action: 'gone' | 'in-grace' | 'kept' }
  | { readonly action: 'in-use'; readonly lastUsedAt: string; readonly expiresAt: string }
  | {
      readonly action: 'retire-failed';
      readonly errorCode: string;
      readonly message: string;
      readonly retryable: boolean;
    }
);

/** AWSCURRENT's Atlas secret and when Atlas says it expires. */
interface Expiry {
  readonly atlasSecretId: string;
  readonly expiresAt: string;
  readonly hoursToExpiry: number;
  /** Recognised as the account's only (live) secret, the value naming none or a stale one. */
  readonly inferred: boolean;
  /**
   * `atlas`: Atlas's answer. `value`: the stored expiry, only for a self-mode credential Atlas refused
   * (`invalid_client`) whose stored expiry has passed — an expired secret cannot ask Atlas about itself.
   */
  readonly expiryFrom: 'atlas' | 'value';
}

/** A due secret: the request id its rotation goes by, and whether it has expired already. */
interface Due extends Expiry {
  readonly requestId: string;
  readonly expired: boolean;
  /** Set when the rotation may fail: an expired self-mode credential cannot authenticate any more. */
  readonly warning: string | undefined;
}

export type SweepEntry =
  | (Named & Expiry & { readonly action: 'not-due' })
  | (Named & Due & { readonly action: 'requested' })
  | (Named &
      Due & {
        readonly action: 'rotated';
        readonly status: 'completed';
        readonly rotationId: string;
        readonly newAtlasSecretId: string;
        readonly newSecretExpiresAt: string | undefined;
        readonly alreadyCompleted: boolean;
      })
  | (Named &
      Due & {
        readonly action: 'rotation-failed';
        readonly status: 'failed';
        readonly rotationId: string | undefined;
        readonly stage: string;
        readonly errorCode: string;
        readonly message: string;
        readonly retryable: boolean;
        readonly atlasStatus: number | undefined;
        readonly atlasErrorCode: string | undefined;
      })
  | (Named &
      Due & {
        readonly action: 'request-failed';
        readonly errorCode: string;
        readonly message: string;
        readonly retryable: boolean;
      })
  | (Named & {
      readonly action: 'unknown';
      readonly reason: string;
      /** The ids Atlas lists for the account (ids only, never a value). */
      readonly atlasSecretIds: readonly string[];
    })
  | (Named & {
      readonly action: 'skipped';
      readonly reason: SkipReason;
      readonly errorCode: string;
      readonly message: string;
      readonly retryable: boolean;
    });

export type SweepAction = SweepEntry['action'];

export interface SweepSummary {
  readonly secrets: number;
  /** Secrets found due: requested, rotated, or whose request or rotation failed. */
  readonly due: number;
  /** Of those, the ones whose AWSCURRENT has expired already: consumers are failing now. */
  readonly expired: number;
  readonly byAction: Readonly<Record<SweepAction, number>>;
  /** Secrets the sweep could not settle and trying again will not help (a person must act). */
  readonly permanentFailures: number;
  /** Secrets the sweep could not settle for now (throttling, Atlas unavailable, a rotation in progress). */
  readonly retryableFailures: number;
}

/** One sweep's report: plain data without secret material, printed as it is. */
export interface SweepReport {
  readonly mode: 'request' | 'rotate-now';
  readonly rotateBeforeExpiryHours: number;
  readonly namePrefix: string | null;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly durationMs: number;
  readonly secrets: readonly SweepEntry[];
  readonly summary: SweepSummary;
}

/** Rolled-back rotations of one Atlas secret and expiry tried before giving the last id again. */
const MAX_GENERATIONS = 10;

const ACTIONS: readonly SweepAction[] = [
  'requested',
  'rotated',
  'rotation-failed',
  'request-failed',
  'not-due',
  'unknown',
  'skipped',
];

/** Whether an entry is a failure to settle its secret, and whether trying again can help; undefined: settled. */
export function failureOf(entry: SweepEntry): { readonly retryable: boolean } | undefined {
  const own = ownFailureOf(entry);
  const old = entry.oldSecret;
  if (own !== undefined || old?.action !== 'retire-failed') return own;
  return { retryable: old.retryable };
}

function ownFailureOf(entry: SweepEntry): { readonly retryable: boolean } | undefined {
  switch (entry.action) {
    case 'requested':
    case 'rotated':
    case 'not-due':
      return undefined;
    case 'unknown':
      return { retryable: false };
    case 'skipped':
      return entry.reason === 'unmanaged' || entry.reason === 'gone'
        ? undefined
        : { retryable: entry.retryable };
    case 'rotation-failed':
    case 'request-failed':
      return { retryable: entry.retryable };
  }
}

const SKIP_REASONS: Readonly<Record<string, SkipReason>> = {
  SECRET_NOT_MANAGED: 'unmanaged',
  SECRET_NOT_FOUND: 'gone',
  INVALID_SECRET_VALUE: 'invalid-value',
  SECRET_STORE_INVALID_REQUEST: 'invalid-value',
  INVALID_ROTATION_METADATA: 'invalid-metadata',
  ADMIN_SECRET_NOT_ALLOWED: 'admin-not-allowed',
  ADMIN_SECRET_NOT_BOUND: 'admin-not-bound',
  SECRET_IDENTITY_CHANGED: 'identity-changed',
  ATLAS_ORIGIN_NOT_ALLOWED: 'origin-not-allowed',
};

function skipReasonOf(error: RotatorError): SkipReason {
  return (
    SKIP_REASONS[error.code] ??
    (error.code.startsWith('ATLAS_')
      ? 'atlas-error'
      : error.code.startsWith('SECRET_STORE_')
        ? 'secret-store-error'
        : 'internal-error')
  );
}

/**
 * One pass over every managed secret: learns from Atlas when AWSCURRENT's Atlas secret really expires (a
 * failed rotation leaves the stored expiry stale: Atlas cut it to seven days), and for each one due within
 * `rotateBeforeExpiryHours` requests a rotation — or, with `rotateNow`, rotates it in this process. Reads
 * nothing but what a rotation would read, changes nothing but by the rotation it requests.
 */
export class SweepSecrets {
  constructor(
    private readonly store: SecretStore,
    private readonly atlas: AtlasServiceAccounts,
    private readonly requests: RotationRequests | undefined,
    private readonly rotation: InProcessRotation,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: SweepSettings,
    /** Where `Atlas Old Secret Retired` / `Still In Use` go; without one, retirement is still done and reported. */
    private readonly events?: RotationEventPublisher,
    private readonly metrics: RotationMetrics = NO_METRICS,
  ) {}

  /** Rejects only when the secrets cannot be listed (or the queue is not configured); each secret's own failure is in the report. */
  async execute(command: SweepCommand): Promise<SweepReport> {
    if (!command.rotateNow && this.requests === undefined) {
      throw new InvalidConfigError(['ROTATION_QUEUE_URL is required to request rotations (or sweep --now)']);
    }
    const started = this.clock.now();
    const listed = await this.store.listManagedSecrets(
      command.namePrefix === undefined ? {} : { namePrefix: command.namePrefix },
    );
    listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.logger.info('sweep started', {
      secrets: listed.length,
      mode: command.rotateNow ? 'rotate-now' : 'request',
      rotateBeforeExpiryHours: this.settings.rotateBeforeExpiryHours,
      namePrefix: command.namePrefix,
    });
    const admins = new Map<string, Promise<BoundAdmin>>();
    const entries = await mapLimited(listed, this.settings.concurrency, (secret) =>
      this.sweepOne(secret, command, admins),
    );
    const completed = this.clock.now();
    const report: SweepReport = {
      mode: command.rotateNow ? 'rotate-now' : 'request',
      rotateBeforeExpiryHours: this.settings.rotateBeforeExpiryHours,
      namePrefix: command.namePrefix ?? null,
      startedAt: started.toISOString(),
      completedAt: completed.toISOString(),
      durationMs: completed.getTime() - started.getTime(),
      secrets: entries,
      summary: summarise(entries),
    };
    this.metrics.sweepCompleted({ ...report.summary, durationMs: report.durationMs });
    this.logger.info('sweep completed', {
      secrets: report.summary.secrets,
      due: report.summary.due,
      permanentFailures: report.summary.permanentFailures,
      retryableFailures: report.summary.retryableFailures,
      durationMs: report.durationMs,
    });
    return report;
  }

  private async sweepOne(
    listed: ListedSecret,
    command: SweepCommand,
    admins: Map<string, Promise<BoundAdmin>>,
  ): Promise<SweepEntry> {
    const named: Named = { secretArn: listed.arn, secretName: listed.name };
    let entry: SweepEntry;
    try {
      entry = await this.check(named, listed, command, admins);
    } catch (error) {
      entry = this.skipped(named, error);
    }
    const failure = failureOf(entry);
    const fields = {
      secretArn: entry.secretArn,
      action: entry.action,
      ...('hoursToExpiry' in entry ? { hoursToExpiry: entry.hoursToExpiry } : {}),
      ...('requestId' in entry ? { requestId: entry.requestId } : {}),
      ...('errorCode' in entry ? { errorCode: entry.errorCode } : {}),
      ...(failure === undefined ? {} : { retryable: failure.retryable }),
    };
    if (failure === undefined) this.logger.info('sweep checked secret', fields);
    else this.logger.warn('sweep checked secret', fields);
    return entry;
  }

  private async check(
    unretired: Named,
    listed: ListedSecret,
    command: SweepCommand,
    admins: Map<string, Promise<BoundAdmin>>,
  ): Promise<SweepEntry> {
    // ListSecrets' tag-key and tag-value filters match independently: the tags decide.
    if (!isManaged(listed.tags)) return this.unmanaged(unretired);
    const description = await this.store.describe(listed.arn);
    if (!isManaged(description.tags)) return this.unmanaged(unretired);
    const metadata = rotationMetadataFrom(description.tags, description.externalRotationMetadata);
    const adminArn = allowedAdminSecretArn(metadata, this.settings.adminSecretAllowList);
    const credential = parseCredential(await this.store.getValue(description.arn, { stage: 'AWSCURRENT' }));
    const target = atlasTargetFor(metadata, credential, this.settings.origins);
    // As RotateSecret: a hand-written AWSCURRENT naming another account is refused before any credential is used.
    if (credential.atlasSecretId === undefined) {
      const versions = await this.store.listVersions(description.arn);
      await requirePinnedIdentity(this.store, description, versions, new Map(), credential);
    }
    const acting: ActingCredential =
      adminArn === undefined ? credential : await this.admin(adminArn, description.arn, admins);
    let secrets: Awaited<ReturnType<AtlasServiceAccounts['listSecrets']>>;
    let named = unretired;
    try {
      secrets = await this.atlas.listSecrets(target, acting);
      if (credential.retirement !== undefined) {
        const oldSecret = await this.retire(description, credential, credential.retirement, {
          target,
          acting,
          secrets,
        });
        named = { ...named, oldSecret };
      }
    } catch (error) {
      const expired = adminArn === undefined ? this.expiredByValue(error, credential) : undefined;
      if (expired === undefined) throw error;
      this.metrics.secretExpiry({
        secretArn: description.arn,
        hoursToExpiry: hoursToExpiry(expired.expiresAt, this.clock.now().getTime()),
        oldSecretsAwaitingRetirement: undefined,
        source: 'sweep',
      });
      return this.due(named, description, expired, 'value', adminArn, command);
    } finally {
      // In self mode the token served this one call; an admin's serves the whole sweep (revoked on close).
      if (adminArn === undefined && !command.rotateNow) await this.atlas.endRotation([credential]);
    }
    const nowMs = this.clock.now().getTime();
    const current = currentAtlasSecret(secrets, credential.atlasSecretId, nowMs);
    if (current === undefined) {
      return {
        ...named,
        action: 'unknown',
        reason:
          `AWSCURRENT's value ${credential.atlasSecretId === undefined ? 'records no Atlas secret id' : `records Atlas secret ${credential.atlasSecretId}, which Atlas does not list`}` +
          ` and the account has ${secrets.length} secrets: which one AWSCURRENT holds cannot be told, so nothing was done`,
        atlasSecretIds: secrets.map((s) => s.id),
      };
    }
    this.metrics.secretExpiry({
      secretArn: description.arn,
      hoursToExpiry: hoursToExpiry(current.expiresAt, nowMs),
      // The account's other live secrets (in their grace, in use, or left over), less the one retired just now.
      oldSecretsAwaitingRetirement: secrets.filter(
        (s) =>
          s.id !== current.id &&
          Date.parse(s.expiresAt) > nowMs &&
          !(named.oldSecret?.action === 'retired' && named.oldSecret.oldAtlasSecretId === s.id),
      ).length,
      source: 'sweep',
    });
    if (!isRotationDue(current.expiresAt, nowMs, this.settings.rotateBeforeExpiryHours)) {
      if (adminArn === undefined && command.rotateNow) await this.atlas.endRotation([credential]);
      return { ...named, ...this.expiry(current, nowMs, 'atlas'), action: 'not-due' };
    }
    return this.due(named, description, current, 'atlas', adminArn, command);
  }

  private async due(
    named: Named,
    description: SecretDescription,
    current: CurrentAtlasSecret,
    expiryFrom: Expiry['expiryFrom'],
    adminArn: string | undefined,
    command: SweepCommand,
  ): Promise<SweepEntry> {
    const expiry = this.expiry(current, this.clock.now().getTime(), expiryFrom);
    const expired = expiry.hoursToExpiry <= 0;
    const due: Due = {
      ...expiry,
      requestId: await this.requestIdFor(description, current),
      expired,
      warning: !expired
        ? undefined
        : adminArn === undefined
          ? "AWSCURRENT's Atlas secret has expired: consumers using it fail now, and a self-mode rotation cannot authenticate with it, so the rotation will fail; rotate it with an admin secret (atlas-rotator:adminSecretArn) or replace the credential by hand"
          : "AWSCURRENT's Atlas secret has expired: consumers using it fail now; the rotation (admin-assisted) may still succeed",
    };
    return command.rotateNow ? this.rotateNow(named, due) : this.request(named, due);
  }

  /**
   * A self-mode credential Atlas refuses (`invalid_client`) cannot say when it expires; if its stored expiry has
   * passed, that is why: the secret is due (and the report says the rotation will fail). Undefined otherwise.
   */
  private expiredByValue(error: unknown, credential: AtlasCredential): CurrentAtlasSecret | undefined {
    const { atlasSecretId, atlasSecretExpiresAt } = credential;
    if (!(error instanceof AtlasApiError) || error.code !== 'ATLAS_INVALID_CLIENT') return undefined;
    if (atlasSecretId === undefined || atlasSecretExpiresAt === undefined) return undefined;
    const expiresMs = Date.parse(atlasSecretExpiresAt);
    if (Number.isNaN(expiresMs) || expiresMs > this.clock.now().getTime()) return undefined;
    return { id: atlasSecretId, expiresAt: new Date(expiresMs).toISOString(), inferred: false };
  }

  /**
   * Retires the replaced Atlas secret when the domain says it is due (ADR 0009). Before the DELETE: AWSCURRENT is
   * read again (it must still not name the secret), then `Atlas Old Secret Retired` is published — a failed
   * publish leaves the secret for the next sweep, so the event is published at least once. Two sweeps at once may
   * both publish; the second DELETE answers 404, which is success.
   */
  private async retire(
    description: SecretDescription,
    credential: AtlasCredential,
    record: RetirementRecord,
    atlas: {
      readonly target: AtlasTarget;
      readonly acting: ActingCredential;
      readonly secrets: readonly AtlasSecretInfo[];
    },
  ): Promise<OldSecretEntry> {
    const base = { oldAtlasSecretId: record.oldAtlasSecretId, retireAfter: record.retireAfter };
    const now = this.clock.now();
    const decision = decideRetirement(record, atlas.secrets, credential.atlasSecretId, now.getTime());
    const facts = {
      secretArn: description.arn,
      secretName: description.name,
      orgId: credential.orgId,
      clientId: credential.clientId,
      currentAtlasSecretId: credential.atlasSecretId,
      record,
    };
    try {
      switch (decision.kind) {
        case 'gone':
          return { ...base, action: 'gone' };
        case 'current':
          return { ...base, action: 'kept' };
        case 'in-grace':
          return { ...base, action: 'in-grace' };
        case 'in-use':
          this.logger.warn('old Atlas secret still in use after the promotion', {
            secretArn: description.arn,
            oldAtlasSecretId: record.oldAtlasSecretId,
            lastUsedAt: decision.lastUsedAt,
            expiresAt: decision.until,
          });
          await this.events?.publish([
            oldSecretInUseEvent(
              facts,
              { lastUsedAt: decision.lastUsedAt, expiresAt: decision.until },
              now.toISOString(),
            ),
          ]);
          return { ...base, action: 'in-use', lastUsedAt: decision.lastUsedAt, expiresAt: decision.until };
        case 'retire': {
          // Never AWSCURRENT's: read it again right before the delete.
          const again = parseCredential(await this.store.getValue(description.arn, { stage: 'AWSCURRENT' }));
          if (again.atlasSecretId === record.oldAtlasSecretId) return { ...base, action: 'kept' };
          await this.events?.publish([oldSecretRetiredEvent(facts, decision.why, now.toISOString())]);
          await retireIfDue(
            this.atlas,
            atlas.target,
            atlas.acting,
            record,
            atlas.secrets,
            again.atlasSecretId,
            now.getTime(),
            false,
          );
          this.logger.info('old Atlas secret retired', {
            secretArn: description.arn,
            oldAtlasSecretId: record.oldAtlasSecretId,
            why: decision.why,
          });
          return { ...base, action: 'retired', why: decision.why };
        }
      }
    } catch (error) {
      const known = error instanceof RotatorError;
      return {
        ...base,
        action: 'retire-failed',
        errorCode: known ? error.code : 'INTERNAL_ERROR',
        message: known ? error.message : 'An unexpected error occurred; see the logs',
        retryable: known ? error.retryable : true,
      };
    }
  }

  private async request(named: Named, due: Due): Promise<SweepEntry> {
    const requests = this.requests;
    if (requests === undefined) throw new Error('checked in execute');
    try {
      await requests.send({
        secretId: named.secretArn,
        requestId: due.requestId,
        reason: `sweep: Atlas secret ${due.atlasSecretId} expires at ${due.expiresAt}`,
      });
      return { ...named, ...due, action: 'requested' };
    } catch (error) {
      const known = error instanceof RotatorError;
      return {
        ...named,
        ...due,
        action: 'request-failed',
        errorCode: known ? error.code : 'INTERNAL_ERROR',
        message: known ? error.message : 'An unexpected error occurred; see the logs',
        retryable: known ? error.retryable : true,
      };
    }
  }

  private async rotateNow(named: Named, due: Due): Promise<SweepEntry> {
    const outcome = await this.rotation.rotateSecret.execute({
      secretId: named.secretArn,
      token: this.rotation.tokenFor(due.requestId),
    });
    if (outcome.status === 'completed') {
      return {
        ...named,
        ...due,
        action: 'rotated',
        status: 'completed',
        rotationId: outcome.rotationId,
        newAtlasSecretId: outcome.newAtlasSecretId,
        newSecretExpiresAt: outcome.newSecretExpiresAt,
        alreadyCompleted: outcome.alreadyCompleted,
      };
    }
    return {
      ...named,
      ...due,
      action: 'rotation-failed',
      status: 'failed',
      rotationId: outcome.rotationId,
      stage: outcome.stage,
      errorCode: outcome.errorCode,
      message: outcome.message,
      retryable: outcome.retryable,
      atlasStatus: outcome.atlasStatus,
      atlasErrorCode: outcome.atlasErrorCode,
    };
  }

  /**
   * The request id for a due secret: {@link sweepRequestId}, unless a rotation under it was rolled back —
   * its version is left without a label (the token is spent: the worker would answer ROTATION_ROLLED_BACK
   * for ever). That happens when the failed create could not shorten the expiry, which was within seven days
   * already; then `:2`, `:3` … — the same for every sweep that sees the same secret, so still one rotation.
   */
  private async requestIdFor(description: SecretDescription, current: CurrentAtlasSecret): Promise<string> {
    const base = sweepRequestId(current);
    for (let generation = 1; ; generation++) {
      const requestId = generation === 1 ? base : `${base}:${generation}`;
      const token = this.rotation.tokenFor(requestId);
      // Labelled (pending, or just promoted): that rotation is under way or done; the same id resumes it.
      if (generation === MAX_GENERATIONS || description.versions.some((v) => v.versionId === token)) {
        return requestId;
      }
      if (!(await this.versionExists(description.arn, token))) return requestId;
    }
  }

  private async versionExists(arn: string, versionId: string): Promise<boolean> {
    try {
      await this.store.getValue(arn, { versionId });
      return true;
    } catch (error) {
      if (error instanceof SecretStoreError && error.code === 'SECRET_NOT_FOUND') return false;
      throw error;
    }
  }

  /**
   * One read of each admin secret per sweep; a failed read is not kept, so the next secret tries again. The
   * credential is handed out only for a managed secret the admin secret serves (as RotateSecret checks it).
   */
  private async admin(
    arn: string,
    managedArn: string,
    admins: Map<string, Promise<BoundAdmin>>,
  ): Promise<AdminCredential> {
    const bound = await this.readAdmin(arn, admins);
    requireAdminBinding(bound.binding, arn, managedArn);
    return bound.credential;
  }

  private readAdmin(arn: string, admins: Map<string, Promise<BoundAdmin>>): Promise<BoundAdmin> {
    let read = admins.get(arn);
    if (read === undefined) {
      read = this.store
        .getValue(arn, { stage: 'AWSCURRENT' })
        .then((value) => ({ binding: parseAdminBinding(value), credential: parseAdminCredential(value) }));
      admins.set(arn, read);
      read.catch(() => {
        if (admins.get(arn) === read) admins.delete(arn);
      });
    }
    return read;
  }

  private expiry(current: CurrentAtlasSecret, nowMs: number, expiryFrom: Expiry['expiryFrom']): Expiry {
    return {
      atlasSecretId: current.id,
      expiresAt: current.expiresAt,
      hoursToExpiry: hoursToExpiry(current.expiresAt, nowMs),
      inferred: current.inferred,
      expiryFrom,
    };
  }

  private unmanaged(named: Named): SweepEntry {
    return {
      ...named,
      action: 'skipped',
      reason: 'unmanaged',
      errorCode: 'SECRET_NOT_MANAGED',
      message: 'not tagged atlas-rotator:managed=true (listed because another tag has the value true)',
      retryable: false,
    };
  }

  private skipped(named: Named, error: unknown): SweepEntry {
    if (error instanceof RotatorError) {
      return {
        ...named,
        action: 'skipped',
        reason: skipReasonOf(error),
        errorCode: error.code,
        message: error.message,
        retryable: error.retryable,
      };
    }
    this.logger.error('sweep failed unexpectedly on a secret', {
      secretArn: named.secretArn,
      errorName: error instanceof Error ? error.name : typeof error,
    });
    return {
      ...named,
      action: 'skipped',
      reason: 'internal-error',
      errorCode: 'INTERNAL_ERROR',
      message: 'An unexpected error occurred; see the logs',
      retryable: true,
    };
  }
}

function summarise(entries: readonly SweepEntry[]): SweepSummary {
  const byAction = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<SweepAction, number>;
  let permanentFailures = 0;
  let retryableFailures = 0;
  let expired = 0;
  for (const entry of entries) {
    byAction[entry.action] += 1;
    if ('expired' in entry && entry.expired) expired += 1;
    const failure = failureOf(entry);
    if (failure?.retryable === true) retryableFailures += 1;
    else if (failure !== undefined) permanentFailures += 1;
  }
  return {
    secrets: entries.length,
    due: byAction.requested + byAction.rotated + byAction['rotation-failed'] + byAction['request-failed'],
    expired,
    byAction,
    permanentFailures,
    retryableFailures,
  };
}
