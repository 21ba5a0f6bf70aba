/**
 * `atlas-rotator plan` and `status` against the AWS emulator (behind the semantics layer) and the Atlas simulator:
 * what they report, that they write nothing (every Secrets Manager command the endpoint received, every request
 * the simulator logged), that they honour the admin allow-list and binding as a rotation does, and that no
 * secret value reaches their output.
 */
import { execFile } from 'node:child_process';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecretStore } from '../../src/adapters/outbound/aws/secrets-manager-secret-store.js';
import { NodeCryptoIdGenerator } from '../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { PlanRotation, type RotationPlan } from '../../src/application/plan-rotation.js';
import type { AtlasServiceAccounts } from '../../src/application/ports/atlas-service-accounts.js';
import { ReportStatus, type StatusReport } from '../../src/application/report-status.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { cliEnv, ensureBuilt, mainJs, root } from './support/event-driven-harness.js';
import {
  atlasChanges,
  logLines,
  newToken,
  plainSecrets,
  processAdapters,
  region,
  rotateSecret,
  secretsManagerClient,
  seedAdminSecret,
  seedManagedSecret,
  testSettings,
} from './support/rotation-harness.js';

let simulator: AtlasSimulator;
let client: SecretsManagerClient;

/** Secrets Manager commands that only read. */
const READS = new Set(['DescribeSecret', 'ListSecretVersionIds', 'GetSecretValue', 'ListSecrets']);

/** A Secrets Manager client that records the name of every command it sends to the endpoint. */
function recordingClient(commands: string[]): SecretsManagerClient {
  const recording = new SecretsManagerClient({ region });
  recording.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'record-commands' },
  );
  return recording;
}

/** The use cases on one process's adapters, their Secrets Manager commands recorded. */
function useCases(settings: { adminSecretAllowList?: string[] } = {}) {
  const commands: string[] = [];
  const adapters = processAdapters(simulator, recordingClient(commands));
  const rotation = {
    ...testSettings,
    adminSecretAllowList: settings.adminSecretAllowList ?? [],
    origins: {
      defaultBaseUrl: simulator.baseUrl,
      allowedBaseUrls: [simulator.baseUrl],
      allowInsecureHttp: true,
    },
  };
  const store = new SecretsManagerSecretStore(recordingClient(commands));
  const ids = new NodeCryptoIdGenerator();
  return {
    commands,
    adapters,
    plan: new PlanRotation(store, adapters.atlas, adapters.clock, adapters.logger, rotation, ids),
    status: new ReportStatus(store, adapters.atlas, adapters.clock, adapters.logger, rotation, ids, {
      concurrency: 4,
      rotateBeforeExpiryHours: 168,
    }),
  };
}

/** Atlas requests that were not reads: creates, deletes, patches — anything but GET, token mint and revoke. */
function atlasWrites(): string[] {
  return simulator.requests
    .filter(
      (r) => r.method !== 'GET' && !r.path.endsWith('/oauth/token') && !r.path.endsWith('/oauth/revoke'),
    )
    .map((r) => `${r.method} ${r.path}`);
}

function expectNoSecretIn(text: string) {
  for (const secret of plainSecrets) expect(text.includes(secret)).toBe(false);
  expect(text).not.toMatch(/mdb_sa_sk_[A-Za-z0-9_-]{8}/);
}

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [mainJs, ...args],
      {
        cwd: root,
        env: cliEnv({
          ATLAS_BASE_URL: simulator.baseUrl,
          ATLAS_ALLOW_INSECURE_HTTP: 'true',
          LOG_LEVEL: 'debug',
          ...env,
        }),
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  ensureBuilt();
  simulator = await AtlasSimulator.start();
  client = secretsManagerClient();
}, 120_000);

afterAll(async () => {
  expectNoSecretIn(logLines.join('\n'));
  await simulator.close();
});

describe('plan', () => {
  it('reports the expired secret a rotation would delete and the secret it would create, and writes nothing', async () => {
    const account = await seedManagedSecret(simulator, client);
    const expired = simulator.addSecret(account.orgId, account.clientId, {
      createdAt: new Date(Date.now() - 10 * 86_400_000),
      expiresAt: new Date(Date.now() - 86_400_000),
    });
    plainSecrets.add(expired.secret);
    const { plan, commands, adapters } = useCases();
    simulator.clearRequests();
    const result = await plan.execute({ secretId: account.secretName, token: newToken() });
    await adapters.close();

    expect(result.verdict).toBe('rotate');
    expect(result.stop).toBeUndefined();
    expect(result).toMatchObject({ mode: 'self', flavor: 'atlas', origin: simulator.baseUrl, step: 'start' });
    expect(result.actions).toEqual([
      { action: 'delete-atlas-secret', atlasSecretId: expired.id, reason: 'expired' },
      { action: 'create-atlas-secret', expiresAfterHours: 720, clampedFromHours: undefined },
      { action: 'store-verify-promote', retireAtlasSecretId: account.firstSecretId },
    ]);
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.filter((c) => !READS.has(c))).toEqual([]);
    expect(atlasWrites()).toEqual([]);
    expect(atlasChanges(simulator)).toEqual([]);
    expect(
      simulator
        .serviceAccount(account.orgId, account.clientId)
        ?.secrets.map((s) => s.id)
        .sort(),
    ).toEqual([account.firstSecretId, expired.id].sort());
    expectNoSecretIn(JSON.stringify(result));

    // The rotation it predicted does what it said.
    const rotation = processAdapters(simulator, client);
    const outcome = await rotateSecret(rotation).execute({ secretId: account.secretName, token: newToken() });
    await rotation.close();
    expect(outcome.status).toBe('completed');
    const deletes = simulator.requests
      .filter((r) => r.method === 'DELETE' && r.status < 300)
      .map((r) => r.path);
    expect(deletes.some((p) => p.endsWith(`/secrets/${expired.id}`))).toBe(true);
    expect(simulator.serviceAccount(account.orgId, account.clientId)?.secrets.map((s) => s.id)).not.toContain(
      expired.id,
    );
  });

  it('stops with ATLAS_SECRET_LIMIT when two live secrets leave no room, as a rotation would (exit 1)', async () => {
    const account = await seedManagedSecret(simulator, client);
    const other = simulator.addSecret(account.orgId, account.clientId, {
      createdAt: new Date(Date.now() - 3_600_000),
      expiresAt: new Date(Date.now() + 30 * 86_400_000),
    });
    plainSecrets.add(other.secret);
    simulator.clearRequests();
    const run = await cli(['plan', account.secretName]);
    const result = JSON.parse(run.stdout) as RotationPlan;
    expect(run.code).toBe(1);
    expect(result.verdict).toBe('stop');
    expect(result.stop).toMatchObject({ errorCode: 'ATLAS_SECRET_LIMIT', retryable: false });
    expect(run.stderr).toContain('ATLAS_SECRET_LIMIT');
    expect(atlasWrites()).toEqual([]);
    expectNoSecretIn(`${run.stdout}\n${run.stderr}`);

    // The rotation itself refuses alike, with the same code.
    const rotation = processAdapters(simulator, client);
    const outcome = await rotateSecret(rotation).execute({ secretId: account.secretName, token: newToken() });
    await rotation.close();
    expect(outcome).toMatchObject({ status: 'failed', errorCode: 'ATLAS_SECRET_LIMIT' });
  });

  it('never uses an admin credential off the allow-list: ADMIN_SECRET_NOT_ALLOWED, no Atlas request at all', async () => {
    const { orgId } = simulator.createOrg();
    const admin = await seedAdminSecret(simulator, client, orgId);
    const account = await seedManagedSecret(simulator, client, { orgId, adminSecretArn: admin.arn });
    const { plan, commands, adapters } = useCases({ adminSecretAllowList: [] });
    simulator.clearRequests();
    const result = await plan.execute({ secretId: account.secretArn, token: newToken() });
    await adapters.close();
    expect(result).toMatchObject({ verdict: 'stop', stop: { errorCode: 'ADMIN_SECRET_NOT_ALLOWED' } });
    expect(simulator.requests).toEqual([]);
    expect(commands.filter((c) => !READS.has(c))).toEqual([]);
  });

  it('plans an admin-mode rotation with the bound admin credential, reading only', async () => {
    const { orgId } = simulator.createOrg();
    const admin = await seedAdminSecret(simulator, client, orgId);
    const account = await seedManagedSecret(simulator, client, { orgId, adminSecretArn: admin.arn });
    const { plan, commands, adapters } = useCases({ adminSecretAllowList: [admin.arn] });
    simulator.clearRequests();
    const result = await plan.execute({ secretId: account.secretArn, token: newToken() });
    await adapters.close();
    expect(result).toMatchObject({ verdict: 'rotate', mode: 'admin', adminSecretArn: admin.arn });
    expect(result.actions.map((a) => a.action)).toEqual(['create-atlas-secret', 'store-verify-promote']);
    expect(atlasWrites()).toEqual([]);
    expect(commands.filter((c) => !READS.has(c))).toEqual([]);
    expect(simulator.requests.filter((r) => r.clientId === account.clientId)).toEqual([]);
  });

  it('refuses a secret value given as the secret id (exit 2), echoing nothing of it', async () => {
    const run = await cli(['plan', 'mdb_sa_sk_abcdefghijklmnopqrstuvwxyz']);
    expect(run.code).toBe(2);
    expect(`${run.stdout}${run.stderr}`).not.toContain('abcdefghijklmnop');
  });
});

describe('status', () => {
  it('reports each secret — rotated, unreadable in Atlas, admin not bound — and carries on, writing nothing', async () => {
    const rotated = await seedManagedSecret(simulator, client);
    const adapters = processAdapters(simulator, client);
    const token = newToken();
    const outcome = await rotateSecret(adapters).execute({ secretId: rotated.secretName, token });
    await adapters.close();
    expect(outcome.status).toBe('completed');

    // An Organization Member may mint tokens but not read its own account (facts sheet: Organization Read Only).
    const unreadable = await seedManagedSecret(simulator, client, { roles: ['ORG_MEMBER'] });
    const { orgId } = simulator.createOrg();
    const admin = await seedAdminSecret(simulator, client, orgId, [
      'arn:aws:secretsmanager:us-east-1:000000000000:secret:elsewhere/*',
    ]);
    const unbound = await seedManagedSecret(simulator, client, { orgId, adminSecretArn: admin.arn });

    const { status, commands, adapters: own } = useCases({ adminSecretAllowList: [admin.arn] });
    simulator.clearRequests();
    const report = await status.execute({
      secretIds: [rotated.secretName, unreadable.secretName, unbound.secretName],
      namePrefix: undefined,
    });
    await own.close();
    expect(report.summary.secrets).toBe(3);
    const byName = new Map(report.secrets.map((e) => [e.secretName ?? e.secretId, e]));

    const ok = byName.get(rotated.secretName);
    expect(ok).toMatchObject({ mode: 'self', flavor: 'atlas', origin: simulator.baseUrl, attention: [] });
    expect(ok?.lastRotation).toMatchObject({ outcome: 'completed', requestId: token });
    expect(ok?.current?.atlasSecretId).toBe(outcome.status === 'completed' ? outcome.newAtlasSecretId : '');
    expect(ok?.current?.hoursToExpiry).toBeGreaterThan(700);
    expect(ok?.atlasSecrets).toHaveLength(1);
    expect(ok?.atlasSecrets?.[0]).toMatchObject({ heldBy: 'AWSCURRENT' });
    expect(ok?.awaitingRetirement).toBeUndefined();

    const member = byName.get(unreadable.secretName);
    expect(member?.atlasError?.errorCode).toMatch(/^ATLAS_/);
    expect(member?.attention.map((a) => a.code)).toContain('atlas-unreadable');

    const notBound = byName.get(unbound.secretName);
    expect(notBound?.readError?.errorCode).toBe('ADMIN_SECRET_NOT_BOUND');
    expect(notBound?.attention.map((a) => a.code)).toEqual(['read-failed']);
    expect(simulator.requests.filter((r) => r.clientId === admin.clientId)).toEqual([]);

    expect(commands.filter((c) => !READS.has(c))).toEqual([]);
    expect(atlasWrites()).toEqual([]);
    expectNoSecretIn(JSON.stringify(report));
  });

  it('flags an AWSPREVIOUS secret still in Atlas as awaiting retirement', async () => {
    const account = await seedManagedSecret(simulator, client);
    const adapters = processAdapters(simulator, client);
    // Stops after the promotion: the delete of the old secret never runs.
    let calls = 0;
    const outcome = await rotateSecret(
      adapters,
      {},
      {
        atlas: (a): AtlasServiceAccounts => ({
          listSecrets: (t, as) => a.listSecrets(t, as),
          proveCredential: (t, c) => a.proveCredential(t, c),
          createSecret: (t, as, h) => a.createSecret(t, as, h),
          maxSecretValidityHours: (t, as) => a.maxSecretValidityHours(t, as),
          endRotation: (c) => a.endRotation(c),
          deleteSecret: async () => {
            calls++;
            throw new Error('simulated crash before the delete');
          },
        }),
      },
    ).execute({ secretId: account.secretName, token: newToken() });
    await adapters.close();
    expect(calls).toBe(1);
    expect(outcome.status).toBe('failed');

    const { status, adapters: own } = useCases();
    const report: StatusReport = await status.execute({
      secretIds: [account.secretName],
      namePrefix: undefined,
    });
    await own.close();
    const entry = report.secrets[0];
    expect(entry?.awaitingRetirement).toMatchObject({ atlasSecretId: account.firstSecretId, state: 'due' });
    expect(entry?.attention.map((a) => a.code)).toContain('awaiting-retirement');
    expect(entry?.atlasSecrets?.find((s) => s.id === account.firstSecretId)?.heldBy).toBe('AWSPREVIOUS');
  });

  it('shows the replaced secret in its grace (no attention), and plan stops as the rotation would until --retire-old-now', async () => {
    const account = await seedManagedSecret(simulator, client);
    const adapters = processAdapters(simulator, client);
    const first = await rotateSecret(adapters, { oldSecretGraceHours: 24 }).execute({
      secretId: account.secretName,
      token: newToken(),
    });
    expect(first.status).toBe('completed');

    const { status, plan, commands, adapters: own } = useCases();
    simulator.clearRequests();
    const report = await status.execute({ secretIds: [account.secretName], namePrefix: undefined });
    const entry = report.secrets[0];
    expect(entry?.awaitingRetirement).toMatchObject({
      atlasSecretId: account.firstSecretId,
      state: 'in-grace',
      reason: 'grace',
    });
    expect(entry?.attention).toEqual([]);

    const held = await plan.execute({ secretId: account.secretName, token: newToken() });
    expect(held).toMatchObject({
      verdict: 'stop',
      stop: { errorCode: 'OLD_SECRET_IN_GRACE', retryable: true },
    });
    expect(held.stop?.retryAt).toBe(entry?.awaitingRetirement?.retireAfter);
    const now = await plan.execute({ secretId: account.secretName, token: newToken(), retireOldNow: true });
    expect(now.verdict).toBe('rotate');
    expect(now.actions[0]).toEqual({
      action: 'delete-atlas-secret',
      atlasSecretId: account.firstSecretId,
      reason: 'previous-version',
    });
    await own.close();
    expect(commands.filter((c) => !READS.has(c))).toEqual([]);
    expect(atlasWrites()).toEqual([]);

    // The rotation agrees: held in the grace, and goes ahead "now".
    const again = processAdapters(simulator, client);
    const refused = await rotateSecret(again, { oldSecretGraceHours: 24 }).execute({
      secretId: account.secretName,
      token: newToken(),
    });
    expect(refused).toMatchObject({ status: 'failed', errorCode: 'OLD_SECRET_IN_GRACE' });
    const forced = await rotateSecret(again, { oldSecretGraceHours: 24 }).execute({
      secretId: account.secretName,
      token: newToken(),
      retireOldSecret: 'now',
    });
    await again.close();
    expect(forced.status).toBe('completed');
  });

  it('prints JSON with --json and exits 1 when a secret needs attention, with no secret in the output', async () => {
    const fine = await seedManagedSecret(simulator, client);
    const member = await seedManagedSecret(simulator, client, { roles: ['ORG_MEMBER'] });
    const good = await cli(['status', '--json', fine.secretName]);
    expect(good.code).toBe(0);
    expect((JSON.parse(good.stdout) as StatusReport).secrets[0]?.secretName).toBe(fine.secretName);
    const bad = await cli(['status', '--json', fine.secretName, member.secretName]);
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.stdout) as StatusReport).summary).toEqual({ secrets: 2, needAttention: 1 });
    expectNoSecretIn(`${good.stdout}${good.stderr}${bad.stdout}${bad.stderr}`);
  });
});
