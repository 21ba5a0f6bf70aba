/**
 * Proof on the emulator: the CDK app's messaging-only stack (`cdk synth -c messagingOnly=true`: request queue,
 * DLQ, their policies, the event bus, the request rule — the same constructs as the full stack) is deployed
 * with CloudFormation, and a real rotation runs through what was deployed: a request put on the deployed bus
 * reaches the deployed queue through the deployed rule, the built `atlas-rotator worker` rotates the secret
 * against the Atlas simulator and publishes its completed event on the deployed bus.
 *
 * The suite's emulator runs sqs, events, secretsmanager and lambda only, so this file starts a private LocalStack
 * instance (scripts/aws-emulator.sh with its own state dir and port) that adds cloudformation and ssm (the
 * CDK template's BootstrapVersion parameter is an SSM parameter), and stops it in afterAll. Like the suite's,
 * it sits behind its own AWS semantics layer (support/aws-semantics-proxy.ts, ADR 0006).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import {
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DETAIL_TYPE_COMPLETED,
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_REQUESTED,
} from '../../src/domain/rotation-events.js';
import { AtlasSimulator } from '../../src/simulator/atlas-simulator.js';
import { type AwsSemanticsProxy, startAwsSemanticsProxy } from './support/aws-semantics-proxy.js';
import {
  EventCapture,
  ensureBuilt,
  forRequest,
  REQUESTER_SOURCE,
  root,
  WorkerProcess,
} from './support/event-driven-harness.js';
import { createQueue, routeToQueue } from './support/event-routing.js';
import { credentialWorks, region, seedManagedSecret, stagesOf, valueAt } from './support/rotation-harness.js';

const run = promisify(execFile);

/** The minimum LocalStack 4.14.0 needs to deploy the messaging stack (README "Deploy"). */
const SERVICES = 'cloudformation,sqs,events,secretsmanager,ssm';
const STACK_NAME = `atlas-rotator-messaging-it-${randomUUID().slice(0, 8)}`;
/** What `cdk bootstrap` (version 30 and later) leaves in SSM; the template's CheckBootstrapVersion reads it. */
const BOOTSTRAP_STACK = `${STACK_NAME}-bootstrap`;
const BOOTSTRAP_VERSION_PARAMETER = '/cdk-bootstrap/hnb659fds/version';

const stateDir = mkdtempSync(join(tmpdir(), 'atlas-rotator-cfn-emulator-'));
const assemblyDir = mkdtempSync(join(tmpdir(), 'atlas-rotator-cfn-assembly-'));
let emulatorEnv: NodeJS.ProcessEnv;
let endpoint: string;
let layer: AwsSemanticsProxy | undefined;
let template: { Resources: Record<string, { Type: string }>; Outputs: Record<string, unknown> };
let cfn: CloudFormationClient;
let sqs: SQSClient;
let eventBridge: EventBridgeClient;
let secrets: SecretsManagerClient;
let simulator: AtlasSimulator;
let worker: WorkerProcess | undefined;
let outputs: Record<string, string> = {};
const timings: Record<string, number> = {};
const cleanups: (() => Promise<unknown>)[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await work();
  } finally {
    timings[name] = Date.now() - t0;
  }
}

/** A private emulator with CloudFormation: prints its endpoint on stdout. */
async function startEmulator(): Promise<string> {
  emulatorEnv = {
    ...process.env,
    AWS_EMULATOR_STATE_DIR: stateDir,
    AWS_EMULATOR_PORT: String(await freePort()),
    AWS_EMULATOR_SERVICES: SERVICES,
  };
  const { stdout } = await run('bash', [join(root, 'scripts/aws-emulator.sh'), 'start'], {
    env: emulatorEnv,
    timeout: 180_000,
  });
  return stdout.trim();
}

/** `cdk synth -c messagingOnly=true` into a scratch directory (infra/cdk.out is left to `npm test`'s synth). */
async function synthMessagingTemplate(): Promise<typeof template> {
  const cdk = join(root, 'infra/node_modules/aws-cdk/bin/cdk');
  if (!existsSync(cdk)) throw new Error('infra/node_modules is missing: run `bash infra/install.sh` first');
  await run(
    process.execPath,
    [
      cdk,
      'synth',
      '-q',
      '-c',
      'messagingOnly=true',
      '-c',
      'stackName=AtlasRotatorMessaging',
      '-o',
      assemblyDir,
    ],
    {
      cwd: join(root, 'infra'),
      // cdk.json's build step runs `npx tsc`: the same Node as this process.
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
      timeout: 120_000,
    },
  );
  return JSON.parse(readFileSync(join(assemblyDir, 'AtlasRotatorMessaging.template.json'), 'utf8'));
}

/** Polls the stack until it leaves *_IN_PROGRESS; the failure reasons of its events on anything else. */
async function settle(stackName: string, want: string, timeoutMs = 60_000): Promise<Stack> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = Stacks[0];
    const status = stack?.StackStatus ?? 'MISSING';
    if (stack !== undefined && !status.endsWith('_IN_PROGRESS')) {
      if (status !== want) {
        const { StackEvents = [] } = await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }));
        const reasons = StackEvents.filter((e) => e.ResourceStatus?.includes('FAILED')).map(
          (e) => `${e.LogicalResourceId}: ${e.ResourceStatus} ${e.ResourceStatusReason ?? ''}`,
        );
        throw new Error(`${stackName}: ${status} (${stack.StackStatusReason ?? ''})\n${reasons.join('\n')}`);
      }
      return stack;
    }
    if (Date.now() > deadline) throw new Error(`${stackName}: still ${status} after ${timeoutMs} ms`);
    await sleep(250);
  }
}

async function deleteStack(stackName: string): Promise<void> {
  await cfn.send(new DeleteStackCommand({ StackName: stackName }));
  await settle(stackName, 'DELETE_COMPLETE').catch(async (error: unknown) => {
    // Deleted stacks may no longer be described by name.
    if (!String(error).includes('does not exist')) throw error;
  });
}

beforeAll(async () => {
  ensureBuilt();
  // The emulator's start and the synth both take seconds: side by side.
  const [emulator, synthesized] = await Promise.all([
    timed('emulatorStartMs', startEmulator),
    timed('synthMs', synthMessagingTemplate),
  ]);
  template = synthesized;
  layer = await startAwsSemanticsProxy(emulator);
  endpoint = layer.url;
  const config = { region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  cfn = new CloudFormationClient(config);
  sqs = new SQSClient(config);
  eventBridge = new EventBridgeClient(config);
  secrets = new SecretsManagerClient(config);
  simulator = await AtlasSimulator.start();
}, 240_000);

afterAll(async () => {
  await worker?.dispose();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  if (cfn !== undefined) {
    for (const name of [STACK_NAME, BOOTSTRAP_STACK]) await deleteStack(name).catch(() => undefined);
  }
  for (const client of [cfn, sqs, eventBridge, secrets]) client?.destroy();
  await simulator?.close();
  await layer?.close();
  if (emulatorEnv !== undefined) {
    await run('bash', [join(root, 'scripts/aws-emulator.sh'), 'stop'], { env: emulatorEnv, timeout: 60_000 });
  }
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(assemblyDir, { recursive: true, force: true });
  console.info(`cloudformation-deploy timings (ms): ${JSON.stringify(timings)}`);
}, 120_000);

describe('the synthesized messaging stack, deployed with CloudFormation on the emulator', () => {
  it('is the queue, DLQ, bus and request rule with the outputs teams need', () => {
    const types = Object.values(template.Resources)
      .map((resource) => resource.Type)
      .filter((type) => type !== 'AWS::CDK::Metadata')
      .sort();
    expect(types).toEqual([
      'AWS::Events::EventBus',
      'AWS::Events::Rule',
      'AWS::SQS::Queue',
      'AWS::SQS::Queue',
      'AWS::SQS::QueuePolicy',
      'AWS::SQS::QueuePolicy',
    ]);
    expect(Object.keys(template.Outputs).sort()).toEqual([
      'DeadLetterQueueUrl',
      'EventBusArn',
      'EventBusName',
      'RequestQueueArn',
      'RequestQueueUrl',
    ]);
  });

  it('creates the stack: CREATE_COMPLETE, with the queue URL and bus name as outputs', async () => {
    // What `cdk bootstrap` leaves behind, as a stack of its own: the SSM parameter the template checks.
    await cfn.send(
      new CreateStackCommand({
        StackName: BOOTSTRAP_STACK,
        TemplateBody: JSON.stringify({
          Resources: {
            CdkBootstrapVersion: {
              Type: 'AWS::SSM::Parameter',
              Properties: { Type: 'String', Name: BOOTSTRAP_VERSION_PARAMETER, Value: '30' },
            },
          },
        }),
      }),
    );
    await settle(BOOTSTRAP_STACK, 'CREATE_COMPLETE');

    const stack = await timed('deployMs', async () => {
      await cfn.send(
        new CreateStackCommand({ StackName: STACK_NAME, TemplateBody: JSON.stringify(template) }),
      );
      return settle(STACK_NAME, 'CREATE_COMPLETE');
    });
    outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
    expect(Object.keys(outputs).sort()).toEqual(Object.keys(template.Outputs).sort());
    // A standard queue (the default): every request is handled on its own, none waits in a shared group.
    expect(outputs.RequestQueueUrl).not.toMatch(/\.fifo$/);
    expect(outputs.DeadLetterQueueUrl).not.toMatch(/\.fifo$/);
    expect(outputs.EventBusArn).toBe(
      `arn:aws:events:${region}:000000000000:event-bus/${outputs.EventBusName}`,
    );

    // What CloudFormation made of the template's properties.
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: outputs.RequestQueueUrl, AttributeNames: ['All'] }),
    );
    expect(Attributes).toMatchObject({ SqsManagedSseEnabled: 'true', VisibilityTimeout: '120' });
    expect(Attributes.FifoQueue).toBeUndefined();
    // The queue policy: EventBridge for the request rule only, SendMessage denied to everyone else.
    const policy = JSON.parse(Attributes.Policy ?? '{}') as { Statement?: Record<string, unknown>[] };
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Sid: 'OnlyTheRequestRuleAndNamedSenders',
        Effect: 'Deny',
        Action: 'sqs:SendMessage',
      }),
    );
    expect(JSON.parse(Attributes.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 5 });
    const { Rules = [] } = await eventBridge.send(
      new ListRulesCommand({ EventBusName: outputs.EventBusName }),
    );
    // Requests put by this account's principals only (the template's AWS::AccountId, resolved on deploy).
    expect(Rules.map((rule) => JSON.parse(rule.EventPattern ?? '{}'))).toEqual([
      { account: ['000000000000'], 'detail-type': [DETAIL_TYPE_REQUESTED] },
    ]);
    const { Targets = [] } = await eventBridge.send(
      new ListTargetsByRuleCommand({ Rule: Rules[0]?.Name, EventBusName: outputs.EventBusName }),
    );
    expect(Targets).toMatchObject([{ Arn: outputs.RequestQueueArn }]);
    expect(Targets[0]?.SqsParameters?.MessageGroupId).toBeUndefined();
  }, 60_000);

  it('runs a real rotation: a request on the deployed bus, the worker on the deployed queue, the completed event on the deployed bus', async () => {
    expect(outputs.RequestQueueUrl, 'the stack was not created').toBeDefined();
    const busName = outputs.EventBusName ?? '';
    const eventSource = `atlas-rotator.it-cfn-${randomUUID().slice(0, 8)}`;

    // An observer on the deployed bus: a rule on our own outcomes to a capture queue (test-only).
    const captureName = `${STACK_NAME}-events`;
    const captureQueue = await createQueue(sqs, captureName, {}, cleanups);
    // The rule is removed (by the cleanups) before the stack is deleted: a bus with a rule of someone else's
    // cannot be deleted.
    await routeToQueue(
      { sqs, eventBridge },
      {
        bus: busName,
        rule: captureName,
        pattern: { source: [eventSource], 'detail-type': [DETAIL_TYPE_COMPLETED, DETAIL_TYPE_FAILED] },
        queue: captureQueue,
        targetId: 'capture',
      },
      cleanups,
    );
    const capture = new EventCapture(sqs, captureQueue.url);

    const account = await seedManagedSecret(simulator, secrets);
    const before = await valueAt(secrets, account.secretName, 'AWSCURRENT');

    // The built worker, configured from the stack's outputs only.
    worker = WorkerProcess.start('cloudformation-deployed', {
      AWS_ENDPOINT_URL: endpoint,
      ROTATION_QUEUE_URL: outputs.RequestQueueUrl ?? '',
      EVENT_BUS_NAME: busName,
      EVENT_SOURCE: eventSource,
      MAX_RECEIVE_COUNT: '5',
      VISIBILITY_TIMEOUT_SECONDS: '120',
      ATLAS_BASE_URL: simulator.baseUrl,
      ATLAS_ALLOW_INSECURE_HTTP: 'true',
      ATLAS_MAX_ATTEMPTS: '2',
      ATLAS_REQUEST_TIMEOUT_MS: '10000',
      VERIFY_RETRY_DELAYS_MS: '50,100',
      // Retire at the promotion, so the old credential is dead when the event arrives; the grace is tested in
      // retirement.test.ts.
      OLD_SECRET_GRACE_HOURS: '0',
      LOG_LEVEL: 'debug',
      WAIT_TIME_SECONDS: '1',
      SHUTDOWN_GRACE_SECONDS: '10',
    });
    await worker.waitForOutput(/"message":"worker started"/, 20_000);

    const requestId = `cfn-${randomUUID()}`;
    const put = await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: busName,
            Source: REQUESTER_SOURCE,
            DetailType: DETAIL_TYPE_REQUESTED,
            Detail: JSON.stringify({ secretId: account.secretName, requestId }),
          },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);

    const events = await timed('rotationMs', () =>
      capture.captureEvents(forRequest(requestId), 30_000, { settleMs: 1_000 }),
    );
    expect(
      events.map((e) => e.detailType),
      worker.tail(),
    ).toEqual([DETAIL_TYPE_COMPLETED]);
    expect(events[0]?.source).toBe(eventSource);
    expect(events[0]?.resources).toEqual([account.secretArn]);

    // The secret rotated: a new AWSCURRENT that works, the old credential revoked, nothing pending.
    const { byStage } = await stagesOf(secrets, account.secretName);
    const current = await valueAt(secrets, account.secretName, 'AWSCURRENT');
    // ADR 0007: AWSPENDING stays beside AWSCURRENT (to AWS: no rotation in progress).
    expect([undefined, current.versionId]).toContain(byStage.AWSPENDING);
    expect(current.versionId).not.toBe(before.versionId);
    expect(byStage.AWSPREVIOUS).toBe(before.versionId);
    expect(events[0]?.detail).toMatchObject({
      requestId,
      secretName: account.secretName,
      newAtlasSecretId: current.json.atlasSecretId,
      deletedAtlasSecretIds: [account.firstSecretId],
    });
    expect(await credentialWorks(simulator, account.clientId, current.json.clientSecret ?? '')).toBe(true);
    expect(await credentialWorks(simulator, account.clientId, before.json.clientSecret ?? '')).toBe(false);

    // The deployed queue is drained and its DLQ empty.
    const depth = async (url: string) => {
      const { Attributes: a = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return [Number(a.ApproximateNumberOfMessages), Number(a.ApproximateNumberOfMessagesNotVisible)];
    };
    const deadline = Date.now() + 5_000;
    while ((await depth(outputs.RequestQueueUrl ?? '')).some((n) => n !== 0) && Date.now() < deadline) {
      await sleep(200);
    }
    expect(await depth(outputs.RequestQueueUrl ?? '')).toEqual([0, 0]);
    expect(await depth(outputs.DeadLetterQueueUrl ?? '')).toEqual([0, 0]);
  }, 60_000);

  it('deletes the stack: DELETE_COMPLETE, and the deployed queue and bus are gone', async () => {
    expect(outputs.RequestQueueUrl, 'the stack was not created').toBeDefined();
    await worker?.dispose();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await timed('deleteMs', () => deleteStack(STACK_NAME));
    await expect(
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: outputs.RequestQueueUrl, AttributeNames: ['All'] })),
    ).rejects.toThrow(/does not exist|NonExistentQueue/);
    await expect(
      eventBridge.send(new ListRulesCommand({ EventBusName: outputs.EventBusName })),
    ).rejects.toThrow(/does not exist/);
  }, 60_000);
});
