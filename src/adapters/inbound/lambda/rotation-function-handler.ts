import type { Logger } from '../../../application/ports/logger.js';
import type { RotationEventPublisher } from '../../../application/ports/rotation-event-publisher.js';
import type { RotateSecret } from '../../../application/rotate-secret.js';
import { decideDelivery } from '../../../domain/delivery-decision.js';
import { InvalidInputError, RotatorError } from '../../../domain/errors.js';
import { parseRotationToken } from '../../../domain/identifiers.js';
import { completedEvent, failedEvent } from '../../../domain/rotation-events.js';

/** What Secrets Manager sends a rotation function. */
export interface RotationFunctionEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: string;
}

/** Secrets Manager, not this function, decides when a failed step runs again. */
const AWS_SCHEDULES_RETRIES = { backoffBaseSeconds: 0, backoffMaxSeconds: 0 };

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
type Step = (typeof STEPS)[number];

/** A step failed; Secrets Manager records the rotation as failed and tries again on its schedule. */
export class RotationStepFailedError extends RotatorError {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/**
 * Secrets Manager's rotation-function contract on the same core: createSecret creates the Atlas secret and
 * stores it as AWSPENDING under ClientRequestToken; setSecret has nothing to do (an Atlas secret is live
 * once created); testSecret proves it with an OAuth token and a call; finishSecret promotes AWSCURRENT and
 * deletes the old Atlas secret. Every step may be repeated. Completed and failed events are published as
 * the worker does.
 */
export function createRotationFunctionHandler(deps: {
  readonly rotateSecret: RotateSecret;
  readonly publisher: RotationEventPublisher;
  readonly logger: Logger;
}): (event: RotationFunctionEvent) => Promise<void> {
  return async (event) => {
    if (typeof event?.SecretId !== 'string' || event.SecretId === '') {
      throw new InvalidInputError('SecretId', 'is required');
    }
    if (!STEPS.includes(event.Step as Step)) {
      throw new InvalidInputError('Step', `must be one of ${STEPS.join(', ')}`);
    }
    const token = parseRotationToken(event.ClientRequestToken, 'ClientRequestToken');
    const step = event.Step as Step;
    deps.logger.info('rotation function step', { step, rotationId: token, secretId: event.SecretId });
    if (step === 'setSecret') return;
    const outcome = await deps.rotateSecret.execute({
      secretId: event.SecretId,
      token,
      entry: 'rotation-function',
      ...(step === 'createSecret' ? { stopAfter: 'pending-stored' as const } : {}),
      ...(step === 'testSecret' ? { stopAfter: 'verified' as const } : {}),
    });
    const delivery = { requestId: token, attempts: 1 };
    // Secrets Manager retries a failed step itself, on its own schedule: every invocation is a first attempt
    // with more to follow, and the wait is AWS's.
    const decision = decideDelivery(outcome, { attempt: 1, lastAttempt: false }, AWS_SCHEDULES_RETRIES);
    if (outcome.status !== 'failed') {
      // ack: the step succeeds.
      if (outcome.status === 'completed' && step === 'finishSecret') {
        await deps.publisher.publish([completedEvent(outcome, delivery)]);
      }
      return;
    }
    // AWS's contract has no "drop": a step that failed — for good (ack) or not (retry-after) — throws, so that
    // Secrets Manager records the failure and retries; only the event says whether it was final.
    await deps.publisher.publish([
      failedEvent(outcome, { ...delivery, final: decision.kind !== 'retry-after' }),
    ]);
    throw new RotationStepFailedError(
      outcome.errorCode,
      `${step} failed at ${outcome.stage}: ${outcome.message}`,
      outcome.retryable,
    );
  };
}
