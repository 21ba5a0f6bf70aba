import type {
  RotationRequestMessage,
  RotationRequests,
} from '../../src/application/ports/rotation-requests.js';
import { type FailureOptions, InjectedFailures } from './injected-failures.js';

/** Keeps every request accepted, in order; failures injectable. */
export class RecordingRotationRequests implements RotationRequests {
  readonly sent: RotationRequestMessage[] = [];
  readonly #failures = new InjectedFailures<'send'>();

  /** Makes sends fail from the `nth` on (1-based), `times` times in a row. */
  failOn(error: Error, options: FailureOptions = {}): void {
    this.#failures.failOn('send', error, options);
  }

  async send(request: RotationRequestMessage): Promise<void> {
    this.#failures.run('send', 'requests.send', undefined, () => {
      this.sent.push(request);
    });
  }
}
