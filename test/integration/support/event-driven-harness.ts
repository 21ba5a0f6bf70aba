/**
 * Event-driven test infrastructure on the AWS endpoint: a custom event bus, a request queue fed by a rule
 * (with a dead-letter queue), a capture queue fed by a rule on our own events, extra work queues (standard or
 * FIFO), and {@link WorkerProcess}, the built `atlas-rotator worker` run as a child process.
 * Every name carries a per-run suffix, so runs never share resources.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  DETAIL_TYPE_COMPLETED,
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_OLD_SECRET_IN_USE,
  DETAIL_TYPE_OLD_SECRET_RETIRED,
  DETAIL_TYPE_REQUESTED,
} from '../../../src/domain/rotation-events.js';
import { createQueue, type QueueRef, routeToQueue } from './event-routing.js';
import { region } from './rotation-harness.js';

export const root = resolve(import.meta.dirname, '../../..');
/** The built CLI; ATLAS_ROTATOR_MAIN points the tests at another build (to check a fix without rebuilding). */
const mainOverride = process.env.ATLAS_ROTATOR_MAIN;
export const mainJs = mainOverride || join(root, 'dist/src/adapters/bootstrap/main.js');

/** One run of the built CLI: its exit code, output, and wall time. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

/** Runs the built CLI as a user would, without blocking this process (the simulator lives here). */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  options: { readonly timeoutMs?: number } = {},
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((done) => {
    execFile(
      process.execPath,
      [mainJs, ...args],
      { cwd: root, env: cliEnv(env), timeout: options.timeoutMs ?? 120_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr, wallMs: Date.now() - started });
      },
    );
  });
}

/** The source of the requests the tests put on the bus (any source but ours). */
export const REQUESTER_SOURCE = 'it.rotation-requester';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds `dist/` when the CLI is missing or older than a source file (a stale build would run an old worker,
 * or none at all). Synchronous on purpose: it runs in beforeAll, before anything else is listening.
 */
export function ensureBuilt(): void {
  if (mainOverride) return;
  if (existsSync(mainJs) && statSync(mainJs).mtimeMs >= newestMtime(join(root, 'src'))) return;
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: root, encoding: 'utf8', timeout: 120_000 },
  );
  // tsc emits despite type errors: only a build that left no CLI behind is fatal (another file being
  // edited can fail the type check without touching the worker).
  if (!existsSync(mainJs)) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  if (build.status !== 0) console.warn(`tsc reported errors; running the emitted build:\n${build.stdout}`);
}

/** The environment a test runs the built CLI with: only `env`, plus PATH, the AWS endpoint, region and keys. */
export function cliEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL ?? '',
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ...env,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Worker process
// ---------------------------------------------------------------------------------------------------------

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Every worker's output in this run, to search for secret values at the end. */
export const workerOutputs: { readonly name: string; readonly output: () => string }[] = [];
const running = new Set<WorkerProcess>();

/** The built `atlas-rotator worker`, spawned asynchronously (the Atlas simulator lives in this process). */
export class WorkerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<WorkerExit>;
  readonly startedAt = Date.now();
  stdout = '';
  stderr = '';
  #exit: WorkerExit | undefined;
  #exitedAt: number | undefined;

  private constructor(name: string, env: Record<string, string>) {
    this.name = name;
    this.child = spawn(process.execPath, [mainJs, 'worker'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise<WorkerExit>((done) => {
      this.child.once('error', () => {
        this.#exit ??= { code: null, signal: null };
        done(this.#exit);
      });
      // 'close': the process ended and its output streams are fully read.
      this.child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        this.#exitedAt = Date.now();
        running.delete(this);
        this.#keepLog();
        done(this.#exit);
      });
    });
    running.add(this);
    workerOutputs.push({ name, output: () => `${this.stdout}\n${this.stderr}` });
  }

  /** Starts a worker with the test environment: only what is given here, plus PATH and the AWS endpoint. */
  static start(name: string, env: Record<string, string>): WorkerProcess {
    return new WorkerProcess(name, cliEnv(env));
  }

  /** With WORKER_LOG_DIR set, each worker's output is kept in a file there (for debugging a failure). */
  #keepLog(): void {
    const dir = process.env.WORKER_LOG_DIR;
    if (dir === undefined || dir === '') return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${this.name}.log`), `${this.stdout}\n--- stderr ---\n${this.stderr}`);
  }

  get isRunning(): boolean {
    return this.#exit === undefined;
  }

  /** Milliseconds from start (or from `since`) to exit; undefined while running. */
  exitedAfterMs(since = this.startedAt): number | undefined {
    return this.#exitedAt === undefined ? undefined : this.#exitedAt - since;
  }

  /** The JSON log lines on stderr (other lines skipped). */
  logLines(): Record<string, unknown>[] {
    const lines: Record<string, unknown>[] = [];
    for (const line of this.stderr.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line cut by a kill
      }
    }
    return lines;
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.isRunning) this.child.kill(signal);
  }

  /** Waits for the exit; on timeout kills the process (so nothing leaks) and throws with its last output. */
  async waitForExit(timeoutMs: number): Promise<WorkerExit> {
    const timeout = sleep(timeoutMs, 'timeout' as const);
    const result = await Promise.race([this.exited, timeout]);
    if (result !== 'timeout') return result;
    this.stop('SIGKILL');
    await this.exited;
    throw new Error(`worker ${this.name} did not exit within ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** Waits until stderr has a line matching `pattern`; throws with the output on timeout or exit. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stderr)) {
      if (!this.isRunning) throw new Error(`worker ${this.name} exited before ${pattern}:\n${this.tail()}`);
      if (Date.now() > deadline) {
        throw new Error(`worker ${this.name}: no ${pattern} within ${timeoutMs} ms:\n${this.tail()}`);
      }
      await sleep(50);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async dispose(graceMs = 10_000): Promise<void> {
    if (!this.isRunning) return;
    this.stop('SIGTERM');
    const result = await Promise.race([this.exited, sleep(graceMs, 'timeout' as const)]);
    if (result === 'timeout') {
      this.stop('SIGKILL');
      await this.exited;
    }
  }

  tail(chars = 4000): string {
    return `${this.stdout.slice(-chars)}\n--- stderr ---\n${this.stderr.slice(-chars)}`;
  }
}

/** Stops every worker still running (afterAll / afterEach). */
export async function stopAllWorkers(): Promise<void> {
  await Promise.all([...running].map((worker) => worker.dispose(5_000)));
}

// ---------------------------------------------------------------------------------------------------------
// Captured events
// ---------------------------------------------------------------------------------------------------------

/** An event as a rule delivered it to the capture queue (the EventBridge envelope). */
export interface CapturedEvent {
  readonly id: string;
  readonly detailType: string;
  readonly source: string;
  readonly time: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
  /** The SQS message body as received. */
  readonly body: string;
  /** Order of arrival in this run. */
  readonly seq: number;
}

function parseEnvelope(body: string, seq: number): CapturedEvent {
  let envelope: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      envelope = parsed as Record<string, unknown>;
    }
  } catch {
    // kept with an empty detail: the schema check reports it
  }
  const detail = envelope.detail;
  return {
    id: String(envelope.id ?? ''),
    detailType: String(envelope['detail-type'] ?? '(unreadable envelope)'),
    source: String(envelope.source ?? ''),
    time: String(envelope.time ?? ''),
    resources: Array.isArray(envelope.resources) ? envelope.resources.map(String) : [],
    detail:
      typeof detail === 'object' && detail !== null && !Array.isArray(detail)
        ? (detail as Record<string, unknown>)
        : {},
    body,
    seq,
  };
}

export type EventPredicate = (event: CapturedEvent) => boolean;

export const isCompleted: EventPredicate = (e) => e.detailType === DETAIL_TYPE_COMPLETED;
export const isFailed: EventPredicate = (e) => e.detailType === DETAIL_TYPE_FAILED;
export const forRequest =
  (requestId: string): EventPredicate =>
  (e) =>
    e.detail.requestId === requestId;
export const forSecret =
  (secretName: string): EventPredicate =>
  (e) =>
    e.detail.secretName === secretName || e.detail.secretId === secretName;
export const both =
  (...predicates: EventPredicate[]): EventPredicate =>
  (e) =>
    predicates.every((p) => p(e));

/** Reads the capture queue: every event ever received is kept in {@link all}, in arrival order. */
export class EventCapture {
  readonly all: CapturedEvent[] = [];
  #polling: Promise<void> | undefined;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** One receive (long poll up to `waitSeconds`), deleting what it got. Concurrent callers share it. */
  async poll(waitSeconds: number): Promise<void> {
    this.#polling ??= this.#receive(waitSeconds).finally(() => {
      this.#polling = undefined;
    });
    await this.#polling;
  }

  async #receive(waitSeconds: number): Promise<void> {
    const { Messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: 30,
      }),
    );
    for (const message of Messages) this.all.push(parseEnvelope(message.Body ?? '', this.all.length));
    if (Messages.length > 0) {
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }

  /**
   * The captured events matching `predicate`, long-polling until there are at least `count` of them or
   * `timeoutMs` passed; then keeps polling `settleMs` more, so that an unwanted extra event shows up.
   * Never throws on timeout: the test asserts on what came.
   */
  async captureEvents(
    predicate: EventPredicate,
    timeoutMs: number,
    options: { readonly count?: number; readonly settleMs?: number } = {},
  ): Promise<CapturedEvent[]> {
    const count = options.count ?? 1;
    const deadline = Date.now() + timeoutMs;
    while (this.all.filter(predicate).length < count && Date.now() < deadline) {
      await this.poll(Math.min(1, Math.max(0, Math.floor((deadline - Date.now()) / 1000))));
    }
    const settleUntil = Date.now() + (options.settleMs ?? 0);
    while (Date.now() < settleUntil) {
      await this.poll(Math.min(1, Math.max(0, Math.floor((settleUntil - Date.now()) / 1000))));
      if (settleUntil - Date.now() < 1000) await sleep(Math.max(0, settleUntil - Date.now()));
    }
    return this.all.filter(predicate);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Bus, rules and queues
// ---------------------------------------------------------------------------------------------------------

export interface WorkQueue {
  readonly url: string;
  readonly arn: string;
  readonly dlqUrl: string;
  readonly fifo: boolean;
}

export interface QueueDepth {
  /** ApproximateNumberOfMessages: visible now. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received and not yet deleted or released. */
  readonly inFlight: number;
}

export class EventDrivenInfra {
  readonly suffix = randomUUID().slice(0, 8);
  readonly busName = `atlas-rotator-it-${this.suffix}`;
  /** Our events' source in this run: unique, so the capture rule sees nothing of other runs. */
  readonly eventSource = `atlas-rotator.it-${this.suffix}`;
  readonly maxReceiveCount = 3;
  readonly sqs = new SQSClient({ region });
  readonly eventBridge = new EventBridgeClient({ region });
  readonly #cleanups: (() => Promise<unknown>)[] = [];
  #requestQueue: WorkQueue | undefined;
  #capture: EventCapture | undefined;

  /** The queue the bus's request rule delivers to. */
  get requestQueue(): WorkQueue {
    if (this.#requestQueue === undefined) throw new Error('EventDrivenInfra.create() first');
    return this.#requestQueue;
  }

  get capture(): EventCapture {
    if (this.#capture === undefined) throw new Error('EventDrivenInfra.create() first');
    return this.#capture;
  }

  /**
   * Bus; request queue (redrive to a DLQ after {@link maxReceiveCount}) with a rule routing
   * `Atlas Secret Rotation Requested` to it; capture queue with a rule routing our Completed/Failed events.
   */
  static async create(): Promise<EventDrivenInfra> {
    const infra = new EventDrivenInfra();
    await infra.eventBridge.send(new CreateEventBusCommand({ Name: infra.busName }));
    infra.#cleanups.push(() => infra.eventBridge.send(new DeleteEventBusCommand({ Name: infra.busName })));

    infra.#requestQueue = await infra.createWorkQueue('requests', { fifo: false });
    await infra.#route('requests', { 'detail-type': [DETAIL_TYPE_REQUESTED] }, infra.#requestQueue);

    const capture = await infra.#createQueue(`events-${infra.suffix}`, {});
    await infra.#route(
      'events',
      {
        source: [infra.eventSource],
        'detail-type': [
          DETAIL_TYPE_COMPLETED,
          DETAIL_TYPE_FAILED,
          DETAIL_TYPE_OLD_SECRET_RETIRED,
          DETAIL_TYPE_OLD_SECRET_IN_USE,
        ],
      },
      capture,
    );
    infra.#capture = new EventCapture(infra.sqs, capture.url);
    return infra;
  }

  /**
   * A queue for the worker, with its own dead-letter queue (FIFO: `.fifo`, content-based deduplication), after
   * `maxReceiveCount` receives (default {@link maxReceiveCount}).
   */
  async createWorkQueue(
    name: string,
    options: { fifo: boolean; maxReceiveCount?: number },
  ): Promise<WorkQueue> {
    const end = options.fifo ? '.fifo' : '';
    const fifoAttributes: Record<string, string> = options.fifo
      ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' }
      : {};
    const dlq = await this.#createQueue(`${name}-dlq-${this.suffix}${end}`, fifoAttributes);
    const queue = await this.#createQueue(`${name}-${this.suffix}${end}`, {
      ...fifoAttributes,
      VisibilityTimeout: '30',
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.arn,
        maxReceiveCount: options.maxReceiveCount ?? this.maxReceiveCount,
      }),
    });
    return { url: queue.url, arn: queue.arn, dlqUrl: dlq.url, fifo: options.fifo };
  }

  async #createQueue(name: string, attributes: Record<string, string>): Promise<QueueRef> {
    return createQueue(this.sqs, name, attributes, this.#cleanups);
  }

  /** A rule on the bus with the queue as its target, and the queue policy AWS needs for the delivery. */
  async #route(name: string, pattern: Record<string, unknown>, queue: QueueRef) {
    const rule = `${name}-${this.suffix}`;
    const targets = await routeToQueue(
      this,
      { bus: this.busName, rule, pattern, queue, targetId: 'queue' },
      this.#cleanups,
    );
    if (targets.FailedEntryCount !== 0) throw new Error(`PutTargets failed for rule ${rule}`);
  }

  /** The environment of a worker consuming `queue` and publishing to this run's bus. */
  workerEnv(queue: WorkQueue, atlasBaseUrl: string, overrides: Record<string, string> = {}) {
    return {
      ROTATION_QUEUE_URL: queue.url,
      EVENT_BUS_NAME: this.busName,
      EVENT_SOURCE: this.eventSource,
      ATLAS_BASE_URL: atlasBaseUrl,
      ATLAS_ALLOW_INSECURE_HTTP: 'true',
      ATLAS_MAX_ATTEMPTS: '2',
      ATLAS_REQUEST_TIMEOUT_MS: '10000',
      VERIFY_RETRY_DELAYS_MS: '50,100',
      // These suites rotate one secret many times a minute (ordering, duplicates, rivals); the interval's own
      // refusals are tested in tenant-isolation.test.ts.
      ROTATION_MIN_INTERVAL_MINUTES: '0',
      OLD_SECRET_GRACE_HOURS: '0',
      LOG_LEVEL: 'debug',
      MAX_CONCURRENCY: '4',
      WAIT_TIME_SECONDS: '1',
      VISIBILITY_TIMEOUT_SECONDS: '6',
      RETRY_BACKOFF_BASE_SECONDS: '1',
      RETRY_BACKOFF_MAX_SECONDS: '2',
      SHUTDOWN_GRACE_SECONDS: '10',
      ...overrides,
    };
  }

  /** Puts `Atlas Secret Rotation Requested` on the bus; returns the event id. */
  async requestViaBus(detail: Record<string, unknown>): Promise<string> {
    const put = await this.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: REQUESTER_SOURCE,
            DetailType: DETAIL_TYPE_REQUESTED,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    const eventId = put.Entries?.[0]?.EventId;
    if (put.FailedEntryCount !== 0 || eventId === undefined) throw new Error('PutEvents refused the request');
    return eventId;
  }

  /** Sends a raw body straight to a queue; returns the MessageId. */
  async sendToQueue(queue: WorkQueue, body: string, groupId?: string): Promise<string> {
    const sent = await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: body,
        ...(groupId === undefined ? {} : { MessageGroupId: groupId }),
      }),
    );
    if (sent.MessageId === undefined) throw new Error('SendMessage returned no MessageId');
    return sent.MessageId;
  }

  async depth(queueUrl: string): Promise<QueueDepth> {
    const { Attributes = {} } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages ?? 'NaN'),
      inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 'NaN'),
    };
  }

  /** Polls until the queue's depth satisfies `done`, or the timeout; returns the last depth seen. */
  async waitForDepth(queueUrl: string, done: (d: QueueDepth) => boolean, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    let last = await this.depth(queueUrl);
    while (!done(last) && Date.now() < deadline) {
      await sleep(200);
      last = await this.depth(queueUrl);
    }
    return last;
  }

  async destroy(): Promise<void> {
    for (const cleanup of this.#cleanups.reverse()) await cleanup().catch(() => undefined);
    this.sqs.destroy();
    this.eventBridge.destroy();
  }
}

/** Polls `probe` every `intervalMs` until it returns a value other than undefined, or throws on timeout. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
