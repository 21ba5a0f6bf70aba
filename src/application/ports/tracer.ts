import type { Traceparent } from '../../domain/trace-context.js';

/** Span attributes: ids, names, counts and codes only — never a secret value, a token or a request body. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** The span a piece of work runs in. */
export interface TraceSpan {
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span failed, with the stable error code (the message is not recorded: it may name values). */
  fail(errorCode: string): void;
}

/**
 * Tracing of rotations (OpenTelemetry behind it, or nothing when tracing is off). Spans nest by the
 * asynchronous context: a span started inside `work` is its child, and so are the HTTP and AWS SDK calls made
 * inside it.
 */
export interface Tracer {
  /**
   * Runs `work` in a new span, child of the current one — or, when there is none and `parent` is a valid
   * traceparent, of that remote parent (a rotation request's). The span ends when `work` settles; a rejection
   * marks it failed (with the error's `code`, when it has one) and is passed on.
   */
  inSpan<T>(
    name: string,
    options: { readonly attributes?: SpanAttributes; readonly parent?: Traceparent | undefined },
    work: (span: TraceSpan) => Promise<T>,
  ): Promise<T>;
  /** The traceparent of the current span; undefined when tracing is off or no span is current. */
  traceparent(): Traceparent | undefined;
}

const NO_SPAN: TraceSpan = { setAttributes: () => undefined, fail: () => undefined };

/** Tracing off: runs the work, records nothing. */
export const NO_TRACING: Tracer = {
  inSpan: (_name, _options, work) => work(NO_SPAN),
  traceparent: () => undefined,
};
