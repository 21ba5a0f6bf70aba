import { RotationInProgressError, RotationRolledBackError } from '../../domain/errors.js';
import type { RotationStepEvent } from '../../domain/rotation-run.js';
import type { Run, SecretRead, StepContext } from './step-context.js';

/** A later rotation replaced the token's: nothing to do but report it completed. */
export function alreadyCompleted(
  ctx: StepContext,
  read: SecretRead,
  run: Run,
  credentialId: string,
): RotationStepEvent {
  const atlasSecretId = ctx.credentialContent(read, credentialId);
  const replaced = ctx.credentialOrUndefined(read.values.get(credentialId));
  return ctx.completed(
    read,
    run,
    replaced ?? read.current,
    atlasSecretId,
    replaced?.atlasSecretExpiresAt,
    [],
    true,
  );
}

/** The token's attempt was rolled back: it stays so. */
export function rolledBack(run: Run): never {
  throw new RotationRolledBackError(run.token);
}

/** An open claim of another run holds the secret until `until`. */
export function wait(read: SecretRead, credentialId: string, until: string): never {
  throw new RotationInProgressError(read.description.name, credentialId, until);
}
