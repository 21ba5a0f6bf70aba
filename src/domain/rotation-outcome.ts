import type { AtlasSecretId, ClientId, OrgId } from './identifiers.js';
import type { OldSecretRetirementFacts } from './retirement.js';
import type { RotationStage } from './rotation.js';
import type { RotationMode } from './rotation-metadata.js';

/** The result of one rotation request. Plain, serialisable data with no secret material. */
export type RotationOutcome = RotationCompleted | RotationFailed;

/** What a step-wise run may end in (see `stopAfter`). */
export type RotationStepOutcome = RotationOutcome | RotationInProgress;

export interface RotationCompleted {
  readonly status: 'completed';
  readonly rotationId: string;
  readonly secretArn: string;
  readonly secretName: string;
  readonly orgId: OrgId;
  readonly clientId: ClientId;
  readonly mode: RotationMode;
  readonly newAtlasSecretId: AtlasSecretId;
  readonly newSecretExpiresAt: string | undefined;
  readonly deletedAtlasSecretIds: readonly AtlasSecretId[];
  readonly startedAt: string;
  readonly completedAt: string;
  /** True when the rotation had finished before this request and nothing was changed. */
  readonly alreadyCompleted: boolean;
  /** When the replaced Atlas secret is retired (ADR 0009), when recorded. */
  readonly oldSecretRetirement?: OldSecretRetirementFacts;
}

export interface RotationFailed {
  readonly status: 'failed';
  readonly secretId: string;
  readonly secretArn: string | undefined;
  readonly rotationId: string | undefined;
  readonly stage: RotationStage;
  readonly errorCode: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly atlasStatus: number | undefined;
  readonly atlasErrorCode: string | undefined;
  readonly startedAt: string;
  readonly failedAt: string;
  /**
   * When trying again can succeed at the earliest (ROTATION_IN_PROGRESS: the other run's claim goes stale then);
   * absent when any time will do. Not part of the failed event.
   */
  readonly retryAt?: string;
}

/** A rotation stopped on purpose at a durable point (Secrets Manager's step-wise rotation function). */
export interface RotationInProgress {
  readonly status: 'in-progress';
  readonly rotationId: string;
  readonly secretArn: string;
  readonly secretName: string;
  readonly orgId: OrgId;
  readonly clientId: ClientId;
  readonly newAtlasSecretId: AtlasSecretId;
  readonly reached: 'pending-stored' | 'verified';
  readonly startedAt: string;
}
