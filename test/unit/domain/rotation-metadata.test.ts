import { describe, expect, it } from 'vitest';
import { InvalidRotationMetadataError } from '../../../src/domain/errors.js';
import { DEFAULT_API_VERSION } from '../../../src/domain/identifiers.js';
import {
  isAllowedAdminSecret,
  isManaged,
  rotationMetadataFrom,
  TAG_ADMIN_SECRET_ARN,
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
    });
  });

  it('reads admin mode and the API version from tags', () => {
    const tags = { [TAG_ADMIN_SECRET_ARN]: ADMIN_SECRET_ARN, [TAG_API_VERSION]: '2024-08-05' };

    expect(rotationMetadataFrom(tags, undefined)).toEqual({
      mode: 'admin',
      adminSecretArn: ADMIN_SECRET_ARN,
      apiVersion: '2024-08-05',
    });
  });

  it('prefers ExternalSecretRotationMetadata over tags', () => {
    const tags = { [TAG_ADMIN_SECRET_ARN]: ADMIN_SECRET_ARN, [TAG_API_VERSION]: '2024-08-05' };

    expect(rotationMetadataFrom(tags, { adminSecretArn: OTHER_ADMIN_ARN, apiVersion: '2025-03-12' })).toEqual(
      {
        mode: 'admin',
        adminSecretArn: OTHER_ADMIN_ARN,
        apiVersion: '2025-03-12',
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
