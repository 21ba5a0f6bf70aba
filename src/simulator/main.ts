import { parseArgs } from 'node:util';
import { AtlasSimulator, type AtlasSimulatorOptions } from './atlas-simulator.js';

/**
 * `node dist/src/simulator/main.js [--port N] [--token-ttl-seconds N] [--digest-nonce-ttl-seconds N]
 * [--token-rate-limit N/MIN | off] [--admin-api-rate-limit CAPACITY/REFILL/SECONDS | off]
 * [--create-secret-processing-ms N] [--trust-client-ip-header]`: prints `{"baseUrl": ...}` as one JSON line on
 * stdout once listening, and runs until SIGTERM or SIGINT. Seed and drive it through `/__simulator/` (see
 * control-endpoints.ts and README.md beside this file).
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'token-ttl-seconds': { type: 'string' },
    'digest-nonce-ttl-seconds': { type: 'string' },
    'token-rate-limit': { type: 'string' },
    'admin-api-rate-limit': { type: 'string' },
    'create-secret-processing-ms': { type: 'string' },
    'trust-client-ip-header': { type: 'boolean' },
  },
});

function integer(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--${name} must be a non-negative integer: ${raw}`);
  return value;
}

/** `off`, or positive integers separated by `/`. */
function fractions(name: string, raw: string, count: number): number[] | null {
  if (raw === 'off') return null;
  const parts = raw.split('/').map((part) => integer(name, part));
  if (parts.length !== count || parts.some((p) => p < 1)) {
    throw new Error(`--${name} takes ${count} positive integers separated by "/" or "off": ${raw}`);
  }
  return parts;
}

const options: AtlasSimulatorOptions = { port: integer('port', values.port) };
const ttl = values['token-ttl-seconds'];
if (ttl !== undefined) options.tokenTtlSeconds = integer('token-ttl-seconds', ttl);
const nonceTtl = values['digest-nonce-ttl-seconds'];
if (nonceTtl !== undefined) options.digestNonceTtlSeconds = integer('digest-nonce-ttl-seconds', nonceTtl);
const tokenLimit = values['token-rate-limit'];
if (tokenLimit !== undefined) {
  const parts = fractions('token-rate-limit', tokenLimit, 2);
  options.tokenRateLimit = parts === null ? null : { requests: parts[0] ?? 1, perMinutes: parts[1] ?? 1 };
}
const bucket = values['admin-api-rate-limit'];
if (bucket !== undefined) {
  const parts = fractions('admin-api-rate-limit', bucket, 3);
  options.adminApiRateLimit =
    parts === null
      ? null
      : { capacity: parts[0] ?? 1, refillRate: parts[1] ?? 1, refillDurationSeconds: parts[2] ?? 1 };
}
const processing = values['create-secret-processing-ms'];
if (processing !== undefined) {
  options.createSecretProcessingMs = integer('create-secret-processing-ms', processing);
}
if (values['trust-client-ip-header'] === true) options.trustClientIpHeader = true;

const simulator = await AtlasSimulator.start(options);
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
