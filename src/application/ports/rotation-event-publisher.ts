import type { PublishedEvent } from '../../domain/rotation-events.js';

/**
 * Publishes rotation events. Resolves only once every event was accepted by the bus (at-least-once:
 * a caller that sees a rejection must not acknowledge the work the event reports). Events published
 * twice carry the same `rotationId`, so consumers can de-duplicate.
 */
export interface RotationEventPublisher {
  publish(events: readonly PublishedEvent[]): Promise<void>;
}
