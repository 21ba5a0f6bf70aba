import { describe, expect, it } from 'vitest';
import type { AtlasSecretId } from '../../../src/domain/identifiers.js';
import {
  type AtlasSecretInfo,
  maskedSuffix,
  mayCreateFirst,
  placeCredential,
  planRoom,
  type RoomPlanInput,
} from '../../../src/domain/room-plan.js';
import { SecretValue } from '../../../src/domain/secret-value.js';

const NOW = Date.parse('2025-06-02T09:00:00.000Z');
const CURRENT = 'c0ffee000000000000000001' as AtlasSecretId;
const PREVIOUS = 'c0ffee000000000000000000' as AtlasSecretId;
const OTHER = 'bbbbbbbbbbbbbbbbbbbbbbbb' as AtlasSecretId;
const ORPHAN = '5eed00000000000000000001' as AtlasSecretId;
const CURRENT_VALUE = SecretValue.of('mdb_sa_sk_current_aaaa');
const PREVIOUS_VALUE = SecretValue.of('mdb_sa_sk_previous_pppp');

function aSecret(id: AtlasSecretId, overrides: Partial<AtlasSecretInfo> = {}): AtlasSecretInfo {
  return {
    id,
    createdAt: '2025-03-01T00:00:00.000Z',
    expiresAt: '2026-03-01T00:00:00.000Z',
    maskedSecretValue: `mdb_sa_sk_...${id.slice(-4)}`,
    ...overrides,
  };
}

function input(overrides: Partial<RoomPlanInput> = {}): RoomPlanInput {
  return {
    secrets: [aSecret(CURRENT)],
    nowMs: NOW,
    current: { atlasSecretId: CURRENT, clientSecret: CURRENT_VALUE },
    previous: undefined,
    replacedSecretIds: [],
    claims: [],
    skewMs: 60_000,
    currentProvenAtMs: undefined,
    deleteUnknown: false,
    ...overrides,
  };
}

const unrecorded = { atlasSecretId: undefined, clientSecret: CURRENT_VALUE };
const claim = (claimedAt: string, open: boolean, fresh = false, closedAt = '2025-06-02T08:59:45.000Z') => ({
  credentialId: '7a7a7a7a-0000-4000-8000-000000000002',
  claimedAt,
  open,
  fresh,
  closedAt: open ? undefined : closedAt,
  mayHaveCreated: true,
});

describe('planRoom', () => {
  it('deletes nothing when the current secret is alone', () => {
    expect(planRoom(input())).toEqual({ ok: true, value: { deletions: [], currentSecretId: CURRENT } });
  });

  it('deletes an expired secret, counting the moment of expiry as expired', () => {
    const expired = aSecret(OTHER, { expiresAt: '2025-06-02T09:00:00.000Z' });
    expect(planRoom(input({ secrets: [aSecret(CURRENT), expired] }))).toEqual({
      ok: true,
      value: { deletions: [{ id: OTHER, reason: 'expired' }], currentSecretId: CURRENT },
    });
  });

  it("deletes AWSPREVIOUS's secret, recorded in its value", () => {
    const plan = planRoom(
      input({
        secrets: [aSecret(PREVIOUS), aSecret(CURRENT)],
        previous: { atlasSecretId: PREVIOUS, clientSecret: PREVIOUS_VALUE },
      }),
    );
    expect(plan).toEqual({
      ok: true,
      value: { deletions: [{ id: PREVIOUS, reason: 'previous-version' }], currentSecretId: CURRENT },
    });
  });

  it('deletes the secret of a version that was replaced or rolled back', () => {
    const plan = planRoom(input({ secrets: [aSecret(CURRENT), aSecret(OTHER)], replacedSecretIds: [OTHER] }));
    expect(plan).toEqual({
      ok: true,
      value: { deletions: [{ id: OTHER, reason: 'replaced-version' }], currentSecretId: CURRENT },
    });
  });

  it('never deletes the current secret, even expired, replaced or created after a closed claim', () => {
    const current = aSecret(CURRENT, {
      createdAt: '2025-06-02T08:59:30.000Z',
      expiresAt: '2025-06-01T00:00:00.000Z',
    });
    const plan = planRoom(
      input({
        secrets: [current],
        replacedSecretIds: [CURRENT],
        claims: [claim('2025-06-02T08:59:00.000Z', false)],
      }),
    );
    expect(plan).toEqual({ ok: true, value: { deletions: [], currentSecretId: CURRENT } });
  });

  it('deletes an orphan: created after a claim that is closed, so nobody can ever store it', () => {
    const orphan = aSecret(ORPHAN, { createdAt: '2025-06-02T08:59:30.000Z' });
    const plan = planRoom(
      input({ secrets: [aSecret(CURRENT), orphan], claims: [claim('2025-06-02T08:59:00.000Z', false)] }),
    );
    expect(plan).toEqual({
      ok: true,
      value: { deletions: [{ id: ORPHAN, reason: 'orphan-of-closed-attempt' }], currentSecretId: CURRENT },
    });
  });

  it('waits for a fresh open claim that may have created the secret, and asks to fence a stale one', () => {
    const orphan = aSecret(ORPHAN, { createdAt: '2025-06-02T08:59:30.000Z' });
    const fresh = planRoom(
      input({ secrets: [aSecret(CURRENT), orphan], claims: [claim('2025-06-02T08:59:00.000Z', true, true)] }),
    );
    const stale = planRoom(
      input({
        secrets: [aSecret(CURRENT), orphan],
        claims: [claim('2025-06-02T08:30:00.000Z', true, false)],
      }),
    );
    expect(fresh).toMatchObject({
      ok: false,
      error: { kind: 'wait', claimedAt: '2025-06-02T08:59:00.000Z' },
    });
    expect(stale).toEqual({
      ok: false,
      error: { kind: 'fence', credentialIds: ['7a7a7a7a-0000-4000-8000-000000000002'] },
    });
  });

  it('treats a secret created after an attempt was closed, or by one that created nothing, as unknown', () => {
    const later = aSecret(OTHER, { createdAt: '2025-06-02T08:59:59.000Z' });
    const closedEarly = claim('2025-06-02T08:50:00.000Z', false, false, '2025-06-02T08:51:00.000Z');
    const nothing = { ...claim('2025-06-02T08:59:00.000Z', false), mayHaveCreated: false };
    for (const c of [closedEarly, nothing]) {
      expect(planRoom(input({ secrets: [aSecret(CURRENT), later], claims: [c] }))).toEqual({
        ok: false,
        error: { kind: 'limit', blockingSecretIds: [OTHER], currentKnown: true },
      });
    }
  });

  it('treats a secret created before every claim (beyond the skew) as unknown, not as an orphan', () => {
    const older = aSecret(OTHER, { createdAt: '2025-06-02T08:00:00.000Z' });
    const plan = planRoom(
      input({ secrets: [aSecret(CURRENT), older], claims: [claim('2025-06-02T08:59:00.000Z', false)] }),
    );
    expect(plan).toEqual({
      ok: false,
      error: { kind: 'limit', blockingSecretIds: [OTHER], currentKnown: true },
    });
  });

  it('deletes a secret that belongs to no version when allowed', () => {
    expect(planRoom(input({ secrets: [aSecret(CURRENT), aSecret(OTHER)], deleteUnknown: true }))).toEqual({
      ok: true,
      value: { deletions: [{ id: OTHER, reason: 'unknown-allowed' }], currentSecretId: CURRENT },
    });
  });

  it("places AWSCURRENT's secret by its mask when the value records no id, and deletes AWSPREVIOUS's by its mask", () => {
    const plan = planRoom(
      input({
        secrets: [
          aSecret(PREVIOUS, { maskedSecretValue: 'mdb_sa_sk_...pppp' }),
          aSecret(CURRENT, { maskedSecretValue: 'mdb_sa_sk_...aaaa' }),
        ],
        current: unrecorded,
        previous: { atlasSecretId: undefined, clientSecret: PREVIOUS_VALUE },
      }),
    );
    expect(plan).toEqual({
      ok: true,
      value: { deletions: [{ id: PREVIOUS, reason: 'previous-version' }], currentSecretId: CURRENT },
    });
  });

  it('never offers a secret whose mask matches AWSCURRENT for deletion, whatever else names it', () => {
    // AWSPREVIOUS's value ends like AWSCURRENT's: its mask evidence cannot tell them apart.
    const same = SecretValue.of('mdb_sa_sk_previous_aaaa');
    const plan = planRoom(
      input({
        secrets: [
          aSecret(OTHER, { maskedSecretValue: 'mdb_sa_sk_...aaaa' }),
          aSecret(ORPHAN, { maskedSecretValue: 'mdb_sa_sk_...aaaa' }),
        ],
        current: unrecorded,
        previous: { atlasSecretId: undefined, clientSecret: same },
        replacedSecretIds: [OTHER],
        deleteUnknown: true,
      }),
    );
    expect(plan).toEqual({ ok: false, error: { kind: 'limit', blockingSecretIds: [], currentKnown: false } });
  });

  it('takes the only live secret for the current one when nothing else places it', () => {
    const plan = planRoom(
      input({ secrets: [aSecret(OTHER, { maskedSecretValue: undefined })], current: unrecorded }),
    );
    expect(plan).toEqual({ ok: true, value: { deletions: [], currentSecretId: OTHER } });
  });

  it('names none of two unplaced secrets when either may be AWSCURRENT, even when allowed to delete', () => {
    const plan = planRoom(
      input({
        secrets: [
          aSecret(OTHER, { maskedSecretValue: undefined }),
          aSecret(ORPHAN, { maskedSecretValue: undefined }),
        ],
        current: unrecorded,
        deleteUnknown: true,
      }),
    );
    expect(plan).toEqual({ ok: false, error: { kind: 'limit', blockingSecretIds: [], currentKnown: false } });
  });

  it('takes the one live secret for the current one when the recorded id is stale and its mask matches', () => {
    const plan = planRoom(input({ secrets: [aSecret(OTHER, { maskedSecretValue: 'mdb_sa_sk_...aaaa' })] }));
    expect(plan).toEqual({ ok: true, value: { deletions: [], currentSecretId: OTHER } });
  });
});

describe('placeCredential', () => {
  it('breaks a tie of masks by the secret that minted a token when the credential did', () => {
    const a = aSecret(OTHER, { maskedSecretValue: 'x...aaaa', lastUsedAt: '2025-05-01T00:00:00.000Z' });
    const b = aSecret(CURRENT, { maskedSecretValue: 'x...aaaa', lastUsedAt: '2025-06-02T09:00:01.000Z' });
    expect(placeCredential([a, b], unrecorded, NOW, 60_000)).toBe(CURRENT);
    expect(placeCredential([a, b], unrecorded, undefined, 60_000)).toBeUndefined();
  });

  it('reads the suffix after the last "..." of a mask, and none from a mask without one', () => {
    expect(maskedSuffix('mdb_sa_sk_...abcd')).toBe('abcd');
    expect(maskedSuffix('mdb_sa_sk_')).toBeUndefined();
    expect(maskedSuffix(undefined)).toBeUndefined();
  });
});

describe('mayCreateFirst (ADR 0015)', () => {
  const retirement = (retireAfter: string, reason: 'grace' | 'now' = 'grace') => ({
    oldAtlasSecretId: PREVIOUS,
    supersededAt: '2025-06-01T09:00:00.000Z',
    retireAfter,
    reason,
  });

  it('creates first when AWSCURRENT was proven and names its Atlas secret', () => {
    expect(mayCreateFirst({ atlasSecretId: CURRENT }, true, NOW)).toBe(true);
  });

  it('makes room first when AWSCURRENT was not proven (admin mode) or names no Atlas secret', () => {
    expect(mayCreateFirst({ atlasSecretId: CURRENT }, false, NOW)).toBe(false);
    expect(mayCreateFirst({ atlasSecretId: undefined }, true, NOW)).toBe(false);
  });

  it('makes room first while the secret the last rotation replaced is in its grace, not after it', () => {
    expect(
      mayCreateFirst(
        { atlasSecretId: CURRENT, retirement: retirement('2025-06-02T10:00:00.000Z') },
        true,
        NOW,
      ),
    ).toBe(false);
    expect(
      mayCreateFirst(
        { atlasSecretId: CURRENT, retirement: retirement('2025-06-02T08:00:00.000Z') },
        true,
        NOW,
      ),
    ).toBe(true);
    expect(
      mayCreateFirst(
        { atlasSecretId: CURRENT, retirement: retirement('2025-06-01T09:00:00.000Z', 'now') },
        true,
        NOW,
      ),
    ).toBe(true);
  });
});
