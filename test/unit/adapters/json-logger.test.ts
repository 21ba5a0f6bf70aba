import { describe, expect, it } from 'vitest';
import { JsonLogger, redact } from '../../../src/adapters/outbound/system/json-logger.js';
import type { LogFields } from '../../../src/application/ports/logger.js';
import { SecretValue } from '../../../src/domain/secret-value.js';

// Made-up values of each secret shape (none of them was ever a real credential).
const ATLAS_SECRET = 'mdb_sa_sk_Q8v1ZxW3c7Yb0NnTt5Rr2Kk9Ll4Mm6Pp8Jj1Hh3Gg';
const PRIVATE_KEY = '7c1e4b2a-93d0-4f6e-8a15-2b9c0d4e6f81';
const PUBLIC_KEY = 'qwrtypsd';
const OPAQUE_TOKEN = 'a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuV';
const JWT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtZGJfc2FfaWRfMDAwMCIsImV4cCI6MTcwMDAwMDAwMH0.' +
  'c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1nb2VzLWhlcmU';
const DIGEST_RESPONSE = '6629fae49393a05397450978507c4ef1';

/** Each shape in the contexts it reaches a log in, and the raw value that must not come out. */
const LEAKS: readonly { readonly name: string; readonly text: string; readonly secret: string }[] = [
  { name: 'an Atlas secret', text: `created ${ATLAS_SECRET} for the account`, secret: ATLAS_SECRET },
  { name: 'a bearer token', text: `authorization: Bearer ${OPAQUE_TOKEN}`, secret: OPAQUE_TOKEN },
  { name: 'a bare JWT', text: `token ${JWT} expired`, secret: JWT.split('.')[1] as string },
  { name: 'a bearer JWT', text: `Bearer ${JWT}`, secret: JWT.split('.')[2] as string },
  {
    name: 'an API key pair (public:private)',
    text: `curl --digest -u ${PUBLIC_KEY}:${PRIVATE_KEY} https://cloud.mongodb.com`,
    secret: PRIVATE_KEY,
  },
  { name: 'a privateKey=… pair', text: `privateKey=${PRIVATE_KEY}`, secret: PRIVATE_KEY },
  { name: 'a private_key: … pair', text: `private_key: "${PRIVATE_KEY}"`, secret: PRIVATE_KEY },
  {
    name: 'a JSON privateKey',
    text: JSON.stringify({ publicKey: PUBLIC_KEY, privateKey: PRIVATE_KEY }),
    secret: PRIVATE_KEY,
  },
  {
    name: 'a Basic credential of the key pair',
    text: `Basic ${Buffer.from(`${PUBLIC_KEY}:${PRIVATE_KEY}`).toString('base64')}`,
    secret: Buffer.from(`${PUBLIC_KEY}:${PRIVATE_KEY}`).toString('base64'),
  },
  {
    name: 'a Digest authorization',
    text: `Digest username="${PUBLIC_KEY}", realm="MMS Public API", nonce="n", uri="/api", response="${DIGEST_RESPONSE}"`,
    secret: DIGEST_RESPONSE,
  },
];

/** Where a caller can put text: the message, a field, a nested object, an array, an error. */
type Make = (base?: LogFields) => JsonLogger;
const FIELD_KINDS: readonly { readonly name: string; readonly log: (make: Make, text: string) => void }[] = [
  { name: 'the message', log: (make, text) => make().error(`rotation failed: ${text}`) },
  { name: 'a string field', log: (make, text) => make().error('rotation failed', { detail: text }) },
  {
    name: 'an error message field',
    log: (make, text) => make().error('x', { message: text, errorCode: 'E' }),
  },
  { name: 'an array', log: (make, text) => make().warn('x', { problems: ['first', text] }) },
  {
    // LogFields holds flat values; a caller that bypasses the type must not leak either.
    name: 'a nested object',
    log: (make, text) => make().info('x', { request: { headers: { note: text } } } as unknown as LogFields),
  },
  {
    name: 'an Error object',
    log: (make, text) =>
      make().error('x', {
        failure: new Error(`Atlas said: ${text}`, { cause: new Error(text) }),
      } as unknown as LogFields),
  },
  { name: 'a base field', log: (make, text) => make({ context: text }).info('with base') },
  { name: 'a field name', log: (make, text) => make().info('x', { [text]: 'value' }) },
];

/** The lines the loggers `log` builds (at debug level) write. */
function emitted(log: (make: Make) => void): string[] {
  const lines: string[] = [];
  log(
    (base = {}) =>
      new JsonLogger(
        'debug',
        (line) => lines.push(line),
        base,
        () => new Date(0),
      ),
  );
  return lines;
}

describe('JsonLogger', () => {
  for (const leak of LEAKS) {
    for (const kind of FIELD_KINDS) {
      it(`masks ${leak.name} in ${kind.name}`, () => {
        const lines = emitted((make) => kind.log(make, leak.text));
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) {
          expect(() => JSON.parse(line)).not.toThrow();
          expect(line).not.toContain(leak.secret);
          expect(line).toContain('[REDACTED]');
        }
      });
    }
  }

  it('masks the value of a field named like a secret, whatever its shape', () => {
    const [line] = emitted((make) =>
      make().info('x', {
        clientSecret: 'plain-words-not-a-known-shape',
        private_key: PRIVATE_KEY,
        Authorization: 'Custom abc',
        nested: { password: 'hunter2hunter2', accessToken: 'opaque-token-value' },
      } as unknown as LogFields),
    );
    expect(line).toBeDefined();
    for (const value of [
      'plain-words-not-a-known-shape',
      PRIVATE_KEY,
      'Custom abc',
      'hunter2hunter2',
      'opaque-token-value',
    ]) {
      expect(line).not.toContain(value);
    }
    expect(JSON.parse(line as string)).toMatchObject({
      clientSecret: '[REDACTED]',
      private_key: '[REDACTED]',
      Authorization: '[REDACTED]',
      nested: { password: '[REDACTED]', accessToken: '[REDACTED]' },
    });
  });

  it('keeps ids readable: rotation and request ids (UUIDs), ARNs, secret ids, client and public ids', () => {
    const rotationId = '3f2b8c1d-5e6a-4b7c-9d0e-1f2a3b4c5d6e';
    const requestId = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
    const versionId = '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/atlas/reporting-sa-AbCdEf';
    const fields = {
      rotationId,
      requestId,
      token: rotationId,
      secretArn,
      secretId: 'prod/atlas/reporting-sa',
      secretName: 'prod/atlas/reporting-sa',
      newAtlasSecretId: '65f1a2b3c4d5e6f7a8b9c0d1',
      clientId: 'mdb_sa_id_65f1a2b3c4d5e6f7a8b9c0d1',
      publicKey: PUBLIC_KEY,
      stage: 'AWSPENDING',
      versionIds: [versionId],
      messageId: `${requestId}`,
    };
    const [line] = emitted((make) =>
      make().info(`rotation ${rotationId} of ${secretArn} moved AWSPENDING:${versionId}`, fields),
    );
    const parsed = JSON.parse(line as string) as Record<string, unknown>;
    expect(parsed).toMatchObject(fields);
    expect(parsed.message).toBe(`rotation ${rotationId} of ${secretArn} moved AWSPENDING:${versionId}`);
    expect(line).not.toContain('[REDACTED]');
  });

  it('leaves prose about the schemes alone, masking only credentials', () => {
    for (const prose of ['an API key uses HTTP Digest (RFC 7616)', 'answer the Digest challenge once']) {
      expect(redact(prose)).toBe(prose);
    }
    expect(redact(`Digest username="${PUBLIC_KEY}", response="${DIGEST_RESPONSE}"`)).toBe(
      'Digest [REDACTED]',
    );
  });

  it('masks a UUID after a public key but not one after an ARN segment or a stage', () => {
    expect(redact(`${PUBLIC_KEY}:${PRIVATE_KEY}`)).toBe(`${PUBLIC_KEY}:[REDACTED]`);
    expect(redact(`arn:aws:events:eu-west-1:123456789012:abcdefgh:${PRIVATE_KEY}`)).toContain(PRIVATE_KEY);
    expect(redact(`AWSCURRENT:${PRIVATE_KEY}`)).toContain(PRIVATE_KEY);
  });

  it('prints what JSON would for values with toJSON: a SecretValue as [REDACTED], a Date as its ISO string', () => {
    const [line] = emitted((make) =>
      make().info('x', {
        held: SecretValue.of(ATLAS_SECRET),
        at: new Date(Date.UTC(2026, 11, 1)),
      } as unknown as LogFields),
    );
    expect(JSON.parse(line as string)).toMatchObject({ held: '[REDACTED]', at: '2026-12-01T00:00:00.000Z' });
  });

  it('writes nothing below its level', () => {
    expect(emitted((make) => make().debug('x')).length).toBe(1);
    const lines: string[] = [];
    new JsonLogger('warn', (line) => lines.push(line)).info(`x ${ATLAS_SECRET}`);
    expect(lines).toEqual([]);
  });
});
