import { describe, expect, it } from 'vitest';
import { type AtlasSecretId, parseRotationToken } from '../../../src/domain/identifiers.js';
import {
  type FailureReason,
  intentTagValue,
  type LeaseDecision,
  leaseDecision,
  leaseTagValue,
  type ObservedState,
  observedState,
  type RotationEvent,
  type RotationObservation,
  type RotationState,
  transition,
} from '../../../src/domain/rotation.js';
import { TAG_CREATE_INTENT, TAG_ROTATION } from '../../../src/domain/rotation-metadata.js';
import { aToken } from '../../support/builders.js';

const NEW_ID = 'c0ffee0000000000000000ff' as AtlasSecretId;
const TOKEN = aToken(1);
const OTHER = aToken(2);

const reason: FailureReason = {
  stage: 'verify',
  code: 'VERIFICATION_FAILED',
  message: 'the new secret did not work',
  retryable: false,
  atlasStatus: 401,
  atlasErrorCode: 'invalid_client',
};

const states: Record<RotationState['status'], RotationState> = {
  requested: { status: 'requested' },
  creating: { status: 'creating', intentAt: '2025-06-02T09:00:00.000Z' },
  'pending-stored': { status: 'pending-stored', newSecretId: NEW_ID },
  verified: { status: 'verified', newSecretId: NEW_ID },
  promoted: { status: 'promoted', newSecretId: NEW_ID },
  completed: { status: 'completed', newSecretId: NEW_ID, deletedSecretIds: [] },
  'rolled-back': { status: 'rolled-back', reason },
  failed: { status: 'failed', reason, from: 'creating' },
};

const events: Record<RotationEvent['type'], RotationEvent> = {
  'create-intended': { type: 'create-intended', at: '2025-06-02T09:01:00.000Z' },
  'pending-stored': { type: 'pending-stored', newSecretId: NEW_ID },
  verified: { type: 'verified' },
  promoted: { type: 'promoted' },
  'old-secrets-deleted': { type: 'old-secrets-deleted', deletedSecretIds: [NEW_ID] },
  'rolled-back': { type: 'rolled-back', reason },
  failed: { type: 'failed', reason },
};

const valid: [RotationState['status'], RotationEvent['type'], RotationState][] = [
  ['requested', 'create-intended', { status: 'creating', intentAt: '2025-06-02T09:01:00.000Z' }],
  ['creating', 'create-intended', { status: 'creating', intentAt: '2025-06-02T09:01:00.000Z' }],
  ['creating', 'pending-stored', { status: 'pending-stored', newSecretId: NEW_ID }],
  ['pending-stored', 'verified', { status: 'verified', newSecretId: NEW_ID }],
  ['pending-stored', 'rolled-back', { status: 'rolled-back', reason }],
  ['verified', 'promoted', { status: 'promoted', newSecretId: NEW_ID }],
  [
    'promoted',
    'old-secrets-deleted',
    { status: 'completed', newSecretId: NEW_ID, deletedSecretIds: [NEW_ID] },
  ],
  ['requested', 'failed', { status: 'failed', reason, from: 'requested' }],
  ['creating', 'failed', { status: 'failed', reason, from: 'creating' }],
  ['pending-stored', 'failed', { status: 'failed', reason, from: 'pending-stored' }],
  ['verified', 'failed', { status: 'failed', reason, from: 'verified' }],
  ['promoted', 'failed', { status: 'failed', reason, from: 'promoted' }],
];

describe('transition', () => {
  it.each(valid)('moves from %s on %s', (from, event, to) => {
    expect(transition(states[from], events[event])).toEqual({ ok: true, value: to });
  });

  const allowed = new Set(valid.map(([from, event]) => `${from}/${event}`));
  const invalid = Object.keys(states).flatMap((from) =>
    Object.keys(events)
      .filter((event) => !allowed.has(`${from}/${event}`))
      .map((event) => [from as RotationState['status'], event as RotationEvent['type']] as const),
  );

  it.each(invalid)('refuses %s on %s', (from, event) => {
    expect(transition(states[from], events[event])).toEqual({ ok: false, error: { from, event } });
  });

  it('leaves every terminal state only by refusing', () => {
    for (const terminal of [states.completed, states['rolled-back'], states.failed]) {
      for (const event of Object.values(events)) expect(transition(terminal, event).ok).toBe(false);
    }
  });
});

function observation(overrides: Partial<RotationObservation> = {}): RotationObservation {
  return {
    token: TOKEN,
    tokenVersionStages: undefined,
    tokenVersionAtlasSecretId: undefined,
    leaseToken: undefined,
    createIntentAt: undefined,
    ...overrides,
  };
}

describe('observedState', () => {
  const cases: [string, Partial<RotationObservation>, ObservedState][] = [
    ['a token never seen is requested', {}, { status: 'requested' }],
    [
      'a recorded create intent without a version is creating',
      { leaseToken: TOKEN, createIntentAt: '2025-06-02T09:00:00.000Z' },
      { status: 'creating', intentAt: '2025-06-02T09:00:00.000Z' },
    ],
    [
      'an AWSPENDING version holding an Atlas secret is pending-stored',
      { tokenVersionStages: ['AWSPENDING'], tokenVersionAtlasSecretId: NEW_ID, leaseToken: TOKEN },
      { status: 'pending-stored', newSecretId: NEW_ID },
    ],
    [
      'AWSCURRENT under its own lease is promoted (the old secret may still need deleting)',
      {
        tokenVersionStages: ['AWSCURRENT', 'AWSPENDING'],
        tokenVersionAtlasSecretId: NEW_ID,
        leaseToken: TOKEN,
      },
      { status: 'promoted', newSecretId: NEW_ID },
    ],
    [
      'AWSCURRENT without the lease finished earlier',
      { tokenVersionStages: ['AWSCURRENT'], tokenVersionAtlasSecretId: NEW_ID },
      { status: 'already-completed', newSecretId: NEW_ID },
    ],
    [
      'AWSCURRENT while another rotation holds the lease finished earlier',
      { tokenVersionStages: ['AWSCURRENT'], tokenVersionAtlasSecretId: NEW_ID, leaseToken: OTHER },
      { status: 'already-completed', newSecretId: NEW_ID },
    ],
    [
      'AWSCURRENT holding no Atlas secret id was not written by a rotation',
      { tokenVersionStages: ['AWSCURRENT'], leaseToken: TOKEN },
      { status: 'already-completed', newSecretId: undefined },
    ],
    [
      'a version with no labels left was rolled back',
      { tokenVersionStages: [], tokenVersionAtlasSecretId: NEW_ID },
      { status: 'rolled-back', reason },
    ],
  ];

  it.each(cases)('%s', (_name, overrides, expected) => {
    expect(observedState(observation(overrides), reason)).toEqual(expected);
  });

  // A version labelled AWSPREVIOUS was AWSCURRENT once, so its rotation completed.
  it('reads a version labelled AWSPREVIOUS as a rotation that completed', () => {
    expect(
      observedState(
        observation({ tokenVersionStages: ['AWSPREVIOUS'], tokenVersionAtlasSecretId: NEW_ID }),
        reason,
      ),
    ).toEqual({ status: 'already-completed', newSecretId: NEW_ID });
  });
});

describe('leaseDecision', () => {
  const now = Date.parse('2025-06-02T09:00:00.000Z');
  const leaseMs = 15 * 60_000;
  const cases: [string, string | undefined, LeaseDecision][] = [
    ['no tag is free', undefined, { kind: 'free' }],
    ['a blank tag is free', '  ', { kind: 'free' }],
    ['its own token is own', leaseTagValue(TOKEN, '2025-06-02T08:00:00.000Z'), { kind: 'own' }],
    [
      'another token within the lease is busy until the lease ends',
      leaseTagValue(OTHER, '2025-06-02T08:50:00.000Z'),
      { kind: 'busy', otherToken: OTHER, expiresAt: '2025-06-02T09:05:00.000Z' },
    ],
    [
      'another token whose lease ended is stale',
      leaseTagValue(OTHER, '2025-06-02T08:45:00.000Z'),
      { kind: 'stale', otherToken: OTHER },
    ],
    [
      'another token with an unreadable time is stale',
      `${OTHER} yesterday`,
      { kind: 'stale', otherToken: OTHER },
    ],
  ];

  it.each(cases)('%s', (_name, tag, expected) => {
    expect(leaseDecision(tag, TOKEN, now, leaseMs)).toEqual(expected);
  });

  it('writes the lease as token and start time', () => {
    expect(leaseTagValue(TOKEN, '2025-06-02T09:00:00.000Z')).toBe(`${TOKEN} 2025-06-02T09:00:00.000Z`);
  });
});

describe('the lease and intent tags', () => {
  // AWS checks tag keys (1-128) and values (0-256) and their characters; LocalStack 4.14.0 checks neither, so
  // the integration tests would not notice a tag AWS refuses (aws-emulator-semantics.test.ts, difference 18).
  const AWS_TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
  const longest = parseRotationToken('f'.repeat(64));
  const at = '2025-06-02T08:55:00.000Z';

  it('fit AWS tag rules even for the longest token', () => {
    const values = [
      leaseTagValue(longest, at),
      intentTagValue(longest, at, NEW_ID),
      intentTagValue(longest, at, undefined),
    ];
    for (const value of values) {
      expect(value.length).toBeLessThanOrEqual(256);
      expect(value).toMatch(AWS_TAG_CHARACTERS);
    }
    for (const key of [TAG_ROTATION, TAG_CREATE_INTENT]) {
      expect(key.length).toBeLessThanOrEqual(128);
      expect(key).toMatch(AWS_TAG_CHARACTERS);
      expect(key.toLowerCase().startsWith('aws:')).toBe(false);
    }
  });
});
