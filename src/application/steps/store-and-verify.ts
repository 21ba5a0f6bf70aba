import type { AtlasCredential } from '../../domain/credential.js';
import { RotatorError, VerificationFailedError } from '../../domain/errors.js';
import type { RotationToken } from '../../domain/identifiers.js';
import type { SecretValue } from '../../domain/secret-value.js';
import { AtlasApiError, SecretVersionExistsError } from '../infrastructure-errors.js';
import type { AtlasTarget } from '../ports/atlas-service-accounts.js';
import { KeepSecret, type Run, type StepContext, type Verification } from './step-context.js';

/** Stores the credential; `fenced` when someone closed this attempt first. A lost answer is retried once. */
export async function storeCredential(
  ctx: StepContext,
  arn: string,
  credentialId: string,
  value: SecretValue,
  attempt: { readonly token: RotationToken; readonly attempt: number },
): Promise<'stored' | 'fenced'> {
  try {
    await ctx.store.putVersion(arn, credentialId, value, ['AWSPENDING']);
    return 'stored';
  } catch (error) {
    if (error instanceof SecretVersionExistsError) return 'fenced';
    if (!(error instanceof RotatorError) || !error.retryable) throw error;
  }
  try {
    await ctx.store.putVersion(arn, credentialId, value, ['AWSPENDING']);
    return 'stored';
  } catch (error) {
    if (error instanceof SecretVersionExistsError) return 'fenced';
    // Still unknown whether it landed. Closing the attempt decides: if the tombstone wins, the credential is
    // not stored (and never will be); if the credential won, it is.
    const closed = await ctx.claims
      .close(arn, credentialId, { ...attempt, reason: 'maybe-created' })
      .catch(() => undefined);
    if (closed === 'credential-stored') return 'stored';
    if (closed === 'closed') throw error;
    // Neither write answered: the claim stays open and goes stale; the secret stays for that run to find.
    throw new KeepSecret(error);
  }
}

/**
 * Mints a token with the new credential, as AWS's managed rotation verifies ("by generating an OAuth token").
 * No API call follows: a 403 there would not mean a bad credential. Rejects only when retrying may help.
 */
export async function verify(
  ctx: StepContext,
  run: Run,
  target: AtlasTarget,
  fresh: AtlasCredential,
): Promise<Verification> {
  const delays = ctx.settings.verifyRetryDelaysMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.step(run, 'verify', () => ctx.atlas.proveCredential(target, fresh), {
        attempt: attempt + 1,
      });
      return { ok: true };
    } catch (error) {
      if (!(error instanceof AtlasApiError) || error.retryable) throw error;
      const justCreated = error.code === 'ATLAS_INVALID_CLIENT' || error.code === 'ATLAS_UNAUTHORIZED';
      const delay = delays[attempt];
      if (justCreated && delay !== undefined) {
        await ctx.clock.sleep(delay);
        continue;
      }
      return {
        ok: false,
        failure: new VerificationFailedError(
          `The new Atlas secret did not work (${error.code}): ${error.message}. It was deleted and AWSCURRENT left holding the credential it held`,
          { cause: error },
        ),
      };
    }
  }
}
