/**
 * vitest globalSetup for the `integration` project: provides one AWS endpoint (SQS, EventBridge, Secrets Manager,
 * Lambda) as `inject('awsEndpoint')`. The emulator is, in order of preference:
 *   1. AWS_ENDPOINT_URL is set: wait until it answers and use it (CI or a developer started one).
 *   2. A Docker engine answers: start localstack/localstack:4.14.0 with @testcontainers/localstack.
 *   3. Otherwise: `bash scripts/aws-emulator.sh start` (LocalStack 4.14.0 on the host, no Docker), stopped in teardown.
 * Whichever it is, the tests do not talk to it directly: `awsEndpoint` is the AWS semantics layer in front of it
 * (support/aws-semantics-proxy.ts), which answers as AWS does where the emulator differs. The emulator itself is
 * `inject('awsEmulatorEndpoint')`, for the tests that prove a gap exists.
 * See docs/adr/0002-aws-emulator-without-docker.md and docs/adr/0006-aws-semantics-layer.md.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestProject } from 'vitest/node';
import { startAwsSemanticsProxy } from './support/aws-semantics-proxy.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** The AWS semantics layer in front of the emulator: what every test and child process uses. */
    awsEndpoint: string;
    /** The emulator itself, bypassing the layer. */
    awsEmulatorEndpoint: string;
  }
}

const LOCALSTACK_IMAGE = 'localstack/localstack:4.14.0'; // last tag that runs without LOCALSTACK_AUTH_TOKEN
const ROOT = resolve(import.meta.dirname, '../..');
const EMULATOR_SCRIPT = 'scripts/aws-emulator.sh';

type Teardown = () => Promise<void>;

export default async function setup(project: TestProject): Promise<Teardown> {
  const emulator = await startEmulator();
  if (process.env.AWS_SEMANTICS_LAYER === 'off') {
    // Only to see what fails without the layer (docs/adr/0006): the tests then talk to the emulator directly.
    console.error('aws-semantics-layer: off (AWS_SEMANTICS_LAYER=off); tests talk to the emulator directly');
    project.provide('awsEmulatorEndpoint', emulator.endpoint);
    project.provide('awsEndpoint', emulator.endpoint);
    return async () => {
      await emulator.stop?.();
    };
  }
  const layer = await startAwsSemanticsProxy(emulator.endpoint).catch(async (error: unknown) => {
    await emulator.stop?.();
    throw error;
  });
  project.provide('awsEmulatorEndpoint', emulator.endpoint);
  project.provide('awsEndpoint', layer.url);
  return async () => {
    const answered = Object.entries(layer.interventions).map(([rule, n]) => `${rule}=${n}`);
    if (answered.length > 0) console.error(`aws-semantics-layer answered itself: ${answered.join(' ')}`);
    await layer.close();
    await emulator.stop?.();
  };
}

interface Emulator {
  readonly endpoint: string;
  /** Absent when someone else started it (and stops it). */
  readonly stop: Teardown | undefined;
}

async function startEmulator(): Promise<Emulator> {
  const external = process.env.AWS_ENDPOINT_URL;
  if (external) {
    await waitUntilAnswers(external, 60_000);
    return { endpoint: external, stop: undefined };
  }

  if (await dockerAnswers()) {
    const { LocalstackContainer } = await import('@testcontainers/localstack');
    const token = process.env.LOCALSTACK_AUTH_TOKEN;
    const container = await new LocalstackContainer(LOCALSTACK_IMAGE)
      .withEnvironment({
        SERVICES: 'sqs,events,secretsmanager,lambda',
        SQS_ENDPOINT_STRATEGY: 'dynamic', // QueueUrl echoes host:mappedPort
        DISABLE_EVENTS: '1',
        ...(token ? { LOCALSTACK_AUTH_TOKEN: token } : {}),
      })
      .start();
    return {
      endpoint: container.getConnectionUri(),
      stop: async () => {
        await container.stop();
      },
    };
  }

  // No Docker: LocalStack on the host. Reuse an instance someone else started (and leave it running).
  const status = await runScript('status');
  if (status.code === 0 && status.stdout) {
    return { endpoint: status.stdout, stop: undefined };
  }
  const started = await runScript('start');
  if (started.code !== 0 || !/^http:\/\/127\.0\.0\.1:\d+$/.test(started.stdout)) {
    throw new Error(`${EMULATOR_SCRIPT} start failed (exit ${started.code}); see its output above`);
  }
  return {
    endpoint: started.stdout,
    stop: async () => {
      await runScript('stop');
    },
  };
}

/** Runs the emulator script; its progress (stderr) goes to ours, stdout (the endpoint) is returned trimmed. */
function runScript(command: 'start' | 'stop' | 'status'): Promise<{ code: number | null; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn('bash', [EMULATOR_SCRIPT, command], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout: stdout.trim() }));
  });
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient(); // tries DOCKER_HOST, the config file and the sockets; pings the engine
    return true;
  } catch {
    return false;
  }
}

/** Any HTTP response counts as "answers" (an AWS endpoint may reply 4xx to a bare GET). */
async function waitUntilAnswers(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
      return;
    } catch (error) {
      lastError = error;
      await sleep(500);
    }
  }
  throw new Error(`AWS_ENDPOINT_URL=${endpoint} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}
