import { RotatorError } from '../domain/errors.js';

/*
 * The failures of the infrastructure behind the ports (Atlas, Secrets Manager): adapters translate SDK and HTTP
 * failures into these, the application decides on them, and the domain never sees them.
 */

export type AtlasErrorCode =
  | 'ATLAS_BAD_REQUEST'
  | 'ATLAS_UNAUTHORIZED'
  | 'ATLAS_INVALID_CLIENT'
  | 'ATLAS_FORBIDDEN'
  | 'ATLAS_NOT_FOUND'
  | 'ATLAS_INVALID_VERSION'
  | 'ATLAS_CONFLICT'
  | 'ATLAS_RATE_LIMITED'
  | 'ATLAS_UNAVAILABLE'
  | 'ATLAS_TIMEOUT'
  | 'ATLAS_NETWORK_ERROR'
  | 'ATLAS_UNEXPECTED_RESPONSE';

/** Atlas answered with an error, or could not be reached. Keeps Atlas's status and `errorCode`. */
export class AtlasApiError extends RotatorError {
  constructor(
    readonly code: AtlasErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly atlasStatus: number | undefined,
    readonly atlasErrorCode: string | undefined,
    options?: ErrorOptions & { retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
  readonly retryAfterMs: number | undefined;
}

export type SecretStoreErrorCode =
  | 'SECRET_NOT_FOUND'
  | 'SECRET_STORE_ACCESS_DENIED'
  | 'SECRET_STORE_INVALID_REQUEST'
  | 'SECRET_STORE_UNAVAILABLE'
  | 'SECRET_VERSION_EXISTS'
  | 'SECRET_STAGE_MOVED';

export class SecretStoreError extends RotatorError {
  constructor(
    readonly code: SecretStoreErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * PutSecretValue refused a VersionId that already names a version with another value (AWS's
 * `ResourceExistsException`): versions are immutable, so whoever wrote that version first won it.
 */
export class SecretVersionExistsError extends SecretStoreError {
  constructor(
    readonly versionId: string,
    secretId: string,
  ) {
    super(
      'SECRET_VERSION_EXISTS',
      `Version ${versionId} of ${secretId} already exists with another value (ResourceExistsException)`,
      false,
    );
  }
}

/**
 * A compare-and-swap move of a staging label was refused: the label was no longer on the version the caller
 * read it on (UpdateSecretVersionStage with RemoveFromVersionId; AWS answers `InvalidParameterException`).
 */
export class StageMovedError extends SecretStoreError {
  constructor(
    readonly stage: string,
    readonly expectedVersionId: string | undefined,
    secretId: string,
  ) {
    super(
      'SECRET_STAGE_MOVED',
      `Staging label ${stage} of ${secretId} is no longer on ${expectedVersionId ?? 'no version'}: someone moved it`,
      false,
    );
  }
}
