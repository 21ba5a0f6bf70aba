import type { AuthScheme } from './authorization-header.js';

/** One request the simulator received outside its control surface. Never carries a secret or token. */
export interface RequestLogEntry {
  readonly method: string;
  /** URL path without the query string. */
  readonly path: string;
  /** Status the simulator answered with; 0 when a fault dropped the connection before the work. */
  readonly status: number;
  readonly accept: string | undefined;
  readonly auth: AuthScheme;
  /** From Basic credentials (as claimed) or from a bearer token the simulator issued (alive or dead). */
  readonly clientId: string | undefined;
  /** The API key a Digest request names (as claimed, like Basic's clientId); only on Digest requests. */
  readonly publicKey?: string;
  /** When the request arrived, ISO 8601, by the simulator's clock. */
  readonly at: string;
  /** Set when a fault destroyed the connection instead of answering. */
  readonly dropped?: 'before' | 'after';
}
