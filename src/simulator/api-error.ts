import { STATUS_CODES } from 'node:http';

export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/**
 * Atlas `ApiError` (facts sheet §4.1). On the v2 API `parameters` stays empty (the spec types its items as
 * objects); the v1.0 API puts positional values there, as Cloud Manager does.
 */
export interface ApiErrorBody {
  readonly error: number;
  readonly errorCode: string;
  readonly detail: string;
  readonly reason: string;
  readonly parameters: readonly unknown[];
  readonly badRequestDetail?: { readonly fields: readonly FieldViolation[] };
}

export function apiError(
  status: number,
  errorCode: string,
  detail: string,
  fields?: readonly FieldViolation[],
): ApiErrorBody {
  const body = { error: status, errorCode, detail, reason: STATUS_CODES[status] ?? 'Error', parameters: [] };
  return fields === undefined ? body : { ...body, badRequestDetail: { fields } };
}

/** The body a fault rule with a status but no body answers with. */
export function defaultFaultError(status: number): ApiErrorBody {
  const errorCode =
    {
      400: 'VALIDATION_ERROR',
      401: 'UNAUTHORIZED',
      403: 'USER_UNAUTHORIZED',
      404: 'RESOURCE_NOT_FOUND',
      409: 'DATA_CONCURRENCY_ERROR',
      429: 'RATE_LIMITED',
      500: 'UNEXPECTED_ERROR',
      503: 'SERVICE_UNAVAILABLE',
    }[status] ?? 'UNEXPECTED_ERROR';
  return apiError(status, errorCode, `Injected fault: HTTP ${status}.`);
}
