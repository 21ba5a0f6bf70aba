import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogFields } from '../../../application/ports/logger.js';

/** What Lambda passes a handler as its second argument that the logs need (the rest is ignored). */
export interface LambdaContext {
  readonly awsRequestId: string;
  readonly functionName: string;
}

type Invocation = {
  readonly lambdaRequestId: string;
  readonly functionName: string;
  readonly coldStart: boolean;
};

/**
 * The Lambda invocation a log line belongs to: its request id, the function name and whether it is the
 * execution environment's first invocation (a cold start). Kept per asynchronous context, so that a line is
 * tagged with its own invocation even when one environment runs several at once (Lambda Managed Instances);
 * a line written outside any invocation (initialisation) carries none of it.
 */
export class LambdaInvocations {
  readonly #current = new AsyncLocalStorage<Invocation>();
  #started = 0;

  /** Runs one invocation's work; without a context (a test calling the handler directly), runs it untagged. */
  run<T>(context: LambdaContext | undefined, work: () => Promise<T>): Promise<T> {
    const coldStart = this.#started === 0;
    this.#started += 1;
    if (context === undefined) return work();
    return this.#current.run(
      { lambdaRequestId: context.awsRequestId, functionName: context.functionName, coldStart },
      work,
    );
  }

  /** The fields of the invocation running now, for every log line it writes. */
  fields(): LogFields {
    return this.#current.getStore() ?? {};
  }
}
