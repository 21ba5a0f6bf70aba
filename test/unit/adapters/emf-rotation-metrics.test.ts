import { describe, expect, it } from 'vitest';
import { NodeCryptoIdGenerator } from '../../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { EmfRotationMetrics } from '../../../src/adapters/outbound/metrics/emf-rotation-metrics.js';
import { AtlasApiError } from '../../../src/application/infrastructure-errors.js';
import { RotateSecret } from '../../../src/application/rotate-secret.js';
import {
  aSettings,
  aToken,
  CURRENT_SECRET_VALUE,
  SECRET_ARN,
  SECRET_NAME,
  seedManagedSecret,
} from '../../support/builders.js';
import { emfProblems, parseLines } from '../../support/emf-validator.js';
import { AtlasWorld, InMemoryAtlasServiceAccounts } from '../../support/fake-atlas.js';
import { FixedClock } from '../../support/fixed-clock.js';
import { InMemorySecretStore } from '../../support/in-memory-secret-store.js';
import { RecordingLogger } from '../../support/recording-logger.js';

/** The dimensions this service may use: each has a bounded set of values (never an id). */
const DIMENSIONS = new Set(['Service', 'Mode', 'Flavour', 'ErrorCode']);

function aRig() {
  const clock = new FixedClock();
  const world = new AtlasWorld(() => clock.now());
  const state = new InMemorySecretStore(new Map(), () => clock.now());
  seedManagedSecret(state, world);
  const lines: string[] = [];
  const metrics = new EmfRotationMetrics({
    namespace: 'AtlasRotator',
    service: 'test-deployment',
    write: (line) => lines.push(line),
    now: () => clock.now(),
  });
  const atlas = new InMemoryAtlasServiceAccounts(world);
  const rotate = new RotateSecret(
    state.reopen(),
    atlas,
    clock,
    new RecordingLogger(),
    aSettings(),
    new NodeCryptoIdGenerator(),
    undefined,
    metrics,
  );
  const docs = () => parseLines(lines);
  /** Every secret value the world holds or held: none may appear in a document. */
  const secretValues = () => [
    CURRENT_SECRET_VALUE,
    ...[...world.accounts.values()].flatMap((a) => a.secrets.map((s) => s.value)),
  ];
  return { clock, world, atlas, metrics, rotate, lines, docs, secretValues };
}

function expectValidAndBounded(docs: readonly Record<string, unknown>[]) {
  expect(docs.length).toBeGreaterThan(0);
  for (const doc of docs) {
    expect(emfProblems(doc)).toEqual([]);
    const directive = (doc._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0];
    for (const key of directive?.Dimensions.flat() ?? []) expect(DIMENSIONS.has(key), key).toBe(true);
  }
}

describe('EmfRotationMetrics', () => {
  it('emits one valid document for a completed rotation, by mode and flavour, with hours to expiry', async () => {
    const rig = aRig();
    const outcome = await rig.rotate.execute({ secretId: SECRET_NAME, token: aToken(1) });
    expect(outcome.status).toBe('completed');
    const docs = rig.docs().filter((d) => 'RotationsCompleted' in d);
    expect(docs).toHaveLength(1);
    expectValidAndBounded(rig.docs());
    expect(docs[0]).toMatchObject({
      Service: 'test-deployment',
      Mode: 'self',
      Flavour: 'atlas',
      RotationsCompleted: 1,
      RotationsAlreadyCompleted: 0,
      HoursToExpiry: 720,
      secretArn: SECRET_ARN,
      rotationId: aToken(1),
    });
    expect(docs[0]?._aws).toMatchObject({
      CloudWatchMetrics: [
        { Namespace: 'AtlasRotator', Dimensions: [['Service'], ['Service', 'Mode', 'Flavour']] },
      ],
    });
  });

  it('counts a redelivery that finds the rotation done apart from the completion', async () => {
    const rig = aRig();
    await rig.rotate.execute({ secretId: SECRET_NAME, token: aToken(1) });
    await rig.rotate.execute({ secretId: SECRET_NAME, token: aToken(1) });
    const completions = rig.docs().filter((d) => 'RotationsCompleted' in d);
    expect(completions.map((d) => [d.RotationsCompleted, d.RotationsAlreadyCompleted])).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('emits a failed rotation by its error code, with mode unknown when the secret could not be read', async () => {
    const rig = aRig();
    const outcome = await rig.rotate.execute({ secretId: 'atlas/no-such-secret', token: aToken(1) });
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'SECRET_NOT_FOUND' });
    const [doc] = rig.docs();
    expectValidAndBounded(rig.docs());
    expect(doc).toMatchObject({
      RotationsFailed: 1,
      ErrorCode: 'SECRET_NOT_FOUND',
      Mode: 'unknown',
      Flavour: 'unknown',
      retryable: false,
    });
    expect(
      ((doc as Record<string, unknown>)._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] })
        .CloudWatchMetrics[0]?.Dimensions,
    ).toEqual([['Service'], ['Service', 'ErrorCode'], ['Service', 'Mode', 'Flavour']]);
  });

  it('emits an Atlas failure by its error code, mode and flavour, and never a secret value', async () => {
    const rig = aRig();
    rig.atlas.failOn('create', new AtlasApiError('ATLAS_FORBIDDEN', 'refused', false, 403, 'FORBIDDEN'));
    const outcome = await rig.rotate.execute({ secretId: SECRET_NAME, token: aToken(1) });
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'ATLAS_FORBIDDEN' });
    const failed = rig.docs().filter((d) => 'RotationsFailed' in d);
    expect(failed).toEqual([
      expect.objectContaining({ ErrorCode: 'ATLAS_FORBIDDEN', Mode: 'self', Flavour: 'atlas' }),
    ]);
    const text = rig.lines.join('');
    for (const value of rig.secretValues()) expect(text.includes(value)).toBe(false);
    expect(text).not.toMatch(/mdb_sa_sk_/);
  });

  it('keeps secret values out of every document of a rotation, even in a property passed by mistake', async () => {
    const rig = aRig();
    await rig.rotate.execute({ secretId: SECRET_NAME, token: aToken(1) });
    await rig.rotate.execute({ secretId: `atlas/${CURRENT_SECRET_VALUE}`, token: aToken(2) });
    const text = rig.lines.join('');
    expect(rig.docs().length).toBeGreaterThanOrEqual(2);
    for (const value of rig.secretValues())
      expect(text.includes(value), 'a secret value in a metric').toBe(false);
    expect(text).not.toMatch(/mdb_sa_sk_/);
  });

  it('buckets an error code that is not a code literal instead of making a new series', () => {
    const rig = aRig();
    rig.metrics.rotationRan(
      {
        status: 'failed',
        secretId: 'x',
        secretArn: undefined,
        rotationId: undefined,
        stage: 'read-secret',
        errorCode: 'arn:aws:secretsmanager:eu-west-1:1:secret:x',
        message: 'm',
        retryable: true,
        atlasStatus: undefined,
        atlasErrorCode: undefined,
        startedAt: '2025-06-02T09:00:00.000Z',
        failedAt: '2025-06-02T09:00:01.500Z',
      },
      { mode: 'admin', flavour: 'cloud-manager' },
    );
    expect(rig.docs()[0]).toMatchObject({ ErrorCode: 'OTHER', RotationDuration: 1500 });
  });

  it('writes the Atlas calls, retries and rate-limit waits gathered before the next document', () => {
    const rig = aRig();
    rig.metrics.atlasCall();
    rig.metrics.atlasCall();
    rig.metrics.atlasCall();
    rig.metrics.atlasRetry(250, false);
    rig.metrics.atlasRetry(2_000, true);
    rig.metrics.sweepCompleted({
      secrets: 3,
      due: 1,
      expired: 0,
      permanentFailures: 0,
      retryableFailures: 1,
      durationMs: 42,
    });
    const docs = rig.docs();
    expectValidAndBounded(docs);
    expect(docs[0]).toMatchObject({
      AtlasCalls: 3,
      AtlasRetries: 2,
      AtlasRateLimitWaits: 1,
      AtlasRateLimitWaitTime: 2000,
    });
    expect(docs[1]).toMatchObject({
      SweepSecrets: 3,
      SweepDue: 1,
      SweepRetryableFailures: 1,
      SweepDuration: 42,
    });
    rig.metrics.flush();
    expect(rig.docs()).toHaveLength(2);
  });

  it('never fails the caller when the sink throws', () => {
    const metrics = new EmfRotationMetrics({
      namespace: 'AtlasRotator',
      service: 's',
      write: () => {
        throw new Error('EPIPE');
      },
      now: () => new Date(0),
    });
    expect(() =>
      metrics.secretExpiry({
        secretArn: 'a',
        hoursToExpiry: 1,
        oldSecretsAwaitingRetirement: 0,
        source: 'sweep',
      }),
    ).not.toThrow();
  });
});

describe('emfProblems (the validator the tests rely on)', () => {
  it('rejects documents that break the EMF structure', () => {
    const ok = {
      _aws: {
        Timestamp: 1,
        CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['D']], Metrics: [{ Name: 'M', Unit: 'Count' }] }],
      },
      D: 'v',
      M: 1,
    };
    expect(emfProblems(ok)).toEqual([]);
    expect(emfProblems({ ...ok, M: 'one' })).not.toEqual([]);
    expect(emfProblems({ ...ok, D: undefined })).not.toEqual([]);
    expect(emfProblems({ ...ok, _aws: { ...ok._aws, Timestamp: '1' } })).not.toEqual([]);
    const tooMany = Array.from({ length: 31 }, (_, i) => `D${i}`);
    expect(
      emfProblems({
        ...Object.fromEntries(tooMany.map((d) => [d, 'v'])),
        M: 1,
        _aws: {
          Timestamp: 1,
          CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [tooMany], Metrics: [{ Name: 'M' }] }],
        },
      }),
    ).not.toEqual([]);
    expect(
      emfProblems({
        _aws: {
          Timestamp: 1,
          CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [], Metrics: [{ Name: 'M', Unit: 'Hours' }] }],
        },
        M: 1,
      }),
    ).not.toEqual([]);
  });
});
