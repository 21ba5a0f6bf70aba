import type { Tracer as OtelTracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { NO_TRACING, type Tracer } from '../../application/ports/tracer.js';
import type { Config } from '../config/load-config.js';
import { startOpenTelemetryTracing } from '../outbound/telemetry/open-telemetry-tracing.js';

/** The process's tracing: the port for the application, the raw tracer for the AWS SDK middleware (when on). */
export interface Tracing {
  readonly tracer: Tracer;
  readonly otelTracer: OtelTracer | undefined;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const OFF: Tracing = {
  tracer: NO_TRACING,
  otelTracer: undefined,
  flush: async () => undefined,
  shutdown: async () => undefined,
};

/** Tracing as configured: off unless ATLAS_ROTATOR_TRACING=on or an OTLP endpoint is set (README). */
export function tracingFor(config: Config, exporter: SpanExporter | undefined): Tracing {
  if (!config.tracing.enabled) return OFF;
  return startOpenTelemetryTracing({
    serviceName: config.tracing.serviceName,
    endpoint: config.tracing.endpoint,
    ...(exporter === undefined ? {} : { exporter }),
  });
}
