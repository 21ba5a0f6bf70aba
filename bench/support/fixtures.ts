import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { TAG_ADMIN_SECRET_ARN, TAG_MANAGED } from '../../src/domain/rotation-metadata.js';
import type { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';

/** A managed secret the benchmark rotates: its name and ARN only (the value never leaves Secrets Manager). */
export interface SeededSecret {
  readonly name: string;
  readonly arn: string;
}

/** A service account in the simulator (ORG_OWNER, so it may rotate itself) and a managed secret holding it. */
export async function seedManagedSecret(
  simulator: AtlasSimulator,
  secrets: SecretsManagerClient,
  options: { readonly orgId: string; readonly name: string; readonly adminSecretArn?: string },
): Promise<SeededSecret> {
  const account = simulator.createServiceAccount(options.orgId, { roles: ['ORG_OWNER'] });
  const tags = [{ Key: TAG_MANAGED, Value: 'true' }];
  if (options.adminSecretArn !== undefined)
    tags.push({ Key: TAG_ADMIN_SECRET_ARN, Value: options.adminSecretArn });
  const created = await secrets.send(
    new CreateSecretCommand({
      Name: options.name,
      // As atlas-rotator writes a value (it names its Atlas secret): the steady state, every rotation after a
      // secret's first. The template reads clientId and clientSecret only.
      SecretString: JSON.stringify({
        clientId: account.clientId,
        clientSecret: account.secret,
        orgId: options.orgId,
        atlasSecretId: account.secretId,
      }),
      Tags: tags,
    }),
  );
  if (created.ARN === undefined) throw new Error(`CreateSecret ${options.name} returned no ARN`);
  return { name: options.name, arn: created.ARN };
}

/** An admin service account (ORG_OWNER of the org) in its own, unmanaged secret. */
export async function seedAdminSecret(
  simulator: AtlasSimulator,
  secrets: SecretsManagerClient,
  options: { readonly orgId: string; readonly name: string; readonly servesNamePrefix: string },
): Promise<SeededSecret & { readonly clientId: string }> {
  const admin = simulator.createServiceAccount(options.orgId, { roles: ['ORG_OWNER'] });
  const created = await secrets.send(
    new CreateSecretCommand({
      Name: options.name,
      SecretString: JSON.stringify({ clientId: admin.clientId, clientSecret: admin.secret }),
    }),
  );
  if (created.ARN === undefined) throw new Error(`CreateSecret ${options.name} returned no ARN`);
  // The admin serves the bench's secrets: its own ARN tells the partition, region and account.
  const accountSecrets = created.ARN.slice(0, created.ARN.indexOf(':secret:') + ':secret:'.length);
  await secrets.send(
    new PutSecretValueCommand({
      SecretId: created.ARN,
      SecretString: JSON.stringify({
        clientId: admin.clientId,
        clientSecret: admin.secret,
        serves: [`${accountSecrets}${options.servesNamePrefix}*`],
      }),
    }),
  );
  return { name: options.name, arn: created.ARN, clientId: admin.clientId };
}

/** Best effort: the emulator may be one the caller keeps running. */
export async function deleteSecrets(
  secrets: SecretsManagerClient,
  seeded: readonly SeededSecret[],
): Promise<void> {
  await Promise.allSettled(
    seeded.map((s) =>
      secrets.send(new DeleteSecretCommand({ SecretId: s.arn, ForceDeleteWithoutRecovery: true })),
    ),
  );
}
