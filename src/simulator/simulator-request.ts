import type { Authorization } from './authorization-header.js';

/** A request as the simulator's endpoints see it: already read, with the Authorization header parsed. */
export interface SimulatorRequest {
  readonly method: string;
  readonly path: string;
  /** The request-target exactly as received (path and query): what a Digest `uri` must equal. */
  readonly target: string;
  /** The Host header (default `127.0.0.1`): responses that carry URLs use it, so any origin works. */
  readonly host: string;
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
