import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type GetQueueAttributesCommandOutput,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from '../../../application/ports/logger.js';
import type { DeliveryDecision } from '../../../domain/delivery-decision.js';
import { RotatorError } from '../../../domain/errors.js';
import type { RotationMessageProcessor } from './rotation-message-processor.js';

export interface SqsRotationWorkerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly processor: RotationMessageProcessor;
  readonly logger: Logger;
  /** Rotations running at once (messages in flight). */
  readonly maxConcurrency: number;
  /** Long-poll wait, 0..20 s. */
  readonly waitTimeSeconds: number;
  /** Visibility kept on a message while its rotation runs; extended every third of it. */
  readonly visibilityTimeoutSeconds: number;
  /** On shutdown, how long in-flight rotations may take before their messages are released. */
  readonly shutdownGraceMs: number;
}

interface InFlight {
  readonly message: Message;
  released: boolean;
}

/** Waits `ms`, or less when `signal` aborts; leaves no timer or listener behind. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    const timer = setTimeout(stop, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });

/** The worker cannot use its queue (missing, or not allowed). */
export class QueueUnavailableError extends RotatorError {
  readonly code = 'QUEUE_UNAVAILABLE';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const PERMANENT_QUEUE_ERRORS = new Set([
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'AccessDenied',
  'AccessDeniedException',
  'InvalidAddress',
  'InvalidSecurity',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
]);

function awsErrorName(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (error instanceof Error && error.name === 'Error' && typeof code === 'string') return code;
  return error instanceof Error ? error.name : typeof error;
}

function isPermanentQueueError(error: unknown): boolean {
  return PERMANENT_QUEUE_ERRORS.has(awsErrorName(error));
}

/** Reads the queue's redrive policy: the receive count after which SQS moves a message to the DLQ. */
export async function maxReceiveCountOf(sqs: SQSClient, queueUrl: string): Promise<number | undefined> {
  let attributes: GetQueueAttributesCommandOutput;
  try {
    attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
    );
  } catch (error) {
    throw new QueueUnavailableError(
      `Could not read the redrive policy of ${queueUrl} (${awsErrorName(error)}): grant sqs:GetQueueAttributes, ` +
        "or set MAX_RECEIVE_COUNT to the queue's maxReceiveCount",
      !isPermanentQueueError(error),
    );
  }
  const policy = attributes.Attributes?.RedrivePolicy;
  if (policy === undefined) return undefined;
  const parsed = JSON.parse(policy) as { maxReceiveCount?: number | string };
  const count = Number(parsed.maxReceiveCount);
  return Number.isInteger(count) && count > 0 ? count : undefined;
}

/**
 * Consumes rotation requests until its signal aborts: long polling, batches, at most `maxConcurrency`
 * rotations at once, one at a time per FIFO message group (in order), visibility extended while a rotation
 * runs, and a drained shutdown that makes unfinished messages visible again at once.
 */
export class SqsRotationWorker {
  readonly #options: SqsRotationWorkerOptions;
  readonly #inFlight = new Set<InFlight>();
  /** Per message group (FIFO) or message (standard): the chain of its messages in arrival order. */
  readonly #groups = new Map<string, Promise<void>>();
  #slotFreed: (() => void) | undefined;

  constructor(options: SqsRotationWorkerOptions) {
    this.#options = options;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, queueUrl } = this.#options;
    logger.info('worker started', { queueUrl, maxConcurrency: this.#options.maxConcurrency });
    while (!signal.aborted) {
      const free = this.#options.maxConcurrency - this.#inFlight.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          const done = () => {
            signal.removeEventListener('abort', done);
            resolve();
          };
          this.#slotFreed = done;
          signal.addEventListener('abort', done, { once: true });
        });
        continue;
      }
      let messages: Message[];
      try {
        // Not aborted on shutdown: an abandoned long poll stays open on the server and would take a message
        // nobody processes. Shutdown waits for the poll (at most WAIT_TIME_SECONDS) and hands back what came.
        messages = await this.#receive(Math.min(10, free));
      } catch (error) {
        if (signal.aborted) break;
        if (isPermanentQueueError(error)) {
          // No retry can fix a missing queue or a missing permission: stop, so that the orchestrator sees it.
          await this.#drain();
          throw new QueueUnavailableError(
            `Cannot receive from ${queueUrl} (${awsErrorName(error)}): check ROTATION_QUEUE_URL and the ` +
              "worker's sqs:ReceiveMessage permission",
            false,
          );
        }
        logger.error('receiving from the queue failed; retrying', {
          queueUrl,
          errorName: awsErrorName(error),
        });
        await sleep(1000, signal);
        continue;
      }
      if (signal.aborted) {
        // Received while stopping: hand them back at once.
        await Promise.all(messages.map((m) => this.#changeVisibility(m, 0)));
        break;
      }
      for (const message of messages) this.#start(message, signal);
    }
    await this.#drain();
    logger.info('worker stopped', { queueUrl });
  }

  async #receive(max: number): Promise<Message[]> {
    const { sqs, queueUrl, waitTimeSeconds, visibilityTimeoutSeconds } = this.#options;
    const output = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitTimeSeconds,
        VisibilityTimeout: visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
      }),
    );
    return output.Messages ?? [];
  }

  #start(message: Message, signal: AbortSignal): void {
    const entry: InFlight = { message, released: false };
    this.#inFlight.add(entry);
    const group = message.Attributes?.MessageGroupId ?? message.MessageId ?? '';
    const previous = this.#groups.get(group) ?? Promise.resolve();
    const chained = previous.then(() => this.#handle(entry, signal));
    this.#groups.set(group, chained);
    void chained.finally(() => {
      if (this.#groups.get(group) === chained) this.#groups.delete(group);
      this.#inFlight.delete(entry);
      this.#slotFreed?.();
      this.#slotFreed = undefined;
    });
  }

  async #handle(entry: InFlight, signal: AbortSignal): Promise<void> {
    const { message } = entry;
    if (entry.released) return;
    if (signal.aborted) {
      // Not started before shutdown: visible again at once for another worker.
      await this.#release(entry);
      return;
    }
    const heartbeat = this.#heartbeat(entry);
    let decision: DeliveryDecision;
    try {
      decision = await this.#options.processor.process({
        messageId: message.MessageId ?? '',
        body: message.Body ?? '',
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
      });
    } finally {
      clearInterval(heartbeat);
    }
    if (entry.released) return;
    await this.#apply(entry, decision);
  }

  /** Keeps the message invisible while its rotation runs. */
  #heartbeat(entry: InFlight): NodeJS.Timeout {
    const seconds = this.#options.visibilityTimeoutSeconds;
    const timer = setInterval(
      () => {
        if (!entry.released) void this.#changeVisibility(entry.message, seconds);
      },
      Math.max(1000, (seconds * 1000) / 3),
    );
    timer.unref();
    return timer;
  }

  async #apply(entry: InFlight, decision: DeliveryDecision): Promise<void> {
    const { message } = entry;
    try {
      if (decision.kind === 'ack') {
        await this.#options.sqs.send(
          new DeleteMessageCommand({
            QueueUrl: this.#options.queueUrl,
            ReceiptHandle: message.ReceiptHandle,
          }),
        );
      } else if (decision.kind === 'retry-after') {
        await this.#changeVisibility(message, decision.seconds);
        this.#releaseLaterOfGroup(entry);
      } else {
        // Dead-letter: visible at once, so that the redrive policy moves it to the dead-letter queue.
        await this.#changeVisibility(message, 0);
        this.#releaseLaterOfGroup(entry);
      }
    } catch (error) {
      this.#options.logger.error('could not settle a message; it will be delivered again', {
        messageId: message.MessageId,
        decision: decision.kind,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  }

  /**
   * FIFO order: when a message of a group is left for redelivery, the later messages of the same group in
   * hand must not overtake it; they are handed back unprocessed.
   */
  #releaseLaterOfGroup(entry: InFlight): void {
    const group = entry.message.Attributes?.MessageGroupId;
    if (group === undefined) return;
    for (const other of this.#inFlight) {
      if (other !== entry && !other.released && other.message.Attributes?.MessageGroupId === group) {
        void this.#release(other);
      }
    }
  }

  async #release(entry: InFlight): Promise<void> {
    if (entry.released) return;
    entry.released = true;
    await this.#changeVisibility(entry.message, 0);
  }

  async #changeVisibility(message: Message, seconds: number): Promise<void> {
    try {
      await this.#options.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.#options.queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      this.#options.logger.warn('could not change a message visibility', {
        messageId: message.MessageId,
        visibilityTimeoutSeconds: seconds,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  }

  /** Lets in-flight rotations finish within the grace period, then releases what is left. */
  async #drain(): Promise<void> {
    if (this.#inFlight.size === 0) return;
    this.#options.logger.info('draining in-flight rotations', {
      inFlight: this.#inFlight.size,
      graceMs: this.#options.shutdownGraceMs,
    });
    const all = Promise.all([...this.#groups.values()]).then(() => true);
    const grace = new AbortController();
    const finished = await Promise.race([
      all,
      sleep(this.#options.shutdownGraceMs, grace.signal).then(() => false),
    ]);
    // A pending grace timer would keep the process alive after a clean drain.
    grace.abort();
    if (finished) return;
    const left = [...this.#inFlight];
    this.#options.logger.warn('grace period over; releasing unfinished messages', { count: left.length });
    await Promise.all(left.map((entry) => this.#release(entry)));
  }
}
