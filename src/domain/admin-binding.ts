/**
 * Which managed secrets an admin credential serves, as decided by the admin secret's owner: the `serves` list in
 * the admin secret's own value (ARNs of managed secrets, or prefixes ending in `*`). The operator's
 * ADMIN_SECRET_ARNS allow-list comes on top of it; a managed secret's tag naming the admin secret is a request,
 * never a grant.
 */
import { AdminSecretNotBoundError, InvalidSecretValueError } from './errors.js';
import type { SecretValue } from './secret-value.js';

export interface AdminBinding {
  /** Entries as written: an exact managed-secret ARN, or a prefix ending in `*`. Empty: serves nothing. */
  readonly serves: readonly string[];
  /** Whether the admin secret has a `serves` field at all (for the error's advice). */
  readonly declared: boolean;
}

/**
 * An exact ARN, or a prefix ending in `*` that names at least the account (`…:secret:*` serves every secret of
 * that account and region): a prefix can never reach across accounts or regions.
 */
const SERVES_ENTRY =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(?:[A-Za-z0-9/_+=.@-]+|[A-Za-z0-9/_+=.@-]*\*)$/;

/**
 * Reads `serves` from an admin secret's SecretString. Errors name the field, never the value. Absent means
 * serves nothing (fail closed).
 */
export function parseAdminBinding(secretString: SecretValue): AdminBinding {
  const invalid = (problem: string) => new InvalidSecretValueError('admin secret serves', problem);
  let json: unknown;
  try {
    json = JSON.parse(secretString.reveal());
  } catch {
    throw new InvalidSecretValueError('admin secret SecretString', 'is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidSecretValueError('admin secret SecretString', 'must be a JSON object');
  }
  const serves = (json as Record<string, unknown>).serves;
  if (serves === undefined) return { serves: [], declared: false };
  if (!Array.isArray(serves)) throw invalid('must be a list of secret ARNs or ARN prefixes ending in *');
  for (const [i, entry] of serves.entries()) {
    if (typeof entry !== 'string' || !SERVES_ENTRY.test(entry)) {
      throw invalid(
        `entry ${i} must be a Secrets Manager secret ARN, or an ARN prefix ending in * that names the account`,
      );
    }
  }
  return { serves: serves as string[], declared: true };
}

/** Whether the binding covers the managed secret's ARN: exactly, or by a prefix ending in `*`. */
export function serves(binding: AdminBinding, managedSecretArn: string): boolean {
  return binding.serves.some((entry) =>
    entry.endsWith('*') ? managedSecretArn.startsWith(entry.slice(0, -1)) : managedSecretArn === entry,
  );
}

/** Rejects with ADMIN_SECRET_NOT_BOUND unless the admin secret serves the managed secret. */
export function requireAdminBinding(
  binding: AdminBinding,
  adminSecretArn: string,
  managedSecretArn: string,
): void {
  if (!serves(binding, managedSecretArn)) {
    throw new AdminSecretNotBoundError(adminSecretArn, managedSecretArn, binding.declared);
  }
}
