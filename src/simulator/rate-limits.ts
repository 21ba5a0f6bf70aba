import { type ApiErrorBody, apiError } from './api-error.js';

/**
 * The token endpoint's limit: `requests` per `perMinutes` for each (caller IP, clientId) pair (facts sheet §4.3).
 * The sources conflict: 10 per minute (the original Terraform guide text, a maintainer in Oct 2025) and 50 per
 * minute (the newest Terraform guide). The default follows the newest: 50 per 1 minute.
 */
export interface TokenRateLimit {
  readonly requests: number;
  readonly perMinutes: number;
}

export const DEFAULT_TOKEN_RATE_LIMIT: TokenRateLimit = { requests: 50, perMinutes: 1 };

/** An Admin API token bucket (facts sheet §4.3): `capacity` tokens, `refillRate` added per `refillDurationSeconds`. */
export interface TokenBucketLimit {
  readonly capacity: number;
  readonly refillRate: number;
  readonly refillDurationSeconds: number;
}

export type RateDecision =
  | { readonly allowed: true; readonly headers: Record<string, string> }
  | { readonly allowed: false; readonly headers: Record<string, string>; readonly error: ApiErrorBody };

export function checkTokenRateLimit(limit: TokenRateLimit): void {
  if (!Number.isInteger(limit.requests) || limit.requests < 1)
    throw new Error(`tokenRateLimit.requests must be a positive integer: ${limit.requests}`);
  if (!Number.isInteger(limit.perMinutes) || limit.perMinutes < 1)
    throw new Error(`tokenRateLimit.perMinutes must be a positive integer: ${limit.perMinutes}`);
}

export function checkBucketLimit(limit: TokenBucketLimit): void {
  for (const [name, value] of Object.entries(limit)) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`adminApiRateLimit.${name} must be a positive integer: ${String(value)}`);
  }
}

/**
 * A sliding window per key: a request counts when it arrives, whether it then succeeds or not (so a wrong secret
 * cannot be retried faster than a right one). Retry-After: whole seconds until the oldest counted request leaves
 * the window. Times come from the simulator's clock.
 */
export class SlidingWindowLimiter {
  readonly #arrivals = new Map<string, number[]>();

  take(key: string, limit: TokenRateLimit, now: number, resource: string): RateDecision {
    const windowMs = limit.perMinutes * 60_000;
    const recent = (this.#arrivals.get(key) ?? []).filter((at) => at > now - windowMs);
    if (recent.length >= limit.requests) {
      this.#arrivals.set(key, recent);
      const oldest = recent[0] ?? now;
      const retryAfter = Math.max(1, Math.ceil((oldest + windowMs - now) / 1000));
      return {
        allowed: false,
        headers: {
          'retry-after': String(retryAfter),
          'ratelimit-limit': String(limit.requests),
          'ratelimit-remaining': '0',
        },
        error: {
          ...apiError(
            429,
            'RATE_LIMITED',
            `Resource ${resource} is limited to ${limit.requests} requests every ${limit.perMinutes} minutes.`,
          ),
          parameters: [resource, limit.requests, limit.perMinutes],
        },
      };
    }
    recent.push(now);
    this.#arrivals.set(key, recent);
    return {
      allowed: true,
      headers: {
        'ratelimit-limit': String(limit.requests),
        'ratelimit-remaining': String(limit.requests - recent.length),
      },
    };
  }

  clear(): void {
    this.#arrivals.clear();
  }
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Token buckets per key (the simulator keys them by org and endpoint set). Refill is continuous: `refillRate`
 * tokens per `refillDurationSeconds`, capped at `capacity`; each request takes one. Retry-After: whole seconds
 * until the next whole token.
 */
export class TokenBucketLimiter {
  readonly #buckets = new Map<string, Bucket>();

  take(key: string, limit: TokenBucketLimit, now: number, endpointSet: string): RateDecision {
    const perMs = limit.refillRate / (limit.refillDurationSeconds * 1000);
    const bucket = this.#buckets.get(key) ?? { tokens: limit.capacity, updatedAt: now };
    bucket.tokens = Math.min(limit.capacity, bucket.tokens + (now - bucket.updatedAt) * perMs);
    bucket.updatedAt = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      return {
        allowed: false,
        headers: {
          'retry-after': String(retryAfter),
          'ratelimit-limit': String(limit.capacity),
          'ratelimit-remaining': '0',
        },
        error: {
          ...apiError(
            429,
            'RATE_LIMITED_TOKEN_BUCKET',
            `Rate limit exceeded for ${endpointSet}. Please retry after ${retryAfter} seconds. Request capacity: ${limit.capacity}. Refill rate: ${limit.refillRate} per ${limit.refillDurationSeconds} seconds.`,
          ),
          parameters: [
            endpointSet,
            retryAfter,
            limit.capacity,
            limit.refillRate,
            limit.refillDurationSeconds,
          ],
        },
      };
    }
    bucket.tokens -= 1;
    return {
      allowed: true,
      headers: {
        'ratelimit-limit': String(limit.capacity),
        'ratelimit-remaining': String(Math.floor(bucket.tokens)),
      },
    };
  }

  clear(): void {
    this.#buckets.clear();
  }
}
