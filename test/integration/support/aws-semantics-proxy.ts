/**
 * The AWS semantics layer: a loopback HTTP proxy that global-setup.ts puts between every integration test and
 * the AWS emulator (LocalStack 4.14.0). It forwards every request unchanged and answers as AWS does where the
 * emulator differs in a way the rotation protocol relies on (docs/adr/0006-aws-semantics-layer.md):
 *
 * - PutSecretValue whose ClientRequestToken names a version that already holds a value: the same value is
 *   ignored (idempotent success, nothing changes), another value gets ResourceExistsException. LocalStack lets
 *   a version labelled AWSPENDING be overwritten (moto `_check_with_existing_secrets_and_versions`). Only the
 *   valueless placeholder RotateSecret registers may be filled, as on AWS.
 * - A version whose last staging label is removed stays on AWS (deprecated: readable by VersionId, its token
 *   spent). LocalStack deletes it at once (`backend_update_secret_version_stage`,
 *   `fake_secret_remove_version_stages_from_old_versions`). The layer keeps such versions and answers
 *   GetSecretValue(VersionId) and PutSecretValue(ClientRequestToken) for them.
 * - ListSecretVersionIds with IncludeDeprecated=true lists those kept versions too (no labels, their CreatedDate),
 *   as AWS lists its deprecated versions; without IncludeDeprecated they are left out, as on AWS.
 * - UpdateSecretVersionStage moving a label that sits on another version without RemoveFromVersionId:
 *   InvalidParameterException for every label (LocalStack checks AWSCURRENT only, and otherwise puts the
 *   label on two versions).
 *
 * Writes to one secret (PutSecretValue, UpdateSecretVersionStage, RotateSecret) are serialised per secret ARN
 * inside the layer, so the check and the write it guards are atomic: of two PutSecretValue calls with the same
 * token and different values, exactly one succeeds, whichever name or ARN they use. The layer's own calls go to
 * the emulator with the caller's access key id and region (LocalStack derives the account from the key; it does
 * not check signatures), so it is meant for emulators, not for real AWS.
 *
 * No secret value is logged or put in an error message; values only pass through.
 *
 * Latency (for the concurrency suite): `POST /__aws-semantics-layer/latency` with a JSON object of Secrets Manager
 * operation names to milliseconds (`{"PutSecretValue": 150, "TagResource": 80}`) delays every later request of
 * those operations by that much before the layer handles it (before a write takes its per-secret turn, so delays
 * overlap as they would on the wire); the object replaces the previous one, `{}` switches it off. `GET` on the
 * same path answers the current object. The path cannot collide with AWS: the JSON protocols post to `/`, SQS
 * queue URLs are `/<account>/<queue>`.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

export interface AwsSemanticsProxy {
  /** http://127.0.0.1:<port>: give this to the SDK as AWS_ENDPOINT_URL. */
  readonly url: string;
  /** The emulator behind it. */
  readonly upstream: string;
  /** What the layer answered itself instead of the emulator, by rule (for tests and diagnostics). */
  readonly interventions: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

interface StoredValue {
  readonly secretString: string | undefined;
  /** base64, as on the wire */
  readonly secretBinary: string | undefined;
  readonly createdDate: number | undefined;
}

interface Deprecated extends StoredValue {
  readonly name: string;
}

type SecretsManagerRequest = Record<string, unknown>;

const JSON_11 = 'application/x-amz-json-1.1';
/** The layer's own control path: latency per Secrets Manager operation (see the header). */
export const LATENCY_CONTROL_PATH = '/__aws-semantics-layer/latency';
const AUTH_SCOPE = /Credential=([^/,\s]+)\/\d{8}\/([a-z0-9-]+)\//;

export async function startAwsSemanticsProxy(upstream: string): Promise<AwsSemanticsProxy> {
  const upstreamUrl = new URL(upstream);
  const clients = new Map<string, SecretsManagerClient>();
  const locks = new Map<string, Promise<unknown>>();
  /** Deprecated versions the emulator deleted, by secret ARN, then VersionId. */
  const deprecated = new Map<string, Map<string, Deprecated>>();
  const interventions: Record<string, number> = {};
  /** Milliseconds added to each Secrets Manager operation, by operation name; empty unless a test sets it. */
  let latencyMs: Record<string, number> = {};
  let ownOrigin = '';

  const count = (rule: string) => {
    interventions[rule] = (interventions[rule] ?? 0) + 1;
  };

  /** The emulator, as the caller: same access key id (= account on LocalStack) and region. */
  function clientFor(headers: IncomingHttpHeaders): SecretsManagerClient {
    const scope = AUTH_SCOPE.exec(String(headers.authorization ?? ''));
    const accessKeyId = scope?.[1] ?? 'test';
    const region = scope?.[2] ?? 'us-east-1';
    const key = `${accessKeyId} ${region}`;
    let client = clients.get(key);
    if (client === undefined) {
      client = new SecretsManagerClient({
        endpoint: upstream,
        region,
        credentials: { accessKeyId, secretAccessKey: 'aws-semantics-layer' },
      });
      clients.set(key, client);
    }
    return client;
  }

  /** Runs `task` after every earlier task for `key` has settled. */
  async function serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = locks.get(key) ?? Promise.resolve();
    const run = before.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (locks.get(key) === settled) locks.delete(key);
    }
  }

  function forward(req: IncomingMessage, body: Buffer): Promise<Answer> {
    const send = upstreamUrl.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: IncomingHttpHeaders = { ...req.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    return new Promise((done, fail) => {
      const outgoing = send(
        {
          protocol: upstreamUrl.protocol,
          hostname: upstreamUrl.hostname,
          port: upstreamUrl.port,
          method: req.method,
          path: `${upstreamUrl.pathname.replace(/\/$/, '')}${req.url ?? '/'}`,
          headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', fail);
          res.on('end', () => {
            const out: Record<string, string | string[]> = {};
            for (const [name, value] of Object.entries(res.headers)) {
              if (value === undefined) continue;
              if (['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name))
                continue;
              out[name] = value;
            }
            done({
              status: res.statusCode ?? 502,
              headers: out,
              body: rewriteOrigin(Buffer.concat(chunks), out),
            });
          });
        },
      );
      outgoing.on('error', fail);
      outgoing.end(body);
    });
  }

  /**
   * Emulator-made URLs (SQS QueueUrl with SQS_ENDPOINT_STRATEGY=path) name the emulator: point them at the
   * layer, or the SDK (useQueueUrlAsEndpoint) would go around it.
   */
  function rewriteOrigin(body: Buffer, headers: Record<string, string | string[]>): Buffer {
    const type = String(headers['content-type'] ?? '');
    if (!/json|xml|text/.test(type) || headers['content-encoding'] !== undefined || ownOrigin === '')
      return body;
    const text = body.toString('utf8');
    const from = `//${upstreamUrl.host}`;
    if (!text.includes(from)) return body;
    return Buffer.from(text.split(from).join(`//${new URL(ownOrigin).host}`), 'utf8');
  }

  function json(status: number, payload: unknown, errorType?: string): Answer {
    const headers: Record<string, string> = {
      'content-type': JSON_11,
      'x-amzn-requestid': randomUUID(),
    };
    if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
    return { status, headers, body: Buffer.from(JSON.stringify(payload), 'utf8') };
  }

  /** The JSON 1.1 error shape the SDK maps to a modelled exception (by `__type`). */
  function awsError(type: string, message: string): Answer {
    return json(400, { __type: type, Message: message }, type);
  }

  function errorTypeOf(answer: Answer): string | undefined {
    if (answer.status < 400) return undefined;
    const header = answer.headers['x-amzn-errortype'];
    const fromHeader = Array.isArray(header) ? header[0] : header;
    if (fromHeader) return fromHeader.split(':')[0];
    try {
      const type = (JSON.parse(answer.body.toString('utf8')) as { __type?: string }).__type;
      return type?.split('#').pop();
    } catch {
      return undefined;
    }
  }

  async function describe(client: SecretsManagerClient, secretId: string) {
    const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
    if (out.ARN === undefined || out.Name === undefined) throw new Error('DescribeSecret returned no ARN');
    return { arn: out.ARN, name: out.Name, stages: out.VersionIdsToStages ?? {} };
  }

  /** The version's value; `undefined` when the emulator has no value for it (absent, or a placeholder). */
  async function versionValue(
    client: SecretsManagerClient,
    arn: string,
    versionId: string,
  ): Promise<StoredValue | undefined> {
    let out: GetSecretValueCommandOutput;
    try {
      out = await client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: versionId }));
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
    return {
      secretString: out.SecretString,
      secretBinary:
        out.SecretBinary === undefined ? undefined : Buffer.from(out.SecretBinary).toString('base64'),
      createdDate: out.CreatedDate === undefined ? undefined : out.CreatedDate.getTime() / 1000,
    };
  }

  /**
   * Runs a write that may strip the last label from versions; keeps the versions the emulator then deleted.
   * Versions are immutable, so a value read before the write is the value afterwards.
   */
  async function preservingDeprecated(
    client: SecretsManagerClient,
    secret: { arn: string; name: string; stages: Record<string, string[]> },
    write: () => Promise<Answer>,
  ): Promise<Answer> {
    const before = new Map<string, StoredValue>();
    for (const versionId of Object.keys(secret.stages)) {
      const value = await versionValue(client, secret.arn, versionId);
      if (value !== undefined) before.set(versionId, value);
    }
    const answer = await write();
    if (answer.status >= 400 || before.size === 0) return answer;
    const after = await describe(client, secret.arn);
    for (const [versionId, value] of before) {
      if (after.stages[versionId] !== undefined) continue;
      if ((await versionValue(client, secret.arn, versionId)) !== undefined) continue; // the emulator kept it
      let kept = deprecated.get(secret.arn);
      if (kept === undefined) {
        kept = new Map();
        deprecated.set(secret.arn, kept);
      }
      kept.set(versionId, { ...value, name: secret.name });
      count('kept-deprecated-version');
    }
    return answer;
  }

  async function putSecretValue(req: IncomingMessage, body: Buffer, input: SecretsManagerRequest) {
    const token = input.ClientRequestToken;
    const secretId = input.SecretId;
    if (typeof token !== 'string' || typeof secretId !== 'string') return forward(req, body);
    const client = clientFor(req.headers);
    let secret: Awaited<ReturnType<typeof describe>>;
    try {
      secret = await describe(client, secretId);
    } catch {
      return forward(req, body); // unknown secret, bad id …: the emulator's answer is AWS's
    }
    return serialised(secret.arn, async () => {
      const fresh = await describe(client, secret.arn);
      const existing =
        (await versionValue(client, fresh.arn, token)) ?? deprecated.get(fresh.arn)?.get(token) ?? undefined;
      if (existing !== undefined) {
        const same =
          existing.secretString ===
            (typeof input.SecretString === 'string' ? input.SecretString : undefined) &&
          existing.secretBinary === (typeof input.SecretBinary === 'string' ? input.SecretBinary : undefined);
        if (!same) {
          count('put-secret-value-resource-exists');
          return awsError(
            'ResourceExistsException',
            `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${fresh.arn}.`,
          );
        }
        // AWS ignores the request: nothing changes, the labels stay where they are.
        count('put-secret-value-ignored');
        return json(200, {
          ARN: fresh.arn,
          Name: fresh.name,
          VersionId: token,
          VersionStages: fresh.stages[token] ?? [],
        });
      }
      return preservingDeprecated(client, fresh, () => forward(req, body));
    });
  }

  async function updateSecretVersionStage(req: IncomingMessage, body: Buffer, input: SecretsManagerRequest) {
    const secretId = input.SecretId;
    const stage = input.VersionStage;
    if (typeof secretId !== 'string' || typeof stage !== 'string') return forward(req, body);
    const client = clientFor(req.headers);
    let secret: Awaited<ReturnType<typeof describe>>;
    try {
      secret = await describe(client, secretId);
    } catch {
      return forward(req, body);
    }
    return serialised(secret.arn, async () => {
      const fresh = await describe(client, secret.arn);
      const holder = Object.entries(fresh.stages).find(([, stages]) => stages.includes(stage))?.[0];
      const moveTo = input.MoveToVersionId;
      const removeFrom = input.RemoveFromVersionId;
      if (
        typeof moveTo === 'string' &&
        removeFrom === undefined &&
        holder !== undefined &&
        holder !== moveTo
      ) {
        count('update-stage-remove-from-required');
        return awsError(
          'InvalidParameterException',
          `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
      }
      return preservingDeprecated(client, fresh, () => forward(req, body));
    });
  }

  async function rotateSecret(req: IncomingMessage, body: Buffer, input: SecretsManagerRequest) {
    const secretId = input.SecretId;
    if (typeof secretId !== 'string') return forward(req, body);
    const client = clientFor(req.headers);
    let secret: Awaited<ReturnType<typeof describe>>;
    try {
      secret = await describe(client, secretId);
    } catch {
      return forward(req, body);
    }
    return serialised(secret.arn, async () =>
      preservingDeprecated(client, await describe(client, secret.arn), () => forward(req, body)),
    );
  }

  async function getSecretValue(req: IncomingMessage, body: Buffer, input: SecretsManagerRequest) {
    const answer = await forward(req, body);
    const versionId = input.VersionId;
    if (
      deprecated.size === 0 ||
      typeof versionId !== 'string' ||
      input.VersionStage !== undefined ||
      errorTypeOf(answer) !== 'ResourceNotFoundException' ||
      typeof input.SecretId !== 'string'
    ) {
      return answer;
    }
    let arn: string;
    try {
      arn = (await describe(clientFor(req.headers), input.SecretId)).arn;
    } catch {
      return answer;
    }
    const kept = deprecated.get(arn)?.get(versionId);
    if (kept === undefined) return answer;
    count('get-deprecated-version');
    return json(200, {
      ARN: arn,
      Name: kept.name,
      VersionId: versionId,
      ...(kept.secretString === undefined ? {} : { SecretString: kept.secretString }),
      ...(kept.secretBinary === undefined ? {} : { SecretBinary: kept.secretBinary }),
      VersionStages: [],
      ...(kept.createdDate === undefined ? {} : { CreatedDate: kept.createdDate }),
    });
  }

  /** Adds the versions the layer keeps to the last page of ListSecretVersionIds(IncludeDeprecated=true). */
  async function listSecretVersionIds(req: IncomingMessage, body: Buffer, input: SecretsManagerRequest) {
    const answer = await forward(req, body);
    if (
      input.IncludeDeprecated !== true ||
      deprecated.size === 0 ||
      answer.status >= 400 ||
      answer.headers['content-encoding'] !== undefined
    ) {
      return answer;
    }
    const page = JSON.parse(answer.body.toString('utf8')) as {
      ARN?: string;
      NextToken?: string;
      Versions?: { VersionId?: string }[];
    };
    const kept = page.ARN === undefined ? undefined : deprecated.get(page.ARN);
    if (kept === undefined || (page.NextToken !== undefined && page.NextToken !== '')) return answer;
    const listed = new Set((page.Versions ?? []).map((v) => v.VersionId));
    const added = [...kept]
      .filter(([versionId]) => !listed.has(versionId))
      .map(([versionId, value]) => ({
        VersionId: versionId,
        VersionStages: [],
        ...(value.createdDate === undefined ? {} : { CreatedDate: value.createdDate }),
      }));
    if (added.length === 0) return answer;
    count('list-deprecated-versions');
    return json(200, { ...page, Versions: [...(page.Versions ?? []), ...added] });
  }

  async function handle(req: IncomingMessage, body: Buffer): Promise<Answer> {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!target.startsWith('secretsmanager.')) return forward(req, body);
    let input: SecretsManagerRequest;
    try {
      input = JSON.parse(body.toString('utf8')) as SecretsManagerRequest;
    } catch {
      return forward(req, body);
    }
    const operation = target.slice('secretsmanager.'.length);
    const delay = latencyMs[operation] ?? 0;
    if (delay > 0) await sleep(delay);
    switch (operation) {
      case 'PutSecretValue':
        return putSecretValue(req, body, input);
      case 'UpdateSecretVersionStage':
        return updateSecretVersionStage(req, body, input);
      case 'RotateSecret':
        return rotateSecret(req, body, input);
      case 'GetSecretValue':
        return getSecretValue(req, body, input);
      case 'ListSecretVersionIds':
        return listSecretVersionIds(req, body, input);
      default:
        return forward(req, body);
    }
  }

  /** `POST` replaces the latency object (a JSON object of non-negative numbers); `GET` reads it. */
  function latencyControl(method: string | undefined, body: Buffer): Answer {
    if (method === 'POST') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return json(400, { message: 'body must be JSON' });
      }
      const valid =
        typeof parsed === 'object' &&
        parsed !== null &&
        !Array.isArray(parsed) &&
        Object.values(parsed).every((ms) => typeof ms === 'number' && Number.isFinite(ms) && ms >= 0);
      if (!valid) return json(400, { message: 'body must map operation names to milliseconds >= 0' });
      latencyMs = { ...(parsed as Record<string, number>) };
    } else if (method !== 'GET') {
      return json(405, { message: 'GET or POST' });
    }
    return json(200, { latencyMs });
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === LATENCY_CONTROL_PATH) {
        const answer = latencyControl(req.method, Buffer.concat(chunks));
        res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length });
        res.end(answer.body);
        return;
      }
      handle(req, Buffer.concat(chunks)).then(
        (answer) => {
          res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length });
          res.end(answer.body);
        },
        (error: unknown) => {
          // Only the error's name: an SDK message could in principle echo request data.
          const name = error instanceof Error ? error.name : 'UnknownError';
          const answer = json(502, { __type: 'ServiceUnavailable', Message: `aws-semantics-layer: ${name}` });
          res.writeHead(502, { ...answer.headers, 'content-length': answer.body.length });
          res.end(answer.body);
        },
      );
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;
  ownOrigin = `http://127.0.0.1:${port}`;

  return {
    url: ownOrigin,
    upstream,
    interventions,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      for (const client of clients.values()) client.destroy();
    },
  };
}
