import type { DigestAuthenticator } from './digest-auth.js';
import type { SimulatorRequest } from './simulator-request.js';
import type { Principal, SimulatorStore } from './simulator-store.js';

export type Authentication =
  | { readonly principal: Principal }
  | { readonly refused: { readonly detail: string; readonly stale: boolean } };

/**
 * The public APIs accept a service account's bearer token or a programmatic API key over HTTP Digest (the spec's
 * `ServiceAccounts` and `DigestAuth` security schemes). Basic credentials are for the token endpoint only.
 */
export function authenticate(
  request: SimulatorRequest,
  store: SimulatorStore,
  digest: DigestAuthenticator,
): Authentication {
  const { authorization } = request;
  if (authorization.scheme === 'bearer') {
    const caller = store.resolveToken(authorization.token);
    return caller === undefined
      ? { refused: { detail: 'The access token is invalid, expired or revoked.', stale: false } }
      : { principal: caller.account };
  }
  if (authorization.scheme === 'digest') {
    const verdict = digest.verify(request.method, request.target, authorization.params);
    if (!verdict.ok) return { refused: { detail: verdict.detail, stale: verdict.stale } };
    const key = store.apiKey(verdict.publicKey);
    return key === undefined ? { refused: { detail: 'Invalid API key.', stale: false } } : { principal: key };
  }
  return {
    refused: {
      detail: 'This resource requires an OAuth 2.0 bearer access token or HTTP Digest authentication.',
      stale: false,
    },
  };
}

/** Every 401 of the public APIs offers a Digest challenge with a fresh nonce, as Atlas does. */
export function challengeHeaders(digest: DigestAuthenticator, stale: boolean): Record<string, string> {
  return { 'www-authenticate': digest.challenge(stale) };
}
