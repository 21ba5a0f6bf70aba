/**
 * Holds one call of a port until the test opens the gate: the way unit tests interleave two runs at an exact
 * point (the fakes' own interceptors are synchronous and cannot wait). Wraps any port object; the wrapped object
 * keeps every other call as it is.
 */
export class CallGate {
  readonly #opened: Promise<void>;
  #open!: () => void;
  readonly #reached: Promise<void>;
  #reach!: () => void;
  /** Whether the held call was reached. */
  hit = false;

  constructor() {
    this.#opened = new Promise((resolve) => {
      this.#open = resolve;
    });
    this.#reached = new Promise((resolve) => {
      this.#reach = resolve;
    });
  }

  /** Resolves once the held call is reached (and waiting). */
  reached(): Promise<void> {
    return this.#reached;
  }

  open(): void {
    this.#open();
  }

  /**
   * `target` with its `nth` call of `method` (1-based) held: `before` it reaches the target, or `after` it took
   * effect and before its answer is returned.
   */
  wrap<T extends object>(target: T, method: keyof T & string, nth: number, when: 'before' | 'after'): T {
    let count = 0;
    return new Proxy(target, {
      get: (obj, key, receiver) => {
        const value = Reflect.get(obj, key, receiver);
        if (key !== method || typeof value !== 'function') {
          return typeof value === 'function' ? value.bind(obj) : value;
        }
        return async (...args: unknown[]) => {
          count += 1;
          if (count !== nth) return value.apply(obj, args);
          this.hit = true;
          if (when === 'before') {
            this.#reach();
            await this.#opened;
            return value.apply(obj, args);
          }
          const settled = await Promise.allSettled([value.apply(obj, args)]);
          this.#reach();
          await this.#opened;
          const [result] = settled;
          if (result?.status === 'rejected') throw result.reason;
          return result?.status === 'fulfilled' ? result.value : undefined;
        };
      },
    });
  }
}
