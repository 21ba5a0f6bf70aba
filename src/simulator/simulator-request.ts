import type { Authorization } from './authorization-header.js';

/** A request as the simulator's endpoints see it: already read, with the Authorization header parsed. */
export interface SimulatorRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly accept: string | undefined;
  readonly contentType: string | undefined;
  readonly authorization: Authorization;
  readonly body: string;
  /**
   * Resolves after any injected latency. An endpoint awaits it where the real work happens (for create-secret:
   * while it holds the service account), so a latency fault widens exactly that window.
   */
  readonly work: () => Promise<void>;
}
