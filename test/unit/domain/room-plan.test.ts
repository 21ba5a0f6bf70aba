import { describe, expect, it } from 'vitest';
import type { AtlasSecretId } from '../../../src/domain/identifiers.js';
import { type AtlasSecretInfo, planRoom, type RoomPlanInput } from '../../../src/domain/room-plan.js';

const NOW = Date.parse('2025-06-02T09:00:00.000Z');
const CURRENT = 'c0ffee000000000000000001' as AtlasSecretId;
const PREVIOUS = 'c0ffee000000000000000000' as AtlasSecretId;
const OTHER = 'bbbbbbbbbbbbbbbbbbbbbbbb' as AtlasSecretId;
const ORPHAN = '5eed00000000000000000001' as AtlasSecretId;

function aSecret(id: AtlasSecretId, overrides: Partial<AtlasSecretInfo> = {}): AtlasSecretInfo {
  return { id, createdAt: '2025-03-01T00:00:00.000Z', expiresAt: '2026-03-01T00:00:00.000Z', ...overrides };
}

function input(overrides: Partial<RoomPlanInput> = {}): RoomPlanInput {
  return {
    secrets: [aSecret(CURRENT)],
    nowMs: NOW,
    currentSecretId: CURRENT,
    previousSecretIds: [],
    orphansCreatedSince: undefined,
    deleteUnknown: false,
    ...overrides,
  };
}

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

  it("deletes the previous version's secret", () => {
    const plan = planRoom(
      input({ secrets: [aSecret(PREVIOUS), aSecret(CURRENT)], previousSecretIds: [PREVIOUS] }),
    );
    expect(plan).toEqual({
      ok: true,
      value: { deletions: [{ id: PREVIOUS, reason: 'previous-version' }], currentSecretId: CURRENT },
    });
  });

  it("deletes a secret created since this rotation's create intent", () => {
    const orphan = aSecret(ORPHAN, { createdAt: '2025-06-02T08:59:30.000Z' });
    const plan = planRoom(
      input({
        secrets: [aSecret(CURRENT), orphan],
        orphansCreatedSince: Date.parse('2025-06-02T08:59:00.000Z'),
      }),
    );
    expect(plan).toEqual({
      ok: true,
      value: { deletions: [{ id: ORPHAN, reason: 'orphan-of-crashed-create' }], currentSecretId: CURRENT },
    });
  });

  it('never deletes the current secret, even expired or created recently', () => {
    const current = aSecret(CURRENT, {
      createdAt: '2025-06-02T08:59:30.000Z',
      expiresAt: '2025-06-01T00:00:00.000Z',
    });
    const plan = planRoom(
      input({ secrets: [current], orphansCreatedSince: Date.parse('2025-06-02T08:00:00.000Z') }),
    );
    expect(plan).toEqual({ ok: true, value: { deletions: [], currentSecretId: CURRENT } });
  });

  it('blocks on a secret that belongs to no version', () => {
    expect(planRoom(input({ secrets: [aSecret(CURRENT), aSecret(OTHER)] }))).toEqual({
      ok: false,
      error: { blockingSecretIds: [OTHER] },
    });
  });

  it('deletes a secret that belongs to no version when allowed', () => {
    expect(planRoom(input({ secrets: [aSecret(CURRENT), aSecret(OTHER)], deleteUnknown: true }))).toEqual({
      ok: true,
      value: { deletions: [{ id: OTHER, reason: 'unknown-allowed' }], currentSecretId: CURRENT },
    });
  });

  it('takes the only live secret for the current one of a credential never rotated', () => {
    const plan = planRoom(input({ secrets: [aSecret(OTHER)], currentSecretId: undefined }));
    expect(plan).toEqual({ ok: true, value: { deletions: [], currentSecretId: OTHER } });
  });

  it('blocks when a credential never rotated leaves two candidates, even when allowed to delete', () => {
    const plan = planRoom(
      input({ secrets: [aSecret(OTHER), aSecret(ORPHAN)], currentSecretId: undefined, deleteUnknown: true }),
    );
    expect(plan).toEqual({ ok: false, error: { blockingSecretIds: [OTHER, ORPHAN] } });
  });

  it('takes the one live secret for the current one when the recorded id is stale', () => {
    expect(planRoom(input({ secrets: [aSecret(OTHER)] }))).toEqual({
      ok: true,
      value: { deletions: [], currentSecretId: OTHER },
    });
  });

  it('deletes no unknown secret when the recorded current one is gone: one of them may be the real current one', () => {
    const plan = planRoom(input({ secrets: [aSecret(OTHER), aSecret(ORPHAN)], deleteUnknown: true }));
    expect(plan).toEqual({ ok: false, error: { blockingSecretIds: [OTHER, ORPHAN] } });
  });
});
