import { describe, expect, it } from 'vitest';
import { planRetirement } from '../../../src/domain/retirement.js';
import type { RotationStage } from '../../../src/domain/rotation.js';
import type { RotationCompletedDetail, RotationFailedDetail } from '../../../src/domain/rotation-events.js';
import {
  completedEvent,
  DETAIL_TYPE_COMPLETED,
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_OLD_SECRET_IN_USE,
  DETAIL_TYPE_OLD_SECRET_RETIRED,
  failedEvent,
  oldSecretInUseEvent,
  oldSecretRetiredEvent,
} from '../../../src/domain/rotation-events.js';
import type { RotationMode } from '../../../src/domain/rotation-metadata.js';
import type { RotationFailed } from '../../../src/domain/rotation-outcome.js';
import {
  aCompletedOutcome,
  aToken,
  CLIENT_ID,
  CURRENT_SECRET_ID,
  CURRENT_SECRET_VALUE,
  NEW_SECRET_ID,
  ORG_ID,
  PREVIOUS_SECRET_ID,
  SECRET_ARN,
  SECRET_NAME,
} from '../../support/builders.js';
import { eventSchema, validateEventDetail } from '../../support/event-schemas.js';

const DELIVERY = { requestId: aToken(1), attempts: 1 };

// Records, so that a new stage or mode fails to compile here until the schema knows it too.
const STAGES: Readonly<Record<RotationStage, true>> = {
  request: true,
  'read-secret': true,
  'make-room': true,
  create: true,
  'store-pending': true,
  verify: true,
  promote: true,
  'delete-old': true,
  rollback: true,
};
const MODES: Readonly<Record<RotationMode, true>> = { self: true, admin: true };

function aFailure(overrides: Partial<RotationFailed> = {}): RotationFailed {
  return {
    status: 'failed',
    secretId: SECRET_NAME,
    secretArn: SECRET_ARN,
    rotationId: aToken(1),
    stage: 'verify',
    errorCode: 'VERIFICATION_FAILED',
    message: 'Atlas refused the new secret',
    retryable: false,
    atlasStatus: 401,
    atlasErrorCode: 'invalid_client',
    startedAt: '2025-06-02T09:00:00.000Z',
    failedAt: '2025-06-02T09:00:03.000Z',
    ...overrides,
  };
}

/** Every string anywhere in a value, keys included. */
function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, inner]) => [key, ...allStrings(inner)]);
  }
  return [];
}

describe('completedEvent', () => {
  it('builds a detail that conforms to rotation-completed.v1', () => {
    const event = completedEvent(aCompletedOutcome(), DELIVERY);

    expect(event.detailType).toBe(DETAIL_TYPE_COMPLETED);
    expect(event.resources).toEqual([SECRET_ARN]);
    expect(validateEventDetail(event.detailType, event.detail)).toEqual([]);
    expect(event.detail).toEqual({
      schemaVersion: 1,
      rotationId: aToken(1),
      requestId: aToken(1),
      secretArn: SECRET_ARN,
      secretName: SECRET_NAME,
      orgId: ORG_ID,
      clientId: CLIENT_ID,
      mode: 'self',
      newAtlasSecretId: NEW_SECRET_ID,
      newSecretExpiresAt: '2025-07-02T09:00:00.000Z',
      deletedAtlasSecretIds: [PREVIOUS_SECRET_ID],
      startedAt: '2025-06-02T09:00:00.000Z',
      completedAt: '2025-06-02T09:00:04.000Z',
      attempts: 1,
    });
  });

  it('reports an unknown expiry as null, which the schema allows', () => {
    const event = completedEvent(aCompletedOutcome({ newSecretExpiresAt: undefined }), DELIVERY);

    expect(event.detail).toHaveProperty('newSecretExpiresAt', null);
    expect(validateEventDetail(event.detailType, event.detail)).toEqual([]);
  });

  it.each(Object.keys(MODES))('conforms in %s mode', (mode) => {
    const event = completedEvent(aCompletedOutcome({ mode: mode as RotationMode }), DELIVERY);
    expect(validateEventDetail(event.detailType, event.detail)).toEqual([]);
  });

  it('conforms when nothing was deleted and on a later delivery attempt', () => {
    const event = completedEvent(aCompletedOutcome({ deletedAtlasSecretIds: [] }), {
      requestId: 'sqs-message-0001',
      attempts: 3,
    });
    expect(validateEventDetail(event.detailType, event.detail)).toEqual([]);
  });

  it('carries no secret material and no alreadyCompleted flag of the outcome', () => {
    const event = completedEvent(aCompletedOutcome({ alreadyCompleted: true }), DELIVERY);
    const strings = allStrings(event);

    expect(strings.some((s) => s.includes('mdb_sa_sk_'))).toBe(false);
    expect(strings).not.toContain(CURRENT_SECRET_VALUE);
    expect(Object.keys(event.detail).filter((key) => /secret$|value|password|token/i.test(key))).toEqual([]);
    expect(event.detail).not.toHaveProperty('alreadyCompleted');
  });
});

describe('failedEvent', () => {
  it('builds a detail that conforms to rotation-failed.v1, with every optional field known', () => {
    const event = failedEvent(aFailure(), { ...DELIVERY, final: true });

    expect(event.detailType).toBe(DETAIL_TYPE_FAILED);
    expect(event.resources).toEqual([SECRET_ARN]);
    expect(validateEventDetail(event.detailType, event.detail)).toEqual([]);
    expect(event.detail).toEqual({
      schemaVersion: 1,
      requestId: aToken(1),
      secretId: SECRET_NAME,
      secretArn: SECRET_ARN,
      rotationId: aToken(1),
      stage: 'verify',
      errorCode: 'VERIFICATION_FAILED',
      message: 'Atlas refused the new secret',
      retryable: false,
      final: true,
      atlasStatus: 401,
      atlasErrorCode: 'invalid_client',
      failedAt: '2025-06-02T09:00:03.000Z',
      attempts: 1,
    });
  });

  it('omits unknown optional fields (absent, not null) and names no resource', () => {
    const event = failedEvent(
      aFailure({
        secretId: '',
        secretArn: undefined,
        rotationId: undefined,
        stage: 'request',
        errorCode: 'INVALID_REQUEST',
        message: 'Invalid rotation request: the message body is not JSON',
        atlasStatus: undefined,
        atlasErrorCode: undefined,
      }),
      { requestId: '0f2d4c1e-5b6a-4c3d-8e9f-a0b1c2d3e4f5', attempts: 1, final: true },
    );

    for (const key of ['secretArn', 'rotationId', 'atlasStatus', 'atlasErrorCode']) {
      expect(Object.hasOwn(event.detail, key), key).toBe(false);
    }
    expect(JSON.stringify(event.detail)).not.toContain('null');
    expect(event.resources).toEqual([]);
    expect(validateEventDetail(event.detailType, event.detail)).toEqual([]);
  });

  it.each(Object.keys(STAGES))('conforms for a failure at stage %s', (stage) => {
    const event = failedEvent(aFailure({ stage: stage as RotationStage }), { ...DELIVERY, final: false });
    expect(validateEventDetail(event.detailType, event.detail)).toEqual([]);
  });

  it('carries no secret material beyond what the message says, and the schema refuses a client secret in it', () => {
    const event = failedEvent(aFailure(), { ...DELIVERY, final: true });
    expect(allStrings(event).some((s) => s.includes('mdb_sa_sk_'))).toBe(false);

    const leaking = failedEvent(aFailure({ message: `Atlas said no to ${CURRENT_SECRET_VALUE}` }), {
      ...DELIVERY,
      final: true,
    });
    // The builder scrubs it …
    expect(allStrings(leaking).some((s) => s.includes(CURRENT_SECRET_VALUE))).toBe(false);
    expect((leaking.detail as RotationFailedDetail).message).toContain('[REDACTED]');
    expect(validateEventDetail(leaking.detailType, leaking.detail)).toEqual([]);
    // … and the schema refuses a detail that carries one anyway.
    const raw = { ...leaking.detail, message: `Atlas said no to ${CURRENT_SECRET_VALUE}` };
    expect(validateEventDetail(leaking.detailType, raw)).not.toEqual([]);
  });

  it('scrubs a client secret pasted into the request fields', () => {
    const event = failedEvent(aFailure({ secretId: `prod/${CURRENT_SECRET_VALUE}` }), {
      ...DELIVERY,
      requestId: CURRENT_SECRET_VALUE,
      final: true,
    });
    expect(allStrings(event).some((s) => s.includes('mdb_sa_sk_'))).toBe(false);
  });
});

describe('the event schemas', () => {
  it('list exactly the RotationStage values', () => {
    const schema = eventSchema(DETAIL_TYPE_FAILED) as { properties: { stage: { enum: string[] } } };
    expect([...schema.properties.stage.enum].sort()).toEqual(Object.keys(STAGES).sort());
  });

  it('list exactly the RotationMode values', () => {
    const schema = eventSchema(DETAIL_TYPE_COMPLETED) as { properties: { mode: { enum: string[] } } };
    expect([...schema.properties.mode.enum].sort()).toEqual(Object.keys(MODES).sort());
  });

  it.each([
    DETAIL_TYPE_COMPLETED,
    DETAIL_TYPE_FAILED,
    DETAIL_TYPE_OLD_SECRET_RETIRED,
    DETAIL_TYPE_OLD_SECRET_IN_USE,
  ])('accept their own example (%s)', (detailType) => {
    const examples = eventSchema(detailType).examples as unknown[];
    expect(examples).toHaveLength(1);
    expect(validateEventDetail(detailType, examples[0])).toEqual([]);
  });

  it.each([
    ['an extra property', { clientSecret: CURRENT_SECRET_VALUE }],
    ['a null optional field', { atlasStatus: null }],
    ['a lower-case error code', { errorCode: 'verification_failed' }],
    ['an unknown stage', { stage: 'finish' }],
    ['another schema version', { schemaVersion: 2 }],
    ['a timestamp that is not date-time', { failedAt: '2025-06-02' }],
    ['a fractional attempt count', { attempts: 1.5 }],
  ])('refuse a failed detail with %s', (_name, change) => {
    const detail = { ...failedEvent(aFailure(), { ...DELIVERY, final: true }).detail, ...change };
    expect(validateEventDetail(DETAIL_TYPE_FAILED, detail)).not.toEqual([]);
  });

  it.each([
    ['an extra property', { clientSecret: CURRENT_SECRET_VALUE }],
    ['a missing field', { orgId: undefined }],
    ['a malformed client id', { clientId: 'mdb_sa_sk_64a1b2c3d4e5f60718293a4c' }],
    ['an upper-case Atlas secret id', { newAtlasSecretId: CURRENT_SECRET_ID.toUpperCase() }],
    ['an unknown mode', { mode: 'other' }],
    ['an empty rotation id', { rotationId: '' }],
    ['a secret value as name', { secretName: CURRENT_SECRET_VALUE }],
  ])('refuse a completed detail with %s', (_name, change) => {
    const detail = JSON.parse(
      JSON.stringify({ ...completedEvent(aCompletedOutcome(), DELIVERY).detail, ...change }),
    );
    expect(validateEventDetail(DETAIL_TYPE_COMPLETED, detail)).not.toEqual([]);
  });

  it('refuse a detail-type they do not describe', () => {
    expect(validateEventDetail('Atlas Secret Rotation Requested', {})).not.toEqual([]);
  });
});

describe('the old-secret events', () => {
  const facts = {
    secretArn: SECRET_ARN,
    secretName: SECRET_NAME,
    orgId: ORG_ID,
    clientId: CLIENT_ID,
    currentAtlasSecretId: NEW_SECRET_ID,
    record: planRetirement({
      oldAtlasSecretId: PREVIOUS_SECRET_ID,
      now: new Date('2025-06-02T09:00:03.000Z'),
      graceHours: 24,
      reason: 'grace',
    }),
  };

  it('Atlas Old Secret Retired conforms to its schema and carries no secret material', () => {
    const event = oldSecretRetiredEvent(facts, 'grace-over', '2025-06-03T10:00:00.000Z');
    expect(event.detailType).toBe(DETAIL_TYPE_OLD_SECRET_RETIRED);
    expect(event.resources).toEqual([SECRET_ARN]);
    expect(validateEventDetail(DETAIL_TYPE_OLD_SECRET_RETIRED, event.detail)).toEqual([]);
    expect(event.detail).toMatchObject({
      oldAtlasSecretId: PREVIOUS_SECRET_ID,
      currentAtlasSecretId: NEW_SECRET_ID,
      retireAfter: '2025-06-03T09:00:03.000Z',
      reason: 'grace-over',
    });
    expect(allStrings(event).join(' ')).not.toMatch(/mdb_sa_sk_/);
    expect(JSON.stringify(event)).not.toContain(CURRENT_SECRET_VALUE);
  });

  it('Atlas Old Secret Still In Use names the secret and its last use, and conforms', () => {
    const event = oldSecretInUseEvent(
      { ...facts, currentAtlasSecretId: undefined },
      { lastUsedAt: '2025-06-03T08:12:00Z', expiresAt: '2025-06-09T09:00:01Z' },
      '2025-06-03T10:00:00.000Z',
    );
    expect(validateEventDetail(DETAIL_TYPE_OLD_SECRET_IN_USE, event.detail)).toEqual([]);
    expect(event.detail).toMatchObject({
      oldAtlasSecretId: PREVIOUS_SECRET_ID,
      currentAtlasSecretId: null,
      lastUsedAt: '2025-06-03T08:12:00Z',
    });
    expect(JSON.stringify(event)).not.toContain(CURRENT_SECRET_VALUE);
  });

  it('the schemas refuse an extra property (a secret value cannot ride along)', () => {
    const retired = oldSecretRetiredEvent(facts, 'now', '2025-06-03T10:00:00.000Z').detail;
    expect(
      validateEventDetail(DETAIL_TYPE_OLD_SECRET_RETIRED, { ...retired, clientSecret: CURRENT_SECRET_VALUE }),
    ).not.toEqual([]);
    expect(validateEventDetail(DETAIL_TYPE_OLD_SECRET_RETIRED, { ...retired, reason: 'other' })).not.toEqual(
      [],
    );
  });

  it('the completed event says when retirement is due, and conforms', () => {
    const detail = completedEvent(
      aCompletedOutcome({
        oldSecretRetirement: {
          oldAtlasSecretId: PREVIOUS_SECRET_ID,
          retireAfter: '2025-06-03T09:00:03.000Z',
          reason: 'grace',
          retired: false,
        },
      }),
      DELIVERY,
    ).detail as RotationCompletedDetail;
    expect(validateEventDetail(DETAIL_TYPE_COMPLETED, detail)).toEqual([]);
    expect(detail.oldSecretRetirement).toEqual({
      oldAtlasSecretId: PREVIOUS_SECRET_ID,
      retireAfter: '2025-06-03T09:00:03.000Z',
      reason: 'grace',
      retired: false,
    });
  });
});
