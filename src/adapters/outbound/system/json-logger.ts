import type { LogFields, Logger } from '../../../application/ports/logger.js';
import type { LogLevel } from '../../config/load-config.js';

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

const REDACTED = '[REDACTED]';
const UUID = '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}';

/**
 * What is masked wherever it appears, even if a caller passed it by mistake. Two kinds of shapes:
 *
 * - Shapes that are secret by themselves: an Atlas service-account secret (`mdb_sa_sk_…`), an
 *   `Authorization` credential (`Bearer …`, `Basic …`, `Digest <param>=…` up to the end of the header), and a JWT
 *   (three base64url segments, the first `eyJ` — what an OAuth access token looks like).
 * - A programmatic API key's private key is a UUID, and so are ids that must stay readable (a rotation id,
 *   a request id, a Secrets Manager version id). A UUID is therefore masked only where its context says it
 *   is a private key: after a public key and a colon (`abcdefgh:<uuid>`, the `user:password` of Digest and
 *   Basic credentials and of `curl -u`), or as the value of a key named like a private key
 *   (`privateKey`, `private_key`, `apiPrivateKey`, in `k=v`, `k: v` and JSON form). Anywhere else a UUID
 *   is an id and is left alone.
 *
 * The values of fields named like a secret (see `SECRET_KEYS`) are masked whatever their shape.
 */
const SECRET_SHAPES: readonly (readonly [RegExp, string])[] = [
  [/mdb_sa_sk_[A-Za-z0-9_-]+/g, REDACTED],
  [/\bDigest\s+[A-Za-z-]+=[^\r\n]*/g, `Digest ${REDACTED}`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, REDACTED],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  [new RegExp(`(?<![:A-Za-z0-9])([a-z]{8}):${UUID}`, 'g'), `$1:${REDACTED}`],
  [new RegExp(`(private[_-]?key\\\\?["']?\\s*[:=]\\s*\\\\?["']?)${UUID}`, 'gi'), `$1${REDACTED}`],
];

/**
 * Field names whose value is a secret, compared without case, `_` and `-`. Deliberately exact names:
 * `secretId`, `secretArn`, `newAtlasSecretId`, `rotationId`, `requestId` and `token` (the rotation token,
 * an id) are ids and stay readable.
 */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'secret',
  'clientsecret',
  'secretvalue',
  'secretstring',
  'password',
  'privatekey',
  'apiprivatekey',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'bearertoken',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
]);

function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase().replaceAll(/[_-]/g, ''));
}

export function redact(text: string): string {
  return SECRET_SHAPES.reduce((out, [shape, replacement]) => out.replace(shape, replacement), text);
}

/**
 * A copy of a logged value with every string redacted and every secret-named field masked. Errors keep their
 * name, message and code (JSON.stringify would print `{}`); cycles and depth are bounded.
 */
function scrubbed(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redact(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  // What JSON.stringify would print for it: a Date's ISO string, a SecretValue's [REDACTED].
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return scrubbed(toJSON.call(value), depth + 1, seen);
  if (seen.has(value)) return '[Circular]';
  if (depth >= 8) return '[Truncated]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => scrubbed(item, depth + 1, seen));
  const source: Record<string, unknown> =
    value instanceof Error
      ? {
          name: value.name,
          message: value.message,
          ...('code' in value ? { code: value.code } : {}),
          ...(value.cause === undefined ? {} : { cause: value.cause }),
        }
      : (value as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(source)) {
    const masked = isSecretKey(key) && inner !== undefined && inner !== null;
    out[redact(key)] = masked ? REDACTED : scrubbed(inner, depth + 1, seen);
  }
  return out;
}

/**
 * One JSON object per line. Writes to the given sink (stderr by default, keeping stdout for results).
 * `context` is asked for fields on every line (in Lambda: the invocation's request id, function name and cold
 * start); they come after `base` and before the line's own fields, and are scrubbed like them.
 */
export class JsonLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly write: (line: string) => void,
    private readonly base: LogFields = {},
    private readonly now: () => Date = () => new Date(),
    private readonly context: () => LogFields = () => ({}),
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields);
  }

  private log(level: Exclude<LogLevel, 'silent'>, message: string, fields: LogFields | undefined): void {
    if (RANK[level] < RANK[this.level]) return;
    // Redacted value by value (keys too), before serialisation: a mask never cuts through the JSON syntax.
    const entry = scrubbed({ ...this.base, ...this.context(), ...fields }) as Record<string, unknown>;
    const line = JSON.stringify({
      time: this.now().toISOString(),
      level,
      message: redact(message),
      ...entry,
    });
    this.write(`${line}\n`);
  }
}
