import { RotatorError } from '../../../domain/errors.js';

/** The configured Atlas origin is unusable. Never echoes the raw value: it could carry credentials. */
export class InvalidAtlasBaseUrlError extends RotatorError {
  readonly code = 'INVALID_ATLAS_BASE_URL';
  readonly retryable = false;
}

/**
 * Parses the Atlas origin (e.g. `https://cloud.mongodb.com`). Only an origin is accepted: no path, query,
 * fragment or user info. Plain `http://` is refused unless `allowInsecureHttp` (local simulators), because
 * the OAuth client secret and bearer tokens travel in its headers.
 */
export function parseAtlasBaseUrl(raw: string, allowInsecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidAtlasBaseUrlError(
      'The Atlas base URL is not an absolute URL such as https://cloud.mongodb.com',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidAtlasBaseUrlError(
      `The Atlas base URL must use https, not ${url.protocol.replace(/:$/, '')}`,
    );
  }
  if (url.protocol === 'http:' && !allowInsecureHttp) {
    throw new InvalidAtlasBaseUrlError(
      `The Atlas base URL ${url.origin} uses plain http, which would send client secrets and tokens ` +
        'unencrypted; use https, or allow insecure http explicitly (local simulators only)',
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidAtlasBaseUrlError(`The Atlas base URL ${url.origin} must not contain user info`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new InvalidAtlasBaseUrlError(
      `The Atlas base URL must be an origin only (such as ${url.origin}), without path, query or fragment`,
    );
  }
  return new URL(url.origin);
}
