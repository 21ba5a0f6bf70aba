import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The realm Atlas, Cloud Manager and Ops Manager name in their Digest challenges. */
export const DIGEST_REALM = 'MMS Public API';
/** How long a nonce the simulator issued stays usable (undocumented by MongoDB; chosen). */
export const DEFAULT_DIGEST_NONCE_TTL_SECONDS = 300;
/** Expired nonces are remembered this long, so that they still earn `stale=true` rather than a plain refusal. */
const EXPIRED_NONCE_MEMORY_MS = 24 * 3600 * 1000;

interface NonceRecord {
  readonly issuedAt: number;
  /** Nonce counts already accepted with this nonce (RFC 7616 §3.4: `nc` lets the server detect replays). */
  readonly seen: Set<number>;
}

export type DigestVerdict =
  | { readonly ok: true; readonly publicKey: string }
  | { readonly ok: false; readonly stale: boolean; readonly detail: string };

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a.toLowerCase());
  const right = Buffer.from(b.toLowerCase());
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * HTTP Digest (RFC 7616) as MongoDB's public APIs speak it: realm "MMS Public API", algorithm MD5,
 * qop "auth" only. Nonces are issued here and only here, expire after a TTL (then `stale=true`), and each
 * nonce count is accepted once per nonce.
 */
export class DigestAuthenticator {
  readonly #now: () => Date;
  readonly #ttlMs: number;
  readonly #privateKeyOf: (publicKey: string) => string | undefined;
  readonly #nonces = new Map<string, NonceRecord>();

  constructor(now: () => Date, ttlSeconds: number, privateKeyOf: (publicKey: string) => string | undefined) {
    this.#now = now;
    this.#ttlMs = ttlSeconds * 1000;
    this.#privateKeyOf = privateKeyOf;
  }

  /** A fresh `WWW-Authenticate` value with a newly issued nonce, in the layout Atlas sends. */
  challenge(stale: boolean): string {
    const now = this.#now().getTime();
    for (const [nonce, record] of this.#nonces) {
      if (now - record.issuedAt > this.#ttlMs + EXPIRED_NONCE_MEMORY_MS) this.#nonces.delete(nonce);
    }
    const nonce = randomBytes(24).toString('base64url');
    this.#nonces.set(nonce, { issuedAt: now, seen: new Set() });
    return `Digest realm="${DIGEST_REALM}", domain="", nonce="${nonce}", algorithm=MD5, qop="auth", stale=${stale}`;
  }

  /**
   * Verifies the Authorization params of a request. `target` is the request-target as received (path and
   * query): the `uri` param must equal it. Order of checks (chosen): the parameter set (algorithm, qop, realm,
   * uri), the nonce being one this simulator issued, the key, the response digest, expiry (stale), replayed nc.
   */
  verify(method: string, target: string, params: ReadonlyMap<string, string>): DigestVerdict {
    const refuse = (detail: string, stale = false): DigestVerdict => ({ ok: false, stale, detail });
    const username = params.get('username');
    const nonce = params.get('nonce');
    const uri = params.get('uri');
    const response = params.get('response');
    const cnonce = params.get('cnonce');
    const nc = params.get('nc');
    const algorithm = params.get('algorithm') ?? 'MD5';
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return refuse('Incomplete Digest credentials.');
    }
    if (algorithm.toUpperCase() !== 'MD5') return refuse(`Unsupported Digest algorithm ${algorithm}.`);
    if (
      params.get('qop') !== 'auth' ||
      cnonce === undefined ||
      nc === undefined ||
      !/^[0-9a-fA-F]{8}$/.test(nc)
    ) {
      return refuse('Digest credentials must use qop=auth with cnonce and an 8-digit nc.');
    }
    if (params.get('realm') !== DIGEST_REALM) return refuse('Wrong Digest realm.');
    if (uri !== target) return refuse('The Digest uri does not match the request.');
    const issued = this.#nonces.get(nonce);
    if (issued === undefined) return refuse('Unknown Digest nonce.');
    const privateKey = this.#privateKeyOf(username);
    if (privateKey === undefined) return refuse('Invalid API key.');
    const ha1 = md5(`${username}:${DIGEST_REALM}:${privateKey}`);
    const ha2 = md5(`${method}:${uri}`);
    const expected = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
    if (!sameHex(expected, response)) return refuse('Invalid API key.');
    if (this.#now().getTime() - issued.issuedAt >= this.#ttlMs) return refuse('Stale Digest nonce.', true);
    const count = Number.parseInt(nc, 16);
    if (issued.seen.has(count)) return refuse('Replayed Digest nonce count.');
    issued.seen.add(count);
    return { ok: true, publicKey: username };
  }
}
