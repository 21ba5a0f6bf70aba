import { describe, expect, it } from 'vitest';
import type { AtlasSecretId, ClientId, OrgId } from '../../../src/domain/identifiers.js';
import {
  applyStepEvent,
  type CompletionFacts,
  type FailureFacts,
  INITIAL_RUN_STATE,
  isTerminal,
  type PauseFacts,
  type RotationRunState,
  rotationOutcome,
} from '../../../src/domain/rotation-run.js';

const COMPLETION: CompletionFacts = {
  secretArn: 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:sa-AbCdEf',
  secretName: 'sa',
  orgId: 'a'.repeat(24) as OrgId,
  clientId: `mdb_sa_id_${'0'.repeat(24)}` as ClientId,
  mode: 'self',
  newAtlasSecretId: 'b'.repeat(24) as AtlasSecretId,
  newSecretExpiresAt: '2027-01-01T00:00:00.000Z',
  deletedAtlasSecretIds: ['c'.repeat(24) as AtlasSecretId],
  alreadyCompleted: false,
};
const PAUSE: PauseFacts = {
  secretArn: COMPLETION.secretArn,
  secretName: 'sa',
  orgId: COMPLETION.orgId,
  clientId: COMPLETION.clientId,
  newAtlasSecretId: COMPLETION.newAtlasSecretId,
  reached: 'pending-stored',
};
const FAILURE: FailureFacts = {
  secretArn: undefined,
  stage: 'read-secret',
  errorCode: 'ROTATION_IN_PROGRESS',
  message: 'busy',
  retryable: true,
  atlasStatus: undefined,
  atlasErrorCode: undefined,
  retryAt: '2026-12-01T10:05:00.000Z',
};
const RUN = {
  secretId: 'sa',
  rotationId: 'token-1',
  startedAt: '2026-12-01T10:00:00.000Z',
  endedAt: '2026-12-01T10:00:02.000Z',
};

describe('applyStepEvent', () => {
  it('reads again, one round later, when a step cleared the way', () => {
    const next = applyStepEvent(INITIAL_RUN_STATE, { type: 'way-cleared' });
    expect(next).toEqual({ status: 'reading', round: 1 });
    expect(isTerminal(next)).toBe(false);
  });

  it('ends the run on a completion, a pause or a failure', () => {
    expect(applyStepEvent(INITIAL_RUN_STATE, { type: 'rotation-completed', facts: COMPLETION })).toEqual({
      status: 'completed',
      facts: COMPLETION,
    });
    expect(applyStepEvent(INITIAL_RUN_STATE, { type: 'rotation-paused', facts: PAUSE }).status).toBe(
      'paused',
    );
    const failed = applyStepEvent(INITIAL_RUN_STATE, { type: 'rotation-failed', facts: FAILURE });
    expect(failed.status).toBe('failed');
    expect(isTerminal(failed)).toBe(true);
  });

  it('keeps a finished run finished whatever comes after', () => {
    const done: RotationRunState = { status: 'completed', facts: COMPLETION };
    expect(applyStepEvent(done, { type: 'way-cleared' })).toBe(done);
  });
});

describe('rotationOutcome', () => {
  it('builds the completed outcome from the final state', () => {
    expect(rotationOutcome({ status: 'completed', facts: COMPLETION }, RUN)).toEqual({
      status: 'completed',
      rotationId: 'token-1',
      ...COMPLETION,
      startedAt: RUN.startedAt,
      completedAt: RUN.endedAt,
    });
  });

  it('builds the in-progress outcome of a paused run', () => {
    expect(rotationOutcome({ status: 'paused', facts: PAUSE }, RUN)).toEqual({
      status: 'in-progress',
      rotationId: 'token-1',
      ...PAUSE,
      startedAt: RUN.startedAt,
    });
  });

  it('builds the failed outcome, with retryAt only when the failure knows it', () => {
    expect(rotationOutcome({ status: 'failed', facts: FAILURE }, RUN)).toEqual({
      status: 'failed',
      secretId: 'sa',
      rotationId: 'token-1',
      ...FAILURE,
      startedAt: RUN.startedAt,
      failedAt: RUN.endedAt,
    });
    const { retryAt: _, ...withoutRetryAt } = FAILURE;
    expect(rotationOutcome({ status: 'failed', facts: withoutRetryAt }, RUN)).not.toHaveProperty('retryAt');
  });
});
