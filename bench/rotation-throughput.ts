/**
 * `npm run bench` (scripts/bench.sh): rotation throughput on loopback, with the real adapters wired by the
 * composition root, against the in-process Atlas simulator (every Atlas call delayed by a modelled WAN round
 * trip) and the local AWS endpoint. Three measurements, each repeated and reported as median (min–max):
 *
 * 1. concurrency: wall time to rotate N secrets with 1, 2, 4, 8 rotations in flight (RotateSecret.execute);
 * 2. token cache: Atlas calls and wall time per rotation, admin-assisted (the admin's token is cached across
 *    rotations) vs self mode, one rotation at a time;
 * 3. the worker end to end: N requests on SQS -> N completed events on the bus, MAX_CONCURRENCY 1 vs 4.
 *
 * Prints ids, counts and timings only: never a secret value, token or key.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { buildContainer, disposeContainer } from '../src/adapters/bootstrap/container.js';
import { provisionLocalEventInfrastructure } from '../src/adapters/bootstrap/local-event-infrastructure.js';
import { TOKENS } from '../src/adapters/bootstrap/tokens.js';
import { loadConfig } from '../src/adapters/config/load-config.js';
import type { RotateSecret } from '../src/application/rotate-secret.js';
import { parseRotationToken } from '../src/domain/identifiers.js';
import { AtlasSimulator, type RequestLogEntry } from '../src/simulator/atlas-simulator.js';
import { deleteSecrets, type SeededSecret, seedAdminSecret, seedManagedSecret } from './support/fixtures.js';
import { formatSummary, inPool, ratio, type Summary, summarize, table } from './support/stats.js';
import { awaitCompleted, removeEventInfrastructure, sendRequests } from './support/worker-harness.js';

const TOKEN_PATH = '/api/oauth/token';
const REVOKE_PATH = '/api/oauth/revoke';

interface Options {
  readonly awsEndpointUrl: string;
  readonly region: string;
  readonly secrets: number;
  readonly repeats: number;
  readonly latencyMs: number;
  readonly concurrency: readonly number[];
  readonly tokenCacheSecrets: number;
  readonly workerConcurrency: readonly number[];
  readonly worker: boolean;
}

const USAGE = `usage: node dist/bench/rotation-throughput.js --aws-endpoint-url URL [--region us-east-1]
  [--secrets 24] [--repeats 3] [--latency-ms 40] [--concurrency 1,2,4,8] [--token-cache-secrets 8]
  [--worker-concurrency 1,4] [--no-worker]`;

function positive(name: string, raw: string, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > max)
    throw new Error(`--${name} must be 1..${max}\n${USAGE}`);
  return value;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'aws-endpoint-url': { type: 'string' },
      region: { type: 'string', default: 'us-east-1' },
      secrets: { type: 'string', default: '24' },
      repeats: { type: 'string', default: '3' },
      'latency-ms': { type: 'string', default: '40' },
      concurrency: { type: 'string', default: '1,2,4,8' },
      'token-cache-secrets': { type: 'string', default: '8' },
      'worker-concurrency': { type: 'string', default: '1,4' },
      'no-worker': { type: 'boolean', default: false },
    },
  });
  const awsEndpointUrl = values['aws-endpoint-url'];
  if (awsEndpointUrl === undefined || !URL.canParse(awsEndpointUrl)) {
    throw new Error(`--aws-endpoint-url is required (the local AWS endpoint)\n${USAGE}`);
  }
  const list = (name: string, raw: string) => raw.split(',').map((s) => positive(name, s.trim(), 64));
  const latency = values['latency-ms'];
  if (!/^\d+$/.test(latency)) throw new Error(`--latency-ms must be a whole number\n${USAGE}`);
  return {
    awsEndpointUrl,
    region: values.region,
    secrets: positive('secrets', values.secrets, 500),
    repeats: positive('repeats', values.repeats, 50),
    latencyMs: Number(latency),
    concurrency: list('concurrency', values.concurrency),
    tokenCacheSecrets: positive('token-cache-secrets', values['token-cache-secrets'], 500),
    workerConcurrency: list('worker-concurrency', values['worker-concurrency']),
    worker: !values['no-worker'],
  };
}

const out = (text: string): void => {
  process.stdout.write(text);
};
const progress = (text: string): void => {
  process.stderr.write(`bench: ${text}\n`);
};

/** The service's environment for this run: the simulator as Atlas, the local endpoint as AWS. */
function benchEnv(options: Options, simulator: AtlasSimulator, extra: Record<string, string>) {
  return {
    AWS_REGION: options.region,
    AWS_ENDPOINT_URL: options.awsEndpointUrl,
    ATLAS_BASE_URL: simulator.baseUrl,
    ATLAS_ALLOWED_BASE_URLS: simulator.baseUrl,
    ATLAS_ALLOW_INSECURE_HTTP: 'true',
    VERIFY_RETRY_DELAYS_MS: '100,200',
    // It rotates each secret many times a minute.
    ROTATION_MIN_INTERVAL_MINUTES: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

async function rotate(rotateSecret: RotateSecret, secret: SeededSecret): Promise<void> {
  const outcome = await rotateSecret.execute({
    secretId: secret.name,
    token: parseRotationToken(randomUUID()),
  });
  if (outcome.status !== 'completed') {
    throw new Error(`rotation of ${secret.name} failed at ${outcome.stage}: ${outcome.errorCode}`);
  }
}

/** Wall time in ms of `run`, with the Atlas requests it made (from the simulator's request log). */
async function measured(
  simulator: AtlasSimulator,
  run: () => Promise<void>,
): Promise<{ ms: number; requests: readonly RequestLogEntry[] }> {
  simulator.clearRequests();
  const start = performance.now();
  await run();
  const ms = performance.now() - start;
  return { ms, requests: simulator.requests };
}

const perSecond = (count: number, ms: number) => (count / (ms / 1000)).toFixed(2);

async function concurrencySection(
  options: Options,
  simulator: AtlasSimulator,
  rotateSecret: RotateSecret,
  secrets: readonly SeededSecret[],
): Promise<Map<number, Summary>> {
  const results = new Map<number, Summary>();
  const calls = new Map<number, number>();
  for (const level of options.concurrency) {
    const samples: number[] = [];
    for (let r = 0; r < options.repeats; r += 1) {
      progress(`concurrency ${level}, run ${r + 1}/${options.repeats}`);
      const { ms, requests } = await measured(simulator, () =>
        inPool(secrets, level, (secret) => rotate(rotateSecret, secret)),
      );
      samples.push(ms);
      calls.set(level, requests.length / secrets.length);
    }
    results.set(level, summarize(samples));
  }
  const base = results.get(options.concurrency[0] ?? 1);
  out(`\n1. Concurrency: ${secrets.length} rotations (self mode), RotateSecret.execute with k in flight\n\n`);
  out(
    `${table(
      [
        'in flight',
        'wall, median (min–max)',
        'rotations/s',
        'Atlas calls/rotation',
        `speed-up vs ${options.concurrency[0] ?? 1}`,
      ],
      options.concurrency.map((level) => {
        const s = results.get(level) as Summary;
        return [
          String(level),
          formatSummary(s, 's'),
          perSecond(secrets.length, s.median),
          (calls.get(level) ?? 0).toFixed(2),
          base === undefined ? '-' : ratio(base.median / s.median),
        ];
      }),
    )}\n`,
  );
  return results;
}

interface ModeResult {
  readonly perRotationMs: Summary;
  readonly calls: number;
  readonly tokenMints: number;
  readonly revokes: number;
}

async function tokenCacheSection(
  options: Options,
  simulator: AtlasSimulator,
  rotateSecret: RotateSecret,
  self: readonly SeededSecret[],
  admin: readonly SeededSecret[],
  adminClientId: string,
): Promise<{ self: ModeResult; admin: ModeResult }> {
  const samples = { self: [] as number[], admin: [] as number[] };
  const totals = {
    self: { calls: 0, mints: 0, revokes: 0, rotations: 0 },
    admin: { calls: 0, mints: 0, revokes: 0, rotations: 0 },
  };
  let adminMints = 0;
  for (let r = 0; r < options.repeats; r += 1) {
    // Alternate the order so that drift over the run does not favour one mode.
    const order: ('self' | 'admin')[] = r % 2 === 0 ? ['self', 'admin'] : ['admin', 'self'];
    for (const mode of order) {
      progress(`token cache, ${mode} mode, run ${r + 1}/${options.repeats}`);
      const secrets = mode === 'self' ? self : admin;
      const { ms, requests } = await measured(simulator, async () => {
        for (const secret of secrets) await rotate(rotateSecret, secret);
      });
      samples[mode].push(ms / secrets.length);
      const t = totals[mode];
      t.calls += requests.length;
      t.mints += requests.filter((q) => q.path === TOKEN_PATH).length;
      t.revokes += requests.filter((q) => q.path === REVOKE_PATH).length;
      t.rotations += secrets.length;
      adminMints += requests.filter((q) => q.path === TOKEN_PATH && q.clientId === adminClientId).length;
    }
  }
  const result = (mode: 'self' | 'admin'): ModeResult => {
    const t = totals[mode];
    return {
      perRotationMs: summarize(samples[mode]),
      calls: t.calls / t.rotations,
      tokenMints: t.mints / t.rotations,
      revokes: t.revokes / t.rotations,
    };
  };
  const selfResult = result('self');
  const adminResult = result('admin');
  out(
    `\n2. Token cache: ${options.tokenCacheSecrets} rotations per mode per run, one at a time; admin-assisted` +
      ` uses one admin account for all\n   (its cached token was minted ${adminMints} times` +
      ` in ${totals.admin.rotations} measured rotations)\n\n`,
  );
  out(
    `${table(
      [
        'mode',
        'Atlas calls/rotation',
        'token mints/rotation',
        'revokes/rotation',
        'per rotation, median (min–max)',
      ],
      [
        ['self', selfResult],
        ['admin-assisted', adminResult],
      ].map(([name, r]) => {
        const m = r as ModeResult;
        return [
          name as string,
          m.calls.toFixed(2),
          m.tokenMints.toFixed(2),
          m.revokes.toFixed(2),
          formatSummary(m.perRotationMs, 'ms'),
        ];
      }),
    )}\n`,
  );
  out(
    `  admin-assisted / self: Atlas calls ${ratio(adminResult.calls / selfResult.calls)},` +
      ` time per rotation ${ratio(adminResult.perRotationMs.median / selfResult.perRotationMs.median)}\n`,
  );
  return { self: selfResult, admin: adminResult };
}

async function workerSection(
  options: Options,
  simulator: AtlasSimulator,
  secrets: readonly SeededSecret[],
  prefix: string,
): Promise<Map<number, Summary>> {
  const aws = { region: options.region, endpoint: options.awsEndpointUrl };
  const sqs = new SQSClient(aws);
  const eventBridge = new EventBridgeClient(aws);
  const wiringPrefix = `${prefix}-w`;
  const results = new Map<number, Summary>();
  const wiring = await provisionLocalEventInfrastructure(
    { sqs, eventBridge },
    { prefix: wiringPrefix, maxReceiveCount: 3 },
  );
  try {
    for (const level of options.workerConcurrency) {
      const config = loadConfig(
        benchEnv(options, simulator, {
          ROTATION_QUEUE_URL: wiring.requestQueueUrl,
          EVENT_BUS_NAME: wiring.eventBusName,
          EVENT_SOURCE: wiring.eventSource,
          MAX_CONCURRENCY: String(level),
          MAX_RECEIVE_COUNT: '3',
          WAIT_TIME_SECONDS: '1',
          SHUTDOWN_GRACE_SECONDS: '30',
        }),
      );
      const container = buildContainer(config);
      const stop = new AbortController();
      let running: Promise<void> = Promise.resolve();
      try {
        const worker = await container.getAsync(TOKENS.worker);
        running = worker.run(stop.signal);
        const round = async (batch: readonly SeededSecret[]) => {
          const ids = await sendRequests(sqs, wiring.requestQueueUrl, batch);
          await awaitCompleted(sqs, wiring.captureQueueUrl, ids, 120_000);
        };
        progress(`worker MAX_CONCURRENCY=${level}, warm-up`);
        await round(secrets.slice(0, Math.max(level, 2)));
        const samples: number[] = [];
        for (let r = 0; r < options.repeats; r += 1) {
          progress(`worker MAX_CONCURRENCY=${level}, run ${r + 1}/${options.repeats}`);
          const start = performance.now();
          await round(secrets);
          samples.push(performance.now() - start);
        }
        results.set(level, summarize(samples));
      } finally {
        stop.abort();
        await running;
        await disposeContainer(container);
      }
    }
  } finally {
    await removeEventInfrastructure({ sqs, eventBridge }, wiring, wiringPrefix);
    sqs.destroy();
    eventBridge.destroy();
  }
  const base = results.get(options.workerConcurrency[0] ?? 1);
  out(
    `\n3. Worker end to end: ${secrets.length} requests on SQS -> ${secrets.length} completed events` +
      ' on EventBridge (captured through a rule to a queue)\n\n',
  );
  out(
    `${table(
      [
        'MAX_CONCURRENCY',
        'wall, median (min–max)',
        'rotations/s',
        `speed-up vs ${options.workerConcurrency[0] ?? 1}`,
      ],
      options.workerConcurrency.map((level) => {
        const s = results.get(level) as Summary;
        return [
          String(level),
          formatSummary(s, 's'),
          perSecond(secrets.length, s.median),
          base === undefined ? '-' : ratio(base.median / s.median),
        ];
      }),
    )}\n`,
  );
  return results;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = performance.now();
  const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
  out('atlas-rotator benchmark: rotation throughput\n');
  out(
    `  ${new Date().toISOString()} · Node ${process.versions.node} · ${availableParallelism()} cores (${cpuModel})\n`,
  );
  out(
    `  Atlas simulator in-process, ${options.latencyMs} ms injected per Atlas request (modelled WAN round trip);` +
      ` AWS: local endpoint on loopback\n`,
  );
  out(
    `  ${options.secrets} managed secrets, ${options.repeats} runs per measurement after one warm-up;` +
      ' times are median (min–max)\n',
  );

  // The benchmark measures the rotator, not Atlas's per-client token limit (50/min by default in the simulator),
  // which an uncached run over one admin account would hit within seconds.
  const simulator = await AtlasSimulator.start({ tokenRateLimit: null });
  simulator.injectFault({ latencyMs: options.latencyMs, times: Number.POSITIVE_INFINITY });
  const secretsClient = new SecretsManagerClient({
    region: options.region,
    endpoint: options.awsEndpointUrl,
  });
  const prefix = `atlas-rotator-bench-${randomUUID().slice(0, 8)}`;
  const seeded: SeededSecret[] = [];
  try {
    progress(`seeding ${options.secrets + options.tokenCacheSecrets + 1} secrets under ${prefix}/`);
    const { orgId } = simulator.createOrg();
    const admin = await seedAdminSecret(simulator, secretsClient, {
      orgId,
      name: `${prefix}/admin`,
      servesNamePrefix: `${prefix}/`,
    });
    seeded.push(admin);
    const selfSecrets: SeededSecret[] = [];
    const adminSecrets: SeededSecret[] = [];
    await inPool(
      Array.from({ length: options.secrets }, (_, i) => i),
      4,
      async (i) => {
        const secret = await seedManagedSecret(simulator, secretsClient, {
          orgId,
          name: `${prefix}/self-${i}`,
        });
        selfSecrets.push(secret);
        seeded.push(secret);
      },
    );
    await inPool(
      Array.from({ length: options.tokenCacheSecrets }, (_, i) => i),
      4,
      async (i) => {
        const secret = await seedManagedSecret(simulator, secretsClient, {
          orgId,
          name: `${prefix}/admin-assisted-${i}`,
          adminSecretArn: admin.arn,
        });
        adminSecrets.push(secret);
        seeded.push(secret);
      },
    );

    const container = buildContainer(
      loadConfig(benchEnv(options, simulator, { ADMIN_SECRET_ARNS: admin.arn })),
    );
    let concurrency: Map<number, Summary>;
    let tokens: { self: ModeResult; admin: ModeResult };
    try {
      const rotateSecret = await container.getAsync(TOKENS.rotateSecret);
      progress('warm-up: every secret rotated once');
      await inPool(selfSecrets, Math.max(...options.concurrency), (s) => rotate(rotateSecret, s));
      for (const secret of adminSecrets) await rotate(rotateSecret, secret);

      concurrency = await concurrencySection(options, simulator, rotateSecret, selfSecrets);
      tokens = await tokenCacheSection(
        options,
        simulator,
        rotateSecret,
        selfSecrets.slice(0, options.tokenCacheSecrets),
        adminSecrets,
        admin.clientId,
      );
    } finally {
      await disposeContainer(container);
    }
    const worker = options.worker ? await workerSection(options, simulator, selfSecrets, prefix) : undefined;

    out('\nRatios\n');
    const first = options.concurrency[0] ?? 1;
    const base = concurrency.get(first);
    if (base !== undefined) {
      const ups = options.concurrency
        .slice(1)
        .map((level) => `${level}: ${ratio(base.median / (concurrency.get(level) as Summary).median)}`);
      out(`  ${`rotations/s vs ${first} in flight`.padEnd(34)}${ups.join('   ')}\n`);
    }
    out(
      `  ${'admin-assisted / self'.padEnd(34)}Atlas calls ${ratio(tokens.admin.calls / tokens.self.calls)}` +
        `   time per rotation ${ratio(tokens.admin.perRotationMs.median / tokens.self.perRotationMs.median)}\n`,
    );
    if (worker !== undefined) {
      const firstLevel = options.workerConcurrency[0] ?? 1;
      const w = worker.get(firstLevel);
      if (w !== undefined) {
        const ups = options.workerConcurrency
          .slice(1)
          .map((level) => `${level}: ${ratio(w.median / (worker.get(level) as Summary).median)}`);
        out(`  ${`worker vs MAX_CONCURRENCY ${firstLevel}`.padEnd(34)}${ups.join('   ')}\n`);
      }
    }
    out(`\n  total ${((performance.now() - startedAt) / 1000).toFixed(0)} s\n`);
  } finally {
    await deleteSecrets(secretsClient, seeded);
    secretsClient.destroy();
    await simulator.close();
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
