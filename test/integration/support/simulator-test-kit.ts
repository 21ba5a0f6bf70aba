/**
 * What the Atlas simulator's HTTP tests share: media types, formats and times, and the control surface. They
 * validate against the project's own contract (test/support/contract-validator.ts); only
 * test/unit/simulator/atlas-contract-vs-official.test.ts reads MongoDB's spec, and only when it is there.
 */
import type { AtlasSimulator } from '../../../src/simulator/atlas-simulator.js';
export const V2024 = 'application/vnd.atlas.2024-08-05+json';
export const V2025 = 'application/vnd.atlas.2025-03-12+json';
export const SECRET_FORMAT = /^mdb_sa_sk_[A-Za-z0-9_-]{40}$/;
export const HOUR = 3600 * 1000;
export const DAY = 24 * HOUR;
/** Where each test's simulator clock starts. */
export const START = new Date('2026-03-01T00:00:00Z');

/** A time as the simulator writes it: ISO 8601 without milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A call to the simulator's HTTP control surface (`/__simulator/…`). */
export function control(
  simulator: AtlasSimulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${simulator.baseUrl}/__simulator/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}
