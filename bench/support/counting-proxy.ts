import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request as undiciRequest } from 'undici';

/** One request the proxy forwarded: what it was and when it started and ended (epoch ms). Never a body. */
export interface ProxiedCall {
  /** `secretsmanager.PutSecretValue`-style for AWS JSON protocols (X-Amz-Target), else `METHOD /path`. */
  readonly operation: string;
  readonly status: number;
  readonly startedAt: number;
  readonly endedAt: number;
}

/**
 * A loopback reverse proxy in front of an endpoint (LocalStack, the Atlas simulator): it holds every request for
 * `latencyMs` (a modelled WAN round trip) before forwarding it, and records each call with its timestamps, so
 * that cost and critical path are counted from what the endpoint received, whoever sent it.
 */
export class CountingProxy {
  readonly calls: ProxiedCall[] = [];
  readonly #server: Server;
  readonly #agent: Agent;
  readonly #target: URL;
  latencyMs: number;

  private constructor(target: string, latencyMs: number) {
    this.#target = new URL(target);
    this.latencyMs = latencyMs;
    this.#agent = new Agent({ connections: 512, keepAliveTimeout: 10_000 });
    this.#server = createServer((req, res) => {
      this.#forward(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
    });
    this.#server.keepAliveTimeout = 10_000;
  }

  static async start(target: string, latencyMs: number): Promise<CountingProxy> {
    const proxy = new CountingProxy(target, latencyMs);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  clear(): void {
    this.calls.length = 0;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.#agent.close();
  }

  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.latencyMs > 0) await delay(this.latencyMs);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || name === 'connection' || name === 'keep-alive') continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers.host = this.#target.host;
    const answer = await undiciRequest(new URL(req.url ?? '/', this.#target), {
      method: req.method as 'GET',
      headers,
      body: chunks.length === 0 ? null : Buffer.concat(chunks),
      dispatcher: this.#agent,
    });
    const body = Buffer.from(await answer.body.arrayBuffer());
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (
        value === undefined ||
        name === 'connection' ||
        name === 'keep-alive' ||
        name === 'transfer-encoding'
      )
        continue;
      out[name] = value;
    }
    out['content-length'] = String(body.byteLength);
    res.writeHead(answer.statusCode, out);
    res.end(body);
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string'
        ? target.replace(/^secretsmanager\./, 'SM ')
        : `${req.method} ${(req.url ?? '/').split('?')[0]}`;
    this.calls.push({ operation, status: answer.statusCode, startedAt, endedAt: Date.now() });
  }
}

/** Secrets Manager quota groups (AWS's published request quotas): the writes share 50 TPS. */
export function smQuotaGroup(operation: string): 'write' | 'read' | 'list' | 'other' {
  const op = operation.replace(/^SM /, '');
  if (
    [
      'PutSecretValue',
      'UpdateSecretVersionStage',
      'UpdateSecret',
      'CreateSecret',
      'DeleteSecret',
      'RotateSecret',
      'TagResource',
      'UntagResource',
      'RestoreSecret',
      'PutResourcePolicy',
    ].includes(op)
  )
    return 'write';
  if (['GetSecretValue', 'DescribeSecret', 'BatchGetSecretValue'].includes(op)) return 'read';
  if (['ListSecretVersionIds', 'ListSecrets'].includes(op)) return 'list';
  return 'other';
}

/**
 * Sequential round trips among `calls`: the number of groups of overlapping calls (intervals that overlap, even
 * transitively, count once), i.e. how many times the caller waited for the network in a row.
 */
export function sequentialRoundTrips(calls: readonly ProxiedCall[]): number {
  return roundTripGroups(calls).length;
}

/** The calls grouped as `sequentialRoundTrips` counts them: each group's calls overlap, the groups follow each other. */
export function roundTripGroups(calls: readonly ProxiedCall[]): ProxiedCall[][] {
  const sorted = [...calls].sort((a, b) => a.startedAt - b.startedAt);
  const groups: ProxiedCall[][] = [];
  let groupEnd = Number.NEGATIVE_INFINITY;
  for (const call of sorted) {
    if (call.startedAt >= groupEnd) {
      groups.push([call]);
      groupEnd = call.endedAt;
    } else {
      groups[groups.length - 1]?.push(call);
      groupEnd = Math.max(groupEnd, call.endedAt);
    }
  }
  return groups;
}
