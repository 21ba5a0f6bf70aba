/**
 * One error base: every failure mode has a stable `code`, says whether trying again can help, and never
 * carries a secret value in its message. The domain's own errors live here; adapters translate SDK and HTTP
 * failures into the application's infrastructure errors (src/application/infrastructure-errors.ts), which
 * extend this base and never reach the domain's state or events (a failure there is `FailureFacts` data).
 */
export abstract class RotatorError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A value failed validation. Names the field and the rule, never the value. */
export class InvalidInputError extends RotatorError {
  readonly code = 'INVALID_INPUT';
  readonly retryable = false;
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

export class InvalidSecretValueError extends RotatorError {
  readonly code = 'INVALID_SECRET_VALUE';
  readonly retryable = false;
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`The secret's value is not a valid Atlas service-account credential: ${field} ${problem}`);
  }
}

export class InvalidRotationMetadataError extends RotatorError {
  readonly code = 'INVALID_ROTATION_METADATA';
  readonly retryable = false;
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`The secret's rotation metadata is invalid: ${field} ${problem}`);
  }
}

export class SecretNotManagedError extends RotatorError {
  readonly code = 'SECRET_NOT_MANAGED';
  readonly retryable = false;
  constructor(secretName: string) {
    super(
      `Secret ${secretName} is not tagged atlas-rotator:managed=true; atlas-rotator rotates only secrets that opt in`,
    );
  }
}

export class AdminSecretNotAllowedError extends RotatorError {
  readonly code = 'ADMIN_SECRET_NOT_ALLOWED';
  readonly retryable = false;
  constructor(adminSecretArn: string) {
    super(
      `Admin secret ${adminSecretArn} is not on the ADMIN_SECRET_ARNS allow-list; add it there or remove the tag`,
    );
  }
}

export class AtlasOriginNotAllowedError extends RotatorError {
  readonly code = 'ATLAS_ORIGIN_NOT_ALLOWED';
  readonly retryable = false;
  constructor(origin: string, insecure = false) {
    super(
      insecure
        ? `The secret asks for ${origin}, which uses plain http; set ATLAS_ALLOW_INSECURE_HTTP=true only for local simulators`
        : `The secret asks for the API origin ${origin}, which is not on ATLAS_ALLOWED_BASE_URLS; add it there if it is yours`,
    );
  }
}

export class AtlasSecretLimitError extends RotatorError {
  readonly code = 'ATLAS_SECRET_LIMIT';
  readonly retryable = false;
  /**
   * @param blockingSecretIds secrets no version of this secret accounts for (never AWSCURRENT's)
   * @param currentKnown false when no evidence tells which live secret is AWSCURRENT's: then none is named
   */
  constructor(
    readonly blockingSecretIds: readonly string[],
    currentKnown = true,
  ) {
    super(
      currentKnown
        ? `The service account already holds two secrets and ${blockingSecretIds.join(', ')} ` +
            'belongs to no version of this secret; delete it in Atlas, or set ATLAS_DELETE_UNKNOWN_SECRETS=true ' +
            'to let atlas-rotator delete it'
        : "The service account already holds two secrets and none of them can be told to be AWSCURRENT's " +
            '(its value records no atlasSecretId and no maskedSecretValue matches it): delete in Atlas the one ' +
            'AWSCURRENT does not use, then rotate again',
    );
  }
}

/**
 * Another rotator owns this secret: Secrets Manager's native rotation is on (its function rotates it; on-demand
 * rotations go through `aws secretsmanager rotate-secret`), or AWS rotates it itself (a managed external secret).
 */
export class RotationConflictError extends RotatorError {
  readonly code = 'ROTATION_CONFLICT';
  readonly retryable = false;
  constructor(secretName: string, rotatedBy: string) {
    super(`Secret ${secretName} is rotated by ${rotatedBy}; atlas-rotator wrote nothing`);
  }
}

export class RotationInProgressError extends RotatorError {
  readonly code = 'ROTATION_IN_PROGRESS';
  readonly retryable = true;
  /** When trying again can succeed at the earliest (the other run's claim goes stale), when that is known. */
  readonly retryAt: string | undefined;
  constructor(secretName: string, otherToken: string, leaseExpiresAt: string) {
    super(
      `Rotation ${otherToken} of ${secretName} is still in progress (lease until ${leaseExpiresAt}); try again later`,
    );
    this.retryAt = Number.isNaN(Date.parse(leaseExpiresAt)) ? undefined : leaseExpiresAt;
  }
}

export class RotationRolledBackError extends RotatorError {
  readonly code = 'ROTATION_ROLLED_BACK';
  readonly retryable = false;
  constructor(token: string) {
    super(`Rotation ${token} was rolled back earlier; request a new rotation with another token`);
  }
}

export class VerificationFailedError extends RotatorError {
  readonly code = 'VERIFICATION_FAILED';
  readonly retryable = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export class InvalidConfigError extends RotatorError {
  readonly code = 'INVALID_CONFIG';
  readonly retryable = false;
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
  }
}

/**
 * The admin secret's owner has not bound it to this managed secret: its `serves` list (ARNs, or prefixes ending
 * in `*`) does not cover it. Refused before the admin credential is used or any Atlas call is made.
 */
export class AdminSecretNotBoundError extends RotatorError {
  readonly code = 'ADMIN_SECRET_NOT_BOUND';
  readonly retryable = false;
  constructor(adminSecretArn: string, managedSecretArn: string, hasServes: boolean) {
    super(
      hasServes
        ? `Admin secret ${adminSecretArn} does not serve ${managedSecretArn}: its owner must add that ARN ` +
            '(or a prefix of it ending in *) to the "serves" list in the admin secret\'s value'
        : `Admin secret ${adminSecretArn} serves nothing: its owner must add "serves": ["${managedSecretArn}"] ` +
            "(ARNs, or prefixes ending in *) to the admin secret's value",
    );
  }
}

/**
 * AWSCURRENT names another Atlas account (clientId, orgId or projectId) than the last version atlas-rotator wrote,
 * and atlas-rotator did not write it: someone swapped the identity by hand. Nothing is changed.
 */
export class SecretIdentityChangedError extends RotatorError {
  readonly code = 'SECRET_IDENTITY_CHANGED';
  readonly retryable = false;
  constructor(
    secretName: string,
    readonly changedFields: readonly string[],
    pinnedVersionId: string,
  ) {
    super(
      `Secret ${secretName}'s AWSCURRENT names another ${changedFields.join(', ')} than version ${pinnedVersionId}, ` +
        'the last one atlas-rotator wrote; nothing was changed. To re-bind the secret on purpose, see ' +
        '"Re-binding a secret to another account" in the README',
    );
  }
}

/** The secret's last rotation completed less than ROTATION_MIN_INTERVAL_MINUTES ago. Permanent: it says when. */
export class RotationTooSoonError extends RotatorError {
  readonly code = 'ROTATION_TOO_SOON';
  readonly retryable = false;
  constructor(
    secretName: string,
    lastCompletedAt: string,
    readonly notBefore: string,
  ) {
    super(
      `Secret ${secretName} was last rotated at ${lastCompletedAt}; ROTATION_MIN_INTERVAL_MINUTES allows the next ` +
        `rotation from ${notBefore}; request it again then`,
    );
  }
}

/**
 * A new rotation needs the account's second slot, which holds the secret the last rotation replaced, still in its
 * grace period (ADR 0009). Retryable: the request waits on the queue until `retryAt`.
 */
export class OldSecretInGraceError extends RotatorError {
  readonly code = 'OLD_SECRET_IN_GRACE';
  readonly retryable = true;
  constructor(
    secretName: string,
    oldAtlasSecretId: string,
    readonly retryAt: string,
  ) {
    super(
      `Secret ${secretName}: the previous Atlas secret ${oldAtlasSecretId} is in its grace period until ${retryAt} ` +
        'and holds the second slot; the rotation is retried then (request it with "retireOldSecret": "now" ' +
        'to retire it at once if it leaked)',
    );
  }
}

/**
 * A new rotation needs the slot of the replaced secret, whose grace is over but which a consumer still uses
 * (Atlas's lastUsedAt after the promotion). Retryable at `retryAt` (a recheck, at the latest its expiry).
 */
export class OldSecretInUseError extends RotatorError {
  readonly code = 'OLD_SECRET_IN_USE';
  readonly retryable = true;
  constructor(
    secretName: string,
    oldAtlasSecretId: string,
    lastUsedAt: string,
    expiresAt: string,
    readonly retryAt: string,
  ) {
    super(
      `Secret ${secretName}: the previous Atlas secret ${oldAtlasSecretId} was last used at ${lastUsedAt}, after ` +
        `the promotion: some consumer still holds the old value. It is kept until it expires at ${expiresAt}; ` +
        `the rotation is retried at ${retryAt}. Point the consumer at AWSCURRENT, or request the rotation with ` +
        '"retireOldSecret": "now" to cut it off',
    );
  }
}
