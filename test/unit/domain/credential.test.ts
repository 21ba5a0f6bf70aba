import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  parseAdminCredential,
  parseCredential,
  rotatedCredential,
  serializeCredential,
} from '../../../src/domain/credential.js';
import { InvalidSecretValueError } from '../../../src/domain/errors.js';
import type { AtlasSecretId } from '../../../src/domain/identifiers.js';
import { SecretValue } from '../../../src/domain/secret-value.js';
import {
  aCredentialJson,
  aCredentialValue,
  CLIENT_ID,
  CURRENT_SECRET_ID,
  CURRENT_SECRET_VALUE,
  ORG_ID,
} from '../../support/builders.js';

function parseError(json: Record<string, unknown> | string): InvalidSecretValueError {
  const raw = typeof json === 'string' ? json : JSON.stringify(json);
  try {
    parseCredential(SecretValue.of(raw));
  } catch (error) {
    if (error instanceof InvalidSecretValueError) return error;
    throw error;
  }
  throw new Error('parsed');
}

describe('parseCredential', () => {
  it('reads the fields atlas-rotator owns', () => {
    const credential = parseCredential(aCredentialValue());

    expect(credential).toMatchObject({
      clientId: CLIENT_ID,
      orgId: ORG_ID,
      atlasSecretId: CURRENT_SECRET_ID,
      atlasSecretExpiresAt: '2026-03-01T00:00:00.000Z',
      extra: {},
    });
    expect(credential.clientSecret.reveal()).toBe(CURRENT_SECRET_VALUE);
  });

  it('accepts a credential never rotated, without an Atlas secret id', () => {
    const credential = parseCredential(
      aCredentialValue({ atlasSecretId: undefined, atlasSecretExpiresAt: undefined }),
    );

    expect(credential.atlasSecretId).toBeUndefined();
    expect(credential.atlasSecretExpiresAt).toBeUndefined();
  });

  it('keeps fields it does not own', () => {
    const credential = parseCredential(
      aCredentialValue({ connectionString: 'mongodb+srv://x.example.net', n: 3 }),
    );

    expect(credential.extra).toEqual({ connectionString: 'mongodb+srv://x.example.net', n: 3 });
  });

  const invalid: [string, Record<string, unknown> | string, string][] = [
    ['text that is not JSON', 'clientSecret=mdb_sa_sk_leaky', 'SecretString'],
    ['a JSON array', '["mdb_sa_sk_leaky"]', 'SecretString'],
    ['a missing clientId', aCredentialJson({ clientId: undefined }), 'clientId'],
    ['a malformed clientId', aCredentialJson({ clientId: 'mdb_sa_sk_leaky' }), 'clientId'],
    ['an empty clientSecret', aCredentialJson({ clientSecret: '' }), 'clientSecret'],
    ['a clientSecret that is not a string', aCredentialJson({ clientSecret: 42 }), 'clientSecret'],
    ['a malformed orgId', aCredentialJson({ orgId: 'mdb_sa_sk_leaky' }), 'orgId'],
    ['a malformed atlasSecretId', aCredentialJson({ atlasSecretId: 'mdb_sa_sk_leaky' }), 'atlasSecretId'],
  ];

  it.each(invalid)('refuses %s, naming the field and never the value', (_name, json, field) => {
    const error = parseError(json);

    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.message).not.toContain('leaky');
    expect(error.cause).toBeUndefined();
  });

  it('never shows the secret of a value it refuses', () => {
    const error = parseError(aCredentialJson({ orgId: 'nope' }));

    expect(`${error.message} ${inspect(error)}`).not.toContain(CURRENT_SECRET_VALUE);
  });
});

describe('parseAdminCredential', () => {
  it('reads the client id and secret', () => {
    const admin = parseAdminCredential(
      SecretValue.of(JSON.stringify({ clientId: CLIENT_ID, clientSecret: 's3' })),
    );

    expect(admin).toMatchObject({ clientId: CLIENT_ID });
    expect('clientSecret' in admin && admin.clientSecret.reveal()).toBe('s3');
  });

  it('reads a programmatic API key (Cloud Manager / Ops Manager admin)', () => {
    const admin = parseAdminCredential(
      SecretValue.of(
        JSON.stringify({ publicKey: 'abcdefgh', privateKey: 'c0ffee00-0000-4000-8000-000000000001' }),
      ),
    );

    expect(admin).toMatchObject({ publicKey: 'abcdefgh' });
    expect('privateKey' in admin && admin.privateKey.reveal()).toBe('c0ffee00-0000-4000-8000-000000000001');
    expect(JSON.stringify(admin)).not.toContain('c0ffee00');
  });

  it('refuses a malformed API key without echoing it', () => {
    expect(() =>
      parseAdminCredential(
        SecretValue.of(JSON.stringify({ publicKey: 'no spaces allowed', privateKey: 'p' })),
      ),
    ).toThrow(/admin secret publicKey/);
    expect(() => parseAdminCredential(SecretValue.of(JSON.stringify({ publicKey: 'abcdefgh' })))).toThrow(
      /admin secret privateKey/,
    );
  });

  it('names the admin secret in its errors', () => {
    expect(() => parseAdminCredential(SecretValue.of(JSON.stringify({ clientSecret: 's3' })))).toThrow(
      /admin secret clientId/,
    );
  });
});

describe('serializeCredential and rotatedCredential', () => {
  const NEW_ID = '5eed00000000000000000001' as AtlasSecretId;

  it('writes the new secret and keeps account and extra fields', () => {
    const current = parseCredential(aCredentialValue({ connectionString: 'mongodb+srv://x.example.net' }));
    const next = rotatedCredential(current, {
      id: NEW_ID,
      secret: SecretValue.of('mdb_sa_sk_new'),
      expiresAt: '2025-07-02T09:00:00.000Z',
    });

    expect(JSON.parse(serializeCredential(next).reveal())).toEqual({
      connectionString: 'mongodb+srv://x.example.net',
      clientId: CLIENT_ID,
      clientSecret: 'mdb_sa_sk_new',
      orgId: ORG_ID,
      atlasSecretId: NEW_ID,
      atlasSecretExpiresAt: '2025-07-02T09:00:00.000Z',
    });
  });

  it('round-trips through parseCredential', () => {
    const credential = parseCredential(aCredentialValue({ extraField: { nested: true } }));

    const again = parseCredential(serializeCredential(credential));

    expect({ ...again, clientSecret: again.clientSecret.reveal() }).toEqual({
      ...credential,
      clientSecret: credential.clientSecret.reveal(),
    });
  });

  it('lets no field it does not own override the ones it owns', () => {
    const current = parseCredential(aCredentialValue());
    const tampered = { ...current, extra: { clientSecret: 'stale', orgId: 'stale' } };

    expect(JSON.parse(serializeCredential(tampered).reveal())).toMatchObject({
      clientSecret: CURRENT_SECRET_VALUE,
      orgId: ORG_ID,
    });
  });
});
