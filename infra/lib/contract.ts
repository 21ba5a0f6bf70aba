/**
 * The service's event contract, as the infrastructure routes it (src/domain/rotation-events.ts; a test
 * keeps the two in step).
 */
export const DETAIL_TYPE_REQUESTED = 'Atlas Secret Rotation Requested';
export const DETAIL_TYPE_COMPLETED = 'Atlas Secret Rotation Completed';
export const DETAIL_TYPE_FAILED = 'Atlas Secret Rotation Failed';
export const DEFAULT_EVENT_SOURCE = 'atlas-rotator';
