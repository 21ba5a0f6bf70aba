import { describe, expect, it } from 'vitest';
import { NodeCryptoIdGenerator } from '../../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { PlanRotation } from '../../../src/application/plan-rotation.js';
import { ReportStatus } from '../../../src/application/report-status.js';
import { RotateSecret } from '../../../src/application/rotate-secret.js';
import type { RotationToken } from '../../../src/domain/identifiers.js';
import {
  aSettings,
  aToken,
  CURRENT_SECRET_ID,
  CURRENT_SECRET_VALUE,
  type ManagedSecretOptions,
  PREVIOUS_SECRET_ID,
  PREVIOUS_SECRET_VALUE,
  SECRET_NAME,
  seedOpenClaim as seedAnOpenClaim,
  seedManagedSecret,
} from '../../support/builders.js';
import { AtlasWorld, InMemoryAtlasServiceAccounts } from '../../support/fake-atlas.js';
import { FixedClock } from '../../support/fixed-clock.js';
import { InMemorySecretStore } from '../../support/in-memory-secret-store.js';
import { RecordingLogger } from '../../support/recording-logger.js';

const IDS = new NodeCryptoIdGenerator();
const OTHER = aToken(2);
const WRITES = ['putVersion', 'moveStage'];

function aWorld(managed: ManagedSecretOptions = {}) {
  const clock = new FixedClock();
  const atlasWorld = new AtlasWorld(() => clock.now());
  const state = new InMemorySecretStore(new Map(), () => clock.now());
  seedManagedSecret(state, atlasWorld, managed);
  return { clock, atlasWorld, state };
}

function aProcess(world: ReturnType<typeof aWorld>) {
  const store = world.state.reopen();
  const atlas = new InMemoryAtlasServiceAccounts(world.atlasWorld);
  const logger = new RecordingLogger();
  const settings = aSettings();
  return {
    store,
    atlas,
    logger,
    plan: (token: RotationToken = aToken(7)) =>
      new PlanRotation(store, atlas, world.clock, logger, settings, IDS).execute({
        secretId: SECRET_NAME,
        token,
      }),
    status: () =>
      new ReportStatus(store, atlas, world.clock, logger, settings, IDS, {
        concurrency: 2,
        rotateBeforeExpiryHours: 168,
      }).execute({ secretIds: [SECRET_NAME], namePrefix: undefined }),
    rotate: (token: RotationToken) =>
      new RotateSecret(store, atlas, world.clock, logger, settings, IDS).execute({
        secretId: SECRET_NAME,
        token,
      }),
  };
}

function seedOpenClaim(world: ReturnType<typeof aWorld>, token: RotationToken, claimedAt: string) {
  seedAnOpenClaim(world.state, token, claimedAt);
}

function atlasWrites(process: ReturnType<typeof aProcess>): string[] {
  return process.atlas.calls.map((c) => c.op).filter((op) => op === 'create' || op === 'delete');
}

function expectNoSecret(text: string) {
  for (const value of [CURRENT_SECRET_VALUE, PREVIOUS_SECRET_VALUE]) expect(text).not.toContain(value);
  expect(text).not.toMatch(/mdb_sa_sk_/);
}

describe('plan', () => {
  it("stops as a rotation would while another run's claim is fresh: ROTATION_IN_PROGRESS, retryable, with retryAt", async () => {
    const world = aWorld();
    seedOpenClaim(world, OTHER, '2025-06-02T08:55:00.000Z');
    const process = aProcess(world);

    const plan = await process.plan();

    expect(plan.verdict).toBe('stop');
    expect(plan.stop).toMatchObject({
      errorCode: 'ROTATION_IN_PROGRESS',
      retryable: true,
      retryAt: '2025-06-02T09:10:00.000Z',
    });
    expect(process.atlas.calls).toEqual([]);
    expect(process.store.calls.filter((c) => WRITES.includes(c.method))).toEqual([]);
  });

  it('reports the fence a rotation would write for a stale claim, and writes nothing itself', async () => {
    const world = aWorld();
    seedOpenClaim(world, OTHER, '2025-06-02T07:00:00.000Z');
    const process = aProcess(world);

    const plan = await process.plan();

    expect(plan.verdict).toBe('clear-the-way');
    expect(plan.actions).toEqual([{ action: 'fence-stale-claim', credentialId: OTHER }]);
    expect(process.store.calls.filter((c) => WRITES.includes(c.method))).toEqual([]);
  });

  it("predicts the deletions the rotation then makes (AWSPREVIOUS's secret), without secret material", async () => {
    const world = aWorld({ previous: { inAtlas: true } });
    const process = aProcess(world);

    const plan = await process.plan();

    expect(plan.actions).toEqual([
      { action: 'delete-atlas-secret', atlasSecretId: PREVIOUS_SECRET_ID, reason: 'previous-version' },
      {
        action: 'create-atlas-secret',
        expiresAfterHours: aSettings().secretExpiresAfterHours,
        clampedFromHours: undefined,
      },
      { action: 'store-verify-promote', retireAtlasSecretId: CURRENT_SECRET_ID },
    ]);
    expect(atlasWrites(process)).toEqual([]);
    expect(process.store.calls.filter((c) => WRITES.includes(c.method))).toEqual([]);
    expectNoSecret(JSON.stringify(plan));
    expectNoSecret(process.logger.entries.map((l) => JSON.stringify(l)).join('\n'));

    const rotating = aProcess(world);
    const outcome = await rotating.rotate(aToken(8));
    expect(outcome.status).toBe('completed');
    const deleted = rotating.atlas.calls.filter((c) => c.op === 'delete');
    expect(deleted[0]).toMatchObject({ secretId: PREVIOUS_SECRET_ID });
  });
});

describe('status', () => {
  it('shows a fresh claim as a rotation in progress, with the request id it runs under', async () => {
    const world = aWorld();
    seedOpenClaim(world, OTHER, '2025-06-02T08:55:00.000Z');
    const process = aProcess(world);

    const report = await process.status();

    const entry = report.secrets[0];
    expect(entry?.rotationInProgress).toEqual({ credentialId: OTHER, claimedAt: '2025-06-02T08:55:00.000Z' });
    expect(entry?.lastRotation).toEqual({
      at: '2025-06-02T08:55:00.000Z',
      outcome: 'claimed',
      requestId: OTHER,
    });
    expect(entry?.attention.map((a) => a.code)).toEqual(['rotation-in-progress']);
    expect(process.store.calls.filter((c) => WRITES.includes(c.method))).toEqual([]);
    expect(atlasWrites(process)).toEqual([]);
  });

  it('flags an expiry within ROTATE_BEFORE_EXPIRY_HOURS, a stale claim and AWSPREVIOUS awaiting retirement', async () => {
    const world = aWorld({ previous: { inAtlas: true }, currentExpiresAt: '2025-06-04T09:00:00.000Z' });
    seedOpenClaim(world, OTHER, '2025-06-02T07:00:00.000Z');
    const process = aProcess(world);

    const report = await process.status();

    const entry = report.secrets[0];
    expect(entry?.current).toEqual({
      atlasSecretId: CURRENT_SECRET_ID,
      expiresAt: '2025-06-04T09:00:00.000Z',
      hoursToExpiry: 48,
      inferred: false,
    });
    expect(entry?.awaitingRetirement).toEqual({
      atlasSecretId: PREVIOUS_SECRET_ID,
      state: 'unrecorded',
      retireAfter: undefined,
      lastUsedAt: undefined,
      reason: undefined,
    });
    expect(entry?.attention.map((a) => a.code).sort()).toEqual([
      'awaiting-retirement',
      'expires-soon',
      'stale-claim',
    ]);
    expect(report.summary).toEqual({ secrets: 1, needAttention: 1 });
    expectNoSecret(JSON.stringify(report));
  });

  it('reports a secret it cannot read and goes on with the others', async () => {
    const world = aWorld();
    const process = aProcess(world);
    const report = await new ReportStatus(
      process.store,
      process.atlas,
      world.clock,
      process.logger,
      aSettings(),
      IDS,
      {
        concurrency: 2,
        rotateBeforeExpiryHours: 168,
      },
    ).execute({ secretIds: ['no/such-secret', SECRET_NAME], namePrefix: undefined });

    expect(report.secrets.map((e) => [e.secretName ?? e.secretId, e.readError?.errorCode])).toEqual([
      [SECRET_NAME, undefined],
      ['no/such-secret', 'SECRET_NOT_FOUND'],
    ]);
  });
});
