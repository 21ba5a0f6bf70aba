/**
 * Sees every external call of a fake before and after it takes effect. A test uses it to simulate a
 * process that dies between two calls, or a call whose effect happened but whose answer was lost.
 */
export interface CallInterceptor {
  before(call: string): void;
  after(call: string): void;
}

export interface FailureOptions {
  /** 1-based index of the first failing call of that operation. Default 1. */
  readonly nth?: number;
  /** How many calls in a row fail. Default 1. */
  readonly times?: number;
  /** Fail after the call took effect: the answer is lost, the change is not. Default false. */
  readonly afterEffect?: boolean;
}

interface InjectedFailure<Op extends string> {
  readonly op: Op;
  readonly nth: number;
  remaining: number;
  readonly error: Error;
  readonly afterEffect: boolean;
}

/** The failures a test injects into a fake's calls, counted per operation. */
export class InjectedFailures<Op extends string> {
  readonly #failures: InjectedFailure<Op>[] = [];
  readonly #counts = new Map<Op, number>();

  /** Makes `op` fail from its `nth` call on (1-based), `times` times in a row. */
  failOn(op: Op, error: Error, options: FailureOptions = {}): void {
    this.#failures.push({
      op,
      nth: options.nth ?? 1,
      remaining: options.times ?? 1,
      error,
      afterEffect: options.afterEffect ?? false,
    });
  }

  /**
   * Counts a call of `op` and runs its `effect`, shown to `interceptor` as `label`, unless an injected failure
   * throws instead: before the effect, or after it when the failure is `afterEffect`.
   */
  run<T>(op: Op, label: string, interceptor: CallInterceptor | undefined, effect: () => T): T {
    const count = (this.#counts.get(op) ?? 0) + 1;
    this.#counts.set(op, count);
    interceptor?.before(label);
    const failure = this.#failures.find((f) => f.op === op && f.remaining > 0 && count >= f.nth);
    if (failure !== undefined) failure.remaining -= 1;
    if (failure !== undefined && !failure.afterEffect) throw failure.error;
    let result: T;
    try {
      result = effect();
    } catch (error) {
      // An error answer can be lost as well.
      interceptor?.after(label);
      throw error;
    }
    if (failure !== undefined) throw failure.error;
    interceptor?.after(label);
    return result;
  }
}
