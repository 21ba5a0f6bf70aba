import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DETAIL_TYPE_FAILED } from './contract.js';

export interface RotationAlarmsProps {
  readonly deadLetterQueue: sqs.IQueue;
  /** The bus the service publishes its events on. */
  readonly eventBus: events.IEventBus;
  readonly eventSource: string;
  readonly workerLogGroup: logs.ILogGroup;
  /** The Lambda worker, for its Errors metric (crashes and timeouts; handled failures are batch items). */
  readonly workerFunction: lambda.IFunction | undefined;
  /** The scheduled sweep's function (Lambda runtime): it fails when the sweep leaves a secret unsettled. */
  readonly sweepFunction?: lambda.IFunction | undefined;
  /** The scheduled sweep's ECS tasks (Fargate runtime): their cluster and task group. */
  readonly sweepTask?: { readonly cluster: ecs.ICluster; readonly group: string } | undefined;
  readonly alarmTopic: sns.ITopic | undefined;
  readonly logRetention: logs.RetentionDays;
}

/** Namespace of the metrics this stack derives from logs. */
export const METRIC_NAMESPACE = 'AtlasRotator';

/**
 * Alarms an operator acts on: a request in the DLQ, a rotation that failed for good, worker errors, and a
 * failed scheduled sweep.
 * Final failures also land in a log group (the failed events as published), which is what the failure
 * alarm counts: a rule's Invocations metric needs a target.
 */
export class RotationAlarms extends Construct {
  readonly deadLetterAlarm: cloudwatch.Alarm;
  readonly finalFailureAlarm: cloudwatch.Alarm;
  readonly workerErrorLogAlarm: cloudwatch.Alarm;
  readonly workerErrorAlarm: cloudwatch.Alarm | undefined;
  /** The scheduled sweep failed (function error, or its ECS task stopped with a non-zero exit code). */
  readonly sweepFailedAlarm: cloudwatch.Alarm | undefined;
  /** Fargate: the sweep tasks' `ECS Task State Change` events of failed runs, and where they are kept. */
  readonly sweepTaskFailedRule: events.Rule | undefined;
  readonly sweepTaskFailureLogGroup: logs.LogGroup | undefined;
  readonly finalFailureRule: events.Rule;
  readonly finalFailureLogGroup: logs.LogGroup;
  /** Lets EventBridge (for that rule only) write to the final-failure log group. */
  readonly finalFailureLogPolicy: logs.ResourcePolicy;

  constructor(scope: Construct, id: string, props: RotationAlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
      alarmDescription:
        'atlas-rotator: a rotation request reached the dead-letter queue (its failure event was published; ' +
        'inspect the message, fix the cause, redrive or delete it)',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.finalFailureLogGroup = new logs.LogGroup(this, 'FinalFailureLog', {
      retention: props.logRetention,
    });
    this.finalFailureRule = new events.Rule(this, 'FinalFailureRule', {
      description: 'atlas-rotator: rotations that failed for good (final: true)',
      eventBus: props.eventBus,
      eventPattern: {
        source: [props.eventSource],
        detailType: [DETAIL_TYPE_FAILED],
        detail: { final: [true] },
      },
    });
    const logGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: this.finalFailureLogGroup.logGroupName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    // A native resource policy instead of aws-events-targets' CloudWatchLogGroup, whose policy is a custom
    // resource (a Lambda function with its own role) for no gain here.
    this.finalFailureLogPolicy = new logs.ResourcePolicy(this, 'FinalFailureLogPolicy', {
      policyStatements: [
        new iam.PolicyStatement({
          sid: 'EventBridgeWritesFinalFailures',
          principals: [
            new iam.ServicePrincipal('events.amazonaws.com'),
            new iam.ServicePrincipal('delivery.logs.amazonaws.com'),
          ],
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.finalFailureLogGroup.logGroupArn],
          conditions: { ArnEquals: { 'aws:SourceArn': this.finalFailureRule.ruleArn } },
        }),
      ],
    });
    this.finalFailureRule.addTarget({ bind: () => ({ arn: logGroupArn }) });
    this.finalFailureAlarm = new cloudwatch.Alarm(this, 'RotationFailedForGood', {
      alarmDescription:
        'atlas-rotator: a rotation failed for good (Atlas Secret Rotation Failed, final: true); ' +
        'the events are in the final-failure log group',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'Invocations',
        dimensionsMap: { RuleName: this.finalFailureRule.ruleName },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const errorLines = new logs.MetricFilter(this, 'WorkerErrorLines', {
      logGroup: props.workerLogGroup,
      filterPattern: logs.FilterPattern.stringValue('$.level', '=', 'error'),
      metricNamespace: METRIC_NAMESPACE,
      metricName: `WorkerErrorLines-${stack.stackName}`,
      metricValue: '1',
      defaultValue: 0,
    });
    this.workerErrorLogAlarm = new cloudwatch.Alarm(this, 'WorkerLoggedErrors', {
      alarmDescription: 'atlas-rotator: the worker logged errors (level=error)',
      metric: errorLines.metric({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.workerErrorAlarm =
      props.workerFunction === undefined
        ? undefined
        : new cloudwatch.Alarm(this, 'WorkerFunctionErrors', {
            alarmDescription: 'atlas-rotator: the worker function crashed or timed out',
            metric: props.workerFunction.metricErrors({
              statistic: cloudwatch.Stats.SUM,
              period: Duration.minutes(5),
            }),
            threshold: 0,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          });

    if (props.sweepFunction !== undefined) {
      this.sweepFailedAlarm = new cloudwatch.Alarm(this, 'SweepFailed', {
        alarmDescription:
          'atlas-rotator: the scheduled sweep failed (a secret it could not settle, listing failed, or a ' +
          'crash or timeout); its report is the JSON line in the sweep function log',
        metric: props.sweepFunction.metricErrors({
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(5),
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    } else if (props.sweepTask !== undefined) {
      // ECS publishes task state changes on the account's default bus only. A sweep task that stopped with a
      // non-zero exit code (`atlas-rotator sweep` exits 1, 2 or 75 when it fails) or never started is kept in
      // a log group, and counted — as the final failures are: a rule's Invocations metric needs a target.
      this.sweepTaskFailureLogGroup = new logs.LogGroup(this, 'SweepTaskFailureLog', {
        retention: props.logRetention,
      });
      this.sweepTaskFailedRule = new events.Rule(this, 'SweepTaskFailedRule', {
        description: 'atlas-rotator: scheduled sweep tasks that stopped with a failure',
        eventPattern: {
          source: ['aws.ecs'],
          detailType: ['ECS Task State Change'],
          detail: {
            clusterArn: [props.sweepTask.cluster.clusterArn],
            group: [props.sweepTask.group],
            lastStatus: ['STOPPED'],
            $or: [{ containers: { exitCode: [{ 'anything-but': 0 }] } }, { stopCode: ['TaskFailedToStart'] }],
          },
        },
      });
      this.finalFailureLogPolicy.document.addStatements(
        new iam.PolicyStatement({
          sid: 'EventBridgeWritesSweepTaskFailures',
          principals: [
            new iam.ServicePrincipal('events.amazonaws.com'),
            new iam.ServicePrincipal('delivery.logs.amazonaws.com'),
          ],
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.sweepTaskFailureLogGroup.logGroupArn],
          conditions: { ArnEquals: { 'aws:SourceArn': this.sweepTaskFailedRule.ruleArn } },
        }),
      );
      const sweepLogArn = stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: this.sweepTaskFailureLogGroup.logGroupName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      this.sweepTaskFailedRule.addTarget({ bind: () => ({ arn: sweepLogArn }) });
      this.sweepFailedAlarm = new cloudwatch.Alarm(this, 'SweepFailed', {
        alarmDescription:
          'atlas-rotator: a scheduled sweep task failed (exit code 1: a secret it could not settle for good, ' +
          '75: failures that may pass, 2: configuration) or did not start; the task events are in the ' +
          'sweep-task failure log group, the sweep report in the worker log (stream prefix worker)',
        metric: new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'Invocations',
          dimensionsMap: { RuleName: this.sweepTaskFailedRule.ruleName },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(5),
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    if (props.alarmTopic !== undefined) {
      const action = new actions.SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  get alarms(): cloudwatch.Alarm[] {
    return [
      this.deadLetterAlarm,
      this.finalFailureAlarm,
      this.workerErrorLogAlarm,
      this.workerErrorAlarm,
      this.sweepFailedAlarm,
    ].filter((alarm): alarm is cloudwatch.Alarm => alarm !== undefined);
  }
}
