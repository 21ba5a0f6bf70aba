import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/adapters/config/load-config.js';
import { InvalidConfigError } from '../../../src/domain/errors.js';

const base = { AWS_REGION: 'eu-west-1' };

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof InvalidConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig: sweep keys', () => {
  it('defaults to rotating 14 days (336 h) before expiry, 4 secrets at once, no prefix', () => {
    expect(loadConfig(base)).toMatchObject({
      rotateBeforeExpiryHours: 336,
      sweepConcurrency: 4,
      sweepNamePrefix: undefined,
    });
  });

  it('reads them', () => {
    expect(
      loadConfig({
        ...base,
        ROTATE_BEFORE_EXPIRY_HOURS: '72',
        SWEEP_CONCURRENCY: '8',
        SWEEP_NAME_PREFIX: 'prod/atlas/',
      }),
    ).toMatchObject({ rotateBeforeExpiryHours: 72, sweepConcurrency: 8, sweepNamePrefix: 'prod/atlas/' });
  });

  it('names every invalid sweep key at once', () => {
    const problems = problemsOf({
      ROTATE_BEFORE_EXPIRY_HOURS: '0',
      SWEEP_CONCURRENCY: '100',
      SWEEP_NAME_PREFIX: 'has space',
    });
    expect(problems).toHaveLength(3);
    expect(
      problems.some((p) => /^ROTATE_BEFORE_EXPIRY_HOURS must be a whole number from 1 to 8766/.test(p)),
    ).toBe(true);
    expect(problems.some((p) => p.startsWith('SWEEP_CONCURRENCY must be a whole number from 1 to 32'))).toBe(
      true,
    );
    expect(problems.some((p) => p.startsWith('SWEEP_NAME_PREFIX'))).toBe(true);
  });

  it('refuses a window that is not a whole number of hours', () => {
    expect(problemsOf({ ROTATE_BEFORE_EXPIRY_HOURS: '14d' })).toEqual([
      'ROTATE_BEFORE_EXPIRY_HOURS must be a whole number from 1 to 8766 (got "14d")',
    ]);
    expect(problemsOf({ ROTATE_BEFORE_EXPIRY_HOURS: '8767' })).toHaveLength(1);
  });
});
