/**
 * The Atlas client under Atlas's rate limits (ADR 0010): requests sharing an org's Admin API bucket are paced by
 * `RateLimit-Remaining` and `Retry-After`, not retried each on its own, and every backoff has jitter. The simulator
 * runs on the test's clock, so waiting is instant and the figures are exact.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AtlasAdminApiClient } from '../../src/adapters/outbound/atlas/atlas-admin-api-client.js';
import { parseApiVersion, parseClientId, parseOrgId } from '../../src/domain/identifiers.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { BuiltPools, failure, RecordingClock } from './support/atlas-client-harness.js';

describe('AtlasAdminApiClient pacing under Atlas rate limits', () => {
  let sim: AtlasSimulator;
  let clock: RecordingClock;
  const pools = new BuiltPools();

  beforeAll(async () => {
    sim = await AtlasSimulator.start({ now: () => clock.now(), tokenRateLimit: null });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    clock = new RecordingClock();
    sim.configure({ adminApiRateLimit: null, tokenRateLimit: null });
    sim.clearFaults();
    sim.clearRequests();
  });
  afterEach(async () => {
    await pools.closeAll();
  });

  function client(random: () => number = () => 0) {
    return new AtlasAdminApiClient({
      baseUrl: sim.baseUrl,
      dispatcherFor: pools.dispatcherFor,
      clock,
      allowInsecureHttp: true,
      random,
    });
  }

  function accounts(count: number) {
    const { orgId } = sim.createOrg();
    return Array.from({ length: count }, () => {
      const sa = sim.createServiceAccount(orgId, { roles: ['ORG_OWNER'] });
      return {
        target: {
          baseUrl: sim.baseUrl,
          flavor: 'atlas' as const,
          projectId: undefined,
          orgId: parseOrgId(orgId),
          clientId: parseClientId(sa.clientId),
          apiVersion: parseApiVersion('2024-08-05'),
        },
        credential: { clientId: parseClientId(sa.clientId), clientSecret: SecretValue.of(sa.secret) },
        secret: sa.secret,
      };
    });
  }

  /** One account, and its next Admin API call of `method` answered with `fault`'s status and headers. */
  function oneAccountWithFault(
    method: string,
    fault: { status: number; headers?: Record<string, string>; times?: number },
  ) {
    const [account] = accounts(1);
    if (account === undefined) throw new Error('no account');
    sim.injectFault({ method, path: '/api/atlas/v2/orgs', ...fault });
    return account;
  }

  const apiCalls = () => sim.requests.filter((r) => r.path.startsWith('/api/atlas/v2/'));

  it('paces 20 calls sharing an org bucket of 4 (refill 1 per second) with a handful of 429s, all succeeding', async () => {
    const all = accounts(20);
    sim.configure({ adminApiRateLimit: { capacity: 4, refillRate: 1, refillDurationSeconds: 1 } });
    const atlas = client();
    const listed = await Promise.all(all.map((a) => atlas.listSecrets(a.target, a.credential)));
    expect(listed.every((secrets) => secrets.length === 1)).toBe(true);
    const statuses = apiCalls().map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    // Unpaced, every waiting caller would retry on its own: 16 refused at first, then again each second. Paced:
    // the first call goes alone, its answer tells the bucket state, and each refill is waited for.
    const refused = statuses.filter((s) => s === 429).length;
    expect(refused).toBeLessThanOrEqual(2);
    // 16 calls beyond the capacity at 1 per second: about 16 s of waiting in all, not one backoff per caller.
    const waited = clock.sleeps.reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThanOrEqual(15_000);
    await atlas.close();
  });

  it('sends the create POST again after a 429 (Atlas did nothing) and creates exactly one secret', async () => {
    const account = oneAccountWithFault('POST', { status: 429, headers: { 'retry-after': '2' } });
    const atlas = client();
    const created = await atlas.createSecret(account.target, account.credential, 24);
    const posts = apiCalls().filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([429, 201]);
    expect(clock.sleeps).toEqual([2_000]);
    expect((await atlas.listSecrets(account.target, account.credential)).map((s) => s.id)).toContain(
      created.id,
    );
    expect(await atlas.listSecrets(account.target, account.credential)).toHaveLength(2);
    await atlas.close();
  });

  it('revokes the tokens of two credentials of one client id at once, not one after the other (no pacing)', async () => {
    const [account] = accounts(1);
    if (account === undefined) throw new Error('no account');
    // The replaced credential and the new one at the end of a rotation: two secrets of one service account.
    const second = sim.addSecret(account.target.orgId, account.target.clientId);
    const other = { clientId: account.target.clientId, clientSecret: SecretValue.of(second.secret) };
    const atlas = client();
    await atlas.listSecrets(account.target, account.credential);
    await atlas.listSecrets(account.target, other);
    sim.injectFault({ method: 'POST', path: '/api/oauth/revoke', latencyMs: 400, times: 2 });
    const started = performance.now();
    await atlas.endRotation([account.credential, other]);
    const tookMs = performance.now() - started;
    expect(sim.requests.filter((r) => r.path === '/api/oauth/revoke')).toHaveLength(2);
    // Paced, the second would wait for the first's answer: 800 ms and more.
    expect(tookMs).toBeLessThan(750);
    await atlas.close();
  });

  it('still fails retryable when one Retry-After is longer than it will wait, naming no secret', async () => {
    const account = oneAccountWithFault('GET', { status: 429, headers: { 'retry-after': '600' } });
    const error = await failure(client().listSecrets(account.target, account.credential));
    expect(error).toMatchObject({ code: 'ATLAS_RATE_LIMITED', retryable: true, retryAfterMs: 600_000 });
    expect(error.message).not.toContain(account.secret);
    expect(JSON.stringify(error)).not.toContain(account.secret);
  });

  it('adds jitter to the backoff of a retried call: up to half of each step', async () => {
    const account = oneAccountWithFault('GET', { status: 503, times: 2 });
    await client(() => 0.5).listSecrets(account.target, account.credential);
    expect(clock.sleeps).toEqual([188, 375]);
  });

  it('adds jitter to a Retry-After wait, never waiting less than Atlas asked', async () => {
    const account = oneAccountWithFault('GET', { status: 429, headers: { 'retry-after': '5' } });
    await client(() => 0.5).listSecrets(account.target, account.credential);
    expect(clock.sleeps).toEqual([5_250]);
  });
});
