/**
 * Where in a rotation a failure happened, as events report it. The protocol's states and steps are in
 * rotation-protocol.ts (ADR 0007).
 */
export type RotationStage =
  | 'request'
  | 'read-secret'
  | 'make-room'
  | 'create'
  | 'store-pending'
  | 'verify'
  | 'promote'
  | 'delete-old'
  | 'rollback';

export interface FailureReason {
  readonly stage: RotationStage;
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly atlasStatus: number | undefined;
  readonly atlasErrorCode: string | undefined;
}
