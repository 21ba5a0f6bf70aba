/**
 * Tracing end to end, as the composition root wires it (ATLAS_ROTATOR_TRACING=on, an in-memory exporter in
 * place of OTLP): one request rotated against the Atlas simulator over HTTP and LocalStack behind the AWS
 * semantics layer. The Atlas calls (undici instrumentation) and the AWS SDK calls (our middleware) are child
 * spans of the rotation; nothing secret is in any span.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainer, disposeContainer } from '../../src/adapters/bootstrap/container.js';
import { TOKENS } from '../../src/adapters/bootstrap/tokens.js';
import { loadConfig } from '../../src/adapters/config/load-config.js';
import { tokenForRequestId } from '../../src/adapters/inbound/sqs/parse-rotation-request.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import {
  logLines,
  plainSecrets,
  secretsManagerClient,
  seedManagedSecret,
  valueAt,
} from './support/rotation-harness.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
let simulator: AtlasSimulator;
let container: ReturnType<typeof buildContainer>;
const exporter = new InMemorySpanExporter();
const client = secretsManagerClient();

beforeAll(async () => {
  simulator = await AtlasSimulator.start();
  const config = loadConfig({
    ...process.env,
    ATLAS_BASE_URL: simulator.baseUrl,
    ATLAS_ALLOW_INSECURE_HTTP: 'true',
    ATLAS_ROTATOR_TRACING: 'on',
    ROTATION_MIN_INTERVAL_MINUTES: '0',
    VERIFY_RETRY_DELAYS_MS: '50',
    LOG_LEVEL: 'debug',
  });
  container = buildContainer(config, { spanExporter: exporter, logSink: (line) => logLines.push(line) });
});

afterAll(async () => {
  await disposeContainer(container);
  client.destroy();
  await simulator.close();
});

function childrenOf(spans: readonly ReadableSpan[], parent: ReadableSpan | undefined): ReadableSpan[] {
  return spans.filter((s) => s.parentSpanContext?.spanId === parent?.spanContext().spanId);
}

function descendantsOf(spans: readonly ReadableSpan[], root: ReadableSpan | undefined): ReadableSpan[] {
  const direct = childrenOf(spans, root);
  return [...direct, ...direct.flatMap((c) => descendantsOf(spans, c))];
}

describe('tracing (ATLAS_ROTATOR_TRACING=on)', () => {
  it('traces a rotation with its Atlas HTTP and AWS SDK calls as children, carries the trace to the event, and records no secret', async () => {
    const account = await seedManagedSecret(simulator, client);
    const handle = await container.getAsync(TOKENS.handleRotationRequest);
    const tracing = await container.getAsync(TOKENS.tracing);
    const result = await handle.execute(
      {
        secretId: account.secretName,
        requestId: 'traced-request-1',
        token: tokenForRequestId('traced-request-1'),
        reason: undefined,
        traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01`,
      },
      { attempt: 1, lastAttempt: false },
    );
    expect(result.outcome.status).toBe('completed');
    const current = await valueAt(client, account.secretName, 'AWSCURRENT');
    expect(current.json.clientSecret).toBeDefined();
    await tracing.flush();

    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === 'atlas-rotator.request');
    const rotation = spans.find((s) => s.name === 'atlas-rotator.rotation');
    expect(request?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(rotation?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    const underRotation = descendantsOf(spans, rotation);
    for (const span of underRotation) expect(span.spanContext().traceId).toBe(TRACE_ID);
    // Atlas over undici: POST …/secrets among the HTTP client spans; Secrets Manager through the SDK middleware.
    const http = underRotation.filter((s) => s.attributes['http.request.method'] !== undefined);
    expect(http.length).toBeGreaterThan(2);
    expect(http.some((s) => s.attributes['http.request.method'] === 'POST')).toBe(true);
    const sdk = underRotation.filter((s) => s.attributes['rpc.system'] === 'aws-api');
    expect(sdk.map((s) => s.name)).toEqual(
      expect.arrayContaining(['SecretsManager.DescribeSecret', 'SecretsManager.PutSecretValue']),
    );
    // The event's PutEvents is a child of the request span, after the rotation.
    const publish = descendantsOf(spans, request).filter((s) => s.name === 'EventBridge.PutEvents');
    expect(publish).toHaveLength(1);

    const recorded = JSON.stringify(
      spans.map((s) => ({ name: s.name, attributes: s.attributes, status: s.status, events: s.events })),
    );
    for (const secret of plainSecrets) expect(recorded).not.toContain(secret);
    expect(recorded).not.toContain(current.json.clientSecret);
    expect(recorded).not.toMatch(/mdb_sa_sk_|Bearer |Basic |authorization/i);
  });
});
