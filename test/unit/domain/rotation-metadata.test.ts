import { describe, expect, it } from 'vitest';
import { AtlasOriginNotAllowedError, InvalidRotationMetadataError } from '../../../src/domain/errors.js';
import { DEFAULT_API_VERSION } from '../../../src/domain/identifiers.js';
import {
  isAllowedAdminSecret,
  isManaged,
  resolveOrigin,
  rotationMetadataFrom,
  TAG_ADMIN_SECRET_ARN,
  TAG_API_BASE_URL,
  TAG_API_FLAVOR,
  TAG_API_VERSION,
  TAG_MANAGED,
} from '../../../src/domain/rotation-metadata.js';
import { ADMIN_SECRET_ARN } from '../../support/builders.js';

const OTHER_ADMIN_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/other-admin-Q1w2E3';

describe('isManaged', () => {
  it.each([
    ['true', true],
    ['TRUE', false],
    ['false', false],
    ['', false],
  ])('reads atlas-rotator:managed=%j as %s', (value, managed) => {
    expect(isManaged({ [TAG_MANAGED]: value })).toBe(managed);
  });

  it('is false without the tag', () => {
    expect(isManaged({})).toBe(false);
  });
});

describe('rotationMetadataFrom', () => {
  it('defaults to self mode and the default API version', () => {
    expect(rotationMetadataFrom({}, undefined)).toEqual({
      mode: 'self',
      adminSecretArn: undefined,
      apiVersion: DEFAULT_API_VERSION,
      apiFlavor: 'atlas',
      apiBaseUrl: undefined,
    });
  });

  it('reads admin mode and the API version from tags', () => {
    const tags = { [TAG_ADMIN_SECRET_ARN]: ADMIN_SECRET_ARN, [TAG_API_VERSION]: '2024-08-05' };

    expect(rotationMetadataFrom(tags, undefined)).toEqual({
      mode: 'admin',
      adminSecretArn: ADMIN_SECRET_ARN,
      apiVersion: '2024-08-05',
      apiFlavor: 'atlas',
      apiBaseUrl: undefined,
    });
  });

  it('prefers ExternalSecretRotationMetadata over tags', () => {
    const tags = { [TAG_ADMIN_SECRET_ARN]: ADMIN_SECRET_ARN, [TAG_API_VERSION]: '2024-08-05' };

    expect(rotationMetadataFrom(tags, { adminSecretArn: OTHER_ADMIN_ARN, apiVersion: '2025-03-12' })).toEqual(
      {
        mode: 'admin',
        adminSecretArn: OTHER_ADMIN_ARN,
        apiVersion: '2025-03-12',
        apiFlavor: 'atlas',
        apiBaseUrl: undefined,
      },
    );
  });

  it('falls back to tags for keys the external metadata lacks', () => {
    const tags = { [TAG_API_VERSION]: '2024-08-05' };

    expect(rotationMetadataFrom(tags, { adminSecretArn: ADMIN_SECRET_ARN }).apiVersion).toBe('2024-08-05');
  });

  it('treats an empty admin secret tag as self mode', () => {
    expect(rotationMetadataFrom({ [TAG_ADMIN_SECRET_ARN]: '' }, undefined).mode).toBe('self');
  });

  it.each([
    [
      'an admin secret that is not a Secrets Manager ARN',
      { [TAG_ADMIN_SECRET_ARN]: 'atlas/admin' },
      'adminSecretArn',
    ],
    ['an API version that is not a date', { [TAG_API_VERSION]: 'latest' }, 'apiVersion'],
    ['an API version that is no real date', { [TAG_API_VERSION]: '2025-13-45' }, 'apiVersion'],
  ])('refuses %s', (_name, tags, field) => {
    expect(() => rotationMetadataFrom(tags, undefined)).toThrow(InvalidRotationMetadataError);
    expect(() => rotationMetadataFrom(tags, undefined)).toThrow(field);
  });
});

describe('isAllowedAdminSecret', () => {
  it.each([
    ['an exact entry', [ADMIN_SECRET_ARN], true],
    ['a prefix entry ending in *', ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/*'], true],
    ['a bare *', ['*'], true],
    [
      'an entry that is only a prefix without *',
      ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/'],
      false,
    ],
    ['a prefix of another account', ['arn:aws:secretsmanager:eu-west-1:999999999999:secret:*'], false],
    ['an empty list', [], false],
  ])('matches %s: %s', (_name, allowList, allowed) => {
    expect(isAllowedAdminSecret(ADMIN_SECRET_ARN, allowList)).toBe(allowed);
  });
});

describe('API flavour and origin', () => {
  const policy = {
    defaultBaseUrl: 'https://cloud.mongodb.com',
    allowedBaseUrls: ['https://cloud.mongodb.com', 'https://opsmanager.example.internal:8443'],
    allowInsecureHttp: false,
  };

  it('reads the flavour and a canonical origin from tags', () => {
    const metadata = rotationMetadataFrom(
      { [TAG_API_FLAVOR]: 'cloud-manager', [TAG_API_BASE_URL]: 'HTTPS://OpsManager.example.internal:8443/' },
      undefined,
    );
    expect(metadata).toMatchObject({
      apiFlavor: 'cloud-manager',
      apiBaseUrl: 'https://opsmanager.example.internal:8443',
    });
  });

  it.each([
    ['an unknown flavour', { [TAG_API_FLAVOR]: 'ops' }, 'apiFlavor'],
    ['a URL with a path', { [TAG_API_BASE_URL]: 'https://cloud.mongodb.com/api' }, 'apiBaseUrl'],
    ['a non-http scheme', { [TAG_API_BASE_URL]: 'ftp://cloud.mongodb.com' }, 'apiBaseUrl'],
    ['credentials in the URL', { [TAG_API_BASE_URL]: 'https://u:p@cloud.mongodb.com' }, 'apiBaseUrl'],
  ])('refuses %s', (_name, tags, field) => {
    expect(() => rotationMetadataFrom(tags, undefined)).toThrow(InvalidRotationMetadataError);
    expect(() => rotationMetadataFrom(tags, undefined)).toThrow(field);
  });

  it('uses the configured default when the secret names no origin', () => {
    expect(resolveOrigin({ apiBaseUrl: undefined }, policy)).toBe('https://cloud.mongodb.com');
  });

  it('uses an allow-listed origin the secret names', () => {
    expect(resolveOrigin({ apiBaseUrl: 'https://opsmanager.example.internal:8443' }, policy)).toBe(
      'https://opsmanager.example.internal:8443',
    );
  });

  it('never sends credentials to an origin that is not allow-listed', () => {
    expect(() => resolveOrigin({ apiBaseUrl: 'https://attacker.example' }, policy)).toThrow(
      AtlasOriginNotAllowedError,
    );
  });

  it('refuses an allow-listed http origin unless insecure http is allowed', () => {
    const http = { ...policy, allowedBaseUrls: ['http://127.0.0.1:8080'] };
    expect(() => resolveOrigin({ apiBaseUrl: 'http://127.0.0.1:8080' }, http)).toThrow(/plain http/);
    expect(resolveOrigin({ apiBaseUrl: 'http://127.0.0.1:8080' }, { ...http, allowInsecureHttp: true })).toBe(
      'http://127.0.0.1:8080',
    );
  });
});
