import type { AtlasTarget } from '../../../application/ports/atlas-service-accounts.js';
import type { AtlasSecretId } from '../../../domain/identifiers.js';

const ADMIN_API_PREFIX = '/api/atlas/v2';
const PUBLIC_API_PREFIX = '/api/public/v1.0';
/** Service-account endpoints exist only in resource version 2024-08-05; the org settings in 2023-01-01. */
const ORG_SETTINGS_API_VERSION = '2023-01-01';
const PLAIN_JSON = 'application/json';

/** One resource: its path (segments encoded) and the media type for `Accept` and `Content-Type`. */
export interface Endpoint {
  readonly path: string;
  readonly mediaType: string;
  /** The resource version asked for (Atlas flavour), named in a 406 message. */
  readonly apiVersion: string | undefined;
}

/** Where a target's service account lives, in the dialect of its API. */
export interface ServiceAccountRoutes {
  /** Names the API in messages: `Atlas` or `Cloud Manager`, with the origin when it is not the default one. */
  readonly service: string;
  /** `org …` or `project … (org …)`, to complete "service account X in …". */
  readonly where: string;
  /** The role that creating and deleting secrets needs there, named in a 403 message. */
  readonly roleNeeded: string;
  /** GET: the service account, with its `secrets[]` (there is no list-secrets endpoint). */
  readonly account: Endpoint;
  /** POST: create a secret. */
  readonly secrets: Endpoint;
  /** DELETE: one secret. */
  secret(secretId: AtlasSecretId): Endpoint;
  /** GET: the org settings; undefined where the API has no such setting (Cloud Manager / Ops Manager). */
  readonly orgSettings: Endpoint | undefined;
  /** The create-secret body. */
  createBody(expiresAfterHours: number): string;
}

function versioned(apiVersion: string): string {
  return `application/vnd.atlas.${apiVersion}+json`;
}

/**
 * Paths and media types per flavour and scope:
 * - `atlas`: Admin API v2, `/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}` or, for a project-level
 *   account, `/api/atlas/v2/groups/{projectId}/serviceAccounts/{clientId}`; versioned `Accept` and
 *   `Content-Type`; `secretExpiresAfterHours` is an integer (the spec's `int32`).
 * - `cloud-manager`: public API v1.0 (Cloud Manager, and Ops Manager at its own origin), the same resources
 *   under `/api/public/v1.0`; plain `application/json`; the create POST ends in `/secrets/` as documented.
 */
export function serviceAccountRoutes(
  target: AtlasTarget,
  origin: string,
  defaultOrigin: string,
): ServiceAccountRoutes {
  const orgId = encodeURIComponent(target.orgId);
  const scopePath =
    target.projectId === undefined ? `/orgs/${orgId}` : `/groups/${encodeURIComponent(target.projectId)}`;
  const where =
    target.projectId === undefined
      ? `org ${target.orgId}`
      : `project ${target.projectId} (org ${target.orgId})`;
  const accountPath = `${scopePath}/serviceAccounts/${encodeURIComponent(target.clientId)}`;
  const at = origin === defaultOrigin ? '' : ` (${origin})`;

  if (target.flavor === 'cloud-manager') {
    const endpoint = (path: string): Endpoint => ({
      path: `${PUBLIC_API_PREFIX}${path}`,
      mediaType: PLAIN_JSON,
      apiVersion: undefined,
    });
    return {
      service: `Cloud Manager${at}`,
      where,
      roleNeeded:
        target.projectId === undefined
          ? 'Organization Owner or Organization User Admin'
          : 'Project Owner or Organization Owner',
      account: endpoint(accountPath),
      secrets: endpoint(`${accountPath}/secrets/`),
      secret: (secretId) => endpoint(`${accountPath}/secrets/${encodeURIComponent(secretId)}`),
      orgSettings: undefined,
      // The Cloud Manager pages type this field as a string and show `"secretExpiresAfterHours": "3600"`, while
      // the Atlas v2 spec says int32. Its backend takes both (so does the simulator); the documented string form
      // is sent so that a strict v1.0 deployment (an older Ops Manager) gets exactly what its docs promise.
      createBody: (hours) => JSON.stringify({ secretExpiresAfterHours: String(hours) }),
    };
  }

  const endpoint = (path: string, apiVersion: string): Endpoint => ({
    path: `${ADMIN_API_PREFIX}${path}`,
    mediaType: versioned(apiVersion),
    apiVersion,
  });
  return {
    service: `Atlas${at}`,
    where,
    roleNeeded: target.projectId === undefined ? 'Organization Owner' : 'Project Owner or Organization Owner',
    account: endpoint(accountPath, target.apiVersion),
    secrets: endpoint(`${accountPath}/secrets`, target.apiVersion),
    secret: (secretId) =>
      endpoint(`${accountPath}/secrets/${encodeURIComponent(secretId)}`, target.apiVersion),
    orgSettings: endpoint(`/orgs/${orgId}/settings`, ORG_SETTINGS_API_VERSION),
    createBody: (hours) => JSON.stringify({ secretExpiresAfterHours: hours }),
  };
}
