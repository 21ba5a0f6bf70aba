import { InvalidInputError } from './errors.js';

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type ClientId = Brand<string, 'ClientId'>;
export type OrgId = Brand<string, 'OrgId'>;
/** An Atlas project (group) id. */
export type ProjectId = Brand<string, 'ProjectId'>;
export type AtlasSecretId = Brand<string, 'AtlasSecretId'>;
/** A rotation's token: the VersionId of the new Secrets Manager version (32–58 characters, so that `claim-` + token is a VersionId). */
export type RotationToken = Brand<string, 'RotationToken'>;
/** Atlas resource version date, sent as `Accept: application/vnd.atlas.{date}+json`. */
export type ApiVersion = Brand<string, 'ApiVersion'>;

const CLIENT_ID = /^mdb_sa_id_[0-9a-fA-F]{24}$/;
const HEX24 = /^[0-9a-f]{24}$/;
const TOKEN = /^[A-Za-z0-9-]{32,58}$/;
const API_VERSION = /^\d{4}-\d{2}-\d{2}$/;

export const DEFAULT_API_VERSION = '2025-03-12' as ApiVersion;

export function parseClientId(raw: unknown, field = 'clientId'): ClientId {
  if (typeof raw !== 'string' || !CLIENT_ID.test(raw)) {
    throw new InvalidInputError(field, 'must be "mdb_sa_id_" followed by 24 hexadecimal characters');
  }
  return raw as ClientId;
}

export function parseOrgId(raw: unknown, field = 'orgId'): OrgId {
  if (typeof raw !== 'string' || !HEX24.test(raw)) {
    throw new InvalidInputError(field, 'must be 24 lower-case hexadecimal characters');
  }
  return raw as OrgId;
}

export function parseProjectId(raw: unknown, field = 'projectId'): ProjectId {
  if (typeof raw !== 'string' || !HEX24.test(raw)) {
    throw new InvalidInputError(field, 'must be 24 lower-case hexadecimal characters');
  }
  return raw as ProjectId;
}

export function isAtlasSecretId(raw: unknown): raw is AtlasSecretId {
  return typeof raw === 'string' && HEX24.test(raw);
}

export function parseAtlasSecretId(raw: unknown, field = 'atlasSecretId'): AtlasSecretId {
  if (!isAtlasSecretId(raw)) {
    throw new InvalidInputError(field, 'must be 24 lower-case hexadecimal characters');
  }
  return raw;
}

/** Whether `raw` already has a rotation token's (VersionId's) shape, as a UUID does. */
export function isRotationToken(raw: unknown): raw is RotationToken {
  return typeof raw === 'string' && TOKEN.test(raw);
}

export function parseRotationToken(raw: unknown, field = 'rotationToken'): RotationToken {
  if (!isRotationToken(raw)) {
    throw new InvalidInputError(field, 'must be 32 to 58 letters, digits or hyphens');
  }
  return raw;
}

export function parseApiVersion(raw: unknown, field = 'apiVersion'): ApiVersion {
  if (typeof raw !== 'string' || !API_VERSION.test(raw) || Number.isNaN(Date.parse(`${raw}T00:00:00Z`))) {
    throw new InvalidInputError(field, 'must be a date in the form yyyy-mm-dd');
  }
  return raw as ApiVersion;
}
