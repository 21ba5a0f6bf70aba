/**
 * What the AtlasAdminApiClient tests share: a clock that never waits, the client's pool factory with every
 * pool it built, and the rejection a call must end in.
 */
import { expect } from 'vitest';
import { createAtlasDispatcher } from '../../../src/adapters/outbound/atlas/create-atlas-dispatcher.js';
import { AtlasApiError } from '../../../src/application/infrastructure-errors.js';
import type { Clock } from '../../../src/application/ports/clock.js';

/** A clock whose `sleep` returns at once, records the delay and moves time on. */
export class RecordingClock implements Clock {
  readonly sleeps: number[] = [];
  #nowMs: number;
  constructor(start = Date.now()) {
    this.#nowMs = start;
  }
  now(): Date {
    return new Date(this.#nowMs);
  }
  advance(ms: number): void {
    this.#nowMs += ms;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.#nowMs += ms;
  }
}

/**
 * The clients' `dispatcherFor`: a small pool per origin (plain http allowed, for the simulator), each one kept in
 * {@link built} with its origin until {@link closeAll} (after each test; a client's close() closes its own).
 */
export class BuiltPools {
  readonly built: { readonly origin: string; readonly pool: ReturnType<typeof createAtlasDispatcher> }[] = [];

  readonly dispatcherFor = (origin: string) => {
    const pool = createAtlasDispatcher(origin, {
      connectTimeoutMs: 2_000,
      keepAliveTimeoutMs: 4_000,
      connections: 4,
      allowInsecureHttp: true,
    });
    this.built.push({ origin, pool });
    return pool;
  };

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.built.map(({ pool }) => pool.close()));
    this.built.length = 0;
  }
}

/** The AtlasApiError `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<AtlasApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AtlasApiError);
    return error as AtlasApiError;
  }
  throw new Error('expected the call to fail');
}
