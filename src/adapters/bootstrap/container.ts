import 'reflect-metadata';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Container, ContainerModule } from 'inversify';
import type { Dispatcher } from 'undici';
import type { AtlasServiceAccounts } from '../../application/ports/atlas-service-accounts.js';
import type { Clock } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import type { SecretStore } from '../../application/ports/secret-store.js';
import { RotateSecret } from '../../application/rotate-secret.js';
import type { Config } from '../config/load-config.js';
import { AtlasAdminApiClient } from '../outbound/atlas/atlas-admin-api-client.js';
import { createAtlasDispatcher } from '../outbound/atlas/create-atlas-dispatcher.js';
import { SecretsManagerSecretStore } from '../outbound/aws/secrets-manager-secret-store.js';
import { JsonLogger } from '../outbound/system/json-logger.js';
import { SystemClock } from '../outbound/system/system-clock.js';
import { TOKENS } from './tokens.js';

export interface ContainerOverrides {
  /** Where log lines go; stderr by default. */
  readonly logSink?: (line: string) => void;
}

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
    .toResolvedValue(
      (config: Config) =>
        new SecretsManagerClient({
          region: config.awsRegion,
          ...(config.awsEndpointUrl === undefined ? {} : { endpoint: config.awsEndpointUrl }),
        }),
      [TOKENS.config],
    )
    .onDeactivation((client) => client.destroy());
  bind(TOKENS.secretStore).toResolvedValue(
    (client: SecretsManagerClient) => new SecretsManagerSecretStore(client),
    [TOKENS.secretsManagerClient],
  );
});

const atlasModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.atlasDispatcher)
    .toResolvedValue(
      (config: Config): Dispatcher =>
        createAtlasDispatcher(config.atlasBaseUrl, {
          connectTimeoutMs: config.atlasRequestTimeoutMs,
          keepAliveTimeoutMs: 30_000,
          connections: 8,
          allowInsecureHttp: config.atlasAllowInsecureHttp,
        }),
      [TOKENS.config],
    )
    .onDeactivation((dispatcher) => dispatcher.close());
  bind(TOKENS.atlas).toResolvedValue(
    (config: Config, dispatcher: Dispatcher, clock: Clock) =>
      new AtlasAdminApiClient({
        baseUrl: config.atlasBaseUrl,
        dispatcher,
        clock,
        requestTimeoutMs: config.atlasRequestTimeoutMs,
        maxAttempts: config.atlasMaxAttempts,
        allowInsecureHttp: config.atlasAllowInsecureHttp,
      }),
    [TOKENS.config, TOKENS.atlasDispatcher, TOKENS.clock],
  );
});

const applicationModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.rotateSecret).toResolvedValue(
    (store: SecretStore, atlas: AtlasServiceAccounts, clock: Clock, logger: Logger, config: Config) =>
      new RotateSecret(store, atlas, clock, logger, {
        secretExpiresAfterHours: config.secretExpiresAfterHours,
        adminSecretAllowList: config.adminSecretArns,
        deleteUnknownSecrets: config.deleteUnknownSecrets,
        leaseMs: config.rotationLeaseSeconds * 1000,
        verifyRetryDelaysMs: config.verifyRetryDelaysMs,
        orphanSkewMs: 5 * 60_000,
      }),
    [TOKENS.secretStore, TOKENS.atlas, TOKENS.clock, TOKENS.logger, TOKENS.config],
  );
});

/** The composition root: one module per adapter group, singletons, teardown on `dispose`. */
export function buildContainer(config: Config, overrides: ContainerOverrides = {}): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(coreModule(config, overrides), awsModule, atlasModule, applicationModule);
  return container;
}

export async function disposeContainer(container: Container): Promise<void> {
  await container.unbindAllAsync();
}
