/**
 * The SecretStore contract (src/application/ports/secret-store.ts) held by the Secrets Manager adapter against the
 * AWS endpoint — through the AWS semantics layer, which answers as AWS does where LocalStack differs
 * (docs/adr/0006-aws-semantics-layer.md). The contract is what the rotation protocol (ADR 0003) stands on:
 * versions are immutable, a spent token stays spent, RotateSecret's placeholder may be filled once. The
 * compare-and-swap part ADR 0007 adds (every version listed with its CreatedDate, putVersion refusing a taken id,
 * moveStage refusing a moved label) is test/support/secret-store-contract.ts, run here and on the in-memory fake.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SecretsManagerSecretStore } from '../../src/adapters/outbound/aws/secrets-manager-secret-store.js';
import { SecretStoreError } from '../../src/domain/errors.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import { secretStoreContract } from '../support/secret-store-contract.js';
import { type RegisteredFunction, registerRotationFunction } from './support/rotation-lambda.js';

const region = 'us-east-1';
const CURRENT = '{"clientId":"current"}';
const PENDING = '{"clientId":"pending"}';
const OTHER = '{"clientId":"other"}';

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

async function stagesOf(arn: string): Promise<Record<string, readonly string[]>> {
  const { versions } = await store.describe(arn);
  return Object.fromEntries(versions.map((v) => [v.versionId, [...v.stages].sort()]));
}

describe('SecretsManagerSecretStore against the AWS endpoint', () => {
  it('putPending is idempotent for the same token and value, and leaves the labels where they are', async () => {
    const { arn, current } = await aSecret();
    const token = randomUUID();

    await store.putPending(arn, token, SecretValue.of(PENDING));
    await store.putPending(arn, token, SecretValue.of(PENDING));

    expect(await stagesOf(arn)).toEqual({ [current]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
    expect((await store.getValue(arn, { versionId: token })).reveal()).toBe(PENDING);
  });

  it('putPending refuses another value for a token that names a stored version, for good and without the value', async () => {
    const { arn, current } = await aSecret();
    const token = randomUUID();
    await store.putPending(arn, token, SecretValue.of(PENDING));

    const refused = await store.putPending(arn, token, SecretValue.of(OTHER)).catch((e: unknown) => e);

    expect(refused).toBeInstanceOf(SecretStoreError);
    expect(refused).toMatchObject({ code: 'SECRET_STORE_INVALID_REQUEST', retryable: false });
    expect(String((refused as Error).message)).toContain('ResourceExistsException');
    expect(String((refused as Error).message)).not.toContain('other');
    expect((await store.getValue(arn, { versionId: token })).reveal()).toBe(PENDING);
    expect(await stagesOf(arn)).toEqual({ [current]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
  });

  it('putPending fills the valueless version RotateSecret registered, once', async () => {
    const { arn, current } = await aSecret();
    const token = randomUUID();
    await client.send(
      new RotateSecretCommand({
        SecretId: arn,
        ClientRequestToken: token,
        RotationLambdaARN: rotationFunction.arn,
      }),
    );
    await expect(store.getValue(arn, { versionId: token })).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
    });

    await store.putPending(arn, token, SecretValue.of(PENDING));

    expect((await store.getValue(arn, { versionId: token })).reveal()).toBe(PENDING);
    expect(await stagesOf(arn)).toEqual({ [current]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
    await expect(store.putPending(arn, token, SecretValue.of(OTHER))).rejects.toMatchObject({
      code: 'SECRET_STORE_INVALID_REQUEST',
    });
  });

  it('a version whose AWSPENDING was removed is no longer described, stays readable and its token stays spent', async () => {
    const { arn, current } = await aSecret();
    const token = randomUUID();
    await store.putPending(arn, token, SecretValue.of(PENDING));

    await store.removeStage(arn, 'AWSPENDING', token);
    await store.removeStage(arn, 'AWSPENDING', token); // idempotent

    expect(await stagesOf(arn)).toEqual({ [current]: ['AWSCURRENT'] });
    expect((await store.getValue(arn, { versionId: token })).reveal()).toBe(PENDING);
    await expect(store.putPending(arn, token, SecretValue.of(OTHER))).rejects.toMatchObject({
      code: 'SECRET_STORE_INVALID_REQUEST',
    });
  });

  it('promote moves AWSCURRENT and AWSPREVIOUS follows; promoting the current version again does nothing', async () => {
    const { arn, current } = await aSecret();
    const token = randomUUID();
    await store.putPending(arn, token, SecretValue.of(PENDING));

    await store.promote(arn, token, current);
    await store.removeStage(arn, 'AWSPENDING', token);
    await store.promote(arn, token, token);

    expect(await stagesOf(arn)).toEqual({ [current]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT'] });
    expect((await store.getValue(arn, { stage: 'AWSCURRENT' })).reveal()).toBe(PENDING);
    expect((await store.getValue(arn, { stage: 'AWSPREVIOUS' })).reveal()).toBe(CURRENT);
  });
});

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
