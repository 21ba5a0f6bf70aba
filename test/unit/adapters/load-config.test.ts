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

describe('loadConfig: sweep keys', () => {
  it('READ_CONCURRENCY: 8 secret reads at once by default, 1 to 256', () => {
    expect(loadConfig(BASE).readConcurrency).toBe(8);
    expect(loadConfig({ ...BASE, READ_CONCURRENCY: '64' }).readConcurrency).toBe(64);
    for (const bad of ['0', '257', '2.5', 'many']) {
      expect(
        problemsOf({ READ_CONCURRENCY: bad }).some((p) =>
          p.startsWith('READ_CONCURRENCY must be a whole number from 1 to 256'),
        ),
      ).toBe(true);
    }
  });

  it('defaults to rotating 14 days (336 h) before expiry, 4 secrets at once, no prefix', () => {
    expect(loadConfig(BASE)).toMatchObject({
      rotateBeforeExpiryHours: 336,
      sweepConcurrency: 4,
      sweepNamePrefix: undefined,
    });
  });

  it('reads them', () => {
    expect(
      loadConfig({
        ...BASE,
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

describe('loadConfig: ROTATION_MIN_INTERVAL_MINUTES', () => {
  it('defaults to an hour, and 0 turns the limit off', () => {
    expect(loadConfig(BASE).rotationMinIntervalMinutes).toBe(60);
    expect(loadConfig({ ...BASE, ROTATION_MIN_INTERVAL_MINUTES: '0' }).rotationMinIntervalMinutes).toBe(0);
    expect(loadConfig({ ...BASE, ROTATION_MIN_INTERVAL_MINUTES: '43200' }).rotationMinIntervalMinutes).toBe(
      43_200,
    );
  });

  it('names the key for anything else', () => {
    for (const raw of ['-1', '43201', '1h']) {
      expect(problemsOf({ ROTATION_MIN_INTERVAL_MINUTES: raw })).toEqual([
        `ROTATION_MIN_INTERVAL_MINUTES must be a whole number from 0 to 43200 (got "${raw}")`,
      ]);
    }
  });
});

describe('loadConfig: AWS_LAMBDA_LOG_LEVEL (Lambda advanced logging controls)', () => {
  it('decides the level over LOG_LEVEL, TRACE as debug and FATAL as error', () => {
    const levelOf = (env: Record<string, string>) => loadConfig({ ...BASE, ...env }).logLevel;
    expect(levelOf({})).toBe('info');
    expect(levelOf({ LOG_LEVEL: 'warn' })).toBe('warn');
    expect(levelOf({ LOG_LEVEL: 'error', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(levelOf({ LOG_LEVEL: 'debug', AWS_LAMBDA_LOG_LEVEL: 'WARN' })).toBe('warn');
    expect(levelOf({ AWS_LAMBDA_LOG_LEVEL: 'TRACE' })).toBe('debug');
    expect(levelOf({ AWS_LAMBDA_LOG_LEVEL: 'INFO' })).toBe('info');
    expect(levelOf({ AWS_LAMBDA_LOG_LEVEL: 'ERROR' })).toBe('error');
    expect(levelOf({ AWS_LAMBDA_LOG_LEVEL: 'fatal' })).toBe('error');
    expect(levelOf({ LOG_LEVEL: 'debug', AWS_LAMBDA_LOG_LEVEL: '' })).toBe('debug');
  });

  it('names the key for a level Lambda does not have', () => {
    expect(problemsOf({ AWS_LAMBDA_LOG_LEVEL: 'VERBOSE' })).toEqual([
      'AWS_LAMBDA_LOG_LEVEL must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL (got "VERBOSE")',
    ]);
  });
});

describe('loadConfig: tracing', () => {
  it('is off unless ATLAS_ROTATOR_TRACING=on or an OTLP endpoint is set; off wins', () => {
    const tracingOf = (env: Record<string, string>) => loadConfig({ ...BASE, ...env }).tracing;
    expect(tracingOf({})).toEqual({ enabled: false });
    expect(tracingOf({ ATLAS_ROTATOR_TRACING: 'on' })).toEqual({
      enabled: true,
      endpoint: undefined,
      serviceName: 'atlas-rotator',
    });
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      enabled: true,
      endpoint: 'http://collector:4318/v1/traces',
      serviceName: 'atlas-rotator',
    });
    expect(
      tracingOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/v1/traces',
        OTEL_SERVICE_NAME: 'rotator-eu',
      }),
    ).toEqual({ enabled: true, endpoint: 'https://traces.example/v1/traces', serviceName: 'rotator-eu' });
    expect(
      tracingOf({ ATLAS_ROTATOR_TRACING: 'OFF', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }),
    ).toEqual({ enabled: false });
  });

  it('names the keys for a switch or an endpoint it cannot use', () => {
    expect(problemsOf({ ATLAS_ROTATOR_TRACING: 'yes' })).toEqual([
      'ATLAS_ROTATOR_TRACING must be on or off (got "yes")',
    ]);
    expect(problemsOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' })).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be http(s) URLs',
    ]);
  });
});

describe('loadConfig: metrics keys', () => {
  it('sends EMF to stdout in Lambda and to stderr elsewhere (stdout is the CLI outcome), namespace AtlasRotator', () => {
    expect(loadConfig(BASE).metricsSink).toEqual({ kind: 'stderr' });
    expect(loadConfig({ ...BASE, AWS_LAMBDA_FUNCTION_NAME: 'worker' }).metricsSink).toEqual({
      kind: 'stdout',
    });
    expect(loadConfig(BASE)).toMatchObject({
      metricsNamespace: 'AtlasRotator',
      metricsService: 'atlas-rotator',
    });
  });

  it('reads a sink, a namespace and a service', () => {
    const config = loadConfig({
      ...BASE,
      METRICS_SINK: 'udp://127.0.0.1:25888',
      METRICS_NAMESPACE: 'Team/Rotator',
      METRICS_SERVICE: 'prod-rotator',
    });
    expect(config).toMatchObject({
      metricsSink: { kind: 'udp', host: '127.0.0.1', port: 25888 },
      metricsNamespace: 'Team/Rotator',
      metricsService: 'prod-rotator',
    });
    expect(loadConfig({ ...BASE, METRICS_SINK: 'off' }).metricsSink).toEqual({ kind: 'off' });
    expect(loadConfig({ ...BASE, METRICS_SINK: 'udp://[::1]:25888' }).metricsSink).toEqual({
      kind: 'udp',
      host: '::1',
      port: 25888,
    });
  });

  it('names every invalid metrics key at once', () => {
    const problems = problemsOf({
      METRICS_SINK: 'tcp://agent:25888',
      METRICS_NAMESPACE: 'AWS/Lambda',
      METRICS_SERVICE: 'has spaces',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^METRICS_SINK must be/),
        expect.stringMatching(/^METRICS_NAMESPACE must/),
        expect.stringMatching(/^METRICS_SERVICE must/),
      ]),
    );
    expect(problemsOf({ METRICS_SINK: 'udp://agent:70000' })).toEqual([
      expect.stringMatching(/^METRICS_SINK/),
    ]);
  });
});

describe('loadConfig: OLD_SECRET_GRACE_HOURS', () => {
  it('defaults to a day; decimal hours; 0 retires at the promotion', () => {
    expect(loadConfig(BASE).oldSecretGraceHours).toBe(24);
    expect(loadConfig({ ...BASE, OLD_SECRET_GRACE_HOURS: '0' }).oldSecretGraceHours).toBe(0);
    expect(loadConfig({ ...BASE, OLD_SECRET_GRACE_HOURS: '1.5' }).oldSecretGraceHours).toBe(1.5);
  });

  it('names the key for anything else', () => {
    for (const raw of ['-1', '8767', '1h', 'soon']) {
      expect(problemsOf({ OLD_SECRET_GRACE_HOURS: raw })).toEqual([
        `OLD_SECRET_GRACE_HOURS must be a decimal number of hours from 0 to 8766 (got "${raw}")`,
      ]);
    }
  });
});
