import 'reflect-metadata';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Container, ContainerModule } from 'inversify';
import { HandleRotationRequest } from '../../application/handle-rotation-request.js';
import { KeyedSerializer } from '../../application/keyed-serializer.js';
import type { AtlasServiceAccounts } from '../../application/ports/atlas-service-accounts.js';
import type { Clock } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import type { RotationEventPublisher } from '../../application/ports/rotation-event-publisher.js';
import type { SecretStore } from '../../application/ports/secret-store.js';
import { RejectRotationRequest } from '../../application/reject-rotation-request.js';
import { RotateSecret } from '../../application/rotate-secret.js';
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
import { JsonLogger } from '../outbound/system/json-logger.js';
import { SystemClock } from '../outbound/system/system-clock.js';
import { TOKENS } from './tokens.js';

export interface ContainerOverrides {
  /** Where log lines go; stderr by default. */
  readonly logSink?: (line: string) => void;
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
      () => new JsonLogger(config.logLevel, overrides.logSink ?? ((line) => process.stderr.write(line))),
    );
  });

const awsModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.secretsManagerClient)
    .toResolvedValue((config: Config) => new SecretsManagerClient(awsClientOptions(config)), [TOKENS.config])
    .onDeactivation((client) => client.destroy());
  bind(TOKENS.secretStore).toResolvedValue(
    (client: SecretsManagerClient) => new SecretsManagerSecretStore(client),
    [TOKENS.secretsManagerClient],
  );
});

const atlasModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.atlas)
    .toResolvedValue(
      (config: Config, clock: Clock) =>
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
          requestTimeoutMs: config.atlasRequestTimeoutMs,
          maxAttempts: config.atlasMaxAttempts,
          maxResponseBytes: config.atlasMaxResponseBytes,
          allowInsecureHttp: config.atlasAllowInsecureHttp,
        }),
      [TOKENS.config, TOKENS.clock],
    )
    // Revokes cached tokens at their origins, then closes the pools.
    .onDeactivation((client) => client.close());
});

const eventsModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.sqsClient)
    .toResolvedValue((config: Config) => new SQSClient(awsClientOptions(config)), [TOKENS.config])
    .onDeactivation((client) => client.destroy());
  bind(TOKENS.eventBridgeClient)
    .toResolvedValue((config: Config) => new EventBridgeClient(awsClientOptions(config)), [TOKENS.config])
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
    (config: Config, rotateSecret: RotateSecret, publisher: RotationEventPublisher) =>
      new HandleRotationRequest(rotateSecret, publisher, new KeyedSerializer(), {
        backoffBaseSeconds: config.retryBackoffBaseSeconds,
        backoffMaxSeconds: config.retryBackoffMaxSeconds,
      }),
    [TOKENS.config, TOKENS.rotateSecret, TOKENS.publisher],
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

const applicationModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.rotateSecret).toResolvedValue(
    (store: SecretStore, atlas: AtlasServiceAccounts, clock: Clock, logger: Logger, config: Config) =>
      new RotateSecret(
        store,
        atlas,
        clock,
        logger,
        {
          secretExpiresAfterHours: config.secretExpiresAfterHours,
          adminSecretAllowList: config.adminSecretArns,
          deleteUnknownSecrets: config.deleteUnknownSecrets,
          minIntervalMs: config.rotationMinIntervalMinutes * 60_000,
          leaseMs: config.rotationLeaseSeconds * 1000,
          verifyRetryDelaysMs: config.verifyRetryDelaysMs,
          orphanSkewMs: 5 * 60_000,
          origins: {
            defaultBaseUrl: config.atlasBaseUrl,
            allowedBaseUrls: config.atlasAllowedBaseUrls,
            allowInsecureHttp: config.atlasAllowInsecureHttp,
          },
        },
        new NodeCryptoIdGenerator(),
      ),
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
      ),
    [
      TOKENS.config,
      TOKENS.secretStore,
      TOKENS.atlas,
      TOKENS.sqsClient,
      TOKENS.rotateSecret,
      TOKENS.clock,
      TOKENS.logger,
    ],
  );
});

/** The composition root: one module per adapter group, singletons, teardown on `dispose`. */
export function buildContainer(config: Config, overrides: ContainerOverrides = {}): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(
    coreModule(config, overrides),
    awsModule,
    atlasModule,
    applicationModule,
    eventsModule,
    sweepModule,
  );
  return container;
}

export async function disposeContainer(container: Container): Promise<void> {
  await container.unbindAllAsync();
}
