import type { Container } from 'inversify';
import { loadConfig } from '../config/load-config.js';
import type { RotationFunctionEvent } from '../inbound/lambda/rotation-function-handler.js';
import { buildContainer } from './container.js';
import { TOKENS } from './tokens.js';

let container: Container | undefined;

/** Lambda entry implementing Secrets Manager's rotation-function contract (createSecret … finishSecret). */
export async function handler(event: RotationFunctionEvent): Promise<void> {
  container ??= buildContainer(loadConfig(process.env));
  const handle = await container.getAsync(TOKENS.rotationFunctionHandler);
  await handle(event);
}
