import {
  type Attributes,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  type Tracer as OtelTracer,
  type Span,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanAttributes, Tracer, TraceSpan } from '../../../application/ports/tracer.js';
import { isTraceparent } from '../../../domain/trace-context.js';
import { redact } from '../system/json-logger.js';

const propagator = new W3CTraceContextPropagator();

/** Attributes as OpenTelemetry takes them: undefined dropped, every string masked like a log line (defence in depth). */
export function spanAttributes(attributes: SpanAttributes | undefined): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value !== undefined) out[key] = typeof value === 'string' ? redact(value) : value;
  }
  return out;
}

function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : 'UNEXPECTED';
}

function asTraceSpan(span: Span): TraceSpan {
  return {
    setAttributes: (attributes) => span.setAttributes(spanAttributes(attributes)),
    fail: (errorCode) => {
      span.setAttribute('atlas_rotator.error_code', redact(errorCode));
      span.setStatus({ code: SpanStatusCode.ERROR, message: redact(errorCode) });
    },
  };
}

/**
 * The Tracer port on the OpenTelemetry API: spans nest by the active context (the SDK's AsyncLocalStorage
 * context manager), a remote parent comes in as a W3C traceparent. An error's message is never recorded (it may
 * name values); its stable `code` is.
 */
export class OpenTelemetryTracer implements Tracer {
  constructor(private readonly tracer: OtelTracer) {}

  inSpan<T>(
    name: string,
    options: { readonly attributes?: SpanAttributes; readonly parent?: string | undefined },
    work: (span: TraceSpan) => Promise<T>,
  ): Promise<T> {
    const active = context.active();
    const parent =
      trace.getSpan(active) === undefined && isTraceparent(options.parent)
        ? propagator.extract(active, { traceparent: options.parent }, defaultTextMapGetter)
        : active;
    return this.tracer.startActiveSpan(
      name,
      { attributes: spanAttributes(options.attributes) },
      parent,
      async (span) => {
        try {
          return await work(asTraceSpan(span));
        } catch (error) {
          asTraceSpan(span).fail(codeOf(error));
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }

  traceparent(): string | undefined {
    if (trace.getSpan(context.active()) === undefined) return undefined;
    const carrier: Record<string, string> = {};
    propagator.inject(context.active(), carrier, defaultTextMapSetter);
    return isTraceparent(carrier.traceparent) ? carrier.traceparent : undefined;
  }
}
