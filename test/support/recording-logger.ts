import type { LogFields, Logger } from '../../src/application/ports/logger.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields;
}

/** Keeps every line, so a test can look for a field or make sure a secret never appears. */
export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];

  debug(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'debug', message, fields });
  }

  info(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'info', message, fields });
  }

  warn(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'warn', message, fields });
  }

  error(message: string, fields: LogFields = {}): void {
    this.entries.push({ level: 'error', message, fields });
  }

  withMessage(message: string): LogEntry[] {
    return this.entries.filter((e) => e.message === message);
  }

  /** Everything logged, as one string. */
  text(): string {
    return this.entries.map((e) => `${e.level} ${e.message} ${JSON.stringify(e.fields)}`).join('\n');
  }
}
