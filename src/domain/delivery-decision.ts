/**
 * The one decision of delivery: what becomes of a request once its rotation ran. The SQS worker, the SQS Lambda
 * and the rotation function all carry out this decision, each in its own terms (delete / change visibility /
 * release to the redrive policy; succeed / throw so that Secrets Manager retries).
 */
import type { RotationStepOutcome } from './rotation-outcome.js';

/**
 * - `ack`: settled — rotated, paused on purpose, refused, or failed for good with its final event published;
 * - `retry-after`: a failure that can pass; deliver again in `seconds`;
 * - `dead-letter`: the last attempt failed with a failure that could have passed; hand it to the dead-letter queue.
 */
export type DeliveryDecision =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry-after'; readonly seconds: number }
  | { readonly kind: 'dead-letter' };

export interface DeliveryAttempt {
  /** 1 for the first delivery. */
  readonly attempt: number;
  /** No redelivery will follow a failure of this attempt (the queue's redrive moves it to the DLQ). */
  readonly lastAttempt: boolean;
}

/** How long to wait before a delivery is tried again. */
export interface Backoff {
  readonly backoffBaseSeconds: number;
  readonly backoffMaxSeconds: number;
  /**
   * A fraction in [0, 1), drawn anew for every decision (the composition root passes `Math.random`), that spreads
   * the backoff over its upper half so that requests failing together (an Atlas or AWS outage) do not come back
   * together. Absent: no jitter (the exact backoff; tests and the rotation function, whose retries AWS schedules).
   */
  readonly jitter?: () => number;
}

/**
 * What the delivery carried: a rotation's outcome; `rejected` — an invalid request whose rejection was published;
 * `unsettled` — the result could not be reported (publishing failed, or a bug), so the work is not acknowledged.
 */
export type Delivered = RotationStepOutcome | 'rejected' | 'unsettled';

/** SQS's largest visibility timeout: no wait is longer. */
const MAX_RETRY_SECONDS = 43_200;

/**
 * Growing backoff per attempt: base, 2×base, 4×base … up to the maximum — then, with `jitter`, spread over
 * [half of it, all of it] ("equal jitter": a retry still waits at least half its backoff, and never longer than
 * the maximum). Whole seconds, as ChangeMessageVisibility takes them.
 */
export function backoffSeconds(attempt: number, policy: Backoff): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 20);
  const capped = Math.min(policy.backoffMaxSeconds, policy.backoffBaseSeconds * 2 ** exponent);
  if (policy.jitter === undefined) return capped;
  const fraction = Math.min(Math.max(policy.jitter(), 0), 1);
  return Math.min(capped, Math.ceil(capped / 2 + (fraction * capped) / 2));
}

/**
 * Seconds until a failure says trying again can succeed (another run's claim goes stale then): retrying earlier
 * would only spend delivery attempts. 0 when it says nothing.
 */
export function retryAfterSeconds(
  outcome: { readonly retryAt?: string; readonly failedAt: string } | undefined,
): number {
  if (outcome?.retryAt === undefined) return 0;
  const ms = Date.parse(outcome.retryAt) - Date.parse(outcome.failedAt);
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(MAX_RETRY_SECONDS, Math.ceil(ms / 1000) + 1);
}

/**
 * The decision table:
 *
 * | delivered                          | not the last attempt                      | the last attempt |
 * | ---------------------------------- | ----------------------------------------- | ---------------- |
 * | completed / in-progress / rejected | ack                                       | ack              |
 * | failed, not retryable              | ack (its final failed event is published) | ack              |
 * | failed, retryable                  | retry-after(max(backoff, retryAt))        | dead-letter      |
 * | unsettled                          | retry-after(backoff)                      | retry-after(backoff) |
 *
 * An unsettled delivery is never acknowledged nor dead-lettered here: it stays on the queue (whose redrive
 * policy has the last word).
 */
export function decideDelivery(
  delivered: Delivered,
  delivery: DeliveryAttempt,
  backoff: Backoff,
): DeliveryDecision {
  const wait = backoffSeconds(Math.max(1, delivery.attempt), backoff);
  if (delivered === 'unsettled') return { kind: 'retry-after', seconds: wait };
  if (delivered === 'rejected' || delivered.status !== 'failed' || !delivered.retryable)
    return { kind: 'ack' };
  if (delivery.lastAttempt) return { kind: 'dead-letter' };
  return { kind: 'retry-after', seconds: Math.max(wait, retryAfterSeconds(delivered)) };
}
