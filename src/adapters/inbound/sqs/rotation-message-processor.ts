import type { HandleRotationRequest } from '../../../application/handle-rotation-request.js';
import type { Logger } from '../../../application/ports/logger.js';
import type { RejectRotationRequest } from '../../../application/reject-rotation-request.js';
import { type Backoff, type DeliveryDecision, decideDelivery } from '../../../domain/delivery-decision.js';
import { RotatorError } from '../../../domain/errors.js';
import { parseRotationRequest } from './parse-rotation-request.js';

export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
}

export interface RetryPolicy extends Backoff {
  /** From the queue's redrive policy; undefined when the queue has none (then no attempt is the last). */
  readonly maxReceiveCount: number | undefined;
}

/**
 * Handles one queue message and answers the delivery decision (`decideDelivery`) for it. Shared by the
 * long-running SQS worker and the Lambda handler, which carry the decision out.
 */
export class RotationMessageProcessor {
  constructor(
    private readonly handle: HandleRotationRequest,
    private readonly reject: RejectRotationRequest,
    private readonly logger: Logger,
    private readonly policy: RetryPolicy,
  ) {}

  async process(message: QueueMessage): Promise<DeliveryDecision> {
    const attempt = Math.max(1, message.receiveCount);
    const lastAttempt = this.policy.maxReceiveCount !== undefined && attempt >= this.policy.maxReceiveCount;
    const delivery = { attempt, lastAttempt };
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
        return decideDelivery('rejected', delivery, this.policy);
      }
      const result = await this.handle.execute(parsed.request, delivery);
      this.logger.info('rotation request handled', {
        messageId: message.messageId,
        requestId: parsed.request.requestId,
        rotationId: parsed.request.token,
        result: result.decision.kind,
        attempt,
        ...(result.outcome.status === 'failed' ? { errorCode: result.outcome.errorCode } : {}),
      });
      return result.decision;
    } catch (error) {
      // Publishing the event failed, or a bug: the message stays, so the work is not acknowledged unseen.
      this.logger.error('rotation request not settled; it will be delivered again', {
        messageId: message.messageId,
        errorCode: error instanceof RotatorError ? error.code : 'INTERNAL_ERROR',
        errorName: error instanceof Error ? error.name : typeof error,
        attempt,
      });
      return decideDelivery('unsettled', delivery, this.policy);
    }
  }
}
