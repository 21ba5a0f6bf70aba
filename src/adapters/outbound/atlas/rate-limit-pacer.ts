import type { Clock } from '../../../application/ports/clock.js';

/** What the pacer needs of an answer: its status and the rate-limit headers. */
export interface PacedAnswer {
  readonly status: number;
  /** `RateLimit-Remaining`, when the answer carried it. */
  readonly remaining: number | undefined;
  /** `Retry-After` in ms, when a 429 carried it. */
  readonly retryAfterMs: number | undefined;
}

interface KeyState {
  /** Requests Atlas will still take without a 429, as far as the last answers tell; undefined: not known yet. */
  available: number | undefined;
  /** Requests sent and not answered. */
  inflight: number;
  /** No request for this key goes out before this time (ms, by the clock). */
  blockedUntil: number;
  /** The last Retry-After seen: how long one refill takes, used once an answer says the bucket is empty. */
  refillWaitMs: number | undefined;
  waiters: (() => void)[];
}

/**
 * Paces requests to one Atlas rate-limit scope (a key: the org's or project's Admin API endpoint set, or the token
 * endpoint for one client id) by what Atlas says about it, so that many rotations sharing a bucket do not turn a
 * 429 into a retry storm (ADR 0010):
 *
 * - while nothing is known, one request goes out and the others wait for its answer (one round trip, once per
 *   key: a burst of hundreds of rotations would otherwise all meet the 429 at once);
 * - `RateLimit-Remaining` on an answer says how many more may go now (less those already in flight);
 * - a 429 with `Retry-After` blocks the key until then (plus jitter), and the refused request is sent again —
 *   a 429 means Atlas did nothing, so this is safe for the create POST too;
 * - once the bucket is empty, one request at a time probes after the last refill wait; its answer's
 *   `RateLimit-Remaining` releases the others.
 *
 * Waiting here is not an attempt: the client's retry budget is for failures, not for Atlas asking it to wait.
 */
export class RateLimitPacer {
  readonly #states = new Map<string, KeyState>();
  readonly #clock: Clock;
  readonly #nowMs: () => number;
  readonly #random: () => number;

  constructor(clock: Clock, nowMs: () => number, random: () => number) {
    this.#clock = clock;
    this.#nowMs = nowMs;
    this.#random = random;
  }

  /** Resolves when a request for `key` may go out; the caller must call `settle` (or `abandon`) once for it. */
  async admit(key: string): Promise<void> {
    const state = this.#state(key);
    for (;;) {
      const now = this.#nowMs();
      if (now < state.blockedUntil) {
        await this.#clock.sleep(state.blockedUntil - now);
        continue;
      }
      // Nothing known: only while no request of this key is on the wire; its answer says how many more may go.
      if (state.available === undefined && state.inflight === 0) break;
      if (state.available !== undefined && state.available > 0) {
        state.available -= 1;
        break;
      }
      if (state.available !== undefined && state.inflight === 0) break; // the probe
      await new Promise<void>((resolve) => state.waiters.push(resolve));
    }
    state.inflight += 1;
  }

  /**
   * Records the answer to an admitted request. Returns the ms to wait before sending the same request again
   * when Atlas refused it with 429 and a `Retry-After` of at most `maxWaitMs`; undefined otherwise.
   */
  settle(key: string, answer: PacedAnswer, maxWaitMs: number): number | undefined {
    const state = this.#state(key);
    state.inflight -= 1;
    const now = this.#nowMs();
    let resend: number | undefined;
    if (answer.status === 429) {
      state.available = 0;
      if (answer.retryAfterMs !== undefined) {
        state.refillWaitMs = answer.retryAfterMs;
        // Jitter: other workers sharing the bucket were told the same time.
        const until =
          now + answer.retryAfterMs + Math.floor(this.#random() * Math.min(1_000, answer.retryAfterMs / 10));
        state.blockedUntil = Math.max(state.blockedUntil, until);
        if (answer.retryAfterMs <= maxWaitMs) resend = state.blockedUntil - now;
      }
    } else if (answer.remaining !== undefined) {
      state.available = Math.max(0, answer.remaining - state.inflight);
      if (answer.remaining === 0 && state.refillWaitMs !== undefined) {
        state.blockedUntil = Math.max(state.blockedUntil, now + state.refillWaitMs);
      }
    } else if (state.available === undefined) {
      // No rate-limit headers: Atlas does not limit this key (or does not say); stop pacing it.
      state.available = Number.POSITIVE_INFINITY;
    }
    this.#wake(state);
    return resend;
  }

  /** The admitted request got no answer (transport failure): frees its place. */
  abandon(key: string): void {
    const state = this.#state(key);
    state.inflight -= 1;
    this.#wake(state);
  }

  #wake(state: KeyState): void {
    const waiters = state.waiters.splice(0);
    for (const wake of waiters) wake();
  }

  #state(key: string): KeyState {
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { available: undefined, inflight: 0, blockedUntil: 0, refillWaitMs: undefined, waiters: [] };
      this.#states.set(key, state);
    }
    return state;
  }
}

/**
 * The rate-limit scope of a request: the token endpoint per client id (Atlas limits it per IP and client id), the
 * Admin API per org or project (its token buckets are per endpoint set and scope). Never holds a secret: only the
 * client id is taken from Basic credentials.
 */
export function rateLimitKey(origin: string, path: string, authorization: string | undefined): string {
  const segments = path.split('?')[0]?.split('/') ?? [];
  if (segments[1] === 'api' && segments[2] === 'oauth') {
    return `${origin} ${segments.slice(0, 4).join('/')} ${basicClientId(authorization) ?? ''}`;
  }
  // /api/atlas/v2/orgs/{orgId}/… or /api/public/v1.0/groups/{groupId}/…
  return `${origin} ${segments.slice(0, 6).join('/')}`;
}

function basicClientId(authorization: string | undefined): string | undefined {
  if (authorization === undefined || !authorization.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(0, colon);
}
