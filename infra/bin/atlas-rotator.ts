#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AtlasRotatorMessagingStack } from '../lib/atlas-rotator-messaging-stack.js';
import { AtlasRotatorStack } from '../lib/atlas-rotator-stack.js';
import { messagingOnlyFromContext, stackPropsFromContext } from '../lib/context.js';

const app = new App();
const get = (key: string): unknown => app.node.tryGetContext(key);
const props = stackPropsFromContext(get);
const messagingOnly = messagingOnlyFromContext(get);
// Environment-agnostic unless the CLI knows the account (credentials) — vpcId lookups need it.
const env = {
  ...(process.env.CDK_DEFAULT_ACCOUNT === undefined ? {} : { account: process.env.CDK_DEFAULT_ACCOUNT }),
  ...(process.env.CDK_DEFAULT_REGION === undefined ? {} : { region: process.env.CDK_DEFAULT_REGION }),
};
const stackName = app.node.tryGetContext('stackName') as unknown;
if (messagingOnly) {
  // The queue, DLQ, bus and request rule alone (what the emulator proof deploys); you run the worker.
  const { queueType, queueEncryption, maxReceiveCount, visibilityTimeout, eventBus, eventBusName } = props;
  const { requestSources, requestSenders } = props;
  new AtlasRotatorMessagingStack(app, String(stackName ?? 'AtlasRotatorMessaging'), {
    ...(queueType === undefined ? {} : { queueType }),
    ...(queueEncryption === undefined ? {} : { queueEncryption }),
    ...(maxReceiveCount === undefined ? {} : { maxReceiveCount }),
    ...(visibilityTimeout === undefined ? {} : { visibilityTimeout }),
    ...(eventBus === undefined ? {} : { eventBus }),
    ...(eventBusName === undefined ? {} : { eventBusName }),
    ...(requestSources === undefined ? {} : { requestSources }),
    ...(requestSenders === undefined ? {} : { requestSenders }),
    env,
    description: 'atlas-rotator messaging: request queue, DLQ, event bus and request rule (no worker)',
  });
} else {
  new AtlasRotatorStack(app, String(stackName ?? 'AtlasRotator'), {
    ...props,
    env,
    description: 'atlas-rotator: rotates MongoDB Atlas service-account secrets kept in AWS Secrets Manager',
  });
}
// cdk-nag 3 is a policy-validation plugin: synth fails on any finding not acknowledged in the stack.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
