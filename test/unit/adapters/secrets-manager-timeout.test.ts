/**
 * SECRETS_MANAGER_TIMEOUT_MS: a Secrets Manager endpoint that accepts the connection and never answers (a
 * half-open connection) fails the call, retryably, instead of holding it — and with it one of the rotator's
 * READ_CONCURRENCY read slots — for good.
 */
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildContainer, disposeContainer } from '../../../src/adapters/bootstrap/container.js';
import { TOKENS } from '../../../src/adapters/bootstrap/tokens.js';
import { loadConfig } from '../../../src/adapters/config/load-config.js';

const sockets = new Set<Socket>();
const silent = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.resume();
});
let endpoint = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  endpoint = `http://127.0.0.1:${address.port}`;
  // The SDK takes credentials from the environment; any will do for an endpoint that never answers.
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('SECRETS_MANAGER_TIMEOUT_MS', () => {
  it('defaults to 10 s and bounds a call to an endpoint that never answers', async () => {
    expect(loadConfig({ AWS_REGION: 'eu-west-1' }).secretsManagerTimeoutMs).toBe(10_000);
    const container = buildContainer(
      loadConfig({
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL: endpoint,
        METRICS_SINK: 'off',
        SECRETS_MANAGER_TIMEOUT_MS: '200',
      }),
    );
    try {
      const store = await container.getAsync(TOKENS.secretStore);
      const started = Date.now();
      const failure = await store.describe('atlas/never-answered').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ code: 'SECRET_STORE_UNAVAILABLE', retryable: true });
      // The request timed out (not, say, missing credentials): the endpoint did receive it.
      expect(String((failure as Error).message)).toMatch(/Timeout/i);
      // The SDK's three attempts of 200 ms each and its backoff, far from a hang.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await disposeContainer(container);
    }
  }, 15_000);
});
