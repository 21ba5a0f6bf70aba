import { InvalidConfigError } from '../../domain/errors.js';
import { MAX_SECRET_HOURS, MIN_SECRET_HOURS } from '../../domain/room-plan.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Everything the service reads from its environment: names and ARNs, never a secret value. */
export interface Config {
  readonly awsRegion: string;
  readonly awsEndpointUrl: string | undefined;
  readonly atlasBaseUrl: string;
  readonly atlasAllowInsecureHttp: boolean;
  /** Origins a secret's `atlas-rotator:apiBaseUrl` may name. */
  readonly atlasAllowedBaseUrls: readonly string[];
  readonly atlasRequestTimeoutMs: number;
  /** How long one Secrets Manager request may go without an answer before it is abandoned (and retried). */
  readonly secretsManagerTimeoutMs: number;
  readonly atlasMaxAttempts: number;
  /** Connections per Atlas origin (ATLAS_MAX_CONNECTIONS). */
  readonly atlasMaxConnections: number;
  /** The largest Atlas response body read, in bytes; a longer one fails the call (ATLAS_UNEXPECTED_RESPONSE). */
  readonly atlasMaxResponseBytes: number;
  readonly secretExpiresAfterHours: number;
  readonly adminSecretArns: readonly string[];
  readonly deleteUnknownSecrets: boolean;
  readonly rotationLeaseSeconds: number;
  /** Least time between completed rotations of one secret; 0 turns the limit off. */
  readonly rotationMinIntervalMinutes: number;
  /** OLD_SECRET_GRACE_HOURS: how long the replaced Atlas secret stays valid after a promotion (ADR 0009). */
  readonly oldSecretGraceHours: number;
  readonly verifyRetryDelaysMs: readonly number[];
  readonly logLevel: LogLevel;
  /**
   * OpenTelemetry tracing: off unless ATLAS_ROTATOR_TRACING=on or an OTLP endpoint is configured
   * (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces); ATLAS_ROTATOR_TRACING=off
   * wins over both.
   */
  readonly tracing:
    | { readonly enabled: false }
    | { readonly enabled: true; readonly endpoint: string | undefined; readonly serviceName: string };
  /** The request queue; required by `worker` only. */
  readonly rotationQueueUrl: string | undefined;
  readonly maxConcurrency: number;
  /** Rotations reading their secret at once per process; the others wait in arrival order. */
  readonly readConcurrency: number;
  readonly eventBusName: string;
  readonly eventSource: string;
  readonly visibilityTimeoutSeconds: number;
  readonly waitTimeSeconds: number;
  readonly retryBackoffBaseSeconds: number;
  readonly retryBackoffMaxSeconds: number;
  readonly shutdownGraceSeconds: number;
  /** Overrides the queue's redrive maxReceiveCount (when the service may not read queue attributes). */
  readonly maxReceiveCount: number | undefined;
  /** `sweep`: a secret whose Atlas secret expires within this many hours is rotated. */
  readonly rotateBeforeExpiryHours: number;
  /** `sweep`: secrets looked at (or rotated, with --now) at once. */
  readonly sweepConcurrency: number;
  /** `sweep`: only secrets whose name starts with this (a `--prefix` argument overrides it). */
  readonly sweepNamePrefix: string | undefined;
  /** Where EMF metric documents go: `stdout` (Lambda's default), `stderr` (elsewhere), `off`, or a UDP agent. */
  readonly metricsSink: MetricsSink;
  readonly metricsNamespace: string;
  /** The `Service` dimension on every metric: one deployment's name. */
  readonly metricsService: string;
}

export type MetricsSink =
  | { readonly kind: 'stdout' | 'stderr' | 'off' }
  | { readonly kind: 'udp'; readonly host: string; readonly port: number };

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Validates the environment and returns a frozen config. Throws one `InvalidConfigError` that names every
 * missing or invalid key. Pure: the entry point passes `process.env`.
 */
/** Lambda's application log levels (advanced logging controls) as ours: TRACE is our debug, FATAL our error. */
const LAMBDA_LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  TRACE: 'debug',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
  FATAL: 'error',
};

export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const text = (key: string, fallback: string) => {
    const raw = env[key]?.trim();
    return raw === undefined || raw === '' ? fallback : raw;
  };
  const integer = (key: string, fallback: number, min: number, max: number) => {
    const raw = text(key, String(fallback));
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${key} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const bool = (key: string, fallback: boolean) => {
    const raw = text(key, String(fallback)).toLowerCase();
    if (raw !== 'true' && raw !== 'false') {
      problems.push(`${key} must be true or false (got "${raw}")`);
      return fallback;
    }
    return raw === 'true';
  };

  const awsRegion = text('AWS_REGION', text('AWS_DEFAULT_REGION', ''));
  if (awsRegion === '') problems.push('AWS_REGION is required (for example eu-west-1)');
  else if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(awsRegion))
    problems.push(`AWS_REGION "${awsRegion}" is not a region`);

  const awsEndpointUrl = env.AWS_ENDPOINT_URL?.trim() || undefined;
  if (awsEndpointUrl !== undefined && !URL.canParse(awsEndpointUrl)) {
    problems.push('AWS_ENDPOINT_URL must be a URL');
  }

  const atlasAllowInsecureHttp = bool('ATLAS_ALLOW_INSECURE_HTTP', false);
  const atlasBaseUrl = text('ATLAS_BASE_URL', 'https://cloud.mongodb.com').replace(/\/+$/, '');
  if (!URL.canParse(atlasBaseUrl)) {
    problems.push('ATLAS_BASE_URL must be a URL such as https://cloud.mongodb.com');
  } else {
    const url = new URL(atlasBaseUrl);
    if (url.protocol === 'http:' && !atlasAllowInsecureHttp) {
      problems.push(
        'ATLAS_BASE_URL uses http://; set ATLAS_ALLOW_INSECURE_HTTP=true to allow it (tests only)',
      );
    } else if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      problems.push('ATLAS_BASE_URL must use https://');
    }
    if (url.pathname !== '/' || url.search !== '' || url.username !== '') {
      problems.push('ATLAS_BASE_URL must be an origin only (scheme, host and port)');
    }
  }

  const atlasAllowedBaseUrls = text('ATLAS_ALLOWED_BASE_URLS', 'https://cloud.mongodb.com')
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter((s) => s !== '');
  for (const origin of atlasAllowedBaseUrls) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      problems.push(
        `ATLAS_ALLOWED_BASE_URLS entry "${origin}" must be an origin such as https://cloud.mongodb.com`,
      );
    }
  }

  const adminSecretArns = text('ADMIN_SECRET_ARNS', '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const arn of adminSecretArns) {
    if (!/^arn:aws[a-z-]*:secretsmanager:/.test(arn)) {
      problems.push(
        `ADMIN_SECRET_ARNS entry "${arn}" is not a Secrets Manager ARN (a trailing * matches a prefix)`,
      );
    }
  }

  const delays = text('VERIFY_RETRY_DELAYS_MS', '500,1000,2000,4000')
    .split(',')
    .map((s) => s.trim());
  const verifyRetryDelaysMs = delays.map(Number);
  if (
    delays.some((d) => !/^\d+$/.test(d)) ||
    verifyRetryDelaysMs.some((d) => d > 60_000) ||
    delays.length > 10
  ) {
    problems.push(
      'VERIFY_RETRY_DELAYS_MS must be up to 10 comma-separated delays in milliseconds, each at most 60000',
    );
  }

  let logLevel = text('LOG_LEVEL', 'info').toLowerCase();
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be debug, info, warn, error or silent (got "${logLevel}")`);
  }
  // Lambda's advanced logging controls set AWS_LAMBDA_LOG_LEVEL (JSON log format) and drop lines below it: it
  // decides over LOG_LEVEL, so that the function's configuration is the one place the level is set.
  const lambdaLogLevel = env.AWS_LAMBDA_LOG_LEVEL?.trim().toUpperCase() || undefined;
  if (lambdaLogLevel !== undefined) {
    const mapped = LAMBDA_LOG_LEVELS[lambdaLogLevel];
    if (mapped === undefined) {
      problems.push(
        `AWS_LAMBDA_LOG_LEVEL must be TRACE, DEBUG, INFO, WARN, ERROR or FATAL (got "${lambdaLogLevel}")`,
      );
    } else logLevel = mapped;
  }

  const tracingSwitch = env.ATLAS_ROTATOR_TRACING?.trim().toLowerCase() || undefined;
  if (tracingSwitch !== undefined && tracingSwitch !== 'on' && tracingSwitch !== 'off') {
    problems.push(`ATLAS_ROTATOR_TRACING must be on or off (got "${tracingSwitch}")`);
  }
  const otlpBase = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
  const otlpEndpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
    (otlpBase === undefined ? undefined : `${otlpBase.replace(/\/+$/, '')}/v1/traces`);
  if (otlpEndpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(otlpEndpoint)) {
    problems.push('OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be http(s) URLs');
  }
  const tracing: Config['tracing'] =
    tracingSwitch === 'off' || (tracingSwitch !== 'on' && otlpEndpoint === undefined)
      ? { enabled: false }
      : {
          enabled: true,
          endpoint: otlpEndpoint,
          serviceName: env.OTEL_SERVICE_NAME?.trim() || 'atlas-rotator',
        };

  const rotationQueueUrl = env.ROTATION_QUEUE_URL?.trim() || undefined;
  if (rotationQueueUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(rotationQueueUrl)) {
    problems.push('ROTATION_QUEUE_URL must be an SQS queue URL');
  }
  const eventBusName = text('EVENT_BUS_NAME', 'default');
  if (!/^[A-Za-z0-9._\-/:]{1,1600}$/.test(eventBusName)) {
    problems.push('EVENT_BUS_NAME must be an event bus name or ARN');
  }
  const eventSource = text('EVENT_SOURCE', 'atlas-rotator');
  if (!/^[A-Za-z0-9._-]{1,256}$/.test(eventSource) || eventSource.startsWith('aws.')) {
    problems.push('EVENT_SOURCE must be 1-256 letters, digits, . _ - and must not start with "aws."');
  }

  // A day by default: above AWS's caching clients (1 h), warm Lambda containers and connection pools, and a daily
  // job's run; 0 retires at the promotion. Up to a year is accepted; Atlas's seven-day cut caps it.
  let oldSecretGraceHours = 24;
  const graceRaw = env.OLD_SECRET_GRACE_HOURS?.trim();
  if (graceRaw) {
    const hours = /^\d+(\.\d+)?$/.test(graceRaw) ? Number(graceRaw) : Number.NaN;
    if (Number.isNaN(hours) || hours > 8766) {
      problems.push(
        `OLD_SECRET_GRACE_HOURS must be a decimal number of hours from 0 to 8766 (got "${graceRaw}")`,
      );
    } else {
      oldSecretGraceHours = hours;
    }
  }

  const sweepNamePrefix = env.SWEEP_NAME_PREFIX?.trim() || undefined;
  if (sweepNamePrefix !== undefined && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(sweepNamePrefix)) {
    problems.push('SWEEP_NAME_PREFIX must be the start of a secret name (letters, digits and / _ + = . @ -)');
  }

  // In Lambda stdout is the log stream CloudWatch extracts EMF from; elsewhere stdout is the CLI's JSON outcome.
  const sinkText = text('METRICS_SINK', env.AWS_LAMBDA_FUNCTION_NAME ? 'stdout' : 'stderr');
  const udp = /^udp:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(sinkText);
  let metricsSink: MetricsSink = { kind: 'off' };
  if (sinkText === 'stdout' || sinkText === 'stderr' || sinkText === 'off') metricsSink = { kind: sinkText };
  else if (udp !== null && Number(udp[2]) >= 1 && Number(udp[2]) <= 65_535) {
    metricsSink = { kind: 'udp', host: (udp[1] as string).replace(/^\[|\]$/g, ''), port: Number(udp[2]) };
  } else {
    problems.push(`METRICS_SINK must be stdout, stderr, off or udp://host:port (got "${sinkText}")`);
  }
  const metricsNamespace = text('METRICS_NAMESPACE', 'AtlasRotator');
  if (!/^[A-Za-z0-9.\-_/#:]{1,255}$/.test(metricsNamespace) || metricsNamespace.startsWith('AWS/')) {
    problems.push(
      'METRICS_NAMESPACE must be 1-255 letters, digits and . - _ / # : and must not start with "AWS/"',
    );
  }
  const metricsService = text('METRICS_SERVICE', 'atlas-rotator');
  if (!/^[A-Za-z0-9._\-/:]{1,255}$/.test(metricsService)) {
    problems.push('METRICS_SERVICE must be 1-255 letters, digits and . _ - / :');
  }

  const config: Config = {
    awsRegion,
    awsEndpointUrl,
    atlasBaseUrl,
    atlasAllowInsecureHttp,
    atlasAllowedBaseUrls,
    atlasRequestTimeoutMs: integer('ATLAS_REQUEST_TIMEOUT_MS', 10_000, 100, 120_000),
    secretsManagerTimeoutMs: integer('SECRETS_MANAGER_TIMEOUT_MS', 10_000, 100, 120_000),
    atlasMaxAttempts: integer('ATLAS_MAX_ATTEMPTS', 4, 1, 10),
    atlasMaxConnections: integer('ATLAS_MAX_CONNECTIONS', 64, 1, 1024),
    // 1 MiB by default; at least 16 KiB (an Atlas error or a page of secrets), at most 64 MiB.
    atlasMaxResponseBytes: integer('ATLAS_MAX_RESPONSE_BYTES', 1_048_576, 16_384, 67_108_864),
    secretExpiresAfterHours: integer('SECRET_EXPIRES_AFTER_HOURS', 2160, MIN_SECRET_HOURS, MAX_SECRET_HOURS),
    adminSecretArns,
    deleteUnknownSecrets: bool('ATLAS_DELETE_UNKNOWN_SECRETS', false),
    rotationLeaseSeconds: integer('ROTATION_LEASE_SECONDS', 900, 30, 86_400),
    // An hour by default: above any retry or schedule of one request, below any sane rotation period; up to 30 days.
    rotationMinIntervalMinutes: integer('ROTATION_MIN_INTERVAL_MINUTES', 60, 0, 43_200),
    oldSecretGraceHours,
    verifyRetryDelaysMs,
    logLevel: logLevel as LogLevel,
    tracing,
    rotationQueueUrl,
    maxConcurrency: integer('MAX_CONCURRENCY', 4, 1, 64),
    readConcurrency: integer('READ_CONCURRENCY', 8, 1, 256),
    eventBusName,
    eventSource,
    visibilityTimeoutSeconds: integer('VISIBILITY_TIMEOUT_SECONDS', 120, 5, 43_200),
    waitTimeSeconds: integer('WAIT_TIME_SECONDS', 20, 0, 20),
    retryBackoffBaseSeconds: integer('RETRY_BACKOFF_BASE_SECONDS', 30, 1, 3_600),
    retryBackoffMaxSeconds: integer('RETRY_BACKOFF_MAX_SECONDS', 900, 1, 43_200),
    shutdownGraceSeconds: integer('SHUTDOWN_GRACE_SECONDS', 30, 0, 900),
    maxReceiveCount: env.MAX_RECEIVE_COUNT?.trim() ? integer('MAX_RECEIVE_COUNT', 1, 1, 1_000) : undefined,
    rotateBeforeExpiryHours: integer('ROTATE_BEFORE_EXPIRY_HOURS', 336, 1, MAX_SECRET_HOURS),
    sweepConcurrency: integer('SWEEP_CONCURRENCY', 4, 1, 32),
    sweepNamePrefix,
    metricsSink,
    metricsNamespace,
    metricsService,
  };
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return Object.freeze(config);
}
