import { RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRotationFunctionHandler } from '../../src/adapters/inbound/lambda/rotation-function-handler.js';
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

function aFunction(wrap: Parameters<typeof rotateSecret>[2] = {}) {
  const adapters = processAdapters(simulator, client);
  opened.push(adapters);
  const publisher = new RecordingRotationEventPublisher();
  const handler = createRotationFunctionHandler({
    rotateSecret: rotateSecret(adapters, {}, wrap),
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

describe('the Secrets Manager rotation function', () => {
  it('rotates through the four steps, each repeated, and publishes one completed event', async () => {
    const account = await seedManagedSecret(simulator, client);
    const before = await valueAt(client, account.secretName, 'AWSCURRENT');
    const token = newToken();
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
    expect(byStage.AWSPENDING).toBeUndefined();
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
    await client.send(
      new RotateSecretCommand({
        SecretId: account.secretArn,
        ClientRequestToken: token,
        RotationLambdaARN: registered.arn,
      }),
    );
    expect((await stagesOf(client, account.secretName)).byStage.AWSPENDING).toBe(token);
    const { handler, publisher } = aFunction();

    for (const step of STEPS) {
      await handler({ SecretId: account.secretArn, ClientRequestToken: token, Step: step });
      await handler({ SecretId: account.secretArn, ClientRequestToken: token, Step: step });
    }

    const { byStage, tags } = await stagesOf(client, account.secretName);
    expect(byStage).toMatchObject({ AWSCURRENT: token, AWSPREVIOUS: before.versionId });
    expect(byStage.AWSPENDING).toBeUndefined();
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
    const { handler } = aFunction();
    for (let i = 0; i < 3; i++) {
      await handler({ SecretId: account.secretName, ClientRequestToken: token, Step: 'createSecret' });
    }
    expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets).toHaveLength(2);
  });

  it('converges when a step crashes at any call and is run again', async () => {
    const probe = await seedManagedSecret(simulator, client);
    const probeToken = newToken();
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
          await aFunction().handler({ SecretId: account.secretName, ClientRequestToken: token, Step: again });
        }
        const { byStage } = await stagesOf(client, account.secretName);
        expect(byStage.AWSCURRENT, `${step} crashed before call ${k}`).toBe(token);
        expect(byStage.AWSPENDING).toBeUndefined();
        const current = await valueAt(client, account.secretName, 'AWSCURRENT');
        expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id)).toEqual([
          current.json.atlasSecretId,
        ]);
      }
    }
  });

  it('converges when createSecret crashes at any call after RotateSecret registered the token', async () => {
    const register = async (secretArn: string, token: string) =>
      client.send(
        new RotateSecretCommand({
          SecretId: secretArn,
          ClientRequestToken: token,
          RotationLambdaARN: registered.arn,
        }),
      );
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
      for (const step of STEPS) {
        await aFunction().handler({ SecretId: account.secretArn, ClientRequestToken: token, Step: step });
      }
      const { byStage } = await stagesOf(client, account.secretName);
      expect(byStage.AWSCURRENT, `createSecret crashed before call ${k}`).toBe(token);
      expect(byStage.AWSPENDING).toBeUndefined();
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

    const { byStage } = await stagesOf(client, account.secretName);
    expect(byStage.AWSCURRENT).toBe(before.versionId);
    expect(byStage.AWSPENDING).toBeUndefined();
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
