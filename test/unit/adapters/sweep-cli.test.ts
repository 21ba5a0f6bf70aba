import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../src/adapters/inbound/cli/rotate-cli.js';
import { parseSweepArgs, sweepExitCode } from '../../../src/adapters/inbound/cli/sweep-cli.js';
import type { SweepEntry, SweepReport } from '../../../src/application/sweep-secrets.js';
import { failureOf } from '../../../src/application/sweep-secrets.js';
import { InvalidInputError } from '../../../src/domain/errors.js';

const named = { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbCdEf', secretName: 'a' };
const due = {
  atlasSecretId: '5ec000000000000000000001',
  expiresAt: '2025-06-04T09:00:00.000Z',
  hoursToExpiry: 48,
  inferred: false,
  expiryFrom: 'atlas' as const,
  requestId: 'sweep:5ec000000000000000000001:2025-06-04T09:00:00.000Z',
  expired: false,
  warning: undefined,
};
const requested: SweepEntry = { ...named, ...due, action: 'requested' };
const notDue: SweepEntry = { ...named, ...due, action: 'not-due' };
const unmanaged: SweepEntry = {
  ...named,
  action: 'skipped',
  reason: 'unmanaged',
  errorCode: 'SECRET_NOT_MANAGED',
  message: '…',
  retryable: false,
};
const atlasDown: SweepEntry = {
  ...named,
  action: 'skipped',
  reason: 'atlas-error',
  errorCode: 'ATLAS_UNAVAILABLE',
  message: '…',
  retryable: true,
};
const adminRefused: SweepEntry = {
  ...named,
  action: 'skipped',
  reason: 'admin-not-allowed',
  errorCode: 'ADMIN_SECRET_NOT_ALLOWED',
  message: '…',
  retryable: false,
};
const unknown: SweepEntry = { ...named, action: 'unknown', reason: '…', atlasSecretIds: [] };
const inProgress: SweepEntry = {
  ...named,
  ...due,
  action: 'rotation-failed',
  status: 'failed',
  rotationId: undefined,
  stage: 'read-secret',
  errorCode: 'ROTATION_IN_PROGRESS',
  message: '…',
  retryable: true,
  atlasStatus: undefined,
  atlasErrorCode: undefined,
};

function reportOf(entries: SweepEntry[]): SweepReport {
  let permanentFailures = 0;
  let retryableFailures = 0;
  for (const e of entries) {
    const failure = failureOf(e);
    if (failure?.retryable === true) retryableFailures++;
    else if (failure !== undefined) permanentFailures++;
  }
  return {
    mode: 'request',
    rotateBeforeExpiryHours: 336,
    namePrefix: null,
    startedAt: '',
    completedAt: '',
    durationMs: 0,
    secrets: entries,
    summary: {
      secrets: entries.length,
      due: 0,
      expired: 0,
      byAction: {
        requested: 0,
        rotated: 0,
        'rotation-failed': 0,
        'request-failed': 0,
        'not-due': 0,
        unknown: 0,
        skipped: 0,
      },
      permanentFailures,
      retryableFailures,
    },
  };
}

describe('sweep exit codes', () => {
  it('exits 0 when every due secret was requested and the rest are not due or unmanaged', () => {
    expect(sweepExitCode(reportOf([requested, notDue, unmanaged]))).toBe(EXIT.ok);
    expect(sweepExitCode(reportOf([]))).toBe(EXIT.ok);
  });

  it('exits 75 when every failure may pass', () => {
    expect(sweepExitCode(reportOf([requested, atlasDown, inProgress]))).toBe(EXIT.retryLater);
  });

  it('exits 1 when one secret cannot be settled for good, retryable failures beside it or not', () => {
    expect(sweepExitCode(reportOf([atlasDown, adminRefused]))).toBe(EXIT.failed);
    expect(sweepExitCode(reportOf([requested, unknown]))).toBe(EXIT.failed);
  });
});

describe('parseSweepArgs', () => {
  it('reads --now and --prefix', () => {
    expect(parseSweepArgs([])).toEqual({ rotateNow: false, namePrefix: undefined });
    expect(parseSweepArgs(['--now', '--prefix', 'prod/atlas/'])).toEqual({
      rotateNow: true,
      namePrefix: 'prod/atlas/',
    });
  });

  it('refuses anything else', () => {
    expect(() => parseSweepArgs(['prod/atlas'])).toThrow(InvalidInputError);
    expect(() => parseSweepArgs(['--prefix'])).toThrow(InvalidInputError);
    expect(() => parseSweepArgs(['--prefix', 'has space'])).toThrow(InvalidInputError);
  });
});
