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
import { checkMinInterval } from '../../domain/rotation-interval.js';
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
import type { Run, SecretRead, StepContext } from './step-context.js';

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

export async function readSecret(ctx: StepContext, secretId: string, run: Run): Promise<SecretRead> {
  const [described, listed, currentValue, previousValue] = await Promise.allSettled([
    ctx.store.describe(secretId),
    ctx.store.listVersions(secretId),
    ctx.store.getValue(secretId, { stage: 'AWSCURRENT' }),
    ctx.store.getValue(secretId, { stage: 'AWSPREVIOUS' }),
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
  const previousVersion = versions.find((v) => v.stages.includes('AWSPREVIOUS'));
  if (previousValue.status === 'fulfilled' && previousVersion !== undefined) {
    values.set(previousVersion.versionId, previousValue.value);
  } else if (
    previousValue.status === 'rejected' &&
    !(previousValue.reason instanceof RotatorError && !previousValue.reason.retryable)
  ) {
    throw previousValue.reason;
  }
  if (run.entry === 'rotation-function') nativeEntryGuard(description, versions, run);

  // The contents the domain needs beyond AWSCURRENT's: this token's latest credential version, and the
  // AWSPENDING version not on AWSCURRENT (a placeholder, another run's credential, or an undo copy).
  const digest = (text: string) => ctx.ids.digestId(text);
  const listedView = { versions, contents: new Map(), nowMs: 0, leaseMs: 0 };
  const ownId = credentialVersionId(run.token, latestAttempt(listedView, run.token, digest), digest);
  const wanted = [ownId, pendingVersion(listedView)?.versionId].filter(
    (id): id is string => id !== undefined && !values.has(id) && versions.some((v) => v.versionId === id),
  );
  await Promise.all(
    [...new Set(wanted)].map(async (id) => values.set(id, await ctx.valueOrPlaceholder(description.arn, id))),
  );
  const contents = new Map<string, VersionContent>();
  for (const [id, value] of values) contents.set(id, contentOf(value));
  const view: SecretView = {
    versions,
    contents,
    nowMs: ctx.clock.now().getTime(),
    leaseMs: ctx.settings.leaseMs,
  };
  const current = parseCredential(currentValue.value);
  const previous = ctx.credentialOrUndefined(
    previousVersion === undefined ? undefined : values.get(previousVersion.versionId),
  );
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
  await requirePinnedIdentity(ctx.store, description, versions, values, current);
  const target: AtlasTarget = {
    baseUrl: resolveOrigin(metadata, ctx.settings.origins),
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
