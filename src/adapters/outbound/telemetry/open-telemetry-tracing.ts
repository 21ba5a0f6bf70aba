import { context, type Tracer as OtelTracer, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { OpenTelemetryTracer } from './open-telemetry-tracer.js';

export interface TracingSettings {
  readonly serviceName: string;
  /** OTLP/HTTP traces endpoint (…/v1/traces); undefined: the exporter's own default (localhost:4318). */
  readonly endpoint: string | undefined;
  /** Instead of OTLP (tests: an InMemorySpanExporter); spans are then exported as each ends. */
  readonly exporter?: SpanExporter;
}

/** Tracing switched on: the port's adapter, the raw tracer for the AWS SDK middleware, and the lifecycle. */
export interface OpenTelemetryTracing {
  readonly tracer: OpenTelemetryTracer;
  readonly otelTracer: OtelTracer;
  /** Exports every ended span (a Lambda calls it before it returns: a frozen environment exports nothing). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry tracing for this process: a tracer provider exporting over OTLP/HTTP, the
 * AsyncLocalStorage context manager and the W3C propagator (registered globally: OpenTelemetry's context is
 * process-wide by design), and the undici instrumentation, which follows undici's diagnostics channels — so the
 * Atlas client's calls become child spans without a change to it (ADR 0011). It records method, URL, status and
 * timing; no header (the Authorization header is never recorded) and no body.
 */
export function startOpenTelemetryTracing(settings: TracingSettings): OpenTelemetryTracing {
  const exporter =
    settings.exporter ??
    new OTLPTraceExporter(settings.endpoint === undefined ? {} : { url: settings.endpoint });
  const processor: SpanProcessor =
    settings.exporter === undefined
      ? new BatchSpanProcessor({ exporter })
      : new SimpleSpanProcessor({ exporter });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: [processor],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const undici = new UndiciInstrumentation({ requireParentforSpans: true });
  undici.setTracerProvider(provider);
  undici.enable();
  const otelTracer = provider.getTracer('atlas-rotator');
  return {
    tracer: new OpenTelemetryTracer(otelTracer),
    otelTracer,
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      undici.disable();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
