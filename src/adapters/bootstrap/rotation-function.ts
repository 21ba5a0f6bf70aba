import type { Container } from 'inversify';
import { loadConfig } from '../config/load-config.js';
import { type LambdaContext, LambdaInvocations } from '../inbound/lambda/lambda-invocations.js';
import type { RotationFunctionEvent } from '../inbound/lambda/rotation-function-handler.js';
import { buildContainer } from './container.js';
import { TOKENS } from './tokens.js';

let container: Container | undefined;
const invocations = new LambdaInvocations();

/**
 * Lambda entry implementing Secrets Manager's rotation-function contract (createSecret … finishSecret). Every
 * log line of an invocation carries its `lambdaRequestId`, `functionName` and `coldStart`.
 */
export async function handler(event: RotationFunctionEvent, context?: LambdaContext): Promise<void> {
  await invocations.run(context, async () => {
    container ??= buildContainer(loadConfig(process.env), { logContext: () => invocations.fields() });
    const handle = await container.getAsync(TOKENS.rotationFunctionHandler);
    try {
      await handle(event);
    } finally {
      // The step's token revocations (started after its outcome) end before the environment may be frozen.
      await (await container.getAsync(TOKENS.rotateSecret)).settled();
      await (await container.getAsync(TOKENS.tracing)).flush();
    }
  });
}
