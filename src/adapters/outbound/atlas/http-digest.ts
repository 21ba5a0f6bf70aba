import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyCredential } from '../../../domain/credential.js';

/** What a `WWW-Authenticate: Digest …` challenge offers, when it is one this client can answer. */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | undefined;
  /** The digest was right but its nonce expired (RFC 7616 §3.3): answer again with the new nonce. */
  readonly stale: boolean;
}

/** An `Authorization` value, and the response hash in it (kept out of every message). */
export interface DigestAuthorization {
  readonly header: string;
  readonly response: string;
}

interface Session {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | undefined;
  /** Nonce count of the last request that used this nonce. */
  nc: number;
}

const AUTH_PARAM = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/y;
const DIGEST_SCHEME = /(?:^|,)\s*Digest\s+/i;
const MAX_NONCE_COUNT = 0xffffffff;

/** RFC 7235 §2.1 auth-params from `start`; stops at the next challenge (a token not followed by `=`). */
function parseAuthParams(value: string, start: number): Map<string, string> {
  const params = new Map<string, string>();
  AUTH_PARAM.lastIndex = start;
  while (AUTH_PARAM.lastIndex < value.length) {
    const match = AUTH_PARAM.exec(value);
    if (match === null) break;
    const [, name = '', quoted, token] = match;
    params.set(name.toLowerCase(), quoted === undefined ? (token ?? '') : quoted.replace(/\\(.)/g, '$1'));
  }
  return params;
}

/**
 * The Digest challenge among the `WWW-Authenticate` values, if it is one this client speaks: algorithm MD5
 * (or none named, which means MD5) and a `qop` list that offers `auth`. Anything else is undefined: the 401
 * then stands.
 */
export function parseDigestChallenge(header: string | string[] | undefined): DigestChallenge | undefined {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  for (const value of values) {
    const scheme = DIGEST_SCHEME.exec(value);
    if (scheme === null) continue;
    const params = parseAuthParams(value, scheme.index + scheme[0].length);
    const nonce = params.get('nonce');
    const realm = params.get('realm');
    const algorithm = params.get('algorithm') ?? 'MD5';
    const qops = (params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
    if (nonce === undefined || nonce === '' || realm === undefined) continue;
    if (algorithm.toUpperCase() !== 'MD5' || !qops.includes('auth')) continue;
    return {
      realm,
      nonce,
      opaque: params.get('opaque'),
      stale: params.get('stale')?.toLowerCase() === 'true',
    };
  }
  return undefined;
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** A quoted-string (RFC 7230 §3.2.6). */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * HTTP Digest (RFC 7616, MD5, qop=auth) for programmatic API keys: the nonce a server last offered is kept per
 * origin and public key and reused with an incrementing nonce count, so that only the first request of a key to
 * an origin (and the first after the nonce goes stale) costs a challenge round-trip. Holds nonces only, never
 * a private key.
 */
export class DigestSessions {
  readonly #sessions = new Map<string, Session>();

  static #key(origin: string, key: ApiKeyCredential): string {
    return `${origin} ${key.publicKey}`;
  }

  /** Starts using the challenge's nonce for this origin and key (nonce count from 1). */
  remember(origin: string, key: ApiKeyCredential, challenge: DigestChallenge): void {
    const { realm, nonce, opaque } = challenge;
    this.#sessions.set(DigestSessions.#key(origin, key), { realm, nonce, opaque, nc: 0 });
  }

  forget(origin: string, key: ApiKeyCredential): void {
    this.#sessions.delete(DigestSessions.#key(origin, key));
  }

  clear(): void {
    this.#sessions.clear();
  }

  /**
   * The `Authorization` value for one request with the cached nonce and the next nonce count, or undefined when
   * there is no nonce yet. `uri` is the request-target exactly as sent (path and query). Each call takes a new
   * count, so concurrent requests never share one (a server accepts each count once).
   */
  authorize(
    origin: string,
    key: ApiKeyCredential,
    method: string,
    uri: string,
  ): DigestAuthorization | undefined {
    const sessionKey = DigestSessions.#key(origin, key);
    const session = this.#sessions.get(sessionKey);
    if (session === undefined) return undefined;
    if (session.nc >= MAX_NONCE_COUNT) {
      this.#sessions.delete(sessionKey);
      return undefined;
    }
    session.nc += 1;
    const nc = session.nc.toString(16).padStart(8, '0');
    const cnonce = randomBytes(16).toString('hex');
    const ha1 = md5(`${key.publicKey}:${session.realm}:${key.privateKey.reveal()}`);
    const ha2 = md5(`${method}:${uri}`);
    const response = md5(`${ha1}:${session.nonce}:${nc}:${cnonce}:auth:${ha2}`);
    const parts = [
      `username=${quoted(key.publicKey)}`,
      `realm=${quoted(session.realm)}`,
      `nonce=${quoted(session.nonce)}`,
      `uri=${quoted(uri)}`,
      'algorithm=MD5',
      'qop=auth',
      `nc=${nc}`,
      `cnonce=${quoted(cnonce)}`,
      `response=${quoted(response)}`,
      ...(session.opaque === undefined ? [] : [`opaque=${quoted(session.opaque)}`]),
    ];
    return { header: `Digest ${parts.join(', ')}`, response };
  }
}
