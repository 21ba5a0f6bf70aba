import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { emfProblems } from '../support/emf-validator.js';
import { type CliRun, runCli } from './support/event-driven-harness.js';
import {
  openClaims,
  plainSecrets,
  secretsManagerClient,
  seedManagedSecret,
  stagesOf,
  valueAt,
} from './support/rotation-harness.js';
import { registerRotationFunction } from './support/rotation-lambda.js';

const root = resolve(import.meta.dirname, '../..');
const main = join(root, 'dist/src/adapters/bootstrap/main.js');

let simulator: AtlasSimulator;
let client: SecretsManagerClient;

type Run = CliRun;

const cli = (args: string[], env: Record<string, string>): Promise<Run> =>
  runCli(args, env, { timeoutMs: 60_000 });

function atlasEnv(): Record<string, string> {
  return {
    ATLAS_BASE_URL: simulator.baseUrl,
    ATLAS_ALLOW_INSECURE_HTTP: 'true',
    VERIFY_RETRY_DELAYS_MS: '50,100',
    LOG_LEVEL: 'debug',
  };
}

function expectNoSecretIn(run: Run) {
  const output = `${run.stdout}\n${run.stderr}`;
  for (const secret of plainSecrets) expect(output.includes(secret)).toBe(false);
  expect(output).not.toMatch(/mdb_sa_sk_[A-Za-z0-9_-]{8}/);
}

beforeAll(async () => {
  if (!existsSync(main)) {
    const build = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  }
  simulator = await AtlasSimulator.start();
  client = secretsManagerClient();
}, 120_000);

afterAll(async () => {
  client.destroy();
  await simulator.close();
});

/** A Node binary older than 24 on PATH (the machines ship Node 20), or undefined when there is none. */
function olderNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'node');
    if (!existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    const major = Number.parseInt(probe.stdout.trim().split('.')[0] ?? '', 10);
    if (probe.status === 0 && major < 24) return candidate;
  }
  return undefined;
}

const oldNode = olderNode();

describe('atlas-rotator under an older Node', () => {
  if (oldNode === undefined) {
    console.info(
      'skipped the older-Node CLI test: no Node older than 24 on PATH (the unit test covers the check)',
    );
  }

  it.skipIf(oldNode === undefined)('prints one line naming the Node it needs and exits 2', () => {
    const run = spawnSync(oldNode ?? 'node', [main, 'rotate', 'any-secret'], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^atlas-rotator: needs Node 24 or newer, this is Node \d+\.\d+\.\d+/);
    expect(run.stderr).not.toContain('    at ');
  });
});

describe('atlas-rotator rotate', () => {
  it('rotates a secret, exits 0, prints the outcome and no secret value', async () => {
    const account = await seedManagedSecret(simulator, client);
    const run = await cli(['rotate', account.secretName], atlasEnv());

    expect(run.code, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout);
    expect(outcome).toMatchObject({ status: 'completed', secretName: account.secretName, mode: 'self' });
    expect(run.stderr).toContain('rotated');
    expect(run.stderr).toContain('"stage":"verify"');
    await valueAt(client, account.secretName, 'AWSCURRENT');
    await valueAt(client, account.secretName, 'AWSPREVIOUS');
    expectNoSecretIn(run);
    // The metrics go to stderr beside the log (stdout is the outcome only), as valid EMF.
    expect(run.stdout).not.toContain('_aws');
    const emf = run.stderr
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line));
    for (const doc of emf) expect(emfProblems(doc)).toEqual([]);
    expect(emf.find((doc) => 'RotationsCompleted' in doc)).toMatchObject({
      RotationsCompleted: 1,
      Mode: 'self',
      Flavour: 'atlas',
      secretArn: outcome.secretArn,
    });
    expect(emf.find((doc) => 'AtlasCalls' in doc)?.AtlasCalls).toBeGreaterThan(0);
  });

  it('resumes or confirms a rotation when given the same request id', async () => {
    const account = await seedManagedSecret(simulator, client);
    const requestId = '0b9e6c1e-7d33-4b61-a9d7-6a7c0d1e2f30';
    const first = await cli(['rotate', account.secretName, '--request-id', requestId], atlasEnv());
    expect(first.code, first.stderr).toBe(0);
    const second = await cli(['rotate', account.secretName, '--request-id', requestId], atlasEnv());
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ alreadyCompleted: true, rotationId: requestId });
    expect((await stagesOf(client, account.secretName)).byStage.AWSCURRENT).toBe(requestId);
  });

  it('exits 1 with the code and reason for an unmanaged secret', async () => {
    const account = await seedManagedSecret(simulator, client, { managed: false });
    const run = await cli(['rotate', account.secretName], atlasEnv());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('SECRET_NOT_MANAGED');
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'failed', errorCode: 'SECRET_NOT_MANAGED' });
    expectNoSecretIn(run);
  });

  it('exits 1 with ROTATION_CONFLICT, writing nothing, for a secret Secrets Manager rotates natively', async () => {
    const account = await seedManagedSecret(simulator, client);
    const fn = await registerRotationFunction(inject('awsEndpoint'), `it-cli-${randomUUID().slice(0, 8)}`);
    try {
      await client.send(
        new RotateSecretCommand({
          SecretId: account.secretName,
          RotationLambdaARN: fn.arn,
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      const before = await stagesOf(client, account.secretName);
      simulator.clearRequests();

      const run = await cli(['rotate', account.secretName], atlasEnv());

      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout)).toMatchObject({
        status: 'failed',
        errorCode: 'ROTATION_CONFLICT',
        retryable: false,
      });
      expect(run.stderr).toContain('aws secretsmanager rotate-secret');
      expect(await stagesOf(client, account.secretName)).toEqual(before);
      expect(await openClaims(client, account.secretName)).toEqual([]);
      expect(simulator.requests).toEqual([]);
      expectNoSecretIn(run);
    } finally {
      await fn.remove().catch(() => undefined);
    }
  });

  it('exits 75 when the failure is worth retrying', async () => {
    const account = await seedManagedSecret(simulator, client);
    simulator.injectFault({ path: '/api/oauth/token', status: 503, times: Number.POSITIVE_INFINITY });
    const run = await cli(['rotate', account.secretName], { ...atlasEnv(), ATLAS_MAX_ATTEMPTS: '2' });
    simulator.clearFaults();
    expect(run.code).toBe(75);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'failed', retryable: true, atlasStatus: 503 });
  });

  it('exits 2 and names every invalid setting', async () => {
    const run = await cli(['rotate', 'any'], {
      ATLAS_BASE_URL: 'http://atlas.example',
      SECRET_EXPIRES_AFTER_HOURS: '2',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('INVALID_CONFIG');
    expect(run.stderr).toContain('ATLAS_ALLOW_INSECURE_HTTP');
    expect(run.stderr).toContain('SECRET_EXPIRES_AFTER_HOURS');
  });

  it('exits 2 with usage for a missing secret id or a malformed request id', async () => {
    expect((await cli(['rotate'], atlasEnv())).code).toBe(2);
    const bad = await cli(['rotate', 'x', '--request-id', 'not valid!'], atlasEnv());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--request-id');
  });
});

describe('atlas-rotator worker', () => {
  it.each([
    ['reading its redrive policy', {}],
    ['receiving', { MAX_RECEIVE_COUNT: '3' }],
  ])('exits 1 with QUEUE_UNAVAILABLE when its queue does not exist (%s)', async (_when, extra) => {
    const endpoint = process.env.AWS_ENDPOINT_URL ?? '';
    const run = await cli(['worker'], {
      ...atlasEnv(),
      ...extra,
      ROTATION_QUEUE_URL: `${endpoint}/queue/us-east-1/000000000000/no-such-queue-${Date.now()}`,
      WAIT_TIME_SECONDS: '1',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('QUEUE_UNAVAILABLE');
    expect(run.stderr).toContain('no-such-queue');
  });
});

describe('the embedded default (demo)', () => {
  it('runs the worker, puts a request on the bus and shows the completed event, never a value', async () => {
    const run = await cli(['demo'], {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Before:');
    expect(run.stdout).toContain('After:');
    expect(run.stdout).toMatch(/AWSCURRENT/);
    expect(run.stdout).toMatch(/AWSPREVIOUS/);
    expect(run.stdout).toContain('Request put on the bus (Atlas Secret Rotation Requested)');
    expect(run.stdout).toContain('Event out (Atlas Secret Rotation Completed)');
    expect(run.stdout).toContain('"schemaVersion": 1');
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/mdb_sa_sk_[A-Za-z0-9_-]{8}/);
  });
});
