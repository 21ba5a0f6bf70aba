import { describe, expect, it } from 'vitest';
import { parseAdminBinding, requireAdminBinding, serves } from '../../../src/domain/admin-binding.js';
import { parseCredential } from '../../../src/domain/credential.js';
import { AdminSecretNotBoundError, InvalidSecretValueError } from '../../../src/domain/errors.js';
import type { RotationToken } from '../../../src/domain/identifiers.js';
import { checkIdentityPin, pinCandidates } from '../../../src/domain/identity-pin.js';
import {
  checkMinInterval,
  intervalContentsNeeded,
  lastCompletedRotationAt,
} from '../../../src/domain/rotation-interval.js';
import {
  claimIsFresh,
  contentOf,
  nextStep,
  type SecretView,
  type VersionContent,
  type VersionFact,
} from '../../../src/domain/rotation-protocol.js';
import { SecretValue } from '../../../src/domain/secret-value.js';
import { aCredentialJson, aToken, SECRET_ARN } from '../../support/builders.js';

const ADMIN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/admin-XyZ123';
const TEAM_A = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-a/';
const value = (json: unknown) => SecretValue.of(JSON.stringify(json));
const NOW = Date.parse('2026-01-10T12:00:00.000Z');
const LEASE = 15 * 60_000;
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

describe('admin binding (serves)', () => {
  it('serves exact ARNs and prefixes ending in *, nothing else', () => {
    const binding = parseAdminBinding(value({ clientId: 'x', serves: [SECRET_ARN, `${TEAM_A}*`] }));
    expect(serves(binding, SECRET_ARN)).toBe(true);
    expect(serves(binding, `${TEAM_A}orders-AbCdEf`)).toBe(true);
    expect(serves(binding, `${SECRET_ARN}x`)).toBe(false);
    expect(serves(binding, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-b/orders-AbCdEf')).toBe(
      false,
    );
  });

  it('serves nothing without serves, and the refusal says what to add', () => {
    const binding = parseAdminBinding(value({ clientId: 'x', clientSecret: 'y' }));
    expect(binding).toEqual({ serves: [], declared: false });
    expect(() => requireAdminBinding(binding, ADMIN, SECRET_ARN)).toThrow(AdminSecretNotBoundError);
    expect(() => requireAdminBinding(binding, ADMIN, SECRET_ARN)).toThrow(`"serves": ["${SECRET_ARN}"]`);
  });

  it('refuses a covered-nothing list with ADMIN_SECRET_NOT_BOUND, not retryable', () => {
    const binding = parseAdminBinding(value({ serves: [`${TEAM_A}*`] }));
    try {
      requireAdminBinding(binding, ADMIN, SECRET_ARN);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'ADMIN_SECRET_NOT_BOUND', retryable: false });
    }
  });

  it.each([
    ['a bare *', ['*']],
    ['a prefix shorter than the account', ['arn:aws:secretsmanager:eu-west-1:*']],
    ['a prefix across accounts', ['arn:aws:secretsmanager:eu-west-1:1234*']],
    ['a string', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x'],
    ['a number', [1]],
  ])('rejects %s in serves without quoting the value', (_, entries) => {
    expect(() => parseAdminBinding(value({ clientSecret: 'hunter2', serves: entries }))).toThrow(
      InvalidSecretValueError,
    );
    expect(() => parseAdminBinding(value({ clientSecret: 'hunter2', serves: entries }))).not.toThrow(
      /hunter2/,
    );
  });

  it('accepts a prefix naming the whole account', () => {
    const binding = parseAdminBinding(
      value({ serves: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:*'] }),
    );
    expect(serves(binding, SECRET_ARN)).toBe(true);
  });
});

function version(versionId: string, stages: string[], createdAt: string): VersionFact {
  return { versionId, stages, createdAt };
}

describe('identity pin', () => {
  const rotated = parseCredential(value(aCredentialJson()));
  const handWritten = (overrides: Record<string, unknown>) =>
    parseCredential(
      value(aCredentialJson({ atlasSecretId: undefined, atlasSecretExpiresAt: undefined, ...overrides })),
    );

  it('needs no pin when AWSCURRENT is atlas-rotator’s', () => {
    expect(pinCandidates([version('c', ['AWSCURRENT'], at(0))], rotated)).toEqual([]);
  });

  it('looks newest first, past bookkeeping versions', () => {
    const versions = [
      version('old', [], at(-3000)),
      version('prev', ['AWSPREVIOUS'], at(-2000)),
      version('claim-x', ['atlas-rotator:claim'], at(-1500)),
      version('undo-x', [], at(-1200)),
      version('cur', ['AWSCURRENT'], at(0)),
    ];
    expect(pinCandidates(versions, handWritten({})).map((v) => v.versionId)).toEqual(['prev', 'old']);
  });

  it('refuses a hand-written value naming another clientId, orgId or projectId than the pin', () => {
    const swapped = handWritten({
      clientId: 'mdb_sa_id_bbbbbbbbbbbbbbbbbbbbbbbb',
      projectId: '0123456789abcdef01234567',
    });
    const check = checkIdentityPin(swapped, [
      { versionId: 'hand', credential: handWritten({}) },
      { versionId: 'rotated', credential: rotated },
    ]);
    expect(check).toEqual({ ok: false, pinnedVersionId: 'rotated', changed: ['clientId', 'projectId'] });
  });

  it('accepts a hand-written value for the same account (a new clientSecret), and anything before a first rotation', () => {
    expect(
      checkIdentityPin(handWritten({ clientSecret: 'other' }), [{ versionId: 'r', credential: rotated }]),
    ).toEqual({
      ok: true,
      pinnedVersionId: 'r',
    });
    const swapped = handWritten({ clientId: 'mdb_sa_id_bbbbbbbbbbbbbbbbbbbbbbbb' });
    expect(checkIdentityPin(swapped, [{ versionId: 'h', credential: handWritten({}) }])).toEqual({
      ok: true,
      pinnedVersionId: undefined,
    });
  });
});

function view(
  versions: VersionFact[],
  contents: Record<string, VersionContent>,
  leaseMs = LEASE,
): SecretView {
  return { versions, contents: new Map(Object.entries(contents)), nowMs: NOW, leaseMs };
}

/** A credential version atlas-rotator wrote (it records its atlasSecretId). */
const credential = (): VersionContent => contentOf(value(aCredentialJson()));

describe('minimum interval', () => {
  const HOUR = 60 * 60_000;

  it('dates the last rotation by AWSCURRENT when atlas-rotator wrote it', () => {
    const v = view([version('cur', ['AWSCURRENT'], at(-10 * 60_000))], { cur: credential() });
    expect(lastCompletedRotationAt(v)).toBe(at(-10 * 60_000));
    const hand = view([version('cur', ['AWSCURRENT'], at(-60_000))], {
      cur: contentOf(value(aCredentialJson({ atlasSecretId: undefined }))),
    });
    expect(lastCompletedRotationAt(hand)).toBeUndefined();
  });

  it('after a rollback, dates it by the version the undo copy restored', () => {
    const v = view(
      [version('prev', ['AWSPREVIOUS'], at(-3 * HOUR)), version('undo-x', ['AWSCURRENT'], at(-60_000))],
      { prev: credential(), 'undo-x': credential() },
    );
    expect(lastCompletedRotationAt(v)).toBe(at(-3 * HOUR));
  });

  it("names the content it needs: AWSCURRENT's, or after a rollback AWSPREVIOUS's, until the view holds it", () => {
    const versions = [
      version('prev', ['AWSPREVIOUS'], at(-3 * HOUR)),
      version('cur', ['AWSCURRENT'], at(-1)),
    ];
    expect(intervalContentsNeeded(view(versions, {}))).toEqual(['cur']);
    expect(intervalContentsNeeded(view(versions, { cur: credential() }))).toEqual([]);
    const rolledBack = [
      version('prev', ['AWSPREVIOUS'], at(-3 * HOUR)),
      version('undo-x', ['AWSCURRENT'], at(-60_000)),
    ];
    // The undo copy completed nothing: the version it restored dates the last rotation, so its content is needed.
    expect(intervalContentsNeeded(view(rolledBack, { 'undo-x': credential() }))).toEqual(['prev']);
    expect(intervalContentsNeeded(view(rolledBack, { 'undo-x': credential(), prev: credential() }))).toEqual(
      [],
    );
    expect(intervalContentsNeeded(view([version('undo-x', ['AWSCURRENT'], at(-1))], {}))).toEqual([]);
  });

  it('holds back only a new rotation inside the interval, and says from when; 0 is off', () => {
    const v = view([version('cur', ['AWSCURRENT'], at(-10 * 60_000))], { cur: credential() });
    const start = { kind: 'start', attempt: 1, credentialId: 'x' } as const;
    expect(checkMinInterval(start, v, HOUR)).toEqual({
      ok: false,
      lastCompletedAt: at(-10 * 60_000),
      notBefore: at(50 * 60_000),
    });
    expect(checkMinInterval(start, v, 0)).toEqual({ ok: true });
    expect(checkMinInterval(start, v, 5 * 60_000)).toEqual({ ok: true });
    for (const kind of ['already-completed', 'finish', 'verify'] as const) {
      expect(checkMinInterval({ kind, credentialId: 'cur', attempt: 1 }, v, HOUR)).toEqual({ ok: true });
    }
    expect(checkMinInterval({ kind: 'adopt', credentialId: 'p' }, v, HOUR)).toEqual({ ok: true });
  });
});

describe('claims cannot block a secret past the lease', () => {
  const TOKEN: RotationToken = aToken(1);
  const digest = (text: string) => `d-${text}`;
  const current = value(aCredentialJson());
  const secretWith = (claimCreatedAt: string, claimValue: unknown) =>
    view(
      [
        version('cur', ['AWSCURRENT'], at(-LEASE * 10)),
        version('claim-nobody', ['atlas-rotator:claim'], claimCreatedAt),
      ],
      {
        cur: credential(),
        'claim-nobody': contentOf(value(claimValue)),
      },
    );

  it('a claim goes stale a lease after its CreatedDate', () => {
    expect(claimIsFresh({ nowMs: NOW, leaseMs: LEASE }, at(-LEASE + 1))).toBe(true);
    expect(claimIsFresh({ nowMs: NOW, leaseMs: LEASE }, at(-LEASE))).toBe(false);
  });

  it('ignores a claim dated in the future beyond the tolerance, or with no valid date', () => {
    expect(claimIsFresh({ nowMs: NOW, leaseMs: LEASE }, at(2_000))).toBe(true);
    expect(claimIsFresh({ nowMs: NOW, leaseMs: LEASE }, at(60_000))).toBe(false);
    expect(claimIsFresh({ nowMs: NOW, leaseMs: LEASE }, at(365 * 24 * 3_600_000))).toBe(false);
    expect(claimIsFresh({ nowMs: NOW, leaseMs: LEASE }, 'not a date')).toBe(false);
  });

  it('fences a forged claim for a token nobody sends once stale, whatever its value says', () => {
    const forged = { atlasRotatorClaim: { token: 'nobody', attempt: 1e9, execution: 'x', basedOn: 'cur' } };
    const fresh = nextStep(secretWith(at(-1_000), forged), TOKEN, digest, current, () => undefined);
    expect(fresh).toEqual({ kind: 'wait', credentialId: 'nobody', until: at(LEASE - 1_000) });
    const stale = nextStep(secretWith(at(-LEASE), forged), TOKEN, digest, current, () => undefined);
    expect(stale).toEqual({ kind: 'fence', credentialId: 'nobody' });
    const future = nextStep(secretWith(at(10 * LEASE), forged), TOKEN, digest, current, () => undefined);
    expect(future).toEqual({ kind: 'fence', credentialId: 'nobody' });
    const garbage = nextStep(secretWith(at(-LEASE), 'not a claim'), TOKEN, digest, current, () => undefined);
    expect(garbage).toEqual({ kind: 'fence', credentialId: 'nobody' });
  });
});
