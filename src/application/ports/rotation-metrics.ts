import type { ApiFlavor, RotationMode } from '../../domain/rotation-metadata.js';
import type { RotationStepOutcome } from '../../domain/rotation-outcome.js';

/** What a rotation's metrics are broken down by; `unknown` when the run failed before it read the secret. */
export interface RotationDimensions {
  readonly mode: RotationMode | 'unknown';
  readonly flavour: ApiFlavor | 'unknown';
}

/** When one managed secret's current Atlas secret expires, as a sweep or a completed rotation saw it. */
export interface ExpiryObservation {
  readonly secretArn: string;
  readonly hoursToExpiry: number;
  /**
   * The account's other unexpired Atlas secrets (the old ones a rotation left for consumers still using them);
   * undefined when the observer did not list the account.
   */
  readonly oldSecretsAwaitingRetirement: number | undefined;
  readonly source: 'sweep' | 'rotation';
}

/** One sweep's counts, as its report gives them. */
export interface SweepMetrics {
  readonly secrets: number;
  readonly due: number;
  readonly expired: number;
  readonly permanentFailures: number;
  readonly retryableFailures: number;
  readonly durationMs: number;
}

/**
 * Operational metrics, emitted where outcomes are produced. Fire and forget: a metric that cannot be written is
 * dropped, never a reason to fail or retry a rotation (the outcome and its event are the record). Values are
 * ids, codes, counts and durations only — never secret material.
 */
export interface RotationMetrics {
  /**
   * One run of RotateSecret ended: completed, failed, or paused at a durable point (the step-wise rotation
   * function). Called once per run; a redelivery that finds the rotation done reports `alreadyCompleted`.
   */
  rotationRan(outcome: RotationStepOutcome, dimensions: RotationDimensions): void;
  secretExpiry(observation: ExpiryObservation): void;
  sweepCompleted(sweep: SweepMetrics): void;
}

/** Metrics off: for use cases built without a metrics adapter (unit tests that do not look at metrics). */
export const NO_METRICS: RotationMetrics = {
  rotationRan: () => {},
  secretExpiry: () => {},
  sweepCompleted: () => {},
};
