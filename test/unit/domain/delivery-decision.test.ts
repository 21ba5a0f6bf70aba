import { describe, expect, it } from 'vitest';
import {
  backoffSeconds,
  type DeliveryAttempt,
  decideDelivery,
  retryAfterSeconds,
} from '../../../src/domain/delivery-decision.js';
import type { AtlasSecretId, ClientId, OrgId } from '../../../src/domain/identifiers.js';
import type {
  RotationCompleted,
  RotationFailed,
  RotationInProgress,
} from '../../../src/domain/rotation-outcome.js';

const BACKOFF = { backoffBaseSeconds: 30, backoffMaxSeconds: 900 };
const FIRST: DeliveryAttempt = { attempt: 1, lastAttempt: false };
const SECOND: DeliveryAttempt = { attempt: 2, lastAttempt: false };
const LAST: DeliveryAttempt = { attempt: 3, lastAttempt: true };

const completed: RotationCompleted = {
  status: 'completed',
  rotationId: 'r',
  secretArn: 'arn',
  secretName: 'name',
  orgId: 'org' as OrgId,
  clientId: 'client' as ClientId,
  mode: 'self',
  newAtlasSecretId: 'new' as AtlasSecretId,
  newSecretExpiresAt: undefined,
  deletedAtlasSecretIds: [],
  startedAt: '2026-01-01T00:00:00.000Z',
  completedAt: '2026-01-01T00:00:01.000Z',
  alreadyCompleted: false,
};

const inProgress: RotationInProgress = {
  status: 'in-progress',
  rotationId: 'r',
  secretArn: 'arn',
  secretName: 'name',
  orgId: 'org' as OrgId,
  clientId: 'client' as ClientId,
  newAtlasSecretId: 'new' as AtlasSecretId,
  reached: 'pending-stored',
  startedAt: '2026-01-01T00:00:00.000Z',
};

function aFailure(overrides: Partial<RotationFailed> = {}): RotationFailed {
  return {
    status: 'failed',
    secretId: 'name',
    secretArn: 'arn',
    rotationId: 'r',
    stage: 'create',
    errorCode: 'ATLAS_UNAVAILABLE',
    message: 'down',
    retryable: true,
    atlasStatus: 503,
    atlasErrorCode: undefined,
    startedAt: '2026-01-01T00:00:00.000Z',
    failedAt: '2026-01-01T00:00:10.000Z',
    ...overrides,
  };
}

describe('decideDelivery', () => {
  it('acknowledges a completed, a paused and a rejected request, on any attempt', () => {
    for (const delivery of [FIRST, LAST]) {
      expect(decideDelivery(completed, delivery, BACKOFF)).toEqual({ kind: 'ack' });
      expect(decideDelivery(inProgress, delivery, BACKOFF)).toEqual({ kind: 'ack' });
      expect(decideDelivery('rejected', delivery, BACKOFF)).toEqual({ kind: 'ack' });
    }
  });

  it('acknowledges a failure no retry can fix: its final event says what happened', () => {
    const refused = aFailure({ retryable: false, errorCode: 'SECRET_NOT_MANAGED' });
    expect(decideDelivery(refused, FIRST, BACKOFF)).toEqual({ kind: 'ack' });
    expect(decideDelivery(refused, LAST, BACKOFF)).toEqual({ kind: 'ack' });
  });

  it('retries a failure that can pass after the backoff of its attempt', () => {
    expect(decideDelivery(aFailure(), FIRST, BACKOFF)).toEqual({ kind: 'retry-after', seconds: 30 });
    expect(decideDelivery(aFailure(), SECOND, BACKOFF)).toEqual({ kind: 'retry-after', seconds: 60 });
  });

  it('waits at least until the failure says trying again can succeed', () => {
    const busy = aFailure({ errorCode: 'ROTATION_IN_PROGRESS', retryAt: '2026-01-01T00:10:00.000Z' });
    expect(decideDelivery(busy, FIRST, BACKOFF)).toEqual({ kind: 'retry-after', seconds: 591 });
    const soon = aFailure({ retryAt: '2026-01-01T00:00:12.000Z' });
    expect(decideDelivery(soon, FIRST, BACKOFF)).toEqual({ kind: 'retry-after', seconds: 30 });
  });

  it('dead-letters a failure that could have passed when it was the last attempt', () => {
    expect(decideDelivery(aFailure(), LAST, BACKOFF)).toEqual({ kind: 'dead-letter' });
  });

  it('never acknowledges an unsettled delivery, not even on the last attempt', () => {
    expect(decideDelivery('unsettled', FIRST, BACKOFF)).toEqual({ kind: 'retry-after', seconds: 30 });
    expect(decideDelivery('unsettled', LAST, BACKOFF)).toEqual({ kind: 'retry-after', seconds: 120 });
  });
});

describe('backoffSeconds', () => {
  it('doubles per attempt from the base and stops at the maximum', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffSeconds(n, BACKOFF))).toEqual([30, 60, 120, 240, 480, 900]);
    expect(backoffSeconds(100, BACKOFF)).toBe(900);
  });
});

describe('retryAfterSeconds', () => {
  it('says nothing without a retryAt, or with one in the past', () => {
    expect(retryAfterSeconds(undefined)).toBe(0);
    expect(retryAfterSeconds(aFailure())).toBe(0);
    expect(retryAfterSeconds(aFailure({ retryAt: '2026-01-01T00:00:00.000Z' }))).toBe(0);
  });

  it('never asks for more than SQS allows', () => {
    expect(retryAfterSeconds(aFailure({ retryAt: '2026-02-01T00:00:00.000Z' }))).toBe(43_200);
  });
});
