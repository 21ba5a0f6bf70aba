import {
  type Backoff,
  type DeliveryAttempt,
  type DeliveryDecision,
  decideDelivery,
} from '../domain/delivery-decision.js';
import type { RotationToken } from '../domain/identifiers.js';
import { completedEvent, failedEvent } from '../domain/rotation-events.js';
import type { RotationOutcome } from '../domain/rotation-outcome.js';
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
  /** "now": the replaced Atlas secret is retired at the promotion (a leaked credential), no grace. */
  readonly retireOldSecret?: 'now' | undefined;
}

/** The rotation's outcome, and the one decision of delivery taken on it. */
export interface RequestResult {
  readonly outcome: RotationOutcome;
  readonly decision: DeliveryDecision;
}

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
    private readonly backoff: Backoff,
  ) {}

  async execute(request: RotationRequest, delivery: DeliveryAttempt): Promise<RequestResult> {
    // By name or by ARN, one secret is one key: its rotations wait for each other in this process.
    const outcome = await this.serializer.run(secretKey(request.secretId), () =>
      this.rotateSecret.execute({
        secretId: request.secretId,
        token: request.token,
        ...(request.retireOldSecret === 'now' ? { retireOldSecret: 'now' as const } : {}),
      }),
    );
    const context = { requestId: request.requestId, attempts: delivery.attempt };
    const decision = decideDelivery(outcome, delivery, this.backoff);
    if (outcome.status === 'completed') {
      await this.publisher.publish([completedEvent(outcome, context)]);
    } else if (decision.kind !== 'retry-after') {
      await this.publisher.publish([failedEvent(outcome, { ...context, final: true })]);
    }
    return { outcome, decision };
  }
}
