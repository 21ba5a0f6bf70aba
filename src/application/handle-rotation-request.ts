import type { RotationToken } from '../domain/identifiers.js';
import { completedEvent, failedEvent } from '../domain/rotation-events.js';
import type { RotationFailed, RotationOutcome } from '../domain/rotation-outcome.js';
import { secretKey } from '../domain/secret-key.js';
import type { KeyedSerializer } from './keyed-serializer.js';
import type { RotationEventPublisher } from './ports/rotation-event-publisher.js';
import type { RotateSecret } from './rotate-secret.js';

export interface RotationRequest {
  /** Secret name or ARN, as requested. */
  readonly secretId: string;
  /** The requester's id (or one derived from the delivery), reported in every event. */
  readonly requestId: string;
  /** The new version's VersionId, derived from `requestId`: the same request resumes the same rotation. */
  readonly token: RotationToken;
  readonly reason: string | undefined;
}

export interface DeliveryAttempt {
  /** 1 for the first delivery. */
  readonly attempt: number;
  /** No redelivery will follow a failure of this attempt (the queue's redrive moves it to the DLQ). */
  readonly lastAttempt: boolean;
}

/**
 * - `done`: the request is settled and its event accepted; acknowledge it.
 * - `retry`: a failure that can pass; leave it for redelivery (no event yet).
 * - `give-up`: the last attempt failed; its final failure event is accepted; let the redrive policy
 *   move it to the dead-letter queue.
 */
export type RequestResult =
  | { readonly kind: 'done'; readonly outcome: RotationOutcome }
  | { readonly kind: 'retry'; readonly outcome: RotationFailed }
  | { readonly kind: 'give-up'; readonly outcome: RotationFailed };

/**
 * Rotates the requested secret and reports the result: a completed event for every completion (again on a
 * redelivery, with the same rotationId), a failed event once the failure is final. Rejects when the event
 * could not be published, so that the request is not acknowledged.
 */
export class HandleRotationRequest {
  constructor(
    private readonly rotateSecret: RotateSecret,
    private readonly publisher: RotationEventPublisher,
    private readonly serializer: KeyedSerializer,
  ) {}

  async execute(request: RotationRequest, delivery: DeliveryAttempt): Promise<RequestResult> {
    // By name or by ARN, one secret is one key: its rotations wait for each other in this process.
    const outcome = await this.serializer.run(secretKey(request.secretId), () =>
      this.rotateSecret.execute({ secretId: request.secretId, token: request.token }),
    );
    const context = { requestId: request.requestId, attempts: delivery.attempt };
    if (outcome.status === 'completed') {
      await this.publisher.publish([completedEvent(outcome, context)]);
      return { kind: 'done', outcome };
    }
    if (outcome.retryable && !delivery.lastAttempt) return { kind: 'retry', outcome };
    await this.publisher.publish([failedEvent(outcome, { ...context, final: true })]);
    return outcome.retryable ? { kind: 'give-up', outcome } : { kind: 'done', outcome };
  }
}
