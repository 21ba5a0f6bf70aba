import type { Container } from 'inversify';
import { loadConfig } from '../config/load-config.js';
import { type LambdaContext, LambdaInvocations } from '../inbound/lambda/lambda-invocations.js';
import type { SqsBatchResponse, SqsEvent } from '../inbound/lambda/sqs-lambda-handler.js';
import { buildContainer } from './container.js';
import { TOKENS } from './tokens.js';

let container: Container | undefined;
let handle: ((event: SqsEvent) => Promise<SqsBatchResponse>) | undefined;
const invocations = new LambdaInvocations();

/**
 * Lambda entry for an SQS event-source mapping with `ReportBatchItemFailures`. The container is built once
 * per execution environment and reused across invocations. Every log line of an invocation carries its
 * `lambdaRequestId`, `functionName` and `coldStart`.
 */
export async function handler(event: SqsEvent, context?: LambdaContext): Promise<SqsBatchResponse> {
  return invocations.run(context, async () => {
    if (handle === undefined) {
      container ??= buildContainer(loadConfig(process.env), { logContext: () => invocations.fields() });
      handle = await container.getAsync(TOKENS.lambdaHandler);
    }
    // Every publish resolves only once its events were accepted, so nothing is pending when this returns;
    // the rotations' token revocations (started after their outcomes) end, and the spans are exported, before
    // it does (a frozen environment sends nothing).
    try {
      return await handle(event);
    } finally {
      await (await container?.getAsync(TOKENS.rotateSecret))?.settled();
      await (await container?.getAsync(TOKENS.tracing))?.flush();
    }
  });
}
