import type { Clock } from '../../src/application/ports/clock.js';

export const DEFAULT_NOW = '2025-06-02T09:00:00.000Z';

/** A clock that stands still until told otherwise; `sleep` returns at once, moves time on and is recorded. */
export class FixedClock implements Clock {
  #nowMs: number;
  readonly sleeps: number[] = [];

  constructor(start: string = DEFAULT_NOW) {
    this.#nowMs = Date.parse(start);
  }

  now(): Date {
    return new Date(this.#nowMs);
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.#nowMs += ms;
  }

  advance(ms: number): void {
    this.#nowMs += ms;
  }

  set(iso: string): void {
    this.#nowMs = Date.parse(iso);
  }
}
