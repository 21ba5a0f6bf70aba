/**
 * At most `limit` tasks at once; the others wait their turn in arrival order. RotateSecret reads secrets through
 * one (READ_CONCURRENCY), so that under a burst the rotations already under way reach Atlas before new ones
 * queue their reads ahead of them on Secrets Manager (issue 13, section 4).
 */
export class FifoGate {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`a gate needs a limit of at least 1, not ${limit}`);
    this.#free = limit;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line, so that no later arrival takes it first.
      const next = this.#waiting.shift();
      if (next === undefined) this.#free += 1;
      else next();
    }
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }
}
