import { describe, expect, it } from 'vitest';
import { secretKey } from '../../../src/domain/secret-key.js';

describe('secretKey', () => {
  it('gives a secret the same key by name and by ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/atlas/reporting-sa-dPvYHg';
    expect(secretKey(arn)).toBe('prod/atlas/reporting-sa');
    expect(secretKey('prod/atlas/reporting-sa')).toBe('prod/atlas/reporting-sa');
  });

  it('keeps other partitions and names that contain hyphens', () => {
    expect(secretKey('arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:team-a/db-user-AbC123')).toBe(
      'team-a/db-user',
    );
    expect(secretKey('team-a/db-user')).toBe('team-a/db-user');
  });

  it('keeps different secrets apart', () => {
    expect(secretKey('team-a/sa')).not.toBe(secretKey('team-b/sa'));
    expect(secretKey('arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-a/sa-AAAAAA')).not.toBe(
      secretKey('arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-b/sa-AAAAAA'),
    );
  });
});
