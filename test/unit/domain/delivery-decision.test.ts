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

  it('spreads the backoff over its upper half with jitter, never past the maximum', () => {
    const at = (fraction: number) => ({ ...BACKOFF, jitter: () => fraction });
    expect([1, 2, 3].map((n) => backoffSeconds(n, at(0)))).toEqual([15, 30, 60]);
    expect([1, 2, 3].map((n) => backoffSeconds(n, at(0.5)))).toEqual([23, 45, 90]);
    expect([1, 2, 3].map((n) => backoffSeconds(n, at(0.999_999)))).toEqual([30, 60, 120]);
    expect(backoffSeconds(100, at(0.999_999))).toBe(900);
    expect(backoffSeconds(100, at(0))).toBe(450);
  });

  it('lets retries after an outage come back spread out, not together', () => {
    // 1,000 requests failing on their first delivery at once, with a real random source.
    const policy = { ...BACKOFF, jitter: Math.random };
    const waits = Array.from({ length: 1_000 }, () => backoffSeconds(1, policy));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(15);
    expect(Math.max(...waits)).toBeLessThanOrEqual(30);
    // 16 possible whole seconds (15..30): without jitter all 1,000 would share one; no second holds a third.
    const perSecond = new Map<number, number>();
    for (const w of waits) perSecond.set(w, (perSecond.get(w) ?? 0) + 1);
    expect(perSecond.size).toBeGreaterThanOrEqual(12);
    expect(Math.max(...perSecond.values())).toBeLessThan(334);
  });
});

describe('decideDelivery with jitter', () => {
  it('jitters the backoff of a retry but still waits until the failure says trying again can succeed', () => {
    const policy = { ...BACKOFF, jitter: () => 0 };
    expect(decideDelivery(aFailure(), FIRST, policy)).toEqual({ kind: 'retry-after', seconds: 15 });
    const busy = aFailure({ errorCode: 'ROTATION_IN_PROGRESS', retryAt: '2026-01-01T00:10:00.000Z' });
    expect(decideDelivery(busy, FIRST, policy)).toEqual({ kind: 'retry-after', seconds: 591 });
    expect(decideDelivery('unsettled', SECOND, policy)).toEqual({ kind: 'retry-after', seconds: 30 });
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
