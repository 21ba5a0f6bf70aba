import type { SpanExporter } from '@opentelemetry/sdk-trace';
import 'reflect-metadata';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Container, ContainerModule } from 'inversify';
import { HandleRotationRequest } from '../../application/handle-rotation-request.js';
import { KeyedSerializer } from '../../application/keyed-serializer.js';
import { PlanRotation } from '../../application/plan-rotation.js';
import type { AtlasServiceAccounts } from '../../application/ports/atlas-service-accounts.js';
import type { Clock } from '../../application/ports/clock.js';
import type { LogFields, Logger } from '../../application/ports/logger.js';
import type { RotationEventPublisher } from '../../application/ports/rotation-event-publisher.js';
import type { RotationMetrics } from '../../application/ports/rotation-metrics.js';
import type { SecretStore } from '../../application/ports/secret-store.js';
import { RejectRotationRequest } from '../../application/reject-rotation-request.js';
import { ReportStatus } from '../../application/report-status.js';
import { RotateSecret, type RotateSecretSettings } from '../../application/rotate-secret.js';
import { SweepSecrets } from '../../application/sweep-secrets.js';
import { InvalidConfigError } from '../../domain/errors.js';
import type { Config } from '../config/load-config.js';
import { createRotationFunctionHandler } from '../inbound/lambda/rotation-function-handler.js';
import { createSqsLambdaHandler } from '../inbound/lambda/sqs-lambda-handler.js';
import { tokenForRequestId } from '../inbound/sqs/parse-rotation-request.js';
import { RotationMessageProcessor } from '../inbound/sqs/rotation-message-processor.js';
import { maxReceiveCountOf, SqsRotationWorker } from '../inbound/sqs/sqs-rotation-worker.js';
import { AtlasAdminApiClient } from '../outbound/atlas/atlas-admin-api-client.js';
import { createAtlasDispatcher } from '../outbound/atlas/create-atlas-dispatcher.js';
import { EventBridgeRotationEventPublisher } from '../outbound/aws/event-bridge-rotation-event-publisher.js';
import { SecretsManagerSecretStore } from '../outbound/aws/secrets-manager-secret-store.js';
import { SqsRotationRequests } from '../outbound/aws/sqs-rotation-requests.js';
import { NodeCryptoIdGenerator } from '../outbound/crypto/node-crypto-id-generator.js';
import { EmfRotationMetrics } from '../outbound/metrics/emf-rotation-metrics.js';
import { UdpLineSink } from '../outbound/metrics/udp-line-sink.js';
import { JsonLogger } from '../outbound/system/json-logger.js';
import { SystemClock } from '../outbound/system/system-clock.js';
import { TOKENS } from './tokens.js';
import { type Tracing, tracingFor } from './tracing.js';

export interface ContainerOverrides {
  /** Where log lines go; stderr by default. */
  readonly logSink?: (line: string) => void;
  /** Fields for every log line, asked for per line (the Lambda entries: the invocation's). */
  readonly logContext?: () => LogFields;
  /** Where spans go when tracing is on, instead of OTLP (tests: an in-memory exporter). */
  readonly spanExporter?: SpanExporter;
  /** Where EMF documents go; METRICS_SINK by default. */
  readonly metricsSink?: (line: string) => void;
}

/** The writer for METRICS_SINK, and what closes it. */
function metricsWriter(config: Config): { write: (line: string) => void; close: () => Promise<void> } {
  const sink = config.metricsSink;
  switch (sink.kind) {
    case 'stdout':
      return { write: (line) => process.stdout.write(line), close: async () => {} };
    case 'stderr':
      return { write: (line) => process.stderr.write(line), close: async () => {} };
    case 'off':
      return { write: () => {}, close: async () => {} };
    case 'udp': {
      const udp = new UdpLineSink(sink.host, sink.port);
      return { write: (line) => udp.write(line), close: () => udp.close() };
    }
  }
}

const awsClientOptions = (config: Config) => ({
  region: config.awsRegion,
  ...(config.awsEndpointUrl === undefined ? {} : { endpoint: config.awsEndpointUrl }),
});

const coreModule = (config: Config, overrides: ContainerOverrides) =>
  new ContainerModule(({ bind }) => {
    bind(TOKENS.config).toConstantValue(config);
    bind(TOKENS.clock).toResolvedValue(() => new SystemClock());
    bind(TOKENS.logger).toResolvedValue(
      () =>
        new JsonLogger(
          config.logLevel,
          overrides.logSink ?? ((line) => process.stderr.write(line)),
          {},
          undefined,
          overrides.logContext,
        ),
    );
    // Asynchronous: OpenTelemetry is imported only when tracing is on (ADR 0014); resolve with getAsync.
    bind(TOKENS.tracing)
      .toResolvedValue(() => tracingFor(config, overrides.spanExporter))
      .onDeactivation((tracing) => tracing.shutdown());
    const writer = overrides.metricsSink === undefined ? metricsWriter(config) : undefined;
    bind(TOKENS.metrics)
      .toResolvedValue(
        () =>
          new EmfRotationMetrics({
            namespace: config.metricsNamespace,
            service: config.metricsService,
            write: overrides.metricsSink ?? writer?.write ?? (() => {}),
            now: () => new Date(),
          }),
      )
      // The Atlas counters of runs not yet reported, then the sink.
      .onDeactivation(async (metrics) => {
        metrics.flush();
        await writer?.close();
      });
  });

const awsModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.secretsManagerClient)
    .toResolvedValue(
      (config: Config, tracing: Tracing) =>
        tracing.traceAwsClient(
          new SecretsManagerClient({
            ...awsClientOptions(config),
            // A request left without an answer (a half-open connection) is abandoned and retried by the SDK,
            // then fails SECRET_STORE_UNAVAILABLE: it never holds one of READ_CONCURRENCY's slots for good.
            requestHandler: {
              connectionTimeout: config.secretsManagerTimeoutMs,
              requestTimeout: config.secretsManagerTimeoutMs,
              // Without it @smithy/node-http-handler only warns when requestTimeout passes.
              throwOnRequestTimeout: true,
            },
          }),
          'SecretsManager',
        ),
      [TOKENS.config, TOKENS.tracing],
    )
    .onDeactivation((client) => client.destroy());
  bind(TOKENS.secretStore).toResolvedValue(
    (client: SecretsManagerClient) => new SecretsManagerSecretStore(client),
    [TOKENS.secretsManagerClient],
  );
});

const atlasModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.atlas)
    .toResolvedValue(
      (config: Config, clock: Clock, metrics: EmfRotationMetrics) =>
        new AtlasAdminApiClient({
          baseUrl: config.atlasBaseUrl,
          // One pool per allow-listed origin, built on first use; the client closes them in close().
          dispatcherFor: (origin) =>
            createAtlasDispatcher(origin, {
              connectTimeoutMs: config.atlasRequestTimeoutMs,
              keepAliveTimeoutMs: 30_000,
              connections: config.atlasMaxConnections,
              allowInsecureHttp: config.atlasAllowInsecureHttp,
            }),
          clock,
          observer: metrics,
          requestTimeoutMs: config.atlasRequestTimeoutMs,
          maxAttempts: config.atlasMaxAttempts,
          maxResponseBytes: config.atlasMaxResponseBytes,
          allowInsecureHttp: config.atlasAllowInsecureHttp,
        }),
      [TOKENS.config, TOKENS.clock, TOKENS.metrics],
    )
    // Revokes cached tokens at their origins, then closes the pools.
    .onDeactivation((client) => client.close());
});

const eventsModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.sqsClient)
    .toResolvedValue(
      (config: Config, tracing: Tracing) =>
        tracing.traceAwsClient(new SQSClient(awsClientOptions(config)), 'SQS'),
      [TOKENS.config, TOKENS.tracing],
    )
    .onDeactivation((client) => client.destroy());
  bind(TOKENS.eventBridgeClient)
    .toResolvedValue(
      (config: Config, tracing: Tracing) =>
        tracing.traceAwsClient(new EventBridgeClient(awsClientOptions(config)), 'EventBridge'),
      [TOKENS.config, TOKENS.tracing],
    )
    .onDeactivation((client) => client.destroy());
  bind(TOKENS.publisher)
    .toResolvedValue(
      (config: Config, client: EventBridgeClient, clock: Clock) =>
        new EventBridgeRotationEventPublisher({
          client,
          eventBusName: config.eventBusName,
          source: config.eventSource,
          clock,
        }),
      [TOKENS.config, TOKENS.eventBridgeClient, TOKENS.clock],
    )
    // Publish what is pending before the client goes.
    .onDeactivation((publisher) => publisher.close());
  bind(TOKENS.handleRotationRequest).toResolvedValue(
    (config: Config, rotateSecret: RotateSecret, publisher: RotationEventPublisher, tracing: Tracing) =>
      new HandleRotationRequest(
        rotateSecret,
        publisher,
        new KeyedSerializer(),
        {
          backoffBaseSeconds: config.retryBackoffBaseSeconds,
          backoffMaxSeconds: config.retryBackoffMaxSeconds,
          jitter: Math.random,
        },
        tracing.tracer,
      ),
    [TOKENS.config, TOKENS.rotateSecret, TOKENS.publisher, TOKENS.tracing],
  );
  bind(TOKENS.rejectRotationRequest).toResolvedValue(
    (publisher: RotationEventPublisher, clock: Clock) => new RejectRotationRequest(publisher, clock),
    [TOKENS.publisher, TOKENS.clock],
  );
  bind(TOKENS.messageProcessor).toResolvedValue(
    async (
      config: Config,
      sqs: SQSClient,
      handle: HandleRotationRequest,
      reject: RejectRotationRequest,
      logger: Logger,
    ) =>
      new RotationMessageProcessor(handle, reject, logger, {
        backoffBaseSeconds: config.retryBackoffBaseSeconds,
        backoffMaxSeconds: config.retryBackoffMaxSeconds,
        jitter: Math.random,
        maxReceiveCount:
          config.maxReceiveCount ??
          (config.rotationQueueUrl === undefined
            ? undefined
            : await maxReceiveCountOf(sqs, config.rotationQueueUrl)),
      }),
    [
      TOKENS.config,
      TOKENS.sqsClient,
      TOKENS.handleRotationRequest,
      TOKENS.rejectRotationRequest,
      TOKENS.logger,
    ],
  );
  bind(TOKENS.worker).toResolvedValue(
    (config: Config, sqs: SQSClient, processor: RotationMessageProcessor, logger: Logger) => {
      if (config.rotationQueueUrl === undefined) {
        throw new InvalidConfigError(['ROTATION_QUEUE_URL is required to run the worker']);
      }
      return new SqsRotationWorker({
        sqs,
        queueUrl: config.rotationQueueUrl,
        processor,
        logger,
        maxConcurrency: config.maxConcurrency,
        waitTimeSeconds: config.waitTimeSeconds,
        visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
        shutdownGraceMs: config.shutdownGraceSeconds * 1000,
      });
    },
    [TOKENS.config, TOKENS.sqsClient, TOKENS.messageProcessor, TOKENS.logger],
  );
  bind(TOKENS.rotationFunctionHandler).toResolvedValue(
    (rotateSecret: RotateSecret, publisher: RotationEventPublisher, logger: Logger) =>
      createRotationFunctionHandler({ rotateSecret, publisher, logger }),
    [TOKENS.rotateSecret, TOKENS.publisher, TOKENS.logger],
  );
  bind(TOKENS.lambdaHandler).toResolvedValue(
    (config: Config, sqs: SQSClient, processor: RotationMessageProcessor, logger: Logger) =>
      createSqsLambdaHandler({
        processor,
        sqs,
        logger,
        queueUrl: config.rotationQueueUrl,
        maxConcurrency: config.maxConcurrency,
      }),
    [TOKENS.config, TOKENS.sqsClient, TOKENS.messageProcessor, TOKENS.logger],
  );
});

/** RotateSecret's settings: the dry run and the status read with the very same ones. */
function rotationSettings(config: Config): RotateSecretSettings {
  return {
    secretExpiresAfterHours: config.secretExpiresAfterHours,
    adminSecretAllowList: config.adminSecretArns,
    deleteUnknownSecrets: config.deleteUnknownSecrets,
    minIntervalMs: config.rotationMinIntervalMinutes * 60_000,
    oldSecretGraceHours: config.oldSecretGraceHours,
    leaseMs: config.rotationLeaseSeconds * 1000,
    verifyRetryDelaysMs: config.verifyRetryDelaysMs,
    orphanSkewMs: 5 * 60_000,
    readConcurrency: config.readConcurrency,
    origins: {
      defaultBaseUrl: config.atlasBaseUrl,
      allowedBaseUrls: config.atlasAllowedBaseUrls,
      allowInsecureHttp: config.atlasAllowInsecureHttp,
    },
  };
}

const applicationModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.rotateSecret)
    .toResolvedValue(
      (
        store: SecretStore,
        atlas: AtlasServiceAccounts,
        clock: Clock,
        logger: Logger,
        config: Config,
        tracing: Tracing,
        metrics: RotationMetrics,
      ) =>
        new RotateSecret(
          store,
          atlas,
          clock,
          logger,
          rotationSettings(config),
          new NodeCryptoIdGenerator(),
          tracing.tracer,
          metrics,
        ),
      [
        TOKENS.secretStore,
        TOKENS.atlas,
        TOKENS.clock,
        TOKENS.logger,
        TOKENS.config,
        TOKENS.tracing,
        TOKENS.metrics,
      ],
    )
    // Its runs' token revocations, started after their outcomes, end before the Atlas client closes (load order).
    .onDeactivation((rotateSecret) => rotateSecret.settled());
  bind(TOKENS.planRotation).toResolvedValue(
    (store: SecretStore, atlas: AtlasServiceAccounts, clock: Clock, logger: Logger, config: Config) =>
      new PlanRotation(store, atlas, clock, logger, rotationSettings(config), new NodeCryptoIdGenerator()),
    [TOKENS.secretStore, TOKENS.atlas, TOKENS.clock, TOKENS.logger, TOKENS.config],
  );
  bind(TOKENS.reportStatus).toResolvedValue(
    (store: SecretStore, atlas: AtlasServiceAccounts, clock: Clock, logger: Logger, config: Config) =>
      new ReportStatus(store, atlas, clock, logger, rotationSettings(config), new NodeCryptoIdGenerator(), {
        concurrency: config.sweepConcurrency,
        rotateBeforeExpiryHours: config.rotateBeforeExpiryHours,
      }),
    [TOKENS.secretStore, TOKENS.atlas, TOKENS.clock, TOKENS.logger, TOKENS.config],
  );
});

const sweepModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.sweepSecrets).toResolvedValue(
    (
      config: Config,
      store: SecretStore,
      atlas: AtlasServiceAccounts,
      sqs: SQSClient,
      rotateSecret: RotateSecret,
      clock: Clock,
      logger: Logger,
      publisher: RotationEventPublisher,
      metrics: RotationMetrics,
    ) =>
      new SweepSecrets(
        store,
        atlas,
        config.rotationQueueUrl === undefined
          ? undefined
          : new SqsRotationRequests(sqs, config.rotationQueueUrl),
        // The worker's mapping: a request run here and the same request queued are one rotation.
        { rotateSecret, tokenFor: tokenForRequestId },
        clock,
        logger,
        {
          rotateBeforeExpiryHours: config.rotateBeforeExpiryHours,
          concurrency: config.sweepConcurrency,
          adminSecretAllowList: config.adminSecretArns,
          origins: {
            defaultBaseUrl: config.atlasBaseUrl,
            allowedBaseUrls: config.atlasAllowedBaseUrls,
            allowInsecureHttp: config.atlasAllowInsecureHttp,
          },
        },
        publisher,
        metrics,
      ),
    [
      TOKENS.config,
      TOKENS.secretStore,
      TOKENS.atlas,
      TOKENS.sqsClient,
      TOKENS.rotateSecret,
      TOKENS.clock,
      TOKENS.logger,
      TOKENS.publisher,
      TOKENS.metrics,
    ],
  );
});

/** The composition root: one module per adapter group, singletons, teardown on `dispose`. */
export function buildContainer(config: Config, overrides: ContainerOverrides = {}): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  // Teardown runs in this order: the use cases (a rotation's token revocations end) before the clients they use.
  container.load(
    coreModule(config, overrides),
    applicationModule,
    eventsModule,
    sweepModule,
    awsModule,
    atlasModule,
  );
  return container;
}

export async function disposeContainer(container: Container): Promise<void> {
  await container.unbindAllAsync();
}
