/** What a simulator endpoint answers; the server decides whether it reaches the wire (see FaultRule.drop). */
export interface HttpResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function jsonResult(
  status: number,
  payload: unknown,
  options: { contentType?: string; pretty?: boolean; headers?: Readonly<Record<string, string>> } = {},
): HttpResult {
  return {
    status,
    headers: { ...options.headers, 'content-type': options.contentType ?? 'application/json' },
    body: options.pretty === true ? `${JSON.stringify(payload, null, 2)}\n` : JSON.stringify(payload),
  };
}

export function emptyResult(status: number, headers: Readonly<Record<string, string>> = {}): HttpResult {
  return { status, headers, body: '' };
}

/** The `pretty` / `envelope` query flags (facts sheet §2, "Query params on every op"): only the literal `true` turns them on. */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  return query.get(name)?.toLowerCase() === 'true';
}
