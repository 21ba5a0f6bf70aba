import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/** 24 lower-case hex digits, the shape of Atlas org, project and secret ids (facts sheet §2.8). */
export function newObjectId(): string {
  return randomBytes(12).toString('hex');
}

export const OBJECT_ID = /^[a-f0-9]{24}$/;
export const CLIENT_ID = /^mdb_sa_id_[a-fA-F\d]{24}$/;

export function newClientId(): string {
  return `mdb_sa_id_${newObjectId()}`;
}

/**
 * `mdb_sa_sk_` + 40 characters of [A-Za-z0-9_-] (facts sheet §2.2: MongoDB documents only the prefix;
 * secret scanners match this length, so the simulator produces exactly that).
 */
export function newSecretValue(): string {
  return `mdb_sa_sk_${randomBytes(30).toString('base64url')}`;
}

/** Undocumented by MongoDB beyond the `mdb_sa_sk_...` example: the simulator shows the prefix and the last 4 characters. */
export function maskSecretValue(secret: string): string {
  return `mdb_sa_sk_...${secret.slice(-4)}`;
}

/** Opaque bearer token. Real Atlas tokens are JWTs; nothing in the API contract lets a client rely on that. */
export function newAccessToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A programmatic API key's public half: 8 lower-case letters, as Atlas shows them. */
export function newPublicKey(): string {
  return Array.from({ length: 8 }, () => String.fromCharCode(97 + randomInt(26))).join('');
}

/** A programmatic API key's private half: a UUID, as Atlas shows them. */
export function newPrivateKey(): string {
  return randomUUID();
}
