import { describe, expect, it } from 'vitest';
import { tokenForRequestId } from '../../../src/adapters/inbound/sqs/parse-rotation-request.js';
import { NodeCryptoIdGenerator } from '../../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { EmfRotationMetrics } from '../../../src/adapters/outbound/metrics/emf-rotation-metrics.js';
import { AtlasApiError, SecretStoreError } from '../../../src/application/infrastructure-errors.js';
import type {
  ActingCredential,
  AtlasServiceAccounts,
  AtlasTarget,
} from '../../../src/application/ports/atlas-service-accounts.js';
import { NO_METRICS, type RotationMetrics } from '../../../src/application/ports/rotation-metrics.js';
import { RotateSecret, type RotateSecretSettings } from '../../../src/application/rotate-secret.js';
import {
  failureOf,
  type SweepEntry,
  type SweepReport,
  SweepSecrets,
  type SweepSettings,
} from '../../../src/application/sweep-secrets.js';
import type { ServiceAccountCredential } from '../../../src/domain/credential.js';
import { InvalidConfigError } from '../../../src/domain/errors.js';
import type { AtlasSecretId, ClientId } from '../../../src/domain/identifiers.js';
import type { AtlasSecretInfo } from '../../../src/domain/room-plan.js';
import { CLAIM_LABEL, claimVersionId } from '../../../src/domain/rotation-protocol.js';
import { SecretValue } from '../../../src/domain/secret-value.js';
import {
  ADMIN_CLIENT_ID,
  ADMIN_SECRET_ARN,
  aSettings,
  aToken,
  ORG_ID,
  seedAdminSecret,
} from '../../support/builders.js';
import { emfProblems, parseLines } from '../../support/emf-validator.js';
import { validateEventDetail } from '../../support/event-schemas.js';
import {
  AtlasWorld,
  type AtlasWorldOptions,
  InMemoryAtlasServiceAccounts,
} from '../../support/fake-atlas.js';
import { DEFAULT_NOW, FixedClock } from '../../support/fixed-clock.js';
import { InMemorySecretStore } from '../../support/in-memory-secret-store.js';
import { RecordingLogger } from '../../support/recording-logger.js';
import { RecordingRotationEventPublisher } from '../../support/recording-publisher.js';
import { RecordingRotationRequests } from '../../support/recording-rotation-requests.js';

const HOUR_MS = 3_600_000;

/** An ISO time `hours` from the fixed clock's start. */
function inHours(hours: number): string {
  return new Date(Date.parse(DEFAULT_NOW) + hours * HOUR_MS).toISOString();
}

const clientIdOf = (n: number) => `mdb_sa_id_c1${n.toString(16).padStart(22, '0')}` as ClientId;
const atlasSecretIdOf = (n: number) => `5ec0${n.toString(16).padStart(20, '0')}` as AtlasSecretId;
const secretValueOf = (n: number) => `mdb_sa_sk_sweep_value_${n.toString().padStart(4, '0')}`;
const nameOf = (n: number) => `sweep/s${n.toString().padStart(3, '0')}`;
/** Every secret of this suite (what an admin secret here may serve). */
const SWEEP_SECRETS = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sweep/*';
const arnOf = (n: number) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${nameOf(n)}-AbCdEf`;

interface Fixture {
  readonly clock: FixedClock;
  readonly world: AtlasWorld;
  readonly store: InMemorySecretStore;
  readonly atlas: InMemoryAtlasServiceAccounts;
  readonly requests: RecordingRotationRequests;
  readonly logger: RecordingLogger;
  /** Every plain secret value seeded or created, to search the output for. */
  readonly values: Set<string>;
}

function aFixture(atlasOptions: AtlasWorldOptions = {}): Fixture {
  const clock = new FixedClock();
  const world = new AtlasWorld(() => clock.now(), atlasOptions);
  const store = new InMemorySecretStore();
  return {
    clock,
    world,
    store,
    atlas: new InMemoryAtlasServiceAccounts(world),
    requests: new RecordingRotationRequests(),
    logger: new RecordingLogger(),
    values: new Set(),
  };
}

interface AccountOptions {
  /** Atlas's expiry of the account's (current) secret, in hours from now. */
  readonly expiresInHours: number;
  /** What the stored value says (stale after a failed rotation); default: Atlas's expiry. */
  readonly storedExpiresAt?: string;
  readonly recordsAtlasSecretId?: boolean;
  /** More secrets on the account, in hours from now. */
  readonly otherSecretsExpireInHours?: readonly number[];
  readonly tags?: Readonly<Record<string, string>>;
  /** Replaces the whole SecretString. */
  readonly rawValue?: string;
}

/** A managed secret `n` and its service account, consistent with each other. */
function seedAccount(f: Fixture, n: number, options: AccountOptions): void {
  const expiresAt = inHours(options.expiresInHours);
  const value = secretValueOf(n);
  f.values.add(value);
  const json: Record<string, unknown> = {
    clientId: clientIdOf(n),
    clientSecret: value,
    orgId: ORG_ID,
  };
  if (options.recordsAtlasSecretId !== false) {
    json.atlasSecretId = atlasSecretIdOf(n);
    json.atlasSecretExpiresAt = options.storedExpiresAt ?? expiresAt;
  }
  f.store.seed({
    arn: arnOf(n),
    name: nameOf(n),
    tags: { 'atlas-rotator:managed': 'true', ...options.tags },
    versions: [
      {
        versionId: `11111111-1111-4111-8111-${n.toString().padStart(12, '0')}`,
        value: options.rawValue ?? JSON.stringify(json),
        stages: ['AWSCURRENT'],
      },
    ],
  });
  const others = (options.otherSecretsExpireInHours ?? []).map((hours, i) => {
    const other = `mdb_sa_sk_other_${n}_${i}_value`;
    f.values.add(other);
    return {
      id: `07e0${n.toString(16).padStart(18, '0')}0${i}` as AtlasSecretId,
      value: other,
      createdAt: inHours(-100),
      expiresAt: inHours(hours),
    };
  });
  f.world.addAccount({
    clientId: clientIdOf(n),
    orgId: ORG_ID,
    secrets: [{ id: atlasSecretIdOf(n), value, createdAt: inHours(-2000), expiresAt }, ...others],
  });
}

function rotateSecretOf(
  f: Fixture,
  settings: Partial<RotateSecretSettings> = {},
  metrics: RotationMetrics = NO_METRICS,
): RotateSecret {
  return new RotateSecret(
    f.store,
    f.atlas,
    f.clock,
    f.logger,
    aSettings(settings),
    new NodeCryptoIdGenerator(),
    undefined,
    metrics,
  );
}

function sweepOf(
  f: Fixture,
  settings: Partial<SweepSettings> = {},
  atlas: AtlasServiceAccounts = f.atlas,
  rotation: Partial<RotateSecretSettings> = {},
  metrics: RotationMetrics = NO_METRICS,
): SweepSecrets {
  return new SweepSecrets(
    f.store,
    atlas,
    f.requests,
    { rotateSecret: rotateSecretOf(f, rotation, metrics), tokenFor: tokenForRequestId },
    f.clock,
    f.logger,
    {
      rotateBeforeExpiryHours: 336,
      concurrency: 4,
      adminSecretAllowList: [],
      origins: aSettings().origins,
      ...settings,
    },
    undefined,
    metrics,
  );
}

const sweepRequests = (f: Fixture, settings: Partial<SweepSettings> = {}) =>
  sweepOf(f, settings).execute({ rotateNow: false, namePrefix: undefined });

function entryOf(report: SweepReport, n: number): SweepEntry {
  const entry = report.secrets.find((e) => e.secretArn === arnOf(n));
  if (entry === undefined) throw new Error(`no entry for secret ${n}`);
  return entry;
}

function expectNoSecretValue(f: Fixture, report: unknown) {
  const text = `${JSON.stringify(report)}\n${f.logger.text()}`;
  for (const value of [...f.values, ...f.world.accounts.values()].flatMap((v) =>
    typeof v === 'string' ? [v] : v.secrets.map((s) => s.value),
  )) {
    expect(text.includes(value), 'a secret value reached the report or the logs').toBe(false);
  }
  expect(text).not.toMatch(/mdb_sa_sk_/);
}

describe('SweepSecrets: which secrets are due', () => {
  it('leaves a secret whose Atlas secret outlives the window alone, saying how long it has', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 337 });
    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toEqual({
      secretArn: arnOf(1),
      secretName: nameOf(1),
      action: 'not-due',
      atlasSecretId: atlasSecretIdOf(1),
      expiresAt: inHours(337),
      hoursToExpiry: 337,
      inferred: false,
      expiryFrom: 'atlas',
    });
    expect(f.requests.sent).toEqual([]);
  });

  it('requests a rotation of a secret expiring within the window, with the direct request shape', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 335.5 });
    const report = await sweepRequests(f);
    const requestId = `sweep:${atlasSecretIdOf(1)}:${inHours(335.5)}`;
    expect(entryOf(report, 1)).toMatchObject({
      action: 'requested',
      requestId,
      hoursToExpiry: 335.5,
      expired: false,
    });
    expect(f.requests.sent).toEqual([
      {
        secretId: arnOf(1),
        requestId,
        reason: `sweep: Atlas secret ${atlasSecretIdOf(1)} expires at ${inHours(335.5)}`,
      },
    ]);
    expect(requestId).toMatch(/^[\x21-\x7e]{1,128}$/);
  });

  it("believes Atlas's expiry over the stored one: a failed rotation's 7-day cut makes the secret due", async () => {
    const f = aFixture({ newSecretUsableAfterMs: 10 * 24 * HOUR_MS }); // every new secret fails verification
    seedAccount(f, 1, { expiresInHours: 1500 });
    expect(entryOf(await sweepRequests(f), 1).action).toBe('not-due');

    const failed = await rotateSecretOf(f, { verifyRetryDelaysMs: [] }).execute({
      secretId: arnOf(1),
      token: tokenForRequestId('a-rotation-that-fails'),
    });
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'VERIFICATION_FAILED' });
    // The stored value still says 1500 h; Atlas cut the secret to 7 days when the failed rotation created one.
    expect(f.store.jsonAt(arnOf(1), 'AWSCURRENT')?.atlasSecretExpiresAt).toBe(inHours(1500));

    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toMatchObject({
      action: 'requested',
      expiresAt: inHours(168),
      hoursToExpiry: 168,
      requestId: `sweep:${atlasSecretIdOf(1)}:${inHours(168)}`,
    });
  });

  it('still requests an expired secret, and says that a self-mode rotation will likely fail', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: -3 });
    // An expired secret mints no token: only an admin could list it. Atlas's GET is done as the admin here.
    seedAdminSecret(f.store, f.world, [arnOf(1)]);
    f.store.secret(arnOf(1)).tags['atlas-rotator:adminSecretArn'] = ADMIN_SECRET_ARN;
    const report = await sweepRequests(f, { adminSecretAllowList: [ADMIN_SECRET_ARN] });
    expect(entryOf(report, 1)).toMatchObject({
      action: 'requested',
      expired: true,
      hoursToExpiry: -3,
      expiryFrom: 'atlas',
    });
    expect((entryOf(report, 1) as { warning?: string }).warning).toMatch(/expired.*admin-assisted/);
    expect(f.requests.sent).toHaveLength(1);
  });

  it('still requests an expired self-mode secret Atlas refuses, by its stored expiry, and says the rotation will fail', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: -3 });
    seedAccount(f, 2, { expiresInHours: 500 });
    const report = await sweepRequests(f);
    const entry = entryOf(report, 1);
    expect(entry).toMatchObject({
      action: 'requested',
      expired: true,
      expiryFrom: 'value',
      expiresAt: inHours(-3),
      hoursToExpiry: -3,
      requestId: `sweep:${atlasSecretIdOf(1)}:${inHours(-3)}`,
    });
    expect((entry as { warning?: string }).warning).toMatch(/self-mode rotation cannot authenticate/);
    expect(report.summary).toMatchObject({ due: 1, expired: 1, permanentFailures: 0 });
  });

  it('skips a self-mode secret Atlas refuses while its stored expiry is still ahead (deleted in Atlas)', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 500 });
    f.world.account(clientIdOf(1)).secrets.splice(0, 1);
    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toMatchObject({
      action: 'skipped',
      reason: 'atlas-error',
      errorCode: 'ATLAS_INVALID_CLIENT',
      retryable: false,
    });
    expect(f.requests.sent).toEqual([]);
  });

  it("uses the account's only secret when the value records none (never rotated by atlas-rotator)", async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 10, recordsAtlasSecretId: false });
    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toMatchObject({
      action: 'requested',
      atlasSecretId: atlasSecretIdOf(1),
      inferred: true,
    });
  });

  it('uses the only unexpired secret beside an expired one when the value records none', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 1000, recordsAtlasSecretId: false, otherSecretsExpireInHours: [-1] });
    expect(entryOf(await sweepRequests(f), 1)).toMatchObject({ action: 'not-due', inferred: true });
  });

  it('reports unknown and does nothing when the value records no id and two live secrets could be it', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 10, recordsAtlasSecretId: false, otherSecretsExpireInHours: [20] });
    const report = await sweepRequests(f);
    const entry = entryOf(report, 1);
    expect(entry.action).toBe('unknown');
    expect(entry).toMatchObject({ atlasSecretIds: f.world.secretIds(clientIdOf(1)) });
    expect(f.requests.sent).toEqual([]);
    expect(report.summary).toMatchObject({ permanentFailures: 1, retryableFailures: 0 });
  });

  it('honours a different window', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 30 });
    seedAccount(f, 2, { expiresInHours: 20 });
    const report = await sweepRequests(f, { rotateBeforeExpiryHours: 24 });
    expect(report.secrets.map((e) => e.action)).toEqual(['not-due', 'requested']);
    expect(report.summary).toMatchObject({ secrets: 2, due: 1 });
  });
});

describe('SweepSecrets: skipped secrets', () => {
  it('skips a secret listed only because another tag is "true", and counts it as no failure', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 1, tags: { 'atlas-rotator:managed': 'false', team: 'true' } });
    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toMatchObject({
      action: 'skipped',
      reason: 'unmanaged',
      errorCode: 'SECRET_NOT_MANAGED',
    });
    expect(report.summary).toMatchObject({ permanentFailures: 0, retryableFailures: 0 });
    expect(f.atlas.calls).toEqual([]);
  });

  it('skips a secret whose value is not a credential, naming the field and never the value', async () => {
    const f = aFixture();
    seedAccount(f, 1, {
      expiresInHours: 1,
      rawValue: JSON.stringify({ clientId: 'nope', clientSecret: 'mdb_sa_sk_broken_value_1' }),
    });
    f.values.add('mdb_sa_sk_broken_value_1');
    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toMatchObject({
      action: 'skipped',
      reason: 'invalid-value',
      errorCode: 'INVALID_SECRET_VALUE',
      retryable: false,
    });
    expect(report.summary.permanentFailures).toBe(1);
    expectNoSecretValue(f, report);
  });

  it('skips a secret its admin secret does not serve, without listing the account in Atlas', async () => {
    const f = aFixture();
    seedAdminSecret(f.store, f.world, [arnOf(2)]);
    seedAccount(f, 1, { expiresInHours: 1, tags: { 'atlas-rotator:adminSecretArn': ADMIN_SECRET_ARN } });
    seedAccount(f, 2, { expiresInHours: 2000, tags: { 'atlas-rotator:adminSecretArn': ADMIN_SECRET_ARN } });
    const report = await sweepRequests(f, { adminSecretAllowList: [ADMIN_SECRET_ARN] });
    expect(entryOf(report, 1)).toMatchObject({
      action: 'skipped',
      reason: 'admin-not-bound',
      errorCode: 'ADMIN_SECRET_NOT_BOUND',
    });
    expect(entryOf(report, 2)).toMatchObject({ action: 'not-due' });
    // One listing: the served secret's; the admin read once for both.
    expect(f.atlas.calls.filter((c) => c.op === 'get')).toHaveLength(1);
    expect(f.store.calls.filter((c) => c.secretId === ADMIN_SECRET_ARN)).toHaveLength(1);
    expect(f.requests.sent).toEqual([]);
    expectNoSecretValue(f, report);
  });

  it('skips a secret whose AWSCURRENT was swapped by hand to another account, before its admin lists anything', async () => {
    const f = aFixture();
    seedAdminSecret(f.store, f.world, [SWEEP_SECRETS]);
    seedAccount(f, 1, { expiresInHours: 1, tags: { 'atlas-rotator:adminSecretArn': ADMIN_SECRET_ARN } });
    seedAccount(f, 2, { expiresInHours: 1 });
    // Secret 1's AWSCURRENT moves to a value atlas-rotator did not write, naming account 2 (AWSPREVIOUS keeps the pin).
    const stored = f.store.secret(arnOf(1));
    const pinned = stored.versions[0];
    if (pinned === undefined) throw new Error('seeded');
    pinned.stages.splice(0, pinned.stages.length, 'AWSPREVIOUS');
    stored.versions.push({
      versionId: '22222222-2222-4222-8222-000000000001',
      value: SecretValue.of(JSON.stringify({ clientId: clientIdOf(2), clientSecret: 'x', orgId: ORG_ID })),
      stages: ['AWSCURRENT'],
      createdAt: inHours(1),
    });
    const report = await sweepRequests(f, { adminSecretAllowList: [ADMIN_SECRET_ARN] });
    expect(entryOf(report, 1)).toMatchObject({
      action: 'skipped',
      reason: 'identity-changed',
      errorCode: 'SECRET_IDENTITY_CHANGED',
      retryable: false,
    });
    expect(report.summary.permanentFailures).toBe(1);
    // Account 2 is listed once, by its own secret in self mode; never with the admin's credential.
    const listings = f.atlas.calls.filter((c) => c.op === 'get');
    expect(listings).toHaveLength(1);
    expect(f.store.calls.filter((c) => c.secretId === ADMIN_SECRET_ARN)).toEqual([]);
    expect(f.requests.sent.map((r) => r.secretId)).toEqual([arnOf(2)]);
    expectNoSecretValue(f, report);
  });

  it('skips a secret whose admin secret is not on the allow-list, without reading the admin secret', async () => {
    const f = aFixture();
    seedAdminSecret(f.store, f.world);
    seedAccount(f, 1, { expiresInHours: 1, tags: { 'atlas-rotator:adminSecretArn': ADMIN_SECRET_ARN } });
    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toMatchObject({
      action: 'skipped',
      reason: 'admin-not-allowed',
      errorCode: 'ADMIN_SECRET_NOT_ALLOWED',
    });
    expect(f.store.calls.filter((c) => c.secretId === ADMIN_SECRET_ARN)).toEqual([]);
    expect(f.atlas.calls).toEqual([]);
  });

  it('skips a secret that names an API origin off the allow-list, before any credential is sent', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 1, tags: { 'atlas-rotator:apiBaseUrl': 'https://evil.example' } });
    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toMatchObject({
      reason: 'origin-not-allowed',
      errorCode: 'ATLAS_ORIGIN_NOT_ALLOWED',
    });
    expect(f.atlas.calls).toEqual([]);
  });

  it('skips on an Atlas error, keeping its code and whether it may pass', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 1 });
    seedAccount(f, 2, { expiresInHours: 1 });
    f.atlas.failOn('get', new AtlasApiError('ATLAS_UNAVAILABLE', 'Atlas answered 503', true, 503, undefined));
    const report = await sweepOf(f, { concurrency: 1 }).execute({ rotateNow: false, namePrefix: undefined });
    expect(entryOf(report, 1)).toMatchObject({
      action: 'skipped',
      reason: 'atlas-error',
      errorCode: 'ATLAS_UNAVAILABLE',
      retryable: true,
    });
    expect(entryOf(report, 2).action).toBe('requested');
    expect(report.summary).toMatchObject({ permanentFailures: 0, retryableFailures: 1 });
  });

  it('skips a secret deleted between the listing and the look, as no failure', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 1 });
    f.store.failOn('describe', new SecretStoreError('SECRET_NOT_FOUND', 'scheduled for deletion', false));
    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toMatchObject({ action: 'skipped', reason: 'gone' });
    expect(report.summary).toMatchObject({ permanentFailures: 0, retryableFailures: 0 });
  });

  it('reports a request the queue did not take as request-failed', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 1 });
    f.requests.failOn(new SecretStoreError('SECRET_STORE_UNAVAILABLE', 'throttled', true));
    const report = await sweepRequests(f);
    expect(entryOf(report, 1)).toMatchObject({ action: 'request-failed', retryable: true });
    expect(report.summary.retryableFailures).toBe(1);
  });

  it('needs a queue unless it rotates in-process', async () => {
    const f = aFixture();
    const sweep = new SweepSecrets(
      f.store,
      f.atlas,
      undefined,
      { rotateSecret: rotateSecretOf(f), tokenFor: tokenForRequestId },
      f.clock,
      f.logger,
      {
        rotateBeforeExpiryHours: 336,
        concurrency: 1,
        adminSecretAllowList: [],
        origins: aSettings().origins,
      },
    );
    await expect(sweep.execute({ rotateNow: false, namePrefix: undefined })).rejects.toBeInstanceOf(
      InvalidConfigError,
    );
    await expect(sweep.execute({ rotateNow: true, namePrefix: undefined })).resolves.toMatchObject({
      mode: 'rotate-now',
    });
  });
});

describe('SweepSecrets: idempotent requests', () => {
  it('sends identical requests from two sweeps at once and from two in a row', async () => {
    const f = aFixture();
    for (let n = 1; n <= 6; n++) seedAccount(f, n, { expiresInHours: n % 2 === 0 ? 48 : 2000 });
    const [a, b] = await Promise.all([sweepRequests(f), sweepRequests(f)]);
    f.clock.advance(HOUR_MS);
    const c = await sweepRequests(f);
    const ids = (r: SweepReport) => r.secrets.flatMap((e) => ('requestId' in e ? [e.requestId] : []));
    expect(ids(a)).toHaveLength(3);
    expect(ids(b)).toEqual(ids(a));
    expect(ids(c)).toEqual(ids(a));
    // Three due secrets, three sweeps: each request sent three times, identical to the byte.
    const copies = new Map<string, number>();
    for (const request of f.requests.sent) {
      const key = JSON.stringify(request);
      copies.set(key, (copies.get(key) ?? 0) + 1);
    }
    expect([...copies.values()]).toEqual([3, 3, 3]);
  });

  it('requests a new rotation once the expiry changed', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 200 });
    const first = entryOf(await sweepRequests(f), 1);
    const account = f.world.account(clientIdOf(1));
    const secret = account.secrets[0];
    if (secret === undefined) throw new Error('seeded');
    secret.expiresAt = Date.parse(inHours(150));
    const second = entryOf(await sweepRequests(f), 1);
    expect(first).toMatchObject({ action: 'requested' });
    expect(second).toMatchObject({ action: 'requested' });
    expect('requestId' in second && 'requestId' in first && second.requestId !== first.requestId).toBe(true);
  });
});

describe('SweepSecrets --now', () => {
  it('rotates a due secret with the token its request id maps to, and the next sweep finds it not due', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 100 });
    seedAccount(f, 2, { expiresInHours: 2000 });
    const report = await sweepOf(f).execute({ rotateNow: true, namePrefix: undefined });
    const entry = entryOf(report, 1);
    const requestId = `sweep:${atlasSecretIdOf(1)}:${inHours(100)}`;
    expect(entry).toMatchObject({
      action: 'rotated',
      status: 'completed',
      requestId,
      rotationId: tokenForRequestId(requestId),
      alreadyCompleted: false,
    });
    expect(f.requests.sent).toEqual([]);
    expect(f.store.versionWith(arnOf(1), 'AWSCURRENT')?.versionId).toBe(tokenForRequestId(requestId));
    expect(f.world.secretIds(clientIdOf(1))).not.toContain(atlasSecretIdOf(1));
    expect(entryOf(report, 2).action).toBe('not-due');

    const again = await sweepOf(f).execute({ rotateNow: true, namePrefix: undefined });
    expect(entryOf(again, 1)).toMatchObject({ action: 'not-due', hoursToExpiry: 720 });
    expectNoSecretValue(f, [report, again]);
  });

  it('asks for a new rotation after one was rolled back without changing the expiry (already within 7 days)', async () => {
    const f = aFixture({ newSecretUsableAfterMs: 10 * 24 * HOUR_MS }); // new secrets fail verification
    seedAccount(f, 1, { expiresInHours: 100 });
    const now = () =>
      sweepOf(f, {}, f.atlas, { verifyRetryDelaysMs: [] }).execute({
        rotateNow: true,
        namePrefix: undefined,
      });
    const base = `sweep:${atlasSecretIdOf(1)}:${inHours(100)}`;

    const first = entryOf(await now(), 1);
    expect(first).toMatchObject({
      action: 'rotation-failed',
      errorCode: 'VERIFICATION_FAILED',
      requestId: base,
    });
    // The create could not cut a secret that had less than 7 days left: the same expiry, a spent request id.
    const second = entryOf(await now(), 1);
    expect(second).toMatchObject({
      action: 'rotation-failed',
      errorCode: 'VERIFICATION_FAILED',
      requestId: `${base}:2`,
    });

    (f.world.options as { newSecretUsableAfterMs: number }).newSecretUsableAfterMs = 0; // the cause is fixed
    const third = entryOf(await now(), 1);
    expect(third).toMatchObject({
      action: 'rotated',
      requestId: `${base}:3`,
      rotationId: tokenForRequestId(`${base}:3`),
    });
  });

  it("reports a rotation's failure with its status, code and retryability", async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 100 });
    // Another rotation holds a fresh claim (ADR 0007): it was claimed a minute ago and has stored nothing yet.
    const other = tokenForRequestId('someone-else');
    f.store.secret(arnOf(1)).versions.push({
      versionId: claimVersionId(other),
      value: SecretValue.of(
        JSON.stringify({
          atlasRotatorClaim: { token: other, attempt: 1, execution: 'another-run', basedOn: 'v-current' },
        }),
      ),
      stages: [CLAIM_LABEL],
      createdAt: new Date(Date.parse(DEFAULT_NOW) - 60_000).toISOString(),
    });
    const report = await sweepOf(f).execute({ rotateNow: true, namePrefix: undefined });
    expect(entryOf(report, 1)).toMatchObject({
      action: 'rotation-failed',
      status: 'failed',
      errorCode: 'ROTATION_IN_PROGRESS',
      retryable: true,
    });
    expect(report.summary).toMatchObject({ retryableFailures: 1, permanentFailures: 0 });
  });
});

/** Counts how many listSecrets calls are in flight at once (each takes a turn of the event loop). */
class CountingAtlas implements AtlasServiceAccounts {
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly inner: InMemoryAtlasServiceAccounts) {}
  async listSecrets(target: AtlasTarget, as: ActingCredential): Promise<AtlasSecretInfo[]> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return await this.inner.listSecrets(target, as);
    } finally {
      this.inFlight -= 1;
    }
  }
  proveCredential(target: AtlasTarget, credential: ServiceAccountCredential) {
    return this.inner.proveCredential(target, credential);
  }
  createSecret(target: AtlasTarget, as: ActingCredential, hours: number) {
    return this.inner.createSecret(target, as, hours);
  }
  deleteSecret(target: AtlasTarget, id: AtlasSecretId, as: ActingCredential) {
    return this.inner.deleteSecret(target, id, as);
  }
  maxSecretValidityHours(target: AtlasTarget, as: ActingCredential) {
    return this.inner.maxSecretValidityHours(target, as);
  }
  endRotation(credentials: readonly ActingCredential[]) {
    return this.inner.endRotation(credentials);
  }
}

describe('SweepSecrets at scale', () => {
  it('looks at every secret with at most SWEEP_CONCURRENCY Atlas calls at once', async () => {
    const f = aFixture();
    for (let n = 1; n <= 40; n++) seedAccount(f, n, { expiresInHours: n <= 3 ? 24 : 2000 });
    const counting = new CountingAtlas(f.atlas);
    const report = await sweepOf(f, { concurrency: 3 }, counting).execute({
      rotateNow: false,
      namePrefix: undefined,
    });
    expect(report.summary).toMatchObject({ secrets: 40, due: 3 });
    expect(counting.maxInFlight).toBe(3);
    // Self mode: one token per secret, revoked once read.
    expect(f.atlas.ops().filter((op) => op === 'token')).toHaveLength(40);
    expect(f.atlas.ops().filter((op) => op === 'revoke')).toHaveLength(40);
    expectNoSecretValue(f, report);
  });

  it('reads an admin secret once and mints one admin token for all its secrets', async () => {
    const f = aFixture();
    seedAdminSecret(f.store, f.world, [SWEEP_SECRETS]);
    for (let n = 1; n <= 10; n++) {
      seedAccount(f, n, { expiresInHours: 2000, tags: { 'atlas-rotator:adminSecretArn': ADMIN_SECRET_ARN } });
    }
    const report = await sweepRequests(f, { adminSecretAllowList: [ADMIN_SECRET_ARN] });
    expect(report.summary.byAction['not-due']).toBe(10);
    expect(f.store.calls.filter((c) => c.secretId === ADMIN_SECRET_ARN)).toHaveLength(1);
    expect(f.atlas.calls.filter((c) => c.op === 'token')).toEqual([
      { op: 'token', clientId: ADMIN_CLIENT_ID },
    ]);
  });

  it('looks only at names with the given prefix', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 1 });
    seedAccount(f, 12, { expiresInHours: 1 });
    const report = await sweepOf(f).execute({ rotateNow: false, namePrefix: 'sweep/s01' });
    expect(report.secrets.map((e) => e.secretName)).toEqual([nameOf(12)]);
    expect(report.namePrefix).toBe('sweep/s01');
  });
});

describe('SweepSecrets: metrics', () => {
  function recording() {
    const lines: string[] = [];
    const metrics = new EmfRotationMetrics({
      namespace: 'AtlasRotator',
      service: 'test',
      write: (line) => lines.push(line),
      now: () => new Date(0),
    });
    return { metrics, lines, docs: () => parseLines(lines) };
  }

  it('emits hours to expiry and old secrets awaiting retirement per secret, and the counts of the sweep', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 337, otherSecretsExpireInHours: [100, -5] });
    seedAccount(f, 2, { expiresInHours: 10 });
    const rec = recording();
    await sweepOf(f, {}, f.atlas, {}, rec.metrics).execute({ rotateNow: false, namePrefix: undefined });
    const docs = rec.docs();
    for (const doc of docs) expect(emfProblems(doc)).toEqual([]);
    const expiry = docs.filter((d) => 'HoursToExpiry' in d);
    expect(expiry.map((d) => [d.secretArn, d.HoursToExpiry, d.OldSecretsAwaitingRetirement]).sort()).toEqual(
      [
        [arnOf(1), 337, 1],
        [arnOf(2), 10, 0],
      ].sort(),
    );
    // The id is a property, never a dimension: one series for the fleet, its minimum the soonest expiry.
    for (const doc of expiry) {
      expect(
        (doc._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]?.Dimensions,
      ).toEqual([['Service']]);
    }
    expect(docs.find((d) => 'SweepSecrets' in d)).toMatchObject({
      SweepSecrets: 2,
      SweepDue: 1,
      SweepExpired: 0,
    });
    const text = rec.lines.join('');
    expectNoSecretValue(f, text);
  });

  it('emits the rotations a sweep --now runs as completed rotations', async () => {
    const f = aFixture();
    seedAccount(f, 1, { expiresInHours: 10 });
    const rec = recording();
    const sweep = sweepOf(f, {}, f.atlas, {}, rec.metrics);
    const report = await sweep.execute({ rotateNow: true, namePrefix: undefined });
    expect(entryOf(report, 1).action).toBe('rotated');
    expect(rec.docs().filter((d) => d.RotationsCompleted === 1)).toHaveLength(1);
    expectNoSecretValue(f, rec.lines.join(''));
  });
});

describe('old-secret retirement (grace, in-use hold, "now", rotation during the grace)', () => {
  const GRACE = { oldSecretGraceHours: 2 };
  const sweepWith = (
    f: Fixture,
    events: RecordingRotationEventPublisher,
    metrics: RotationMetrics = NO_METRICS,
  ) =>
    new SweepSecrets(
      f.store,
      f.atlas,
      f.requests,
      { rotateSecret: rotateSecretOf(f, GRACE), tokenFor: tokenForRequestId },
      f.clock,
      f.logger,
      {
        rotateBeforeExpiryHours: 336,
        concurrency: 4,
        adminSecretAllowList: [],
        origins: aSettings().origins,
      },
      events,
      metrics,
    );
  const sweepOnce = (f: Fixture, events: RecordingRotationEventPublisher) =>
    sweepWith(f, events).execute({ rotateNow: false, namePrefix: undefined });
  const rotated = async (
    f: Fixture,
    n: number,
    settings: Partial<RotateSecretSettings> = GRACE,
    now = false,
  ) =>
    rotateSecretOf(f, settings).execute({
      secretId: arnOf(n),
      token: aToken(n * 10 + f.world.secretIds(clientIdOf(n)).length),
      ...(now ? { retireOldSecret: 'now' as const } : {}),
    });

  it('counts the old secret as awaiting retirement during its grace, and not once the sweep retired it', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000 });
    await rotated(f, 9);
    const lines: string[] = [];
    const metrics = new EmfRotationMetrics({
      namespace: 'AtlasRotator',
      service: 'test',
      write: (line) => lines.push(line),
      now: () => f.clock.now(),
    });
    const sweep = () =>
      sweepWith(f, new RecordingRotationEventPublisher(), metrics).execute({
        rotateNow: false,
        namePrefix: undefined,
      });
    const awaiting = () =>
      parseLines(lines.splice(0))
        .filter((d) => d.secretArn === arnOf(9) && 'OldSecretsAwaitingRetirement' in d)
        .map((d) => d.OldSecretsAwaitingRetirement);
    f.clock.advance(1 * HOUR_MS);
    expect(entryOf(await sweep(), 9).oldSecret?.action).toBe('in-grace');
    expect(awaiting()).toEqual([1]);
    f.clock.advance(1.5 * HOUR_MS);
    expect(entryOf(await sweep(), 9).oldSecret?.action).toBe('retired');
    expect(awaiting()).toEqual([0]);
  });

  it('keeps the old secret through its grace, then a sweep — any process — retires it and says so', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000 });
    const outcome = await rotated(f, 9);
    expect(outcome).toMatchObject({
      status: 'completed',
      deletedAtlasSecretIds: [],
      oldSecretRetirement: { oldAtlasSecretId: atlasSecretIdOf(9), retireAfter: inHours(2), reason: 'grace' },
    });
    expect(f.world.secretIds(clientIdOf(9))).toContain(atlasSecretIdOf(9));
    // The old value still works during the grace.
    expect(f.world.accepts(clientIdOf(9), secretValueOf(9))).toBe(true);

    const events = new RecordingRotationEventPublisher();
    f.clock.advance(1 * HOUR_MS);
    const during = await sweepOnce(f, events);
    expect(entryOf(during, 9).oldSecret).toEqual({
      oldAtlasSecretId: atlasSecretIdOf(9),
      retireAfter: inHours(2),
      action: 'in-grace',
    });
    expect(f.world.secretIds(clientIdOf(9))).toContain(atlasSecretIdOf(9));

    f.clock.advance(1.5 * HOUR_MS);
    // A new sweep object: nothing of the rotating run is left but what the secret records.
    const after = await sweepOnce(f, events);
    expect(entryOf(after, 9).oldSecret).toMatchObject({ action: 'retired', why: 'grace-over' });
    expect(f.world.secretIds(clientIdOf(9))).not.toContain(atlasSecretIdOf(9));
    expect(events.events.map((e) => e.detailType)).toEqual(['Atlas Old Secret Retired']);
    expect(validateEventDetail('Atlas Old Secret Retired', events.events[0]?.detail)).toEqual([]);
    expect(failureOf(entryOf(after, 9))).toBeUndefined();

    const again = await sweepOnce(f, events);
    expect(entryOf(again, 9).oldSecret).toMatchObject({ action: 'gone' });
    expect(events.events).toHaveLength(1);
    expectNoSecretValue(f, { during, after, again, events: events.events, outcome });
  });

  it('holds an old secret a consumer minted with after the promotion, names its last use, retires it at expiry', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000 });
    await rotated(f, 9);
    f.clock.advance(30 * 60_000);
    f.world.mint(clientIdOf(9), secretValueOf(9)); // a stale consumer
    f.clock.advance(3 * HOUR_MS);
    const events = new RecordingRotationEventPublisher();
    const held = await sweepOnce(f, events);
    expect(entryOf(held, 9).oldSecret).toMatchObject({ action: 'in-use', lastUsedAt: inHours(0.5) });
    expect(f.world.secretIds(clientIdOf(9))).toContain(atlasSecretIdOf(9));
    expect(events.events[0]?.detailType).toBe('Atlas Old Secret Still In Use');
    expect(events.events[0]?.detail).toMatchObject({
      oldAtlasSecretId: atlasSecretIdOf(9),
      lastUsedAt: inHours(0.5),
    });
    expect(validateEventDetail('Atlas Old Secret Still In Use', events.events[0]?.detail)).toEqual([]);

    // Atlas cut the old secret to seven days when the new one was created: it goes then at the latest.
    f.clock.advance(8 * 24 * HOUR_MS);
    const expired = await sweepOnce(f, events);
    expect(entryOf(expired, 9).oldSecret).toMatchObject({ action: 'retired', why: 'expired' });
    expect(f.world.secretIds(clientIdOf(9))).not.toContain(atlasSecretIdOf(9));
    expectNoSecretValue(f, { held, expired, events: events.events });
  });

  it('"now" retires the old secret at the promotion and is not held back by the minimum interval', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000 });
    const first = await rotated(f, 9);
    expect(first.status).toBe('completed');
    const leaked = await rotated(f, 9, { ...GRACE, minIntervalMs: 60 * 60_000 }, true);
    expect(leaked).toMatchObject({
      status: 'completed',
      oldSecretRetirement: { reason: 'now', retired: true },
    });
    // Both the first old secret (in grace) and the leaked one are gone: only the newest is left.
    expect(f.world.secretIds(clientIdOf(9))).toHaveLength(1);
    expect(f.logger.text()).toMatch(/requested as leaked/);
  });

  it('a rotation during the grace fails retryably with the time it becomes possible, deletes nothing, then goes on', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000 });
    await rotated(f, 9);
    const before = f.world.secretIds(clientIdOf(9));
    f.clock.advance(HOUR_MS);
    const early = await rotateSecretOf(f, GRACE).execute({ secretId: arnOf(9), token: aToken(77) });
    expect(early).toMatchObject({
      status: 'failed',
      errorCode: 'OLD_SECRET_IN_GRACE',
      retryable: true,
      retryAt: inHours(2),
    });
    expect(f.world.secretIds(clientIdOf(9))).toEqual(before);
    f.clock.advance(1.5 * HOUR_MS);
    const later = await rotateSecretOf(f, GRACE).execute({ secretId: arnOf(9), token: aToken(77) });
    expect(later).toMatchObject({ status: 'completed' });
    // Room was made: the first old secret went once its grace was over.
    expect(f.world.secretIds(clientIdOf(9))).not.toContain(atlasSecretIdOf(9));
  });

  it('a rotation needing the slot of an old secret still in use waits (OLD_SECRET_IN_USE) unless asked "now"', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000 });
    await rotated(f, 9);
    f.clock.advance(HOUR_MS);
    f.world.mint(clientIdOf(9), secretValueOf(9));
    f.clock.advance(2 * HOUR_MS);
    const held = await rotateSecretOf(f, GRACE).execute({ secretId: arnOf(9), token: aToken(78) });
    expect(held).toMatchObject({
      status: 'failed',
      errorCode: 'OLD_SECRET_IN_USE',
      retryable: true,
      retryAt: inHours(4),
    });
    expect(f.world.secretIds(clientIdOf(9))).toContain(atlasSecretIdOf(9));
    const now = await rotateSecretOf(f, GRACE).execute({
      secretId: arnOf(9),
      token: aToken(79),
      retireOldSecret: 'now',
    });
    expect(now).toMatchObject({ status: 'completed' });
    expect(f.world.secretIds(clientIdOf(9))).not.toContain(atlasSecretIdOf(9));
  });

  it('two sweeps at once retire the old secret once (one DELETE lands; events at least once, at most one per sweep)', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000 });
    await rotated(f, 9);
    f.clock.advance(3 * HOUR_MS);
    const events = new RecordingRotationEventPublisher();
    const reports = await Promise.all([sweepOnce(f, events), sweepOnce(f, events)]);
    const actions = reports.map((r) => entryOf(r, 9).oldSecret?.action).sort();
    expect(actions.every((a) => a === 'retired' || a === 'gone')).toBe(true);
    const deletes = f.atlas.calls.filter((c) => c.op === 'delete' && c.secretId === atlasSecretIdOf(9));
    expect(deletes.length).toBeGreaterThanOrEqual(1);
    expect(f.world.secretIds(clientIdOf(9))).not.toContain(atlasSecretIdOf(9));
    expect(events.events.length).toBeGreaterThanOrEqual(1);
    expect(events.events.length).toBeLessThanOrEqual(2);
  });

  it('a failed publish leaves the old secret for the next sweep (the event is not lost)', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000 });
    await rotated(f, 9);
    f.clock.advance(3 * HOUR_MS);
    const events = new RecordingRotationEventPublisher();
    events.failNext();
    const failed = await sweepOnce(f, events);
    expect(entryOf(failed, 9).oldSecret).toMatchObject({ action: 'retire-failed', retryable: true });
    expect(failed.summary.retryableFailures).toBe(1);
    expect(f.world.secretIds(clientIdOf(9))).toContain(atlasSecretIdOf(9));
    const next = await sweepOnce(f, events);
    expect(entryOf(next, 9).oldSecret).toMatchObject({ action: 'retired' });
    expect(events.events).toHaveLength(1);
  });

  it('a replay of the finished rotation after the grace retires the old secret opportunistically', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000 });
    const token = aToken(90);
    await rotateSecretOf(f, GRACE).execute({ secretId: arnOf(9), token });
    f.clock.advance(3 * HOUR_MS);
    const replay = await rotateSecretOf(f, GRACE).execute({ secretId: arnOf(9), token });
    expect(replay).toMatchObject({
      status: 'completed',
      deletedAtlasSecretIds: [atlasSecretIdOf(9)],
      oldSecretRetirement: { retired: true },
    });
  });

  it('an invalid grace tag is ignored with a logged reason; a valid one overrides the default', async () => {
    const f = aFixture();
    seedAccount(f, 9, { expiresInHours: 1000, tags: { 'atlas-rotator:oldSecretGraceHours': 'soon' } });
    seedAccount(f, 8, { expiresInHours: 1000, tags: { 'atlas-rotator:oldSecretGraceHours': '0.5' } });
    expect(await rotated(f, 9)).toMatchObject({ oldSecretRetirement: { retireAfter: inHours(2) } });
    expect(f.logger.text()).toMatch(/ignoring an invalid grace tag/);
    expect(await rotated(f, 8)).toMatchObject({ oldSecretRetirement: { retireAfter: inHours(0.5) } });
  });
});
