import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenTelemetryTracing,
  startOpenTelemetryTracing,
} from '../../../src/adapters/outbound/telemetry/open-telemetry-tracing.js';
import { HandleRotationRequest } from '../../../src/application/handle-rotation-request.js';
import { KeyedSerializer } from '../../../src/application/keyed-serializer.js';
import { aRotationOnFakes, aToken, SECRET_NAME } from '../../support/builders.js';
import type { InMemorySecretStore } from '../../support/in-memory-secret-store.js';
import { RecordingRotationEventPublisher } from '../../support/recording-publisher.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const REQUEST_PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

let exporter: InMemorySpanExporter;
let tracing: OpenTelemetryTracing;

beforeAll(() => {
  exporter = new InMemorySpanExporter();
  tracing = startOpenTelemetryTracing({ serviceName: 'atlas-rotator-test', endpoint: undefined, exporter });
});

afterAll(async () => {
  await tracing.shutdown();
});

function aRotation() {
  const { store, rotate } = aRotationOnFakes({ tracer: tracing.tracer });
  const publisher = new RecordingRotationEventPublisher();
  const handle = new HandleRotationRequest(
    rotate,
    publisher,
    new KeyedSerializer(),
    { backoffBaseSeconds: 30, backoffMaxSeconds: 900 },
    tracing.tracer,
  );
  return { store, handle, publisher };
}

/** Every value any version of any secret holds, and every string field inside a JSON one. */
function secretValuesOf(store: InMemorySecretStore): string[] {
  const values: string[] = [];
  for (const secret of store.secrets.values()) {
    for (const version of secret.versions) {
      const raw = version.value?.reveal();
      if (raw === undefined) continue;
      values.push(raw);
      try {
        const json = JSON.parse(raw) as Record<string, unknown>;
        for (const key of ['clientSecret', 'privateKey']) {
          if (typeof json[key] === 'string') values.push(json[key]);
        }
      } catch {
        // not JSON: the raw value is searched for as it is
      }
    }
  }
  return values;
}

function everythingRecorded(spans: readonly ReadableSpan[]): string {
  return JSON.stringify(
    spans.map((s) => ({ name: s.name, attributes: s.attributes, status: s.status, events: s.events })),
  );
}

describe('tracing a rotation with OpenTelemetry', () => {
  it('makes a span per request, rotation, read and step, in the requester trace, and carries it to the event', async () => {
    exporter.reset();
    const { store, handle, publisher } = aRotation();
    const result = await handle.execute(
      {
        secretId: SECRET_NAME,
        requestId: 'traced-1',
        token: aToken(1),
        reason: undefined,
        traceparent: REQUEST_PARENT,
      },
      { attempt: 1, lastAttempt: false },
    );
    expect(result.outcome.status).toBe('completed');
    await tracing.flush();
    const spans = exporter.getFinishedSpans();
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const [request] = byName('atlas-rotator.request');
    const [rotation] = byName('atlas-rotator.rotation');
    expect(request?.spanContext().traceId).toBe(TRACE_ID);
    expect(request?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(rotation?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    const steps = spans.filter((s) => s.name.startsWith('atlas-rotator.step '));
    expect(steps.map((s) => s.name)).toContain('atlas-rotator.step start');
    for (const child of [...byName('atlas-rotator.read-secret'), ...steps]) {
      expect(child.parentSpanContext?.spanId).toBe(rotation?.spanContext().spanId);
      expect(child.spanContext().traceId).toBe(TRACE_ID);
    }
    expect(rotation?.attributes).toMatchObject({ 'atlas_rotator.status': 'completed' });
    // The completed event names the trace, at the request's span.
    expect(publisher.events[0]?.detail).toMatchObject({
      traceparent: `00-${TRACE_ID}-${request?.spanContext().spanId}-01`,
    });
    const recorded = everythingRecorded(spans);
    const secrets = secretValuesOf(store);
    expect(secrets.length).toBeGreaterThan(2);
    for (const secret of secrets) expect(recorded).not.toContain(secret);
    expect(recorded).not.toMatch(/mdb_sa_sk_|clientSecret|Bearer /);
  });

  it('marks the spans of a refused rotation failed with its error code, never its message', async () => {
    exporter.reset();
    const { handle, publisher } = aRotation();
    const result = await handle.execute(
      { secretId: 'no-such-secret', requestId: 'traced-2', token: aToken(2), reason: undefined },
      { attempt: 1, lastAttempt: false },
    );
    expect(result.outcome).toMatchObject({ status: 'failed', errorCode: 'SECRET_NOT_FOUND' });
    await tracing.flush();
    const spans = exporter.getFinishedSpans();
    const rotation = spans.find((s) => s.name === 'atlas-rotator.rotation');
    expect(rotation?.status).toMatchObject({ code: 2, message: 'SECRET_NOT_FOUND' });
    expect(rotation?.attributes['atlas_rotator.error_code']).toBe('SECRET_NOT_FOUND');
    // A new trace (no traceparent came in); the failed event names it.
    const request = spans.find((s) => s.name === 'atlas-rotator.request');
    expect(request?.parentSpanContext).toBeUndefined();
    expect(publisher.events[0]?.detail).toMatchObject({
      errorCode: 'SECRET_NOT_FOUND',
      traceparent: `00-${request?.spanContext().traceId}-${request?.spanContext().spanId}-01`,
    });
    const message = result.outcome.status === 'failed' ? result.outcome.message : '';
    expect(everythingRecorded(spans)).not.toContain(message);
  });

  it('ignores an invalid traceparent: a new trace starts', async () => {
    exporter.reset();
    const { handle } = aRotation();
    await handle.execute(
      {
        secretId: SECRET_NAME,
        requestId: 'traced-3',
        token: aToken(3),
        reason: undefined,
        traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      },
      { attempt: 1, lastAttempt: false },
    );
    await tracing.flush();
    const request = exporter.getFinishedSpans().find((s) => s.name === 'atlas-rotator.request');
    expect(request?.parentSpanContext).toBeUndefined();
    expect(request?.spanContext().traceId).not.toBe('0'.repeat(32));
  });
});
