import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiErrorBody, apiError } from './api-error.js';
import { type OperationContract, SCHEMAS } from './atlas-contract.js';
import { atlasTimestamp as timestamp } from './atlas-timestamp.js';
import { maskSecretValue } from './identifiers.js';
import { checkAccessListInput, entryMatches } from './ip-access.js';
import type { SimulatorRequest } from './simulator-request.js';
import {
  type AccessListEntry,
  type AccessListInput,
  MAX_SECRETS_PER_SERVICE_ACCOUNT,
  type OrgRecord,
  type OrgSettings,
  type Principal,
  type ProjectRecord,
  type SecretRecord,
  type ServiceAccountRecord,
  type SimulatorStore,
} from './simulator-store.js';

/**
 * The behaviour of the service-account operations, for both public APIs and both levels (org, project). The
 * router (api-router.ts) has already matched the operation in the contract, negotiated the version, validated
 * path, query and body against the contract, resolved the org or project and checked the role: a handler gets
 * typed, valid input and answers an {@link Outcome}, whose success body the router checks against the contract.
 */

/** What an operation answers. `list` marks a paginated list, which `envelope=true` extends instead of wrapping. */
export type Outcome =
  | { readonly status: number; readonly payload?: unknown; readonly list?: boolean }
  | { readonly error: ApiErrorBody };

/** Where an operation acts, once the router resolved and authorized it. */
export interface ResolvedScope {
  readonly org: OrgRecord;
  /** The project of a `/groups/{groupId}` path; null on org paths. */
  readonly project: ProjectRecord | null;
}

/** What differs between the two public APIs' behaviour (validation shapes live in the router's dialect). */
export interface Behaviour {
  /** Bounds and coercion of `secretExpiresAfterHours`: the hours, or the refusal. */
  readonly secretHours: (raw: unknown, org: OrgRecord) => number | ApiErrorBody;
  /** The 201 body of create-secret: the only place the plain secret value ever appears. */
  readonly createdSecretView: (secret: SecretRecord) => object;
  readonly validationError: (field: string, description: string) => ApiErrorBody;
}

export interface HandlerContext {
  readonly operation: OperationContract;
  readonly behaviour: Behaviour;
  readonly principal: Principal;
  readonly callerIp: string;
  /** Path parameters, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** Query parameters of the contract, parsed, defaults applied. */
  readonly query: Readonly<Record<string, number | boolean>>;
  /** The request body, already valid against the contract's schema (undefined when the operation takes none). */
  readonly body: unknown;
  readonly scope: ResolvedScope;
  readonly store: SimulatorStore;
  readonly request: SimulatorRequest;
  /** How long a create-secret holds the account's create lock, in ms (AtlasSimulatorOptions.createSecretProcessingMs). */
  readonly createSecretProcessingMs: number;
  readonly signal: AbortSignal;
}

export type Handler = (context: HandlerContext) => Promise<Outcome>;

/** Facts sheet §2.5: 200 service accounts per org and 200 access-list entries per service account. */
export const MAX_SERVICE_ACCOUNTS_PER_ORG = 200;
export const MAX_ACCESS_LIST_ENTRIES = 200;

export function notFound(what: string): Outcome {
  return { error: apiError(404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${what}.`) };
}

// ---------------------------------------------------------------------------------------------------------------
// Views

export function secretView(secret: SecretRecord): object {
  return {
    id: secret.id,
    createdAt: timestamp(secret.createdAt),
    expiresAt: timestamp(secret.expiresAt),
    lastUsedAt: secret.lastUsedAt === null ? null : timestamp(secret.lastUsedAt),
    maskedSecretValue: maskSecretValue(secret.value),
  };
}

/** The v2 201 body of a new secret: the plain value and no maskedSecretValue (facts sheet §2.2). */
export function createdSecretView(secret: SecretRecord): object {
  const { maskedSecretValue: _masked, ...view } = secretView(secret) as Record<string, unknown>;
  return { ...view, secret: secret.value };
}

/** The roles an account shows in a scope: its org roles at org level, its project roles at project level. */
function rolesIn(scope: ResolvedScope, account: ServiceAccountRecord): readonly string[] {
  return scope.project === null ? account.roles : (account.projectRoles.get(scope.project.projectId) ?? []);
}

function accountView(scope: ResolvedScope, account: ServiceAccountRecord, fresh?: SecretRecord): object {
  return {
    clientId: account.clientId,
    createdAt: timestamp(account.createdAt),
    description: account.description,
    name: account.name,
    roles: [...rolesIn(scope, account)],
    secrets: account.secrets.map((s) => (s === fresh ? createdSecretView(s) : secretView(s))),
  };
}

function accessEntryView(entry: AccessListEntry): object {
  return {
    ...(entry.ipAddress === null ? {} : { ipAddress: entry.ipAddress }),
    ...(entry.cidrBlock === null ? {} : { cidrBlock: entry.cidrBlock }),
    createdAt: timestamp(entry.createdAt),
    lastUsedAddress: entry.lastUsedAddress,
    lastUsedAt: entry.lastUsedAt === null ? null : timestamp(entry.lastUsedAt),
    requestCount: entry.requestCount,
  };
}

function settingsView(settings: OrgSettings): object {
  return { ...settings };
}

/** `links` carry absolute URLs built from the request's Host, so any origin (Ops Manager's too) works. */
function page<T>(
  context: HandlerContext,
  all: readonly T[],
  view: (item: T) => object,
  count = true,
): Outcome {
  const pageNum = Number(context.query.pageNum ?? 1);
  const itemsPerPage = Number(context.query.itemsPerPage ?? 100);
  const { request } = context;
  const start = (pageNum - 1) * itemsPerPage;
  const href = (n: number): string => {
    const query = new URLSearchParams(request.query);
    query.set('pageNum', String(n));
    query.set('itemsPerPage', String(itemsPerPage));
    return `http://${request.host}${request.path}?${query.toString()}`;
  };
  const links = [{ href: href(pageNum), rel: 'self' }];
  if (pageNum > 1) links.push({ href: href(pageNum - 1), rel: 'previous' });
  if (start + itemsPerPage < all.length) links.push({ href: href(pageNum + 1), rel: 'next' });
  return {
    status: 200,
    list: true,
    payload: {
      links,
      results: all.slice(start, start + itemsPerPage).map(view),
      ...(count ? { totalCount: all.length } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Lookups

function accountsIn(context: HandlerContext): ServiceAccountRecord[] {
  const { scope, store } = context;
  return scope.project === null
    ? [...scope.org.serviceAccounts.values()]
    : store.projectServiceAccounts(scope.project);
}

/** The path's service account, if it belongs to the scope (a project's accounts are those with a role in it). */
function account(context: HandlerContext): ServiceAccountRecord | Outcome {
  const clientId = context.params.clientId ?? '';
  const found = accountsIn(context).find((a) => a.clientId === clientId);
  return found ?? notFound(`service account ${clientId}`);
}

function isOutcome(value: ServiceAccountRecord | Outcome): value is Outcome {
  return 'status' in value || 'error' in value;
}

// ---------------------------------------------------------------------------------------------------------------
// Handlers

const listServiceAccounts: Handler = async (context) => {
  await context.request.work();
  // includeSystemManaged: the simulator has no system-managed accounts, so the flag changes nothing.
  return page(context, accountsIn(context), (a) => accountView(context.scope, a));
};

const getServiceAccount: Handler = async (context) => {
  const found = account(context);
  if (isOutcome(found)) return found;
  await context.request.work();
  return { status: 200, payload: accountView(context.scope, found) };
};

/**
 * Creates an account and its first secret (facts sheet §2.4: the 201 carries the plain value once, in
 * `secrets[0].secret`). A project-level create makes an ORG_MEMBER of the parent org with the body's roles in
 * the project. More than 200 accounts in an org: 400 SERVICE_ACCOUNT_LIMIT_EXCEEDED [inference: the limit is
 * documented, its error is not].
 */
const createServiceAccount: Handler = async (context) => {
  const { scope, store, behaviour } = context;
  const body = context.body as {
    name: string;
    description: string;
    roles: string[];
    secretExpiresAfterHours: unknown;
  };
  const hours = behaviour.secretHours(body.secretExpiresAfterHours, scope.org);
  if (typeof hours !== 'number') return { error: hours };
  if (scope.org.serviceAccounts.size >= MAX_SERVICE_ACCOUNTS_PER_ORG) {
    return {
      error: apiError(
        400,
        'SERVICE_ACCOUNT_LIMIT_EXCEEDED',
        `Organization ${scope.org.orgId} already has ${MAX_SERVICE_ACCOUNTS_PER_ORG} service accounts.`,
      ),
    };
  }
  await context.request.work();
  const { account: created, secret } = store.createServiceAccount(scope.org.orgId, {
    name: body.name,
    description: body.description,
    ...(scope.project === null
      ? { roles: body.roles }
      : { projectId: scope.project.projectId, projectRoles: body.roles }),
    secretExpiresAfterHours: hours,
  });
  return { status: 201, payload: accountView(scope, created, secret) };
};

/** name/description replace when given (null leaves them); roles replace the roles of this level. */
const updateServiceAccount: Handler = async (context) => {
  const found = account(context);
  if (isOutcome(found)) return found;
  const body = context.body as { name?: string | null; description?: string | null; roles?: string[] };
  await context.request.work();
  if (typeof body.name === 'string') found.name = body.name;
  if (typeof body.description === 'string') found.description = body.description;
  if (body.roles !== undefined) {
    const project = context.scope.project;
    if (project === null) found.roles = [...body.roles];
    else found.projectRoles.set(project.projectId, [...body.roles]);
  }
  return { status: 200, payload: accountView(context.scope, found) };
};

/**
 * Org level: the account, its secrets and their tokens are gone. Project level: the account only leaves the
 * project; it stays in the org and its credentials keep working (the spec's description).
 */
const deleteServiceAccount: Handler = async (context) => {
  const found = account(context);
  if (isOutcome(found)) return found;
  await context.request.work();
  const project = context.scope.project;
  if (project === null) context.store.deleteServiceAccount(found);
  else context.store.removeFromProject(found, project.projectId);
  return { status: 204 };
};

const listServiceAccountAccessList: Handler = async (context) => {
  const found = account(context);
  if (isOutcome(found)) return found;
  await context.request.work();
  return page(context, found.accessList, accessEntryView, context.query.includeCount !== false);
};

/**
 * Adds entries; one already on the list (same address or block) is left as it is [inference: idempotent].
 * More than 200 entries in all: 409 ACCESS_LIST_LIMIT_EXCEEDED [inference: the limit is documented (§2.5), its
 * error is not; the spec declares 409 for this operation only].
 */
const createServiceAccountAccessList: Handler = async (context) => {
  const found = account(context);
  if (isOutcome(found)) return found;
  const entries = context.body as AccessListInput[];
  for (const [index, entry] of entries.entries()) {
    try {
      checkAccessListInput(entry);
    } catch (error) {
      return {
        error: context.behaviour.validationError(
          `[${index}]`,
          error instanceof Error ? error.message : String(error),
        ),
      };
    }
  }
  const added = entries.filter(
    (e) =>
      !found.accessList.some(
        (known) =>
          (e.ipAddress != null && known.ipAddress === e.ipAddress) ||
          (e.cidrBlock != null && known.cidrBlock === e.cidrBlock.replace(/%2f/i, '/')),
      ),
  );
  if (found.accessList.length + added.length > MAX_ACCESS_LIST_ENTRIES) {
    return {
      error: apiError(
        409,
        'ACCESS_LIST_LIMIT_EXCEEDED',
        `Service account ${found.clientId} may have at most ${MAX_ACCESS_LIST_ENTRIES} access-list entries.`,
      ),
    };
  }
  await context.request.work();
  context.store.addAccessListEntries(found, entries);
  return page(context, found.accessList, accessEntryView, context.query.includeCount !== false);
};

/**
 * The path names an address or a block (`%2F` for the slash). The spec: "You can't remove the requesting IP
 * address from the access list": an entry that admits the caller's address answers 400
 * CANNOT_REMOVE_CALLER_ACCESS_LIST_ENTRY [inference: code and status undocumented].
 */
const deleteServiceAccountAccessListEntry: Handler = async (context) => {
  const found = account(context);
  if (isOutcome(found)) return found;
  const address = context.params.ipAddress ?? '';
  const entry = found.accessList.find((e) => e.ipAddress === address || e.cidrBlock === address);
  if (entry === undefined) return notFound(`access list entry ${address}`);
  if (entryMatches(entry, context.callerIp)) {
    return {
      error: apiError(
        400,
        'CANNOT_REMOVE_CALLER_ACCESS_LIST_ENTRY',
        `The access list entry ${address} admits the address of this request (${context.callerIp}) and cannot be removed by it.`,
      ),
    };
  }
  await context.request.work();
  found.accessList.splice(found.accessList.indexOf(entry), 1);
  return { status: 204 };
};

/**
 * Order of checks after the router's (undocumented; chosen): the SA (404), the hours (400), concurrent create
 * (409 DATA_CONCURRENCY_ERROR, facts sheet §2.5), the two-secret limit (400 SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED
 * [inference: status and code undocumented; 400 because the spec declares it for this operation]).
 *
 * The create holds the account's create lock for `createSecretProcessingMs` (and any injected latency) before
 * the secret exists, so that two creates genuinely in flight at once on one account conflict, as on Atlas,
 * while creates one after the other never do.
 */
const createServiceAccountSecret: Handler = async (context) => {
  const found = account(context);
  if (isOutcome(found)) return found;
  const { behaviour, scope, store } = context;
  const hours = behaviour.secretHours(
    (context.body as { secretExpiresAfterHours: unknown }).secretExpiresAfterHours,
    scope.org,
  );
  if (typeof hours !== 'number') return { error: hours };
  if (found.createInFlight) {
    return {
      error: apiError(
        409,
        'DATA_CONCURRENCY_ERROR',
        'A concurrent request modified this service account. Retry the request.',
      ),
    };
  }
  if (found.secrets.length >= MAX_SECRETS_PER_SERVICE_ACCOUNT) {
    return {
      error: apiError(
        400,
        'SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED',
        `Service account ${found.clientId} already has the maximum of ${MAX_SECRETS_PER_SERVICE_ACCOUNT} secrets; expired secrets count until deleted.`,
      ),
    };
  }
  found.createInFlight = true;
  try {
    await context.request.work();
    if (context.createSecretProcessingMs > 0) {
      await sleep(context.createSecretProcessingMs, undefined, { signal: context.signal });
    }
    const secret = store.createSecret(found, hours);
    return { status: 201, payload: behaviour.createdSecretView(secret) };
  } finally {
    found.createInFlight = false;
  }
};

const deleteServiceAccountSecret: Handler = async (context) => {
  const found = account(context);
  if (isOutcome(found)) return found;
  const secretId = context.params.secretId ?? '';
  if (!found.secrets.some((s) => s.id === secretId)) return notFound(`secret ${secretId}`);
  await context.request.work();
  // Kills every token the secret minted, possibly the caller's own (facts sheet §2.3).
  context.store.deleteSecret(found, secretId);
  return { status: 204 };
};

const getServiceAccountGroups: Handler = async (context) => {
  const found = account(context);
  if (isOutcome(found)) return found;
  await context.request.work();
  const groups = [...found.projectRoles.entries()].map(([groupId, roles]) => ({
    groupId,
    roles: [...roles],
  }));
  return page(context, groups, (g) => g);
};

/** Assigns roles in the project to an account of the parent org (replacing any it had there). */
const inviteServiceAccount: Handler = async (context) => {
  const project = context.scope.project;
  const clientId = context.params.clientId ?? '';
  const found = context.scope.org.serviceAccounts.get(clientId);
  if (project === null || found === undefined) return notFound(`service account ${clientId}`);
  await context.request.work();
  found.projectRoles.set(project.projectId, [...(context.body as { roles: string[] }).roles]);
  return { status: 200, payload: accountView(context.scope, found) };
};

const getSettings: Handler = async (context) => {
  await context.request.work();
  return { status: 200, payload: settingsView(context.scope.org.settings) };
};

/** Replaces the settings the body names; the others stay. */
const updateSettings: Handler = async (context) => {
  await context.request.work();
  const known = Object.keys(SCHEMAS.OrganizationSettings?.properties ?? {});
  const changes = Object.entries(context.body as Record<string, unknown>).filter(([k]) => known.includes(k));
  Object.assign(context.scope.org.settings, Object.fromEntries(changes) as Partial<OrgSettings>);
  return { status: 200, payload: settingsView(context.scope.org.settings) };
};

/** Keyed by the operationId without its level (`listOrgServiceAccounts` -> `listServiceAccounts`). */
export const HANDLERS: Readonly<Record<string, Handler>> = {
  listServiceAccounts,
  createServiceAccount,
  getServiceAccount,
  updateServiceAccount,
  deleteServiceAccount,
  listServiceAccountAccessList,
  createServiceAccountAccessList,
  deleteServiceAccountAccessListEntry,
  createServiceAccountSecret,
  deleteServiceAccountSecret,
  getServiceAccountGroups,
  inviteServiceAccount,
  getSettings,
  updateSettings,
};

/** `cm.createOrgServiceAccountSecret` and `createGroupServiceAccountSecret` are both `createServiceAccountSecret`. */
export function handlerName(operationId: string): string {
  const bare = operationId.replace(/^cm\./, '');
  const match = /^([a-z]+)(?:Org|Group)(.*)$/.exec(bare);
  return match === null ? bare : `${match[1] ?? ''}${match[2] ?? ''}`;
}
