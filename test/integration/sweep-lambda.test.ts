/**
 * The sweep's Lambda entry (`src/adapters/bootstrap/sweep-lambda.ts`) as EventBridge Scheduler invokes it,
 * in this process: the real queue and Secrets Manager (the emulator behind the semantics layer), the Atlas
 * simulator. Each test sweeps its own name prefix (SWEEP_NAME_PREFIX): the emulator holds other suites'
 * managed secrets too.
 */
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SweepFailedError } from '../../src/adapters/bootstrap/sweep-lambda.js';
import type { SweepReport } from '../../src/application/sweep-secrets.js';
import { InvalidConfigError } from '../../src/domain/errors.js';
import { TAG_MANAGED } from '../../src/domain/rotation-metadata.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { emfProblems } from '../support/emf-validator.js';
import { EventDrivenInfra, type WorkQueue } from './support/event-driven-harness.js';
import { plainSecrets, secretsManagerClient, seedRecordedSecret } from './support/rotation-harness.js';

let simulator: AtlasSimulator;
let infra: EventDrivenInfra;
let queue: WorkQueue;
let handler: () => Promise<SweepReport>;
const client = secretsManagerClient();
const saved = { ...process.env };

beforeAll(async () => {
  simulator = await AtlasSimulator.start();
  infra = await EventDrivenInfra.create();
  queue = await infra.createWorkQueue('sweep-lambda', { fifo: false });
  ({ handler } = await import('../../src/adapters/bootstrap/sweep-lambda.js'));
}, 120_000);

afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

afterAll(async () => {
  process.env = saved;
  await infra?.destroy();
  client.destroy();
  await simulator?.close();
});

/** The function's configuration as the CDK app sets it, for one prefix. */
function configure(prefix: string, overrides: Record<string, string | undefined> = {}) {
  Object.assign(process.env, {
    ATLAS_BASE_URL: simulator.baseUrl,
    ATLAS_ALLOW_INSECURE_HTTP: 'true',
    ATLAS_MAX_ATTEMPTS: '1',
    ROTATION_QUEUE_URL: queue.url,
    ROTATE_BEFORE_EXPIRY_HOURS: '336',
    SWEEP_CONCURRENCY: '2',
    SWEEP_NAME_PREFIX: prefix,
    LOG_LEVEL: 'debug',
  });
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

/** Everything the invocation writes to stdout (the report) and stderr (the log), captured. */
function captureOutput() {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  return {
    all: () => written.join(''),
    /** The report line: the one JSON document on stdout. */
    reports: () =>
      stdout.mock.calls
        .map(([chunk]) => String(chunk))
        .filter((line) => line.startsWith('{"mode"') || line.startsWith('{"status"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

function expectNoSecretIn(output: string) {
  for (const secret of plainSecrets) expect(output.includes(secret)).toBe(false);
  expect(output).not.toMatch(/mdb_sa_sk_[A-Za-z0-9_-]{8}/);
}

/** A managed secret under `prefix` for a new service account whose Atlas secret lives `hours`. */
async function seedSecret(prefix: string, orgId: string, hours: number) {
  const seeded = await seedRecordedSecret(simulator, client, { prefix, orgId, hours });
  return { arn: seeded.secretArn, atlasSecretId: seeded.firstSecretId, clientId: seeded.clientId };
}

/** Every message on the queue now, deleted as read. */
async function drain(): Promise<Message[]> {
  const all: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await infra.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (Messages.length === 0) {
      empty += 1;
      continue;
    }
    all.push(...Messages);
    await infra.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return all;
}

describe('the sweep Lambda handler', () => {
  it('requests a rotation for the due secret only, resolves with the report and writes it as one JSON line', async () => {
    const prefix = `sweep-lambda/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const due = await seedSecret(prefix, orgId, 100);
    const fresh = await seedSecret(prefix, orgId, 2160);
    configure(prefix);
    const output = captureOutput();

    const report = await handler();

    vi.restoreAllMocks();
    expect(report).toMatchObject({
      mode: 'request',
      rotateBeforeExpiryHours: 336,
      namePrefix: prefix,
      summary: { secrets: 2, due: 1, permanentFailures: 0, retryableFailures: 0 },
    });
    expect(report.secrets.find((e) => e.secretArn === due.arn)).toMatchObject({
      action: 'requested',
      atlasSecretId: due.atlasSecretId,
    });
    expect(report.secrets.find((e) => e.secretArn === fresh.arn)?.action).toBe('not-due');
    expect(output.reports()).toEqual([JSON.parse(JSON.stringify(report))]);
    const messages = await drain();
    expect(messages.map((m) => JSON.parse(m.Body ?? '{}').secretId)).toEqual([due.arn]);
    expectNoSecretIn(output.all());
  });

  it('puts the Lambda request id, function name and cold start on every log line, at AWS_LAMBDA_LOG_LEVEL', async () => {
    const prefix = `sweep-lambda/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    await seedSecret(prefix, orgId, 100);
    // The function's advanced logging controls say DEBUG: they decide over LOG_LEVEL.
    configure(prefix, { LOG_LEVEL: 'error', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' });
    vi.resetModules();
    const fresh = await import('../../src/adapters/bootstrap/sweep-lambda.js');
    const output = captureOutput();
    const functionName = 'atlas-rotator-sweep';
    await fresh.handler({}, { awsRequestId: 'sweep-invocation-1', functionName });
    await fresh.handler({}, { awsRequestId: 'sweep-invocation-2', functionName });
    vi.restoreAllMocks();
    await drain();
    const lines = output
      .all()
      .split('\n')
      .filter((l) => l.startsWith('{"time"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(4);
    expect(lines.some((l) => l.level === 'info')).toBe(true);
    for (const line of lines) {
      expect(line).toMatchObject({ functionName });
      expect(line.coldStart).toBe(line.lambdaRequestId === 'sweep-invocation-1');
    }
    expect(new Set(lines.map((l) => l.lambdaRequestId))).toEqual(
      new Set(['sweep-invocation-1', 'sweep-invocation-2']),
    );
    expectNoSecretIn(output.all());
  });

  it('writes its metrics as EMF on stdout, the function log: hours to expiry per secret, and the sweep', async () => {
    const prefix = `sweep-lambda/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const due = await seedSecret(prefix, orgId, 100);
    const fresh = await seedSecret(prefix, orgId, 2160);
    configure(prefix, { AWS_LAMBDA_FUNCTION_NAME: 'atlas-rotator-sweep', METRICS_SERVICE: 'sweep-test' });
    const stdout: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      stdout.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

    await handler();

    vi.restoreAllMocks();
    await drain();
    const emf = stdout.filter((line) => line.startsWith('{"_aws"')).map((line) => JSON.parse(line));
    for (const doc of emf) expect(emfProblems(doc)).toEqual([]);
    const hours = Object.fromEntries(
      emf.filter((d) => 'HoursToExpiry' in d).map((d) => [d.secretArn, Math.round(d.HoursToExpiry)]),
    );
    expect(hours).toEqual({ [due.arn]: 100, [fresh.arn]: 2160 });
    expect(emf.find((d) => 'SweepSecrets' in d)).toMatchObject({
      Service: 'sweep-test',
      SweepSecrets: 2,
      SweepDue: 1,
    });
    expect(emf.find((d) => 'AtlasCalls' in d)?.AtlasCalls).toBeGreaterThan(0);
    expectNoSecretIn(stdout.join(''));
  });

  it('fails the invocation (permanent) when a secret cannot be handled for good, with the report written', async () => {
    const prefix = `sweep-lambda/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const due = await seedSecret(prefix, orgId, 20);
    const broken = await client.send(
      new CreateSecretCommand({
        Name: `${prefix}/broken`,
        SecretString: JSON.stringify({
          clientId: 'not-a-client-id',
          clientSecret: 'mdb_sa_sk_not_real_lambda_0',
        }),
        Tags: [{ Key: TAG_MANAGED, Value: 'true' }],
      }),
    );
    plainSecrets.add('mdb_sa_sk_not_real_lambda_0');
    configure(prefix);
    const output = captureOutput();

    const failure = await handler().then(
      () => undefined,
      (error: unknown) => error,
    );

    vi.restoreAllMocks();
    expect(failure).toBeInstanceOf(SweepFailedError);
    expect(failure).toMatchObject({
      code: 'SWEEP_FAILED',
      retryable: false,
      permanentFailures: 1,
      retryableFailures: 0,
      errorCodes: ['INVALID_SECRET_VALUE'],
    });
    const [written] = output.reports();
    expect(written?.summary).toMatchObject({ secrets: 2, due: 1, permanentFailures: 1 });
    expect(
      ((written?.secrets ?? []) as { secretArn: string; action: string }[])
        .map((e) => [e.secretArn, e.action])
        .sort(),
    ).toEqual(
      [
        [broken.ARN, 'skipped'],
        [due.arn, 'requested'],
      ].sort(),
    );
    // The due secret was still requested: one unsettled secret does not hold up the others.
    expect((await drain()).map((m) => JSON.parse(m.Body ?? '{}').secretId)).toEqual([due.arn]);
    expectNoSecretIn(`${output.all()}\n${String((failure as Error).message)}`);
  });

  it('fails the invocation as retryable when every failure may pass (Atlas answering 503)', async () => {
    const prefix = `sweep-lambda/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const flaky = await seedSecret(prefix, orgId, 2160);
    await seedSecret(prefix, orgId, 2160);
    simulator.injectFault({
      method: 'GET',
      path: `/api/atlas/v2/orgs/${orgId}/serviceAccounts/${flaky.clientId}`,
      status: 503,
      times: Number.POSITIVE_INFINITY,
    });
    configure(prefix);
    captureOutput();
    try {
      await expect(handler()).rejects.toMatchObject({
        code: 'SWEEP_FAILED',
        retryable: true,
        permanentFailures: 0,
        retryableFailures: 1,
        errorCodes: ['ATLAS_UNAVAILABLE'],
      });
    } finally {
      simulator.clearFaults();
    }
    expect(await drain()).toEqual([]);
  });

  it('fails naming the key when it has no queue to send requests to, looking at no secret', async () => {
    configure('sweep-lambda/none', { ROTATION_QUEUE_URL: undefined });
    captureOutput();
    await expect(handler()).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(handler()).rejects.toThrow(/ROTATION_QUEUE_URL is required/);
  });
});
