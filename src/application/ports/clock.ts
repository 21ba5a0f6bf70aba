export interface Clock {
  now(): Date;
  /** Waits; the only way the application passes time (tests use a fake that returns at once). */
  sleep(ms: number): Promise<void>;
}
