import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROTATION_FUNCTION_ENTRY } from '../lib/rotation-function.js';
import { logicalId, ROTATION_FUNCTION_STUB, repoRoot, resource, synth } from './support.js';

describe('the Secrets Manager rotation function', () => {
  it('is not deployed unless asked', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::Lambda::Permission', 0);
    // The worker and the scheduled sweep.
    expect(Object.keys(template.findResources('AWS::Lambda::Function')).sort()).toEqual([
      expect.stringMatching(/^AtlasRotatorLambdaWorkerFunction/),
      expect.stringMatching(/^AtlasRotatorScheduledSweepFunction/),
    ]);
  });

  it('deploys the entry on Node 24, invocable by Secrets Manager of this account only', () => {
    const { template } = synth({ rotationFunction: true, rotationFunctionEntry: ROTATION_FUNCTION_STUB });
    const fn = logicalId(template, 'AWS::Lambda::Function', 'AtlasRotatorRotationFunction');
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    const properties = resource(template, 'AWS::Lambda::Function', 'AtlasRotatorRotationFunction');
    expect(properties).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler', Timeout: 300 });
    const variables = (properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toEqual({
      EVENT_BUS_NAME: { Ref: bus },
      EVENT_SOURCE: 'atlas-rotator',
      MAX_CONCURRENCY: '4',
      LOG_LEVEL: 'info',
      METRICS_NAMESPACE: 'AtlasRotator',
      METRICS_SERVICE: 'Test',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(resource(template, 'AWS::Lambda::Permission', 'AtlasRotatorRotationFunction')).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: '123456789012',
    });
    template.hasOutput('RotationFunctionArn', { Value: { 'Fn::GetAtt': [fn, 'Arn'] } });
  });

  it('bundles the real entry, src/adapters/bootstrap/rotation-function.ts, by default', () => {
    expect(existsSync(join(repoRoot, ROTATION_FUNCTION_ENTRY))).toBe(true);
    const { template } = synth({ rotationFunction: true });
    template.resourceCountIs('AWS::Lambda::Function', 3);
  });

  it('names a missing entry', () => {
    expect(() => synth({ rotationFunction: true, rotationFunctionEntry: 'src/nowhere.ts' })).toThrow(
      /src\/nowhere\.ts does not exist/,
    );
  });
});
