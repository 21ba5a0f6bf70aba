import type { RotationEventPublisher } from '../../src/application/ports/rotation-event-publisher.js';
import type { PublishedEvent } from '../../src/domain/rotation-events.js';

/** Keeps what was published; can be told to refuse the next N publishes. */
export class RecordingRotationEventPublisher implements RotationEventPublisher {
  readonly events: PublishedEvent[] = [];
  #failures = 0;

  failNext(times = 1): void {
    this.#failures = times;
  }

  async publish(events: readonly PublishedEvent[]): Promise<void> {
    if (this.#failures > 0) {
      this.#failures -= 1;
      throw new Error('event bus unavailable');
    }
    this.events.push(...events);
  }
}
