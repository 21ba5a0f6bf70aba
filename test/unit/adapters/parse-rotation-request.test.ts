import { describe, expect, it } from 'vitest';
import {
  MAX_REQUEST_BYTES,
  parseRotationRequest,
  tokenForRequestId,
} from '../../../src/adapters/inbound/sqs/parse-rotation-request.js';

const MESSAGE_ID = '6f1d9c1e-1c9b-4c55-9a0e-5b0c2f3e4d5a';
const EVENT_ID = '0d8e1f7a-2b3c-4d5e-8f90-a1b2c3d4e5f6';

const direct = (fields: Record<string, unknown>) => JSON.stringify(fields);
const viaEventBridge = (detail: unknown, detailType = 'Atlas Secret Rotation Requested') =>
  JSON.stringify({
    version: '0',
    id: EVENT_ID,
    'detail-type': detailType,
    source: 'platform.team',
    account: '123456789012',
    time: '2026-11-23T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail,
  });

describe('parseRotationRequest', () => {
  it('reads the direct shape and uses the requestId as the token when it is token-shaped', () => {
    const result = parseRotationRequest(
      direct({ secretId: 'prod/atlas/sa', requestId: EVENT_ID, reason: 'quarterly' }),
      MESSAGE_ID,
    );
    expect(result).toEqual({
      ok: true,
      request: {
        secretId: 'prod/atlas/sa',
        requestId: EVENT_ID,
        reason: 'quarterly',
        token: EVENT_ID,
        via: 'direct',
      },
    });
  });

  it('carries a W3C traceparent, direct or from an EventBridge detail, and drops an invalid one', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const read = (body: string) => {
      const result = parseRotationRequest(body, MESSAGE_ID);
      return result.ok ? result.request.traceparent : 'refused';
    };
    expect(read(direct({ secretId: 'prod/atlas/sa', traceparent }))).toBe(traceparent);
    expect(read(viaEventBridge({ secretId: 'prod/atlas/sa', traceparent }))).toBe(traceparent);
    expect(read(direct({ secretId: 'prod/atlas/sa' }))).toBeUndefined();
    for (const invalid of [
      'garbage',
      42,
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '01-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    ]) {
      expect(read(direct({ secretId: 'prod/atlas/sa', traceparent: invalid }))).toBeUndefined();
    }
  });

  it('derives the request id from the SQS message id when none is given', () => {
    const result = parseRotationRequest(direct({ secretId: 'prod/atlas/sa' }), MESSAGE_ID);
    expect(result.ok && result.request.requestId).toBe(MESSAGE_ID);
    expect(result.ok && result.request.token).toBe(MESSAGE_ID);
  });

  it('reads an EventBridge event and falls back to the event id, so a duplicate delivery is the same rotation', () => {
    const result = parseRotationRequest(
      viaEventBridge({ secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbCdEf' }),
      MESSAGE_ID,
    );
    expect(result.ok && result.request).toMatchObject({
      requestId: EVENT_ID,
      token: EVENT_ID,
      via: 'eventbridge',
    });
  });

  it('maps a request id that is not token-shaped to a stable UUID-shaped token', () => {
    const token = tokenForRequestId('change-1234');
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(tokenForRequestId('change-1234')).toBe(token);
    expect(tokenForRequestId('change-1235')).not.toBe(token);
  });

  it.each([
    ['not JSON', '{"secretId":', 'not JSON'],
    ['a JSON array', '[1,2]', 'JSON object'],
    ['a missing secretId', direct({ requestId: 'r-1' }), 'secretId'],
    ['a secretId of the wrong type', direct({ secretId: 42 }), 'secretId'],
    ['a secretId with spaces', direct({ secretId: 'a b' }), 'secretId'],
    ['a requestId of the wrong type', direct({ secretId: 's', requestId: 7 }), 'requestId'],
    ['an overlong reason', direct({ secretId: 's', reason: 'x'.repeat(1025) }), 'reason'],
    ['an unknown detail-type', viaEventBridge({ secretId: 's' }, 'Something Else'), 'detail-type'],
    ['a detail that is not an object', viaEventBridge('s'), 'detail'],
  ])('refuses %s, naming the problem', (_name, body, field) => {
    const result = parseRotationRequest(body, MESSAGE_ID);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toContain(field);
  });

  it('refuses an oversized body before parsing it', () => {
    const result = parseRotationRequest(
      direct({ secretId: 's', reason: 'x'.repeat(MAX_REQUEST_BYTES) }),
      MESSAGE_ID,
    );
    expect(!result.ok && result.problem).toContain('larger than');
  });

  it('never quotes the content in a problem', () => {
    const secretLooking = 'mdb_sa_sk_leaked-by-mistake-0123456789';
    const result = parseRotationRequest(`{"secretId": "${secretLooking}" oops`, MESSAGE_ID);
    expect(!result.ok && result.problem).not.toContain(secretLooking);
    const typed = parseRotationRequest(direct({ secretId: [secretLooking] }), MESSAGE_ID);
    expect(!typed.ok && typed.problem).not.toContain(secretLooking);
  });

  it('refuses a client secret pasted as the secret id or request id, and does not carry it on', () => {
    const leaked = 'mdb_sa_sk_pasted-by-mistake-0123456789';
    const asSecretId = parseRotationRequest(direct({ secretId: leaked }), MESSAGE_ID);
    expect(asSecretId).toMatchObject({ ok: false, secretId: '' });
    const asRequestId = parseRotationRequest(direct({ secretId: 'prod/sa', requestId: leaked }), MESSAGE_ID);
    expect(asRequestId).toMatchObject({ ok: false, secretId: 'prod/sa', requestId: MESSAGE_ID });
    expect(JSON.stringify([asSecretId, asRequestId])).not.toContain(leaked);
  });

  it('keeps what it could read of an invalid request for the failure event', () => {
    const result = parseRotationRequest(
      direct({ secretId: 'prod/sa', requestId: 'r-1', reason: 5 }),
      MESSAGE_ID,
    );
    expect(result).toMatchObject({ ok: false, secretId: 'prod/sa', requestId: 'r-1' });
  });
});
