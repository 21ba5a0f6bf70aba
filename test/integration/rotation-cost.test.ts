/**
 * What one rotation costs (ADR 0007 "Cost"), measured from the requests the endpoints received: the Secrets
 * Manager calls as the SDK sent them (a middleware records each call's start and end), the Atlas calls as the
 * simulator logged their arrival (each delayed by a fixed latency, so that its end is known). Happy path, self
 * mode, a secret rotated before: at most 3 Secrets Manager writes and at most 8 sequential round trips; 6 Secrets
 * Manager calls in all, AWSPREVIOUS's value not read (ADR 0016).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import {
  expectConverged,
  newToken,
  processAdapters,
  region,
  rotateSecret,
  secretsManagerClient,
  seedManagedSecret,
} from './support/rotation-harness.js';

/** Latency given to every Atlas request: its end is taken as arrival + half of it (never later than the truth). */
const ATLAS_LATENCY_MS = 200;
const WRITES = new Set([
  'PutSecretValueCommand',
  'UpdateSecretVersionStageCommand',
  'TagResourceCommand',
  'UntagResourceCommand',
  'RotateSecretCommand',
  'CreateSecretCommand',
  'DeleteSecretCommand',
]);

interface Call {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /** A Secrets Manager read's VersionStage or VersionId, as sent. */
  readonly version?: string;
}

let simulator: AtlasSimulator;
let seeding: SecretsManagerClient;
const opened: { close: () => Promise<void> }[] = [];

beforeAll(async () => {
  simulator = await AtlasSimulator.start();
  seeding = secretsManagerClient();
});

afterAll(async () => {
  await Promise.all(opened.map((a) => a.close()));
  seeding.destroy();
  await simulator.close();
});

/** A Secrets Manager client that records every call it sends. */
function recordingClient(calls: Call[]): SecretsManagerClient {
  const client = new SecretsManagerClient({ region });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const start = Date.now();
      const input = args.input as { VersionStage?: string; VersionId?: string };
      const version = input.VersionStage ?? input.VersionId;
      try {
        return await next(args);
      } finally {
        calls.push({
          name: `sm.${String(context.commandName)}`,
          start,
          end: Date.now(),
          ...(version === undefined ? {} : { version }),
        });
      }
    },
    { step: 'initialize', name: 'record-calls' },
  );
  return client;
}

/**
 * The longest chain of calls each of which started after the previous one ended: the round trips on the
 * critical path. Calls that overlap ran in parallel and count once.
 */
function criticalPath(calls: readonly Call[]): { length: number; chain: string[] } {
  const sorted = [...calls].sort((a, b) => a.start - b.start);
  const best: { length: number; chain: string[] }[] = [];
  sorted.forEach((call, i) => {
    let before = { length: 0, chain: [] as string[] };
    for (let j = 0; j < i; j++) {
      const prior = sorted[j];
      const chain = best[j];
      if (
        prior !== undefined &&
        chain !== undefined &&
        prior.end <= call.start &&
        chain.length > before.length
      ) {
        before = chain;
      }
    }
    best.push({ length: before.length + 1, chain: [...before.chain, call.name] });
  });
  return best.reduce((a, b) => (b.length > a.length ? b : a), { length: 0, chain: [] });
}

describe('the cost of one rotation', () => {
  it('takes 6 Secrets Manager calls (3 reads, 3 writes) and at most 8 sequential round trips (happy path, self mode)', async () => {
    const account = await seedManagedSecret(simulator, seeding);
    const warmUp = processAdapters(simulator, seeding);
    opened.push(warmUp);
    // A secret rotated before: its value records its Atlas secret, the account holds that one secret only.
    expect(
      (await rotateSecret(warmUp).execute({ secretId: account.secretName, token: newToken() })).status,
    ).toBe('completed');

    const smCalls: Call[] = [];
    const client = recordingClient(smCalls);
    const adapters = processAdapters(simulator, client);
    opened.push(adapters);
    simulator.injectFault({ path: '^/', latencyMs: ATLAS_LATENCY_MS, times: Number.POSITIVE_INFINITY });
    simulator.clearRequests();
    const rotator = rotateSecret(adapters);
    const outcome = await rotator.execute({ secretId: account.secretName, token: newToken() });
    await rotator.settled();
    simulator.clearFaults();
    client.destroy();

    expect(outcome.status).toBe('completed');
    const atlasCalls: Call[] = simulator.requests.map((r) => {
      const start = Date.parse(r.at);
      return {
        name: `atlas.${r.method} ${r.path.split('/').slice(-1)[0]}`,
        start,
        end: start + ATLAS_LATENCY_MS / 2,
      };
    });
    // The revocations run after the outcome (ADR 0015; the outcome's not waiting for them is proven in
    // test/unit/application/rotate-secret.test.ts, where one is held): they are made, off the critical path.
    expect(atlasCalls.map((c) => c.name)).toContain('atlas.POST revoke');
    const beforeOutcome = atlasCalls.filter((c) => c.name !== 'atlas.POST revoke');
    const writes = smCalls.filter((c) => WRITES.has(c.name.slice('sm.'.length)));
    const path = criticalPath([...smCalls, ...beforeOutcome]);

    expect(writes.map((c) => c.name)).toEqual([
      'sm.PutSecretValueCommand', // claim
      'sm.PutSecretValueCommand', // the new credential
      'sm.UpdateSecretVersionStageCommand', // promote
    ]);
    expect(writes.length).toBeLessThanOrEqual(3);
    // The read (ADR 0016): describe ‖ every version ‖ AWSCURRENT. AWSPREVIOUS's value is read only where a step
    // weighs it (making room, finishing a promoted rotation, after a rollback); the usual path has none.
    const reads = smCalls.filter((c) => !WRITES.has(c.name.slice('sm.'.length)));
    expect(reads.map((c) => c.name).sort()).toEqual([
      'sm.DescribeSecretCommand',
      'sm.GetSecretValueCommand',
      'sm.ListSecretVersionIdsCommand',
    ]);
    expect(reads.find((c) => c.name === 'sm.GetSecretValueCommand')?.version).toBe('AWSCURRENT');
    expect(smCalls).toHaveLength(6);
    expect(path.length, path.chain.join(' → ')).toBeLessThanOrEqual(8);
    // What ADR 0015 counts: read · claim ‖ mint · create (it fits: no GET) · store ‖ verify · promote · delete
    // the old secret (this harness's grace is 0; with the default grace it stays, and the path is 5).
    expect(path.length, path.chain.join(' → ')).toBe(6);
    expect(
      beforeOutcome.map((c) => c.name).filter((n) => n.endsWith(' secrets') || n.includes('GET')),
    ).toEqual(['atlas.POST secrets']);
    await expectConverged(simulator, seeding, account);
  });
});
