import { describe, expect, it } from 'vitest';
import {
  parsePlanArgs,
  parseStatusArgs,
  planExitCode,
  planSummary,
  statusExitCode,
  statusTable,
} from '../../../src/adapters/inbound/cli/ops-cli.js';
import { EXIT } from '../../../src/adapters/inbound/cli/rotate-cli.js';
import type { RotationPlan } from '../../../src/application/plan-rotation.js';
import type { SecretStatusEntry, StatusReport } from '../../../src/application/report-status.js';
import { InvalidInputError } from '../../../src/domain/errors.js';
import type { AtlasSecretId } from '../../../src/domain/identifiers.js';

function plan(overrides: Partial<RotationPlan> = {}): RotationPlan {
  return {
    secretId: 'app/db',
    secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/db-AbCdEf',
    secretName: 'app/db',
    verdict: 'rotate',
    mode: 'self',
    flavor: 'atlas',
    origin: 'https://cloud.mongodb.com',
    adminSecretArn: undefined,
    orgId: '5ec000000000000000000000',
    projectId: undefined,
    clientId: 'mdb_sa_id_5ec000000000000000000000',
    step: 'start',
    atlasSecrets: [],
    actions: [
      {
        action: 'delete-atlas-secret',
        atlasSecretId: '5ec000000000000000000002' as AtlasSecretId,
        reason: 'expired',
      },
      { action: 'create-atlas-secret', expiresAfterHours: 720, clampedFromHours: undefined },
      { action: 'store-verify-promote', retireAtlasSecretId: '5ec000000000000000000001' as AtlasSecretId },
    ],
    stop: undefined,
    ...overrides,
  };
}

function entry(overrides: Partial<SecretStatusEntry> = {}): SecretStatusEntry {
  return {
    secretId: 'app/db',
    secretArn: undefined,
    secretName: 'app/db',
    mode: 'self',
    flavor: 'atlas',
    origin: 'https://cloud.mongodb.com',
    adminSecretArn: undefined,
    atlasSecrets: [],
    current: {
      atlasSecretId: '5ec000000000000000000001',
      expiresAt: '2027-01-01T00:00:00.000Z',
      hoursToExpiry: 500,
      inferred: false,
    },
    lastRotation: { at: '2026-12-01T00:00:00.000Z', outcome: 'completed', requestId: 'req-1' },
    rotationInProgress: undefined,
    awaitingRetirement: undefined,
    readError: undefined,
    atlasError: undefined,
    attention: [],
    ...overrides,
  };
}

function report(secrets: SecretStatusEntry[]): StatusReport {
  return {
    generatedAt: '2026-12-02T00:00:00.000Z',
    rotateBeforeExpiryHours: 168,
    secrets,
    summary: { secrets: secrets.length, needAttention: secrets.filter((s) => s.attention.length > 0).length },
  };
}

describe('plan arguments', () => {
  it('takes one secret id and an optional request id', () => {
    expect(parsePlanArgs(['app/db', '--request-id', 'a'.repeat(32)])).toEqual({
      secretId: 'app/db',
      requestId: 'a'.repeat(32),
      retireOldNow: false,
    });
    expect(parsePlanArgs(['app/db', '--retire-old-now']).retireOldNow).toBe(true);
    expect(parsePlanArgs(['app/db']).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses no secret, two secrets, unknown options and a secret value as the id', () => {
    expect(() => parsePlanArgs([])).toThrow(InvalidInputError);
    expect(() => parsePlanArgs(['a', 'b'])).toThrow(InvalidInputError);
    expect(() => parsePlanArgs(['a', '--now'])).toThrow(InvalidInputError);
    expect(() => parsePlanArgs(['mdb_sa_sk_0123456789'])).toThrow(/never a secret value/);
  });
});

describe('plan exit codes and summary', () => {
  it('exits like rotate: 0 would go ahead, 1 would fail for good, 75 would fail for now', () => {
    const stop = {
      stage: 'make-room' as const,
      errorCode: 'X',
      message: 'm',
      atlasStatus: undefined,
      atlasErrorCode: undefined,
    };
    expect(planExitCode(plan())).toBe(EXIT.ok);
    expect(planExitCode(plan({ verdict: 'done', actions: [] }))).toBe(EXIT.ok);
    expect(planExitCode(plan({ verdict: 'stop', stop: { ...stop, retryable: false } }))).toBe(EXIT.failed);
    expect(planExitCode(plan({ verdict: 'stop', stop: { ...stop, retryable: true } }))).toBe(EXIT.retryLater);
  });

  it('says what the rotation would delete and create, in order', () => {
    expect(planSummary(plan())).toBe(
      'a rotation of app/db (self mode, atlas at https://cloud.mongodb.com) would delete Atlas secret ' +
        '5ec000000000000000000002 (expired); then create an Atlas secret valid 720 h; then store, verify and ' +
        "promote it, AWSCURRENT's 5ec000000000000000000001 becoming AWSPREVIOUS",
    );
  });
});

describe('status', () => {
  it('takes --json and any number of secret ids', () => {
    expect(parseStatusArgs([])).toEqual({ json: false, secretIds: [] });
    expect(parseStatusArgs(['--json', 'a', 'b'])).toEqual({ json: true, secretIds: ['a', 'b'] });
    expect(() => parseStatusArgs(['--prefix'])).toThrow(InvalidInputError);
    expect(() => parseStatusArgs(['mdb_sa_sk_0123456789'])).toThrow(/never a secret value/);
  });

  it('exits 0 when nothing needs attention, 1 when something does', () => {
    expect(statusExitCode(report([entry()]))).toBe(EXIT.ok);
    expect(
      statusExitCode(report([entry(), entry({ attention: [{ code: 'expires-soon', reason: 'r' }] })])),
    ).toBe(EXIT.failed);
  });

  it('prints one row per secret and every attention reason below the table', () => {
    const table = statusTable(
      report([
        entry(),
        entry({ secretName: 'app/other', attention: [{ code: 'expired', reason: 'rotate it' }] }),
      ]),
    );
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SECRET\s+MODE\s+FLAVOR\s+CURRENT\s+EXPIRES IN\s+LAST ROTATION\s+ATTENTION$/);
    expect(lines[1]).toMatch(
      /^app\/db\s+self\s+atlas\s+5ec000000000000000000001\s+500 h\s+2026-12-01T00:00:00.000Z completed req-1\s+ok$/,
    );
    expect(lines[2]).toMatch(/expired$/);
    expect(lines.at(-1)).toBe('app/other: expired: rotate it');
  });
});
