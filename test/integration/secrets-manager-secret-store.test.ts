/**
 * The SecretStore contract (src/application/ports/secret-store.ts) held by the Secrets Manager adapter against the
 * AWS endpoint — through the AWS semantics layer, which answers as AWS does where LocalStack differs
 * (docs/adr/0006-aws-semantics-layer.md). The contract is what the rotation protocol (ADR 0007) stands on:
 * versions are immutable (putVersion refuses a taken id), a spent id stays spent, RotateSecret's placeholder may be
 * filled once, every version is listed with its CreatedDate, moveStage refuses a label that moved. The expectations
 * are test/support/secret-store-contract.ts, run here and on the in-memory fake (test/unit/support). They replace
 * ADR 0003's putPending/promote/removeStage tests, whose port methods are gone.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, inject } from 'vitest';
import { SecretsManagerSecretStore } from '../../src/adapters/outbound/aws/secrets-manager-secret-store.js';
import { CURRENT, secretStoreContract } from '../support/secret-store-contract.js';
import { type RegisteredFunction, registerRotationFunction } from './support/rotation-lambda.js';

const region = 'us-east-1';

let client: SecretsManagerClient;
let store: SecretsManagerSecretStore;
let rotationFunction: RegisteredFunction;
const secretArns: string[] = [];

beforeAll(async () => {
  client = new SecretsManagerClient({ region });
  store = new SecretsManagerSecretStore(client);
  rotationFunction = await registerRotationFunction(
    inject('awsEndpoint'),
    `it-store-${randomUUID().slice(0, 8)}`,
  );
});

afterAll(async () => {
  for (const SecretId of secretArns) {
    await client
      .send(new DeleteSecretCommand({ SecretId, ForceDeleteWithoutRecovery: true }))
      .catch(() => undefined);
  }
  await rotationFunction?.remove().catch(() => undefined);
  client.destroy();
});

async function aSecret(): Promise<{ arn: string; current: string }> {
  const current = randomUUID();
  const { ARN } = await client.send(
    new CreateSecretCommand({
      Name: `it/store-${randomUUID()}`,
      SecretString: CURRENT,
      ClientRequestToken: current,
    }),
  );
  if (!ARN) throw new Error('CreateSecret returned no ARN');
  secretArns.push(ARN);
  return { arn: ARN, current };
}

secretStoreContract('SecretsManagerSecretStore against the AWS endpoint', () => ({
  store,
  newId: () => randomUUID(),
  aSecret,
  async rotateSecret(arn, token) {
    await client.send(
      new RotateSecretCommand({
        SecretId: arn,
        ClientRequestToken: token,
        RotationLambdaARN: rotationFunction.arn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    return { lambdaArn: rotationFunction.arn };
  },
}));
