/**
 * Retirement of the replaced Atlas secret (ADR 0009) as users run it: the built CLI (`rotate`, `sweep`), each call
 * its own process — so retirement is carried out by a process that did not rotate — against the AWS emulator
 * (behind the semantics layer) and the Atlas simulator. The grace is a few seconds of the wall clock, which both
 * the CLI processes and the simulator keep.
 */
import { randomUUID } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepReport } from '../../src/application/sweep-secrets.js';
import {
  DETAIL_TYPE_OLD_SECRET_IN_USE,
  DETAIL_TYPE_OLD_SECRET_RETIRED,
} from '../../src/domain/rotation-events.js';
import type { RotationOutcome } from '../../src/domain/rotation-outcome.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { validateEventDetail } from '../support/event-schemas.js';
import { type CliRun, EventDrivenInfra, ensureBuilt, runCli } from './support/event-driven-harness.js';
import { plainSecrets, secretsManagerClient, seedRecordedSecret } from './support/rotation-harness.js';

let simulator: AtlasSimulator;
let client: SecretsManagerClient;
let infra: EventDrivenInfra;

type Run = CliRun;

const cli = (args: string[], env: Record<string, string>): Promise<Run> => runCli(args, env);

/** 0.003 h = 10.8 s of grace. */
const GRACE_HOURS = '0.003';

function env(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ATLAS_BASE_URL: simulator.baseUrl,
    ATLAS_ALLOW_INSECURE_HTTP: 'true',
    ATLAS_MAX_ATTEMPTS: '2',
    VERIFY_RETRY_DELAYS_MS: '50,100,200',
    ROTATION_MIN_INTERVAL_MINUTES: '0',
    OLD_SECRET_GRACE_HOURS: GRACE_HOURS,
    EVENT_BUS_NAME: infra.busName,
    EVENT_SOURCE: infra.eventSource,
    LOG_LEVEL: 'debug',
    ...overrides,
  };
}

const outputs: Run[] = [];
async function run(args: string[], overrides: Record<string, string> = {}): Promise<Run> {
  const result = await cli(args, env(overrides));
  outputs.push(result);
  return result;
}

function json<T>(result: Run): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `stdout is not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr.slice(-3000)}`,
    );
  }
}

interface Seeded {
  readonly orgId: string;
  readonly clientId: string;
  readonly firstSecretId: string;
  readonly firstSecret: string;
  readonly arn: string;
}

async function seed(prefix: string, orgId: string): Promise<Seeded> {
  const seeded = await seedRecordedSecret(simulator, client, { prefix, orgId, hours: 2160 });
  return {
    orgId,
    clientId: seeded.clientId,
    firstSecretId: seeded.firstSecretId,
    firstSecret: seeded.clientSecret,
    arn: seeded.secretArn,
  };
}

const atlasSecretIds = (s: Seeded) =>
  (simulator.serviceAccount(s.orgId, s.clientId)?.secrets ?? []).map((x) => x.id);

/** A consumer that never switched: mints a token with the old secret over HTTP. */
async function mintWith(clientId: string, secret: string): Promise<void> {
  const response = await fetch(`${simulator.baseUrl}/api/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: 'grant_type=client_credentials',
  });
  await response.arrayBuffer();
  expect(response.status).toBe(200);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilPast(iso: string | undefined): Promise<void> {
  const wait = Date.parse(iso ?? '') - Date.now();
  if (wait > 0) await sleep(wait + 1_500);
}

function entryFor(report: SweepReport, arn: string) {
  return report.secrets.find((e) => e.secretArn === arn);
}

beforeAll(async () => {
  ensureBuilt();
  simulator = await AtlasSimulator.start();
  client = secretsManagerClient();
  infra = await EventDrivenInfra.create();
}, 120_000);

afterAll(async () => {
  await infra?.destroy();
  client?.destroy();
  await simulator?.close();
});

describe('old-secret retirement across processes', () => {
  it('grace, a rotation during it, the in-use hold from lastUsedAt, and two concurrent sweeps retiring once', async () => {
    const prefix = `retire-it/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const [quiet, stale] = await Promise.all([seed(prefix, orgId), seed(prefix, orgId)]);

    // Rotate both: each keeps its old secret for the grace.
    const rotations = await Promise.all([run(['rotate', quiet.arn]), run(['rotate', stale.arn])]);
    for (const r of rotations) expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const [quietOutcome] = rotations.map((r) => json<RotationOutcome>(r));
    expect(quietOutcome).toMatchObject({
      status: 'completed',
      deletedAtlasSecretIds: [],
      oldSecretRetirement: { oldAtlasSecretId: quiet.firstSecretId, reason: 'grace', retired: false },
    });
    const retireAfter =
      quietOutcome?.status === 'completed' ? quietOutcome.oldSecretRetirement?.retireAfter : undefined;
    expect(atlasSecretIds(quiet)).toContain(quiet.firstSecretId);

    // A rotation during the grace waits: retryable, saying when; nothing deleted.
    const early = await run(['rotate', quiet.arn]);
    expect(early.code).toBe(75);
    expect(json<RotationOutcome>(early)).toMatchObject({
      status: 'failed',
      errorCode: 'OLD_SECRET_IN_GRACE',
      retryable: true,
    });
    expect(atlasSecretIds(quiet)).toContain(quiet.firstSecretId);

    // A consumer of the stale secret keeps using its old value after the promotion.
    await sleep(1_100);
    await mintWith(stale.clientId, stale.firstSecret);

    const during = json<SweepReport>(await run(['sweep', '--now', '--prefix', prefix]));
    expect(entryFor(during, quiet.arn)?.oldSecret).toMatchObject({ action: 'in-grace' });

    await untilPast(retireAfter);
    // Two sweeps at once, each its own process, neither the one that rotated.
    const [one, two] = await Promise.all([
      run(['sweep', '--now', '--prefix', prefix]),
      run(['sweep', '--now', '--prefix', prefix]),
    ]);
    expect(one.code, one.stderr.slice(-2000)).toBe(0);
    expect(two.code, two.stderr.slice(-2000)).toBe(0);
    const actions = [json<SweepReport>(one), json<SweepReport>(two)].map(
      (r) => entryFor(r, quiet.arn)?.oldSecret?.action,
    );
    expect(actions).toContain('retired');
    expect(actions.every((a) => a === 'retired' || a === 'gone')).toBe(true);
    expect(atlasSecretIds(quiet)).not.toContain(quiet.firstSecretId);
    expect(atlasSecretIds(quiet)).toHaveLength(1);

    // The stale consumer holds its secret: not retired, and named with its last use.
    const staleEntry = entryFor(json<SweepReport>(one), stale.arn)?.oldSecret;
    expect(staleEntry).toMatchObject({ action: 'in-use', oldAtlasSecretId: stale.firstSecretId });
    expect(atlasSecretIds(stale)).toContain(stale.firstSecretId);

    const retired = await infra.capture.captureEvents(
      (e) => e.detailType === DETAIL_TYPE_OLD_SECRET_RETIRED && e.resources.includes(quiet.arn),
      20_000,
      { settleMs: 1_000 },
    );
    expect(retired.length).toBeGreaterThanOrEqual(1);
    expect(retired.length).toBeLessThanOrEqual(2);
    expect(retired[0]?.detail).toMatchObject({ oldAtlasSecretId: quiet.firstSecretId, reason: 'grace-over' });
    const inUse = await infra.capture.captureEvents(
      (e) => e.detailType === DETAIL_TYPE_OLD_SECRET_IN_USE && e.resources.includes(stale.arn),
      20_000,
    );
    expect(inUse[0]?.detail).toMatchObject({ oldAtlasSecretId: stale.firstSecretId });
    for (const e of [...retired, ...inUse]) expect(validateEventDetail(e.detailType, e.detail)).toEqual([]);

    // The rotation that waited goes on now, making room by the retired slot.
    const later = await run(['rotate', quiet.arn]);
    expect(later.code, later.stderr.slice(-2000)).toBe(0);

    const everything = [
      ...outputs.map((o) => `${o.stdout}\n${o.stderr}`),
      ...[...retired, ...inUse].map((e) => e.body),
    ];
    for (const text of everything) {
      for (const secret of plainSecrets) expect(text.includes(secret)).toBe(false);
      expect(text).not.toMatch(/mdb_sa_sk_[A-Za-z0-9_-]{8}/);
    }
  }, 240_000);

  it('--retire-old-now retires the leaked secret at the promotion, even inside ROTATION_MIN_INTERVAL_MINUTES', async () => {
    const prefix = `retire-it/${randomUUID().slice(0, 8)}`;
    const orgId = simulator.createOrg().orgId;
    const leaked = await seed(prefix, orgId);
    // The seeded value poses as a rotation completed just now: a plain request is too soon.
    const tooSoon = await run(['rotate', leaked.arn], { ROTATION_MIN_INTERVAL_MINUTES: '60' });
    expect(json<RotationOutcome>(tooSoon)).toMatchObject({ errorCode: 'ROTATION_TOO_SOON' });

    const now = await run(['rotate', leaked.arn, '--retire-old-now'], {
      ROTATION_MIN_INTERVAL_MINUTES: '60',
    });
    expect(now.code, now.stderr.slice(-2000)).toBe(0);
    expect(json<RotationOutcome>(now)).toMatchObject({
      status: 'completed',
      deletedAtlasSecretIds: [leaked.firstSecretId],
      oldSecretRetirement: { reason: 'now', retired: true },
    });
    expect(atlasSecretIds(leaked)).toEqual([expect.not.stringMatching(leaked.firstSecretId)]);
    expect(now.stderr).toMatch(/requested as leaked/);
    for (const secret of plainSecrets) expect(`${now.stdout}${now.stderr}`.includes(secret)).toBe(false);
  }, 120_000);
});
