import { context, type Tracer as OtelTracer, SpanKind, SpanStatusCode } from '@opentelemetry/api';

/** The part of an AWS SDK v3 client the tracing middleware needs (any client's stack takes it). */
interface MiddlewareClient {
  readonly middlewareStack: { add(middleware: never, options: never): void };
}

/** The initialize-step middleware shape of the SDK's stack, as far as this middleware uses it. */
type AddInitializeMiddleware = (
  middleware: (
    next: (args: unknown) => Promise<unknown>,
    handlerContext: { readonly clientName?: string; readonly commandName?: string },
  ) => (args: unknown) => Promise<unknown>,
  options: { readonly step: 'initialize'; readonly name: string; readonly override?: boolean },
) => void;

/**
 * One client span per AWS SDK call (`SecretsManager.GetSecretValue`…), child of the active span, added as a
 * middleware of our own clients — built in the composition root — rather than by patching the SDK's modules
 * (@opentelemetry/instrumentation-aws-sdk needs a module loader hook, which an ESM bundle does not load
 * reliably; ADR 0011). Attributes: service, operation, region-free ids — never the input or output (a
 * SecretString travels in both), only the HTTP status and AWS request id of the answer.
 */
export function traceAwsSdkClient(client: MiddlewareClient, tracer: OtelTracer, service: string): void {
  const add = client.middlewareStack.add.bind(client.middlewareStack) as unknown as AddInitializeMiddleware;
  add(
    (next, handlerContext) => async (args) => {
      const operation = handlerContext.commandName?.replace(/Command$/, '') ?? 'unknown';
      return tracer.startActiveSpan(
        `${service}.${operation}`,
        {
          kind: SpanKind.CLIENT,
          attributes: { 'rpc.system': 'aws-api', 'rpc.service': service, 'rpc.method': operation },
        },
        context.active(),
        async (span) => {
          try {
            const output = (await next(args)) as {
              readonly output?: { readonly $metadata?: { httpStatusCode?: number; requestId?: string } };
            };
            const metadata = output.output?.$metadata;
            if (metadata?.httpStatusCode !== undefined) {
              span.setAttribute('http.response.status_code', metadata.httpStatusCode);
            }
            if (metadata?.requestId !== undefined) span.setAttribute('aws.request_id', metadata.requestId);
            return output;
          } catch (error) {
            const name = error instanceof Error ? error.name : 'UnknownError';
            const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
            span.setAttribute('error.type', name);
            if (status !== undefined) span.setAttribute('http.response.status_code', status);
            span.setStatus({ code: SpanStatusCode.ERROR, message: name });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
    { step: 'initialize', name: 'atlasRotatorTracing', override: true },
  );
}
