import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ServiceIdentifier } from 'inversify';
import type { Dispatcher } from 'undici';
import type { Clock } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import type { SecretStore } from '../../application/ports/secret-store.js';
import type { RotateSecret } from '../../application/rotate-secret.js';
import type { Config } from '../config/load-config.js';
import type { AtlasAdminApiClient } from '../outbound/atlas/atlas-admin-api-client.js';

/** Typed container tokens: the only service identifiers in the project. */
export const TOKENS = {
  config: Symbol.for('atlas-rotator.Config') as ServiceIdentifier<Config>,
  clock: Symbol.for('atlas-rotator.Clock') as ServiceIdentifier<Clock>,
  logger: Symbol.for('atlas-rotator.Logger') as ServiceIdentifier<Logger>,
  secretsManagerClient: Symbol.for(
    'atlas-rotator.SecretsManagerClient',
  ) as ServiceIdentifier<SecretsManagerClient>,
  secretStore: Symbol.for('atlas-rotator.SecretStore') as ServiceIdentifier<SecretStore>,
  atlasDispatcher: Symbol.for('atlas-rotator.AtlasDispatcher') as ServiceIdentifier<Dispatcher>,
  atlas: Symbol.for('atlas-rotator.AtlasServiceAccounts') as ServiceIdentifier<AtlasAdminApiClient>,
  rotateSecret: Symbol.for('atlas-rotator.RotateSecret') as ServiceIdentifier<RotateSecret>,
} as const;
