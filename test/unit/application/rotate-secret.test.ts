import { describe, expect, it } from 'vitest';
import { RotateSecret, type RotateSecretSettings } from '../../../src/application/rotate-secret.js';
import { AtlasApiError, SecretStoreError } from '../../../src/domain/errors.js';
import type { RotationToken } from '../../../src/domain/identifiers.js';
import { TAG_CREATE_INTENT, TAG_ROTATION } from '../../../src/domain/rotation-metadata.js';
import type { RotationOutcome } from '../../../src/domain/rotation-outcome.js';
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
  PREVIOUS_VERSION_ID,
  SECRET_ARN,
  SECRET_NAME,
  seedAdminSecret,
  seedManagedSecret,
} from '../../support/builders.js';
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
  const state = new InMemorySecretStore();
  seedManagedSecret(state, atlasWorld, options.managed);
  if (options.admin === true) seedAdminSecret(state, atlasWorld);
  return { clock, atlasWorld, state };
}

/** A fresh process over the world: its own store and Atlas adapters, token cache and logs. */
function aProcess(world: World, settings: Partial<RotateSecretSettings> = {}): Process {
  const store = world.state.reopen();
  const atlas = new InMemoryAtlasServiceAccounts(world.atlasWorld);
  const logger = new RecordingLogger();
  const useCase = new RotateSecret(store, atlas, world.clock, logger, aSettings(settings));
  return {
    store,
    atlas,
    logger,
    useCase,
    run: (token = TOKEN) => useCase.execute({ secretId: SECRET_NAME, token }),
  };
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

/** Everything that a rotation may change, to compare before and after a run. */
function snapshot(world: World) {
  return {
    stages: world.state.stagesOf(SECRET_ARN),
    tags: { ...tags(world) },
    atlasSecrets: world.atlasWorld.account(CLIENT_ID).secrets.map((s) => ({ ...s })),
  };
}

function expectFailed(outcome: RotationOutcome, errorCode: string) {
  expect(outcome.status).toBe('failed');
  if (outcome.status !== 'failed') throw new Error('unreachable');
  expect(outcome.errorCode).toBe(errorCode);
  return outcome;
}

function expectCompleted(outcome: RotationOutcome) {
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 'completed' });
  if (outcome.status !== 'completed') throw new Error('unreachable');
  return outcome;
}

/** The state every rotation must end in, however often it crashed on the way. */
async function expectConverged(world: World) {
  expect(currentWorks(world)).toBe(true);
  const live = world.atlasWorld.secretIds(CLIENT_ID);
  // A credential never rotated by atlas-rotator (and rolled back) records no id: its one secret works.
  expect(live).toEqual(
    current(world).atlasSecretId === undefined ? [live[0]] : [current(world).atlasSecretId],
  );
  expect(world.state.versionWith(SECRET_ARN, 'AWSPENDING')).toBeUndefined();
  expect(tags(world)).not.toHaveProperty(TAG_ROTATION);
  expect(tags(world)).not.toHaveProperty(TAG_CREATE_INTENT);
  const before = snapshot(world);
  const again = aProcess(world);
  const outcome = await again.run();
  expect(outcome.status === 'completed' || outcome.errorCode === 'ROTATION_ROLLED_BACK').toBe(true);
  expect(again.atlas.calls).toEqual([]);
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
        ['get', CURRENT_SECRET_ID],
        ['create', CURRENT_SECRET_ID],
        ['token', undefined],
        ['delete', outcome.newAtlasSecretId],
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

    it('promotes the new credential and keeps the old one as AWSPREVIOUS', async () => {
      const world = aWorld();

      const outcome = expectCompleted(await aProcess(world).run());

      expect(world.state.stagesOf(SECRET_ARN)).toEqual({
        [CURRENT_VERSION_ID]: ['AWSPREVIOUS'],
        [TOKEN]: ['AWSCURRENT'],
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

      expect(process.atlas.calls.filter((c) => c.op === 'create').map((c) => c.hours)).toEqual([720, 240]);
      expect(process.atlas.ops()).toContain('settings');
      await expectConverged(world);
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
      await expectConverged(world);
    });

    it('verifies an account that may not read itself (an Organization Member) by minting, without rolling back', async () => {
      const world = aWorld({ managed: { tags: adminTags, roles: ['ORG_MEMBER'] }, admin: true });
      const process = aProcess(world, { adminSecretAllowList: [ADMIN_SECRET_ARN] });

      const outcome = expectCompleted(await process.run());

      const byAccount = process.atlas.calls.filter((c) => c.clientId === CLIENT_ID);
      expect(byAccount.map((c) => c.op)).toEqual(['token', 'revoke']);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([outcome.newAtlasSecretId]);
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(TOKEN);
      await expectConverged(world);
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

      expect(process.store.calls.map((c) => c.method)).toEqual(['describe']);
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
  });

  describe('making room in Atlas', () => {
    const unknownSecret = {
      id: 'bbbbbbbbbbbbbbbbbbbbbbbb' as never,
      createdAt: '2025-05-01T00:00:00.000Z',
      expiresAt: '2026-05-01T00:00:00.000Z',
    };

    it('stops with ATLAS_SECRET_LIMIT when a secret of no version holds the second slot', async () => {
      const world = aWorld({ managed: { unknownAtlasSecrets: [unknownSecret] } });
      const before = snapshot(world);
      const process = aProcess(world);

      const failed = expectFailed(await process.run(), 'ATLAS_SECRET_LIMIT');

      expect(failed.message).toContain(unknownSecret.id);
      expect(process.atlas.ops()).not.toContain('create');
      expect(snapshot(world)).toEqual(before);
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
  });

  describe('failures', () => {
    it('deletes the new Atlas secret when storing it fails', async () => {
      const world = aWorld();
      const process = aProcess(world);
      process.store.failOn(
        'putPending',
        new SecretStoreError('SECRET_STORE_UNAVAILABLE', 'Secrets Manager is unavailable', true),
      );

      const failed = expectFailed(await process.run(), 'SECRET_STORE_UNAVAILABLE');

      expect(failed.stage).toBe('store-pending');
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([CURRENT_SECRET_ID]);
      expect(currentWorks(world)).toBe(true);
      expect(current(world).atlasSecretId).toBe(CURRENT_SECRET_ID);
      expectCompleted(await aProcess(world).run());
      await expectConverged(world);
    });

    it('goes on when the AWSPENDING write landed although its answer was lost', async () => {
      const world = aWorld();
      const process = aProcess(world);
      process.store.failOn(
        'putPending',
        new SecretStoreError('SECRET_STORE_UNAVAILABLE', 'Secrets Manager timed out', true),
        { afterEffect: true },
      );

      const outcome = expectCompleted(await process.run());

      expect(process.atlas.ops().filter((op) => op === 'create')).toHaveLength(1);
      expect(outcome.deletedAtlasSecretIds).toEqual([CURRENT_SECRET_ID]);
      await expectConverged(world);
    });

    it('frees the lease at once when Atlas refuses the create, since nothing was created', async () => {
      const world = aWorld();
      const process = aProcess(world);
      process.atlas.failOn(
        'create',
        new AtlasApiError('ATLAS_FORBIDDEN', 'Atlas refused', false, 403, 'USER_UNAUTHORIZED'),
      );

      const failed = expectFailed(await process.run(), 'ATLAS_FORBIDDEN');

      expect(failed.stage).toBe('create');
      expect(world.state.secret(SECRET_ARN).tags[TAG_ROTATION]).toBeUndefined();
      expect(world.state.secret(SECRET_ARN).tags[TAG_CREATE_INTENT]).toBeUndefined();
      // The same request id may simply be tried again once the cause is fixed.
      expectCompleted(await aProcess(world).run());
      await expectConverged(world);
    });

    it('keeps the new secret when the store cannot say whether the lost write landed', async () => {
      const world = aWorld();
      const process = aProcess(world);
      const unavailable = new SecretStoreError('SECRET_STORE_UNAVAILABLE', 'throttled', true);
      process.store.failOn('putPending', unavailable, { afterEffect: true });
      // getValue: AWSCURRENT, AWSPREVIOUS, then the check of the lost write.
      process.store.failOn('getValue', unavailable, { nth: 3 });

      const failed = expectFailed(await process.run(), 'SECRET_STORE_UNAVAILABLE');

      expect(failed.retryable).toBe(true);
      expect(world.state.versionWith(SECRET_ARN, 'AWSPENDING')?.versionId).toBe(TOKEN);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toHaveLength(2);
      expectCompleted(await aProcess(world).run());
      await expectConverged(world);
    });

    it('keeps the lease when the unsaved Atlas secret cannot be deleted either', async () => {
      const world = aWorld();
      const process = aProcess(world);
      const unavailable = new SecretStoreError(
        'SECRET_STORE_UNAVAILABLE',
        'Secrets Manager is unavailable',
        true,
      );
      process.store.failOn('putPending', unavailable);
      process.atlas.failOn(
        'delete',
        new AtlasApiError('ATLAS_TIMEOUT', 'timed out', true, undefined, undefined),
      );

      expectFailed(await process.run(), 'SECRET_STORE_UNAVAILABLE');

      expect(world.atlasWorld.secretIds(CLIENT_ID)).toHaveLength(2);
      expect(tags(world)[TAG_CREATE_INTENT]).toContain(TOKEN);
      expectCompleted(await aProcess(world).run());
      await expectConverged(world);
    });

    it('rolls back when the new secret never works, leaving AWSCURRENT untouched', async () => {
      const world = aWorld({ atlas: { newSecretUsableAfterMs: 3_600_000 } });
      const before = snapshot(world);
      const process = aProcess(world);

      const failed = expectFailed(await process.run(), 'VERIFICATION_FAILED');

      expect(failed).toMatchObject({ retryable: false, atlasErrorCode: 'invalid_client' });
      expect(world.clock.sleeps).toEqual([1_000, 2_000, 4_000]);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([CURRENT_SECRET_ID]);
      expect(world.state.versionWith(SECRET_ARN, 'AWSPENDING')).toBeUndefined();
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(CURRENT_VERSION_ID);
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
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(CURRENT_VERSION_ID);
    });

    it('answers a rolled-back rotation run again without touching Atlas', async () => {
      const world = aWorld({ atlas: { newSecretUsableAfterMs: 3_600_000 } });
      expectFailed(await aProcess(world).run(), 'VERIFICATION_FAILED');
      const before = snapshot(world);
      const again = aProcess(world);

      expectFailed(await again.run(), 'ROTATION_ROLLED_BACK');

      expect(again.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('verifies again while Atlas still answers invalid_client for the new secret', async () => {
      const world = aWorld({ atlas: { newSecretUsableAfterMs: 2_500 } });
      const process = aProcess(world);

      expectCompleted(await process.run());

      expect(world.clock.sleeps).toEqual([1_000, 2_000]);
      await expectConverged(world);
    });

    it('leaves a retryable Atlas failure to be resumed, holding the lease', async () => {
      const world = aWorld();
      const process = aProcess(world);
      const unavailable = new AtlasApiError('ATLAS_UNAVAILABLE', 'Atlas answered 503', true, 503, undefined);
      process.atlas.failOn('token', unavailable, { nth: 2 });

      const failed = expectFailed(await process.run(), 'ATLAS_UNAVAILABLE');

      expect(failed).toMatchObject({ retryable: true, stage: 'verify', atlasStatus: 503 });
      expect(world.state.versionWith(SECRET_ARN, 'AWSPENDING')?.versionId).toBe(TOKEN);
      expect(tags(world)[TAG_ROTATION]).toContain(TOKEN);
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

  describe('after RotateSecret registered the token (rotation function)', () => {
    it('fills the valueless AWSPENDING version RotateSecret registered and completes', async () => {
      const world = aWorld();
      world.state.registerRotation(SECRET_ARN, TOKEN);
      const process = aProcess(world);

      const outcome = expectCompleted(await process.run());

      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(TOKEN);
      expect(world.state.versionWith(SECRET_ARN, 'AWSPENDING')).toBeUndefined();
      expect(current(world).atlasSecretId).toBe(outcome.newAtlasSecretId);
      expect(currentWorks(world)).toBe(true);
      expect(world.atlasWorld.secretIds(CLIENT_ID)).toEqual([outcome.newAtlasSecretId]);
      expect(process.atlas.calls.filter((c) => c.op === 'create')).toHaveLength(1);
      await expectConverged(world);
    });

    it('stops at pending-stored with the placeholder filled, then resumes from the stored version', async () => {
      const world = aWorld();
      world.state.registerRotation(SECRET_ARN, TOKEN);
      const first = aProcess(world);

      const paused = await first.useCase.execute({
        secretId: SECRET_NAME,
        token: TOKEN,
        stopAfter: 'pending-stored',
      });

      expect(paused).toMatchObject({ status: 'in-progress', reached: 'pending-stored' });
      expect(world.state.jsonAt(SECRET_ARN, 'AWSPENDING')?.atlasSecretId).toBeDefined();
      const resumed = aProcess(world);
      expectCompleted(await resumed.run());
      expect(resumed.atlas.calls.filter((c) => c.op === 'create')).toEqual([]);
      await expectConverged(world);
    });

    it('still gives way to another rotation holding a live lease: a placeholder is not a stored rotation', async () => {
      const startedAt = new Date(Date.parse('2025-06-02T08:55:00.000Z')).toISOString();
      const world = aWorld({ managed: { tags: { [TAG_ROTATION]: `${ANOTHER_TOKEN} ${startedAt}` } } });
      world.state.registerRotation(SECRET_ARN, TOKEN);
      const before = snapshot(world);
      const process = aProcess(world);

      expectFailed(await process.run(), 'ROTATION_IN_PROGRESS');

      expect(process.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });
  });

  describe('leases', () => {
    it('refuses to start while another rotation holds a live lease', async () => {
      const startedAt = new Date(Date.parse('2025-06-02T08:55:00.000Z')).toISOString();
      const world = aWorld({ managed: { tags: { [TAG_ROTATION]: `${ANOTHER_TOKEN} ${startedAt}` } } });
      const before = snapshot(world);
      const process = aProcess(world);

      const failed = expectFailed(await process.run(), 'ROTATION_IN_PROGRESS');

      expect(failed.retryable).toBe(true);
      expect(process.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('finishes an abandoned rotation whose lease expired, then performs the requested one', async () => {
      const world = aWorld();
      const first = aProcess(world);
      first.atlas.failOn('token', new Error('process killed'), { nth: 2 });
      expectFailed(await first.run(ANOTHER_TOKEN), 'INTERNAL_ERROR');
      world.clock.advance(20 * 60_000);

      const outcome = expectCompleted(await aProcess(world).run(TOKEN));

      expect(outcome.rotationId).toBe(TOKEN);
      expect(world.state.stagesOf(SECRET_ARN)).toEqual({
        [CURRENT_VERSION_ID]: [],
        [ANOTHER_TOKEN]: ['AWSPREVIOUS'],
        [TOKEN]: ['AWSCURRENT'],
      });
      await expectConverged(world);
    });

    it('only releases an abandoned lease under which nothing was created', async () => {
      const world = aWorld();
      const first = aProcess(world);
      first.atlas.failOn('token', new Error('process killed'));
      expectFailed(await first.run(ANOTHER_TOKEN), 'INTERNAL_ERROR');
      expect(tags(world)[TAG_ROTATION]).toContain(ANOTHER_TOKEN);
      world.clock.advance(20 * 60_000);
      const second = aProcess(world);

      expectCompleted(await second.run(TOKEN));

      expect(second.atlas.ops().filter((op) => op === 'create')).toHaveLength(1);
      expect(world.state.stagesOf(SECRET_ARN)).not.toHaveProperty(ANOTHER_TOKEN);
      await expectConverged(world);
    });

    it('only releases an abandoned lease whose token has nothing but the placeholder RotateSecret registered', async () => {
      const world = aWorld();
      world.state.registerRotation(SECRET_ARN, ANOTHER_TOKEN);
      const first = aProcess(world);
      first.atlas.failOn('token', new Error('process killed'));
      expectFailed(await first.run(ANOTHER_TOKEN), 'INTERNAL_ERROR');
      expect(tags(world)[TAG_ROTATION]).toContain(ANOTHER_TOKEN);
      world.clock.advance(20 * 60_000);
      const second = aProcess(world);

      expectCompleted(await second.run(TOKEN));

      expect(second.atlas.ops().filter((op) => op === 'create')).toHaveLength(1);
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(TOKEN);
      await expectConverged(world);
    });

    it('runs nothing for a finished rotation asked again while another token holds a stale lease', async () => {
      const world = aWorld();
      expectCompleted(await aProcess(world).run(TOKEN));
      const abandoned = aProcess(world);
      abandoned.atlas.failOn('token', new Error('process killed'));
      expectFailed(await abandoned.run(ANOTHER_TOKEN), 'INTERNAL_ERROR');
      world.clock.advance(20 * 60_000);
      const before = snapshot(world);
      const again = aProcess(world);

      const outcome = expectCompleted(await again.run(TOKEN));

      expect(outcome.alreadyCompleted).toBe(true);
      expect(again.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('goes ahead with the requested rotation when the abandoned one can only be rolled back', async () => {
      const world = aWorld();
      const first = aProcess(world);
      const refused = new AtlasApiError('ATLAS_BAD_REQUEST', 'invalid_grant', false, 400, 'invalid_grant');
      first.atlas.failOn('token', new Error('process killed'), { nth: 2 });
      expectFailed(await first.run(ANOTHER_TOKEN), 'INTERNAL_ERROR');
      world.clock.advance(20 * 60_000);
      const second = aProcess(world);
      second.atlas.failOn('token', refused);

      const outcome = expectCompleted(await second.run(TOKEN));

      expect(outcome.rotationId).toBe(TOKEN);
      expect(world.state.versionWith(SECRET_ARN, 'AWSCURRENT')?.versionId).toBe(TOKEN);
      await expectConverged(world);
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
      expect(again.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });

    it('changes nothing when a finished rotation is run again after a newer one', async () => {
      const world = aWorld();
      expectCompleted(await aProcess(world).run(TOKEN));
      expectCompleted(await aProcess(world).run(ANOTHER_TOKEN));
      const before = snapshot(world);
      const again = aProcess(world);

      expectCompleted(await again.run(TOKEN));

      expect(again.atlas.calls).toEqual([]);
      expect(snapshot(world)).toEqual(before);
    });
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
          for (let attempt = 0; attempt === 0 || (attempt < 3 && tags(world)[TAG_ROTATION]); attempt++) {
            world.clock.advance(30_000);
            await aProcess(world).run();
          }

          await expectConverged(world);
        });
      });
    }
  });
});
