import { createHash } from 'node:crypto';
import type { ServiceAccountCredential } from '../../../domain/credential.js';
import type { SecretValue } from '../../../domain/secret-value.js';

/** What the token endpoint handed out. */
export interface MintedToken {
  readonly accessToken: SecretValue;
  /** Lifetime from `expires_in`, in milliseconds. */
  readonly lifetimeMs: number;
}

/** A token to use now; `fresh` when it was minted for this request (or one running alongside it). */
export interface UsableToken {
  readonly accessToken: SecretValue;
  readonly fresh: boolean;
}

interface HeldToken {
  readonly accessToken: SecretValue;
  readonly expiresAtMs: number;
  readonly refreshAtMs: number;
}

interface Entry {
  /** Where the tokens were minted, and so where they are revoked. */
  readonly origin: string;
  /** Kept to authenticate revocations; never part of the map key. */
  readonly credential: ServiceAccountCredential;
  current: HeldToken | undefined;
  inflight: Promise<HeldToken> | undefined;
  /** Replaced by an early refresh but still alive in Atlas: revoked on release. */
  retired: HeldToken[];
}

/** Tokens to revoke when a credential is released, and a mint that may still add one, at one origin. */
export interface ReleasedTokens {
  readonly origin: string;
  readonly credential: ServiceAccountCredential;
  readonly accessTokens: readonly SecretValue[];
  readonly inflight: Promise<SecretValue> | undefined;
}

/**
 * OAuth tokens per origin and credential. A token is only ever sent to the origin that minted it. The credential
 * key is the client id plus a SHA-256 of the secret, so that a rotated secret gets its own tokens and the plain
 * secret never sits in a map key. Concurrent callers share one in-flight mint. A token is refreshed
 * `refreshMarginMs` before it expires, but never later than half its lifetime (short-lived tokens would
 * otherwise be refreshed on every call).
 */
export class OAuthTokenCache {
  /** Credential key -> origin -> entry, so that a credential is released on every origin at once. */
  readonly #entries = new Map<string, Map<string, Entry>>();
  readonly #nowMs: () => number;
  readonly #refreshMarginMs: number;

  constructor(nowMs: () => number, refreshMarginMs: number) {
    this.#nowMs = nowMs;
    this.#refreshMarginMs = refreshMarginMs;
  }

  static keyOf(credential: ServiceAccountCredential): string {
    const digest = createHash('sha256').update(credential.clientSecret.reveal(), 'utf8').digest('hex');
    return `${credential.clientId}:${digest}`;
  }

  /** A cached token not yet due for refresh, or the result of `mint` (shared with concurrent callers). */
  async get(
    origin: string,
    credential: ServiceAccountCredential,
    mint: () => Promise<MintedToken>,
  ): Promise<UsableToken> {
    const key = OAuthTokenCache.keyOf(credential);
    let byOrigin = this.#entries.get(key);
    if (byOrigin === undefined) {
      byOrigin = new Map();
      this.#entries.set(key, byOrigin);
    }
    let entry = byOrigin.get(origin);
    if (entry === undefined) {
      entry = { origin, credential, current: undefined, inflight: undefined, retired: [] };
      byOrigin.set(origin, entry);
    }
    const current = entry.current;
    if (current !== undefined && this.#nowMs() < current.refreshAtMs) {
      return { accessToken: current.accessToken, fresh: false };
    }
    const inflight = entry.inflight ?? this.#startMint(entry, mint);
    const held = await inflight;
    return { accessToken: held.accessToken, fresh: true };
  }

  /** Drops a token the origin refused (revoked, or its secret deleted): it is not retired, as it is dead. */
  invalidate(origin: string, credential: ServiceAccountCredential, accessToken: SecretValue): void {
    const entry = this.#entries.get(OAuthTokenCache.keyOf(credential))?.get(origin);
    if (entry?.current?.accessToken.equals(accessToken)) {
      entry.current = undefined;
    }
  }

  /** Forgets the credential's tokens on every origin without revoking them. */
  forget(credential: ServiceAccountCredential): void {
    this.#entries.delete(OAuthTokenCache.keyOf(credential));
  }

  /** Forgets, on every origin, the tokens of every credential `dead` says its secret's deletion killed. */
  forgetWhere(dead: (credential: ServiceAccountCredential) => boolean): void {
    for (const [key, byOrigin] of this.#entries) {
      const entry = byOrigin.values().next().value;
      if (entry !== undefined && dead(entry.credential)) this.#entries.delete(key);
    }
  }

  /** Forgets the credential's tokens on every origin and returns those still alive, to be revoked. */
  release(credential: ServiceAccountCredential): ReleasedTokens[] {
    const key = OAuthTokenCache.keyOf(credential);
    const byOrigin = this.#entries.get(key);
    this.#entries.delete(key);
    return byOrigin === undefined ? [] : [...byOrigin.values()].map((entry) => this.#aliveTokens(entry));
  }

  /** Forgets every credential's tokens and returns those still alive. */
  releaseAll(): ReleasedTokens[] {
    const entries = [...this.#entries.values()].flatMap((byOrigin) => [...byOrigin.values()]);
    this.#entries.clear();
    return entries.map((entry) => this.#aliveTokens(entry));
  }

  #aliveTokens(entry: Entry): ReleasedTokens {
    const now = this.#nowMs();
    const alive = [...entry.retired, ...(entry.current === undefined ? [] : [entry.current])]
      .filter((t) => t.expiresAtMs > now)
      .map((t) => t.accessToken);
    const inflight = entry.inflight?.then((t) => t.accessToken);
    return { origin: entry.origin, credential: entry.credential, accessTokens: alive, inflight };
  }

  #startMint(entry: Entry, mint: () => Promise<MintedToken>): Promise<HeldToken> {
    const startedAtMs = this.#nowMs();
    const inflight = mint()
      .then((minted): HeldToken => {
        // Lifetime counts from before the request went out, so the cache never outlives the token.
        const expiresAtMs = startedAtMs + minted.lifetimeMs;
        const margin = Math.min(this.#refreshMarginMs, minted.lifetimeMs / 2);
        const held = { accessToken: minted.accessToken, expiresAtMs, refreshAtMs: expiresAtMs - margin };
        const now = this.#nowMs();
        const previous = entry.current;
        entry.retired = entry.retired.filter((t) => t.expiresAtMs > now);
        if (previous !== undefined && previous.expiresAtMs > now) entry.retired.push(previous);
        entry.current = held;
        return held;
      })
      .finally(() => {
        if (entry.inflight === inflight) entry.inflight = undefined;
      });
    entry.inflight = inflight;
    return inflight;
  }
}
