import type { FaultRule } from './fault-rule.js';
import { emptyResult, type HttpResult, jsonResult } from './http-result.js';
import type { RequestLogEntry } from './request-log-entry.js';

export const CONTROL_PREFIX = '/__simulator/';

export interface ServiceAccountSnapshot {
  readonly clientId: string;
  readonly secrets: readonly {
    readonly id: string;
    readonly createdAt: string;
    readonly expiresAt: string;
    readonly lastUsedAt: string | null;
  }[];
}

export interface AccessListSnapshot {
  readonly ipAddress: string | null;
  readonly cidrBlock: string | null;
  readonly createdAt: string;
  readonly lastUsedAddress: string | null;
  readonly lastUsedAt: string | null;
  readonly requestCount: number;
}

interface AccessListInput {
  readonly ipAddress?: string | null;
  readonly cidrBlock?: string | null;
}

/** The run-time settings of the simulator (AtlasSimulatorOptions' SimulatorSettings). */
export interface ControlSettings {
  tokenRateLimit?: { requests: number; perMinutes: number } | null;
  adminApiRateLimit?: { capacity: number; refillRate: number; refillDurationSeconds: number } | null;
  createSecretProcessingMs?: number;
  trustClientIpHeader?: boolean;
}

export interface ApiKeyCredentials {
  readonly publicKey: string;
  readonly privateKey: string;
}

/** What the HTTP control surface drives: the same operations AtlasSimulator offers in-process. */
export interface SimulatorControl {
  createOrg(options?: {
    orgId?: string;
    maxServiceAccountSecretValidityInHours?: number;
    apiAccessListRequired?: boolean;
  }): { orgId: string };
  updateOrgSettings(
    orgId: string,
    settings: { apiAccessListRequired?: boolean; maxServiceAccountSecretValidityInHours?: number },
  ): void;
  configure(settings: ControlSettings): void;
  readonly settings: Readonly<Required<ControlSettings>>;
  addAccessListEntries(orgId: string, clientId: string, entries: AccessListInput[]): void;
  accessList(orgId: string, clientId: string): AccessListSnapshot[] | undefined;
  setRoles(
    orgId: string,
    clientId: string,
    roles: { roles?: string[]; projectRoles?: Record<string, string[]> },
  ): void;
  createProject(orgId: string, options?: { projectId?: string }): { projectId: string };
  createServiceAccount(
    orgId: string,
    options?: {
      name?: string;
      roles?: string[];
      projectId?: string;
      projectRoles?: string[];
      secretExpiresAfterHours?: number;
      accessList?: AccessListInput[];
    },
  ): { clientId: string; secretId: string; secret: string };
  createApiKey(
    orgId: string,
    options?: { roles?: string[]; projectId?: string; accessList?: AccessListInput[] },
  ): ApiKeyCredentials;
  addSecret(
    orgId: string,
    clientId: string,
    options?: { createdAt?: Date; expiresAt?: Date },
  ): { id: string; secret: string };
  serviceAccount(orgId: string, clientId: string): ServiceAccountSnapshot | undefined;
  projectServiceAccount(projectId: string, clientId: string): ServiceAccountSnapshot | undefined;
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
  readonly requests: readonly RequestLogEntry[];
  clearRequests(): void;
}

type Json = Record<string, unknown>;

function parseObject(body: string): Json {
  if (body.trim() === '') return {};
  const parsed: unknown = JSON.parse(body);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('body must be a JSON object');
  return parsed as Json;
}

function optional<T>(value: unknown, kind: 'string' | 'number', name: string): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== kind) throw new Error(`${name} must be a ${kind}`);
  return value as T;
}

function optionalStrings(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!(Array.isArray(value) && value.every((r) => typeof r === 'string'))) {
    throw new Error(`${name} must be an array of strings`);
  }
  return value as string[];
}

function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new Error(`${name} must be a boolean`);
  return value;
}

function accessListFrom(value: unknown, name: string): AccessListInput[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new Error(`${name} must be an array of {ipAddress} or {cidrBlock}`);
  return value.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) throw new Error(`${name} entries must be objects`);
    const { ipAddress, cidrBlock } = entry as Json;
    return withoutUndefined({
      ipAddress: optional<string>(ipAddress, 'string', 'ipAddress'),
      cidrBlock: optional<string>(cidrBlock, 'string', 'cidrBlock'),
    });
  });
}

function parseArray(body: string): unknown[] {
  const parsed: unknown = JSON.parse(body);
  if (!Array.isArray(parsed)) throw new Error('body must be a JSON array');
  return parsed;
}

/** `null` switches a limit off; an object sets it; absent leaves it. */
function optionalLimit<T>(value: unknown, name: string, keys: readonly string[]): T | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${name} must be an object or null`);
  for (const key of keys) {
    if (typeof (value as Json)[key] !== 'number') throw new Error(`${name}.${key} must be a number`);
  }
  return value as T;
}

function snapshotResult(snapshot: ServiceAccountSnapshot | undefined, missing: string): HttpResult {
  return snapshot === undefined ? jsonResult(404, { message: missing }) : jsonResult(200, snapshot);
}

function optionalDate(value: unknown, name: string): Date | undefined {
  const text = optional<string>(value, 'string', name);
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`${name} must be an ISO 8601 date`);
  return date;
}

/** JSON has no Infinity: `"times": "Infinity"` (or -1) stands for it over HTTP. */
function faultRuleFrom(json: Json): FaultRule {
  const { times, ...rest } = json;
  const rule = rest as FaultRule;
  if (times === 'Infinity' || times === -1) return { ...rule, times: Number.POSITIVE_INFINITY };
  return times === undefined || times === null ? rule : { ...rule, times: times as number };
}

type Defined<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

function withoutUndefined<T extends object>(value: T): Defined<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Defined<T>;
}

type ControlRoute = readonly [
  method: string,
  pattern: RegExp,
  run: (params: readonly string[], body: string, control: SimulatorControl) => HttpResult,
];

const SEGMENT = '([^/]+)';
const ROUTES: readonly ControlRoute[] = [
  [
    'POST',
    /^faults$/,
    (_params, body, control) => {
      control.injectFault(faultRuleFrom(parseObject(body)));
      return emptyResult(204);
    },
  ],
  [
    'DELETE',
    /^faults$/,
    (_params, _body, control) => {
      control.clearFaults();
      return emptyResult(204);
    },
  ],
  ['GET', /^requests$/, (_params, _body, control) => jsonResult(200, control.requests)],
  [
    'DELETE',
    /^requests$/,
    (_params, _body, control) => {
      control.clearRequests();
      return emptyResult(204);
    },
  ],
  [
    'POST',
    /^orgs$/,
    (_params, body, control) => {
      const json = parseObject(body);
      const options = withoutUndefined({
        orgId: optional<string>(json.orgId, 'string', 'orgId'),
        maxServiceAccountSecretValidityInHours: optional<number>(
          json.maxServiceAccountSecretValidityInHours,
          'number',
          'maxServiceAccountSecretValidityInHours',
        ),
        apiAccessListRequired: optionalBoolean(json.apiAccessListRequired, 'apiAccessListRequired'),
      });
      return jsonResult(201, control.createOrg(options));
    },
  ],
  [
    'PATCH',
    new RegExp(`^orgs/${SEGMENT}/settings$`),
    ([orgId = ''], body, control) => {
      const json = parseObject(body);
      control.updateOrgSettings(
        orgId,
        withoutUndefined({
          maxServiceAccountSecretValidityInHours: optional<number>(
            json.maxServiceAccountSecretValidityInHours,
            'number',
            'maxServiceAccountSecretValidityInHours',
          ),
          apiAccessListRequired: optionalBoolean(json.apiAccessListRequired, 'apiAccessListRequired'),
        }),
      );
      return emptyResult(204);
    },
  ],
  ['GET', /^settings$/, (_params, _body, control) => jsonResult(200, control.settings)],
  [
    'PATCH',
    /^settings$/,
    (_params, body, control) => {
      const json = parseObject(body);
      const settings: ControlSettings = {};
      const tokenRateLimit = optionalLimit<{ requests: number; perMinutes: number }>(
        json.tokenRateLimit,
        'tokenRateLimit',
        ['requests', 'perMinutes'],
      );
      if (tokenRateLimit !== undefined) settings.tokenRateLimit = tokenRateLimit;
      const adminApiRateLimit = optionalLimit<{
        capacity: number;
        refillRate: number;
        refillDurationSeconds: number;
      }>(json.adminApiRateLimit, 'adminApiRateLimit', ['capacity', 'refillRate', 'refillDurationSeconds']);
      if (adminApiRateLimit !== undefined) settings.adminApiRateLimit = adminApiRateLimit;
      const ms = optional<number>(json.createSecretProcessingMs, 'number', 'createSecretProcessingMs');
      if (ms !== undefined) settings.createSecretProcessingMs = ms;
      const trust = optionalBoolean(json.trustClientIpHeader, 'trustClientIpHeader');
      if (trust !== undefined) settings.trustClientIpHeader = trust;
      control.configure(settings);
      return jsonResult(200, control.settings);
    },
  ],
  [
    'POST',
    new RegExp(`^orgs/${SEGMENT}/serviceAccounts/${SEGMENT}/accessList$`),
    ([orgId = '', clientId = ''], body, control) => {
      const entries = accessListFrom(parseArray(body), 'body') ?? [];
      control.addAccessListEntries(orgId, clientId, entries);
      return jsonResult(201, control.accessList(orgId, clientId));
    },
  ],
  [
    'GET',
    new RegExp(`^orgs/${SEGMENT}/serviceAccounts/${SEGMENT}/accessList$`),
    ([orgId = '', clientId = ''], _body, control) => {
      const list = control.accessList(orgId, clientId);
      return list === undefined
        ? jsonResult(404, { message: `service account ${clientId} not found in org ${orgId}` })
        : jsonResult(200, list);
    },
  ],
  [
    'PUT',
    new RegExp(`^orgs/${SEGMENT}/serviceAccounts/${SEGMENT}/roles$`),
    ([orgId = '', clientId = ''], body, control) => {
      const json = parseObject(body);
      const projectRoles = json.projectRoles;
      if (
        projectRoles !== undefined &&
        (typeof projectRoles !== 'object' ||
          projectRoles === null ||
          !Object.values(projectRoles).every((r) => optionalStrings(r, 'projectRoles') !== undefined))
      ) {
        throw new Error('projectRoles must map project ids to arrays of strings');
      }
      control.setRoles(
        orgId,
        clientId,
        withoutUndefined({
          roles: optionalStrings(json.roles, 'roles'),
          projectRoles: projectRoles as Record<string, string[]> | undefined,
        }),
      );
      return emptyResult(204);
    },
  ],
  [
    'POST',
    new RegExp(`^orgs/${SEGMENT}/serviceAccounts$`),
    ([orgId = ''], body, control) => {
      const json = parseObject(body);
      const options = withoutUndefined({
        name: optional<string>(json.name, 'string', 'name'),
        roles: optionalStrings(json.roles, 'roles'),
        projectId: optional<string>(json.projectId, 'string', 'projectId'),
        projectRoles: optionalStrings(json.projectRoles, 'projectRoles'),
        secretExpiresAfterHours: optional<number>(
          json.secretExpiresAfterHours,
          'number',
          'secretExpiresAfterHours',
        ),
        accessList: accessListFrom(json.accessList, 'accessList'),
      });
      return jsonResult(201, control.createServiceAccount(orgId, options));
    },
  ],
  [
    'GET',
    new RegExp(`^orgs/${SEGMENT}/serviceAccounts/${SEGMENT}$`),
    ([orgId = '', clientId = ''], _body, control) =>
      snapshotResult(
        control.serviceAccount(orgId, clientId),
        `service account ${clientId} not found in org ${orgId}`,
      ),
  ],
  [
    'POST',
    new RegExp(`^orgs/${SEGMENT}/projects$`),
    ([orgId = ''], body, control) => {
      const json = parseObject(body);
      const options = withoutUndefined({
        projectId: optional<string>(json.projectId, 'string', 'projectId'),
      });
      return jsonResult(201, control.createProject(orgId, options));
    },
  ],
  [
    'POST',
    new RegExp(`^orgs/${SEGMENT}/apiKeys$`),
    ([orgId = ''], body, control) => {
      const json = parseObject(body);
      const options = withoutUndefined({
        roles: optionalStrings(json.roles, 'roles'),
        projectId: optional<string>(json.projectId, 'string', 'projectId'),
        accessList: accessListFrom(json.accessList, 'accessList'),
      });
      return jsonResult(201, control.createApiKey(orgId, options));
    },
  ],
  [
    'GET',
    new RegExp(`^projects/${SEGMENT}/serviceAccounts/${SEGMENT}$`),
    ([projectId = '', clientId = ''], _body, control) =>
      snapshotResult(
        control.projectServiceAccount(projectId, clientId),
        `service account ${clientId} not found in project ${projectId}`,
      ),
  ],
  [
    'POST',
    new RegExp(`^orgs/${SEGMENT}/serviceAccounts/${SEGMENT}/secrets$`),
    ([orgId = '', clientId = ''], body, control) => {
      const json = parseObject(body);
      const options = withoutUndefined({
        createdAt: optionalDate(json.createdAt, 'createdAt'),
        expiresAt: optionalDate(json.expiresAt, 'expiresAt'),
      });
      return jsonResult(201, control.addSecret(orgId, clientId, options));
    },
  ],
];

function route(method: string, path: string, body: string, control: SimulatorControl): HttpResult {
  const subPath = path.slice(CONTROL_PREFIX.length).replace(/\/$/, '');
  for (const [routeMethod, pattern, run] of ROUTES) {
    const match = pattern.exec(subPath);
    if (match !== null && routeMethod === method)
      return run(match.slice(1).map(decodeURIComponent), body, control);
  }
  return jsonResult(404, { message: `no control endpoint ${method} ${path}` });
}

/**
 * The out-of-process control surface (all under `/__simulator/`, JSON both ways; see src/simulator/README.md):
 * - `POST orgs` (`orgId`, `maxServiceAccountSecretValidityInHours`, `apiAccessListRequired`),
 *   `PATCH orgs/{orgId}/settings`, `POST orgs/{orgId}/projects`;
 * - `POST orgs/{orgId}/serviceAccounts` (`roles`, `projectId`/`projectRoles` for a project-level one,
 *   `secretExpiresAfterHours`, `accessList`), `GET orgs/{orgId}/serviceAccounts/{clientId}`,
 *   `GET projects/{projectId}/serviceAccounts/{clientId}`, `PUT orgs/{orgId}/serviceAccounts/{clientId}/roles`,
 *   `POST|GET orgs/{orgId}/serviceAccounts/{clientId}/accessList`, `POST orgs/{orgId}/serviceAccounts/{clientId}/secrets`;
 * - `POST orgs/{orgId}/apiKeys` (`roles`, `projectId`, `accessList`);
 * - `GET|PATCH settings` (rate limits, create window, `trustClientIpHeader`);
 * - `POST|DELETE faults`, `GET|DELETE requests`.
 * Bad input answers 400 `{message}`. These requests bypass faults, rate limits, access lists and the request
 * log, so a test's fault rules and log assertions see only the traffic under test.
 */
export function handleControl(
  method: string,
  path: string,
  body: string,
  control: SimulatorControl,
): HttpResult {
  try {
    return route(method, path, body, control);
  } catch (error) {
    return jsonResult(400, { message: error instanceof Error ? error.message : String(error) });
  }
}
