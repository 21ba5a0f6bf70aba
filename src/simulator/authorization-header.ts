export type AuthScheme = 'bearer' | 'basic' | 'digest' | 'none';

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export type Authorization =
  | { readonly scheme: 'bearer'; readonly token: string }
  /** credentials is undefined when the Basic value does not decode to `id:secret`. */
  | { readonly scheme: 'basic'; readonly credentials: ClientCredentials | undefined }
  | { readonly scheme: 'digest' }
  | { readonly scheme: 'none' };

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

function decodeBasic(encoded: string): ClientCredentials | undefined {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  return clientId === undefined || clientSecret === undefined ? undefined : { clientId, clientSecret };
}

export function parseAuthorization(header: string | undefined): Authorization {
  const match = /^(\S+)\s+(.*)$/.exec(header?.trim() ?? '');
  const scheme = match?.[1]?.toLowerCase();
  const value = match?.[2]?.trim() ?? '';
  if (scheme === 'bearer' && value !== '') return { scheme: 'bearer', token: value };
  if (scheme === 'basic') return { scheme: 'basic', credentials: decodeBasic(value) };
  if (scheme === 'digest') return { scheme: 'digest' };
  return { scheme: 'none' };
}
