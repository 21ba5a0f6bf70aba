import { Buffer } from 'node:buffer';
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { Clock } from '../../../application/ports/clock.js';
import type { RotationEventPublisher } from '../../../application/ports/rotation-event-publisher.js';
import { RotatorError } from '../../../domain/errors.js';
import type { PublishedEvent } from '../../../domain/rotation-events.js';

/** PutEvents quotas: at most 10 entries per call, and 256 KiB per call (so per entry too). */
export const MAX_ENTRIES_PER_CALL = 10;
export const MAX_CALL_BYTES = 256 * 1024;
const MAX_BACKOFF_MS = 20_000;

export type EventPublishErrorCode = 'EVENT_PUBLISH_FAILED' | 'EVENT_REJECTED';

/**
 * Events were not accepted by the bus. `EVENT_PUBLISH_FAILED` (retryable): still failing after the retries
 * (throttling, 5xx, network). `EVENT_REJECTED` (not retryable): refused for good (malformed, too large,
 * not authorised). The message names the detail-types and the count only, never anything from a detail.
 */
export class EventPublishError extends RotatorError {
  constructor(
    readonly code: EventPublishErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly failedCount: number,
    /** EventBridge's per-entry `ErrorCode`s or the SDK exception's name, distinct. */
    readonly awsErrorCodes: readonly string[],
  ) {
    super(message);
  }
}

export interface EventBridgeRotationEventPublisherOptions {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
  readonly source: string;
  /** Backoff sleeps, and the events' `Time`. */
  readonly clock: Clock;
  /** PutEvents attempts per entry, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** First backoff; doubles per attempt (with jitter), capped at 20 s. Default 100 ms. */
  readonly backoffBaseMs?: number;
  /** How long the first of a group of concurrent `publish()` calls waits for others to share a call. Default 20 ms. */
  readonly batchWindowMs?: number;
}

/**
 * Per-entry codes that a retry cannot fix. Anything else (`InternalFailure`, `ThrottlingException`, an
 * unknown code) is retried: a bounded retry of an unknown code is cheap, losing an event is not.
 */
const PERMANENT_ENTRY_CODE =
  /^(MalformedDetail|AccessDeniedException|ResourceNotFoundException|NotAuthorizedFor\w*|Invalid\w*|\w*ValidationException)$/;

/** Whole-call exceptions that a retry cannot fix (the SDK has already retried the transient ones once more). */
const PERMANENT_CALL_ERRORS = new Set([
  'ValidationException',
  'AccessDeniedException',
  'ResourceNotFoundException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'NotAuthorized',
  'OptInRequired',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'MissingParameter',
  'MalformedQueryString',
]);

/** One caller's `publish()`: settles once, when all its entries were accepted or the first one failed for good. */
class Ticket {
  readonly promise: Promise<void>;
  #remaining: number;
  #settled = false;
  #resolve: () => void = () => undefined;
  #reject: (error: EventPublishError) => void = () => undefined;

  constructor(count: number) {
    this.#remaining = count;
    this.promise = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get settled(): boolean {
    return this.#settled;
  }

  accepted(): void {
    if (this.#settled) return;
    this.#remaining -= 1;
    if (this.#remaining === 0) {
      this.#settled = true;
      this.#resolve();
    }
  }

  fail(error: EventPublishError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(error);
  }
}

interface Item {
  readonly entry: PutEventsRequestEntry;
  readonly bytes: number;
  readonly detailType: string;
  readonly ticket: Ticket;
}

interface Failure {
  readonly item: Item;
  readonly awsCode: string;
}

function byteLength(value: string | undefined): number {
  return value === undefined ? 0 : Buffer.byteLength(value, 'utf8');
}

/** EventBridge's own rule for an entry's size (Time counts 14 bytes; the bus name does not count). */
function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  size += byteLength(entry.Source) + byteLength(entry.DetailType) + byteLength(entry.Detail);
  for (const resource of entry.Resources ?? []) size += byteLength(resource);
  return size;
}

function* batchesOf(items: readonly Item[]): Generator<Item[]> {
  let batch: Item[] = [];
  let bytes = 0;
  for (const item of items) {
    if (batch.length === MAX_ENTRIES_PER_CALL || (batch.length > 0 && bytes + item.bytes > MAX_CALL_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += item.bytes;
  }
  if (batch.length > 0) yield batch;
}

function describeCall(error: unknown): { readonly name: string; readonly status: number | undefined } {
  const name = error instanceof Error ? error.name : 'UnknownError';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return { name, status };
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * EventBridge `PutEvents`. Concurrent `publish()` calls within the batch window share calls of at most
 * 10 entries and 256 KiB. Entries a call did not accept (a 200 answer can fail per entry) are retried alone,
 * with exponential backoff, unless their error is permanent; whole-call failures (throttling, 5xx, network)
 * are retried too. Delivery is at least once: an entry whose answer was lost is sent again.
 * See docs/adr/0004-event-publishing-at-least-once.md.
 */
export class EventBridgeRotationEventPublisher implements RotationEventPublisher {
  readonly #client: EventBridgeClient;
  readonly #eventBusName: string;
  readonly #source: string;
  readonly #clock: Clock;
  readonly #maxAttempts: number;
  readonly #backoffBaseMs: number;
  readonly #batchWindowMs: number;
  #pending: Item[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: EventBridgeRotationEventPublisherOptions) {
    this.#client = options.client;
    this.#eventBusName = options.eventBusName;
    this.#source = options.source;
    this.#clock = options.clock;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.#backoffBaseMs = Math.max(0, options.backoffBaseMs ?? 100);
    this.#batchWindowMs = Math.max(0, options.batchWindowMs ?? 20);
  }

  /**
   * Resolves once every one of `events` was accepted by the bus; rejects with {@link EventPublishError} as
   * soon as one of them failed for good or ran out of retries (the others may still be published).
   */
  async publish(events: readonly PublishedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const detailTypes = distinct(events.map((event) => event.detailType));
    if (this.#closed) {
      throw new EventPublishError(
        'EVENT_PUBLISH_FAILED',
        `${this.#describe(detailTypes, events.length)} could not be published: the publisher is closed`,
        true,
        events.length,
        [],
      );
    }
    const time = this.#clock.now();
    const ticket = new Ticket(events.length);
    const items: Item[] = [];
    for (const event of events) {
      let detail: string | undefined;
      try {
        detail = JSON.stringify(event.detail);
      } catch {
        detail = undefined;
      }
      if (detail === undefined) {
        throw this.#error(
          'EVENT_REJECTED',
          [event.detailType],
          1,
          [],
          'its detail cannot be serialised as JSON',
        );
      }
      const entry: PutEventsRequestEntry = {
        EventBusName: this.#eventBusName,
        Source: this.#source,
        DetailType: event.detailType,
        Detail: detail,
        Resources: [...event.resources],
        Time: time,
      };
      items.push({ entry, bytes: entrySize(entry), detailType: event.detailType, ticket });
    }
    const oversized = items.filter((item) => item.bytes > MAX_CALL_BYTES);
    if (oversized.length > 0) {
      throw this.#error(
        'EVENT_REJECTED',
        distinct(oversized.map((item) => item.detailType)),
        oversized.length,
        [],
        `an entry is larger than the ${MAX_CALL_BYTES}-byte PutEvents limit`,
      );
    }
    this.#pending.push(...items);
    if (this.#pending.length >= MAX_ENTRIES_PER_CALL) this.#drain();
    else this.#timer ??= setTimeout(() => this.#drain(), this.#batchWindowMs);
    return ticket.promise;
  }

  /** Publishes what is pending now, without waiting for the batch window, and waits for every call in flight. */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight.size > 0) {
      this.#drain();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /** Refuses further events, then {@link flush}es. For shutdown. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #drain(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const items = this.#pending;
    this.#pending = [];
    for (const batch of batchesOf(items)) {
      const call: Promise<void> = this.#send(batch, 1).finally(() => this.#inFlight.delete(call));
      this.#inFlight.add(call);
    }
  }

  /** Sends one batch until every entry is accepted or has failed; never rejects (failures go to the tickets). */
  async #send(batch: readonly Item[], firstAttempt: number): Promise<void> {
    let outstanding = batch;
    for (let attempt = firstAttempt; ; attempt += 1) {
      let retry: Failure[];
      try {
        const output = await this.#client.send(
          new PutEventsCommand({ Entries: outstanding.map((item) => item.entry) }),
        );
        const results = output.Entries ?? [];
        const permanent: Failure[] = [];
        retry = [];
        outstanding.forEach((item, index) => {
          const result = results[index];
          if (result?.EventId !== undefined && result.ErrorCode === undefined) {
            item.ticket.accepted();
            return;
          }
          const awsCode = result?.ErrorCode ?? 'MissingEntryResult';
          (PERMANENT_ENTRY_CODE.test(awsCode) ? permanent : retry).push({ item, awsCode });
        });
        this.#failEach(permanent, 'EVENT_REJECTED', attempt);
      } catch (error) {
        const { name, status } = describeCall(error);
        const code = status === undefined ? name : `${name} (HTTP ${status})`;
        if (PERMANENT_CALL_ERRORS.has(name)) {
          // A ValidationException can be one entry's fault (e.g. the size limit): give the others their own call.
          if (name === 'ValidationException' && outstanding.length > 1) {
            await Promise.all(outstanding.map((item) => this.#send([item], attempt)));
            return;
          }
          this.#failEach(
            outstanding.map((item) => ({ item, awsCode: code })),
            'EVENT_REJECTED',
            attempt,
          );
          return;
        }
        retry = outstanding.map((item) => ({ item, awsCode: code }));
      }
      // An entry whose publish() has already failed need not be sent again: its caller will publish it anew.
      retry = retry.filter((failure) => !failure.item.ticket.settled);
      if (retry.length === 0) return;
      if (attempt >= this.#maxAttempts) {
        this.#failEach(retry, 'EVENT_PUBLISH_FAILED', attempt);
        return;
      }
      await this.#clock.sleep(this.#backoffMs(attempt));
      outstanding = retry.map((failure) => failure.item);
    }
  }

  /** Exponential backoff with equal jitter: half the step is fixed, half random. */
  #backoffMs(attempt: number): number {
    const step = Math.min(MAX_BACKOFF_MS, this.#backoffBaseMs * 2 ** (attempt - 1));
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  #failEach(failures: readonly Failure[], code: EventPublishErrorCode, attempts: number): void {
    const byTicket = new Map<Ticket, Failure[]>();
    for (const failure of failures) {
      const group = byTicket.get(failure.item.ticket);
      if (group === undefined) byTicket.set(failure.item.ticket, [failure]);
      else group.push(failure);
    }
    for (const [ticket, group] of byTicket) {
      const awsCodes = distinct(group.map((failure) => failure.awsCode));
      const why =
        code === 'EVENT_REJECTED'
          ? `rejected with ${awsCodes.join(', ')}`
          : `still failing after ${attempts} attempts (${awsCodes.join(', ')})`;
      ticket.fail(
        this.#error(
          code,
          distinct(group.map((failure) => failure.item.detailType)),
          group.length,
          awsCodes,
          why,
        ),
      );
    }
  }

  #error(
    code: EventPublishErrorCode,
    detailTypes: readonly string[],
    count: number,
    awsCodes: readonly string[],
    why: string,
  ): EventPublishError {
    return new EventPublishError(
      code,
      `${this.#describe(detailTypes, count)} not accepted by event bus ${this.#eventBusName}: ${why}`,
      code === 'EVENT_PUBLISH_FAILED',
      count,
      awsCodes,
    );
  }

  #describe(detailTypes: readonly string[], count: number): string {
    return `${count} event${count === 1 ? '' : 's'} (${detailTypes.map((type) => `"${type}"`).join(', ')})`;
  }
}
