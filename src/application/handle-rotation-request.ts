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
import { NO_TRACING, type Tracer } from './ports/tracer.js';
import type { RotateSecret } from './rotate-secret.js';

export interface RotationRequest {
  /** Secret name or ARN, as requested. */
  readonly secretId: string;
  /** The requester's id (or one derived from the delivery), reported in every event. */
  readonly requestId: string;
  /** The new version's VersionId, derived from `requestId`: the same request resumes the same rotation. */
  readonly token: RotationToken;
  readonly reason: string | undefined;
  /** W3C traceparent the requester sent, if any: the rotation's spans join that trace. */
  readonly traceparent?: string | undefined;
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
    private readonly tracer: Tracer = NO_TRACING,
  ) {}

  /** One span per delivery, child of the request's traceparent; the event carries the trace on. */
  execute(request: RotationRequest, delivery: DeliveryAttempt): Promise<RequestResult> {
    return this.tracer.inSpan(
      'atlas-rotator.request',
      {
        parent: request.traceparent,
        attributes: {
          'atlas_rotator.request_id': request.requestId,
          'atlas_rotator.secret_id': request.secretId,
          'atlas_rotator.attempt': delivery.attempt,
        },
      },
      async (span) => {
        // By name or by ARN, one secret is one key: its rotations wait for each other in this process.
        const outcome = await this.serializer.run(secretKey(request.secretId), () =>
          this.rotateSecret.execute({ secretId: request.secretId, token: request.token }),
        );
        const context = {
          requestId: request.requestId,
          attempts: delivery.attempt,
          traceparent: this.tracer.traceparent() ?? request.traceparent,
        };
        const decision = decideDelivery(outcome, delivery, this.backoff);
        span.setAttributes({
          'atlas_rotator.status': outcome.status,
          'atlas_rotator.decision': decision.kind,
        });
        if (outcome.status === 'failed') span.fail(outcome.errorCode);
        if (outcome.status === 'completed') {
          await this.publisher.publish([completedEvent(outcome, context)]);
        } else if (decision.kind !== 'retry-after') {
          await this.publisher.publish([failedEvent(outcome, { ...context, final: true })]);
        }
        return { outcome, decision };
      },
    );
  }
}
