import { parseArgs } from 'node:util';
import { AtlasSimulator } from './atlas-simulator.js';

/**
 * `node dist/src/simulator/main.js [--port N] [--token-ttl-seconds N] [--digest-nonce-ttl-seconds N]`: prints `{"baseUrl": ...}` as one
 * JSON line on stdout once listening, and runs until SIGTERM or SIGINT. Seed and drive it through
 * `/__simulator/` (see control-endpoints.ts).
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'token-ttl-seconds': { type: 'string' },
    'digest-nonce-ttl-seconds': { type: 'string' },
  },
});

function integer(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--${name} must be a non-negative integer: ${raw}`);
  return value;
}

const ttl = values['token-ttl-seconds'];
const nonceTtl = values['digest-nonce-ttl-seconds'];
const simulator = await AtlasSimulator.start({
  port: integer('port', values.port),
  ...(ttl === undefined ? {} : { tokenTtlSeconds: integer('token-ttl-seconds', ttl) }),
  ...(nonceTtl === undefined ? {} : { digestNonceTtlSeconds: integer('digest-nonce-ttl-seconds', nonceTtl) }),
});
process.stdout.write(`${JSON.stringify({ baseUrl: simulator.baseUrl })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  simulator.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('atlas-simulator: close failed', error);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
