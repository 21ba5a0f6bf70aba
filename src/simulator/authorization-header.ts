export type AuthScheme = 'bearer' | 'basic' | 'digest' | 'none';

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export type Authorization =
  | { readonly scheme: 'bearer'; readonly token: string }
  /** credentials is undefined when the Basic value does not decode to `id:secret`. */
  | { readonly scheme: 'basic'; readonly credentials: ClientCredentials | undefined }
  /** params is the auth-param list of RFC 7616 §3.4 (names lower-cased, quoted values unescaped). */
  | { readonly scheme: 'digest'; readonly params: ReadonlyMap<string, string> }
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

const AUTH_PARAM = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;

/** RFC 7616 §3.4 / RFC 7235 §2.1 auth-params; a malformed list yields what parsed before the fault. */
function parseAuthParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  AUTH_PARAM.lastIndex = 0;
  for (let match = AUTH_PARAM.exec(value); match !== null; match = AUTH_PARAM.exec(value)) {
    const [, name = '', quoted, token] = match;
    params.set(name.toLowerCase(), quoted === undefined ? (token ?? '') : quoted.replace(/\\(.)/g, '$1'));
    if (AUTH_PARAM.lastIndex >= value.length) break;
  }
  return params;
}

export function parseAuthorization(header: string | undefined): Authorization {
  const match = /^(\S+)\s+(.*)$/.exec(header?.trim() ?? '');
  const scheme = match?.[1]?.toLowerCase();
  const value = match?.[2]?.trim() ?? '';
  if (scheme === 'bearer' && value !== '') return { scheme: 'bearer', token: value };
  if (scheme === 'basic') return { scheme: 'basic', credentials: decodeBasic(value) };
  if (scheme === 'digest') return { scheme: 'digest', params: parseAuthParams(value) };
  return { scheme: 'none' };
}
