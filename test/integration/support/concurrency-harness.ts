/**
 * Support for the concurrency suite (test/integration/concurrency.test.ts): a pool of worker processes that can
 * be killed and restarted by slot, the AWS semantics layer's latency knob, an Atlas gate that refuses one
 * account's verification, and a watcher that samples every
 * managed secret's AWSCURRENT throughout a run and records each instant it did not hold a working credential.
 * Nothing here prints or stores a secret value outside the test process's memory.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AtlasSimulator } from '../../../src/simulator/atlas-simulator.js';
import { LATENCY_CONTROL_PATH } from './aws-semantics-proxy.js';
import { WorkerProcess } from './event-driven-harness.js';
import { plainSecrets } from './rotation-harness.js';

/**
 * Sets the AWS semantics layer's latency per Secrets Manager operation (docs/adr/0006); `{}` switches it off.
 * False when the endpoint is not the layer (AWS_SEMANTICS_LAYER=off): then there is no latency to set.
 */
export async function setSecretsManagerLatency(
  awsEndpoint: string,
  latencyMs: Readonly<Record<string, number>>,
): Promise<boolean> {
  try {
    const response = await fetch(new URL(LATENCY_CONTROL_PATH, awsEndpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(latencyMs),
    });
    const answer = (await response.json().catch(() => ({}))) as { latencyMs?: unknown };
    return response.status === 200 && typeof answer.latencyMs === 'object';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Atlas gate
// ---------------------------------------------------------------------------------------------------------

/**
 * A loopback origin in front of the Atlas simulator that forwards every request unchanged, except that while
 * `refuse` says so it answers a token mint itself with 401 invalid_client — as Atlas answers a secret it does
 * not accept. A secret whose `atlas-rotator:apiBaseUrl` names the gate can thus have its verification refused
 * for good, whatever the protocol's timing (a mint with the new secret, alone or beside the store), while the
 * simulator's fault rules (which match a path, not a client) stay as they are for everyone else.
 */
export class AtlasGate {
  refused = 0;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  /** `refuse(clientId, clientSecret)`: whether this mint is refused. */
  static async start(
    upstream: string,
    refuse: (clientId: string, clientSecret: string) => boolean,
  ): Promise<AtlasGate> {
    const target = new URL(upstream);
    let gate: AtlasGate | undefined;
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
        const [clientId = '', clientSecret = ''] = Buffer.from(basic ?? '', 'base64')
          .toString('utf8')
          .split(':');
        if (req.method === 'POST' && req.url === '/api/oauth/token' && refuse(clientId, clientSecret)) {
          if (gate !== undefined) gate.refused += 1;
          const answer = JSON.stringify({
            error: 'invalid_client',
            error_description: 'Invalid client credentials.',
          });
          res.writeHead(401, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(answer),
          });
          res.end(answer);
          return;
        }
        const forwarded = httpRequest(
          {
            hostname: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (upstreamResponse) => {
            res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
            upstreamResponse.pipe(res);
          },
        );
        forwarded.on('error', () => res.destroy());
        forwarded.end(body);
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    gate = new AtlasGate(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return gate;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Worker pool
// ---------------------------------------------------------------------------------------------------------

/** A fixed number of worker slots on one queue; a slot's process can be killed and a fresh one started in it. */
export class WorkerPool {
  readonly #slots: WorkerProcess[] = [];
  /** Every process any slot ever ran, in start order (for the output checks at the end). */
  readonly all: WorkerProcess[] = [];
  readonly #env: Record<string, string>;
  readonly #generations: number[] = [];

  constructor(
    readonly size: number,
    env: Record<string, string>,
  ) {
    this.#env = env;
  }

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, (_, slot) => this.#startSlot(slot)));
  }

  async #startSlot(slot: number): Promise<WorkerProcess> {
    const generation = (this.#generations[slot] ?? -1) + 1;
    this.#generations[slot] = generation;
    const worker = WorkerProcess.start(`conc-w${slot}-g${generation}`, this.#env);
    this.#slots[slot] = worker;
    this.all.push(worker);
    await worker.waitForOutput(/"message":"worker started"/, 20_000);
    return worker;
  }

  /** The running workers whose log names rotation `token`, the one that logged it last first. */
  handlersOf(token: string): WorkerProcess[] {
    const lastMention = (w: WorkerProcess) => {
      const lines = w.logLines();
      for (let i = lines.length - 1; i >= 0; i--) if (lines[i]?.rotationId === token) return i;
      return -1;
    };
    return this.#slots
      .filter((w) => w.isRunning && lastMention(w) >= 0)
      .sort((a, b) => Date.parse(lastLineTime(b, token)) - Date.parse(lastLineTime(a, token)));
  }

  slotOf(worker: WorkerProcess): number {
    return this.#slots.indexOf(worker);
  }

  /** Sends `signal` to the worker in `slot`, waits for its exit and starts a fresh worker there. */
  async replace(slot: number, signal: 'SIGKILL' | 'SIGTERM', exitTimeoutMs = 20_000) {
    const worker = this.#slots[slot];
    if (worker === undefined) throw new Error(`no worker in slot ${slot}`);
    worker.stop(signal);
    const exit = await worker.waitForExit(exitTimeoutMs);
    const fresh = await this.#startSlot(slot);
    return { exit, killed: worker, fresh };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#slots.map((w) => w.dispose(15_000)));
  }
}

function lastLineTime(worker: WorkerProcess, token: string): string {
  const lines = worker.logLines().filter((l) => l.rotationId === token);
  return String(lines.at(-1)?.time ?? '1970-01-01T00:00:00Z');
}

// ---------------------------------------------------------------------------------------------------------
// The AWSCURRENT watcher
// ---------------------------------------------------------------------------------------------------------

export interface WatchedSecret {
  readonly secretName: string;
  readonly orgId: string;
  readonly clientId: string;
  /** The Atlas secret the seeded value is (it carries no `atlasSecretId`). */
  readonly seededAtlasSecretId: string;
}

export interface Violation {
  /** When the failed check ran (ISO 8601, test process clock). */
  readonly at: string;
  readonly secretName: string;
  readonly versionId: string;
  readonly atlasSecretId: string | undefined;
  readonly problem: string;
}

interface SeenCurrent {
  readonly versionId: string;
  readonly clientSecret: string;
  readonly atlasSecretId: string | undefined;
}

/**
 * Samples every watched secret's AWSCURRENT every `intervalMs` until stopped (or `maxDurationMs`), and checks
 * that the credential it holds is accepted by Atlas at that instant:
 * - every sample: the simulator's state (`serviceAccount(orgId, clientId)`) holds the Atlas secret the value names
 *   (`atlasSecretId`, or the seeded id for the seeded value), unexpired. In-process and free: no request, so it
 *   runs 10 times a second without touching the token endpoint's limits;
 * - once per AWSCURRENT version first seen: a token minted with the value at /api/oauth/token (then revoked, so
 *   the watcher never holds more than one active token per account). This proves the value itself works, which
 *   the id comparison cannot (the simulator never exposes values), without minting 10 times a second.
 * A failed check is re-confirmed by reading AWSCURRENT's version id again: only when AWSCURRENT is still the same
 * version after the check (it never moves back to an older version) is it recorded, so a promotion between the
 * read and the check is not mistaken for a violation.
 */
export class CurrentCredentialWatcher {
  readonly violations: Violation[] = [];
  /** Per secret, the AWSCURRENT version ids in the order they were seen, with when. */
  readonly timeline = new Map<string, { at: string; versionId: string }[]>();
  samples = 0;
  readonly #minted = new Set<string>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly simulator: AtlasSimulator,
    private readonly secrets: readonly WatchedSecret[],
    private readonly options: { readonly intervalMs: number; readonly maxDurationMs: number },
  ) {}

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const until = Date.now() + this.options.maxDurationMs;
    while (!this.#stop.signal.aborted && Date.now() < until) {
      const tick = Date.now();
      await Promise.all(this.secrets.map((s) => this.#sample(s)));
      this.samples += 1;
      const wait = this.options.intervalMs - (Date.now() - tick);
      if (wait > 0) await sleep(wait, undefined, { signal: this.#stop.signal }).catch(() => undefined);
    }
  }

  async #readCurrent(secret: WatchedSecret): Promise<SeenCurrent | undefined> {
    try {
      const out = await this.client.send(
        new GetSecretValueCommand({ SecretId: secret.secretName, VersionStage: 'AWSCURRENT' }),
      );
      const json = JSON.parse(out.SecretString ?? '{}') as Record<string, unknown>;
      const clientSecret = typeof json.clientSecret === 'string' ? json.clientSecret : '';
      if (clientSecret !== '') plainSecrets.add(clientSecret);
      return {
        versionId: out.VersionId ?? '',
        clientSecret,
        atlasSecretId:
          typeof json.atlasSecretId === 'string' ? json.atlasSecretId : secret.seededAtlasSecretId,
      };
    } catch {
      return undefined; // the emulator did not answer this once: no sample, no verdict
    }
  }

  async #sample(secret: WatchedSecret): Promise<void> {
    const current = await this.#readCurrent(secret);
    if (current === undefined) return;
    const seen = this.timeline.get(secret.secretName) ?? [];
    if (seen.at(-1)?.versionId !== current.versionId) {
      seen.push({ at: new Date().toISOString(), versionId: current.versionId });
      this.timeline.set(secret.secretName, seen);
    }
    const at = new Date().toISOString();
    let problem = this.#stateProblem(secret, current);
    const mintKey = `${secret.secretName} ${current.versionId}`;
    if (problem === undefined && !this.#minted.has(mintKey)) {
      const minted = await this.#mint(secret.clientId, current.clientSecret);
      if (minted === 'accepted') this.#minted.add(mintKey);
      else if (minted === 'refused') problem = 'its clientSecret does not mint a token (401 invalid_client)';
    }
    if (problem === undefined) return;
    const again = await this.#readCurrent(secret);
    if (again?.versionId !== current.versionId) return; // AWSCURRENT moved meanwhile: not a verdict
    this.violations.push({
      at,
      secretName: secret.secretName,
      versionId: current.versionId,
      atlasSecretId: current.atlasSecretId,
      problem,
    });
  }

  #stateProblem(secret: WatchedSecret, current: SeenCurrent): string | undefined {
    const account = this.simulator.serviceAccount(secret.orgId, secret.clientId);
    const atlasSecret = account?.secrets.find((s) => s.id === current.atlasSecretId);
    if (atlasSecret === undefined) return `Atlas secret ${current.atlasSecretId} does not exist`;
    if (Date.parse(atlasSecret.expiresAt) <= Date.now()) {
      return `Atlas secret ${current.atlasSecretId} expired at ${atlasSecret.expiresAt}`;
    }
    return undefined;
  }

  /** 'accepted' (token minted, then revoked), 'refused' (401), or 'unknown' (429, 5xx, network: no verdict). */
  async #mint(clientId: string, clientSecret: string): Promise<'accepted' | 'refused' | 'unknown'> {
    const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    try {
      const response = await fetch(`${this.simulator.baseUrl}/api/oauth/token`, {
        method: 'POST',
        headers: { authorization: basic, ...form },
        body: 'grant_type=client_credentials',
      });
      const body = (await response.json().catch(() => ({}))) as { access_token?: unknown };
      if (response.status === 401) return 'refused';
      if (response.status !== 200 || typeof body.access_token !== 'string') return 'unknown';
      const revoked = await fetch(`${this.simulator.baseUrl}/api/oauth/revoke`, {
        method: 'POST',
        headers: { authorization: basic, ...form },
        body: new URLSearchParams({ token: body.access_token }).toString(),
      });
      await revoked.arrayBuffer();
      return 'accepted';
    } catch {
      return 'unknown';
    }
  }
}

/** Polls `probe` every `intervalMs` until it returns a value; undefined on timeout (the caller records the miss). */
export async function whenSeen<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 25,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(intervalMs);
  }
}
