import type { HandleRotationRequest } from '../../../application/handle-rotation-request.js';
import type { Logger } from '../../../application/ports/logger.js';
import type { RejectRotationRequest } from '../../../application/reject-rotation-request.js';
import { RotatorError } from '../../../domain/errors.js';
import { parseRotationRequest } from './parse-rotation-request.js';

export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
}

/**
 * What to do with a message:
 * - `delete`: settled (rotated, or failed for good with its event published);
 * - `retry`: invisible for `visibilityTimeoutSeconds`, then delivered again;
 * - `release`: visible at once, so the redrive policy moves it to the dead-letter queue (last attempt).
 */
export type MessageDecision =
  | { readonly kind: 'delete' }
  | { readonly kind: 'retry'; readonly visibilityTimeoutSeconds: number }
  | { readonly kind: 'release' };

export interface RetryPolicy {
  readonly backoffBaseSeconds: number;
  readonly backoffMaxSeconds: number;
  /** From the queue's redrive policy; undefined when the queue has none (then no attempt is the last). */
  readonly maxReceiveCount: number | undefined;
}

/** Growing backoff per attempt: base, 2×base, 4×base … up to the maximum. */
export function backoffSeconds(attempt: number, policy: RetryPolicy): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 20);
  return Math.min(policy.backoffMaxSeconds, policy.backoffBaseSeconds * 2 ** exponent);
}

/** SQS's largest visibility timeout. */
const MAX_VISIBILITY_SECONDS = 43_200;

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
  return Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(ms / 1000) + 1);
}

/**
 * The one place that turns a rotation's result into a delivery decision. Shared by the long-running SQS
 * worker and the Lambda handler.
 */
export class RotationMessageProcessor {
  constructor(
    private readonly handle: HandleRotationRequest,
    private readonly reject: RejectRotationRequest,
    private readonly logger: Logger,
    private readonly policy: RetryPolicy,
  ) {}

  async process(message: QueueMessage): Promise<MessageDecision> {
    const attempt = Math.max(1, message.receiveCount);
    const retry = (outcome?: { readonly retryAt?: string; readonly failedAt: string }): MessageDecision => ({
      kind: 'retry',
      visibilityTimeoutSeconds: Math.max(backoffSeconds(attempt, this.policy), retryAfterSeconds(outcome)),
    });
    const parsed = parseRotationRequest(message.body, message.messageId);
    try {
      if (!parsed.ok) {
        this.logger.warn('invalid rotation request', {
          messageId: message.messageId,
          requestId: parsed.requestId,
          errorCode: 'INVALID_REQUEST',
          problem: parsed.problem,
        });
        await this.reject.execute({
          requestId: parsed.requestId,
          secretId: parsed.secretId,
          problem: parsed.problem,
          attempt,
        });
        return { kind: 'delete' };
      }
      const lastAttempt = this.policy.maxReceiveCount !== undefined && attempt >= this.policy.maxReceiveCount;
      const result = await this.handle.execute(parsed.request, { attempt, lastAttempt });
      this.logger.info('rotation request handled', {
        messageId: message.messageId,
        requestId: parsed.request.requestId,
        rotationId: parsed.request.token,
        result: result.kind,
        attempt,
        ...(result.outcome.status === 'failed' ? { errorCode: result.outcome.errorCode } : {}),
      });
      if (result.kind === 'done') return { kind: 'delete' };
      return result.kind === 'retry' ? retry(result.outcome) : { kind: 'release' };
    } catch (error) {
      // Publishing the event failed, or a bug: the message stays, so the work is not acknowledged unseen.
      this.logger.error('rotation request not settled; it will be delivered again', {
        messageId: message.messageId,
        errorCode: error instanceof RotatorError ? error.code : 'INTERNAL_ERROR',
        errorName: error instanceof Error ? error.name : typeof error,
        attempt,
      });
      return retry();
    }
  }
}
