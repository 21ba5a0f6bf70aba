import { describe, expect, it } from 'vitest';
import { NodeCryptoIdGenerator } from '../../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { AtlasApiError, SecretStoreError } from '../../../src/application/infrastructure-errors.js';
import type { AtlasServiceAccounts } from '../../../src/application/ports/atlas-service-accounts.js';
import type { SecretStore } from '../../../src/application/ports/secret-store.js';
import { RotateSecret, type RotateSecretSettings } from '../../../src/application/rotate-secret.js';
import type { AtlasSecretId, RotationToken } from '../../../src/domain/identifiers.js';
import { TAG_CREATE_INTENT, TAG_ROTATION } from '../../../src/domain/rotation-metadata.js';
import type { RotationOutcome, RotationStepOutcome } from '../../../src/domain/rotation-outcome.js';
import {
  CLAIM_LABEL,
  claimedCredentialId,
  claimVersionId,
  contentOf,
  credentialVersionId,
  undoVersionId,
} from '../../../src/domain/rotation-protocol.js';
import {
  ADMIN_ATLAS_SECRET_ID,
  ADMIN_CLIENT_ID,
  ADMIN_SECRET_ARN,
  aSettings,
  aToken,
  CLIENT_ID,
  CURRENT_SECRET_ID,
  CURRENT_SECRET_VALUE,
  CURRENT_VERSION_ID,
  type ManagedSecretOptions,
  PREVIOUS_SECRET_ID,
  PREVIOUS_SECRET_VALUE,
  PREVIOUS_VERSION_ID,
  SECRET_ARN,
  SECRET_NAME,
  seedAdminSecret,
  seedOpenClaim as seedAnOpenClaim,
  seedManagedSecret,
} from '../../support/builders.js';
import { CallGate } from '../../support/call-gate.js';
import {
  AtlasWorld,
  type AtlasWorldOptions,
  InMemoryAtlasServiceAccounts,
} from '../../support/fake-atlas.js';
import { FixedClock } from '../../support/fixed-clock.js';
import { InMemorySecretStore } from '../../support/in-memory-secret-store.js';
import type { CallInterceptor } from '../../support/injected-failures.js';
import { RecordingLogger } from '../../support/recording-logger.js';

const TOKEN = aToken(1);
const ANOTHER_TOKEN = aToken(2);
const IDS = new NodeCryptoIdGenerator();
const LEASE_MS = 15 * 60_000;
/** The Secrets Manager calls that write. */
const WRITES = ['putVersion', 'moveStage'];

interface World {
  readonly clock: FixedClock;
  readonly atlasWorld: AtlasWorld;
  readonly state: InMemorySecretStore;
}

interface Process {
  readonly store: InMemorySecretStore;
  readonly atlas: InMemoryAtlasServiceAccounts;
  readonly logger: RecordingLogger;
  readonly useCase: RotateSecret;
  run(token?: RotationToken): Promise<RotationOutcome>;
  /** As Secrets Manager's rotation function step (`stopAfter`) would run it. */
  step(
    stopAfter: 'pending-stored' | 'verified' | undefined,
    token?: RotationToken,
  ): Promise<RotationStepOutcome>;
}

function aWorld(
  options: {
    readonly managed?: ManagedSecretOptions;
    readonly atlas?: AtlasWorldOptions;
    readonly admin?: boolean;
  } = {},
): World {
  const clock = new FixedClock();
  const atlasWorld = new AtlasWorld(() => clock.now(), options.atlas);
  const state = new InMemorySecretStore(new Map(), () => clock.now());
  seedManagedSecret(state, atlasWorld, options.managed);
  if (options.admin === true) seedAdminSecret(state, atlasWorld);
  return { clock, atlasWorld, state };
}

/**
 * A fresh process over the world: its own store and Atlas adapters, token cache and logs. `wrap` puts a gate
 * (test/support/call-gate.ts) in front of either port.
 */
function aProcess(
  world: World,
  settings: Partial<RotateSecretSettings> = {},
  wrap: {
    readonly store?: (s: SecretStore) => SecretStore;
    readonly atlas?: (a: AtlasServiceAccounts) => AtlasServiceAccounts;
    readonly entry?: 'request' | 'rotation-function';
  } = {},
): Process {
  const store = world.state.reopen();
  const atlas = new InMemoryAtlasServiceAccounts(world.atlasWorld);
  const logger = new RecordingLogger();
  const useCase = new RotateSecret(
    wrap.store ? wrap.store(store) : store,
    wrap.atlas ? wrap.atlas(atlas) : atlas,
    world.clock,
    logger,
    aSettings(settings),
    IDS,
  );
  const entry = wrap.entry ?? 'request';
  return {
    store,
    atlas,
    logger,
    useCase,
    run: (token = TOKEN) => useCase.execute({ secretId: SECRET_NAME, token, entry }),
    step: (stopAfter, token = TOKEN) =>
      useCase.execute({
        secretId: SECRET_NAME,
        token,
        entry,
        ...(stopAfter === undefined ? {} : { stopAfter }),
      }),
  };
}

/** The version AWSPENDING is on when it is not AWSCURRENT's: a rotation left pending. */
function pendingNotCurrent(world: World) {
  const version = world.state.versionWith(SECRET_ARN, 'AWSPENDING');
  return version?.stages.includes('AWSCURRENT') ? undefined : version;
}

/** Claims whose attempt never wrote its credential version (nor a tombstone): a run still holds them. */
function openClaimIds(world: World): string[] {
  const versions = world.state.secret(SECRET_ARN).versions;
  return versions
    .map((v) => claimedCredentialId(v.versionId))
    .filter((id): id is string => id !== undefined)
    .filter((id) => versions.find((v) => v.versionId === id)?.value === undefined);
}

/** What version `versionId` holds, classified (claim, tombstone, credential, placeholder). */
function contentAt(world: World, versionId: string) {
  const version = world.state.secret(SECRET_ARN).versions.find((v) => v.versionId === versionId);
  return version === undefined ? undefined : contentOf(version.value);
}

/** Every Secrets Manager call, in order: the method, with the stage or VersionId it names. */
function storeCalls(process: Process): string[] {
  return process.store.calls.map((c) =>
    [c.method, c.stage, c.versionId].filter((part) => part !== undefined).join(' '),
  );
}

function writes(process: Process): string[] {
  return process.store.calls.filter((c) => WRITES.includes(c.method)).map((c) => c.method);
}

/** An open claim of another run (attempt 1 of `token`), as a live or crashed run leaves it. */
function seedOpenClaim(world: World, token: RotationToken, claimedAt: string) {
  seedAnOpenClaim(world.state, token, claimedAt);
}

function current(world: World): Record<string, unknown> {
  const json = world.state.jsonAt(SECRET_ARN, 'AWSCURRENT');
  if (json === undefined) throw new Error('no AWSCURRENT');
  return json;
}

function currentWorks(world: World): boolean {
  const json = current(world);
  return world.atlasWorld.accepts(String(json.clientId), String(json.clientSecret));
}

function tags(world: World): Record<string, string> {
  return world.state.secret(SECRET_ARN).tags;
}

/**
 * Everything that a rotation may change, to compare before and after a run (lastUsedAt aside: a token mint
 * stamps it, and minting changes nothing).
 */
function snapshot(world: World) {
  return {
    stages: world.state.stagesOf(SECRET_ARN),
    tags: { ...tags(world) },
    atlasSecrets: world.atlasWorld
      .account(CLIENT_ID)
      .secrets.map(({ lastUsedAt: _used, ...s }) => ({ ...s })),
  };
}

function expectFailed(outcome: RotationStepOutcome, errorCode: string) {
  expect(outcome.status).toBe('failed');
  if (outcome.status !== 'failed') throw new Error('unreachable');
  expect(outcome.errorCode).toBe(errorCode);
  return outcome;
}

function expectCompleted(outcome: RotationStepOutcome) {
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 'completed' });
  if (outcome.status !== 'completed') throw new Error('unreachable');
  return outcome;
}

/**
 * The state every rotation must end in, however often it crashed on the way: AWSCURRENT works and its Atlas
 * secret is the only one; nothing is pending, no claim is open, no tag was written; and running the token again
 * creates nothing and changes nothing. (ADR 0003's version of this also asserted that the replay made no Atlas
 * call at all; under ADR 0007 a replay of the current rotation finishes it — deleting the secret it replaced if
 * still there — so it may mint and DELETE, but must not change anything.)
 */
async function expectConverged(
  world: World,
  settings: Partial<RotateSecretSettings> = {},
  token: RotationToken = TOKEN,
) {
  expect(currentWorks(world)).toBe(true);
  const live = world.atlasWorld.secretIds(CLIENT_ID);
  // A credential never rotated by atlas-rotator (and rolled back) records no id: its one secret works.
  expect(live).toEqual(
    current(world).atlasSecretId === undefined ? [live[0]] : [current(world).atlasSecretId],
  );
  expect(pendingNotCurrent(world)).toBeUndefined();
  expect(openClaimIds(world)).toEqual([]);
  expect(tags(world)).not.toHaveProperty(TAG_ROTATION);
  expect(tags(world)).not.toHaveProperty(TAG_CREATE_INTENT);
  const before = snapshot(world);
  const again = aProcess(world, settings);
  const outcome = await again.run(token);
  expect(
    outcome.status === 'completed' || outcome.errorCode === 'ROTATION_ROLLED_BACK',
    JSON.stringify(outcome),
  ).toBe(true);
  expect(again.atlas.ops()).not.toContain('create');
  expect(writes(again)).toEqual([]);
  expect(snapshot(world)).toEqual(before);
}

describe('RotateSecret', () => {
  describe('happy path', () => {
    it('rotates in self mode within the Atlas call budget', async () => {
      const world = aWorld();
      const process = aProcess(world);

      const outcome = expectCompleted(await process.run());

      expect(process.atlas.calls.map((c) => [c.op, c.as])).toEqual([
        ['token', undefined],
        // AWSCURRENT was proven by the mint and names its Atlas secret: the create goes first (ADR 0015).
        ['create', CURRENT_SECRET_ID],
        ['token', undefined],
        // The replaced credential deletes its own secret (its token is cached), while the new one's is revoked.
        ['delete', CURRENT_SECRET_ID],
        ['revoke', undefined],
      ]);
      expect(process.atlas.calls.find((c) => c.op === 'delete')?.secretId).toBe(CURRENT_SECRET_ID);
      expect(outcome).toMatchObject({
        rotationId: TOKEN,
        secretArn: SECRET_ARN,
        mode: 'self',
        clientId: CLIENT_ID,
        deletedAtlasSecretIds: [CURRENT_SECRET_ID],
        alreadyCompleted: false,
      });
    });

    it('writes to Secrets Manager three times: the claim, the credential, the promotion', async () => {
      const world = aWorld();
      const process = aProcess(world);

      expectCompleted(await process.run());

      expect(process.store.calls.filter((c) => WRITES.includes(c.method))).toEqual([
        { method: 'putVersion', secretId: SECRET_ARN, versionId: claimVersionId(TOKEN) },
        { method: 'putVersion', secretId: SECRET_ARN, versionId: TOKEN },
        {
          method: 'moveStage',
          secretId: SECRET_ARN,
          versionId: TOKEN,
          stage: 'AWSCURRENT',
          fromVersionId: CURRENT_VERSION_ID,
        },
      ]);
    });

    it('promotes the new credential and keeps the old one as AWSPREVIOUS', async () => {
      const world = aWorld();

      const outcome = expectCompleted(await aProcess(world).run());

      // ADR 0007: AWSPENDING stays beside AWSCURRENT (Secrets Manager reads that as "no rotation in progress").
      expect(world.state.stagesOf(SECRET_ARN)).toEqual({
        [CURRENT_VERSION_ID]: ['AWSPREVIOUS'],
        [claimVersionId(TOKEN)]: [CLAIM_LABEL],
        [TOKEN]: ['AWSCURRENT', 'AWSPENDING'],
      });
      expect(current(world).atlasSecretId).toBe(outcome.newAtlasSecretId);
      expect(current(world).atlasSecretExpiresAt).toBe(outcome.newSecretExpiresAt);
      expect(world.atlasWorld.accepts(CLIENT_ID, CURRENT_SECRET_VALUE)).toBe(false);
      await expectConverged(world);
    });

    it('carries the fields it does not own over to the new version', async () => {
      const world = aWorld({ managed: { extra: { connectionString: 'mongodb+srv://orders.example.net' } } });

      expectCompleted(await aProcess(world).run());

      expect(current(world).connectionString).toBe('mongodb+srv://orders.example.net');
    });

    it('never logs a secret value', async () => {
      const world = aWorld();
      const process = aProcess(world);

      expectCompleted(await process.run());

      expect(process.logger.text()).not.toContain(CURRENT_SECRET_VALUE);
      expect(process.logger.text()).not.toContain(String(current(world).clientSecret));
    });

    it('deletes the old secret of a credential it never rotated before', async () => {
      const world = aWorld({ managed: { recordsAtlasSecretId: false } });
      const process = aProcess(world);

      const outcome = expectCompleted(await process.run());

      expect(outcome.deletedAtlasSecretIds).toEqual([CURRENT_SECRET_ID]);
      await expectConverged(world);
    });

    it('asks for the org maximum lifetime when Atlas refuses the configured one', async () => {
      const world = aWorld({ atlas: { maxSecretValidityHours: 240 } });
      const process = aProcess(world, { secretExpiresAfterHours: 720 });

      expectCompleted(await process.run());

      // Created first (refused: 400), room made, refused again, the org maximum read, created at it.
      expect(process.atlas.calls.filter((c) => c.op === 'create').map((c) => c.hours)).toEqual([
        720, 720, 240,
      ]);
      expect(process.atlas.ops()).toContain('settings');
      await expectConverged(world);
    });

    it('ignores the lease and intent tags of the old protocol (ADR 0003) and leaves them alone', async () => {
      const leftOver = {
        [TAG_ROTATION]: `${ANOTHER_TOKEN} 2025-06-02T08:59:00.000Z`,
        [TAG_CREATE_INTENT]: `${ANOTHER_TOKEN} 2025-06-02T08:59:00.000Z -`,
      };
      const world = aWorld({ managed: { tags: leftOver } });
      const process = aProcess(world);

      expectCompleted(await process.run());

      expect(tags(world)).toMatchObject(leftOver);
      expect(writes(process)).toHaveLength(3);
    });
  });

  describe('admin-assisted mode', () => {
    const adminTags = { 'atlas-rotator:adminSecretArn': ADMIN_SECRET_ARN };

    it('manages the secrets with the admin credential and verifies with the new one', async () => {
      const world = aWorld({ managed: { tags: adminTags, roles: [] }, admin: true });
      const process = aProcess(world, { adminSecretAllowList: [ADMIN_SECRET_ARN] });

      const outcome = expectCompleted(await process.run());

      expect(outcome.mode).toBe('admin');
      const byAdmin = process.atlas.calls.filter((c) => c.clientId === ADMIN_CLIENT_ID).map((c) => c.op);
      expect(byAdmin).toEqual(['token', 'get', 'create', 'delete']);
      const byAccount = process.atlas.calls.filter((c) => c.clientId === CLIENT_ID).map((c) => c.op);
      expect(byAccount).toEqual(['token', 'revoke']);
      expect(world.atlasWorld.secretIds(ADMIN_CLIENT_ID)).toEqual([ADMIN_ATLAS_SECRET_ID]);
      await expectConverged(world, { adminSecretAllowList: [ADMIN_SECRET_ARN] });
    });

    it('verifies an account that may not read itself (an Organization Member) by minting, without rolling back', async () => {
      const world = aWorld({ managed: { tags: adminTags, roles: ['ORG_MEMBER'] }, admin: true });
      const process = aProcess(world, { adminSecretAllowList: [ADMIN_SECRET_ARN] });

      const outcome = expectCompleted(await process.run());

      const byAccount = process.atlas.calls.filter((c) => c.clientId === CLIENT_ID);
      expect(byAccount.map((c) => c.op)).toEqual(['token', 'revoke']);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([outcome.newAtlasSecretId]);
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(TOKEN);
      await expectConverged(world, { adminSecretAllowList: [ADMIN_SECRET_ARN] });
    });

    it('accepts an admin secret matched by an allow-list prefix', async () => {
      const world = aWorld({ managed: { tags: adminTags }, admin: true });
      const process = aProcess(world, {
        adminSecretAllowList: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/*'],
      });

      expectCompleted(await process.run());
    });

    it('refuses an admin secret that is not on the allow-list, before calling Atlas', async () => {
      const world = aWorld({ managed: { tags: adminTags }, admin: true });
      const before = snapshot(world);
      const process = aProcess(world, {
        adminSecretAllowList: ['arn:aws:secretsmanager:eu-west-1:1:secret:x'],
      });

      const failed = expectFailed(await process.run(), 'ADMIN_SECRET_NOT_ALLOWED');

      expect(failed.retryable).toBe(false);
      expect(process.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });
  });

  describe('refusals', () => {
    it('refuses a secret that is not tagged as managed and changes nothing', async () => {
      const world = aWorld({ managed: { tags: { 'atlas-rotator:managed': 'false' } } });
      const before = snapshot(world);
      const process = aProcess(world);

      expectFailed(await process.run(), 'SECRET_NOT_MANAGED');

      // The reads of step 1 run in parallel; the description alone decides, and nothing is written.
      expect(writes(process)).toEqual([]);
      expect(process.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('fails with SECRET_NOT_FOUND for an unknown secret', async () => {
      const world = aWorld();
      const process = aProcess(world);

      const failed = expectFailed(
        await process.useCase.execute({ secretId: 'atlas/nope', token: TOKEN }),
        'SECRET_NOT_FOUND',
      );

      expect(failed.retryable).toBe(false);
    });

    it('refuses with ROTATION_CONFLICT, writing nothing, a secret whose native rotation uses another function', async () => {
      const world = aWorld({
        managed: {
          nativeRotation: {
            enabled: true,
            lambdaArn: 'arn:aws:lambda:eu-west-1:123456789012:function:other',
          },
        },
      });
      const before = snapshot(world);
      const process = aProcess(world);

      const failed = expectFailed(await process.run(), 'ROTATION_CONFLICT');

      expect(failed.retryable).toBe(false);
      expect(failed.message).toContain('function:other');
      expect(failed.message).toContain('aws secretsmanager rotate-secret');
      expect(writes(process)).toEqual([]);
      expect(process.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('refuses with ROTATION_CONFLICT a managed external secret that AWS rotates itself', async () => {
      const world = aWorld({ managed: { type: 'MongoDBAtlasServiceAccount' } });
      const before = snapshot(world);
      const process = aProcess(world, {}, { entry: 'rotation-function' });

      expectFailed(await process.run(), 'ROTATION_CONFLICT');

      expect(writes(process)).toEqual([]);
      expect(process.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });
  });

  describe('reading AWSPREVIOUS only where a step needs it (ADR 0016)', () => {
    const unavailable = () =>
      new SecretStoreError('SECRET_STORE_UNAVAILABLE', 'Secrets Manager is unavailable', true);
    /** Every round's read: DescribeSecret ‖ ListSecretVersionIds ‖ AWSCURRENT. */
    const READ = ['describe', 'listVersions', 'getValue AWSCURRENT'];

    it('makes three reads and three writes on the usual path: AWSPREVIOUS is not read', async () => {
      // The steady state: AWSPREVIOUS is the last rotation's old value, its Atlas secret retired.
      const world = aWorld({ managed: { previous: { inAtlas: false } } });
      const process = aProcess(world);

      expectCompleted(await process.run());

      expect(storeCalls(process)).toEqual([
        ...READ,
        `putVersion ${claimVersionId(TOKEN)}`,
        `putVersion ${TOKEN}`,
        `moveStage AWSCURRENT ${TOKEN}`,
      ]);
      expect(process.atlas.ops()).not.toContain('get');
      await expectConverged(world);
    });

    it('reads AWSPREVIOUS once, by its VersionId, when the create does not fit, and deletes its secret as before', async () => {
      const world = aWorld({ managed: { previous: { inAtlas: true } } });
      const process = aProcess(world);

      const completed = expectCompleted(await process.run());

      expect(storeCalls(process)).toEqual([
        ...READ,
        `putVersion ${claimVersionId(TOKEN)}`,
        // The create was refused (both slots taken): did another run take the slot? No: make room.
        'listVersions',
        // Beside the account's listing: the room plan weighs AWSPREVIOUS's secret.
        `getValue ${PREVIOUS_VERSION_ID}`,
        `putVersion ${TOKEN}`,
        `moveStage AWSCURRENT ${TOKEN}`,
      ]);
      const deleted = process.atlas.calls.filter((c) => c.op === 'delete').map((c) => c.secretId);
      expect(deleted).toEqual([PREVIOUS_SECRET_ID, CURRENT_SECRET_ID]);
      // The completed event names both: the one deleted to make room and the one the promotion retired.
      expect([...completed.deletedAtlasSecretIds].sort()).toEqual(
        [PREVIOUS_SECRET_ID, CURRENT_SECRET_ID].sort(),
      );
      await expectConverged(world);
    });

    it('reads AWSPREVIOUS once when the identity pin read it already (AWSCURRENT a value it never wrote)', async () => {
      const world = aWorld({
        managed: { recordsAtlasSecretId: false, previous: { inAtlas: true, recordsAtlasSecretId: false } },
      });
      const process = aProcess(world);

      expectCompleted(await process.run());

      expect(storeCalls(process).filter((c) => c.startsWith('getValue'))).toEqual([
        'getValue AWSCURRENT',
        `getValue ${PREVIOUS_VERSION_ID}`,
      ]);
      const deleted = process.atlas.calls.filter((c) => c.op === 'delete').map((c) => c.secretId);
      expect(deleted).toEqual([PREVIOUS_SECRET_ID, CURRENT_SECRET_ID]);
    });

    it('fails retryably at make-room when the deferred read fails, creating nothing, and the next run completes', async () => {
      const world = aWorld({ managed: { previous: { inAtlas: true } } });
      const before = snapshot(world);
      const process = aProcess(world);
      // getValue 1 is AWSCURRENT's; 2 is AWSPREVIOUS's, read when room must be made.
      process.store.failOn('getValue', unavailable(), { nth: 2 });

      const failed = expectFailed(await process.run(), 'SECRET_STORE_UNAVAILABLE');

      expect(failed).toMatchObject({ retryable: true, stage: 'make-room' });
      expect(snapshot(world).atlasSecrets).toEqual(before.atlasSecrets);
      expect(contentAt(world, TOKEN)).toMatchObject({
        kind: 'tombstone',
        tombstone: { reason: 'nothing-created' },
      });
      const lines = `${process.logger.text()}\n${JSON.stringify(failed)}`;
      for (const secret of [CURRENT_SECRET_VALUE, PREVIOUS_SECRET_VALUE]) expect(lines).not.toContain(secret);
      expectCompleted(await aProcess(world).run());
      await expectConverged(world);
    });

    it('never deletes a secret by guess when AWSPREVIOUS cannot be read (not found: no previous, as before)', async () => {
      const world = aWorld({ managed: { previous: { inAtlas: true } } });
      const process = aProcess(world);
      const notFound = new SecretStoreError('SECRET_NOT_FOUND', 'no such version', false);
      // AWSPREVIOUS's read, and the room plan's read of the versions that may name the unplaced secret.
      process.store.failOn('getValue', notFound, { nth: 2, times: 2 });

      const failed = expectFailed(await process.run(), 'ATLAS_SECRET_LIMIT');

      expect(failed.message).toContain(PREVIOUS_SECRET_ID);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([PREVIOUS_SECRET_ID, CURRENT_SECRET_ID]);
      expect(process.atlas.ops()).not.toContain('delete');
    });

    it('reads AWSPREVIOUS with the decision after a rollback: the minimum interval dates by the restored version', async () => {
      const world = aWorld();
      const restoredAt = world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.createdAt;
      const failing = aProcess(world);
      // The new secret's verifying mint is refused for good: the run rolls back.
      failing.atlas.failOn(
        'token',
        new AtlasApiError('ATLAS_BAD_REQUEST', 'invalid_grant', false, 400, 'invalid_grant'),
        { nth: 2 },
      );
      expectFailed(await failing.run(), 'VERIFICATION_FAILED');
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(undoVersionId(TOKEN));
      const settings = { minIntervalMs: 60 * 60_000 };
      const process = aProcess(world, settings);

      const tooSoon = expectFailed(await process.run(ANOTHER_TOKEN), 'ROTATION_TOO_SOON');

      expect(tooSoon.message).toContain(new Date(Date.parse(restoredAt ?? '') + 60 * 60_000).toISOString());
      expect(storeCalls(process)).toEqual([...READ, `getValue ${CURRENT_VERSION_ID}`]);
      expect(process.atlas.calls).toEqual([]);
      world.clock.advance(60 * 60_000);
      expectCompleted(await aProcess(world, settings).run(ANOTHER_TOKEN));
    });

    it('finishes its own promoted rotation by reading AWSPREVIOUS then: the old secret it replaced is deleted', async () => {
      const world = aWorld();
      const interrupted = aProcess(world);
      interrupted.atlas.failOn(
        'delete',
        new AtlasApiError('ATLAS_TIMEOUT', 'timed out', true, undefined, undefined),
        { times: 3 },
      );
      expectFailed(await interrupted.run(), 'ATLAS_TIMEOUT');
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(TOKEN);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toContain(CURRENT_SECRET_ID);
      const replay = aProcess(world);

      const outcome = expectCompleted(await replay.run());

      expect(outcome.deletedAtlasSecretIds).toEqual([CURRENT_SECRET_ID]);
      expect(storeCalls(replay)).toEqual([...READ, `getValue ${CURRENT_VERSION_ID}`]);
      await expectConverged(world);
    });
  });

  describe('making room in Atlas', () => {
    const unknownSecret = {
      id: 'bbbbbbbbbbbbbbbbbbbbbbbb' as AtlasSecretId,
      createdAt: '2025-05-01T00:00:00.000Z',
      expiresAt: '2026-05-01T00:00:00.000Z',
    };

    it('stops with ATLAS_SECRET_LIMIT when a secret of no version holds the second slot, and hands over at once', async () => {
      const world = aWorld({ managed: { unknownAtlasSecrets: [unknownSecret] } });
      const before = snapshot(world);
      const process = aProcess(world);

      const failed = expectFailed(await process.run(), 'ATLAS_SECRET_LIMIT');

      expect(failed.message).toContain(unknownSecret.id);
      expect(failed.message).not.toContain(CURRENT_SECRET_ID);
      // One create first (ADR 0015), refused for want of a slot; none after the room plan refused.
      expect(process.atlas.ops().filter((op) => op === 'create')).toHaveLength(1);
      expect(process.atlas.ops().indexOf('create')).toBeLessThan(process.atlas.ops().indexOf('get'));
      // ADR 0003 left no trace at all; ADR 0007 leaves its claim closed by a tombstone.
      expect(snapshot(world).atlasSecrets).toEqual(before.atlasSecrets);
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(CURRENT_VERSION_ID);
      expect(contentAt(world, TOKEN)).toMatchObject({
        kind: 'tombstone',
        tombstone: { reason: 'nothing-created' },
      });
      expect(openClaimIds(world)).toEqual([]);
    });

    it('deletes a secret of no version when allowed to', async () => {
      const world = aWorld({ managed: { unknownAtlasSecrets: [unknownSecret] } });
      const process = aProcess(world, { deleteUnknownSecrets: true });

      expectCompleted(await process.run());

      const deleted = process.atlas.calls.filter((c) => c.op === 'delete').map((c) => c.secretId);
      expect(deleted).toEqual([unknownSecret.id, CURRENT_SECRET_ID]);
      await expectConverged(world);
    });

    it('deletes an expired secret to make room', async () => {
      const expired = { ...unknownSecret, expiresAt: '2025-06-01T00:00:00.000Z' };
      const world = aWorld({ managed: { unknownAtlasSecrets: [expired] } });
      const process = aProcess(world);

      expectCompleted(await process.run());

      expect(process.atlas.calls.filter((c) => c.op === 'delete')[0]?.secretId).toBe(expired.id);
      await expectConverged(world);
    });

    it("deletes AWSPREVIOUS's secret to make room", async () => {
      const world = aWorld({ managed: { previous: { inAtlas: true } } });
      const process = aProcess(world);

      expectCompleted(await process.run());

      const deleted = process.atlas.calls.filter((c) => c.op === 'delete').map((c) => c.secretId);
      expect(deleted).toEqual([PREVIOUS_SECRET_ID, CURRENT_SECRET_ID]);
      expect(world.state.versionWith(SECRET_ARN, 'AWSPREVIOUS')?.versionId).toBe(CURRENT_VERSION_ID);
      expect(world.state.stagesOf(SECRET_ARN)[PREVIOUS_VERSION_ID]).toEqual([]);
      await expectConverged(world);
    });

    it('adopts a secret it never wrote from evidence: AWSPREVIOUS holds the second slot, its mask names it', async () => {
      const world = aWorld({
        managed: { recordsAtlasSecretId: false, previous: { inAtlas: true, recordsAtlasSecretId: false } },
      });
      const process = aProcess(world);

      const outcome = expectCompleted(await process.run());

      const deleted = process.atlas.calls.filter((c) => c.op === 'delete').map((c) => c.secretId);
      expect(deleted).toEqual([PREVIOUS_SECRET_ID, CURRENT_SECRET_ID]);
      // Every secret the rotation deleted, as the completed event's schema says: AWSPREVIOUS's, to make room,
      // then AWSCURRENT's, at the promotion (the make-room deletion used to be left out).
      expect(outcome.deletedAtlasSecretIds).toEqual([PREVIOUS_SECRET_ID, CURRENT_SECRET_ID]);
      await expectConverged(world);
    });

    it("tells AWSCURRENT's secret from a look-alike by the token it just minted (lastUsedAt)", async () => {
      // Same last four characters as AWSCURRENT's value: the mask alone cannot tell them apart.
      const lookAlike = { ...unknownSecret, value: 'mdb_sa_sk_look_alike_0001' };
      const world = aWorld({ managed: { recordsAtlasSecretId: false, unknownAtlasSecrets: [lookAlike] } });
      const process = aProcess(world, { deleteUnknownSecrets: true });

      const outcome = expectCompleted(await process.run());

      expect(process.atlas.calls.filter((c) => c.op === 'delete').map((c) => c.secretId)).toEqual([
        unknownSecret.id,
        CURRENT_SECRET_ID,
      ]);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([outcome.newAtlasSecretId]);
    });
  });

  describe('failures', () => {
    const unavailable = () =>
      new SecretStoreError('SECRET_STORE_UNAVAILABLE', 'Secrets Manager is unavailable', true);

    it('deletes the new Atlas secret when storing it fails, and hands over at once', async () => {
      const world = aWorld();
      const process = aProcess(world);
      // putVersion 1 is the claim; 2 and its retry 3 store the credential.
      process.store.failOn('putVersion', unavailable(), { nth: 2, times: 2 });

      const failed = expectFailed(await process.run(), 'SECRET_STORE_UNAVAILABLE');

      expect(failed.stage).toBe('store-pending');
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([CURRENT_SECRET_ID]);
      expect(currentWorks(world)).toBe(true);
      expect(current(world).atlasSecretId).toBe(CURRENT_SECRET_ID);
      expect(contentAt(world, TOKEN)).toMatchObject({
        kind: 'tombstone',
        tombstone: { reason: 'maybe-created' },
      });
      expectCompleted(await aProcess(world).run(ANOTHER_TOKEN));
      await expectConverged(world, {}, ANOTHER_TOKEN);
    });

    it('goes on when the AWSPENDING write landed although its answer was lost', async () => {
      const world = aWorld();
      const process = aProcess(world);
      process.store.failOn('putVersion', unavailable(), { nth: 2, afterEffect: true });

      const outcome = expectCompleted(await process.run());

      expect(process.atlas.ops().filter((op) => op === 'create')).toHaveLength(1);
      expect(outcome.deletedAtlasSecretIds).toEqual([CURRENT_SECRET_ID]);
      await expectConverged(world);
    });

    it('releases its attempt at once when Atlas refuses the create, since nothing was created', async () => {
      const world = aWorld();
      const process = aProcess(world);
      process.atlas.failOn(
        'create',
        new AtlasApiError('ATLAS_FORBIDDEN', 'Atlas refused', false, 403, 'USER_UNAUTHORIZED'),
      );

      const failed = expectFailed(await process.run(), 'ATLAS_FORBIDDEN');

      expect(failed.stage).toBe('create');
      expect(contentAt(world, TOKEN)).toMatchObject({
        kind: 'tombstone',
        tombstone: { reason: 'nothing-created' },
      });
      expect(openClaimIds(world)).toEqual([]);
      // The same request id may simply be tried again once the cause is fixed: it gets attempt 2.
      expectCompleted(await aProcess(world).run());
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(
        credentialVersionId(TOKEN, 2, (t) => IDS.digestId(t)),
      );
      await expectConverged(world);
    });

    it('keeps the new secret when the store cannot say whether the lost write landed', async () => {
      const world = aWorld();
      const process = aProcess(world);
      // The credential lands but no answer comes back, its retry fails, and so does the closing tombstone.
      process.store.failOn('putVersion', unavailable(), { nth: 2, afterEffect: true });
      process.store.failOn('putVersion', unavailable(), { nth: 3, times: 3 });

      const failed = expectFailed(await process.run(), 'SECRET_STORE_UNAVAILABLE');

      expect(failed.retryable).toBe(true);
      expect(pendingNotCurrent(world)?.versionId).toBe(TOKEN);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toHaveLength(2);
      const resumed = aProcess(world);
      expectCompleted(await resumed.run());
      expect(resumed.atlas.ops()).not.toContain('create');
      await expectConverged(world);
    });

    it('leaves an orphan the next attempt deletes when the unsaved Atlas secret cannot be deleted', async () => {
      const world = aWorld();
      const process = aProcess(world);
      process.store.failOn('putVersion', unavailable(), { nth: 2, times: 2 });
      process.atlas.failOn(
        'delete',
        new AtlasApiError('ATLAS_TIMEOUT', 'timed out', true, undefined, undefined),
      );

      expectFailed(await process.run(), 'SECRET_STORE_UNAVAILABLE');

      expect(world.atlasWorld.secretIds(CLIENT_ID)).toHaveLength(2);
      expect(contentAt(world, TOKEN)).toMatchObject({ kind: 'tombstone' });
      const next = aProcess(world);
      expectCompleted(await next.run());
      expect(next.atlas.calls.filter((c) => c.op === 'delete')).toHaveLength(2);
      await expectConverged(world);
    });

    it('rolls back when the new secret never works: AWSCURRENT keeps its credential, on an undo copy', async () => {
      const world = aWorld({ atlas: { newSecretUsableAfterMs: 3_600_000 } });
      const before = snapshot(world);
      const process = aProcess(world);

      const failed = expectFailed(await process.run(), 'VERIFICATION_FAILED');

      expect(failed).toMatchObject({ retryable: false, atlasErrorCode: 'invalid_client' });
      expect(world.clock.sleeps).toEqual([1_000, 2_000, 4_000]);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([CURRENT_SECRET_ID]);
      expect(pendingNotCurrent(world)).toBeUndefined();
      // ADR 0007: AWSCURRENT moves to undo-<token>, a copy of the value it held; AWSPREVIOUS names the same.
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(undoVersionId(TOKEN));
      expect(world.state.versionWith(SECRET_ARN, 'AWSPREVIOUS')?.versionId).toBe(CURRENT_VERSION_ID);
      expect(current(world)).toEqual(
        JSON.parse(world.state.secret(SECRET_ARN).versions[0]?.value?.reveal() ?? ''),
      );
      expect(tags(world)).toEqual(before.tags);
      expect(currentWorks(world)).toBe(true);
    });

    it('says until when AWSCURRENT still works after a rollback (Atlas shortened it)', async () => {
      const world = aWorld({ atlas: { newSecretUsableAfterMs: 3_600_000 } });
      const process = aProcess(world);

      const failed = expectFailed(await process.run(), 'VERIFICATION_FAILED');

      const expiresAt = new Date(world.clock.now().getTime() + 7 * 24 * 3_600_000);
      expect(failed.message).toContain(
        `Atlas shortened AWSCURRENT's secret ${CURRENT_SECRET_ID} to expire at`,
      );
      expect(failed.message).toContain(expiresAt.toISOString().slice(0, 13));
      expect(currentWorks(world)).toBe(true);
    });

    it('rolls back at once when the new secret is refused for good', async () => {
      const world = aWorld();
      const process = aProcess(world);
      const refused = new AtlasApiError('ATLAS_BAD_REQUEST', 'invalid_grant', false, 400, 'invalid_grant');
      process.atlas.failOn('token', refused, { nth: 2 });

      expectFailed(await process.run(), 'VERIFICATION_FAILED');

      expect(world.clock.sleeps).toEqual([]);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([CURRENT_SECRET_ID]);
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(undoVersionId(TOKEN));
      expect(currentWorks(world)).toBe(true);
    });

    it('answers a rolled-back rotation run again without touching Atlas', async () => {
      const world = aWorld({ atlas: { newSecretUsableAfterMs: 3_600_000 } });
      expectFailed(await aProcess(world).run(), 'VERIFICATION_FAILED');
      const before = snapshot(world);
      const again = aProcess(world);

      expectFailed(await again.run(), 'ROTATION_ROLLED_BACK');

      expect(again.atlas.calls).toEqual([]);
      expect(writes(again)).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('verifies again while Atlas still answers invalid_client for the new secret', async () => {
      const world = aWorld({ atlas: { newSecretUsableAfterMs: 2_500 } });
      const process = aProcess(world);

      expectCompleted(await process.run());

      expect(world.clock.sleeps).toEqual([1_000, 2_000]);
      await expectConverged(world);
    });

    it('leaves a retryable Atlas failure to be resumed from the stored credential', async () => {
      const world = aWorld();
      const process = aProcess(world);
      const unavailableAtlas = new AtlasApiError(
        'ATLAS_UNAVAILABLE',
        'Atlas answered 503',
        true,
        503,
        undefined,
      );
      process.atlas.failOn('token', unavailableAtlas, { nth: 2 });

      const failed = expectFailed(await process.run(), 'ATLAS_UNAVAILABLE');

      expect(failed).toMatchObject({ retryable: true, stage: 'verify', atlasStatus: 503 });
      expect(pendingNotCurrent(world)?.versionId).toBe(TOKEN);
      expect(current(world).atlasSecretId).toBe(CURRENT_SECRET_ID);
      const resumed = aProcess(world);
      expectCompleted(await resumed.run());
      expect(resumed.atlas.ops()).not.toContain('create');
      await expectConverged(world);
    });

    it('leaves no orphan when the answer to the create POST is lost', async () => {
      const world = aWorld();
      const process = aProcess(world);
      process.atlas.failOn('create', new Error('socket hang up'), { afterEffect: true });

      expectFailed(await process.run(), 'INTERNAL_ERROR');
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toHaveLength(2);
      expect(contentAt(world, TOKEN)).toMatchObject({
        kind: 'tombstone',
        tombstone: { reason: 'maybe-created' },
      });

      const resumed = aProcess(world);
      expectCompleted(await resumed.run());
      expect(resumed.atlas.calls.filter((c) => c.op === 'delete')).toHaveLength(2);
      await expectConverged(world);
    });

    it('leaves no orphan when Atlas created the secret but its answer could not be read', async () => {
      const world = aWorld();
      const process = aProcess(world);
      const unreadable = new AtlasApiError(
        'ATLAS_UNEXPECTED_RESPONSE',
        'Atlas answered 201 with a body that is not JSON',
        false,
        201,
        undefined,
      );
      process.atlas.failOn('create', unreadable, { afterEffect: true });

      expectFailed(await process.run(), 'ATLAS_UNEXPECTED_RESPONSE');

      expectCompleted(await aProcess(world).run());
      await expectConverged(world);
    });
  });

  it('keeps a never-rotated current secret created moments before a crashed create', async () => {
    const world = aWorld({
      managed: { recordsAtlasSecretId: false, currentCreatedAt: '2025-06-02T08:59:50.000Z' },
    });
    const crashed = aProcess(world);
    crashed.atlas.failOn('create', new Error('process killed'));
    expectFailed(await crashed.run(), 'INTERNAL_ERROR');
    const resumed = aProcess(world);
    const refused = new AtlasApiError('ATLAS_BAD_REQUEST', 'invalid_grant', false, 400, 'invalid_grant');
    resumed.atlas.failOn('token', refused, { nth: 2 });

    expectFailed(await resumed.run(), 'VERIFICATION_FAILED');

    expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([CURRENT_SECRET_ID]);
    expect(currentWorks(world)).toBe(true);
  });

  describe('as the rotation function, after RotateSecret registered the token', () => {
    const asFunction = { entry: 'rotation-function' as const };

    it('fills the valueless AWSPENDING version RotateSecret registered and completes', async () => {
      const world = aWorld();
      world.state.registerRotation(
        SECRET_ARN,
        TOKEN,
        'arn:aws:lambda:eu-west-1:123456789012:function:atlas-rotator',
      );
      const process = aProcess(world, {}, asFunction);

      const outcome = expectCompleted(await process.run());

      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(TOKEN);
      expect(pendingNotCurrent(world)).toBeUndefined();
      expect(current(world).atlasSecretId).toBe(outcome.newAtlasSecretId);
      expect(currentWorks(world)).toBe(true);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([outcome.newAtlasSecretId]);
      expect(process.atlas.calls.filter((c) => c.op === 'create')).toHaveLength(1);
    });

    it('stops at pending-stored with the placeholder filled, then resumes from the stored version', async () => {
      const world = aWorld();
      world.state.registerRotation(
        SECRET_ARN,
        TOKEN,
        'arn:aws:lambda:eu-west-1:123456789012:function:atlas-rotator',
      );
      const first = aProcess(world, {}, asFunction);

      const paused = await first.step('pending-stored');

      expect(paused).toMatchObject({ status: 'in-progress', reached: 'pending-stored' });
      expect(world.state.jsonAt(SECRET_ARN, 'AWSPENDING')?.atlasSecretId).toBeDefined();
      const again = aProcess(world, {}, asFunction);
      expect(await again.step('pending-stored')).toMatchObject({ status: 'in-progress' });
      expect(writes(again)).toEqual([]);
      const resumed = aProcess(world, {}, asFunction);
      expectCompleted(await resumed.run());
      expect(resumed.atlas.calls.filter((c) => c.op === 'create')).toEqual([]);
    });

    it('answers a step for a token that is AWSCURRENT already as done, without a call', async () => {
      const world = aWorld();
      world.state.registerRotation(
        SECRET_ARN,
        TOKEN,
        'arn:aws:lambda:eu-west-1:123456789012:function:atlas-rotator',
      );
      expectCompleted(await aProcess(world, {}, asFunction).run());
      const before = snapshot(world);
      const again = aProcess(world, {}, asFunction);

      expect(await again.step('verified')).toMatchObject({ status: 'completed' });

      expect(again.atlas.ops()).not.toContain('create');
      expect(writes(again)).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('refuses a token that is no version of the secret, and a secret whose rotation is off (AWS template entry checks)', async () => {
      const world = aWorld();
      const off = aProcess(world, {}, asFunction);
      expectFailed(await off.run(), 'INVALID_INPUT');
      world.state.registerRotation(
        SECRET_ARN,
        TOKEN,
        'arn:aws:lambda:eu-west-1:123456789012:function:atlas-rotator',
      );
      const unknownToken = aProcess(world, {}, asFunction);

      const failed = expectFailed(await unknownToken.run(ANOTHER_TOKEN), 'INVALID_INPUT');

      expect(failed.message).toContain('ClientRequestToken');
      expect(writes(off)).toEqual([]);
      expect(writes(unknownToken)).toEqual([]);
    });

    it('still gives way to another run holding a fresh claim: a placeholder is not a stored rotation', async () => {
      const world = aWorld();
      seedOpenClaim(world, ANOTHER_TOKEN, '2025-06-02T08:55:00.000Z');
      world.state.registerRotation(
        SECRET_ARN,
        TOKEN,
        'arn:aws:lambda:eu-west-1:123456789012:function:atlas-rotator',
      );
      const before = snapshot(world);
      const process = aProcess(world, {}, asFunction);

      expectFailed(await process.run(), 'ROTATION_IN_PROGRESS');

      expect(process.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });
  });

  describe('claims', () => {
    it("refuses to start while another run's claim is fresh", async () => {
      const world = aWorld();
      seedOpenClaim(world, ANOTHER_TOKEN, '2025-06-02T08:55:00.000Z');
      const before = snapshot(world);
      const process = aProcess(world);

      const failed = expectFailed(await process.run(), 'ROTATION_IN_PROGRESS');

      expect(failed.retryable).toBe(true);
      expect(failed.message).toContain('09:10:00');
      expect(process.atlas.calls).toEqual([]);
      expect(writes(process)).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('fences a stale claim of a crashed run and goes on, without waiting any longer', async () => {
      const world = aWorld();
      seedOpenClaim(world, ANOTHER_TOKEN, '2025-06-02T08:40:00.000Z');
      const process = aProcess(world);

      expectCompleted(await process.run());

      expect(contentAt(world, ANOTHER_TOKEN)).toMatchObject({
        kind: 'tombstone',
        tombstone: { reason: 'fenced' },
      });
      await expectConverged(world);
    });

    it('finishes another rotation left pending, then performs the requested one', async () => {
      const world = aWorld();
      const first = aProcess(world);
      first.atlas.failOn('token', new Error('process killed'), { nth: 2 });
      expectFailed(await first.run(ANOTHER_TOKEN), 'INTERNAL_ERROR');

      const outcome = expectCompleted(await aProcess(world).run(TOKEN));

      expect(outcome.rotationId).toBe(TOKEN);
      expect(world.state.stagesOf(SECRET_ARN)).toEqual({
        [CURRENT_VERSION_ID]: [],
        [claimVersionId(ANOTHER_TOKEN)]: [],
        [ANOTHER_TOKEN]: ['AWSPREVIOUS'],
        [claimVersionId(TOKEN)]: [CLAIM_LABEL],
        [TOKEN]: ['AWSCURRENT', 'AWSPENDING'],
      });
      await expectConverged(world);
    });

    it('goes on at once after a run that stopped cleanly with a retryable failure (no 15-minute wait)', async () => {
      const world = aWorld();
      const first = aProcess(world);
      first.atlas.failOn(
        'token',
        new AtlasApiError('ATLAS_UNAVAILABLE', 'Atlas answered 503', true, 503, undefined),
      );
      expectFailed(await first.run(ANOTHER_TOKEN), 'ATLAS_UNAVAILABLE');
      expect(openClaimIds(world)).toEqual([]);
      const second = aProcess(world);

      expectCompleted(await second.run(TOKEN));

      expect(second.atlas.ops().filter((op) => op === 'create')).toHaveLength(1);
      expect(contentAt(world, ANOTHER_TOKEN)).toMatchObject({
        kind: 'tombstone',
        tombstone: { reason: 'nothing-created' },
      });
      await expectConverged(world);
    });

    it('gives the same token a new attempt after its placeholder-only run stopped', async () => {
      const world = aWorld();
      world.state.registerRotation(
        SECRET_ARN,
        ANOTHER_TOKEN,
        'arn:aws:lambda:eu-west-1:123456789012:function:atlas-rotator',
      );
      const first = aProcess(world, {}, { entry: 'rotation-function' });
      first.atlas.failOn('token', new Error('process killed'));
      expectFailed(await first.run(ANOTHER_TOKEN), 'INTERNAL_ERROR');
      const second = aProcess(world, {}, { entry: 'rotation-function' });

      expectCompleted(await second.run(ANOTHER_TOKEN));

      expect(second.atlas.ops().filter((op) => op === 'create')).toHaveLength(1);
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(
        credentialVersionId(ANOTHER_TOKEN, 2, (t) => IDS.digestId(t)),
      );
      expect(pendingNotCurrent(world)).toBeUndefined();
    });

    it('runs nothing for a finished rotation asked again while another token left a stale claim', async () => {
      const world = aWorld();
      expectCompleted(await aProcess(world).run(TOKEN));
      seedOpenClaim(world, ANOTHER_TOKEN, '2025-06-02T08:40:00.000Z');
      const before = snapshot(world);
      const again = aProcess(world);

      const outcome = expectCompleted(await again.run(TOKEN));

      expect(outcome.alreadyCompleted).toBe(true);
      expect(again.atlas.ops()).not.toContain('create');
      expect(writes(again)).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('goes ahead with the requested rotation when the pending one can only be rolled back', async () => {
      const world = aWorld();
      const first = aProcess(world);
      const refused = new AtlasApiError('ATLAS_BAD_REQUEST', 'invalid_grant', false, 400, 'invalid_grant');
      first.atlas.failOn('token', new Error('process killed'), { nth: 2 });
      expectFailed(await first.run(ANOTHER_TOKEN), 'INTERNAL_ERROR');
      const second = aProcess(world);
      second.atlas.failOn('token', refused);

      const outcome = expectCompleted(await second.run(TOKEN));

      expect(outcome.rotationId).toBe(TOKEN);
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(TOKEN);
      expect(world.state.versionWith(SECRET_ARN, 'AWSPREVIOUS')?.versionId).toBe(
        undoVersionId(ANOTHER_TOKEN),
      );
      await expectConverged(world);
      const replay = aProcess(world);
      expectFailed(await replay.run(ANOTHER_TOKEN), 'ROTATION_ROLLED_BACK');
      expect(replay.atlas.calls).toEqual([]);
    });
  });

  describe('idempotency', () => {
    it('changes nothing when a finished rotation is run again', async () => {
      const world = aWorld();
      const first = expectCompleted(await aProcess(world).run());
      const before = snapshot(world);
      const again = aProcess(world);

      const outcome = expectCompleted(await again.run());

      expect(outcome).toMatchObject({ alreadyCompleted: true, newAtlasSecretId: first.newAtlasSecretId });
      // It finishes: the secret it replaced is deleted again if still there (it is not).
      expect(again.atlas.ops()).toEqual(['token', 'delete', 'revoke']);
      expect(writes(again)).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('changes nothing, and calls nothing, when a finished rotation is run again after a newer one', async () => {
      const world = aWorld();
      expectCompleted(await aProcess(world).run(TOKEN));
      expectCompleted(await aProcess(world).run(ANOTHER_TOKEN));
      const before = snapshot(world);
      const again = aProcess(world);

      expect(expectCompleted(await again.run(TOKEN)).alreadyCompleted).toBe(true);

      expect(again.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });
  });
});

/** Invariants under interleavings (ADR 0007 "Why each invariant holds"), with two processes on one world. */
describe('RotateSecret under concurrent runs', () => {
  /** AWSCURRENT's Atlas secret exists and its credential works. */
  function expectCurrentSafe(world: World) {
    expect(currentWorks(world)).toBe(true);
    const id = current(world).atlasSecretId;
    if (id !== undefined) expect(world.atlasWorld.secretIds(CLIENT_ID)).toContain(id);
  }

  it('reports its outcome before revoking its tokens, off the critical path; settled() waits for the revocations', async () => {
    const world = aWorld();
    const gate = new CallGate();
    // The revocation is held: the outcome must not wait for it.
    const process = aProcess(world, {}, { atlas: (a) => gate.wrap(a, 'endRotation', 1, 'before') });

    const outcome = expectCompleted(await process.run());
    await gate.reached();

    expect(process.atlas.ops()).not.toContain('revoke');
    let settled = false;
    const settling = process.useCase.settled().then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    gate.open();
    await settling;
    expect(process.atlas.ops().filter((op) => op === 'revoke').length).toBeGreaterThan(0);
    expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(outcome.rotationId);
    await expectConverged(world);
  });

  it('READ_CONCURRENCY: a run reads only once an earlier one has read, so runs under way go first', async () => {
    // Without a limit the second run's reads start while the first's DescribeSecret is held (the control).
    for (const readConcurrency of [undefined, 1]) {
      const world = aWorld();
      const gate = new CallGate();
      const process = aProcess(world, readConcurrency === undefined ? {} : { readConcurrency }, {
        store: (s) => gate.wrap(s, 'describe', 1, 'before'),
      });
      const first = process.run();
      await gate.reached();
      const readsOfTheFirst = process.store.calls.length;
      const second = process.run(ANOTHER_TOKEN);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const readsOfTheSecond = process.store.calls.length - readsOfTheFirst;
      if (readConcurrency === undefined) expect(readsOfTheSecond).toBeGreaterThan(0);
      else expect(readsOfTheSecond).toBe(0);
      gate.open();
      // Held at its read, the first run goes on only after the second's (the control) has rotated, on a stale
      // read; with the limit it reads first and completes. Either way the secret converges and stays safe.
      const firstOutcome = await first;
      if (readConcurrency !== undefined) expectCompleted(firstOutcome);
      const secondOutcome = await second;
      expectCurrentSafe(world);
      await expectConverged(world, {}, secondOutcome.status === 'completed' ? ANOTHER_TOKEN : TOKEN);
    }
  });

  it('two runs of one token at once: the second is refused the claim and the first completes', async () => {
    const world = aWorld();
    const gate = new CallGate();
    // The first run has read the secret and is about to claim attempt 1.
    const first = aProcess(world, {}, { store: (s) => gate.wrap(s, 'putVersion', 1, 'before') });
    const running = first.run();
    await gate.reached();
    const second = aProcess(world);
    const secondOutcome = expectCompleted(await second.run());
    gate.open();

    const firstOutcome = await running;

    expectFailed(firstOutcome, 'ROTATION_IN_PROGRESS');
    expect(first.atlas.ops()).not.toContain('create');
    expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([secondOutcome.newAtlasSecretId]);
    expectCurrentSafe(world);
    await expectConverged(world);
  });

  it('a duplicate of a token arriving while the first run promotes never deletes the promoted secret', async () => {
    const world = aWorld();
    const gate = new CallGate();
    // The first run stored and verified its credential and is about to promote it.
    const first = aProcess(world, {}, { store: (s) => gate.wrap(s, 'moveStage', 1, 'before') });
    const running = first.run();
    await gate.reached();
    const duplicate = aProcess(world);
    const dup = expectCompleted(await duplicate.run());
    expect(duplicate.atlas.ops()).not.toContain('create');
    expectCurrentSafe(world);
    gate.open();

    const outcome = expectCompleted(await running);

    expect(outcome.newAtlasSecretId).toBe(dup.newAtlasSecretId);
    expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([outcome.newAtlasSecretId]);
    expectCurrentSafe(world);
    await expectConverged(world);
  });

  it('a duplicate arriving after the promotion changes nothing (the bug of ADR 0003)', async () => {
    const world = aWorld();
    const outcome = expectCompleted(await aProcess(world).run());
    const duplicate = aProcess(world);

    expectCompleted(await duplicate.run());

    expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([outcome.newAtlasSecretId]);
    expectCurrentSafe(world);
  });

  it('two tokens at once: one makes progress, the other waits without writing', async () => {
    const world = aWorld();
    const gate = new CallGate();
    // The first run has claimed and created; it is about to store its credential.
    const first = aProcess(world, {}, { atlas: (a) => gate.wrap(a, 'createSecret', 1, 'after') });
    const running = first.run(TOKEN);
    await gate.reached();
    const second = aProcess(world);

    expectFailed(await second.run(ANOTHER_TOKEN), 'ROTATION_IN_PROGRESS');
    expect(writes(second)).toEqual([]);
    expect(second.atlas.ops()).not.toContain('delete');
    gate.open();

    expectCompleted(await running);
    expectCurrentSafe(world);
    await expectConverged(world);
  });

  it('two tokens claiming at the same moment: Atlas admits one create, the other run gives way retryably', async () => {
    const world = aWorld();
    const claimGate = new CallGate();
    const createdGate = new CallGate();
    const otherCreateGate = new CallGate();
    // Both runs read the secret before either claims, and both list Atlas before either creates.
    const first = aProcess(
      world,
      {},
      {
        store: (s) => claimGate.wrap(s, 'putVersion', 1, 'before'),
        atlas: (a) => createdGate.wrap(a, 'createSecret', 1, 'after'),
      },
    );
    const running = first.run(TOKEN);
    await claimGate.reached();
    const second = aProcess(
      world,
      {},
      { atlas: (a) => otherCreateGate.wrap(a, 'createSecret', 1, 'before') },
    );
    const secondRunning = second.run(ANOTHER_TOKEN);
    await otherCreateGate.reached();
    claimGate.open();
    await createdGate.reached();
    otherCreateGate.open();

    const refused = expectFailed(await secondRunning, 'ROTATION_IN_PROGRESS');
    expect(refused.retryable).toBe(true);
    expect(contentAt(world, ANOTHER_TOKEN)).toMatchObject({
      kind: 'tombstone',
      tombstone: { reason: 'nothing-created' },
    });
    createdGate.open();

    expectCompleted(await running);
    expectCurrentSafe(world);
    await expectConverged(world);
    expectCompleted(await aProcess(world).run(ANOTHER_TOKEN));
    await expectConverged(world, {}, ANOTHER_TOKEN);
  });

  it('a run fenced while it slept deletes its own new secret and answers ROTATION_IN_PROGRESS', async () => {
    const world = aWorld();
    const gate = new CallGate();
    const slow = aProcess(world, {}, { atlas: (a) => gate.wrap(a, 'createSecret', 1, 'after') });
    const running = slow.run(TOKEN);
    await gate.reached();
    world.clock.advance(LEASE_MS + 60_000);
    const other = aProcess(world);
    const winner = expectCompleted(await other.run(ANOTHER_TOKEN));
    expect(contentAt(world, TOKEN)).toMatchObject({ kind: 'tombstone', tombstone: { reason: 'fenced' } });
    gate.open();

    expectFailed(await running, 'ROTATION_IN_PROGRESS');

    expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([winner.newAtlasSecretId]);
    expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(ANOTHER_TOKEN);
    expectCurrentSafe(world);
    await expectConverged(world, {}, ANOTHER_TOKEN);
  });

  it('a rollback racing a promote of the same attempt: one swap wins and AWSCURRENT always works', async () => {
    const world = aWorld();
    const gate = new CallGate();
    // The first run's verification fails for good; it is about to write its undo copy.
    const failing = aProcess(world, {}, { store: (s) => gate.wrap(s, 'putVersion', 3, 'before') });
    failing.atlas.failOn(
      'token',
      new AtlasApiError('ATLAS_BAD_REQUEST', 'invalid_grant', false, 400, 'invalid_grant'),
      { nth: 2 },
    );
    const running = failing.run(TOKEN);
    await gate.reached();
    // Another run of the same token finds the credential pending, verifies it (it works) and promotes it.
    const promoter = aProcess(world);
    const promoted = expectCompleted(await promoter.run(TOKEN));
    gate.open();

    const outcome = await running;

    // The promotion won: the rollback's swap is refused, nothing is deleted, the rotation completed after all.
    expect(outcome.status).toBe('completed');
    expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(TOKEN);
    expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([promoted.newAtlasSecretId]);
    expectCurrentSafe(world);
  });

  it('a crashed run is waited for, at most the lease, then fenced', async () => {
    const world = aWorld();
    // Calls 1-3 are the parallel reads (AWSPREVIOUS is not read: ADR 0016); 4 is the claim: the process dies
    // right after it landed.
    const crash = new CrashAt(4, 'dies after the call');
    const crashed = crashingProcess(world, crash);
    await crashed.run(TOKEN);
    expect(openClaimIds(world)).toEqual([TOKEN]);
    expectFailed(await aProcess(world).run(ANOTHER_TOKEN), 'ROTATION_IN_PROGRESS');
    world.clock.advance(LEASE_MS);

    expectCompleted(await aProcess(world).run(ANOTHER_TOKEN));

    expect(contentAt(world, TOKEN)).toMatchObject({ kind: 'tombstone', tombstone: { reason: 'fenced' } });
    await expectConverged(world, {}, ANOTHER_TOKEN);
  });
});

class Crash extends Error {
  override readonly name = 'Crash';
}

/**
 * Kills the process at one external call: every call from there on fails, as nothing runs in a dead
 * process. `afterEffect` lets the call take effect first (its answer is lost).
 */
type CrashMode = 'dies before the call' | 'dies after the call' | 'loses the answer';

class CrashAt implements CallInterceptor {
  readonly calls: string[] = [];
  fired = false;

  constructor(
    readonly index: number,
    readonly mode: CrashMode,
  ) {}

  before(call: string): void {
    if (this.fired && this.mode !== 'loses the answer') throw new Crash(`dead before ${call}`);
    this.calls.push(call);
    if (this.mode === 'dies before the call' && this.calls.length === this.index) this.#fire(call);
  }

  after(call: string): void {
    if (this.mode !== 'dies before the call' && this.calls.length === this.index) this.#fire(call);
  }

  #fire(call: string): never {
    this.fired = true;
    throw new Crash(`crashed at ${call}`);
  }
}

function crashingProcess(world: World, crash: CrashAt): Process {
  const process = aProcess(world);
  process.store.interceptor = crash;
  process.atlas.interceptor = crash;
  return process;
}

const crashScenarios: { readonly name: string; readonly managed: ManagedSecretOptions }[] = [
  { name: 'a rotated secret', managed: {} },
  { name: 'a secret with a live AWSPREVIOUS secret', managed: { previous: { inAtlas: true } } },
  { name: 'a secret never rotated before', managed: { recordsAtlasSecretId: false } },
];

/** The external calls (store and Atlas) of an uninterrupted rotation. */
async function callsOfFullRotation(managed: ManagedSecretOptions): Promise<string[]> {
  const counter = new CrashAt(Number.POSITIVE_INFINITY, 'dies before the call');
  expectCompleted(await crashingProcess(aWorld({ managed }), counter).run());
  return counter.calls;
}

const fullRotations = await Promise.all(crashScenarios.map((s) => callsOfFullRotation(s.managed)));

describe('RotateSecret after a crash', () => {
  crashScenarios.forEach((scenario, i) => {
    const calls = fullRotations[i] ?? [];

    it(`makes the expected external calls for ${scenario.name}`, () => {
      expect(calls.length).toBeGreaterThan(10);
    });

    const modes: CrashMode[] = ['dies before the call', 'dies after the call', 'loses the answer'];
    for (const mode of modes) {
      calls.forEach((call, index) => {
        const k = index + 1;
        it(`converges on ${scenario.name} when the process ${mode} ${k} (${call})`, async () => {
          const world = aWorld({ managed: scenario.managed });
          const crash = new CrashAt(k, mode);

          await crashingProcess(world, crash).run();
          expect(crash.fired).toBe(true);
          expect(currentWorks(world)).toBe(true);
          // A crashed run's claim is waited for (at most the lease), then the same token goes on.
          for (let attempt = 0; attempt < 3; attempt++) {
            world.clock.advance(30_000);
            const outcome = await aProcess(world).run();
            expect(currentWorks(world)).toBe(true);
            if (outcome.status === 'completed' || outcome.errorCode !== 'ROTATION_IN_PROGRESS') break;
            world.clock.advance(LEASE_MS);
          }

          await expectConverged(world);
        });
      });
    }
  });
});
