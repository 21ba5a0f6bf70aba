/**
 * `npm run bench` (scripts/bench.sh): atlas-rotator against what a user would otherwise run — the same rotation
 * written as AWS's rotation-function templates structure it (bench/support/template-rotation.ts) — on the same
 * endpoints and latency model: LocalStack behind a proxy adding 10 ms per Secrets Manager call, the in-process
 * Atlas simulator behind a proxy adding 40 ms per Atlas call. The proxies record every call they forward, so
 * cost and critical path are counted from what the endpoints received. The rotations run in a child process
 * (bench/support/rotation-runner.ts): its CPU and peak RSS are the rotator's alone. Five sections:
 *
 * 1. cost per rotation (one in flight): Secrets Manager calls by quota group, Atlas calls, sequential round trips;
 * 2. throughput and latency, atlas-rotator vs the template, at 1, 8, 64 in flight, and the ratio;
 * 3. scaling of atlas-rotator at 1, 8, 64, 256 in flight: efficiency, and the CPU LocalStack, the simulator (with
 *    the proxies) and the rotator took, measured from /proc and process.cpuUsage;
 * 4. under Atlas's limits: 200 rotations of 200 accounts in one org with the Admin API bucket on;
 * 5. memory: the rotator's peak RSS at 256 in flight.
 *
 * Prints ids, counts, timings and ratios only: never a secret value, token or key.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Pool } from 'undici';
import { AtlasAdminApiClient } from '../src/adapters/outbound/atlas/atlas-admin-api-client.js';
import { createAtlasDispatcher } from '../src/adapters/outbound/atlas/create-atlas-dispatcher.js';
import { SystemClock } from '../src/adapters/outbound/system/system-clock.js';
import { parseApiVersion, parseClientId, parseOrgId } from '../src/domain/identifiers.js';
import { SecretValue } from '../src/domain/secret-value.js';
import { AtlasSimulator } from '../src/simulator/atlas-simulator.js';
import {
  CountingProxy,
  type ProxiedCall,
  roundTripGroups,
  sequentialRoundTrips,
  smQuotaGroup,
} from './support/counting-proxy.js';
import { deleteSecrets, type SeededSecret, seedManagedSecret } from './support/fixtures.js';
import { productNodeFlags } from './support/product-node-flags.js';
import type { RunnerInput, RunnerOutput, RunnerRun } from './support/rotation-runner.js';
import { inPool, ratio, summarize, table } from './support/stats.js';
import { mintToken } from './support/template-rotation.js';

const run = promisify(execFile);

interface Options {
  readonly awsEndpointUrl: string;
  readonly region: string;
  readonly repeats: number;
  readonly quick: boolean;
  readonly emulatorPid: number | undefined;
  /** Diagnosis: one V8 heap snapshot of the rotator at 256 in flight, when its heap passes heapSnapshotAtMb. */
  readonly heapSnapshot: string | undefined;
  readonly heapSnapshotAtMb: number;
  /**
   * `memory`: section 5 alone (the rotator at 1, 8, 64, 256 in flight), a short run to measure memory; `limits`:
   * section 4 alone.
   */
  readonly only: 'memory' | 'limits' | undefined;
  /** Diagnosis: settings of the rotator other than its defaults (`--rotator-env NAME=VALUE`), printed as such. */
  readonly rotatorEnv: Readonly<Record<string, string>>;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'aws-endpoint-url': { type: 'string' },
      region: { type: 'string', default: 'us-east-1' },
      repeats: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'emulator-pid': { type: 'string' },
      'heap-snapshot': { type: 'string' },
      'heap-snapshot-at-mb': { type: 'string', default: '100' },
      only: { type: 'string' },
      'rotator-env': { type: 'string', multiple: true, default: [] },
    },
  });
  const only = values.only;
  if (only !== undefined && only !== 'memory' && only !== 'limits')
    throw new Error('--only takes memory or limits');
  const rotatorEnv: Record<string, string> = {};
  for (const pair of values['rotator-env']) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (match === null) throw new Error('--rotator-env takes NAME=VALUE');
    // Its values are printed in the header: settings only, never a credential.
    if (/SECRET|TOKEN|PASSWORD|CREDENTIAL|KEY|HEADERS/.test(match[1] as string))
      throw new Error(`--rotator-env is for settings, not credentials: ${match[1]} is refused`);
    rotatorEnv[match[1] as string] = match[2] as string;
  }
  const awsEndpointUrl = values['aws-endpoint-url'];
  if (awsEndpointUrl === undefined || !URL.canParse(awsEndpointUrl))
    throw new Error('--aws-endpoint-url is required (the local AWS endpoint)');
  const repeats = Number(values.repeats ?? (values.quick ? '1' : '3'));
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) throw new Error('--repeats must be 1..20');
  const pid = values['emulator-pid'] === undefined ? undefined : Number(values['emulator-pid']);
  return {
    awsEndpointUrl,
    region: values.region,
    repeats,
    quick: values.quick,
    emulatorPid: pid,
    heapSnapshot: values['heap-snapshot'],
    heapSnapshotAtMb: Number(values['heap-snapshot-at-mb']),
    only,
    rotatorEnv,
  };
}

const out = (text: string): void => {
  process.stdout.write(text);
};
const progress = (text: string): void => {
  process.stderr.write(`bench: ${text}\n`);
};

const SM_LATENCY_MS = 10;
const ATLAS_LATENCY_MS = 40;
const LEVELS = [1, 8, 64, 256] as const;
/** Rotations per run at each level: enough to keep the level in flight for a while, bounded for a 2-core box. */
const COUNT: Record<number, number> = { 1: 8, 8: 32, 64: 128, 256: 256 };
const rotationsAt = (inFlight: number): number => COUNT[inFlight] ?? inFlight;

/** Hands out seeded secrets, each once: every rotation in the bench is the first of its secret. */
class FreshSecrets {
  #next = 0;
  readonly #seeded: readonly SeededSecret[];
  constructor(seeded: readonly SeededSecret[]) {
    this.#seeded = seeded;
  }
  take(count: number): SeededSecret[] {
    if (this.#next + count > this.#seeded.length)
      throw new Error('bench: fewer fresh secrets seeded than used');
    const taken = this.#seeded.slice(this.#next, this.#next + count);
    this.#next += count;
    return taken;
  }
}
/** Atlas's Admin API bucket in section 4: 60 requests, refilled at 20 per second. */
const BUCKET = { capacity: 60, refillRate: 20, refillDurationSeconds: 1 } as const;

/** CPU ms of a process and its live descendants (utime + stime from /proc), or undefined without /proc. */
function treeCpuMs(rootPid: number | undefined): number | undefined {
  if (rootPid === undefined) return undefined;
  const tick = 100; // USER_HZ on Linux
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      cpu.set(Number(entry), ((Number(fields[11]) + Number(fields[12])) * 1000) / tick);
    } catch {
      // The process ended while we read.
    }
  }
  let total = 0;
  for (const [pid, ms] of cpu) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === rootPid) {
        total += ms;
        break;
      }
    }
  }
  return total;
}

interface Bench {
  readonly options: Options;
  readonly simulator: AtlasSimulator;
  readonly smProxy: CountingProxy;
  readonly atlasProxy: CountingProxy;
}

interface Measured {
  readonly output: RunnerOutput;
  readonly emulatorCpuMs: number[];
  readonly parentCpuMs: number[];
}

/** The worker's Node flags, as its image runs it: every rotator child runs with them. */
const PRODUCT_NODE_FLAGS = productNodeFlags();
/**
 * Section 5's comparison: 256 in flight once more with node's defaults (no flag), to show what the shipped flags
 * buy (ADR 0014: V8's default young generation and heap growth, not live data, made most of the peak).
 */
const MEMORY_TRIALS: readonly (readonly string[])[] = [[]];

async function runner(
  bench: Bench,
  input: Omit<RunnerInput, 'env' | 'endpoints'>,
  nodeFlags: readonly string[] = PRODUCT_NODE_FLAGS,
): Promise<Measured> {
  const { options, smProxy, atlasProxy } = bench;
  const full: RunnerInput = {
    ...input,
    env: {
      AWS_REGION: options.region,
      AWS_ENDPOINT_URL: smProxy.url,
      ATLAS_BASE_URL: atlasProxy.url,
      ATLAS_ALLOWED_BASE_URLS: atlasProxy.url,
      ATLAS_ALLOW_INSECURE_HTTP: 'true',
      // Everything else at its default, as a user runs it: OLD_SECRET_GRACE_HOURS 24 (the old Atlas secret stays
      // valid and the sweep retires it later, so no rotation deletes one), ATLAS_MAX_CONNECTIONS 64. Each secret
      // is seeded as atlas-rotator writes a value (it names its Atlas secret: the steady state), so its version's
      // creation counts as a rotation a moment ago; ROTATION_MIN_INTERVAL_MINUTES 0 lets it be rotated now (the
      // check is a comparison of two timestamps, no call either way). No secret is rotated twice.
      ROTATION_MIN_INTERVAL_MINUTES: '0',
      // Shorter verification waits than the default 500,1000,2000,4000 (the simulator knows a new secret at
      // once, so none is waited), and errors only in the log.
      VERIFY_RETRY_DELAYS_MS: '100,200',
      LOG_LEVEL: 'error',
      ...options.rotatorEnv,
    },
    endpoints: { region: options.region, secretsManagerUrl: smProxy.url, atlasUrl: atlasProxy.url },
  };
  // The child measures each run; the parent samples LocalStack and itself around the whole child, per run
  // only when there is one run (the child's runs are back to back).
  const emulatorBefore = treeCpuMs(options.emulatorPid);
  const parentBefore = process.cpuUsage();
  const { stdout } = await run(
    process.execPath,
    [...nodeFlags, 'dist/bench/support/rotation-runner.js', JSON.stringify(full)],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const emulatorAfter = treeCpuMs(options.emulatorPid);
  const parentUsed = process.cpuUsage(parentBefore);
  const output = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as RunnerOutput;
  const per = (total: number) => output.runs.map(() => total / output.runs.length);
  return {
    output,
    emulatorCpuMs:
      emulatorBefore === undefined || emulatorAfter === undefined ? [] : per(emulatorAfter - emulatorBefore),
    parentCpuMs: per((parentUsed.user + parentUsed.system) / 1000),
  };
}

const median = (values: readonly number[]) => summarize(values).median;

/** Checks that AWSCURRENT of every secret holds a credential Atlas accepts (straight to both, no proxy). */
async function verifyRotated(bench: Bench, secrets: readonly SeededSecret[]): Promise<number> {
  const sm = new SecretsManagerClient({
    region: bench.options.region,
    endpoint: bench.options.awsEndpointUrl,
  });
  const atlas = new Pool(bench.simulator.baseUrl, { connections: 8 });
  let working = 0;
  try {
    await inPool(secrets, 8, async (secret) => {
      const got = await sm.send(
        new GetSecretValueCommand({ SecretId: secret.arn, VersionStage: 'AWSCURRENT' }),
      );
      const value = JSON.parse(got.SecretString ?? '{}') as { clientId: string; clientSecret: string };
      try {
        await mintToken(atlas, value.clientId, value.clientSecret, 0);
        working += 1;
      } catch {
        // Counted as not working.
      }
    });
  } finally {
    sm.destroy();
    await atlas.close();
  }
  return working;
}

async function seed(
  bench: Bench,
  sm: SecretsManagerClient,
  count: number,
  name: (i: number) => string,
  orgFor: (i: number) => string,
): Promise<SeededSecret[]> {
  const seeded: SeededSecret[] = new Array(count);
  await inPool(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      seeded[i] = await seedManagedSecret(bench.simulator, sm, { orgId: orgFor(i), name: name(i) });
    },
  );
  return seeded;
}

interface Cost {
  readonly sm: Record<string, number>;
  readonly smCalls: number;
  readonly atlasCalls: number;
  readonly roundTrips: number;
  readonly latencyMs: number;
  /** The first rotation's calls, one entry per round trip: what its critical path is made of. */
  readonly firstPath: string;
}

/** `SM DescribeSecret` → `DescribeSecret`, `GET /api/atlas/v2/orgs/…/secrets` → `Atlas GET …/secrets`. */
function shortOperation(operation: string): string {
  if (operation.startsWith('SM ')) return operation.slice('SM '.length);
  const [method, path = ''] = operation.split(' ');
  if (path.startsWith('/api/oauth/token')) return 'Atlas token';
  const last =
    path
      .split('?')[0]
      ?.split('/')
      .filter((p) => p !== '') ?? [];
  const tail = last.slice(-2).map((p) => (/^[0-9a-f]{24}$|^mdb_sa_id_/.test(p) ? '{id}' : p));
  return `Atlas ${method} …/${tail.join('/')}`;
}

function costOf(
  spans: readonly (readonly [number, number])[],
  sm: readonly ProxiedCall[],
  atlas: readonly ProxiedCall[],
): Cost {
  const groups: Record<string, number> = { write: 0, read: 0, list: 0, other: 0 };
  let smCalls = 0;
  let atlasCalls = 0;
  const trips: number[] = [];
  const latencies: number[] = [];
  for (const [start, end] of spans) {
    const inSpan = (c: ProxiedCall) => c.startedAt >= start && c.endedAt <= end;
    const smHere = sm.filter(inSpan);
    const atlasHere = atlas.filter(inSpan);
    for (const call of smHere)
      groups[smQuotaGroup(call.operation)] = (groups[smQuotaGroup(call.operation)] ?? 0) + 1;
    smCalls += smHere.length;
    atlasCalls += atlasHere.length;
    trips.push(sequentialRoundTrips([...smHere, ...atlasHere]));
    latencies.push(end - start);
  }
  const n = spans.length;
  const [first] = spans;
  const firstCalls =
    first === undefined
      ? []
      : [...sm, ...atlas].filter((c) => c.startedAt >= first[0] && c.endedAt <= first[1]);
  const firstPath = roundTripGroups(firstCalls)
    .map((group) => group.map((c) => shortOperation(c.operation)).join(' + '))
    .join(' → ');
  return {
    firstPath,
    sm: Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, v / n])),
    smCalls: smCalls / n,
    atlasCalls: atlasCalls / n,
    roundTrips: median(trips),
    latencyMs: median(latencies),
  };
}

async function costSection(
  bench: Bench,
  rotator: readonly SeededSecret[],
  template: readonly SeededSecret[],
) {
  const measure = async (impl: RunnerInput['impl'], secrets: readonly SeededSecret[]) => {
    bench.smProxy.clear();
    bench.atlasProxy.clear();
    const { output } = await runner(bench, {
      impl,
      secrets: secrets.map((s) => s.arn),
      perRun: secrets.length,
      inFlight: 1,
      repeats: 1,
    });
    const spans = output.runs[0]?.spans ?? [];
    if ((output.runs[0]?.failed ?? 1) > 0)
      throw new Error(`${impl} cost run failed: ${output.errors.join('; ')}`);
    return costOf(spans, bench.smProxy.calls, bench.atlasProxy.calls);
  };
  progress('cost per rotation');
  const ours = await measure('atlas-rotator', rotator);
  const theirs = await measure('template', template);
  out('\n1. Cost per rotation, one in flight, counted at the endpoints (mean of 8 rotations)\n\n');
  const f = (v: number) => v.toFixed(1);
  const row = (name: string, c: Cost) => [
    name,
    f(c.smCalls),
    f(c.sm.write ?? 0),
    f(c.sm.read ?? 0),
    f(c.sm.list ?? 0),
    f(c.atlasCalls),
    f(c.roundTrips),
    `${c.latencyMs.toFixed(0)} ms`,
  ];
  const writes = ours.sm.write ?? 0;
  out(
    `${table(
      [
        '',
        'SM calls',
        'SM writes (50 TPS group)',
        'SM reads',
        'SM lists',
        'Atlas calls',
        'round trips',
        'latency',
      ],
      [row('atlas-rotator', ours), row('template', theirs)],
    )}\n`,
  );
  out(`\n  one atlas-rotator rotation, round trip by round trip: ${ours.firstPath}\n`);
  out(`  one template rotation: ${theirs.firstPath}\n`);
  out(
    `\n  goals: ≤ 3 SM writes — ${writes <= 3 ? 'holds' : 'does not hold'} (${f(writes)});` +
      ` ≤ 8 round trips — ${ours.roundTrips <= 8 ? 'holds' : 'does not hold'} (${f(ours.roundTrips)})\n`,
  );
  return { ours, theirs };
}

interface LevelResult {
  readonly rotationsPerSecond: number;
  readonly latencyMs: number;
  readonly cpu: { readonly rotator: number; readonly emulator: number | undefined; readonly parent: number };
  readonly vmHwmKb: number;
  /** RSS once the rotator is built, before its first rotation. */
  readonly loadedRssKb: number;
  readonly heapUsedKb: number;
  readonly heapTotalKb: number;
  readonly failed: number;
}

async function level(
  bench: Bench,
  impl: RunnerInput['impl'],
  secrets: readonly SeededSecret[],
  inFlight: number,
): Promise<LevelResult> {
  const count = rotationsAt(inFlight);
  progress(`${impl}, ${inFlight} in flight: ${bench.options.repeats} × ${count} rotations`);
  const snapshot = bench.options.heapSnapshot;
  const measured = await runner(bench, {
    impl,
    secrets: secrets.map((s) => s.arn),
    perRun: count,
    inFlight,
    repeats: bench.options.repeats,
    ...(snapshot !== undefined && impl === 'atlas-rotator' && inFlight === 256
      ? {
          heapSnapshotPath: snapshot,
          heapSnapshotAtMb: bench.options.heapSnapshotAtMb,
        }
      : {}),
  });
  const runs: readonly RunnerRun[] = measured.output.runs;
  const failed = runs.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) progress(`${impl} at ${inFlight}: ${failed} failed (${measured.output.errors.join('; ')})`);
  const ms = median(runs.map((r) => r.ms));
  const pct = (cpuMs: number, i: number) => (cpuMs / (runs[i]?.ms ?? 1)) * 100;
  return {
    rotationsPerSecond: count / (ms / 1000),
    latencyMs: median(runs.flatMap((r) => r.spans.map(([a, b]) => b - a))),
    cpu: {
      rotator: median(runs.map((r, i) => pct(r.cpuMs, i))),
      emulator: measured.emulatorCpuMs.length === 0 ? undefined : median(measured.emulatorCpuMs.map(pct)),
      parent: median(measured.parentCpuMs.map(pct)),
    },
    vmHwmKb: measured.output.vmHwmKb,
    loadedRssKb: measured.output.loaded.vmRssKb,
    heapUsedKb: measured.output.peakKb.heapUsed,
    heapTotalKb: measured.output.peakKb.heapTotal,
    failed,
  };
}

/**
 * Section 4: 200 rotations of 200 accounts in one org, all in flight, under the Admin API bucket and the token
 * endpoint's limit; `critical` (section 1's latency, 0 when it did not run) is the least time of one rotation.
 */
async function limitsSection(
  bench: Bench,
  sm: SecretsManagerClient,
  prefix: string,
  all: SeededSecret[],
  critical: number,
): Promise<void> {
  const { simulator } = bench;
  progress('section 4: 200 accounts in one org under the Admin API bucket');
  const limitedOrg = simulator.createOrg().orgId;
  const limited = await seed(
    bench,
    sm,
    200,
    (i) => `${prefix}/limited-${i}`,
    () => limitedOrg,
  );
  all.push(...limited);
  simulator.configure({ adminApiRateLimit: BUCKET, tokenRateLimit: { requests: 50, perMinutes: 1 } });
  simulator.clearRequests();
  const atlasCallsBefore = bench.atlasProxy.calls.length;
  const limitedRun = await runner(bench, {
    impl: 'atlas-rotator',
    secrets: limited.map((s) => s.arn),
    perRun: limited.length,
    inFlight: 200,
    repeats: 1,
  });
  const requests = simulator.requests;
  simulator.configure({ adminApiRateLimit: null, tokenRateLimit: null });
  const apiCalls = requests.filter((r) => r.path.startsWith('/api/atlas/v2/')).length;
  const refused = requests.filter((r) => r.status === 429);
  const tokenCalls = requests.filter((r) => r.path === '/api/oauth/token');
  const perClient = new Map<string, number>();
  for (const r of tokenCalls) perClient.set(r.clientId ?? '', (perClient.get(r.clientId ?? '') ?? 0) + 1);
  const admitted = apiCalls - refused.filter((r) => r.path.startsWith('/api/atlas/v2/')).length;
  const perSecond = BUCKET.refillRate / BUCKET.refillDurationSeconds;
  const minimumMs = Math.max(critical, ((admitted - BUCKET.capacity) / perSecond) * 1000);
  const wallMs = limitedRun.output.runs[0]?.ms ?? 0;
  const failed = limitedRun.output.runs[0]?.failed ?? 0;
  out(
    `\n4. Under Atlas's limits: 200 rotations of 200 accounts in one org, all in flight\n` +
      `  Admin API bucket ${BUCKET.capacity} requests, refilled ${BUCKET.refillRate} per ${BUCKET.refillDurationSeconds} s;` +
      ` token endpoint 50/min per (IP, clientId)\n` +
      `  Admin API calls admitted ${admitted} (${(admitted / 200).toFixed(2)}/rotation); token mints ${tokenCalls.length},` +
      ` at most ${Math.max(...perClient.values())} per client id: the per-org bucket binds, not the token limit\n` +
      `  minimum the limits allow: (${admitted} − ${BUCKET.capacity}) ÷ ${perSecond}/s = ${(minimumMs / 1000).toFixed(1)} s;` +
      ` took ${(wallMs / 1000).toFixed(1)} s = ${ratio(wallMs / minimumMs)} (goal ≤ 1.15× — ${wallMs / minimumMs <= 1.15 ? 'holds' : 'does not hold'})\n` +
      `  failed rotations ${failed} (goal 0 — ${failed === 0 ? 'holds' : 'does not hold'}); 429s received ${refused.length}` +
      ` (${refused.filter((r) => r.path === '/api/oauth/token').length} from the token endpoint)\n`,
  );
  out(
    `  ${whereTheTimeWent(limitedRun.output.runs[0]?.spans ?? [], bench.atlasProxy.calls.slice(atlasCallsBefore))}\n`,
  );
  if (failed > 0) out(`  first errors: ${limitedRun.output.errors.join('; ')}\n`);
  const alone = await clientAlone(bench);
  const aloneMinMs = ((alone.admitted - BUCKET.capacity) / perSecond) * 1000;
  out(
    `  the product's Atlas client alone (no Secrets Manager between its calls), 200 accounts × 3 calls at once:` +
      ` ${(alone.ms / 1000).toFixed(1)} s = ${ratio(alone.ms / aloneMinMs)} the minimum, ${alone.refused} 429s —` +
      ` the rest of the rotations' excess is their Secrets Manager work on LocalStack at 200 in flight\n`,
  );
}

/**
 * Section 4's timeline from the Atlas proxy's timestamps: when the first create went out and the last one was
 * answered, against the run's start and end — the time before the bucket starts to drain, and after it is empty.
 */
function whereTheTimeWent(
  spans: readonly (readonly [number, number])[],
  atlasCalls: readonly ProxiedCall[],
): string {
  const creates = atlasCalls.filter(
    (c) => c.operation.endsWith('/secrets') && c.operation.startsWith('POST'),
  );
  if (spans.length === 0 || creates.length === 0) return 'timeline: no creates recorded';
  const start = Math.min(...spans.map(([from]) => from));
  const end = Math.max(...spans.map(([, to]) => to));
  const at = (ms: number) => `${((ms - start) / 1000).toFixed(2)} s`;
  const first = Math.min(...creates.map((c) => c.startedAt));
  const last = Math.max(...creates.map((c) => c.endedAt));
  return (
    `timeline: first create sent at ${at(first)}, last create answered at ${at(last)} ` +
    `(${((last - first) / 1000).toFixed(2)} s of creates for ${creates.length}), last rotation ended at ${at(end)}`
  );
}

/** The section 4 load on the product's Atlas client only: 3 Admin API calls per account, all accounts at once. */
async function clientAlone(bench: Bench): Promise<{ ms: number; admitted: number; refused: number }> {
  progress('section 4: the Atlas client alone under the same bucket');
  const { simulator, atlasProxy } = bench;
  const { orgId } = simulator.createOrg();
  const accounts = Array.from({ length: 200 }, () =>
    simulator.createServiceAccount(orgId, { roles: ['ORG_OWNER'] }),
  );
  simulator.configure({ adminApiRateLimit: BUCKET, tokenRateLimit: { requests: 50, perMinutes: 1 } });
  simulator.clearRequests();
  const client = new AtlasAdminApiClient({
    baseUrl: atlasProxy.url,
    allowInsecureHttp: true,
    clock: new SystemClock(),
    dispatcherFor: (origin) =>
      createAtlasDispatcher(origin, {
        connectTimeoutMs: 10_000,
        keepAliveTimeoutMs: 30_000,
        connections: 64,
        allowInsecureHttp: true,
      }),
  });
  const start = performance.now();
  try {
    await Promise.all(
      accounts.map(async (account) => {
        const clientId = parseClientId(account.clientId);
        const target = {
          baseUrl: atlasProxy.url,
          flavor: 'atlas' as const,
          projectId: undefined,
          orgId: parseOrgId(orgId),
          clientId,
          apiVersion: parseApiVersion('2024-08-05'),
        };
        const credential = { clientId, clientSecret: SecretValue.of(account.secret) };
        for (let i = 0; i < 3; i += 1) await client.listSecrets(target, credential);
      }),
    );
  } finally {
    await client.close();
  }
  const ms = performance.now() - start;
  const api = simulator.requests.filter((r) => r.path.startsWith('/api/atlas/v2/'));
  const refused = api.filter((r) => r.status === 429).length;
  simulator.configure({ adminApiRateLimit: null, tokenRateLimit: null });
  return { ms, admitted: api.length - refused, refused };
}

/** 5. The rotator's peak RSS per level (`ours`: the levels run), and the young-generation trials at 256 in flight. */
async function memorySection(
  bench: Bench,
  ours: ReadonlyMap<number, LevelResult>,
  rotator: FreshSecrets,
): Promise<void> {
  const { options } = bench;
  const trials: string[] = [];
  for (const flags of MEMORY_TRIALS) {
    const label = flags.length === 0 ? "node's defaults (no flag)" : flags.join(' ');
    progress(`section 5: 256 in flight once more, one run, with ${label}`);
    const trial = await runner(
      bench,
      {
        impl: 'atlas-rotator',
        secrets: rotator.take(256).map((s) => s.arn),
        perRun: 256,
        inFlight: 256,
        repeats: 1,
      },
      flags,
    );
    const rate = 256 / ((trial.output.runs[0]?.ms ?? 1) / 1000);
    trials.push(
      `${label}: ${(trial.output.vmHwmKb / 1024).toFixed(0)} MB (peak V8 heap total` +
        ` ${(trial.output.peakKb.heapTotal / 1024).toFixed(0)} MB, ${rate.toFixed(1)} rot/s)`,
    );
  }
  const peak = (ours.get(256) as LevelResult).vmHwmKb / 1024;
  out(
    `\n5. Memory: peak RSS (VmHWM) of the rotator process (the child: no proxy, simulator or log of the bench)` +
      ` at 256 in flight (over ${options.repeats} run(s)), run as the worker's image runs it (node ${PRODUCT_NODE_FLAGS.join(' ')}):` +
      ` ${peak.toFixed(0)} MB` +
      ` (goal ≤ 150 MB — ${peak <= 150 ? 'holds' : 'does not hold'}); one run each with ${trials.join('; ')}\n\n`,
  );
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  out(
    `${table(
      ['in flight', 'peak RSS', 'RSS before the first rotation', 'peak V8 heap used', 'peak V8 heap total'],
      LEVELS.map((k) => {
        const r = ours.get(k) as LevelResult;
        return [String(k), mb(r.vmHwmKb), mb(r.loadedRssKb), mb(r.heapUsedKb), mb(r.heapTotalKb)];
      }),
    )}\n`,
  );
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = performance.now();
  out("atlas-rotator benchmark: atlas-rotator vs a rotation written on AWS's rotation-function templates\n");
  out(
    `  ${new Date().toISOString()} · Node ${process.versions.node} · ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? '?'})\n` +
      `  modelled latency: ${ATLAS_LATENCY_MS} ms per Atlas call, ${SM_LATENCY_MS} ms per Secrets Manager call (loopback proxies)\n` +
      `  ${options.repeats} run(s) per figure, median; absolute times hold for this machine only, read the ratios\n`,
  );
  const overrides = Object.entries(options.rotatorEnv);
  if (overrides.length > 0)
    out(
      `  the rotator NOT at its defaults (--rotator-env, diagnosis): ${overrides.map(([k, v]) => `${k}=${v}`).join(' ')}\n`,
    );
  const simulator = await AtlasSimulator.start({ tokenRateLimit: null });
  const smProxy = await CountingProxy.start(options.awsEndpointUrl, SM_LATENCY_MS);
  const atlasProxy = await CountingProxy.start(simulator.baseUrl, ATLAS_LATENCY_MS);
  const bench: Bench = { options, simulator, smProxy, atlasProxy };
  const sm = new SecretsManagerClient({ region: options.region, endpoint: options.awsEndpointUrl });
  const prefix = `atlas-rotator-bench-${randomUUID().slice(0, 8)}`;
  const all: SeededSecret[] = [];
  try {
    // 128 accounts per org (the simulator, as Atlas, allows 200); each implementation in orgs of its own.
    const orgsFor = () => {
      const orgs: string[] = [];
      return (i: number) => {
        const k = Math.floor(i / 128);
        while (orgs.length <= k) orgs.push(simulator.createOrg().orgId);
        return orgs[k] as string;
      };
    };
    const perLevel = (levels: readonly number[]) =>
      levels.reduce((sum, k) => sum + options.repeats * rotationsAt(k), 0);
    if (options.only === 'limits') {
      await limitsSection(bench, sm, prefix, all, 0);
      out(`\n  total ${((performance.now() - startedAt) / 1000).toFixed(0)} s\n`);
      return;
    }
    if (options.only === 'memory') {
      const count = perLevel(LEVELS) + 256 * MEMORY_TRIALS.length;
      progress(`--only memory: seeding ${count} managed secrets under ${prefix}/, one per rotation`);
      const seeded = await seed(bench, sm, count, (i) => `${prefix}/rotator-${i}`, orgsFor());
      all.push(...seeded);
      const rotator = new FreshSecrets(seeded);
      const ours = new Map<number, LevelResult>();
      for (const inFlight of LEVELS)
        ours.set(
          inFlight,
          await level(
            bench,
            'atlas-rotator',
            rotator.take(options.repeats * rotationsAt(inFlight)),
            inFlight,
          ),
        );
      await memorySection(bench, ours, rotator);
      out(`\n  total ${((performance.now() - startedAt) / 1000).toFixed(0)} s\n`);
      return;
    }
    const rotatorCount = 8 + perLevel(LEVELS) + 256 * MEMORY_TRIALS.length;
    const templateCount = 8 + perLevel(LEVELS.filter((k) => k <= 64));
    progress(
      `seeding ${rotatorCount + templateCount} managed secrets under ${prefix}/ (+200 for section 4), one per rotation`,
    );
    const rotatorSeeded = await seed(bench, sm, rotatorCount, (i) => `${prefix}/rotator-${i}`, orgsFor());
    const templateSeeded = await seed(bench, sm, templateCount, (i) => `${prefix}/template-${i}`, orgsFor());
    all.push(...rotatorSeeded, ...templateSeeded);
    const rotator = new FreshSecrets(rotatorSeeded);
    const template = new FreshSecrets(templateSeeded);

    const cost = await costSection(bench, rotator.take(8), template.take(8));

    const ours = new Map<number, LevelResult>();
    const theirs = new Map<number, LevelResult>();
    const take = (fresh: FreshSecrets, k: number) => fresh.take(options.repeats * rotationsAt(k));
    for (const inFlight of LEVELS) {
      ours.set(inFlight, await level(bench, 'atlas-rotator', take(rotator, inFlight), inFlight));
      if (inFlight <= 64)
        theirs.set(inFlight, await level(bench, 'template', take(template, inFlight), inFlight));
    }
    const rotated = rotatorSeeded.slice(0, rotatorCount - 256 * MEMORY_TRIALS.length);
    const workingOurs = await verifyRotated(bench, rotated);
    const workingTheirs = await verifyRotated(bench, templateSeeded);

    out('\n2. atlas-rotator vs the template-style rotation, same endpoints and latency\n\n');
    out(
      `${table(
        ['in flight', 'atlas-rotator rot/s', 'latency', 'template rot/s', 'latency', 'ratio (goal ≥ 1.80×)'],
        [1, 8, 64].map((k) => {
          const a = ours.get(k) as LevelResult;
          const b = theirs.get(k) as LevelResult;
          return [
            String(k),
            a.rotationsPerSecond.toFixed(2),
            `${a.latencyMs.toFixed(0)} ms`,
            b.rotationsPerSecond.toFixed(2),
            `${b.latencyMs.toFixed(0)} ms`,
            `${ratio(a.rotationsPerSecond / b.rotationsPerSecond)} ${a.rotationsPerSecond / b.rotationsPerSecond >= 1.8 ? 'holds' : 'does not hold'}`,
          ];
        }),
      )}\n`,
    );
    out(
      `\n  afterwards AWSCURRENT mints an Atlas token: atlas-rotator ${workingOurs}/${rotated.length},` +
        ` template ${workingTheirs}/${templateSeeded.length}\n`,
    );

    const critical = cost.ours.latencyMs;
    out(
      `\n3. Scaling of atlas-rotator; efficiency = rotations/s ÷ (in flight ÷ ${critical.toFixed(0)} ms critical path)\n\n`,
    );
    out(
      `${table(
        [
          'in flight',
          'rot/s',
          'latency',
          'efficiency',
          'CPU: rotator',
          'LocalStack',
          'simulator+proxies',
          'failed',
        ],
        LEVELS.map((k) => {
          const r = ours.get(k) as LevelResult;
          const efficiency = r.rotationsPerSecond / (k / (critical / 1000));
          const p = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(0)} %`);
          return [
            String(k),
            r.rotationsPerSecond.toFixed(2),
            `${r.latencyMs.toFixed(0)} ms`,
            `${(efficiency * 100).toFixed(0)} %`,
            p(r.cpu.rotator),
            p(r.cpu.emulator),
            p(r.cpu.parent),
            String(r.failed),
          ];
        }),
      )}\n  (CPU as % of one core over the run; the machine has ${availableParallelism()} cores)\n`,
    );

    await limitsSection(bench, sm, prefix, all, critical);

    await memorySection(bench, ours, rotator);
    out(`\n  total ${((performance.now() - startedAt) / 1000).toFixed(0)} s\n`);
  } finally {
    await deleteSecrets(sm, all);
    sm.destroy();
    await smProxy.close();
    await atlasProxy.close();
    await simulator.close();
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
