import type { Container } from 'inversify';
import { loadConfig } from '../config/load-config.js';
import type { SqsBatchResponse, SqsEvent } from '../inbound/lambda/sqs-lambda-handler.js';
import { buildContainer } from './container.js';
import { TOKENS } from './tokens.js';

let container: Container | undefined;
let handle: ((event: SqsEvent) => Promise<SqsBatchResponse>) | undefined;

/**
 * Lambda entry for an SQS event-source mapping with `ReportBatchItemFailures`. The container is built once
 * per execution environment and reused across invocations.
 */
export async function handler(event: SqsEvent): Promise<SqsBatchResponse> {
  if (handle === undefined) {
    container ??= buildContainer(loadConfig(process.env));
    handle = await container.getAsync(TOKENS.lambdaHandler);
  }
  // Every publish resolves only once its events were accepted, so nothing is pending when this returns.
  return handle(event);
}
