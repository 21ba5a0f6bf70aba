/**
 * One run of a rotation as a state machine (ADR 0007, amendment "structure"): each round reads the secret, the
 * protocol names the next step (`nextStep` in rotation-protocol.ts), the step's unit runs and returns one
 * `RotationStepEvent`, and `applyStepEvent` — pure — moves the run on. The outcome is built from the final state
 * by `rotationOutcome`. Plain data only: no secret material, no infrastructure error.
 */
import type { AtlasSecretId, ClientId, OrgId } from './identifiers.js';
import type { OldSecretRetirementFacts } from './retirement.js';
import type { RotationStage } from './rotation.js';
import type { RotationMode } from './rotation-metadata.js';
import type { RotationStepOutcome } from './rotation-outcome.js';

/** What a completed rotation reports. */
export interface CompletionFacts {
  readonly secretArn: string;
  readonly secretName: string;
  readonly orgId: OrgId;
  readonly clientId: ClientId;
  readonly mode: RotationMode;
  readonly newAtlasSecretId: AtlasSecretId;
  readonly newSecretExpiresAt: string | undefined;
  readonly deletedAtlasSecretIds: readonly AtlasSecretId[];
  readonly alreadyCompleted: boolean;
  /** The retirement of the replaced Atlas secret, when recorded (ADR 0009). */
  readonly oldSecretRetirement?: OldSecretRetirementFacts;
}

/** Where a step-wise run stopped on purpose. */
export interface PauseFacts {
  readonly secretArn: string;
  readonly secretName: string;
  readonly orgId: OrgId;
  readonly clientId: ClientId;
  readonly newAtlasSecretId: AtlasSecretId;
  readonly reached: 'pending-stored' | 'verified';
}

/** Why a run failed, as data (the application translates errors, infrastructure ones included, into it). */
export interface FailureFacts {
  readonly secretArn: string | undefined;
  readonly stage: RotationStage;
  readonly errorCode: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly atlasStatus: number | undefined;
  readonly atlasErrorCode: string | undefined;
  readonly retryAt?: string;
}

/** What one step unit reports. No step decides what comes next: `applyStepEvent` does. */
export type RotationStepEvent =
  /** A fence, an adoption or a finished rollback cleared the way (or changed the secret): read again. */
  | { readonly type: 'way-cleared' }
  | { readonly type: 'rotation-completed'; readonly facts: CompletionFacts }
  | { readonly type: 'rotation-paused'; readonly facts: PauseFacts }
  | { readonly type: 'rotation-failed'; readonly facts: FailureFacts };

export type RotationRunState =
  /** Round `round` (from 0) reads the secret; the protocol then names its step. */
  | { readonly status: 'reading'; readonly round: number }
  | { readonly status: 'completed'; readonly facts: CompletionFacts }
  | { readonly status: 'paused'; readonly facts: PauseFacts }
  | { readonly status: 'failed'; readonly facts: FailureFacts };

export type TerminalRunState = Exclude<RotationRunState, { readonly status: 'reading' }>;

export const INITIAL_RUN_STATE: RotationRunState = { status: 'reading', round: 0 };

/** The pure transition: a step's event moves the run to its next state. */
export function applyStepEvent(state: RotationRunState, event: RotationStepEvent): RotationRunState {
  if (state.status !== 'reading') return state;
  switch (event.type) {
    case 'way-cleared':
      return { status: 'reading', round: state.round + 1 };
    case 'rotation-completed':
      return { status: 'completed', facts: event.facts };
    case 'rotation-paused':
      return { status: 'paused', facts: event.facts };
    case 'rotation-failed':
      return { status: 'failed', facts: event.facts };
  }
}

export function isTerminal(state: RotationRunState): state is TerminalRunState {
  return state.status !== 'reading';
}

/** What every outcome of the run carries besides its final state. */
export interface RunContext {
  readonly secretId: string;
  readonly rotationId: string;
  readonly startedAt: string;
  /** When the run reached its final state. */
  readonly endedAt: string;
}

/** The run's outcome, built from its final state. */
export function rotationOutcome(state: TerminalRunState, run: RunContext): RotationStepOutcome {
  switch (state.status) {
    case 'completed':
      return {
        status: 'completed',
        rotationId: run.rotationId,
        secretArn: state.facts.secretArn,
        secretName: state.facts.secretName,
        orgId: state.facts.orgId,
        clientId: state.facts.clientId,
        mode: state.facts.mode,
        newAtlasSecretId: state.facts.newAtlasSecretId,
        newSecretExpiresAt: state.facts.newSecretExpiresAt,
        deletedAtlasSecretIds: state.facts.deletedAtlasSecretIds,
        startedAt: run.startedAt,
        completedAt: run.endedAt,
        alreadyCompleted: state.facts.alreadyCompleted,
        ...(state.facts.oldSecretRetirement === undefined
          ? {}
          : { oldSecretRetirement: state.facts.oldSecretRetirement }),
      };
    case 'paused':
      return {
        status: 'in-progress',
        rotationId: run.rotationId,
        secretArn: state.facts.secretArn,
        secretName: state.facts.secretName,
        orgId: state.facts.orgId,
        clientId: state.facts.clientId,
        newAtlasSecretId: state.facts.newAtlasSecretId,
        reached: state.facts.reached,
        startedAt: run.startedAt,
      };
    case 'failed': {
      const { retryAt, ...facts } = state.facts;
      return {
        status: 'failed',
        secretId: run.secretId,
        secretArn: facts.secretArn,
        rotationId: run.rotationId,
        stage: facts.stage,
        errorCode: facts.errorCode,
        message: facts.message,
        retryable: facts.retryable,
        atlasStatus: facts.atlasStatus,
        atlasErrorCode: facts.atlasErrorCode,
        startedAt: run.startedAt,
        failedAt: run.endedAt,
        ...(retryAt === undefined ? {} : { retryAt }),
      };
    }
  }
}

export type RotationCompletedEvent = Extract<RotationStepEvent, { readonly type: 'rotation-completed' }>;
export type RotationPausedEvent = Extract<RotationStepEvent, { readonly type: 'rotation-paused' }>;
export type RotationFailedEvent = Extract<RotationStepEvent, { readonly type: 'rotation-failed' }>;
