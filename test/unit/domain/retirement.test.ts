import { describe, expect, it } from 'vitest';
import { parseCredential, serializeCredential } from '../../../src/domain/credential.js';
import type { AtlasSecretId } from '../../../src/domain/identifiers.js';
import {
  decideRetirement,
  effectiveGrace,
  parseGraceHours,
  parseRetirement,
  planRetirement,
  type RetirementRecord,
  retiresAtPromotion,
  retryAtFor,
  serializeRetirement,
} from '../../../src/domain/retirement.js';
import { SecretValue } from '../../../src/domain/secret-value.js';

const OLD = 'a00000000000000000000001' as AtlasSecretId;
const NEW = 'b00000000000000000000002' as AtlasSecretId;
const PROMOTED = new Date('2025-06-02T09:00:00.000Z');
const H = 3_600_000;

const record = (overrides: Partial<RetirementRecord> = {}): RetirementRecord => ({
  ...planRetirement({ oldAtlasSecretId: OLD, now: PROMOTED, graceHours: 2, reason: 'grace' }),
  ...overrides,
});
const listed = (lastUsedAt: string | null = null, expiresAt = '2025-06-09T09:00:00.000Z') => [
  { id: OLD, expiresAt, lastUsedAt },
  { id: NEW, expiresAt: '2025-09-01T09:00:00.000Z', lastUsedAt: null },
];

describe('parseGraceHours', () => {
  it('reads decimal hours', () => {
    expect(parseGraceHours('1.5', 'OLD_SECRET_GRACE_HOURS')).toBe(1.5);
    expect(parseGraceHours('0', 'OLD_SECRET_GRACE_HOURS')).toBe(0);
  });
  it.each(['-1', 'abc', '', '1h', 'NaN', 'Infinity', '1e3'])('refuses %j, naming the field', (raw) => {
    expect(() => parseGraceHours(raw, 'OLD_SECRET_GRACE_HOURS')).toThrow(/OLD_SECRET_GRACE_HOURS must be/);
  });
});

describe('effectiveGrace', () => {
  it('"now" wins over the tag and the default', () => {
    expect(effectiveGrace(2, '5', true)).toEqual({ hours: 0, reason: 'now' });
  });
  it('a valid tag overrides the default', () => {
    expect(effectiveGrace(2, '0.25', false)).toEqual({ hours: 0.25, reason: 'grace' });
  });
  it('an invalid tag is ignored with its reason, the default applies', () => {
    const grace = effectiveGrace(2, 'soon', false);
    expect(grace.hours).toBe(2);
    expect(grace.ignoredTag).toMatch(/decimal number/);
  });
});

describe('planRetirement', () => {
  it('is due after the grace', () => {
    expect(record().retireAfter).toBe('2025-06-02T11:00:00.000Z');
    expect(record().supersededAt).toBe(PROMOTED.toISOString());
  });
  it('caps a grace beyond Atlas seven-day cut, and at the old secret known expiry', () => {
    const long = planRetirement({ oldAtlasSecretId: OLD, now: PROMOTED, graceHours: 1000, reason: 'grace' });
    expect(long.retireAfter).toBe('2025-06-09T09:00:00.000Z');
    const capped = planRetirement({
      oldAtlasSecretId: OLD,
      now: PROMOTED,
      graceHours: 5,
      reason: 'grace',
      oldSecretExpiresAt: '2025-06-02T10:00:00Z',
    });
    expect(capped.retireAfter).toBe('2025-06-02T10:00:00.000Z');
  });
  it('grace 0 and "now" retire at promotion', () => {
    expect(retiresAtPromotion(record({ retireAfter: PROMOTED.toISOString() }))).toBe(true);
    expect(retiresAtPromotion(record({ reason: 'now' }))).toBe(true);
    expect(retiresAtPromotion(record())).toBe(false);
  });
});

describe('decideRetirement', () => {
  const at = (hours: number) => PROMOTED.getTime() + hours * H;
  it('holds the old secret during the grace', () => {
    expect(decideRetirement(record(), listed(), NEW, at(1))).toEqual({
      kind: 'in-grace',
      until: '2025-06-02T11:00:00.000Z',
    });
  });
  it('retires after the grace when unused since the promotion (atlas-rotator own earlier use does not count)', () => {
    expect(decideRetirement(record(), listed('2025-06-02T08:59:59Z'), NEW, at(3))).toEqual({
      kind: 'retire',
      why: 'grace-over',
    });
  });
  it('holds an old secret a consumer minted with after the promotion, until it expires', () => {
    const decision = decideRetirement(record(), listed('2025-06-02T10:30:00Z'), NEW, at(3));
    expect(decision).toEqual({
      kind: 'in-use',
      lastUsedAt: '2025-06-02T10:30:00Z',
      until: '2025-06-09T09:00:00.000Z',
    });
    expect(retryAtFor(decision, at(3))).toBe('2025-06-02T13:00:00.000Z');
  });
  it('retires an expired old secret whatever its use', () => {
    expect(
      decideRetirement(record(), listed('2025-06-02T10:30:00Z', '2025-06-02T10:00:00Z'), NEW, at(3)),
    ).toEqual({ kind: 'retire', why: 'expired' });
  });
  it('"now" retires in grace and in use', () => {
    expect(decideRetirement(record(), listed('2025-06-02T10:30:00Z'), NEW, at(0.1), true)).toEqual({
      kind: 'retire',
      why: 'now',
    });
    expect(decideRetirement(record({ reason: 'now' }), listed(), NEW, at(0.1))).toEqual({
      kind: 'retire',
      why: 'now',
    });
  });
  it('says gone when Atlas no longer lists it', () => {
    expect(decideRetirement(record(), listed().slice(1), NEW, at(3))).toEqual({ kind: 'gone' });
  });
  it('never retires AWSCURRENT own secret, even when the record names it', () => {
    expect(decideRetirement(record({ oldAtlasSecretId: NEW }), listed(), NEW, at(3), true)).toEqual({
      kind: 'current',
    });
  });
});

describe('the record in a credential value', () => {
  const base = {
    clientId: 'mdb_sa_id_0123456789abcdef01234567',
    clientSecret: 'mdb_sa_sk_value',
    orgId: '0123456789abcdef01234567',
    atlasSecretId: NEW,
  };
  it('round-trips and is not carried into extra fields', () => {
    const value = SecretValue.of(
      JSON.stringify({ ...base, atlasRotatorRetirement: serializeRetirement(record()) }),
    );
    const parsed = parseCredential(value);
    expect(parsed.retirement).toEqual(record());
    expect(parsed.extra).toEqual({});
    expect(parseCredential(serializeCredential(parsed)).retirement).toEqual(record());
  });
  it('a malformed record is ignored', () => {
    expect(parseRetirement({ oldAtlasSecretId: 'x', supersededAt: 'y' })).toBeUndefined();
    const value = SecretValue.of(JSON.stringify({ ...base, atlasRotatorRetirement: 'junk' }));
    expect(parseCredential(value).retirement).toBeUndefined();
  });
});
