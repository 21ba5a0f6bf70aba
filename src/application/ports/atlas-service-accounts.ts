import type { ApiKeyCredential, ServiceAccountCredential } from '../../domain/credential.js';
import type { ApiVersion, AtlasSecretId, ClientId, OrgId, ProjectId } from '../../domain/identifiers.js';
import type { AtlasSecretInfo } from '../../domain/room-plan.js';
import type { ApiFlavor } from '../../domain/rotation-metadata.js';
import type { SecretValue } from '../../domain/secret-value.js';

/** The service account whose secrets are managed, where it lives, and how to address its API. */
export interface AtlasTarget {
  /** Origin of the API (`https://cloud.mongodb.com`, or an Ops Manager host), already allow-listed. */
  readonly baseUrl: string;
  /** `atlas`: Admin API v2 with versioned Accept; `cloud-manager`: public API v1.0, plain JSON. */
  readonly flavor: ApiFlavor;
  readonly orgId: OrgId;
  /** Set for a project-level account: its paths are under `/groups/{projectId}`. */
  readonly projectId: ProjectId | undefined;
  readonly clientId: ClientId;
  /** Resource version date for the Atlas flavour's `Accept` header. */
  readonly apiVersion: ApiVersion;
}

/**
 * Whoever authenticates a call: the account itself (self mode), an admin service account (OAuth bearer
 * token), or an admin programmatic API key (HTTP Digest; Cloud Manager and Ops Manager).
 */
export type ActingCredential = ServiceAccountCredential | ApiKeyCredential;

export interface CreatedAtlasSecret extends AtlasSecretInfo {
  /** The plain value: Atlas returns it once, in the create response only. */
  readonly secret: SecretValue;
}

/**
 * Service-account secrets, over the Atlas Admin API v2 or the Cloud Manager / Ops Manager public API v1.0
 * at `target.baseUrl`. A service account authenticates with an OAuth token minted from its credential and
 * cached per credential and origin until shortly before it expires; an API key authenticates with HTTP
 * Digest (a 401 challenge answered once — the one case where a create is sent twice, safe because the
 * first was refused before anything was created). Atlas's failures are `AtlasApiError`s carrying its status
 * and `errorCode`; a target whose origin may not be used rejects with `AtlasOriginNotAllowedError`.
 */
export interface AtlasServiceAccounts {
  /**
   * The account's secrets (GET service account). Idempotent; retried on 429 (honouring Retry-After),
   * 5xx and timeouts within a bound.
   */
  listSecrets(target: AtlasTarget, as: ActingCredential): Promise<AtlasSecretInfo[]>;

  /**
   * Proves that Atlas accepts a service-account credential: mints an OAuth token with it at `target.baseUrl`
   * (kept in the cache for the calls that follow). Needs no role, and Atlas does not check IP access lists
   * when minting (facts sheet §1.1), so it proves the credential itself, not the account's rights — an
   * account that may not read itself (an Organization Member) or calls from an address off its access list
   * still passes. Rejects with `ATLAS_INVALID_CLIENT` for a credential Atlas does not know (yet); retried on
   * 429 (honouring Retry-After), 5xx and timeouts within a bound.
   */
  proveCredential(target: AtlasTarget, credential: ServiceAccountCredential): Promise<void>;

  /**
   * Creates a secret valid for `expiresAfterHours`. NOT idempotent: a second call creates a second secret,
   * so it is never retried, not even after a timeout (the secret may exist although no answer came).
   */
  createSecret(
    target: AtlasTarget,
    as: ActingCredential,
    expiresAfterHours: number,
  ): Promise<CreatedAtlasSecret>;

  /**
   * Deletes a secret. Idempotent: resolves `false` when it was already gone. The tokens minted with the deleted
   * secret die with it: the client forgets them itself (they are neither sent again nor revoked) — those of any
   * credential of the account that records the secret's id (`atlasSecretId`), the acting one included.
   */
  deleteSecret(target: AtlasTarget, secretId: AtlasSecretId, as: ActingCredential): Promise<boolean>;

  /**
   * The org's `maxServiceAccountSecretValidityInHours`; undefined when the caller may not read it or the
   * API has no such setting.
   */
  maxSecretValidityHours(target: AtlasTarget, as: ActingCredential): Promise<number | undefined>;

  /**
   * A run (a rotation, a sweep's check) makes no more calls with these credentials: revokes the tokens minted with
   * them (on every origin) and forgets them — once the calls still running with them have ended, so it may be
   * called alongside the run's last calls without revoking a token under a call. Tokens a delete killed were
   * forgotten already. Best effort: never rejects. Nothing to do for an API key.
   */
  endRotation(credentials: readonly ActingCredential[]): Promise<void>;
}
