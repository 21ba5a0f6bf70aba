import type { LogFields, Logger } from '../../../application/ports/logger.js';
import type { LogLevel } from '../../config/load-config.js';

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Anything shaped like an Atlas secret or a bearer token is masked even if a caller passed one by mistake. */
const SECRET_SHAPES = [/mdb_sa_sk_[A-Za-z0-9_-]+/g, /(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi];

export function redact(text: string): string {
  return SECRET_SHAPES.reduce((out, shape) => out.replace(shape, '[REDACTED]'), text);
}

/** One JSON object per line. Writes to the given sink (stderr by default, keeping stdout for results). */
export class JsonLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly write: (line: string) => void,
    private readonly base: LogFields = {},
    private readonly now: () => Date = () => new Date(),
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
    const line = JSON.stringify({ time: this.now().toISOString(), level, message, ...this.base, ...fields });
    this.write(`${redact(line)}\n`);
  }
}
