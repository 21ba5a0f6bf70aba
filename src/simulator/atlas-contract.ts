/**
 * The simulator's own, machine-readable description of the Atlas endpoints it serves and the rotator calls: the
 * Atlas Admin API v2 service-account operations (24, plus nothing else), the Cloud Manager public API v1.0
 * operations the facts sheet lists (§3.2), and the OAuth token and revoke endpoints (§1).
 *
 * Written for this project from the facts sheet (docs in `../shared/reference/atlas-api.md`) and checked against
 * MongoDB's published OpenAPI description by `test/unit/simulator/atlas-contract-vs-official.test.ts` when that
 * file is at hand. The format is ours: schemas are JSON-Schema-like data (draft 2020-12 keywords, `type: [x,
 * 'null']` for nullable fields, `$ref: '#/$defs/Name'` into {@link SCHEMAS}), so that the simulator's own
 * validator and a test's ajv read the same text. The simulator's router reads this module: path matching, 405s,
 * version negotiation, parameter and body validation, the role each operation demands and the schema of each
 * success body all come from here; the handlers only implement behaviour.
 */

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface Schema {
  readonly $ref?: string;
  readonly type?: JsonType | readonly JsonType[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: Schema;
  readonly enum?: readonly (string | number | boolean)[];
  /** Unicode regular expression (the `u` flag), applied to strings only. */
  readonly pattern?: string;
  readonly format?: 'date-time';
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;
  /** At most one of these properties may be present (checked by the simulator; ajv ignores the annotation). */
  readonly 'x-exclusive'?: readonly string[];
}

/** The role names of the spec's `x-rolesRequirements`, and Cloud Manager's "Organization User Admin". */
export type RoleRequirement =
  | 'Organization Member'
  | 'Organization Read Only'
  | 'Organization Owner'
  | 'Organization User Admin'
  | 'Project Read Only'
  | 'Project Owner'
  | 'Project Access Manager';

export type ApiName = 'atlas-v2' | 'cloud-manager-v1' | 'oauth';

export interface ParameterContract {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly type: 'string' | 'integer' | 'boolean';
  /** Applied to the raw (still percent-encoded) path segment or query value. */
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly default?: number | boolean;
}

export interface ResponseContract {
  /** Name in {@link SCHEMAS}; absent: no body. */
  readonly body?: string;
  /** `versioned`: `application/vnd.atlas.<resolved version>+json`; `json`: `application/json`. */
  readonly mediaType: 'versioned' | 'json' | 'none';
}

export interface OperationContract {
  readonly operationId: string;
  readonly api: ApiName;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Full path template; `{name}` is one segment, and a segment may carry a literal suffix (`{clientId}:invite`). */
  readonly path: string;
  /** Which resource the path names: the org (`orgId`), the project (`groupId`), or neither (OAuth). */
  readonly scope: 'org' | 'project' | 'none';
  readonly parameters: readonly ParameterContract[];
  /** Request body schema name; `required` bodies answer 400 when absent. */
  readonly requestBody?: {
    readonly schema: string;
    readonly mediaType: 'versioned' | 'json' | 'form';
  };
  readonly responses: Readonly<Record<number, ResponseContract>>;
  /** Resource versions the operation exists in (v2 only). A later requested date resolves to the newest of these not after it. */
  readonly versions: readonly string[];
  /** Any one of these satisfies the operation (the spec lists one per v2 operation). */
  readonly roles: readonly RoleRequirement[];
  /** Whether the rotator's Atlas client calls it. */
  readonly usedByRotator: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Identifier and field shapes (facts sheet §2.4, §2.8, §5)

/** Org, project and secret ids: 24 lower-case hex digits. */
export const OBJECT_ID_PATTERN = '^[0-9a-f]{24}$';
/** `mdb_sa_id_` and 24 hex digits, either case. */
export const CLIENT_ID_PATTERN = '^mdb_sa_id_[0-9A-Fa-f]{24}$';
/** Letters and digits of any script, space, and `. , ' _ -` (names and descriptions). */
const LABEL_PATTERN = "^[\\p{L}\\p{N} .,'_-]*$";
const IPV4 =
  '(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
/** Loose IPv6: hex groups and colons, at least two colons; node:net decides the rest. */
const IPV6 = '(?=[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:)[0-9A-Fa-f:]{2,39}';
export const IP_ADDRESS_PATTERN = `^(?:${IPV4}|${IPV6})$`;
/** The slash may also come as `%2F` in a body (the spec's pattern admits both); the simulator stores `/`. */
export const CIDR_BLOCK_PATTERN = `^(?:${IPV4}(?:/|%2[Ff])(?:3[0-2]|[12]?[0-9])|${IPV6}(?:/|%2[Ff])(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))$`;
/** The access-list path segment: an address, or a CIDR block with its slash sent as `%2F`. */
const ACCESS_LIST_SEGMENT_PATTERN = `^(?:${IPV4}|${IPV6})(?:%2[Ff][0-9]{1,3})?$`;

/** Org roles an org-level service account may be given (the spec's enum). */
export const ORG_ROLES = [
  'ORG_OWNER',
  'ORG_MEMBER',
  'ORG_READ_ONLY',
  'ORG_GROUP_CREATOR',
  'ORG_BILLING_ADMIN',
  'ORG_BILLING_READ_ONLY',
  'ORG_STREAM_PROCESSING_ADMIN',
] as const;

export const SA_VERSION = '2024-08-05';
export const SETTINGS_VERSION = '2023-01-01';

const ref = (name: string): Schema => ({ $ref: `#/$defs/${name}` });
const timestamp: Schema = { type: 'string', format: 'date-time' };
const nullableTimestamp: Schema = { type: ['string', 'null'], format: 'date-time' };
const int32: Schema = { type: 'integer', minimum: -2147483648, maximum: 2147483647 };
const label = (maxLength: number): Schema => ({
  type: 'string',
  minLength: 1,
  maxLength,
  pattern: LABEL_PATTERN,
});
const positiveHours: Schema = { type: 'integer', exclusiveMinimum: 0, maximum: 2147483647 };
const orgRoleList: Schema = { type: 'array', items: { type: 'string', enum: ORG_ROLES } };
const paginated = (item: string): Schema => ({
  type: 'object',
  required: ['results'],
  properties: {
    links: { type: 'array', items: ref('Link') },
    results: { type: 'array', items: ref(item) },
    totalCount: { type: 'integer', minimum: 0, maximum: 2147483647 },
  },
});
const serviceAccount = (roles: Schema): Schema => ({
  type: 'object',
  properties: {
    clientId: { type: 'string', pattern: CLIENT_ID_PATTERN },
    createdAt: timestamp,
    description: { type: 'string' },
    name: { type: 'string' },
    roles: { ...roles, uniqueItems: true },
    secrets: { type: 'array', uniqueItems: true, items: ref('ServiceAccountSecret') },
  },
});

/** Every body the contract names, requests and responses alike. */
export const SCHEMAS: Readonly<Record<string, Schema>> = {
  ServiceAccountSecret: {
    type: 'object',
    required: ['id', 'createdAt', 'expiresAt'],
    properties: {
      id: { type: 'string', pattern: OBJECT_ID_PATTERN },
      createdAt: timestamp,
      expiresAt: timestamp,
      lastUsedAt: nullableTimestamp,
      /** Reads only: `mdb_sa_sk_...` and a few trailing characters. */
      maskedSecretValue: { type: 'string' },
      /** The 201 of a create only: the plain value, never shown again. */
      secret: { type: 'string' },
    },
  },
  ServiceAccountSecretRequest: {
    type: 'object',
    required: ['secretExpiresAfterHours'],
    properties: { secretExpiresAfterHours: positiveHours },
  },
  OrgServiceAccount: serviceAccount(orgRoleList),
  GroupServiceAccount: serviceAccount({ type: 'array', items: { type: 'string' } }),
  OrgServiceAccountRequest: {
    type: 'object',
    required: ['name', 'description', 'roles', 'secretExpiresAfterHours'],
    properties: {
      name: label(64),
      description: label(250),
      roles: { ...orgRoleList, minItems: 1 },
      secretExpiresAfterHours: positiveHours,
    },
  },
  GroupServiceAccountRequest: {
    type: 'object',
    required: ['name', 'description', 'roles', 'secretExpiresAfterHours'],
    properties: {
      name: label(64),
      description: label(250),
      roles: { type: 'array', minItems: 1, items: { type: 'string' } },
      secretExpiresAfterHours: positiveHours,
    },
  },
  OrgServiceAccountUpdateRequest: {
    type: 'object',
    properties: {
      name: { ...label(64), type: ['string', 'null'] },
      description: { ...label(250), type: ['string', 'null'] },
      roles: orgRoleList,
    },
  },
  GroupServiceAccountUpdateRequest: {
    type: 'object',
    properties: {
      name: { ...label(64), type: ['string', 'null'] },
      description: { ...label(250), type: ['string', 'null'] },
      roles: { type: 'array', items: { type: 'string' } },
    },
  },
  GroupServiceAccountRoleAssignment: {
    type: 'object',
    required: ['roles'],
    properties: { roles: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string' } } },
  },
  ServiceAccountAccessListEntry: {
    type: 'object',
    'x-exclusive': ['ipAddress', 'cidrBlock'],
    properties: {
      cidrBlock: { type: ['string', 'null'], pattern: CIDR_BLOCK_PATTERN },
      ipAddress: { type: ['string', 'null'], pattern: IP_ADDRESS_PATTERN },
      createdAt: timestamp,
      lastUsedAddress: { type: ['string', 'null'] },
      lastUsedAt: nullableTimestamp,
      requestCount: int32,
    },
  },
  ServiceAccountAccessListRequest: {
    type: 'array',
    maxItems: 200,
    items: ref('ServiceAccountAccessListEntry'),
  },
  ServiceAccountGroup: {
    type: 'object',
    properties: {
      groupId: { type: 'string', pattern: OBJECT_ID_PATTERN },
      roles: { type: 'array', maxItems: 100, items: { type: 'string' } },
    },
  },
  PaginatedOrgServiceAccounts: paginated('OrgServiceAccount'),
  PaginatedGroupServiceAccounts: paginated('GroupServiceAccount'),
  PaginatedServiceAccountAccessList: paginated('ServiceAccountAccessListEntry'),
  PaginatedServiceAccountGroups: paginated('ServiceAccountGroup'),
  Link: { type: 'object', properties: { href: { type: 'string' }, rel: { type: 'string' } } },
  OrganizationSettings: {
    type: 'object',
    properties: {
      apiAccessListRequired: { type: 'boolean' },
      customSessionTimeouts: {
        type: 'object',
        properties: { absoluteSessionTimeoutInSeconds: int32, idleSessionTimeoutInSeconds: int32 },
      },
      genAIFeaturesEnabled: { type: 'boolean' },
      maxServiceAccountSecretValidityInHours: { type: 'integer', minimum: 8, maximum: 8760 },
      multiFactorAuthRequired: { type: 'boolean' },
      operationsContact: { type: ['string', 'null'] },
      restrictEmployeeAccess: { type: 'boolean' },
      securityContact: { type: 'string' },
      streamsCrossGroupEnabled: { type: 'boolean' },
    },
  },
  /**
   * Atlas's error body (facts sheet §4.1). `parameters` holds positional values of any type: the documented
   * 429 examples carry strings and numbers (§4.3), although the published spec types the items as objects.
   */
  ApiError: {
    type: 'object',
    required: ['error', 'errorCode'],
    properties: {
      error: int32,
      errorCode: { type: 'string' },
      detail: { type: ['string', 'null'] },
      reason: { type: ['string', 'null'] },
      parameters: { type: 'array' },
      badRequestDetail: {
        type: ['object', 'null'],
        properties: {
          fields: {
            type: 'array',
            items: {
              type: 'object',
              required: ['field', 'description'],
              properties: { field: { type: 'string' }, description: { type: 'string' } },
            },
          },
        },
      },
    },
  },
  /** Cloud Manager v1.0 takes the hours as an integer or a string of digits (its docs show `"3600"`). */
  CloudManagerSecretRequest: {
    type: 'object',
    required: ['secretExpiresAfterHours'],
    properties: { secretExpiresAfterHours: { type: ['integer', 'string'], pattern: '^[0-9]+$' } },
  },
  /** The 201 of a v1.0 create-secret: exactly these four fields. */
  CloudManagerCreatedSecret: {
    type: 'object',
    required: ['id', 'secret', 'createdAt', 'expiresAt'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', pattern: OBJECT_ID_PATTERN },
      secret: { type: 'string' },
      createdAt: timestamp,
      expiresAt: timestamp,
    },
  },
  TokenRequest: {
    type: 'object',
    required: ['grant_type'],
    properties: { grant_type: { type: 'string', enum: ['client_credentials'] } },
  },
  TokenResponse: {
    type: 'object',
    required: ['access_token', 'token_type', 'expires_in'],
    additionalProperties: false,
    properties: {
      access_token: { type: 'string', minLength: 1 },
      token_type: { type: 'string', enum: ['Bearer'] },
      expires_in: { type: 'integer', minimum: 1 },
    },
  },
  RevokeRequest: {
    type: 'object',
    required: ['token'],
    properties: { token: { type: 'string', minLength: 1 }, token_type_hint: { type: 'string' } },
  },
  /** RFC 6749 §5.2: what the token endpoint answers for bad credentials or a bad form. */
  OAuthError: {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'string' }, error_description: { type: 'string' } },
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Parameters

const pathId = (name: string, pattern = OBJECT_ID_PATTERN): ParameterContract => ({
  name,
  in: 'path',
  type: 'string',
  pattern,
});
const ORG_ID = pathId('orgId');
const GROUP_ID = pathId('groupId');
const CLIENT_ID = pathId('clientId', CLIENT_ID_PATTERN);
/** The spec puts no pattern on secretId (its description says 24 hex digits); a malformed one simply is not found. */
const SECRET_ID: ParameterContract = { name: 'secretId', in: 'path', type: 'string' };
const IP_ADDRESS = pathId('ipAddress', ACCESS_LIST_SEGMENT_PATTERN);
const flag = (name: string, value: boolean): ParameterContract => ({
  name,
  in: 'query',
  type: 'boolean',
  default: value,
});
/** On every operation of both APIs (facts sheet §2 "Query params on every op", §3.2). */
const COMMON = [flag('envelope', false), flag('pretty', false)];
const PAGING: readonly ParameterContract[] = [
  { name: 'itemsPerPage', in: 'query', type: 'integer', minimum: 1, maximum: 500, default: 100 },
  { name: 'pageNum', in: 'query', type: 'integer', minimum: 1, default: 1 },
];
const INCLUDE_COUNT = flag('includeCount', true);
const INCLUDE_SYSTEM_MANAGED = flag('includeSystemManaged', false);

// ---------------------------------------------------------------------------------------------------------------
// Responses

const error: ResponseContract = { body: 'ApiError', mediaType: 'json' };
const versioned = (body?: string): ResponseContract =>
  body === undefined ? { mediaType: 'none' } : { body, mediaType: 'versioned' };
const plain = (body?: string): ResponseContract =>
  body === undefined ? { mediaType: 'none' } : { body, mediaType: 'json' };
/** The error statuses every v2 service-account operation declares, and those with a body also 400. */
function errors(...extra: number[]): Record<number, ResponseContract> {
  return Object.fromEntries([401, 403, 404, 429, 500, ...extra].map((status) => [status, error]));
}

// ---------------------------------------------------------------------------------------------------------------
// Atlas Admin API v2 (facts sheet §2, §3.1; all service-account operations exist only in 2024-08-05)

const V2 = '/api/atlas/v2';
type Level = 'org' | 'project';
const LEVELS: readonly { level: Level; prefix: string; id: ParameterContract; word: 'Org' | 'Group' }[] = [
  { level: 'org', prefix: `${V2}/orgs/{orgId}`, id: ORG_ID, word: 'Org' },
  { level: 'project', prefix: `${V2}/groups/{groupId}`, id: GROUP_ID, word: 'Group' },
];

function v2(
  operation: Omit<OperationContract, 'api' | 'versions' | 'parameters' | 'usedByRotator'> & {
    readonly parameters: readonly ParameterContract[];
    readonly usedByRotator?: boolean;
    readonly versions?: readonly string[];
  },
): OperationContract {
  return {
    ...operation,
    api: 'atlas-v2',
    versions: operation.versions ?? [SA_VERSION],
    parameters: [...operation.parameters, ...COMMON],
    usedByRotator: operation.usedByRotator ?? false,
  };
}

const V2_OPERATIONS: readonly OperationContract[] = LEVELS.flatMap(
  ({ level, prefix, id, word }): OperationContract[] => {
    const read: RoleRequirement = level === 'org' ? 'Organization Read Only' : 'Project Read Only';
    const write: RoleRequirement = level === 'org' ? 'Organization Owner' : 'Project Owner';
    const accessWrite: RoleRequirement = level === 'org' ? 'Organization Owner' : 'Project Access Manager';
    const account = `${word}ServiceAccount`;
    const sa = `${prefix}/serviceAccounts/{clientId}`;
    const operations: OperationContract[] = [
      v2({
        operationId: `list${word}ServiceAccounts`,
        method: 'GET',
        path: `${prefix}/serviceAccounts`,
        scope: level,
        parameters: [id, ...PAGING, INCLUDE_SYSTEM_MANAGED],
        responses: { 200: versioned(`Paginated${word}ServiceAccounts`), ...errors() },
        roles: [read],
        usedByRotator: true,
      }),
      v2({
        operationId: `create${word}ServiceAccount`,
        method: 'POST',
        path: `${prefix}/serviceAccounts`,
        scope: level,
        parameters: [id],
        requestBody: { schema: `${word}ServiceAccountRequest`, mediaType: 'versioned' },
        responses: { 201: versioned(account), ...errors(400) },
        roles: [write],
      }),
      v2({
        operationId: `get${word}ServiceAccount`,
        method: 'GET',
        path: sa,
        scope: level,
        parameters: [id, CLIENT_ID],
        responses: { 200: versioned(account), ...errors() },
        roles: [read],
        usedByRotator: true,
      }),
      v2({
        operationId: `update${word}ServiceAccount`,
        method: 'PATCH',
        path: sa,
        scope: level,
        parameters: [id, CLIENT_ID],
        requestBody: { schema: `${word}ServiceAccountUpdateRequest`, mediaType: 'versioned' },
        responses: { 200: versioned(account), ...errors(400) },
        roles: [write],
      }),
      v2({
        operationId: `delete${word}ServiceAccount`,
        method: 'DELETE',
        path: sa,
        scope: level,
        parameters: [id, CLIENT_ID],
        responses: { 204: versioned(), ...errors() },
        roles: [write],
      }),
      v2({
        operationId: `list${word}ServiceAccountAccessList`,
        method: 'GET',
        path: `${sa}/accessList`,
        scope: level,
        parameters: [id, CLIENT_ID, ...PAGING, INCLUDE_COUNT],
        responses: { 200: versioned('PaginatedServiceAccountAccessList'), ...errors() },
        roles: [read],
      }),
      v2({
        operationId: `create${word}ServiceAccountAccessList`,
        method: 'POST',
        path: `${sa}/accessList`,
        scope: level,
        parameters: [id, CLIENT_ID, ...PAGING, INCLUDE_COUNT],
        requestBody: { schema: 'ServiceAccountAccessListRequest', mediaType: 'versioned' },
        responses: { 200: versioned('PaginatedServiceAccountAccessList'), ...errors(400, 409) },
        roles: [accessWrite],
      }),
      v2({
        operationId: `delete${word}ServiceAccountAccessListEntry`,
        method: 'DELETE',
        path: `${sa}/accessList/{ipAddress}`,
        scope: level,
        parameters: [id, CLIENT_ID, IP_ADDRESS],
        responses: { 204: versioned(), ...errors(400) },
        roles: [accessWrite],
      }),
      v2({
        operationId: `create${word}ServiceAccountSecret`,
        method: 'POST',
        path: `${sa}/secrets`,
        scope: level,
        parameters: [id, CLIENT_ID],
        requestBody: { schema: 'ServiceAccountSecretRequest', mediaType: 'versioned' },
        // 409: two creates overlapping on one account (facts sheet §2.5); the spec declares no 409 here.
        responses: { 201: versioned('ServiceAccountSecret'), ...errors(400, 409) },
        roles: [write],
        usedByRotator: true,
      }),
      v2({
        operationId: `delete${word}ServiceAccountSecret`,
        method: 'DELETE',
        path: `${sa}/secrets/{secretId}`,
        scope: level,
        parameters: [id, CLIENT_ID, SECRET_ID],
        responses: { 204: versioned(), ...errors() },
        roles: [write],
        usedByRotator: true,
      }),
    ];
    if (level === 'org') {
      operations.push(
        v2({
          operationId: 'getOrgServiceAccountGroups',
          method: 'GET',
          path: `${sa}/groups`,
          scope: 'org',
          parameters: [ORG_ID, CLIENT_ID, ...PAGING],
          responses: { 200: versioned('PaginatedServiceAccountGroups'), ...errors() },
          roles: ['Organization Read Only'],
        }),
        v2({
          operationId: 'getOrgSettings',
          method: 'GET',
          path: `${prefix}/settings`,
          scope: 'org',
          parameters: [ORG_ID],
          responses: { 200: versioned('OrganizationSettings'), ...errors() },
          versions: [SETTINGS_VERSION],
          roles: ['Organization Member'],
          usedByRotator: true,
        }),
        v2({
          operationId: 'updateOrgSettings',
          method: 'PATCH',
          path: `${prefix}/settings`,
          scope: 'org',
          parameters: [ORG_ID],
          requestBody: { schema: 'OrganizationSettings', mediaType: 'versioned' },
          responses: { 200: versioned('OrganizationSettings'), ...errors(400) },
          versions: [SETTINGS_VERSION],
          roles: ['Organization Owner'],
        }),
      );
    } else {
      operations.push(
        v2({
          operationId: 'inviteGroupServiceAccount',
          method: 'POST',
          path: `${sa}:invite`,
          scope: 'project',
          parameters: [GROUP_ID, CLIENT_ID],
          requestBody: { schema: 'GroupServiceAccountRoleAssignment', mediaType: 'versioned' },
          // The spec declares no 400 here; a body that breaks the schema still answers 400 (chosen).
          responses: { 200: versioned('GroupServiceAccount'), ...errors() },
          roles: ['Organization Owner'],
        }),
      );
    }
    return operations;
  },
);

// ---------------------------------------------------------------------------------------------------------------
// Cloud Manager public API v1.0 (facts sheet §3.2): plain JSON, no versions, any org role reads and Organization
// Owner or Organization User Admin writes at org level; project paths as on v2.

const V1 = '/api/public/v1.0';
const V1_READ: readonly RoleRequirement[] = ['Organization Member'];
const V1_WRITE: readonly RoleRequirement[] = ['Organization Owner', 'Organization User Admin'];

function v1(
  operation: Omit<OperationContract, 'api' | 'versions' | 'parameters' | 'usedByRotator'> & {
    readonly parameters: readonly ParameterContract[];
  },
): OperationContract {
  // Cloud Manager lists pageNum/itemsPerPage on every page, so every operation validates them.
  const parameters = [...operation.parameters, ...PAGING, ...COMMON];
  return { ...operation, api: 'cloud-manager-v1', versions: [], parameters, usedByRotator: true };
}

/** v1.0 ids are not pattern-checked (unknown ones answer 404, as before). */
const V1_ORG_ID: ParameterContract = { name: 'orgId', in: 'path', type: 'string' };
const V1_GROUP_ID: ParameterContract = { name: 'groupId', in: 'path', type: 'string' };
const V1_CLIENT_ID: ParameterContract = { name: 'clientId', in: 'path', type: 'string' };
const V1_IP: ParameterContract = { name: 'ipAddress', in: 'path', type: 'string' };

const V1_OPERATIONS: readonly OperationContract[] = [
  ...(
    [
      ['Org', `${V1}/orgs/{orgId}`, V1_ORG_ID, 'org', V1_READ, V1_WRITE],
      ['Group', `${V1}/groups/{groupId}`, V1_GROUP_ID, 'project', ['Project Read Only'], ['Project Owner']],
    ] as const
  ).flatMap(([word, prefix, id, scope, read, write]): OperationContract[] => {
    const sa = `${prefix}/serviceAccounts/{clientId}`;
    const account = `${word}ServiceAccount`;
    return [
      v1({
        operationId: `cm.list${word}ServiceAccounts`,
        method: 'GET',
        path: `${prefix}/serviceAccounts`,
        scope,
        parameters: [id],
        responses: { 200: plain(`Paginated${word}ServiceAccounts`), ...errors(400) },
        roles: read,
      }),
      v1({
        operationId: `cm.get${word}ServiceAccount`,
        method: 'GET',
        path: sa,
        scope,
        parameters: [id, V1_CLIENT_ID],
        responses: { 200: plain(account), ...errors(400) },
        roles: read,
      }),
      v1({
        operationId: `cm.create${word}ServiceAccountSecret`,
        method: 'POST',
        path: `${sa}/secrets`,
        scope,
        parameters: [id, V1_CLIENT_ID],
        requestBody: { schema: 'CloudManagerSecretRequest', mediaType: 'json' },
        responses: { 201: plain('CloudManagerCreatedSecret'), ...errors(400, 409) },
        roles: write,
      }),
      v1({
        operationId: `cm.delete${word}ServiceAccountSecret`,
        method: 'DELETE',
        path: `${sa}/secrets/{secretId}`,
        scope,
        parameters: [id, V1_CLIENT_ID, SECRET_ID],
        responses: { 204: plain(), ...errors(400) },
        roles: write,
      }),
    ];
  }),
  v1({
    operationId: 'cm.createOrgServiceAccount',
    method: 'POST',
    path: `${V1}/orgs/{orgId}/serviceAccounts`,
    scope: 'org',
    parameters: [V1_ORG_ID],
    requestBody: { schema: 'OrgServiceAccountRequest', mediaType: 'json' },
    responses: { 201: plain('OrgServiceAccount'), ...errors(400) },
    roles: V1_WRITE,
  }),
  v1({
    operationId: 'cm.updateOrgServiceAccount',
    method: 'PATCH',
    path: `${V1}/orgs/{orgId}/serviceAccounts/{clientId}`,
    scope: 'org',
    parameters: [V1_ORG_ID, V1_CLIENT_ID],
    requestBody: { schema: 'OrgServiceAccountUpdateRequest', mediaType: 'json' },
    responses: { 200: plain('OrgServiceAccount'), ...errors(400) },
    roles: V1_WRITE,
  }),
  v1({
    operationId: 'cm.deleteOrgServiceAccount',
    method: 'DELETE',
    path: `${V1}/orgs/{orgId}/serviceAccounts/{clientId}`,
    scope: 'org',
    parameters: [V1_ORG_ID, V1_CLIENT_ID],
    responses: { 204: plain(), ...errors(400) },
    roles: V1_WRITE,
  }),
  v1({
    operationId: 'cm.getOrgServiceAccountGroups',
    method: 'GET',
    path: `${V1}/orgs/{orgId}/serviceAccounts/{clientId}/groups`,
    scope: 'org',
    parameters: [V1_ORG_ID, V1_CLIENT_ID],
    responses: { 200: plain('PaginatedServiceAccountGroups'), ...errors(400) },
    roles: V1_READ,
  }),
  v1({
    operationId: 'cm.inviteGroupServiceAccount',
    method: 'POST',
    path: `${V1}/groups/{groupId}/serviceAccounts/{clientId}:invite`,
    scope: 'project',
    parameters: [V1_GROUP_ID, V1_CLIENT_ID],
    requestBody: { schema: 'GroupServiceAccountRoleAssignment', mediaType: 'json' },
    responses: { 200: plain('GroupServiceAccount'), ...errors(400) },
    roles: ['Organization Owner'],
  }),
  v1({
    operationId: 'cm.listGroupServiceAccountAccessList',
    method: 'GET',
    path: `${V1}/groups/{groupId}/serviceAccounts/{clientId}/accessList`,
    scope: 'project',
    parameters: [V1_GROUP_ID, V1_CLIENT_ID],
    responses: { 200: plain('PaginatedServiceAccountAccessList'), ...errors(400) },
    roles: ['Project Read Only'],
  }),
  v1({
    operationId: 'cm.createGroupServiceAccountAccessList',
    method: 'POST',
    path: `${V1}/groups/{groupId}/serviceAccounts/{clientId}/accessList`,
    scope: 'project',
    parameters: [V1_GROUP_ID, V1_CLIENT_ID],
    requestBody: { schema: 'ServiceAccountAccessListRequest', mediaType: 'json' },
    responses: { 200: plain('PaginatedServiceAccountAccessList'), ...errors(400) },
    roles: ['Project Access Manager'],
  }),
  v1({
    operationId: 'cm.deleteGroupServiceAccountAccessListEntry',
    method: 'DELETE',
    path: `${V1}/groups/{groupId}/serviceAccounts/{clientId}/accessList/{ipAddress}`,
    scope: 'project',
    parameters: [V1_GROUP_ID, V1_CLIENT_ID, V1_IP],
    responses: { 204: plain(), ...errors(400) },
    roles: ['Project Access Manager'],
  }),
];

// ---------------------------------------------------------------------------------------------------------------
// OAuth 2.0 client credentials (facts sheet §1): Basic client authentication, form bodies, no version.

const OAUTH_OPERATIONS: readonly OperationContract[] = [
  {
    operationId: 'oauth.token',
    api: 'oauth',
    method: 'POST',
    path: '/api/oauth/token',
    scope: 'none',
    parameters: [flag('pretty', false), flag('envelope', false)],
    requestBody: { schema: 'TokenRequest', mediaType: 'form' },
    responses: {
      200: plain('TokenResponse'),
      400: plain('OAuthError'),
      401: plain('OAuthError'),
      /** Rate limits (§4.3) and the 100-active-token limit (§2.5) answer an Atlas ApiError. */
      429: error,
    },
    versions: [],
    roles: [],
    usedByRotator: true,
  },
  {
    operationId: 'oauth.revoke',
    api: 'oauth',
    method: 'POST',
    path: '/api/oauth/revoke',
    scope: 'none',
    parameters: [flag('pretty', false)],
    requestBody: { schema: 'RevokeRequest', mediaType: 'form' },
    responses: { 200: plain(), 400: plain('OAuthError'), 401: plain('OAuthError') },
    versions: [],
    roles: [],
    usedByRotator: true,
  },
];

export const OPERATIONS: readonly OperationContract[] = [
  ...V2_OPERATIONS,
  ...V1_OPERATIONS,
  ...OAUTH_OPERATIONS,
];

/**
 * Statuses the router itself may answer on any v2 operation, beyond what each declares: 400 for a path or query
 * parameter that breaks the contract, 405 (with `Allow`) for a method the path does not define, 406
 * INVALID_VERSION_DATE (facts sheet §2.7). All with an ApiError body.
 */
export const ROUTER_STATUSES: readonly number[] = [400, 405, 406];

export function operationsOf(api: ApiName): readonly OperationContract[] {
  return OPERATIONS.filter((operation) => operation.api === api);
}
