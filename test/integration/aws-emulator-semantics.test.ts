/**
 * Smoke test of the AWS semantics atlas-rotator relies on, run against the endpoint global-setup.ts provided: the
 * AWS semantics layer (support/aws-semantics-proxy.ts) in front of the emulator (LocalStack 4.14.0 in Docker or on
 * the host, or AWS_ENDPOINT_URL). The clients get no explicit endpoint: the SDK reads AWS_ENDPOINT_URL. An emulator
 * upgrade that breaks one of these semantics must fail here. AWS's documented behaviour wins over any emulator.
 *
 * Every known difference between the emulator and AWS that matters to us, and how this suite covers it
 * (details: docs/adr/0002-aws-emulator-without-docker.md, docs/adr/0006-aws-semantics-layer.md):
 *
 * Closed by the semantics layer — a test through the layer shows AWS's answer, and a test on the bare emulator
 * (`raw`) shows the gap is real, so the layer's need is proven and bypassing it fails the first kind:
 *  1. PutSecretValue reusing the token of a version that holds a value, with another value: AWS refuses with
 *     ResourceExistsException; LocalStack overwrites a version labelled AWSPENDING.
 *  2. The same, twice at once: exactly one may succeed (the layer serialises writes per secret).
 *  3. PutSecretValue repeating a version's token and value: AWS ignores it, labels stay where they are; LocalStack
 *     re-applies VersionStages to an AWSPENDING version (it can move AWSCURRENT this way).
 *  4. A version whose last label goes (a rolled-back rotation, or AWSPENDING moved to a newer token): AWS keeps it,
 *     readable by VersionId, its token spent; LocalStack deletes it at once, so the token could be used again.
 *  5. UpdateSecretVersionStage moving a label that another version holds, without RemoveFromVersionId: AWS answers
 *     InvalidParameterException for every label; LocalStack only for AWSCURRENT, otherwise the label ends on two.
 *  13. ListSecretVersionIds(IncludeDeprecated=true) lists a version whose last label went, with its CreatedDate (the
 *     protocol of ADR 0007 finds spent claims, tombstones and rolled-back versions this way); LocalStack has deleted
 *     it (gap 4), so it is missing. Without IncludeDeprecated, AWS leaves it out too.
 * Rotator tests that depend on them: rotation.test.ts ("answers ROTATION_ROLLED_BACK when a rolled-back token runs
 * again", gap 4) and secrets-manager-secret-store.test.ts (the SecretStore contract, gaps 1 and 4).
 * `AWS_SEMANTICS_LAYER=off` runs the suite without the layer: then exactly those tests fail.
 *
 * AWS-like on LocalStack already (tested below through the layer, which forwards them untouched):
 *  6. RotateSecret registers the token's version labelled AWSPENDING with no value (GetSecretValue on it:
 *     ResourceNotFoundException) and PutSecretValue with that token fills it once. Needs a registered function
 *     (CreateFunction works on the host; nothing runs it: its invoke fails without Docker, the placeholder stays).
 *     The placeholder is LocalStack's own; "once" is gap 1, so this test too fails without the layer.
 *  7. RemoveFromVersionId naming a version that does not hold the label: InvalidParameterException.
 *  8. Moving AWSCURRENT without RemoveFromVersionId: InvalidParameterException.
 *  9. ClientRequestToken outside 32–64 characters: InvalidParameterException.
 * 10. GetSecretValue with no stage after AWSCURRENT moved returns the new AWSCURRENT (plain moto returns the old
 *     one). The rotator never relies on it anyway: every read names a VersionId or a VersionStage (STYLE.md).
 * 11. RotateSecret without a rotation function: InvalidRequestException, as on AWS.
 *
 * Differences the layer leaves alone (why they do not matter, and where they are covered if anywhere):
 * 12. Tags are not compare-and-swap — on AWS either: ADR 0003 reads the lease back; nothing to emulate.
 * 13b. MoveToVersionId onto a deprecated version: the layer does not answer it from the versions it keeps — the
 *     rotator never moves a label onto an unlabelled version.
 * 14. RotateSecret while another version is AWSPENDING: AWS refuses, LocalStack re-invokes the function first; the
 *     rotator never calls RotateSecret (Secrets Manager calls the rotation function).
 * 15. The function RotateSecret registers is not run by the emulator: the rotation-function tests call the steps.
 * 16. A DISABLED EventBridge rule still delivers; IAM, queue and KMS policies are not enforced; SQS re-queues on a
 *     1 s tick; account 000000000000 — ADR 0002 (tests use long polls, set the policies AWS needs, never disable).
 * 17. DescribeSecret never returns ExternalSecretRotationMetadata (AWS-managed external rotation): the emulator
 *     drops it. Its reading is unit-tested (test/unit/domain/rotation-metadata.test.ts); the adapter's mapping of
 *     the wire field is not exercised against an endpoint.
 * 18. Tag keys (1–128) and values (0–256) and their characters are not checked by LocalStack; AWS refuses others.
 *     The lease and intent tags stay within AWS's rules for the longest token (test/unit/domain/rotation.test.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { routeToQueue } from './support/event-routing.js';
import { registerRotationFunction } from './support/rotation-lambda.js';

const region = 'us-east-1';
const suffix = randomUUID().slice(0, 8);

// The integration project may not list setup-env.ts in setupFiles yet: apply the same defaults here.
process.env.AWS_ENDPOINT_URL = inject('awsEndpoint');
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

let sm: SecretsManagerClient;
/** The emulator itself, bypassing the semantics layer: only to prove that a gap the layer closes is real. */
let raw: SecretsManagerClient;
let sqs: SQSClient;
let eb: EventBridgeClient;
const queues: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(() => {
  sm = new SecretsManagerClient({ region });
  raw = new SecretsManagerClient({ region, endpoint: inject('awsEmulatorEndpoint') });
  sqs = new SQSClient({ region });
  eb = new EventBridgeClient({ region });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  for (const QueueUrl of queues) await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined);
  sm.destroy();
  raw.destroy();
  sqs.destroy();
  eb.destroy();
});

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`no QueueUrl for ${name}`);
  queues.push(QueueUrl);
  return QueueUrl;
}

async function queueArn(QueueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`no QueueArn for ${QueueUrl}`);
  return arn;
}

async function receive(QueueUrl: string, waitSeconds: number, max = 10): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

describe('Secrets Manager: the rotation protocol', () => {
  const name = `semantics/secret-${suffix}`;
  const v1 = randomUUID();
  const v2 = randomUUID();

  it('CreateSecret keeps ClientRequestToken as VersionId, labels it AWSCURRENT and stores tags', async () => {
    const created = await sm.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: '{"v":1}',
        ClientRequestToken: v1,
        Tags: [
          { Key: 'team', Value: 'identity' },
          { Key: 'rotation', Value: 'atlas' },
        ],
      }),
    );
    cleanups.push(() =>
      sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true })),
    );
    expect(created.VersionId).toBe(v1);
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:/);

    const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({ [v1]: ['AWSCURRENT'] });
    expect(described.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'team', Value: 'identity' },
        { Key: 'rotation', Value: 'atlas' },
      ]),
    );
  });

  it('PutSecretValue(ClientRequestToken, [AWSPENDING]) adds a pending version; a retry is idempotent', async () => {
    const put = () =>
      sm.send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretString: '{"v":2}',
          ClientRequestToken: v2,
          VersionStages: ['AWSPENDING'],
        }),
      );
    const first = await put();
    expect(first.VersionId).toBe(v2);
    expect(first.VersionStages).toEqual(['AWSPENDING']);
    const retry = await put();
    expect(retry.VersionId).toBe(v2);

    // The same token with a different value is not a retry: versions are immutable. LocalStack refuses this for
    // the AWSCURRENT version itself; for an AWSPENDING one only the semantics layer does (difference 1, below).
    await expect(
      sm.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: '{"v":"other"}', ClientRequestToken: v1 }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });

    const described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
  });

  it('GetSecretValue by VersionStage and by VersionId', async () => {
    const pending = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }));
    expect(pending).toMatchObject({ SecretString: '{"v":2}', VersionId: v2, VersionStages: ['AWSPENDING'] });
    const current = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
    expect(current).toMatchObject({ SecretString: '{"v":1}', VersionId: v1 });
    const byId = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: v2 }));
    expect(byId).toMatchObject({ SecretString: '{"v":2}', VersionId: v2 });
    const byDefault = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(byDefault.VersionId).toBe(v1);
  });

  it('TagResource adds and overwrites tags; UntagResource removes them', async () => {
    await sm.send(
      new TagResourceCommand({
        SecretId: name,
        Tags: [
          { Key: 'env', Value: 'ci' },
          { Key: 'team', Value: 'platform' },
        ],
      }),
    );
    await sm.send(new UntagResourceCommand({ SecretId: name, TagKeys: ['rotation'] }));
    const { Tags } = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    const tags = Object.fromEntries((Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toEqual({ team: 'platform', env: 'ci' });
  });

  it('UpdateSecretVersionStage moves AWSCURRENT (old version becomes AWSPREVIOUS), then removes AWSPENDING', async () => {
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: v2,
        RemoveFromVersionId: v1,
      }),
    );
    let described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages?.[v1]).toEqual(['AWSPREVIOUS']);
    expect([...(described.VersionIdsToStages?.[v2] ?? [])].sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);

    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: v2,
      }),
    );
    described = await sm.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });

    // With no VersionStage, GetSecretValue returns AWSCURRENT (moto alone gets this wrong: ADR 0002).
    const byDefault = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    expect(byDefault).toMatchObject({ SecretString: '{"v":2}', VersionId: v2 });
    const previous = await sm.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous).toMatchObject({ SecretString: '{"v":1}', VersionId: v1 });
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

/** A secret with version `current` (AWSCURRENT) and, when given, `pending` (AWSPENDING); removed after the run. */
async function aSecret(
  label: string,
  versions: { current: string; pending?: string },
  client: SecretsManagerClient = sm,
): Promise<string> {
  const name = `semantics/${label}-${randomUUID().slice(0, 8)}`;
  const { ARN } = await client.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: '{"v":"current"}',
      ClientRequestToken: versions.current,
    }),
  );
  if (!ARN) throw new Error(`no ARN for ${name}`);
  cleanups.push(() => sm.send(new DeleteSecretCommand({ SecretId: ARN, ForceDeleteWithoutRecovery: true })));
  if (versions.pending !== undefined) {
    await client.send(
      new PutSecretValueCommand({
        SecretId: ARN,
        SecretString: '{"v":"pending"}',
        ClientRequestToken: versions.pending,
        VersionStages: ['AWSPENDING'],
      }),
    );
  }
  return ARN;
}

/** The name in a secret ARN (`…:secret:<name>-<6 random characters>`). */
function nameOf(arn: string): string {
  return arn.replace(/^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:/, '').replace(/-[A-Za-z0-9]{6}$/, '');
}

async function stages(client: SecretsManagerClient, SecretId: string) {
  return (await client.send(new DescribeSecretCommand({ SecretId }))).VersionIdsToStages ?? {};
}

async function versionList(client: SecretsManagerClient, SecretId: string, IncludeDeprecated: boolean) {
  return (await client.send(new ListSecretVersionIdsCommand({ SecretId, IncludeDeprecated }))).Versions ?? [];
}

async function versionValue(client: SecretsManagerClient, SecretId: string, VersionId: string) {
  return (await client.send(new GetSecretValueCommand({ SecretId, VersionId }))).SecretString;
}

function putValue(
  client: SecretsManagerClient,
  SecretId: string,
  token: string,
  value: string,
  stage?: string,
) {
  return client.send(
    new PutSecretValueCommand({
      SecretId,
      ClientRequestToken: token,
      SecretString: value,
      VersionStages: [stage ?? 'AWSPENDING'],
    }),
  );
}

describe('Secrets Manager: where LocalStack differs from AWS, the semantics layer answers as AWS does', () => {
  it('refuses PutSecretValue with the token of a valued AWSPENDING version and another value, keeping the value (1)', async () => {
    const [current, pending] = [randomUUID(), randomUUID()];
    const arn = await aSecret('immutable', { current, pending });

    const refused = await putValue(sm, arn, pending, '{"v":"other"}').catch((e: unknown) => e);
    expect(refused).toMatchObject({
      name: 'ResourceExistsException',
      $metadata: { httpStatusCode: 400 },
      message: `You can't use ClientRequestToken ${pending} because that value is already in use for a version of secret ${arn}.`,
    });
    expect(await versionValue(sm, arn, pending)).toBe('{"v":"pending"}');
    expect(await stages(sm, arn)).toEqual({ [current]: ['AWSCURRENT'], [pending]: ['AWSPENDING'] });
  });

  it('lets exactly one of two simultaneous PutSecretValue calls with one token and different values succeed (2)', async () => {
    const current = randomUUID();
    const arn = await aSecret('race', { current });
    for (let round = 0; round < 3; round++) {
      const token = randomUUID();
      // One caller names the secret by ARN, the other by name: the layer serialises per secret, not per string.
      const results = await Promise.allSettled([
        putValue(sm, arn, token, '{"v":"a"}'),
        putValue(sm, nameOf(arn), token, '{"v":"b"}'),
      ]);
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won, `round ${round}`).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect(lost?.status === 'rejected' && lost.reason).toMatchObject({ name: 'ResourceExistsException' });
      expect(await versionValue(sm, arn, token)).toBe(won[0] === 0 ? '{"v":"a"}' : '{"v":"b"}');
    }
  });

  it('ignores a repeated PutSecretValue (same token and value): the labels stay where they are (3)', async () => {
    const [current, pending] = [randomUUID(), randomUUID()];
    const arn = await aSecret('ignored', { current, pending });

    const again = await putValue(sm, arn, pending, '{"v":"pending"}', 'AWSCURRENT');
    expect(again.VersionId).toBe(pending);
    expect(await stages(sm, arn)).toEqual({ [current]: ['AWSCURRENT'], [pending]: ['AWSPENDING'] });
  });

  it('keeps a version whose last label was removed: readable by VersionId, its token spent (4)', async () => {
    const [current, rolledBack, moved, next] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const arn = await aSecret('deprecated', { current, pending: rolledBack });

    // A rollback: AWSPENDING removed from the only label the version had.
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: arn,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: rolledBack,
      }),
    );
    expect(await stages(sm, arn)).toEqual({ [current]: ['AWSCURRENT'] }); // DescribeSecret: labelled only
    expect(await versionValue(sm, arn, rolledBack)).toBe('{"v":"pending"}');
    await expect(putValue(sm, arn, rolledBack, '{"v":"reused"}')).rejects.toMatchObject({
      name: 'ResourceExistsException',
    });
    expect((await putValue(sm, arn, rolledBack, '{"v":"pending"}')).VersionId).toBe(rolledBack);
    expect(await stages(sm, arn)).toEqual({ [current]: ['AWSCURRENT'] });

    // A newer AWSPENDING takes the label from the only version that had it.
    await putValue(sm, arn, moved, '{"v":"moved"}');
    await putValue(sm, arn, next, '{"v":"next"}');
    expect(await stages(sm, arn)).toEqual({ [current]: ['AWSCURRENT'], [next]: ['AWSPENDING'] });
    expect(await versionValue(sm, arn, moved)).toBe('{"v":"moved"}');
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: moved, VersionStage: 'AWSPENDING' })),
    ).rejects.toMatchObject({
      name: expect.stringMatching(/InvalidRequestException|ResourceNotFoundException/),
    });
  });

  it('lists a version whose last label was removed in ListSecretVersionIds(IncludeDeprecated), with its CreatedDate (13)', async () => {
    const [current, rolledBack] = [randomUUID(), randomUUID()];
    const arn = await aSecret('list-deprecated', { current, pending: rolledBack });
    const before = await versionList(sm, arn, true);
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: arn,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: rolledBack,
      }),
    );

    const all = await versionList(sm, arn, true);
    expect(all.map((v) => [v.VersionId, v.VersionStages]).sort()).toEqual(
      [
        [current, ['AWSCURRENT']],
        [rolledBack, []],
      ].sort(),
    );
    const listedBefore = before.find((v) => v.VersionId === rolledBack)?.CreatedDate;
    const listedAfter = all.find((v) => v.VersionId === rolledBack)?.CreatedDate;
    expect(listedAfter).toBeInstanceOf(Date);
    expect(Math.abs((listedAfter?.getTime() ?? 0) - (listedBefore?.getTime() ?? 0))).toBeLessThan(1000);
    expect((await versionList(sm, arn, false)).map((v) => v.VersionId)).toEqual([current]);
  });

  it('refuses to move any label that another version holds without RemoveFromVersionId (5)', async () => {
    const [current, pending] = [randomUUID(), randomUUID()];
    const arn = await aSecret('move', { current, pending });
    await expect(
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: 'AWSPENDING',
          MoveToVersionId: current,
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining(
        `Staging label AWSPENDING is currently attached to version ${pending}`,
      ),
    });
    expect(await stages(sm, arn)).toEqual({ [current]: ['AWSCURRENT'], [pending]: ['AWSPENDING'] });

    // With RemoveFromVersionId the same move is fine.
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: arn,
        VersionStage: 'AWSPENDING',
        MoveToVersionId: current,
        RemoveFromVersionId: pending,
      }),
    );
    expect([...((await stages(sm, arn))[current] ?? [])].sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
  });

  it('RotateSecret registers the token as a valueless AWSPENDING version that PutSecretValue fills once (6)', async () => {
    const fn = await registerRotationFunction(inject('awsEndpoint'), `semantics-rotation-${suffix}`);
    cleanups.push(() => fn.remove());
    const current = randomUUID();
    const arn = await aSecret('rotate', { current });
    const token = randomUUID();

    const rotated = await sm.send(
      new RotateSecretCommand({ SecretId: arn, ClientRequestToken: token, RotationLambdaARN: fn.arn }),
    );
    expect(rotated.VersionId).toBe(token);
    expect(await stages(sm, arn)).toEqual({ [current]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
    await expect(versionValue(sm, arn, token)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    // The rotation function's createSecret: PutSecretValue with the token fills the placeholder …
    await putValue(sm, arn, token, '{"v":"rotated"}');
    expect(await versionValue(sm, arn, token)).toBe('{"v":"rotated"}');
    expect(await stages(sm, arn)).toEqual({ [current]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
    // … once: from then on the version is immutable like any other.
    await expect(putValue(sm, arn, token, '{"v":"other"}')).rejects.toMatchObject({
      name: 'ResourceExistsException',
    });
    expect(await versionValue(sm, arn, token)).toBe('{"v":"rotated"}');
  });

  it('refuses RemoveFromVersionId naming a version that does not hold the label (7) and a bare AWSCURRENT move (8)', async () => {
    const [current, pending] = [randomUUID(), randomUUID()];
    const arn = await aSecret('remove', { current, pending });
    await expect(
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: pending,
          RemoveFromVersionId: pending,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: current,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: pending,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    expect(await stages(sm, arn)).toEqual({ [current]: ['AWSCURRENT'], [pending]: ['AWSPENDING'] });
  });

  it('refuses a ClientRequestToken shorter than 32 or longer than 64 characters (9)', async () => {
    const arn = await aSecret('token', { current: randomUUID() });
    for (const token of ['t'.repeat(31), 't'.repeat(65)]) {
      await expect(putValue(sm, arn, token, '{"v":"x"}')).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
    }
    for (const token of ['t'.repeat(32), 't'.repeat(64)]) {
      expect((await putValue(sm, arn, token, `{"v":"${token.length}"}`)).VersionId).toBe(token);
    }
  });

  it('refuses RotateSecret without a rotation function (11)', async () => {
    const arn = await aSecret('no-function', { current: randomUUID() });
    await expect(
      sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: randomUUID() })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException' });
  });
});

describe('Secrets Manager on the bare emulator: the gaps the semantics layer closes are real', () => {
  it('LocalStack overwrites a valued AWSPENDING version, also twice at once (1, 2)', async () => {
    const [current, pending] = [randomUUID(), randomUUID()];
    const arn = await aSecret('raw-immutable', { current, pending }, raw);
    await putValue(raw, arn, pending, '{"v":"other"}');
    expect(await versionValue(raw, arn, pending)).toBe('{"v":"other"}');

    const token = randomUUID();
    const results = await Promise.allSettled([
      putValue(raw, arn, token, '{"v":"a"}'),
      putValue(raw, arn, token, '{"v":"b"}'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
  });

  it('LocalStack re-applies VersionStages when a PutSecretValue repeats an AWSPENDING version (3)', async () => {
    const [current, pending] = [randomUUID(), randomUUID()];
    const arn = await aSecret('raw-ignored', { current, pending }, raw);
    await putValue(raw, arn, pending, '{"v":"pending"}', 'AWSCURRENT');
    expect((await stages(raw, arn))[pending]).toEqual(['AWSCURRENT']);
  });

  it('LocalStack deletes a version as soon as its last label is gone, so its token can be used again (4)', async () => {
    const [current, rolledBack] = [randomUUID(), randomUUID()];
    const arn = await aSecret('raw-deprecated', { current, pending: rolledBack }, raw);
    await raw.send(
      new UpdateSecretVersionStageCommand({
        SecretId: arn,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: rolledBack,
      }),
    );
    await expect(versionValue(raw, arn, rolledBack)).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await putValue(raw, arn, rolledBack, '{"v":"reused"}');
    expect(await versionValue(raw, arn, rolledBack)).toBe('{"v":"reused"}');
  });

  it('LocalStack no longer lists a version whose last label went, even with IncludeDeprecated (13)', async () => {
    const [current, rolledBack] = [randomUUID(), randomUUID()];
    const arn = await aSecret('raw-list-deprecated', { current, pending: rolledBack }, raw);
    await raw.send(
      new UpdateSecretVersionStageCommand({
        SecretId: arn,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: rolledBack,
      }),
    );
    expect((await versionList(raw, arn, true)).map((v) => v.VersionId)).toEqual([current]);
  });

  it('LocalStack moves AWSPENDING held by another version without RemoveFromVersionId, onto two versions (5)', async () => {
    const [current, pending] = [randomUUID(), randomUUID()];
    const arn = await aSecret('raw-move', { current, pending }, raw);
    await raw.send(
      new UpdateSecretVersionStageCommand({
        SecretId: arn,
        VersionStage: 'AWSPENDING',
        MoveToVersionId: current,
      }),
    );
    const labelled = await stages(raw, arn);
    expect(labelled[current]).toContain('AWSPENDING');
    expect(labelled[pending]).toContain('AWSPENDING');
  });
});

describe('SQS', () => {
  it('standard queue: send with attributes, receive, ChangeMessageVisibility, delete', async () => {
    const url = await createQueue(`semantics-std-${suffix}`, { VisibilityTimeout: '30' });
    // Queue URLs must point at the endpoint itself (no *.localstack.cloud DNS name).
    expect(new URL(url).host).toBe(new URL(inject('awsEndpoint')).host);

    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"secretId":"s"}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'rotate' } },
      }),
    );
    const first = only(await receive(url, 1));
    expect(first.Body).toBe('{"secretId":"s"}');
    expect(first.MessageAttributes?.kind?.StringValue).toBe('rotate');
    expect(first.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(await receive(url, 0)).toHaveLength(0); // in flight for 30 s

    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: first.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const second = only(await receive(url, 1));
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.Attributes?.ApproximateReceiveCount).toBe('2');

    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle }));
    expect(await receive(url, 1)).toHaveLength(0);
  });

  it('an unacknowledged message comes back after its visibility timeout', async () => {
    const url = await createQueue(`semantics-vis-${suffix}`, { VisibilityTimeout: '2' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'again' }));
    const started = Date.now();
    const first = only(await receive(url, 1));
    // Long poll instead of a fixed sleep: LocalStack re-queues expired messages on a 1 s tick (ADR 0002).
    const again = only(await receive(url, 6));
    const elapsed = Date.now() - started;
    expect(again.MessageId).toBe(first.MessageId);
    expect(again.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('FIFO queue: group id required, deduplication, order and one in-flight batch per group', async () => {
    const url = await createQueue(`semantics-fifo-${suffix}.fifo`, { FifoQueue: 'true' });
    const send = (body: string, dedup: string, group: string) =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: body,
          MessageDeduplicationId: dedup,
          MessageGroupId: group,
        }),
      );
    const a1 = await send('a1', 'd1', 'A');
    const retry = await send('a1', 'd1', 'A'); // deduplicated: same MessageId, not delivered twice
    expect(retry.MessageId).toBe(a1.MessageId);
    await send('a2', 'd2', 'A');
    await send('b1', 'd3', 'B');
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd4' })),
    ).rejects.toMatchObject({ name: 'MissingParameter' });

    const batch = await receive(url, 1);
    expect(batch.map((m) => m.Body)).toEqual(['a1', 'a2', 'b1']);
    expect(batch.every((m) => m.Attributes?.SequenceNumber && m.Attributes.MessageGroupId)).toBe(true);

    // Make a1 and a2 visible again: group A is redelivered in its original order.
    const [m1, m2, b1] = batch as [Message, Message, Message];
    for (const m of [m1, m2]) {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    const redelivered = await receive(url, 1);
    expect(redelivered.map((m) => m.Body)).toEqual(['a1', 'a2']);
    for (const m of [...redelivered, b1]) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
    expect(await receive(url, 0)).toHaveLength(0);
  });

  it('redrives to the dead-letter queue after maxReceiveCount receives', async () => {
    const dlq = await createQueue(`semantics-dlq-${suffix}`);
    const src = await createQueue(`semantics-src-${suffix}`, {
      VisibilityTimeout: '1',
    });
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: src,
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(dlq), maxReceiveCount: 2 }),
        },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: src, MessageBody: 'poison' }));

    expect(only(await receive(src, 1)).Attributes?.ApproximateReceiveCount).toBe('1');
    expect(only(await receive(src, 5)).Attributes?.ApproximateReceiveCount).toBe('2');
    // The third receive finds the count exhausted: the message moves to the DLQ instead of being delivered.
    expect(await receive(src, 3)).toHaveLength(0);
    const dead = only(await receive(dlq, 5));
    expect(dead.Body).toBe('poison');
  });
});

describe('EventBridge', () => {
  it('custom bus + rule + SQS target delivers matching PutEvents entries', async () => {
    const bus = `semantics-bus-${suffix}`;
    const rule = `semantics-rule-${suffix}`;
    const target = await createQueue(`semantics-events-${suffix}`);
    const targetArn = await queueArn(target);
    const { EventBusArn } = await eb.send(new CreateEventBusCommand({ Name: bus }));
    cleanups.push(() => eb.send(new DeleteEventBusCommand({ Name: bus })));
    expect(EventBusArn).toMatch(new RegExp(`^arn:aws:events:us-east-1:\\d{12}:event-bus/${bus}$`));

    // With the queue policy AWS needs for delivery; emulators do not check it (ADR 0002).
    const targets = await routeToQueue(
      { sqs, eventBridge: eb },
      {
        bus,
        rule,
        pattern: {
          source: ['atlas-rotator'],
          'detail-type': ['SecretRotated'],
          detail: { attempt: [{ numeric: ['>', 0] }] },
        },
        queue: { url: target, arn: targetArn },
        targetId: 'queue',
      },
      cleanups,
    );
    expect(targets.FailedEntryCount).toBe(0);

    const put = await eb.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: bus,
            Source: 'atlas-rotator',
            DetailType: 'SecretRotated',
            Detail: '{"attempt":1}',
          },
          {
            EventBusName: bus,
            Source: 'atlas-rotator',
            DetailType: 'SecretRotated',
            Detail: '{"attempt":0}',
          },
          { EventBusName: bus, Source: 'someone-else', DetailType: 'SecretRotated', Detail: '{"attempt":2}' },
          {
            EventBusName: bus,
            Source: 'atlas-rotator',
            DetailType: 'RotationFailed',
            Detail: '{"attempt":3}',
          },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    expect(put.Entries).toHaveLength(4);
    expect(put.Entries?.every((e) => typeof e.EventId === 'string' && e.EventId.length > 0)).toBe(true);

    // Delivery is asynchronous: long poll for it, then make sure nothing else arrives.
    const delivered = only(await receive(target, 5));
    const envelope = JSON.parse(delivered.Body ?? '{}') as Record<string, unknown>;
    expect(envelope).toMatchObject({
      id: put.Entries?.[0]?.EventId,
      source: 'atlas-rotator',
      'detail-type': 'SecretRotated',
      region,
      detail: { attempt: 1 },
    });
    expect(envelope.account).toMatch(/^\d{12}$/);
    expect(Number.isNaN(Date.parse(String(envelope.time)))).toBe(false);
    expect(await receive(target, 2)).toHaveLength(0);
  });
});
