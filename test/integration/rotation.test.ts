import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG_ROTATION } from '../../src/domain/rotation-metadata.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import {
  atlasChanges,
  crashAfter,
  credentialWorks,
  expectConverged,
  logLines,
  newToken,
  openClaims,
  plainSecrets,
  processAdapters,
  rotateSecret,
  secretsManagerClient,
  seedAdminSecret,
  seedManagedSecret,
  stagesOf,
  valueAt,
} from './support/rotation-harness.js';

let simulator: AtlasSimulator;
let client: SecretsManagerClient;
const opened: { close: () => Promise<void> }[] = [];

function adapters() {
  const a = processAdapters(simulator, client);
  opened.push(a);
  return a;
}

beforeAll(async () => {
  simulator = await AtlasSimulator.start();
  client = secretsManagerClient();
});

afterAll(async () => {
  await Promise.all(opened.map((a) => a.close()));
  client.destroy();
  await simulator.close();
});

describe('rotation against the AWS endpoint and the Atlas simulator', () => {
  it('rotates a self-managed secret within the Atlas call budget and keeps extra fields', async () => {
    const account = await seedManagedSecret(simulator, client, { extra: { team: 'payments', port: 27017 } });
    const before = await valueAt(client, account.secretName, 'AWSCURRENT');
    simulator.clearRequests();

    const outcome = await rotateSecret(adapters()).execute({
      secretId: account.secretName,
      token: newToken(),
    });

    expect(outcome).toMatchObject({
      status: 'completed',
      mode: 'self',
      deletedAtlasSecretIds: [account.firstSecretId],
    });
    const calls = simulator.requests.map((r) => `${r.method} ${r.path.replace(/\/[0-9a-f]{24}$/, '/{id}')}`);
    const current = await expectConverged(simulator, client, account);
    expect(current.json).toMatchObject({ team: 'payments', port: 27017, clientId: account.clientId });
    expect(current.json.clientSecret).not.toBe(before.json.clientSecret);
    const { byStage } = await stagesOf(client, account.secretName);
    expect(byStage.AWSPREVIOUS).toBe(before.versionId);
    expect(await credentialWorks(simulator, account.clientId, before.json.clientSecret ?? '')).toBe(false);

    const apiCalls = calls.filter((c) => !c.endsWith('/api/oauth/revoke'));
    expect(apiCalls.filter((c) => c.endsWith('/api/oauth/token'))).toHaveLength(2);
    // Verification is the new credential's token mint: no GET follows it (the account may lack read rights).
    expect(apiCalls.filter((c) => c.startsWith('GET '))).toHaveLength(1);
    expect(apiCalls.filter((c) => c.startsWith('POST ') && c.endsWith('/secrets'))).toHaveLength(1);
    expect(apiCalls.filter((c) => c.startsWith('DELETE '))).toHaveLength(1);
    expect(apiCalls).toHaveLength(5);
  });

  it('changes nothing when a finished rotation is run again', async () => {
    const account = await seedManagedSecret(simulator, client);
    const token = newToken();
    const first = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });
    expect(first.status).toBe('completed');
    const stagesBefore = await stagesOf(client, account.secretName);
    simulator.clearRequests();

    const again = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });

    expect(again).toMatchObject({ status: 'completed', alreadyCompleted: true, rotationId: token });
    // ADR 0007: the replay of the current rotation finishes it — a DELETE of the replaced secret, which is gone.
    expect(atlasChanges(simulator)).toEqual([]);
    expect(await stagesOf(client, account.secretName)).toEqual(stagesBefore);
  });

  it('rotates with an allow-listed admin secret and refuses one that is not allow-listed', async () => {
    const { orgId } = simulator.createOrg();
    const admin = await seedAdminSecret(simulator, client, orgId);
    const managed = await seedManagedSecret(simulator, client, {
      orgId,
      roles: ['ORG_MEMBER'],
      adminSecretArn: admin.arn,
    });

    const refused = await rotateSecret(adapters()).execute({
      secretId: managed.secretName,
      token: newToken(),
    });
    expect(refused).toMatchObject({
      status: 'failed',
      errorCode: 'ADMIN_SECRET_NOT_ALLOWED',
      retryable: false,
    });

    const allowList = [`${admin.arn.slice(0, admin.arn.lastIndexOf('/'))}/*`];
    const outcome = await rotateSecret(adapters(), { adminSecretAllowList: allowList }).execute({
      secretId: managed.secretName,
      token: newToken(),
    });
    expect(outcome).toMatchObject({ status: 'completed', mode: 'admin' });
    await expectConverged(simulator, client, managed);
  });

  it('fails an unmanaged secret with SECRET_NOT_MANAGED and touches nothing', async () => {
    const account = await seedManagedSecret(simulator, client, { managed: false });
    simulator.clearRequests();
    const outcome = await rotateSecret(adapters()).execute({
      secretId: account.secretName,
      token: newToken(),
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      errorCode: 'SECRET_NOT_MANAGED',
      stage: 'read-secret',
    });
    expect(simulator.requests).toHaveLength(0);
  });

  it('stops with ATLAS_SECRET_LIMIT naming a secret that belongs to no version, unless allowed', async () => {
    const account = await seedManagedSecret(simulator, client);
    const first = await rotateSecret(adapters()).execute({ secretId: account.secretName, token: newToken() });
    expect(first.status).toBe('completed');
    const stranger = simulator.addSecret(account.orgId, account.clientId);
    plainSecrets.add(stranger.secret);
    const before = await stagesOf(client, account.secretName);

    const blocked = await rotateSecret(adapters()).execute({
      secretId: account.secretName,
      token: newToken(),
    });
    expect(blocked).toMatchObject({ status: 'failed', errorCode: 'ATLAS_SECRET_LIMIT', stage: 'make-room' });
    expect(blocked.status === 'failed' && blocked.message).toContain(stranger.id);
    const after = await stagesOf(client, account.secretName);
    // ADR 0007 leaves its claim and the tombstone that released it; the credential labels are untouched.
    for (const stage of ['AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING']) {
      expect(after.byStage[stage]).toBe(before.byStage[stage]);
    }
    expect(await openClaims(client, account.secretName)).toEqual([]);

    const allowed = await rotateSecret(adapters(), { deleteUnknownSecrets: true }).execute({
      secretId: account.secretName,
      token: newToken(),
    });
    expect(allowed).toMatchObject({ status: 'completed' });
    await expectConverged(simulator, client, account);
  });

  it("tells AWSCURRENT's secret from a stranger by Atlas's mask when the value records no id, and never names it", async () => {
    // ADR 0003 refused here and named both secrets, AWSCURRENT's own included (the adoption bug).
    const account = await seedManagedSecret(simulator, client);
    const stranger = simulator.addSecret(account.orgId, account.clientId);
    plainSecrets.add(stranger.secret);

    const blocked = await rotateSecret(adapters()).execute({
      secretId: account.secretName,
      token: newToken(),
    });
    expect(blocked).toMatchObject({ status: 'failed', errorCode: 'ATLAS_SECRET_LIMIT' });
    expect(blocked.status === 'failed' && blocked.message).toContain(stranger.id);
    expect(blocked.status === 'failed' && blocked.message).not.toContain(account.firstSecretId);

    const allowed = await rotateSecret(adapters(), { deleteUnknownSecrets: true }).execute({
      secretId: account.secretName,
      token: newToken(),
    });
    // Both deletions are the rotation's: the stranger's, to make room, and AWSCURRENT's, at the promotion.
    expect(allowed).toMatchObject({
      status: 'completed',
      deletedAtlasSecretIds: [stranger.id, account.firstSecretId],
    });
    await expectConverged(simulator, client, account);
  });

  it('rolls back when the new secret fails verification: AWSCURRENT untouched, new Atlas secret deleted', async () => {
    const account = await seedManagedSecret(simulator, client);
    const before = await valueAt(client, account.secretName, 'AWSCURRENT');
    // The first token (current credential) is minted; every later mint fails as if the new secret were bad.
    simulator.injectFault({
      method: 'POST',
      path: '/api/oauth/token',
      skip: 1,
      times: 3,
      status: 401,
      body: { error: 'invalid_client', error_description: 'Invalid client credentials' },
    });
    const token = newToken();
    const outcome = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });
    simulator.clearFaults();

    expect(outcome).toMatchObject({
      status: 'failed',
      stage: 'verify',
      errorCode: 'VERIFICATION_FAILED',
      retryable: false,
      atlasStatus: 401,
      atlasErrorCode: 'invalid_client',
    });
    // ADR 0007: AWSCURRENT moved to undo-<token>, a copy of the value it held (AWSPREVIOUS names the same).
    const { byStage, tags } = await stagesOf(client, account.secretName);
    const after = await valueAt(client, account.secretName, 'AWSCURRENT');
    expect(byStage.AWSCURRENT).toBe(`undo-${token}`);
    expect(after.json).toEqual(before.json);
    expect(byStage.AWSPREVIOUS).toBe(before.versionId);
    expect([undefined, byStage.AWSCURRENT]).toContain(byStage.AWSPENDING);
    expect(tags[TAG_ROTATION]).toBeUndefined();
    expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id)).toEqual([
      account.firstSecretId,
    ]);
    expect(await credentialWorks(simulator, account.clientId, before.json.clientSecret ?? '')).toBe(true);
  });

  it('answers ROTATION_ROLLED_BACK when a rolled-back token runs again, creating nothing in Atlas', async () => {
    // The rolled-back version keeps no label, yet on AWS it stays (deprecated) and its token is spent; LocalStack
    // deletes it, and only the AWS semantics layer keeps it (aws-emulator-semantics difference 4).
    const account = await seedManagedSecret(simulator, client);
    const before = await valueAt(client, account.secretName, 'AWSCURRENT');
    simulator.injectFault({
      method: 'POST',
      path: '/api/oauth/token',
      skip: 1,
      times: 3,
      status: 401,
      body: { error: 'invalid_client', error_description: 'Invalid client credentials' },
    });
    const token = newToken();
    const first = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });
    simulator.clearFaults();
    expect(first).toMatchObject({ status: 'failed', errorCode: 'VERIFICATION_FAILED' });

    const again = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });

    expect(again).toMatchObject({ status: 'failed', errorCode: 'ROTATION_ROLLED_BACK', retryable: false });
    expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id)).toEqual([
      account.firstSecretId,
    ]);
    const { byStage, tags } = await stagesOf(client, account.secretName);
    expect(byStage.AWSCURRENT).toBe(`undo-${token}`);
    expect((await valueAt(client, account.secretName, 'AWSCURRENT')).json).toEqual(before.json);
    expect(tags[TAG_ROTATION]).toBeUndefined();
  });

  it('recovers the orphan when the create response is lost, and never retries the POST blindly', async () => {
    const account = await seedManagedSecret(simulator, client);
    const token = newToken();
    simulator.injectFault({
      method: 'POST',
      path: `/api/atlas/v2/orgs/${account.orgId}/serviceAccounts`,
      drop: 'after',
    });
    simulator.clearRequests();
    const first = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });
    expect(first).toMatchObject({ status: 'failed', stage: 'create', retryable: true });
    expect(simulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/secrets'))).toHaveLength(
      1,
    );
    expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets).toHaveLength(2);

    const resumed = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });
    expect(resumed).toMatchObject({ status: 'completed', rotationId: token });
    await expectConverged(simulator, client, account);
  });

  it('leaves a retryable failure resumable: 503 on the verifying mint, then the same token completes', async () => {
    const account = await seedManagedSecret(simulator, client);
    const token = newToken();
    simulator.injectFault({
      method: 'POST',
      path: '/api/oauth/token',
      skip: 1,
      times: Number.POSITIVE_INFINITY,
      status: 503,
    });
    const first = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });
    simulator.clearFaults();
    expect(first).toMatchObject({ status: 'failed', stage: 'verify', retryable: true, atlasStatus: 503 });
    expect((await stagesOf(client, account.secretName)).byStage.AWSPENDING).toBe(token);

    const resumed = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });
    expect(resumed).toMatchObject({ status: 'completed' });
    await expectConverged(simulator, client, account);
  });

  it('converges after a crash between any two external calls', async () => {
    const probe = await seedManagedSecret(simulator, client);
    const counting = crashAfter(Number.POSITIVE_INFINITY);
    const clean = await rotateSecret(adapters(), {}, counting).execute({
      secretId: probe.secretName,
      token: newToken(),
    });
    expect(clean.status).toBe('completed');
    const total = counting.calls.length;
    expect(total).toBeGreaterThan(10);

    for (let k = 1; k <= total; k++) {
      const account = await seedManagedSecret(simulator, client);
      const token = newToken();
      const crash = crashAfter(k);
      const crashed = await rotateSecret(adapters(), {}, crash).execute({
        secretId: account.secretName,
        token,
      });
      // A crash on a best-effort call (revoke, lease release) still ends in a completed rotation.
      expect(['failed', 'completed'], `crash before call ${k}: ${crash.calls.at(-1)}`).toContain(
        crashed.status,
      );

      let resumed = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });
      if (resumed.status === 'failed' && resumed.errorCode === 'ROTATION_IN_PROGRESS') {
        // The crash left its claim open: it is waited for until the lease passes (here: a lease of 0).
        expect(await openClaims(client, account.secretName)).not.toEqual([]);
        resumed = await rotateSecret(adapters(), { leaseMs: 0 }).execute({
          secretId: account.secretName,
          token,
        });
      }
      expect(
        resumed.status,
        `resume after crash before call ${k}: ${crash.calls.at(-1)} ${JSON.stringify(resumed)}`,
      ).toBe('completed');
      await expectConverged(simulator, client, account);

      simulator.clearRequests();
      const again = await rotateSecret(adapters()).execute({ secretId: account.secretName, token });
      expect(again).toMatchObject({ status: 'completed', alreadyCompleted: true });
      expect(atlasChanges(simulator)).toEqual([]);
    }
  });

  it('wrote no secret value to any log line', () => {
    expect(logLines.length).toBeGreaterThan(50);
    expect(plainSecrets.size).toBeGreaterThan(10);
    const all = logLines.join('\n');
    for (const secret of plainSecrets) expect(all.includes(secret)).toBe(false);
    expect(all).not.toMatch(/mdb_sa_sk_/);
  });
});
