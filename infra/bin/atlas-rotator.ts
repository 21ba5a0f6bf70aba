#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AtlasRotatorStack } from '../lib/atlas-rotator-stack.js';
import { stackPropsFromContext } from '../lib/context.js';

const app = new App();
const props = stackPropsFromContext((key) => app.node.tryGetContext(key));
new AtlasRotatorStack(app, String(app.node.tryGetContext('stackName') ?? 'AtlasRotator'), {
  ...props,
  // Environment-agnostic unless the CLI knows the account (credentials) — vpcId lookups need it.
  env: {
    ...(process.env.CDK_DEFAULT_ACCOUNT === undefined ? {} : { account: process.env.CDK_DEFAULT_ACCOUNT }),
    ...(process.env.CDK_DEFAULT_REGION === undefined ? {} : { region: process.env.CDK_DEFAULT_REGION }),
  },
  description: 'atlas-rotator: rotates MongoDB Atlas service-account secrets kept in AWS Secrets Manager',
});
// cdk-nag 3 is a policy-validation plugin: synth fails on any finding not acknowledged in the stack.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
