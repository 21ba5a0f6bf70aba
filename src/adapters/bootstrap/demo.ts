import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DETAIL_TYPE_REQUESTED } from '../../domain/rotation-events.js';
import { TAG_MANAGED } from '../../domain/rotation-metadata.js';
import { AtlasSimulator } from '../../simulator/atlas-simulator.js';
import { loadConfig } from '../config/load-config.js';
import { buildContainer, disposeContainer } from './container.js';
import { provisionLocalEventInfrastructure } from './local-event-infrastructure.js';
import { TOKENS } from './tokens.js';

type Env = Readonly<Record<string, string | undefined>>;

const indent = (text: string) => text.replace(/^/gm, '    ');

async function stagesOf(client: SecretsManagerClient, secretId: string): Promise<string[]> {
  const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return Object.entries(described.VersionIdsToStages ?? {})
    .filter(([, stages]) => (stages ?? []).length > 0)
    .map(([versionId, stages]) => `    version ${versionId}: ${(stages ?? []).join(', ')}`);
}

function atlasSecretsOf(simulator: AtlasSimulator, orgId: string, clientId: string): string[] {
  const account = simulator.serviceAccount(orgId, clientId);
  return (account?.secrets ?? []).map(
    (s) => `    Atlas secret ${s.id}: created ${s.createdAt}, expires ${s.expiresAt}`,
  );
}

/** Long-polls the capture queue for the first event, within a bound. */
async function nextEvent(sqs: SQSClient, queueUrl: string, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 1 }),
    );
    const message = Messages?.[0];
    if (message !== undefined) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      return JSON.parse(message.Body ?? '{}');
    }
  }
  throw new Error(`no event arrived within ${timeoutMs} ms`);
}

/**
 * The embedded default: the Atlas simulator on loopback and the local AWS endpoint from AWS_ENDPOINT_URL;
 * a managed demo secret; the event-driven wiring (bus, rules, request queue, event capture queue); the
 * worker; one rotation request put on the bus and the completed event that comes out. It prints ids,
 * stages and events, never a secret value.
 */
export async function runDemo(env: Env, out: (text: string) => void): Promise<number> {
  if (env.AWS_ENDPOINT_URL === undefined || env.AWS_ENDPOINT_URL === '') {
    out('The demo needs a local AWS endpoint in AWS_ENDPOINT_URL; `npm start` starts one for you.\n');
    return 2;
  }
  const region = env.AWS_REGION ?? 'us-east-1';
  const aws = { region, endpoint: env.AWS_ENDPOINT_URL };
  const secrets = new SecretsManagerClient(aws);
  const sqs = new SQSClient(aws);
  const eventBridge = new EventBridgeClient(aws);
  const simulator = await AtlasSimulator.start();
  const prefix = `atlas-rotator-demo-${randomUUID().slice(0, 8)}`;
  const wiring = await provisionLocalEventInfrastructure(
    { sqs, eventBridge },
    { prefix, maxReceiveCount: 3 },
  );
  const config = loadConfig({
    ...env,
    AWS_REGION: region,
    ATLAS_BASE_URL: simulator.baseUrl,
    ATLAS_ALLOW_INSECURE_HTTP: 'true',
    VERIFY_RETRY_DELAYS_MS: '100,200',
    ROTATION_QUEUE_URL: wiring.requestQueueUrl,
    EVENT_BUS_NAME: wiring.eventBusName,
    EVENT_SOURCE: wiring.eventSource,
    WAIT_TIME_SECONDS: '1',
    SHUTDOWN_GRACE_SECONDS: '5',
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
  });
  const container = buildContainer(config);
  const stop = new AbortController();
  let running: Promise<void> = Promise.resolve();
  try {
    const { orgId } = simulator.createOrg();
    const account = simulator.createServiceAccount(orgId, { name: 'demo-rotator', roles: ['ORG_OWNER'] });
    const secretName = `${prefix}/reporting-sa`;
    await secrets.send(
      new CreateSecretCommand({
        Name: secretName,
        SecretString: JSON.stringify({
          clientId: account.clientId,
          clientSecret: account.secret,
          orgId,
          team: 'platform',
        }),
        Tags: [{ Key: TAG_MANAGED, Value: 'true' }],
      }),
    );
    out('atlas-rotator demo\n');
    out(`  Atlas simulator  ${simulator.baseUrl}\n  AWS endpoint     ${env.AWS_ENDPOINT_URL}\n`);
    out(`  event bus        ${wiring.eventBusName}\n  request queue    ${wiring.requestQueueUrl}\n`);
    out(`  secret           ${secretName} (org ${orgId}, service account ${account.clientId})\n\n`);
    out(`Before:\n${(await stagesOf(secrets, secretName)).join('\n')}\n`);
    out(`${atlasSecretsOf(simulator, orgId, account.clientId).join('\n')}\n\n`);

    const worker = await container.getAsync(TOKENS.worker);
    running = worker.run(stop.signal);
    simulator.clearRequests();

    const request = { secretId: secretName, requestId: randomUUID(), reason: 'demo' };
    await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: wiring.eventBusName,
            Source: 'platform.demo',
            DetailType: DETAIL_TYPE_REQUESTED,
            Detail: JSON.stringify(request),
          },
        ],
      }),
    );
    out(
      `Request put on the bus (${DETAIL_TYPE_REQUESTED}):\n${indent(JSON.stringify(request, null, 2))}\n\n`,
    );

    const event = (await nextEvent(sqs, wiring.captureQueueUrl, 60_000)) as { 'detail-type'?: string };
    out('Atlas calls made by the worker:\n');
    for (const r of simulator.requests) out(`    ${r.method} ${r.path} -> ${r.status}\n`);
    out(`\nEvent out (${event['detail-type']}):\n${indent(JSON.stringify(event, null, 2))}\n\n`);
    out(`After:\n${(await stagesOf(secrets, secretName)).join('\n')}\n`);
    out(`${atlasSecretsOf(simulator, orgId, account.clientId).join('\n')}\n`);
    return event['detail-type'] === 'Atlas Secret Rotation Completed' ? 0 : 1;
  } finally {
    stop.abort();
    await running;
    await disposeContainer(container);
    secrets.destroy();
    sqs.destroy();
    eventBridge.destroy();
    await simulator.close();
  }
}
