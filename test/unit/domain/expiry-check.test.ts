import { describe, expect, it } from 'vitest';
import {
  currentAtlasSecret,
  hoursToExpiry,
  isRotationDue,
  sweepRequestId,
} from '../../../src/domain/expiry-check.js';
import type { AtlasSecretId } from '../../../src/domain/identifiers.js';

const NOW = Date.parse('2025-06-02T09:00:00.000Z');
const A = 'a00000000000000000000001' as AtlasSecretId;
const B = 'b00000000000000000000002' as AtlasSecretId;
const secret = (id: AtlasSecretId, expiresAt: string) => ({
  id,
  createdAt: '2025-01-01T00:00:00Z',
  expiresAt,
});

describe('currentAtlasSecret', () => {
  it('takes the recorded secret, in canonical ISO form', () => {
    expect(
      currentAtlasSecret([secret(B, '2025-07-01T00:00:00Z'), secret(A, '2025-06-05T00:00:00Z')], A, NOW),
    ).toEqual({ id: A, expiresAt: '2025-06-05T00:00:00.000Z', inferred: false });
  });

  it('infers the only secret, or the only unexpired one, when the recorded id is missing or stale', () => {
    expect(currentAtlasSecret([secret(B, '2025-06-01T00:00:00Z')], undefined, NOW)).toMatchObject({
      id: B,
      inferred: true,
    });
    expect(
      currentAtlasSecret(
        [secret(A, '2025-06-01T00:00:00Z'), secret(B, '2025-07-01T00:00:00Z')],
        undefined,
        NOW,
      ),
    ).toMatchObject({ id: B, inferred: true });
    expect(currentAtlasSecret([secret(B, '2025-07-01T00:00:00Z')], A, NOW)).toMatchObject({
      id: B,
      inferred: true,
    });
  });

  it('knows none when two live secrets or none are left to choose from', () => {
    expect(
      currentAtlasSecret(
        [secret(A, '2025-07-01T00:00:00Z'), secret(B, '2025-07-01T00:00:00Z')],
        undefined,
        NOW,
      ),
    ).toBeUndefined();
    expect(currentAtlasSecret([], undefined, NOW)).toBeUndefined();
  });
});

describe('expiry', () => {
  it('is due within the window and once expired, not a millisecond before the window', () => {
    expect(isRotationDue('2025-06-16T09:00:00.000Z', NOW, 336)).toBe(true);
    expect(isRotationDue('2025-06-16T09:00:00.001Z', NOW, 336)).toBe(false);
    expect(isRotationDue('2025-06-01T09:00:00.000Z', NOW, 336)).toBe(true);
    expect(hoursToExpiry('2025-06-01T09:00:00.000Z', NOW)).toBe(-24);
    expect(hoursToExpiry('2025-06-02T10:30:00.000Z', NOW)).toBe(1.5);
  });

  it('derives one request id per Atlas secret and expiry, whatever the timestamp format', () => {
    expect(sweepRequestId({ id: A, expiresAt: '2025-06-05T00:00:00Z' })).toBe(
      'sweep:a00000000000000000000001:2025-06-05T00:00:00.000Z',
    );
    expect(sweepRequestId({ id: A, expiresAt: '2025-06-05T00:00:00.000Z' })).toBe(
      sweepRequestId({ id: A, expiresAt: '2025-06-05T00:00:00Z' }),
    );
    expect(sweepRequestId({ id: A, expiresAt: '2025-06-05T00:00:01Z' })).not.toBe(
      sweepRequestId({ id: A, expiresAt: '2025-06-05T00:00:00Z' }),
    );
  });
});
