/**
 * A child process of the benchmark that rotates secrets, so that its CPU time and peak RSS (VmHWM) are the
 * rotator's alone (the simulator, the proxies and the driver stay in the parent). Input: one JSON argument
 * (RunnerInput); output: one JSON line (RunnerOutput) on stdout. Ids and timings only, never a secret value.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { buildContainer, disposeContainer } from '../../src/adapters/bootstrap/container.js';
import { TOKENS } from '../../src/adapters/bootstrap/tokens.js';
import { loadConfig } from '../../src/adapters/config/load-config.js';
import { parseRotationToken } from '../../src/domain/identifiers.js';
import { inPool } from './stats.js';
import { type TemplateEndpoints, templateRotate } from './template-rotation.js';

export interface RunnerInput {
  readonly impl: 'atlas-rotator' | 'template';
  readonly env: Record<string, string>;
  readonly endpoints: TemplateEndpoints;
  /**
   * `repeats` × `perRun` secrets: run r rotates secrets[r × perRun, (r + 1) × perRun). Every rotation is of a
   * secret no run rotated before: with the default grace (OLD_SECRET_GRACE_HOURS, 24 h) a second rotation of
   * one secret within a day fails with OLD_SECRET_IN_GRACE, as it would for a user.
   */
  readonly secrets: readonly string[];
  readonly perRun: number;
  readonly inFlight: number;
  readonly repeats: number;
  /** Diagnosis only: write one V8 heap snapshot here when the heap first passes `heapSnapshotAtMb`. */
  readonly heapSnapshotPath?: string;
  readonly heapSnapshotAtMb?: number;
}

export interface RunnerRun {
  readonly ms: number;
  readonly cpuMs: number;
  readonly failed: number;
  /** Epoch ms per rotation, in the order of this run's slice of `secrets`. */
  readonly spans: readonly (readonly [number, number])[];
}

export interface RunnerOutput {
  readonly runs: readonly RunnerRun[];
  readonly vmHwmKb: number;
  /** Resident and peak resident memory once the rotator is built and before its first rotation, in KB. */
  readonly loaded: { readonly vmRssKb: number; readonly vmHwmKb: number };
  /** Peaks of process.memoryUsage() sampled every 50 ms, in KB: where the resident memory went. */
  readonly peakKb: { readonly heapUsed: number; readonly heapTotal: number; readonly external: number };
  readonly errors: readonly string[];
}

function statusKb(field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as RunnerInput;
  const container = input.impl === 'atlas-rotator' ? buildContainer(loadConfig(input.env)) : undefined;
  const rotateSecret = container === undefined ? undefined : await container.getAsync(TOKENS.rotateSecret);
  const loaded = { vmRssKb: statusKb('VmRSS'), vmHwmKb: statusKb('VmHWM') };
  const errors: string[] = [];
  const rotate = async (secretId: string): Promise<void> => {
    if (rotateSecret === undefined) {
      await templateRotate(input.endpoints, secretId, randomUUID());
      return;
    }
    const outcome = await rotateSecret.execute({ secretId, token: parseRotationToken(randomUUID()) });
    if (outcome.status !== 'completed') throw new Error(`${secretId}: ${outcome.stage} ${outcome.errorCode}`);
  };
  const runs: RunnerRun[] = [];
  const peak = { heapUsed: 0, heapTotal: 0, external: 0 };
  let snapshotWritten = false;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed / 1024);
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal / 1024);
    peak.external = Math.max(peak.external, m.external / 1024);
    if (
      !snapshotWritten &&
      input.heapSnapshotPath !== undefined &&
      m.heapUsed / 1024 / 1024 >= (input.heapSnapshotAtMb ?? 100)
    ) {
      writeHeapSnapshot(input.heapSnapshotPath);
      snapshotWritten = true;
    }
  }, 50);
  try {
    if (input.secrets.length < input.repeats * input.perRun)
      throw new Error(`${input.repeats} runs of ${input.perRun} need as many fresh secrets`);
    for (let r = 0; r < input.repeats; r += 1) {
      const batch = input.secrets.slice(r * input.perRun, (r + 1) * input.perRun);
      const spans: [number, number][] = batch.map(() => [0, 0]);
      let failed = 0;
      const cpu = process.cpuUsage();
      const start = performance.now();
      await inPool(
        batch.map((s, i) => [s, i] as const),
        input.inFlight,
        async ([secretId, i]) => {
          const begun = Date.now();
          try {
            await rotate(secretId);
          } catch (error) {
            failed += 1;
            if (errors.length < 5) errors.push(error instanceof Error ? error.message : String(error));
          }
          spans[i] = [begun, Date.now()];
        },
      );
      const ms = performance.now() - start;
      const used = process.cpuUsage(cpu);
      runs.push({ ms, cpuMs: (used.user + used.system) / 1000, failed, spans });
    }
  } finally {
    clearInterval(sampler);
    if (container !== undefined) await disposeContainer(container);
  }
  const output: RunnerOutput = { runs, vmHwmKb: statusKb('VmHWM'), loaded, peakKb: peak, errors };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

await main();
