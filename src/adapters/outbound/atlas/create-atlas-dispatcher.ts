import { Pool } from 'undici';
import { parseAtlasBaseUrl } from './atlas-base-url.js';

export interface AtlasDispatcherOptions {
  /** Time allowed to open a TCP (and TLS) connection. */
  readonly connectTimeoutMs: number;
  /** How long an idle keep-alive connection is kept (the server's own hint may shorten it). */
  readonly keepAliveTimeoutMs: number;
  /** Maximum concurrent connections to the origin. */
  readonly connections: number;
  /** Permit a plain `http://` origin (local simulators only). */
  readonly allowInsecureHttp?: boolean;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0)
    throw new RangeError(`${name} must be a positive integer: ${value}`);
  return value;
}

/**
 * One undici `Pool` for one origin (Atlas, Cloud Manager, an Ops Manager host), with explicit timeouts. Meant as
 * `AtlasAdminApiClient`'s `dispatcherFor: (origin) => createAtlasDispatcher(origin, options)`: the client then
 * builds a pool per origin on first use and closes them in `close()`. Request-level `headersTimeout`/`bodyTimeout`
 * are set per request by the client; the pool's defaults are kept as a backstop.
 */
export function createAtlasDispatcher(baseUrl: string, options: AtlasDispatcherOptions): Pool {
  const origin = parseAtlasBaseUrl(baseUrl, options.allowInsecureHttp ?? false);
  return new Pool(origin.origin, {
    connections: positiveInteger('connections', options.connections),
    connectTimeout: positiveInteger('connectTimeoutMs', options.connectTimeoutMs),
    keepAliveTimeout: positiveInteger('keepAliveTimeoutMs', options.keepAliveTimeoutMs),
    keepAliveMaxTimeout: options.keepAliveTimeoutMs,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    pipelining: 1,
  });
}
