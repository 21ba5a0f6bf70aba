import { timingSafeEqual } from 'node:crypto';
import {
  newAccessToken,
  newClientId,
  newObjectId,
  newPrivateKey,
  newPublicKey,
  newSecretValue,
  OBJECT_ID,
} from './identifiers.js';

/** Facts sheet §2.5: "Secrets per MongoDB Atlas service account: 2". Expired secrets still count. */
export const MAX_SECRETS_PER_SERVICE_ACCOUNT = 2;
/** Facts sheet §2.5 / §4.3: 100 active tokens per service account. */
export const MAX_ACTIVE_TOKENS_PER_SERVICE_ACCOUNT = 100;
/** Facts sheet §2.1: the documented practical range is 8 h .. 365 d; the org setting caps it (min 8, max 8760). */
export const MIN_SECRET_VALIDITY_HOURS = 8;
export const DEFAULT_MAX_SECRET_VALIDITY_HOURS = 8760;
/** Facts sheet §2.5: a new secret cuts every other secret of the SA to at most 7 days from its creation. */
const OVERLAP_CAP_MS = 7 * 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

export interface SecretRecord {
  readonly id: string;
  readonly value: string;
  readonly createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
}

/**
 * Who a request acts as, once authenticated: a service account (bearer token) or a programmatic API key
 * (HTTP Digest). Both belong to one org, hold org roles there, and may hold project roles per project.
 */
export interface Principal {
  readonly orgId: string;
  /** Org roles, e.g. ORG_OWNER, ORG_MEMBER. */
  roles: readonly string[];
  /** Project roles by projectId, e.g. GROUP_OWNER, GROUP_READ_ONLY. */
  readonly projectRoles: Map<string, readonly string[]>;
  /** The API access list the credential may be used from (facts sheet §5); empty: any address, unless the org requires one. */
  readonly accessList: AccessListEntry[];
}

/** One access-list entry: an address or a CIDR block (never both), and how it was last used. */
export interface AccessListEntry {
  readonly ipAddress: string | null;
  readonly cidrBlock: string | null;
  readonly createdAt: Date;
  lastUsedAddress: string | null;
  lastUsedAt: Date | null;
  requestCount: number;
}

/** The org settings the simulator keeps (the spec's OrganizationSettings); PATCH replaces what it names. */
export interface OrgSettings {
  apiAccessListRequired: boolean;
  genAIFeaturesEnabled: boolean;
  maxServiceAccountSecretValidityInHours: number;
  multiFactorAuthRequired: boolean;
  restrictEmployeeAccess: boolean;
  streamsCrossGroupEnabled: boolean;
  securityContact?: string;
  operationsContact?: string | null;
  customSessionTimeouts?: { absoluteSessionTimeoutInSeconds?: number; idleSessionTimeoutInSeconds?: number };
}

export interface ServiceAccountRecord extends Principal {
  readonly clientId: string;
  /** The project a project-level service account was created in; null for an org-level one. */
  readonly projectId: string | null;
  name: string;
  description: string;
  readonly createdAt: Date;
  readonly secrets: SecretRecord[];
  /** Set while a create-secret request holds the SA; a second one meanwhile gets 409 (facts sheet §2.5). */
  createInFlight: boolean;
}

export interface OrgRecord {
  readonly orgId: string;
  readonly settings: OrgSettings;
  /** Every service account of the org, org-level and project-level alike (a project SA is an org member). */
  readonly serviceAccounts: Map<string, ServiceAccountRecord>;
}

export interface ProjectRecord {
  readonly projectId: string;
  readonly orgId: string;
}

/** A programmatic API key: authenticates with HTTP Digest only, never mints OAuth tokens. */
export interface ApiKeyRecord extends Principal {
  readonly publicKey: string;
  readonly privateKey: string;
}

interface TokenRecord {
  readonly clientId: string;
  readonly secretId: string;
  readonly expiresAt: Date;
}

export interface AccessListInput {
  readonly ipAddress?: string | null;
  readonly cidrBlock?: string | null;
}

export interface Caller {
  readonly account: ServiceAccountRecord;
  readonly secretId: string;
}

export type MintResult =
  | { readonly ok: true; readonly accessToken: string; readonly expiresIn: number }
  | { readonly ok: false; readonly retryAfterSeconds: number };

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Seeding an org: its id (generated when absent) and settings. */
export interface OrgSeed {
  readonly orgId?: string;
  readonly maxServiceAccountSecretValidityInHours?: number;
  readonly apiAccessListRequired?: boolean;
}

/** The simulator's in-memory Atlas: orgs, service accounts, secrets and the tokens they minted. */
export class SimulatorStore {
  readonly #now: () => Date;
  readonly #tokenTtlSeconds: number;
  readonly #orgs = new Map<string, OrgRecord>();
  readonly #projects = new Map<string, ProjectRecord>();
  readonly #apiKeys = new Map<string, ApiKeyRecord>();
  readonly #accountsByClientId = new Map<string, ServiceAccountRecord>();
  readonly #tokens = new Map<string, TokenRecord>();

  constructor(now: () => Date, tokenTtlSeconds: number) {
    this.#now = now;
    this.#tokenTtlSeconds = tokenTtlSeconds;
  }

  /** Timestamps are kept to whole seconds, as Atlas renders them. */
  timestamp(): Date {
    return wholeSeconds(this.#now());
  }

  isExpired(secret: SecretRecord): boolean {
    return secret.expiresAt.getTime() <= this.#now().getTime();
  }

  createOrg(options: OrgSeed = {}): OrgRecord {
    const orgId = options.orgId ?? newObjectId();
    if (!OBJECT_ID.test(orgId)) throw new Error(`orgId must be 24 lower-case hex digits: ${orgId}`);
    if (this.#orgs.has(orgId) || this.#projects.has(orgId)) throw new Error(`org ${orgId} already exists`);
    const max = options.maxServiceAccountSecretValidityInHours ?? DEFAULT_MAX_SECRET_VALIDITY_HOURS;
    if (
      !Number.isInteger(max) ||
      max < MIN_SECRET_VALIDITY_HOURS ||
      max > DEFAULT_MAX_SECRET_VALIDITY_HOURS
    ) {
      throw new Error(`maxServiceAccountSecretValidityInHours must be an integer in 8..8760: ${max}`);
    }
    const settings: OrgSettings = {
      apiAccessListRequired: options.apiAccessListRequired ?? false,
      genAIFeaturesEnabled: true,
      maxServiceAccountSecretValidityInHours: max,
      multiFactorAuthRequired: false,
      restrictEmployeeAccess: false,
      streamsCrossGroupEnabled: false,
    };
    const org: OrgRecord = { orgId, settings, serviceAccounts: new Map() };
    this.#orgs.set(orgId, org);
    return org;
  }

  org(orgId: string): OrgRecord | undefined {
    return this.#orgs.get(orgId);
  }

  /** The projects of an org, in creation order. */
  projectsOf(orgId: string): ProjectRecord[] {
    return [...this.#projects.values()].filter((p) => p.orgId === orgId);
  }

  serviceAccount(orgId: string, clientId: string): ServiceAccountRecord | undefined {
    return this.#orgs.get(orgId)?.serviceAccounts.get(clientId);
  }

  createProject(orgId: string, options: { projectId?: string } = {}): ProjectRecord {
    this.#requireOrg(orgId);
    const projectId = options.projectId ?? newObjectId();
    if (!OBJECT_ID.test(projectId))
      throw new Error(`projectId must be 24 lower-case hex digits: ${projectId}`);
    if (this.#projects.has(projectId) || this.#orgs.has(projectId)) {
      throw new Error(`project ${projectId} already exists`);
    }
    const project: ProjectRecord = { projectId, orgId };
    this.#projects.set(projectId, project);
    return project;
  }

  project(projectId: string): ProjectRecord | undefined {
    return this.#projects.get(projectId);
  }

  /** The service accounts that hold a role in the project (the project's members), in creation order. */
  projectServiceAccounts(project: ProjectRecord): ServiceAccountRecord[] {
    const org = this.#requireOrg(project.orgId);
    return [...org.serviceAccounts.values()].filter((a) => a.projectRoles.has(project.projectId));
  }

  /**
   * Seeding: bypasses the request validation of the real create-SA endpoint, but creates the first secret like it.
   * With `projectId` the account is project-level: org role ORG_MEMBER (the spec: "automatically added as an
   * Organization Member") and `projectRoles` (default GROUP_OWNER, so that it can rotate itself) in that project.
   */
  createServiceAccount(
    orgId: string,
    options: {
      name?: string;
      description?: string;
      roles?: readonly string[];
      projectId?: string;
      projectRoles?: readonly string[];
      secretExpiresAfterHours?: number;
      accessList?: readonly AccessListInput[];
    } = {},
  ): { account: ServiceAccountRecord; secret: SecretRecord } {
    const org = this.#requireOrg(orgId);
    const projectId = options.projectId ?? null;
    if (projectId !== null) this.#requireProjectOf(orgId, projectId);
    if (projectId === null && options.projectRoles !== undefined) {
      throw new Error('projectRoles need a projectId');
    }
    const createdAt = this.timestamp();
    const account: ServiceAccountRecord = {
      clientId: newClientId(),
      orgId,
      projectId,
      name: options.name ?? 'rotated-service-account',
      description: options.description ?? 'Seeded by the Atlas simulator',
      roles: [...(options.roles ?? (projectId === null ? ['ORG_OWNER'] : ['ORG_MEMBER']))],
      projectRoles: new Map(
        projectId === null ? [] : [[projectId, [...(options.projectRoles ?? ['GROUP_OWNER'])]]],
      ),
      createdAt,
      secrets: [],
      accessList: [],
      createInFlight: false,
    };
    this.addAccessListEntries(account, options.accessList ?? []);
    const hours = options.secretExpiresAfterHours ?? org.settings.maxServiceAccountSecretValidityInHours;
    const secret = this.#newSecret(createdAt, new Date(createdAt.getTime() + hours * HOUR_MS));
    account.secrets.push(secret);
    org.serviceAccounts.set(account.clientId, account);
    this.#accountsByClientId.set(account.clientId, account);
    return { account, secret };
  }

  /** Seeding: no two-secret limit, no 7-day shortening of the others. */
  addSecret(
    orgId: string,
    clientId: string,
    options: { createdAt?: Date; expiresAt?: Date } = {},
  ): SecretRecord {
    const org = this.#requireOrg(orgId);
    const account = org.serviceAccounts.get(clientId);
    if (account === undefined) throw new Error(`service account ${clientId} not found in org ${orgId}`);
    const createdAt = wholeSeconds(options.createdAt ?? this.#now());
    const expiresAt = wholeSeconds(
      options.expiresAt ??
        new Date(createdAt.getTime() + org.settings.maxServiceAccountSecretValidityInHours * HOUR_MS),
    );
    const secret = this.#newSecret(createdAt, expiresAt);
    account.secrets.push(secret);
    return secret;
  }

  /**
   * Seeding: a programmatic API key of the org. Without `projectId`, `roles` are org roles (default ORG_OWNER);
   * with it, `roles` are project roles in that project (default GROUP_OWNER) and the key is an ORG_MEMBER.
   */
  createApiKey(
    orgId: string,
    options: { roles?: readonly string[]; projectId?: string; accessList?: readonly AccessListInput[] } = {},
  ): ApiKeyRecord {
    this.#requireOrg(orgId);
    let publicKey = newPublicKey();
    while (this.#apiKeys.has(publicKey)) publicKey = newPublicKey();
    const projectId = options.projectId;
    if (projectId !== undefined) this.#requireProjectOf(orgId, projectId);
    const key: ApiKeyRecord =
      projectId === undefined
        ? {
            publicKey,
            privateKey: newPrivateKey(),
            orgId,
            roles: [...(options.roles ?? ['ORG_OWNER'])],
            projectRoles: new Map(),
            accessList: [],
          }
        : {
            publicKey,
            privateKey: newPrivateKey(),
            orgId,
            roles: ['ORG_MEMBER'],
            projectRoles: new Map([[projectId, [...(options.roles ?? ['GROUP_OWNER'])]]]),
            accessList: [],
          };
    this.addAccessListEntries(key, options.accessList ?? []);
    this.#apiKeys.set(publicKey, key);
    return key;
  }

  apiKey(publicKey: string): ApiKeyRecord | undefined {
    return this.#apiKeys.get(publicKey);
  }

  /** A live (unexpired) secret of the named SA whose value matches, or undefined. */
  authenticateClient(clientId: string, secretValue: string): Caller | undefined {
    const account = this.#accountsByClientId.get(clientId);
    const secret = account?.secrets.find((s) => sameSecret(s.value, secretValue));
    if (account === undefined || secret === undefined || this.isExpired(secret)) return undefined;
    return { account, secretId: secret.id };
  }

  /**
   * Mints a token bound to the secret that authenticated. lastUsedAt is stamped here: minting is the only
   * place a secret value is presented (undocumented; chosen for the simulator).
   */
  mintToken(caller: Caller): MintResult {
    this.#pruneDeadTokens();
    const now = this.#now().getTime();
    const active = [...this.#tokens.values()].filter((t) => t.clientId === caller.account.clientId);
    if (active.length >= MAX_ACTIVE_TOKENS_PER_SERVICE_ACCOUNT) {
      const soonest = Math.min(...active.map((t) => t.expiresAt.getTime()));
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((soonest - now) / 1000)) };
    }
    const accessToken = newAccessToken();
    this.#tokens.set(accessToken, {
      clientId: caller.account.clientId,
      secretId: caller.secretId,
      expiresAt: new Date(now + this.#tokenTtlSeconds * 1000),
    });
    const secret = caller.account.secrets.find((s) => s.id === caller.secretId);
    if (secret !== undefined) secret.lastUsedAt = this.timestamp();
    return { ok: true, accessToken, expiresIn: this.#tokenTtlSeconds };
  }

  /** RFC 7009 semantics: revoking an unknown token, or another client's token, is a silent no-op. */
  revokeToken(caller: Caller, accessToken: string): void {
    if (this.#tokens.get(accessToken)?.clientId === caller.account.clientId) this.#tokens.delete(accessToken);
  }

  /** The caller a bearer token stands for, if the token is alive: unexpired, unrevoked, its secret present and unexpired. */
  resolveToken(accessToken: string): Caller | undefined {
    const token = this.#tokens.get(accessToken);
    if (token === undefined || !this.#isAlive(token)) return undefined;
    const account = this.#accountsByClientId.get(token.clientId);
    return account === undefined ? undefined : { account, secretId: token.secretId };
  }

  /** clientId of a known token, dead or alive (for the request log only). */
  tokenClientId(accessToken: string): string | undefined {
    return this.#tokens.get(accessToken)?.clientId;
  }

  /** Creates a secret and shortens every other secret of the SA to min(its expiry, now + 7 days) (facts sheet §2.5). */
  createSecret(account: ServiceAccountRecord, expiresAfterHours: number): SecretRecord {
    const createdAt = this.timestamp();
    const cap = createdAt.getTime() + OVERLAP_CAP_MS;
    for (const other of account.secrets) {
      if (other.expiresAt.getTime() > cap) other.expiresAt = new Date(cap);
    }
    const secret = this.#newSecret(createdAt, new Date(createdAt.getTime() + expiresAfterHours * HOUR_MS));
    account.secrets.push(secret);
    return secret;
  }

  /** Deletes a secret and every token it minted (facts sheet §2.3). False when the secret does not exist. */
  deleteSecret(account: ServiceAccountRecord, secretId: string): boolean {
    const index = account.secrets.findIndex((s) => s.id === secretId);
    if (index < 0) return false;
    account.secrets.splice(index, 1);
    for (const [value, token] of this.#tokens) {
      if (token.clientId === account.clientId && token.secretId === secretId) this.#tokens.delete(value);
    }
    return true;
  }

  /**
   * Removes a service account from its org: its secrets and every token they minted die with it. A project-level
   * delete is {@link removeFromProject} instead (the spec: the account stays in the org).
   */
  deleteServiceAccount(account: ServiceAccountRecord): void {
    this.#orgs.get(account.orgId)?.serviceAccounts.delete(account.clientId);
    this.#accountsByClientId.delete(account.clientId);
    for (const [value, token] of this.#tokens) {
      if (token.clientId === account.clientId) this.#tokens.delete(value);
    }
  }

  removeFromProject(account: ServiceAccountRecord, projectId: string): void {
    account.projectRoles.delete(projectId);
  }

  /** Seeding and the API alike: entries already on the list (same address or block) are left as they are. */
  addAccessListEntries(principal: Principal, entries: readonly AccessListInput[]): void {
    for (const entry of entries) {
      const ipAddress = entry.ipAddress ?? null;
      const cidrBlock = entry.cidrBlock?.replace(/%2f/i, '/') ?? null;
      if ((ipAddress === null) === (cidrBlock === null)) {
        throw new Error('an access-list entry has exactly one of ipAddress and cidrBlock');
      }
      const known = principal.accessList.some(
        (e) =>
          (ipAddress !== null && e.ipAddress === ipAddress) ||
          (cidrBlock !== null && e.cidrBlock === cidrBlock),
      );
      if (known) continue;
      principal.accessList.push({
        ipAddress,
        cidrBlock,
        createdAt: this.timestamp(),
        lastUsedAddress: null,
        lastUsedAt: null,
        requestCount: 0,
      });
    }
  }

  #isAlive(token: TokenRecord): boolean {
    if (token.expiresAt.getTime() <= this.#now().getTime()) return false;
    const secret = this.#accountsByClientId.get(token.clientId)?.secrets.find((s) => s.id === token.secretId);
    return secret !== undefined && !this.isExpired(secret);
  }

  #pruneDeadTokens(): void {
    for (const [value, token] of this.#tokens) {
      if (!this.#isAlive(token)) this.#tokens.delete(value);
    }
  }

  #requireProjectOf(orgId: string, projectId: string): ProjectRecord {
    const project = this.#projects.get(projectId);
    if (project === undefined) throw new Error(`project ${projectId} not found`);
    if (project.orgId !== orgId)
      throw new Error(`project ${projectId} belongs to org ${project.orgId}, not ${orgId}`);
    return project;
  }

  #requireOrg(orgId: string): OrgRecord {
    const org = this.#orgs.get(orgId);
    if (org === undefined) throw new Error(`org ${orgId} not found`);
    return org;
  }

  #newSecret(createdAt: Date, expiresAt: Date): SecretRecord {
    return { id: newObjectId(), value: newSecretValue(), createdAt, expiresAt, lastUsedAt: null };
  }
}
