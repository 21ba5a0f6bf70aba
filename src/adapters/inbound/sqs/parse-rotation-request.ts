import { createHash } from 'node:crypto';
import { isRotationToken, parseRotationToken, type RotationToken } from '../../../domain/identifiers.js';
import { DETAIL_TYPE_REQUESTED } from '../../../domain/rotation-events.js';

/** Requests are small; anything larger is refused before parsing. */
export const MAX_REQUEST_BYTES = 16 * 1024;

const SECRET_ID = /^[A-Za-z0-9/_+=.@:-]{1,2048}$/;
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
/** An Atlas client secret pasted by mistake must never travel on into events and logs. */
const SECRET_SHAPED = /mdb_sa_sk_/i;
const isSecretId = (v: unknown): v is string =>
  typeof v === 'string' && SECRET_ID.test(v) && !SECRET_SHAPED.test(v);
const isRequestId = (v: unknown): v is string =>
  typeof v === 'string' && REQUEST_ID.test(v) && !SECRET_SHAPED.test(v);

export interface ParsedRotationRequest {
  readonly secretId: string;
  readonly requestId: string;
  readonly reason: string | undefined;
  /** `"retireOldSecret": "now"`: a leaked credential — the replaced Atlas secret goes at the promotion. */
  readonly retireOldSecret: 'now' | undefined;
  readonly token: RotationToken;
  readonly via: 'direct' | 'eventbridge';
}

export type ParseResult =
  | { readonly ok: true; readonly request: ParsedRotationRequest }
  | { readonly ok: false; readonly problem: string; readonly secretId: string; readonly requestId: string };

/**
 * The rotation's token (the new version's VersionId) for a request id: the id itself when it already has
 * VersionId's shape (a UUID does), otherwise a UUID-shaped digest of it — the same id, the same rotation.
 */
export function tokenForRequestId(requestId: string): RotationToken {
  if (isRotationToken(requestId)) return requestId;
  const hex = createHash('sha256').update(`atlas-rotator:${requestId}`).digest('hex');
  return parseRotationToken(
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses an SQS message body: either the direct shape `{secretId, requestId?, reason?, retireOldSecret?}` or an EventBridge
 * event (as a rule delivers it) with detail-type `Atlas Secret Rotation Requested` and that shape as
 * `detail`. Problems name the field and rule, never the content.
 */
export function parseRotationRequest(body: string, messageId: string): ParseResult {
  const invalid = (problem: string, secretId = '', requestId = messageId): ParseResult => ({
    ok: false,
    problem,
    secretId,
    requestId,
  });
  if (Buffer.byteLength(body, 'utf8') > MAX_REQUEST_BYTES) {
    return invalid(`the message body is larger than ${MAX_REQUEST_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return invalid('the message body is not JSON');
  }
  if (!isObject(json)) return invalid('the message body must be a JSON object');

  let fields: Record<string, unknown> = json;
  let fallbackId = messageId;
  let via: ParsedRotationRequest['via'] = 'direct';
  if ('detail-type' in json || 'detail' in json) {
    if (json['detail-type'] !== DETAIL_TYPE_REQUESTED) {
      return invalid(`detail-type must be "${DETAIL_TYPE_REQUESTED}"`);
    }
    if (!isObject(json.detail)) return invalid('detail must be a JSON object');
    fields = json.detail;
    via = 'eventbridge';
    if (isRequestId(json.id)) fallbackId = json.id;
  }

  const { secretId, requestId, reason, retireOldSecret } = fields;
  const readableSecretId = isSecretId(secretId) ? secretId : '';
  const readableRequestId =
    typeof requestId === 'string' && REQUEST_ID.test(requestId) ? requestId : fallbackId;
  if (!isSecretId(secretId)) {
    return invalid(
      'secretId must be a secret name or ARN (1-2048 letters, digits and / _ + = . @ : -), never a secret value',
      '',
      readableRequestId,
    );
  }
  if (requestId !== undefined && !isRequestId(requestId)) {
    return invalid(
      'requestId must be 1-128 printable ASCII characters without spaces, never a secret value',
      readableSecretId,
      fallbackId,
    );
  }
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 1024)) {
    return invalid('reason must be a string of at most 1024 characters', readableSecretId, readableRequestId);
  }
  if (retireOldSecret !== undefined && retireOldSecret !== 'now') {
    return invalid('retireOldSecret must be "now" when given', readableSecretId, readableRequestId);
  }
  return {
    ok: true,
    request: {
      secretId,
      requestId: readableRequestId,
      reason,
      retireOldSecret,
      token: tokenForRequestId(readableRequestId),
      via,
    },
  };
}
