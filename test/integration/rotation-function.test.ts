import { RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRotationFunctionHandler } from '../../src/adapters/inbound/lambda/rotation-function-handler.js';
import { NodeCryptoIdGenerator } from '../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import type { RotationCompletedDetail, RotationFailedDetail } from '../../src/domain/rotation-events.js';
import { TAG_ROTATION } from '../../src/domain/rotation-metadata.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { validateEventDetail } from '../support/event-schemas.js';
import { RecordingRotationEventPublisher } from '../support/recording-publisher.js';
import {
  crashAfter,
  credentialWorks,
  newToken,
  processAdapters,
  rotateSecret,
  secretsManagerClient,
  seedManagedSecret,
  stagesOf,
  valueAt,
} from './support/rotation-harness.js';
import { type RegisteredFunction, registerRotationFunction } from './support/rotation-lambda.js';

let simulator: AtlasSimulator;
let client: SecretsManagerClient;
let registered: RegisteredFunction;
const opened: { close: () => Promise<void> }[] = [];
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

/**
 * What Secrets Manager does before it invokes the function (RotateSecret): turns rotation on and registers the
 * token's version, AWSPENDING, without a value. The function's entry checks (AWS's templates: rotation enabled,
 * the token a version of the secret) refuse a step without it. LocalStack turns rotation on only with rules.
 */
async function register(secretId: string, token: string) {
  await client.send(
    new RotateSecretCommand({
      SecretId: secretId,
      ClientRequestToken: token,
      RotationLambdaARN: registered.arn,
      RotationRules: { AutomaticallyAfterDays: 30 },
    }),
  );
}

function aFunction(
  wrap: Parameters<typeof rotateSecret>[2] = {},
  settings: Parameters<typeof rotateSecret>[1] = {},
) {
  const adapters = processAdapters(simulator, client);
  opened.push(adapters);
  const publisher = new RecordingRotationEventPublisher();
  const handler = createRotationFunctionHandler({
    rotateSecret: rotateSecret(adapters, settings, wrap),
    publisher,
    logger: adapters.logger,
  });
  return { handler, publisher };
}

beforeAll(async () => {
  simulator = await AtlasSimulator.start();
  client = secretsManagerClient();
  registered = await registerRotationFunction(inject('awsEndpoint'), `it-rotation-${newToken().slice(0, 8)}`);
});

afterAll(async () => {
  await registered?.remove().catch(() => undefined);
  await Promise.all(opened.map((a) => a.close()));
  client.destroy();
  await simulator.close();
});

/** The second attempt's credential VersionId of `token` (ADR 0007). */
function attemptTwo(token: string): string {
  return new NodeCryptoIdGenerator().digestId(`${token}#2`);
}

/**
 * Runs a step again after a crash, as Secrets Manager retries a failed rotation: a crash after the claim leaves it
 * open, so the retry waits (ROTATION_IN_PROGRESS) until the lease passes — here a lease of 0.
 */
async function againAfterCrash(secretId: string, token: string, step: string) {
  try {
    await aFunction().handler({ SecretId: secretId, ClientRequestToken: token, Step: step });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ROTATION_IN_PROGRESS') throw error;
    await aFunction({}, { leaseMs: 0 }).handler({
      SecretId: secretId,
      ClientRequestToken: token,
      Step: step,
    });
  }
}

describe('the Secrets Manager rotation function', () => {
  it('rotates through the four steps, each repeated, and publishes one completed event', async () => {
    const account = await seedManagedSecret(simulator, client);
    const before = await valueAt(client, account.secretName, 'AWSCURRENT');
    const token = newToken();
    await register(account.secretArn, token);
    const { handler, publisher } = aFunction();

    for (const step of STEPS) {
      await handler({ SecretId: account.secretArn, ClientRequestToken: token, Step: step });
      await handler({ SecretId: account.secretArn, ClientRequestToken: token, Step: step });
      const { byStage } = await stagesOf(client, account.secretName);
      if (step !== 'finishSecret') {
        expect(byStage.AWSPENDING, `after ${step}`).toBe(token);
        expect(byStage.AWSCURRENT, `after ${step}`).toBe(before.versionId);
      }
    }

    const { byStage, tags } = await stagesOf(client, account.secretName);
    expect(byStage).toMatchObject({ AWSCURRENT: token, AWSPREVIOUS: before.versionId });
    // ADR 0007: AWSPENDING stays beside AWSCURRENT (to AWS: no rotation in progress).
    expect([undefined, token]).toContain(byStage.AWSPENDING);
    expect(tags[TAG_ROTATION]).toBeUndefined();
    const current = await valueAt(client, account.secretName, 'AWSCURRENT');
    expect(await credentialWorks(simulator, account.clientId, current.json.clientSecret ?? '')).toBe(true);
    expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id)).toEqual([
      current.json.atlasSecretId,
    ]);
    const completed = publisher.events.filter((e) => e.detailType === 'Atlas Secret Rotation Completed');
    expect(completed.length).toBeGreaterThanOrEqual(1);
    for (const event of publisher.events) {
      expect(validateEventDetail(event.detailType, event.detail)).toEqual([]);
      expect((event.detail as RotationCompletedDetail).rotationId).toBe(token);
    }
  });

  it('rotates when RotateSecret registered the token first, as AWS does: it fills the valueless AWSPENDING version', async () => {
    const account = await seedManagedSecret(simulator, client);
    const before = await valueAt(client, account.secretName, 'AWSCURRENT');
    const token = newToken();
    // What Secrets Manager does before it invokes the function: the token's version, AWSPENDING, no value.
    await register(account.secretArn, token);
    expect((await stagesOf(client, account.secretName)).byStage.AWSPENDING).toBe(token);
    const { handler, publisher } = aFunction();

    for (const step of STEPS) {
      await handler({ SecretId: account.secretArn, ClientRequestToken: token, Step: step });
      await handler({ SecretId: account.secretArn, ClientRequestToken: token, Step: step });
    }

    const { byStage, tags } = await stagesOf(client, account.secretName);
    expect(byStage).toMatchObject({ AWSCURRENT: token, AWSPREVIOUS: before.versionId });
    // ADR 0007: AWSPENDING stays beside AWSCURRENT (to AWS: no rotation in progress).
    expect([undefined, token]).toContain(byStage.AWSPENDING);
    expect(tags[TAG_ROTATION]).toBeUndefined();
    const current = await valueAt(client, account.secretName, 'AWSCURRENT');
    expect(await credentialWorks(simulator, account.clientId, current.json.clientSecret ?? '')).toBe(true);
    expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id)).toEqual([
      current.json.atlasSecretId,
    ]);
    expect(publisher.events.map((e) => e.detailType)).not.toContain('Atlas Secret Rotation Failed');
  });

  it('creates one Atlas secret however often createSecret runs', async () => {
    const account = await seedManagedSecret(simulator, client);
    const token = newToken();
    await register(account.secretArn, token);
    const { handler } = aFunction();
    for (let i = 0; i < 3; i++) {
      await handler({ SecretId: account.secretName, ClientRequestToken: token, Step: 'createSecret' });
    }
    expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets).toHaveLength(2);
  });

  it('converges when a step crashes at any call and is run again', async () => {
    const probe = await seedManagedSecret(simulator, client);
    const probeToken = newToken();
    await register(probe.secretArn, probeToken);
    const counts: Record<string, number> = {};
    for (const step of STEPS) {
      const counting = crashAfter(Number.POSITIVE_INFINITY);
      await aFunction(counting).handler({
        SecretId: probe.secretName,
        ClientRequestToken: probeToken,
        Step: step,
      });
      counts[step] = counting.calls.length;
    }

    for (const step of ['createSecret', 'testSecret', 'finishSecret'] as const) {
      for (let k = 1; k <= (counts[step] ?? 0); k++) {
        const account = await seedManagedSecret(simulator, client);
        const token = newToken();
        await register(account.secretArn, token);
        for (const earlier of STEPS.slice(0, STEPS.indexOf(step))) {
          await aFunction().handler({
            SecretId: account.secretName,
            ClientRequestToken: token,
            Step: earlier,
          });
        }
        await aFunction(crashAfter(k))
          .handler({ SecretId: account.secretName, ClientRequestToken: token, Step: step })
          .catch(() => undefined);
        for (const again of STEPS.slice(STEPS.indexOf(step))) {
          await againAfterCrash(account.secretName, token, again);
        }
        const { byStage } = await stagesOf(client, account.secretName);
        // A crash after the claim moves the rotation to its second attempt (a VersionId derived from the token).
        expect([token, attemptTwo(token)], `${step} crashed before call ${k}`).toContain(byStage.AWSCURRENT);
        expect([undefined, byStage.AWSCURRENT]).toContain(byStage.AWSPENDING);
        const current = await valueAt(client, account.secretName, 'AWSCURRENT');
        expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id)).toEqual([
          current.json.atlasSecretId,
        ]);
      }
    }
  });

  it('converges when createSecret crashes at any call after RotateSecret registered the token', async () => {
    const probe = await seedManagedSecret(simulator, client);
    const probeToken = newToken();
    await register(probe.secretArn, probeToken);
    const counting = crashAfter(Number.POSITIVE_INFINITY);
    await aFunction(counting).handler({
      SecretId: probe.secretArn,
      ClientRequestToken: probeToken,
      Step: 'createSecret',
    });
    expect(counting.calls.length).toBeGreaterThan(0);

    for (let k = 1; k <= counting.calls.length; k++) {
      const account = await seedManagedSecret(simulator, client);
      const token = newToken();
      await register(account.secretArn, token);
      await aFunction(crashAfter(k))
        .handler({ SecretId: account.secretArn, ClientRequestToken: token, Step: 'createSecret' })
        .catch(() => undefined);
      for (const step of STEPS) await againAfterCrash(account.secretArn, token, step);
      const { byStage } = await stagesOf(client, account.secretName);
      // A crash after the claim may have moved the rotation to its second attempt: AWSCURRENT is the token's.
      expect([token, attemptTwo(token)], `createSecret crashed before call ${k}`).toContain(
        byStage.AWSCURRENT,
      );
      expect([undefined, byStage.AWSCURRENT]).toContain(byStage.AWSPENDING);
      const current = await valueAt(client, account.secretName, 'AWSCURRENT');
      expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id)).toEqual([
        current.json.atlasSecretId,
      ]);
    }
  });

  it('fails testSecret for a secret that does not work, rolls back and publishes the failure', async () => {
    const account = await seedManagedSecret(simulator, client);
    const before = await valueAt(client, account.secretName, 'AWSCURRENT');
    const token = newToken();
    await register(account.secretArn, token);
    const { handler, publisher } = aFunction();
    await handler({ SecretId: account.secretName, ClientRequestToken: token, Step: 'createSecret' });
    simulator.injectFault({
      method: 'POST',
      path: '/api/oauth/token',
      times: 3,
      status: 401,
      body: { error: 'invalid_client' },
    });

    await expect(
      handler({ SecretId: account.secretName, ClientRequestToken: token, Step: 'testSecret' }),
    ).rejects.toMatchObject({ code: 'VERIFICATION_FAILED', retryable: false });
    simulator.clearFaults();

    // ADR 0007: the rollback moved AWSCURRENT to undo-<token>, a copy of the value it held.
    const { byStage } = await stagesOf(client, account.secretName);
    expect(byStage.AWSCURRENT).toBe(`undo-${token}`);
    expect((await valueAt(client, account.secretName, 'AWSCURRENT')).json).toEqual(before.json);
    const failed = publisher.events[0]?.detail as RotationFailedDetail;
    expect(failed).toMatchObject({ errorCode: 'VERIFICATION_FAILED', final: true, stage: 'verify' });
    expect(validateEventDetail('Atlas Secret Rotation Failed', failed)).toEqual([]);
  });

  it('refuses an event that is not a rotation step', async () => {
    const { handler } = aFunction();
    await expect(
      handler({ SecretId: 's', ClientRequestToken: newToken(), Step: 'dropSecret' }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(
      handler({ SecretId: 's', ClientRequestToken: 'short', Step: 'createSecret' }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });
});
