import { type ApiErrorBody, apiError } from './api-error.js';
import { atlasTimestamp as timestamp } from './atlas-timestamp.js';
import { maskSecretValue } from './identifiers.js';
import type { SimulatorRequest } from './simulator-request.js';
import {
  MAX_SECRETS_PER_SERVICE_ACCOUNT,
  type OrgRecord,
  type Principal,
  type SecretRecord,
  type ServiceAccountRecord,
  type SimulatorStore,
} from './simulator-store.js';

/**
 * The service-account resources both public APIs serve (Atlas Admin API v2 and the Cloud Manager / Ops Manager
 * public API v1.0), at org level (`/orgs/{orgId}/…`) and at project level (`/groups/{groupId}/…`). Each API
 * supplies its `Dialect` and renders the `Outcome` (content type, error shape, pretty; the envelope is common).
 */

/** What an operation answers. `list` marks a paginated list, which `envelope=true` extends instead of wrapping. */
export type Outcome =
  | { readonly status: number; readonly payload?: unknown; readonly list?: boolean }
  | { readonly error: ApiErrorBody };

/**
 * The status and body an `Outcome` answers with (no body: an empty answer), its error as the API's `errorBody`
 * renders it. With `envelope=true` one result (an error too) becomes `{status, content}` and a list gains
 * `status`, as the Cloud Manager docs describe; the HTTP status is left as is (undocumented).
 */
export function outcomeBody(
  outcome: Outcome,
  envelope: boolean,
  errorBody: (error: ApiErrorBody) => ApiErrorBody = (error) => error,
): { readonly status: number; readonly body: unknown } {
  const status = 'error' in outcome ? outcome.error.error : outcome.status;
  const payload = 'error' in outcome ? errorBody(outcome.error) : outcome.payload;
  if (payload === undefined || !envelope) return { status, body: payload };
  const listed = !('error' in outcome) && outcome.list === true;
  return { status, body: listed ? { ...(payload as object), status } : { status, content: payload } };
}

export type Scope =
  | { readonly kind: 'org'; readonly id: string }
  | { readonly kind: 'project'; readonly id: string };

export interface Dialect {
  /** Org roles that may create and delete secrets of org-level paths. */
  readonly orgManagerRoles: readonly string[];
  readonly parseSecretRequest: (
    body: string,
    org: OrgRecord,
  ) => { readonly hours: number } | { readonly invalid: Outcome };
  /** The 201 body of create-secret: the only place the plain secret value ever appears. */
  readonly createdSecretView: (secret: SecretRecord) => object;
}

export interface Paging {
  readonly pageNum: number;
  readonly itemsPerPage: number;
}

/** Documented for list operations of both APIs (facts sheet §2 and §3.2): itemsPerPage 1..500, default 100. */
export const MAX_ITEMS_PER_PAGE = 500;

export function secretView(secret: SecretRecord): object {
  return {
    id: secret.id,
    createdAt: timestamp(secret.createdAt),
    expiresAt: timestamp(secret.expiresAt),
    lastUsedAt: secret.lastUsedAt === null ? null : timestamp(secret.lastUsedAt),
    maskedSecretValue: maskSecretValue(secret.value),
  };
}

function serviceAccountView(account: ServiceAccountRecord, roles: readonly string[]): object {
  return {
    clientId: account.clientId,
    createdAt: timestamp(account.createdAt),
    description: account.description,
    name: account.name,
    roles: [...roles],
    secrets: account.secrets.map(secretView),
  };
}

export function notFound(what: string): Outcome {
  return { error: apiError(404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${what}.`) };
}

const FORBIDDEN: Outcome = {
  error: apiError(403, 'USER_UNAUTHORIZED', 'Current user is not authorized to perform this action.'),
};

export function validationError(errorCode: string, field: string, description: string): Outcome {
  return {
    error: apiError(400, errorCode, `Invalid attribute ${field}: ${description}`, [{ field, description }]),
  };
}

export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The JSON object of a request body, or undefined when it is not one. */
export function parseJsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `pageNum` (integer ≥ 1, default 1) and `itemsPerPage` (integer 1..500, default 100). */
export function parsePaging(
  query: URLSearchParams,
): Paging | { readonly invalid: { readonly field: string; readonly value: string } } {
  const read = (field: string, fallback: number, max: number) => {
    const raw = query.get(field);
    if (raw === null) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    return Number.isSafeInteger(value) && value >= 1 && value <= max ? value : { field, value: raw };
  };
  const pageNum = read('pageNum', 1, Number.MAX_SAFE_INTEGER);
  if (typeof pageNum !== 'number') return { invalid: pageNum };
  const itemsPerPage = read('itemsPerPage', 100, MAX_ITEMS_PER_PAGE);
  if (typeof itemsPerPage !== 'number') return { invalid: itemsPerPage };
  return { pageNum, itemsPerPage };
}

export interface ScopeAccess {
  readonly org: OrgRecord;
  readonly accounts: () => ServiceAccountRecord[];
  /** The roles an account shows in this scope: org roles at org level, its project roles at project level. */
  readonly rolesOf: (account: ServiceAccountRecord) => readonly string[];
}

/**
 * Who may do what (undocumented details chosen):
 * - org level: the principal must belong to the org (404 for an unknown org, 403 for a foreign one); any org
 *   role reads, writing needs one of the dialect's `orgManagerRoles`;
 * - project level: the project must exist (404) and belong to the principal's org (403); ORG_OWNER may do
 *   anything, ORG_READ_ONLY may read, otherwise the principal needs a role in the project to read and
 *   GROUP_OWNER there to write (the spec's "Project Read Only" / "Project Owner").
 */
export function authorizeScope(
  store: SimulatorStore,
  principal: Principal,
  scope: Scope,
  write: boolean,
  dialect: Dialect,
): ScopeAccess | { readonly denied: Outcome } {
  if (scope.kind === 'org') {
    const org = store.org(scope.id);
    if (org === undefined) return { denied: notFound(`organization ${scope.id}`) };
    if (principal.orgId !== org.orgId) return { denied: FORBIDDEN };
    if (write && !principal.roles.some((r) => dialect.orgManagerRoles.includes(r)))
      return { denied: FORBIDDEN };
    return { org, accounts: () => [...org.serviceAccounts.values()], rolesOf: (account) => account.roles };
  }
  const project = store.project(scope.id);
  const org = project === undefined ? undefined : store.org(project.orgId);
  if (project === undefined || org === undefined) return { denied: notFound(`project ${scope.id}`) };
  if (principal.orgId !== org.orgId) return { denied: FORBIDDEN };
  const projectRoles = principal.projectRoles.get(project.projectId) ?? [];
  const orgOwner = principal.roles.includes('ORG_OWNER');
  const allowed = write
    ? orgOwner || projectRoles.includes('GROUP_OWNER')
    : orgOwner || principal.roles.includes('ORG_READ_ONLY') || projectRoles.length > 0;
  if (!allowed) return { denied: FORBIDDEN };
  return {
    org,
    accounts: () => store.projectServiceAccounts(project),
    rolesOf: (account) => account.projectRoles.get(project.projectId) ?? [],
  };
}

export interface OperationContext {
  readonly principal: Principal;
  readonly request: SimulatorRequest;
  readonly store: SimulatorStore;
  readonly dialect: Dialect;
}

/** The service account `clientId` of `scope`, once the principal may read (or write) there; else the refusal. */
function authorizedAccount(
  scope: Scope,
  clientId: string,
  write: boolean,
  { principal, store, dialect }: OperationContext,
):
  | { readonly scopeAccess: ScopeAccess; readonly account: ServiceAccountRecord }
  | { readonly refused: Outcome } {
  const scopeAccess = authorizeScope(store, principal, scope, write, dialect);
  if ('denied' in scopeAccess) return { refused: scopeAccess.denied };
  const account = scopeAccess.accounts().find((a) => a.clientId === clientId);
  if (account === undefined) return { refused: notFound(`service account ${clientId}`) };
  return { scopeAccess, account };
}

export async function getServiceAccount(
  scope: Scope,
  clientId: string,
  context: OperationContext,
): Promise<Outcome> {
  const found = authorizedAccount(scope, clientId, false, context);
  if ('refused' in found) return found.refused;
  const { scopeAccess, account } = found;
  await context.request.work();
  return { status: 200, payload: serviceAccountView(account, scopeAccess.rolesOf(account)) };
}

/** `links` carry absolute URLs built from the request's Host, so any origin (Ops Manager's too) works. */
export async function listServiceAccounts(
  scope: Scope,
  paging: Paging,
  { principal, request, store, dialect }: OperationContext,
): Promise<Outcome> {
  const scopeAccess = authorizeScope(store, principal, scope, false, dialect);
  if ('denied' in scopeAccess) return scopeAccess.denied;
  await request.work();
  const all = scopeAccess.accounts();
  const start = (paging.pageNum - 1) * paging.itemsPerPage;
  const page = all.slice(start, start + paging.itemsPerPage);
  const href = (pageNum: number): string => {
    const query = new URLSearchParams(request.query);
    query.set('pageNum', String(pageNum));
    query.set('itemsPerPage', String(paging.itemsPerPage));
    return `http://${request.host}${request.path}?${query.toString()}`;
  };
  const links = [{ href: href(paging.pageNum), rel: 'self' }];
  if (paging.pageNum > 1) links.push({ href: href(paging.pageNum - 1), rel: 'previous' });
  if (start + paging.itemsPerPage < all.length) links.push({ href: href(paging.pageNum + 1), rel: 'next' });
  return {
    status: 200,
    list: true,
    payload: {
      links,
      results: page.map((a) => serviceAccountView(a, scopeAccess.rolesOf(a))),
      totalCount: all.length,
    },
  };
}

/**
 * Order of checks (undocumented): role, SA, body, concurrent create (409, facts sheet §2.5), the two-secret
 * limit (400 SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED: status and code undocumented; 400 because the spec declares
 * no 409 for this operation). The SA is held from the 409 check until the secret is stored.
 */
export async function createSecret(
  scope: Scope,
  clientId: string,
  context: OperationContext,
): Promise<Outcome> {
  const { request, store, dialect } = context;
  const found = authorizedAccount(scope, clientId, true, context);
  if ('refused' in found) return found.refused;
  const { scopeAccess, account } = found;
  const parsed = dialect.parseSecretRequest(request.body, scopeAccess.org);
  if ('invalid' in parsed) return parsed.invalid;
  if (account.createInFlight) {
    return {
      error: apiError(
        409,
        'DATA_CONCURRENCY_ERROR',
        'A concurrent request modified this service account. Retry the request.',
      ),
    };
  }
  if (account.secrets.length >= MAX_SECRETS_PER_SERVICE_ACCOUNT) {
    return {
      error: apiError(
        400,
        'SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED',
        `Service account ${clientId} already has the maximum of ${MAX_SECRETS_PER_SERVICE_ACCOUNT} secrets; expired secrets count until deleted.`,
      ),
    };
  }
  account.createInFlight = true;
  try {
    await request.work();
    const secret = store.createSecret(account, parsed.hours);
    return { status: 201, payload: dialect.createdSecretView(secret) };
  } finally {
    account.createInFlight = false;
  }
}

export async function deleteSecret(
  scope: Scope,
  clientId: string,
  secretId: string,
  context: OperationContext,
): Promise<Outcome> {
  const found = authorizedAccount(scope, clientId, true, context);
  if ('refused' in found) return found.refused;
  const { account } = found;
  const { request, store } = context;
  if (!account.secrets.some((s) => s.id === secretId)) return notFound(`secret ${secretId}`);
  await request.work();
  // Kills every token the secret minted, possibly the caller's own (facts sheet §2.3).
  store.deleteSecret(account, secretId);
  return { status: 204 };
}
