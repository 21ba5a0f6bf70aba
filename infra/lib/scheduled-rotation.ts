import { createHash } from 'node:crypto';
import { Stack, TimeZone } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DETAIL_TYPE_REQUESTED } from './contract.js';

/** The same rule the service applies to `secretId` (src/adapters/inbound/sqs/parse-rotation-request.ts). */
const SECRET_ID = /^[A-Za-z0-9/_+=.@:-]{1,2048}$/;
/** SQS caps MessageGroupId at 128 characters. */
const MAX_GROUP_ID = 128;

export interface ScheduledRotationProps {
  /** EventBridge Scheduler expression: `cron(0 3 1 * ? *)`, `rate(30 days)`. */
  readonly expression: string;
  /** IANA time zone of a cron expression; UTC when absent. */
  readonly timeZone?: string;
  /** Secret names or ARNs to rotate, one schedule (and one request per run) each. */
  readonly secretIds: readonly string[];
  /**
   * `queue` (default): SendMessage straight to the request queue — on a FIFO queue with MessageGroupId =
   * the secret, so scheduled rotations of different secrets run in parallel. `bus`: PutEvents onto the
   * event bus, through the same rule as any other team's request.
   */
  readonly deliverTo?: 'queue' | 'bus';
}

/** Source of the request events the schedules put on the bus. */
export const SCHEDULE_EVENT_SOURCE = 'atlas-rotator.scheduler';

/** MessageGroupId for a secret on a FIFO queue: the id itself, or a digest of it when SQS would refuse it. */
export function messageGroupIdFor(secretId: string): string {
  if (secretId.length <= MAX_GROUP_ID) return secretId;
  return `sha256-${createHash('sha256').update(secretId).digest('hex')}`;
}

/** One EventBridge Scheduler schedule per secret, each sending the direct request shape `{secretId}`. */
export class ScheduledRotation extends Construct {
  readonly schedules: scheduler.Schedule[] = [];
  /** The role every schedule sends with (SendMessage or PutEvents, granted by the targets). */
  readonly role: iam.Role;

  constructor(
    scope: Construct,
    id: string,
    props: ScheduledRotationProps & {
      readonly queue: sqs.IQueue;
      readonly fifo: boolean;
      readonly eventBus: events.IEventBus;
    },
  ) {
    super(scope, id);
    if (props.secretIds.length === 0) throw new Error('scheduled rotation needs at least one secret id');
    if (!/^(rate|cron|at)\(.+\)$/.test(props.expression)) {
      throw new Error(`schedule "${props.expression}" must be rate(…), cron(…) or at(…)`);
    }
    const seen = new Set<string>();
    for (const secretId of props.secretIds) {
      if (!SECRET_ID.test(secretId)) {
        throw new Error(`scheduled secret id "${secretId}" is not a secret name or ARN`);
      }
      if (seen.has(secretId)) throw new Error(`scheduled secret id "${secretId}" is listed twice`);
      seen.add(secretId);
    }
    // One role of our own rather than the targets' stack-level singleton: it lives (and is reviewed) here.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'atlas-rotator scheduled rotation: sends rotation requests',
    });
    const expression = scheduler.ScheduleExpression.expression(
      props.expression,
      props.timeZone === undefined ? undefined : TimeZone.of(props.timeZone),
    );
    for (const secretId of props.secretIds) {
      const input = scheduler.ScheduleTargetInput.fromObject({ secretId, reason: 'scheduled rotation' });
      const target =
        props.deliverTo === 'bus'
          ? new targets.EventBridgePutEvents(
              {
                eventBus: props.eventBus,
                detailType: DETAIL_TYPE_REQUESTED,
                source: SCHEDULE_EVENT_SOURCE,
                detail: input,
              },
              { role: this.role },
            )
          : new targets.SqsSendMessage(props.queue, {
              input,
              role: this.role,
              ...(props.fifo ? { messageGroupId: messageGroupIdFor(secretId) } : {}),
            });
      // Named after the secret, not its position: reordering the list replaces nothing.
      const key = createHash('sha256').update(secretId).digest('hex').slice(0, 12);
      this.schedules.push(
        new scheduler.Schedule(this, `Rotate${key}`, {
          schedule: expression,
          target,
          description: `atlas-rotator: rotate ${secretId}`.slice(0, 512),
        }),
      );
    }
  }
}
