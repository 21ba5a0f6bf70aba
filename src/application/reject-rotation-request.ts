import { failedEvent } from '../domain/rotation-events.js';
import type { Clock } from './ports/clock.js';
import type { RotationEventPublisher } from './ports/rotation-event-publisher.js';

export interface RejectedRequest {
  /** The message's own id: an invalid request may have no usable requestId. */
  readonly requestId: string;
  /** What the request named, where it could be read; empty otherwise. */
  readonly secretId: string;
  /** Why it is invalid: names the field and the rule, never quotes the content. */
  readonly problem: string;
  readonly attempt: number;
}

/** Reports a request that can never succeed (bad JSON, wrong types, unknown detail-type, oversized). */
export class RejectRotationRequest {
  constructor(
    private readonly publisher: RotationEventPublisher,
    private readonly clock: Clock,
  ) {}

  async execute(rejected: RejectedRequest): Promise<void> {
    await this.publisher.publish([
      failedEvent(
        {
          secretId: rejected.secretId,
          secretArn: undefined,
          rotationId: undefined,
          stage: 'request',
          errorCode: 'INVALID_REQUEST',
          message: `Invalid rotation request: ${rejected.problem}`,
          retryable: false,
          atlasStatus: undefined,
          atlasErrorCode: undefined,
          failedAt: this.clock.now().toISOString(),
        },
        { requestId: rejected.requestId, attempts: rejected.attempt, final: true },
      ),
    ]);
  }
}
