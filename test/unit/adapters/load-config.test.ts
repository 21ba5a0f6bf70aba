import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/adapters/config/load-config.js';
import { InvalidConfigError } from '../../../src/domain/errors.js';

const BASE = { AWS_REGION: 'eu-west-1' };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return (error as InvalidConfigError).problems;
  }
  throw new Error('expected loadConfig to fail');
}

describe('loadConfig: ATLAS_MAX_RESPONSE_BYTES', () => {
  it('defaults to 1 MiB', () => {
    expect(loadConfig(BASE).atlasMaxResponseBytes).toBe(1_048_576);
  });

  it('takes a whole number of bytes from 16 KiB to 64 MiB', () => {
    expect(loadConfig({ ...BASE, ATLAS_MAX_RESPONSE_BYTES: '16384' }).atlasMaxResponseBytes).toBe(16_384);
    expect(loadConfig({ ...BASE, ATLAS_MAX_RESPONSE_BYTES: ' 67108864 ' }).atlasMaxResponseBytes).toBe(
      67_108_864,
    );
  });

  it('names the key for anything else, beside the other problems', () => {
    for (const raw of ['16383', '67108865', '1MiB', '-1', '2.5']) {
      expect(problemsOf({ ATLAS_MAX_RESPONSE_BYTES: raw })).toEqual([
        `ATLAS_MAX_RESPONSE_BYTES must be a whole number from 16384 to 67108864 (got "${raw}")`,
      ]);
    }
    expect(problemsOf({ ATLAS_MAX_RESPONSE_BYTES: 'big', ATLAS_MAX_ATTEMPTS: '0' })).toHaveLength(2);
  });
});
