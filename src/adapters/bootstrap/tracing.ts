import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { NO_TRACING, type Tracer } from '../../application/ports/tracer.js';
import type { Config } from '../config/load-config.js';
import type { traceAwsSdkClient } from '../outbound/telemetry/aws-sdk-tracing.js';

/** An AWS SDK v3 client, as far as the tracing middleware needs it. */
type AwsSdkClient = Parameters<typeof traceAwsSdkClient>[0];

/** The process's tracing: the port for the application, the AWS SDK middleware (when on), the lifecycle. */
export interface Tracing {
  readonly tracer: Tracer;
  /** The client itself, with a span per call when tracing is on; untouched when it is off. */
  traceAwsClient<C extends AwsSdkClient>(client: C, service: string): C;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const OFF: Tracing = {
  tracer: NO_TRACING,
  traceAwsClient: (client) => client,
  flush: async () => undefined,
  shutdown: async () => undefined,
};

/**
 * Tracing as configured: off unless ATLAS_ROTATOR_TRACING=on or an OTLP endpoint is set (README). OpenTelemetry
 * is imported only when tracing is on: off, none of its modules is loaded (ADR 0014: they cost the process
 * resident memory it never uses).
 */
export async function tracingFor(config: Config, exporter: SpanExporter | undefined): Promise<Tracing> {
  if (!config.tracing.enabled) return OFF;
  const [{ startOpenTelemetryTracing }, awsSdk] = await Promise.all([
    import('../outbound/telemetry/open-telemetry-tracing.js'),
    import('../outbound/telemetry/aws-sdk-tracing.js'),
  ]);
  const started = startOpenTelemetryTracing({
    serviceName: config.tracing.serviceName,
    endpoint: config.tracing.endpoint,
    ...(exporter === undefined ? {} : { exporter }),
  });
  return {
    tracer: started.tracer,
    traceAwsClient: (client, service) => {
      awsSdk.traceAwsSdkClient(client, started.otelTracer, service);
      return client;
    },
    flush: () => started.flush(),
    shutdown: () => started.shutdown(),
  };
}
