import { RotationInProgressError, RotatorError } from '../domain/errors.js';
import type { RotationToken } from '../domain/identifiers.js';
import {
  CLAIM_LABEL,
  type Claim,
  claimValue,
  claimVersionId,
  type Tombstone,
  tombstoneValue,
} from '../domain/rotation-protocol.js';
import { SecretValue } from '../domain/secret-value.js';
import { SecretVersionExistsError } from './infrastructure-errors.js';
import type { IdGenerator } from './ports/id-generator.js';
import type { Logger } from './ports/logger.js';
import type { SecretStore } from './ports/secret-store.js';

/** What closing an attempt found: the tombstone is written, or the attempt's credential was stored first. */
export type CloseResult = 'closed' | 'credential-stored';

/**
 * The one unit that claims, fences and releases attempts (ADR 0007). Both are PutSecretValue calls whose
 * VersionId is computable from the token and the attempt, so the store's compare-and-swap on VersionIds decides
 * every race: of two executions claiming one attempt, one is refused; of a fence and a store of one attempt's
 * credential, whichever wrote first won for good.
 */
export class AttemptClaims {
  constructor(
    private readonly store: SecretStore,
    private readonly ids: IdGenerator,
    private readonly logger: Logger,
  ) {}

  /**
   * Claims attempt `attempt` of `token`. Rejects with ROTATION_IN_PROGRESS when another execution claimed it
   * first. A lost answer is retried once with the same value, which the store treats as a repeat.
   */
  async claim(
    secret: { readonly arn: string; readonly name: string },
    token: RotationToken,
    attempt: number,
    credentialId: string,
    basedOn: string,
  ): Promise<void> {
    const claim: Claim = { token, attempt, execution: this.ids.randomId(), basedOn };
    const value = SecretValue.of(claimValue(claim));
    try {
      await this.retryOnce(() =>
        this.store.putVersion(secret.arn, claimVersionId(credentialId), value, [CLAIM_LABEL]),
      );
    } catch (error) {
      if (error instanceof SecretVersionExistsError) {
        throw new RotationInProgressError(
          secret.name,
          token,
          'another execution of the same request claimed it first',
        );
      }
      throw error;
    }
  }

  /**
   * Closes an attempt with a tombstone at its credential id: a fence (another run's stale claim) or a release
   * (this run stops cleanly). Resolves `credential-stored` when the credential won that id first.
   */
  async close(arn: string, credentialId: string, tombstone: Tombstone): Promise<CloseResult> {
    try {
      await this.retryOnce(() =>
        this.store.putVersion(arn, credentialId, SecretValue.of(tombstoneValue(tombstone)), [CLAIM_LABEL]),
      );
      this.logger.info('rotation attempt closed', {
        secretArn: arn,
        rotationId: tombstone.token,
        attempt: tombstone.attempt,
        reason: tombstone.reason,
      });
      return 'closed';
    } catch (error) {
      if (error instanceof SecretVersionExistsError) return 'credential-stored';
      throw error;
    }
  }

  /** Releases this run's attempt on a clean stop; never rejects (a claim left open goes stale by itself). */
  async release(arn: string, credentialId: string, tombstone: Tombstone): Promise<CloseResult | undefined> {
    try {
      return await this.close(arn, credentialId, tombstone);
    } catch (error) {
      this.logger.warn('could not release the rotation attempt; its claim goes stale by itself', {
        secretArn: arn,
        rotationId: tombstone.token,
        errorCode: error instanceof RotatorError ? error.code : 'UNEXPECTED',
      });
      return undefined;
    }
  }

  private async retryOnce(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (!(error instanceof RotatorError) || !error.retryable) throw error;
      await write();
    }
  }
}
