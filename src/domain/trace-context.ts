/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header), version 00:
 * `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, neither id all zeros. It carries a trace from a
 * rotation request to the completed/failed event; it is ids only, never secret material.
 */
export type Traceparent = string;

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

export function isTraceparent(value: unknown): value is Traceparent {
  return typeof value === 'string' && TRACEPARENT.test(value);
}
