import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { inject } from 'vitest';
import { AtlasRotatorStack, type AtlasRotatorStackProps } from '../lib/atlas-rotator-stack.js';
import { findRepoRoot } from '../lib/bundle.js';

export const repoRoot = findRepoRoot(import.meta.dirname);
/** The stub rotation-function entry, relative to the repository root. */
export const ROTATION_FUNCTION_STUB = relative(
  repoRoot,
  join(import.meta.dirname, 'fixtures', 'rotation-function.ts'),
);

/** An app whose cloud assembly goes to a scratch directory that the global setup removes after the run. */
export function newApp(): App {
  return new App({ outdir: mkdtempSync(join(inject('infraTestOutDir'), 'app-')) });
}

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

export interface Synthesized {
  readonly app: App;
  readonly stack: AtlasRotatorStack;
  readonly template: Template;
}

/** A stack in a fixed account and region (literal ARNs in assertions), synthesized without nag. */
export function synth(props: AtlasRotatorStackProps = {}): Synthesized {
  const app = newApp();
  const stack = new AtlasRotatorStack(app, 'Test', { env: { account: ACCOUNT, region: REGION }, ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

export interface Violation {
  readonly ruleName: string;
  readonly paths: readonly string[];
}

/**
 * The AwsSolutions findings of a stack that nothing acknowledged. cdk-nag 3 is a policy-validation plugin:
 * synthesis fails on a finding and writes validation-report.json, which this reads.
 */
export function nagViolations(build: (app: App) => void): Violation[] {
  const app = newApp();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  build(app);
  let error: unknown;
  try {
    app.synth();
  } catch (caught) {
    error = caught;
  }
  const reportFile = join(app.outdir, 'validation-report.json');
  if (!existsSync(reportFile)) {
    if (error !== undefined) throw error;
    return [];
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
    pluginReports: {
      violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
    }[];
  };
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map((violation) => ({
      ruleName: violation.ruleName,
      paths: violation.violatingConstructs.map((construct) => construct.constructPath),
    })),
  );
}

/** Resources of a type, as [logicalId, properties]. */
export function resourcesOfType(template: Template, type: string): [string, Record<string, unknown>][] {
  return Object.entries(template.findResources(type)).map(([id, resource]) => [
    id,
    (resource as { Properties: Record<string, unknown> }).Properties,
  ]);
}

/** The single resource of a type whose logical id starts with the prefix. */
export function resource(template: Template, type: string, prefix: string): Record<string, unknown> {
  const matches = resourcesOfType(template, type).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) {
    throw new Error(
      `expected one ${type} starting with ${prefix}, found ${matches.map(([id]) => id).join(', ')}`,
    );
  }
  return (matches[0] as [string, Record<string, unknown>])[1];
}

export function logicalId(template: Template, type: string, prefix: string): string {
  const matches = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${matches}`);
  return matches[0] as string;
}

/** The statements of the IAM policy attached to a role (the role's DefaultPolicy). */
export function policyStatements(template: Template, roleLogicalId: string): Record<string, unknown>[] {
  const policies = resourcesOfType(template, 'AWS::IAM::Policy').filter(([, properties]) =>
    (properties.Roles as unknown[]).some(
      (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }),
    ),
  );
  return policies.flatMap(
    ([, properties]) => (properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
  );
}
