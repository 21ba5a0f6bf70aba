/**
 * OpenTelemetry is loaded only when tracing is on (ADR 0014): with tracing off, building the rotator imports
 * none of the tracing adapters (whose imports are the OpenTelemetry SDK, exporter and undici instrumentation).
 */
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it, vi } from 'vitest';

const loaded = vi.hoisted(() => new Set<string>());
vi.mock('../../../src/adapters/outbound/telemetry/open-telemetry-tracing.js', async (importOriginal) => {
  loaded.add('open-telemetry-tracing');
  return importOriginal();
});
vi.mock('../../../src/adapters/outbound/telemetry/aws-sdk-tracing.js', async (importOriginal) => {
  loaded.add('aws-sdk-tracing');
  return importOriginal();
});

const { buildContainer, disposeContainer } = await import('../../../src/adapters/bootstrap/container.js');
const { TOKENS } = await import('../../../src/adapters/bootstrap/tokens.js');
const { tracingFor } = await import('../../../src/adapters/bootstrap/tracing.js');
const { loadConfig } = await import('../../../src/adapters/config/load-config.js');

const env = { AWS_REGION: 'eu-west-1', METRICS_SINK: 'off' };

describe('tracing is loaded on demand', () => {
  it('builds the rotator with tracing off without importing any OpenTelemetry adapter', async () => {
    const container = buildContainer(loadConfig({ ...env, ATLAS_ROTATOR_TRACING: 'off' }));
    try {
      await container.getAsync(TOKENS.rotateSecret);
      await container.getAsync(TOKENS.secretsManagerClient);
      const tracing = await container.getAsync(TOKENS.tracing);
      await tracing.flush();
    } finally {
      await disposeContainer(container);
    }
    expect([...loaded]).toEqual([]);
  });

  it('imports the OpenTelemetry adapters when tracing is on, and its spans reach the exporter', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = await tracingFor(loadConfig({ ...env, ATLAS_ROTATOR_TRACING: 'on' }), exporter);
    try {
      expect([...loaded].sort()).toEqual(['aws-sdk-tracing', 'open-telemetry-tracing']);
      await tracing.tracer.inSpan('atlas-rotator.rotation', {}, async () => undefined);
      await tracing.flush();
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['atlas-rotator.rotation']);
    } finally {
      await tracing.shutdown();
    }
  });
});
