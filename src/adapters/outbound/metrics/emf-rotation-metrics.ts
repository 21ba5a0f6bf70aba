import type {
  ExpiryObservation,
  RotationDimensions,
  RotationMetrics,
  SweepMetrics,
} from '../../../application/ports/rotation-metrics.js';
import { hoursToExpiry } from '../../../domain/expiry-check.js';
import type { RotationStepOutcome } from '../../../domain/rotation-outcome.js';
import type { AtlasCallObserver } from '../atlas/atlas-admin-api-client.js';
import { redact } from '../system/json-logger.js';

/** The CloudWatch units this writer uses (a subset of the EMF spec's). */
export type EmfUnit = 'Count' | 'Milliseconds' | 'None';

/** An EMF document: `_aws` metadata, then dimension values, metric values and properties at the top level. */
export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: EmfUnit }[];
    }[];
  };
  readonly [member: string]: unknown;
}

export interface EmfRotationMetricsOptions {
  /** CloudWatch namespace, METRICS_NAMESPACE. */
  readonly namespace: string;
  /** The `Service` dimension on every metric (one deployment's name), METRICS_SERVICE. */
  readonly service: string;
  /** Where each document goes, one JSON line each (stdout in Lambda, stderr elsewhere, or the agent). */
  readonly write: (line: string) => void;
  readonly now: () => Date;
}

/** EMF's limits: dimensions per set, metrics per directive. */
export const EMF_MAX_DIMENSIONS = 30;
export const EMF_MAX_METRICS = 100;

const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Error codes are literals of the code base; anything else (never expected) is one bucket, not a new series. */
function errorCodeDimension(code: string): string {
  return ERROR_CODE.test(code) ? code : 'OTHER';
}

/**
 * Writes CloudWatch Embedded Metric Format documents (ADR 0012): one per rotation run that completed or failed,
 * one per secret a sweep looked at, one per sweep, and the Atlas call counters since the last document. Every
 * dimension has a bounded set of values (Service, Mode, Flavour, ErrorCode); ids are properties, never
 * dimensions. Strings are passed through the log redaction too: no document carries a secret, even by mistake.
 */
export class EmfRotationMetrics implements RotationMetrics, AtlasCallObserver {
  readonly #options: EmfRotationMetricsOptions;
  #atlasCalls = 0;
  #atlasRetries = 0;
  #rateLimitWaits = 0;
  #rateLimitWaitMs = 0;

  constructor(options: EmfRotationMetricsOptions) {
    this.#options = options;
  }

  rotationRan(outcome: RotationStepOutcome, dimensions: RotationDimensions): void {
    const dims = { Mode: dimensions.mode, Flavour: dimensions.flavour };
    if (outcome.status === 'completed') {
      const expiresIn =
        outcome.newSecretExpiresAt === undefined
          ? undefined
          : hoursToExpiry(outcome.newSecretExpiresAt, this.#options.now().getTime());
      this.#emit(
        [[], ['Mode', 'Flavour']],
        dims,
        [
          ['RotationsCompleted', 'Count', outcome.alreadyCompleted ? 0 : 1],
          ['RotationsAlreadyCompleted', 'Count', outcome.alreadyCompleted ? 1 : 0],
          ['RotationDuration', 'Milliseconds', durationMs(outcome.startedAt, outcome.completedAt)],
          ...(expiresIn === undefined ? [] : [['HoursToExpiry', 'None', expiresIn] as const]),
        ],
        {
          secretArn: outcome.secretArn,
          rotationId: outcome.rotationId,
          ...(expiresIn === undefined ? {} : { expirySource: 'rotation' }),
        },
      );
    } else if (outcome.status === 'failed') {
      this.#emit(
        [[], ['ErrorCode'], ['Mode', 'Flavour']],
        { ...dims, ErrorCode: errorCodeDimension(outcome.errorCode) },
        [
          ['RotationsFailed', 'Count', 1],
          ['RotationDuration', 'Milliseconds', durationMs(outcome.startedAt, outcome.failedAt)],
        ],
        {
          secretId: outcome.secretId,
          ...(outcome.secretArn === undefined ? {} : { secretArn: outcome.secretArn }),
          ...(outcome.rotationId === undefined ? {} : { rotationId: outcome.rotationId }),
          stage: outcome.stage,
          retryable: outcome.retryable,
        },
      );
    } else {
      // Paused at a durable point (the rotation function's step): no outcome yet, only the Atlas counters.
      this.flush();
    }
  }

  secretExpiry(observation: ExpiryObservation): void {
    this.#emit(
      [[]],
      {},
      [
        ['HoursToExpiry', 'None', observation.hoursToExpiry],
        ...(observation.oldSecretsAwaitingRetirement === undefined
          ? []
          : [['OldSecretsAwaitingRetirement', 'Count', observation.oldSecretsAwaitingRetirement] as const]),
      ],
      { secretArn: observation.secretArn, expirySource: observation.source },
    );
  }

  sweepCompleted(sweep: SweepMetrics): void {
    this.#emit(
      [[]],
      {},
      [
        ['SweepSecrets', 'Count', sweep.secrets],
        ['SweepDue', 'Count', sweep.due],
        ['SweepExpired', 'Count', sweep.expired],
        ['SweepPermanentFailures', 'Count', sweep.permanentFailures],
        ['SweepRetryableFailures', 'Count', sweep.retryableFailures],
        ['SweepDuration', 'Milliseconds', sweep.durationMs],
      ],
      {},
    );
  }

  atlasCall(): void {
    this.#atlasCalls += 1;
  }

  atlasRetry(delayMs: number, rateLimited: boolean): void {
    this.#atlasRetries += 1;
    if (rateLimited) {
      this.#rateLimitWaits += 1;
      this.#rateLimitWaitMs += delayMs;
    }
  }

  /** Writes the Atlas counters gathered since the last flush (nothing when there were no calls). */
  flush(): void {
    if (this.#atlasCalls === 0 && this.#atlasRetries === 0) return;
    const metrics = [
      ['AtlasCalls', 'Count', this.#atlasCalls],
      ['AtlasRetries', 'Count', this.#atlasRetries],
      ['AtlasRateLimitWaits', 'Count', this.#rateLimitWaits],
      ['AtlasRateLimitWaitTime', 'Milliseconds', this.#rateLimitWaitMs],
    ] as const;
    this.#atlasCalls = 0;
    this.#atlasRetries = 0;
    this.#rateLimitWaits = 0;
    this.#rateLimitWaitMs = 0;
    this.#emit([[]], {}, metrics, {}, false);
  }

  /** One document; first the Atlas counters so far, unless it is theirs (they belong to the runs ending here). */
  #emit(
    dimensionSets: readonly (readonly string[])[],
    dimensions: Readonly<Record<string, string>>,
    metrics: readonly (readonly [string, EmfUnit, number])[],
    properties: Readonly<Record<string, string | boolean>>,
    afterCounters = true,
  ): void {
    if (afterCounters) this.flush();
    const scrubbed = Object.fromEntries(
      Object.entries(properties).map(([key, value]) => [
        key,
        typeof value === 'string' ? redact(value) : value,
      ]),
    );
    const document: EmfDocument = {
      _aws: {
        Timestamp: this.#options.now().getTime(),
        CloudWatchMetrics: [
          {
            Namespace: this.#options.namespace,
            Dimensions: dimensionSets.map((set) => ['Service', ...set]),
            Metrics: metrics.map(([Name, Unit]) => ({ Name, Unit })),
          },
        ],
      },
      ...scrubbed,
      Service: this.#options.service,
      ...dimensions,
      ...Object.fromEntries(metrics.map(([name, , value]) => [name, value])),
    };
    try {
      this.#options.write(`${JSON.stringify(document)}\n`);
    } catch {
      // A metric is never a reason to fail a rotation (see RotationMetrics).
    }
  }
}

function durationMs(startedAt: string, endedAt: string): number {
  return Math.max(0, Date.parse(endedAt) - Date.parse(startedAt));
}
