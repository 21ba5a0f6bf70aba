import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AtlasAdminApiClient,
  type AtlasAdminApiClientSettings,
  DEFAULT_MAX_RESPONSE_BYTES,
} from '../../src/adapters/outbound/atlas/atlas-admin-api-client.js';
import type { ActingCredential, AtlasTarget } from '../../src/application/ports/atlas-service-accounts.js';
import { parseApiVersion, parseClientId, parseOrgId } from '../../src/domain/identifiers.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { BuiltPools, failure, RecordingClock } from './support/atlas-client-harness.js';

const TOKEN_PATH = '/api/oauth/token';
const MIB = 1_048_576;

describe('AtlasAdminApiClient reads response bodies up to maxResponseBytes', () => {
  let sim: AtlasSimulator;
  let clock: RecordingClock;
  const pools = new BuiltPools();

  function client(overrides: Partial<AtlasAdminApiClientSettings> = {}) {
    return new AtlasAdminApiClient({
      baseUrl: sim.baseUrl,
      dispatcherFor: pools.dispatcherFor,
      clock,
      allowInsecureHttp: true,
      ...overrides,
    });
  }

  function seed(): { target: AtlasTarget; credential: ActingCredential } {
    const { orgId } = sim.createOrg();
    const sa = sim.createServiceAccount(orgId);
    return {
      target: {
        baseUrl: sim.baseUrl,
        flavor: 'atlas',
        projectId: undefined,
        orgId: parseOrgId(orgId),
        clientId: parseClientId(sa.clientId),
        apiVersion: parseApiVersion('2024-08-05'),
      },
      credential: { clientId: parseClientId(sa.clientId), clientSecret: SecretValue.of(sa.secret) },
    };
  }

  const calls = (method: string, pathPart: string) =>
    sim.requests.filter((r) => r.method === method && r.path.includes(pathPart));

  beforeAll(async () => {
    sim = await AtlasSimulator.start();
  });
  afterAll(async () => {
    await sim.close();
  });
  afterEach(async () => {
    await pools.closeAll();
  });
  beforeEach(() => {
    clock = new RecordingClock();
    sim.clearFaults();
    sim.clearRequests();
  });

  it('defaults to 1 MiB', () => {
    expect(DEFAULT_MAX_RESPONSE_BYTES).toBe(MIB);
  });

  it('fails a GET whose body is larger than the default limit with ATLAS_UNEXPECTED_RESPONSE, without retrying', async () => {
    const account = seed();
    sim.injectFault({ method: 'GET', path: '/api/atlas/v2/orgs', status: 200, body: 'x'.repeat(2 * MIB) });
    const error = await failure(client().listSecrets(account.target, account.credential));
    expect(error).toMatchObject({ code: 'ATLAS_UNEXPECTED_RESPONSE', retryable: false, atlasStatus: 200 });
    expect(error.message).toContain(`with a body larger than ${MIB} bytes`);
    expect(error.message).not.toContain('xxxx');
    expect(calls('GET', '/serviceAccounts/')).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('does not retry even an answer that would be retried (503) when its body is too large', async () => {
    const account = seed();
    sim.injectFault({
      method: 'GET',
      path: '/api/atlas/v2/orgs',
      status: 503,
      body: { detail: 'y'.repeat(8_192) },
      times: Number.POSITIVE_INFINITY,
    });
    const error = await failure(
      client({ maxResponseBytes: 4_096 }).listSecrets(account.target, account.credential),
    );
    expect(error).toMatchObject({ code: 'ATLAS_UNEXPECTED_RESPONSE', retryable: false, atlasStatus: 503 });
    expect(error.message).toContain('larger than 4096 bytes');
    expect(calls('GET', '/serviceAccounts/')).toHaveLength(1);
  });

  it('fails a token answer that is too large, once, and keeps the client secret out of the message', async () => {
    const account = seed();
    sim.injectFault({ method: 'POST', path: TOKEN_PATH, status: 200, body: 'z'.repeat(MIB + 1) });
    const error = await failure(client().listSecrets(account.target, account.credential));
    expect(error).toMatchObject({ code: 'ATLAS_UNEXPECTED_RESPONSE', retryable: false });
    expect(error.message).toContain(`POST ${TOKEN_PATH}`);
    expect(error.message).not.toContain(
      (account.credential as { clientSecret: SecretValue }).clientSecret.reveal(),
    );
    expect(calls('POST', TOKEN_PATH)).toHaveLength(1);
  });

  it('reads a body of exactly the limit, and works on after a body was discarded', async () => {
    const account = seed();
    const atlas = client({ maxResponseBytes: 16_384 });
    const exact = `{"secrets":[]${' '.repeat(16_384 - '{"secrets":[]}'.length)}}`;
    expect(Buffer.byteLength(exact)).toBe(16_384);
    sim.injectFault({ method: 'GET', path: '/api/atlas/v2/orgs', status: 200, body: exact });
    expect(await atlas.listSecrets(account.target, account.credential)).toEqual([]);

    sim.injectFault({ method: 'GET', path: '/api/atlas/v2/orgs', status: 200, body: `${exact} ` });
    await failure(atlas.listSecrets(account.target, account.credential));
    // The connection was destroyed, not the pool: the next call gets the real answer.
    expect(await atlas.listSecrets(account.target, account.credential)).toHaveLength(1);
    await atlas.close();
  });

  it('refuses a limit that is not a positive whole number', () => {
    expect(() => client({ maxResponseBytes: 0 })).toThrow(RangeError);
    expect(() => client({ maxResponseBytes: 1.5 })).toThrow(/maxResponseBytes/);
  });
});

/** What the simulator cannot send: a chunked body without Content-Length that never ends. */
describe('AtlasAdminApiClient against an endless chunked body', () => {
  let server: Server;
  let origin: string;
  let closedByClient: Promise<void>;
  const pools = new BuiltPools();

  beforeAll(async () => {
    let closed: () => void = () => undefined;
    closedByClient = new Promise((resolve) => {
      closed = resolve;
    });
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!response.destroyed && response.write(chunk)) {
          // Until the socket's buffer is full; then wait for drain or close.
        }
      };
      response.on('drain', pump);
      response.on('close', closed);
      pump();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await pools.closeAll();
    server.closeAllConnections();
    server.close();
  });

  it('stops reading at the limit, closes the connection and fails with ATLAS_UNEXPECTED_RESPONSE', async () => {
    const clientId = parseClientId('mdb_sa_id_0123456789abcdef01234567');
    const atlas = new AtlasAdminApiClient({
      baseUrl: origin,
      dispatcherFor: pools.dispatcherFor,
      clock: new RecordingClock(),
      allowInsecureHttp: true,
      maxResponseBytes: 256 * 1024,
    });
    const target: AtlasTarget = {
      baseUrl: origin,
      flavor: 'atlas',
      projectId: undefined,
      orgId: parseOrgId('0123456789abcdef01234567'),
      clientId,
      apiVersion: parseApiVersion('2024-08-05'),
    };
    const credential = { clientId, clientSecret: SecretValue.of('mdb_sa_sk_endless-body-test') };
    const error = await failure(atlas.listSecrets(target, credential));
    expect(error).toMatchObject({ code: 'ATLAS_UNEXPECTED_RESPONSE', retryable: false, atlasStatus: 200 });
    expect(error.message).toContain('larger than 262144 bytes');
    await closedByClient;
  });
});
