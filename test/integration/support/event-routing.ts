/**
 * Bus-to-queue routing on the AWS endpoint, as the integration tests set it up: a queue known by URL and ARN,
 * and a rule on a bus delivering to it. Whatever is created registers its removal in `cleanups`, which the
 * caller runs in reverse order (so targets go before their rule, and the rule before its queue).
 */
import {
  DeleteRuleCommand,
  type EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  type PutTargetsCommandOutput,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export type Cleanups = (() => Promise<unknown>)[];

export interface QueueRef {
  readonly url: string;
  readonly arn: string;
}

/** Creates a queue (deleted by `cleanups`) and reads its ARN. */
export async function createQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
  cleanups: Cleanups,
): Promise<QueueRef> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (QueueUrl === undefined) throw new Error(`no QueueUrl for ${name}`);
  cleanups.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl })));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (arn === undefined) throw new Error(`no QueueArn for ${name}`);
  return { url: QueueUrl, arn };
}

/**
 * A rule `rule` on `bus` matching `pattern`, with `queue` as its target `targetId`, and the queue policy AWS
 * needs for the rule to deliver (emulators do not check it, ADR 0002). Returns what PutTargets answered, for
 * the caller to check.
 */
export async function routeToQueue(
  clients: { readonly sqs: SQSClient; readonly eventBridge: EventBridgeClient },
  route: {
    readonly bus: string;
    readonly rule: string;
    readonly pattern: Record<string, unknown>;
    readonly queue: QueueRef;
    readonly targetId: string;
  },
  cleanups: Cleanups,
): Promise<PutTargetsCommandOutput> {
  const { sqs, eventBridge } = clients;
  const { bus, rule, queue, targetId } = route;
  const { RuleArn } = await eventBridge.send(
    new PutRuleCommand({ Name: rule, EventBusName: bus, EventPattern: JSON.stringify(route.pattern) }),
  );
  cleanups.push(() => eventBridge.send(new DeleteRuleCommand({ Name: rule, EventBusName: bus })));
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queue.url,
      Attributes: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: queue.arn,
              Condition: { ArnEquals: { 'aws:SourceArn': RuleArn } },
            },
          ],
        }),
      },
    }),
  );
  cleanups.push(() =>
    eventBridge.send(new RemoveTargetsCommand({ Rule: rule, EventBusName: bus, Ids: [targetId] })),
  );
  return eventBridge.send(
    new PutTargetsCommand({ Rule: rule, EventBusName: bus, Targets: [{ Id: targetId, Arn: queue.arn }] }),
  );
}
