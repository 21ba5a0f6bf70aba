import { describe, expect, it } from 'vitest';
import { NodeCryptoIdGenerator } from '../../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { parseRotationToken, type RotationToken } from '../../../src/domain/identifiers.js';
import {
  type AttemptState,
  attemptState,
  CLAIM_LABEL,
  claimValue,
  claimVersionId,
  contentOf,
  credentialVersionId,
  latestAttempt,
  nextStep,
  openClaims,
  type SecretView,
  tombstoneValue,
  undoVersionId,
  type VersionContent,
  type VersionFact,
} from '../../../src/domain/rotation-protocol.js';
import { SecretValue } from '../../../src/domain/secret-value.js';

const ids = new NodeCryptoIdGenerator();
const digest = (text: string) => ids.digestId(text);
const T = parseRotationToken('7a7a7a7a-0000-4000-8000-000000000001');
const OTHER = parseRotationToken('7a7a7a7a-0000-4000-8000-000000000002');
const CURRENT = '11111111-1111-4111-8111-111111111111';
const NOW = Date.parse('2025-06-02T09:00:00.000Z');
const LEASE = 15 * 60_000;
const FRESH = '2025-06-02T08:55:00.000Z';
const STALE = '2025-06-02T08:40:00.000Z';
const CURRENT_VALUE = SecretValue.of('{"clientId":"current"}');
const credential = (atlasSecretId = 'c0ffee000000000000000002'): VersionContent => ({
  kind: 'credential',
  atlasSecretId: atlasSecretId as never,
});
const tombstone = (reason: 'nothing-created' | 'maybe-created' | 'fenced'): VersionContent => ({
  kind: 'tombstone',
  tombstone: { token: T, attempt: 1, reason },
});

/** A view: versions as [id, stages, createdAt?], contents by id. AWSCURRENT is CURRENT unless listed. */
function view(
  versions: readonly (readonly [string, readonly string[], string?])[],
  contents: Record<string, VersionContent> = {},
): SecretView {
  const listed: VersionFact[] = versions.map(([versionId, stages, createdAt]) => ({
    versionId,
    stages,
    createdAt: createdAt ?? FRESH,
  }));
  if (!listed.some((v) => v.stages.includes('AWSCURRENT'))) {
    listed.unshift({ versionId: CURRENT, stages: ['AWSCURRENT'], createdAt: '2025-01-01T00:00:00.000Z' });
  }
  return {
    versions: listed,
    contents: new Map([[CURRENT, credential('c0ffee000000000000000001')], ...Object.entries(contents)]),
    nowMs: NOW,
    leaseMs: LEASE,
  };
}

const step = (v: SecretView, token: RotationToken = T, undo: Record<string, SecretValue> = {}) =>
  nextStep(v, token, digest, CURRENT_VALUE, (id) => undo[id]);

describe('version ids', () => {
  it('names attempt 1 by the token itself and later attempts by a UUID-shaped digest of token#n', () => {
    expect(credentialVersionId(T, 1, digest)).toBe(T);
    const second = credentialVersionId(T, 2, digest);
    expect(second).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(second).not.toBe(credentialVersionId(T, 3, digest));
    expect(credentialVersionId(T, 2, digest)).toBe(second);
  });

  it('keeps every id of the longest token within VersionId rules (32-64 letters, digits, hyphens)', () => {
    const longest = parseRotationToken('f'.repeat(58));
    const ids = [
      longest,
      claimVersionId(longest),
      undoVersionId(longest),
      credentialVersionId(longest, 2, digest),
    ];
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9-]{32,64}$/);
    expect(() => parseRotationToken('f'.repeat(59))).toThrow(/32 to 58/);
    expect(CLAIM_LABEL.length).toBeLessThanOrEqual(256);
  });
});

describe('contentOf', () => {
  it('classifies claims, tombstones, credentials and the valueless placeholder without keeping values', () => {
    const claim = { token: T, attempt: 2, execution: 'e', basedOn: CURRENT };
    expect(contentOf(SecretValue.of(claimValue(claim)))).toEqual({ kind: 'claim', claim });
    expect(contentOf(SecretValue.of(tombstoneValue({ token: T, attempt: 1, reason: 'fenced' })))).toEqual(
      tombstone('fenced'),
    );
    expect(contentOf(SecretValue.of('{"clientId":"x","atlasSecretId":"c0ffee000000000000000009"}'))).toEqual(
      credential('c0ffee000000000000000009'),
    );
    expect(contentOf(SecretValue.of('not json'))).toEqual({ kind: 'credential', atlasSecretId: undefined });
    expect(contentOf(undefined)).toEqual({ kind: 'placeholder' });
  });
});

describe('attemptState', () => {
  const cases: [string, SecretView, AttemptState][] = [
    ['new: no claim, no version', view([]), { status: 'new' }],
    [
      'new: only RotateSecret placeholder',
      view([[T, ['AWSPENDING']]], { [T]: { kind: 'placeholder' } }),
      { status: 'new' },
    ],
    [
      'claimed (fresh)',
      view([[claimVersionId(T), [CLAIM_LABEL], FRESH]]),
      { status: 'claimed', fresh: true, claimedAt: FRESH },
    ],
    [
      'claimed (stale)',
      view([[claimVersionId(T), [CLAIM_LABEL], STALE]]),
      { status: 'claimed', fresh: false, claimedAt: STALE },
    ],
    [
      'claimed over the placeholder',
      view(
        [
          [T, ['AWSPENDING']],
          [claimVersionId(T), [CLAIM_LABEL]],
        ],
        { [T]: { kind: 'placeholder' } },
      ),
      { status: 'claimed', fresh: true, claimedAt: FRESH },
    ],
    [
      'released',
      view(
        [
          [claimVersionId(T), []],
          [T, [CLAIM_LABEL]],
        ],
        { [T]: tombstone('maybe-created') },
      ),
      { status: 'released', reason: 'maybe-created' },
    ],
    [
      'pending',
      view(
        [
          [claimVersionId(T), [CLAIM_LABEL]],
          [T, ['AWSPENDING']],
        ],
        { [T]: credential() },
      ),
      { status: 'pending', atlasSecretId: 'c0ffee000000000000000002' as never },
    ],
    [
      'promoted',
      view(
        [
          [CURRENT, ['AWSPREVIOUS']],
          [T, ['AWSCURRENT', 'AWSPENDING']],
        ],
        { [T]: credential() },
      ),
      { status: 'promoted', atlasSecretId: 'c0ffee000000000000000002' as never },
    ],
    [
      'superseded (AWSPREVIOUS)',
      view(
        [
          [T, ['AWSPREVIOUS']],
          [OTHER, ['AWSCURRENT']],
        ],
        { [T]: credential() },
      ),
      { status: 'superseded', atlasSecretId: 'c0ffee000000000000000002' as never },
    ],
    [
      'superseded (no label left)',
      view([[T, []]], { [T]: credential() }),
      { status: 'superseded', atlasSecretId: 'c0ffee000000000000000002' as never },
    ],
    [
      'rolled back',
      view(
        [
          [T, []],
          [undoVersionId(T), ['AWSCURRENT', 'AWSPENDING']],
        ],
        { [T]: credential() },
      ),
      { status: 'rolled-back' },
    ],
    [
      'promoted although an undo copy exists (the promote won the swap)',
      view(
        [
          [T, ['AWSCURRENT']],
          [undoVersionId(T), ['AWSPENDING']],
        ],
        { [T]: credential() },
      ),
      { status: 'promoted', atlasSecretId: 'c0ffee000000000000000002' as never },
    ],
  ];
  for (const [name, v, expected] of cases) {
    it(name, () => expect(attemptState(v, T)).toEqual(expected));
  }

  it('refuses to guess a stored version whose content was not read', () => {
    expect(() => attemptState(view([[T, []]]), T)).toThrow(/content/);
  });
});

describe('latestAttempt and openClaims', () => {
  it('finds the latest attempt by its claim, and only open claims as open', () => {
    const second = credentialVersionId(T, 2, digest);
    const v = view(
      [
        [claimVersionId(T), [], STALE],
        [T, []],
        [claimVersionId(second), [CLAIM_LABEL], FRESH],
        [claimVersionId(OTHER), [], STALE],
        [OTHER, ['AWSPENDING']],
      ],
      { [T]: tombstone('fenced'), [OTHER]: { kind: 'placeholder' } },
    );
    expect(latestAttempt(v, T, digest)).toBe(2);
    // A release whose claim write was lost leaves only its tombstone: that attempt counts too.
    const third = credentialVersionId(T, 3, digest);
    const lost = view(
      [...v.versions.map((x) => [x.versionId, x.stages, x.createdAt] as const), [third, []]],
      {
        [third]: tombstone('nothing-created'),
      },
    );
    expect(latestAttempt(lost, T, digest)).toBe(3);
    expect(openClaims(v).map((c) => [c.credentialId, c.fresh])).toEqual([
      [second, true],
      [OTHER, false],
    ]);
  });
});

describe('nextStep', () => {
  it('starts attempt 1 of a new token', () => {
    expect(step(view([]))).toEqual({ kind: 'start', attempt: 1, credentialId: T });
  });

  it('answers from the token own versions first: finish, already completed, rolled back, verify', () => {
    expect(step(view([[T, ['AWSCURRENT']]], { [T]: credential() }))).toMatchObject({ kind: 'finish' });
    expect(
      step(
        view(
          [
            [T, ['AWSPREVIOUS']],
            [OTHER, ['AWSCURRENT']],
          ],
          { [T]: credential() },
        ),
      ),
    ).toMatchObject({
      kind: 'already-completed',
    });
    expect(
      step(
        view(
          [
            [T, []],
            [undoVersionId(T), ['AWSCURRENT']],
          ],
          { [T]: credential() },
        ),
      ),
    ).toMatchObject({
      kind: 'rolled-back',
    });
    expect(
      step(
        view(
          [
            [claimVersionId(T), [CLAIM_LABEL]],
            [T, ['AWSPENDING']],
          ],
          { [T]: credential() },
        ),
      ),
    ).toMatchObject({
      kind: 'verify',
    });
  });

  it('a finished token ignores other runs entirely (no adoption, no waiting)', () => {
    const v = view(
      [
        [T, ['AWSPREVIOUS']],
        [OTHER, ['AWSCURRENT']],
        [claimVersionId(credentialVersionId(OTHER, 2, digest)), [CLAIM_LABEL], FRESH],
      ],
      { [T]: credential() },
    );
    expect(step(v)).toMatchObject({ kind: 'already-completed' });
  });

  it('waits for a fresh claim of its own token (another execution) and fences a stale one', () => {
    expect(step(view([[claimVersionId(T), [CLAIM_LABEL], FRESH]]))).toEqual({
      kind: 'wait',
      credentialId: T,
      until: '2025-06-02T09:10:00.000Z',
    });
    expect(step(view([[claimVersionId(T), [CLAIM_LABEL], STALE]]))).toEqual({
      kind: 'fence',
      credentialId: T,
    });
  });

  it('starts the next attempt after a released one', () => {
    const v = view(
      [
        [claimVersionId(T), []],
        [T, [CLAIM_LABEL]],
      ],
      { [T]: tombstone('nothing-created') },
    );
    expect(step(v)).toEqual({ kind: 'start', attempt: 2, credentialId: credentialVersionId(T, 2, digest) });
  });

  it("adopts another token's pending credential before its own rotation", () => {
    const v = view(
      [
        [claimVersionId(OTHER), []],
        [OTHER, ['AWSPENDING']],
      ],
      { [OTHER]: credential() },
    );
    expect(step(v)).toEqual({ kind: 'adopt', credentialId: OTHER });
  });

  it("waits for another token's fresh open claim and fences its stale one", () => {
    expect(step(view([[claimVersionId(OTHER), [CLAIM_LABEL], FRESH]]))).toMatchObject({
      kind: 'wait',
      credentialId: OTHER,
    });
    expect(step(view([[claimVersionId(OTHER), [CLAIM_LABEL], STALE]]))).toEqual({
      kind: 'fence',
      credentialId: OTHER,
    });
  });

  it('finishes a rollback stopped between its undo copy and its swap, only while the copy is what AWSCURRENT holds', () => {
    const v = view(
      [
        [OTHER, []],
        [undoVersionId(OTHER), ['AWSPENDING']],
      ],
      { [OTHER]: credential() },
    );
    expect(step(v, T, { [undoVersionId(OTHER)]: CURRENT_VALUE })).toEqual({
      kind: 'finish-rollback',
      undoId: undoVersionId(OTHER),
      credentialId: OTHER,
    });
    expect(step(v, T, { [undoVersionId(OTHER)]: SecretValue.of('{"clientId":"older"}') })).toMatchObject({
      kind: 'start',
    });
  });

  it('ignores RotateSecret placeholders of its own token and old-protocol versions it does not own', () => {
    expect(step(view([[T, ['AWSPENDING']]], { [T]: { kind: 'placeholder' } }))).toEqual({
      kind: 'start',
      attempt: 1,
      credentialId: T,
    });
  });
});
