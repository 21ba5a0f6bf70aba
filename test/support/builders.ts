import type { RotateSecretSettings } from '../../src/application/rotate-secret.js';
import type { AtlasSecretId, ClientId, OrgId, RotationToken } from '../../src/domain/identifiers.js';
import type { RotationCompleted } from '../../src/domain/rotation-outcome.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import type { AtlasWorld } from './fake-atlas.js';
import type { InMemorySecretStore } from './in-memory-secret-store.js';

export const ORG_ID = '64a1b2c3d4e5f60718293a4b' as OrgId;
export const CLIENT_ID = 'mdb_sa_id_64a1b2c3d4e5f60718293a4c' as ClientId;
export const ADMIN_CLIENT_ID = 'mdb_sa_id_64a1b2c3d4e5f60718293aad' as ClientId;
export const SECRET_NAME = 'atlas/orders-service';
export const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/orders-service-AbCdEf';
export const ADMIN_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/admin-XyZ123';
export const CURRENT_SECRET_ID = 'c0ffee000000000000000001' as AtlasSecretId;
export const CURRENT_SECRET_VALUE = 'mdb_sa_sk_current_value_0001';
export const PREVIOUS_SECRET_ID = 'c0ffee000000000000000000' as AtlasSecretId;
export const PREVIOUS_SECRET_VALUE = 'mdb_sa_sk_previous_value_0000';
export const ADMIN_ATLAS_SECRET_ID = 'ad0000000000000000000001' as AtlasSecretId;
export const ADMIN_SECRET_VALUE = 'mdb_sa_sk_admin_value_0001';
export const CURRENT_VERSION_ID = '11111111-1111-4111-8111-111111111111';
export const PREVIOUS_VERSION_ID = '00000000-0000-4000-8000-000000000000';
/** The Atlas secret a rotation created, in outcome and event data. */
export const NEW_SECRET_ID = 'c0ffee000000000000000002' as AtlasSecretId;

/** Rotation tokens by number: `aToken(1)`, `aToken(2)`, … */
export function aToken(n = 1): RotationToken {
  return `7a7a7a7a-0000-4000-8000-${n.toString().padStart(12, '0')}` as RotationToken;
}

/** A managed secret's SecretString as JSON, with overrides; `undefined` removes a field. */
export function aCredentialJson(overrides: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const json: Record<string, unknown> = {
    clientId: CLIENT_ID,
    clientSecret: CURRENT_SECRET_VALUE,
    orgId: ORG_ID,
    atlasSecretId: CURRENT_SECRET_ID,
    atlasSecretExpiresAt: '2026-03-01T00:00:00.000Z',
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete json[key];
    else json[key] = value;
  }
  return json;
}

export function aCredentialValue(overrides: Readonly<Record<string, unknown>> = {}): SecretValue {
  return SecretValue.of(JSON.stringify(aCredentialJson(overrides)));
}

export function aSettings(overrides: Partial<RotateSecretSettings> = {}): RotateSecretSettings {
  return {
    secretExpiresAfterHours: 720,
    adminSecretAllowList: [],
    deleteUnknownSecrets: false,
    // Off in the shared builder (the tests rotate one secret many times on a fixed clock); the limit's own
    // tests set it.
    minIntervalMs: 0,
    // Retire at the promotion in the shared builder (the tests rotate one secret many times); the grace's own
    // tests set it.
    oldSecretGraceHours: 0,
    leaseMs: 15 * 60_000,
    verifyRetryDelaysMs: [1_000, 2_000, 4_000],
    orphanSkewMs: 60_000,
    origins: {
      defaultBaseUrl: 'https://cloud.mongodb.com',
      allowedBaseUrls: ['https://cloud.mongodb.com'],
      allowInsecureHttp: false,
    },
    ...overrides,
  };
}

export interface ManagedSecretOptions {
  readonly tags?: Readonly<Record<string, string>>;
  /** Whether the current value records its Atlas secret id (false: never rotated by atlas-rotator). */
  readonly recordsAtlasSecretId?: boolean;
  /** Fields atlas-rotator does not own, kept in the value. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /**
   * An AWSPREVIOUS version; `inAtlas` keeps its Atlas secret alive too; `recordsAtlasSecretId: false` writes it
   * as a value atlas-rotator never wrote.
   */
  readonly previous?: { readonly inAtlas: boolean; readonly recordsAtlasSecretId?: boolean };
  readonly currentCreatedAt?: string;
  readonly currentExpiresAt?: string;
  /** Further secrets of the account in Atlas that belong to no version. */
  readonly unknownAtlasSecrets?: readonly {
    readonly id: AtlasSecretId;
    readonly createdAt: string;
    readonly expiresAt: string;
    /** Default `mdb_sa_sk_unknown_<id>`. */
    readonly value?: string;
  }[];
  /** Secrets Manager's native rotation of the secret, and AWS's secret Type. */
  readonly nativeRotation?: { readonly enabled: boolean; readonly lambdaArn: string | undefined };
  readonly type?: string;
  readonly roles?: readonly string[];
  readonly externalRotationMetadata?: Readonly<Record<string, string>>;
}

/** Seeds a managed secret in the store and its service account in Atlas, consistent with each other. */
export function seedManagedSecret(
  store: InMemorySecretStore,
  world: AtlasWorld,
  options: ManagedSecretOptions = {},
): void {
  const records = options.recordsAtlasSecretId ?? true;
  const current = aCredentialJson({
    ...options.extra,
    atlasSecretId: records ? CURRENT_SECRET_ID : undefined,
    atlasSecretExpiresAt: records ? (options.currentExpiresAt ?? '2026-03-01T00:00:00.000Z') : undefined,
  });
  const versions: { versionId: string; value: string; stages: string[] }[] = [];
  if (options.previous !== undefined) {
    versions.push({
      versionId: PREVIOUS_VERSION_ID,
      value: JSON.stringify(
        aCredentialJson({
          clientSecret: PREVIOUS_SECRET_VALUE,
          atlasSecretId: options.previous.recordsAtlasSecretId === false ? undefined : PREVIOUS_SECRET_ID,
          atlasSecretExpiresAt:
            options.previous.recordsAtlasSecretId === false ? undefined : '2025-12-01T00:00:00.000Z',
        }),
      ),
      stages: ['AWSPREVIOUS'],
    });
  }
  versions.push({ versionId: CURRENT_VERSION_ID, value: JSON.stringify(current), stages: ['AWSCURRENT'] });
  const seed = {
    arn: SECRET_ARN,
    name: SECRET_NAME,
    tags: { 'atlas-rotator:managed': 'true', ...options.tags },
    versions,
  };
  store.seed({
    ...seed,
    ...(options.externalRotationMetadata === undefined
      ? {}
      : { externalRotationMetadata: options.externalRotationMetadata }),
    ...(options.nativeRotation === undefined ? {} : { nativeRotation: options.nativeRotation }),
    ...(options.type === undefined ? {} : { type: options.type }),
  });
  const secrets = [
    {
      id: CURRENT_SECRET_ID,
      value: CURRENT_SECRET_VALUE,
      createdAt: options.currentCreatedAt ?? '2025-03-01T00:00:00.000Z',
      expiresAt: options.currentExpiresAt ?? '2026-03-01T00:00:00.000Z',
    },
  ];
  if (options.previous?.inAtlas === true) {
    secrets.unshift({
      id: PREVIOUS_SECRET_ID,
      value: PREVIOUS_SECRET_VALUE,
      createdAt: '2024-12-01T00:00:00.000Z',
      expiresAt: '2025-12-01T00:00:00.000Z',
    });
  }
  for (const unknown of options.unknownAtlasSecrets ?? []) {
    secrets.push({ ...unknown, value: unknown.value ?? `mdb_sa_sk_unknown_${unknown.id}` });
  }
  world.addAccount({
    clientId: CLIENT_ID,
    orgId: ORG_ID,
    roles: options.roles ?? ['ORG_OWNER'],
    secrets,
  });
}

/** Seeds the admin secret (admin-assisted mode) and its ORG_OWNER service account. */
export function seedAdminSecret(
  store: InMemorySecretStore,
  world: AtlasWorld,
  serves: readonly string[] = [SECRET_ARN],
): void {
  store.seed({
    arn: ADMIN_SECRET_ARN,
    name: 'atlas/admin',
    versions: [
      {
        versionId: '22222222-2222-4222-8222-222222222222',
        value: JSON.stringify({ clientId: ADMIN_CLIENT_ID, clientSecret: ADMIN_SECRET_VALUE, serves }),
        stages: ['AWSCURRENT'],
      },
    ],
  });
  world.addAccount({
    clientId: ADMIN_CLIENT_ID,
    orgId: ORG_ID,
    roles: ['ORG_OWNER'],
    secrets: [
      {
        id: ADMIN_ATLAS_SECRET_ID,
        value: ADMIN_SECRET_VALUE,
        createdAt: '2025-01-01T00:00:00.000Z',
        expiresAt: '2026-01-01T00:00:00.000Z',
      },
    ],
  });
}

/** A completed rotation's outcome, with overrides. */
export function aCompletedOutcome(overrides: Partial<RotationCompleted> = {}): RotationCompleted {
  return {
    status: 'completed',
    rotationId: aToken(1),
    secretArn: SECRET_ARN,
    secretName: SECRET_NAME,
    orgId: ORG_ID,
    clientId: CLIENT_ID,
    mode: 'self',
    newAtlasSecretId: NEW_SECRET_ID,
    newSecretExpiresAt: '2025-07-02T09:00:00.000Z',
    deletedAtlasSecretIds: [PREVIOUS_SECRET_ID],
    startedAt: '2025-06-02T09:00:00.000Z',
    completedAt: '2025-06-02T09:00:04.000Z',
    alreadyCompleted: false,
    ...overrides,
  };
}
