import { parseAdminBinding, requireAdminBinding } from '../../domain/admin-binding.js';
import { type AdminCredential, parseAdminCredential, parseCredential } from '../../domain/credential.js';
import {
  AdminSecretNotAllowedError,
  InvalidInputError,
  RotationConflictError,
  RotationTooSoonError,
  RotatorError,
  SecretNotManagedError,
} from '../../domain/errors.js';
import { checkMinInterval, intervalContentsNeeded } from '../../domain/rotation-interval.js';
import {
  isAllowedAdminSecret,
  isManaged,
  resolveOrigin,
  rotationMetadataFrom,
} from '../../domain/rotation-metadata.js';
import {
  contentOf,
  credentialVersionId,
  latestAttempt,
  type NextStep,
  nextStep,
  pendingVersion,
  type SecretView,
  type VersionContent,
} from '../../domain/rotation-protocol.js';
import type { SecretValue } from '../../domain/secret-value.js';
import { requirePinnedIdentity } from '../identity-guard.js';
import { SecretStoreError } from '../infrastructure-errors.js';
import type { AtlasTarget } from '../ports/atlas-service-accounts.js';
import type { ListedVersion, SecretDescription } from '../ports/secret-store.js';
import type { ReadWithPrevious, Run, SecretRead, StepContext } from './step-context.js';

/** AWS rotates a managed external secret itself (facts: Secrets Manager managed external secrets). */
const MANAGED_EXTERNAL_TYPE = 'MongoDBAtlasServiceAccount';

/**
 * Step 1 and 2 of every round (ADR 0007): read the secret, let the domain name the next step, and hold a new
 * rotation back inside ROTATION_MIN_INTERVAL_MINUTES of the last completed one. RotateSecret acts on the step;
 * PlanRotation reports it: one path, so that a plan cannot drift from the rotation it predicts.
 */
export async function readAndDecide(
  ctx: StepContext,
  secretId: string,
  run: Run,
): Promise<{ readonly read: SecretRead; readonly step: NextStep }> {
  run.stage = 'read-secret';
  const read = await readSecret(ctx, secretId, run);
  run.mode = read.metadata.mode;
  run.flavour = read.target.flavor;
  const step = nextStep(
    read.view,
    run.token,
    (text) => ctx.ids.digestId(text),
    read.currentValue,
    (id) => read.values.get(id),
  );
  // A leaked credential (retireOldSecret "now") is not held back: issue 10 item 3.
  const interval = checkMinInterval(step, read.view, run.retireNow ? 0 : ctx.settings.minIntervalMs);
  if (!interval.ok) {
    throw new RotationTooSoonError(read.description.name, interval.lastCompletedAt, interval.notBefore);
  }
  return { read, step };
}

/**
 * Step 1 (ADR 0007): DescribeSecret ‖ ListSecretVersionIds ‖ AWSCURRENT, then the contents the decision needs
 * beyond AWSCURRENT's. AWSPREVIOUS's value is read only where a step weighs it (ADR 0016, `withPrevious`): on the
 * usual path nothing does, and the rotation makes three reads instead of four.
 */
export async function readSecret(ctx: StepContext, secretId: string, run: Run): Promise<SecretRead> {
  const [described, listed, currentValue] = await Promise.allSettled([
    ctx.store.describe(secretId),
    ctx.store.listVersions(secretId),
    ctx.store.getValue(secretId, { stage: 'AWSCURRENT' }),
  ]);
  if (described.status === 'rejected') throw described.reason;
  const description = described.value;
  run.secretArn = description.arn;
  if (!isManaged(description.tags)) throw new SecretNotManagedError(description.name);
  guard(description, run);
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
  const previousVersionId = versions.find((v) => v.stages.includes('AWSPREVIOUS'))?.versionId;
  if (run.entry === 'rotation-function') nativeEntryGuard(description, versions, run);

  // The contents the domain needs beyond AWSCURRENT's: this token's latest credential version, the AWSPENDING
  // version not on AWSCURRENT (a placeholder, another run's credential, or an undo copy), and after a rollback
  // AWSPREVIOUS's (the minimum interval dates the last rotation by the version the undo copy restored).
  const digest = (text: string) => ctx.ids.digestId(text);
  const listedView = { versions, contents: new Map(), nowMs: 0, leaseMs: 0 };
  const ownId = credentialVersionId(run.token, latestAttempt(listedView, run.token, digest), digest);
  const wanted = [ownId, pendingVersion(listedView)?.versionId].filter(
    (id): id is string => id !== undefined && !values.has(id) && versions.some((v) => v.versionId === id),
  );
  const previousNeeded = intervalContentsNeeded(listedView).find(
    (id) => id === previousVersionId && !wanted.includes(id),
  );
  await Promise.all([
    ...[...new Set(wanted)].map(async (id) =>
      values.set(id, await ctx.valueOrPlaceholder(description.arn, id)),
    ),
    ...(previousNeeded === undefined
      ? []
      : [
          previousValue(ctx, description.arn, previousNeeded).then((value) => {
            if (value !== undefined) values.set(previousNeeded, value);
          }),
        ]),
  ]);
  const contents = new Map<string, VersionContent>();
  for (const [id, value] of values) contents.set(id, contentOf(value));
  const view: SecretView = {
    versions,
    contents,
    nowMs: ctx.clock.now().getTime(),
    leaseMs: ctx.settings.leaseMs,
  };
  const current = parseCredential(currentValue.value);
  if (
    metadata.adminSecretArn !== undefined &&
    !isAllowedAdminSecret(metadata.adminSecretArn, ctx.settings.adminSecretAllowList)
  ) {
    throw new AdminSecretNotAllowedError(metadata.adminSecretArn);
  }
  const admin =
    metadata.adminSecretArn === undefined
      ? undefined
      : await boundAdmin(ctx, metadata.adminSecretArn, description.arn);
  const pinRead = await requirePinnedIdentity(ctx.store, description, versions, values, current);
  const target: AtlasTarget = {
    baseUrl: resolveOrigin(metadata, ctx.settings.origins),
    flavor: metadata.apiFlavor,
    orgId: current.orgId,
    projectId: current.projectId,
    clientId: current.clientId,
    apiVersion: metadata.apiVersion,
  };
  // AWSPREVIOUS's value when it was read already — by the decision, or by the identity pin, which holds every value
  // read so far — or when the read for the decision failed for good (no previous, as the stage read before).
  const known =
    previousVersionId === undefined
      ? { value: undefined }
      : pinRead.has(previousVersionId) || previousVersionId === previousNeeded
        ? { value: pinRead.get(previousVersionId) }
        : undefined;
  return withLazyPrevious(
    {
      description,
      metadata,
      versions,
      view,
      values,
      currentVersionId: currentVersion.versionId,
      currentValue: currentValue.value,
      current,
      previousVersionId,
      admin,
      target,
    },
    ctx,
    known,
  );
}

/**
 * The read, with `withPrevious` memoized: AWSPREVIOUS's value from `known` (already read), else read once by its
 * VersionId on the first call (a retryable failure is not kept: the next call reads again).
 */
function withLazyPrevious(
  base: Omit<SecretRead, 'withPrevious'>,
  ctx: StepContext,
  known: { readonly value: SecretValue | undefined } | undefined,
): SecretRead {
  let loading: Promise<ReadWithPrevious> | undefined;
  const load = async (): Promise<ReadWithPrevious> => {
    const id = base.previousVersionId;
    const value =
      known !== undefined || id === undefined
        ? known?.value
        : await previousValue(ctx, base.description.arn, id);
    const values = new Map(base.values);
    const contents = new Map(base.view.contents);
    // A value only: one the store would not give (not found) stays unread, as the stage read left it before.
    if (id !== undefined && value !== undefined && !values.has(id)) {
      values.set(id, value);
      contents.set(id, contentOf(value));
    }
    const full: ReadWithPrevious = {
      ...base,
      values,
      view: { ...base.view, contents },
      previous: ctx.credentialOrUndefined(id === undefined ? undefined : values.get(id)),
      withPrevious: () => Promise.resolve(full),
    };
    return full;
  };
  return {
    ...base,
    withPrevious: () => {
      loading ??= load().catch((error: unknown) => {
        loading = undefined;
        throw error;
      });
      return loading;
    },
  };
}

/**
 * AWSPREVIOUS's value by the VersionId the list named. Undefined when the store refuses for good (not found: the
 * version was deleted since the list): no previous, as the stage read treated it before ADR 0016; a retryable
 * failure is thrown.
 */
async function previousValue(
  ctx: StepContext,
  arn: string,
  versionId: string,
): Promise<SecretValue | undefined> {
  try {
    return await ctx.store.getValue(arn, { versionId });
  } catch (error) {
    if (error instanceof RotatorError && !error.retryable) return undefined;
    throw error;
  }
}

/** The admin credential, once its own secret's `serves` covers the managed secret (before it is used). */
async function boundAdmin(ctx: StepContext, adminArn: string, managedArn: string): Promise<AdminCredential> {
  const value = await ctx.store.getValue(adminArn, { stage: 'AWSCURRENT' });
  requireAdminBinding(parseAdminBinding(value), adminArn, managedArn);
  return parseAdminCredential(value);
}

/** Two rotators on one secret would fight: refused before anything is written. */
export function guard(description: SecretDescription, run: Run): void {
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
export function nativeEntryGuard(
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
