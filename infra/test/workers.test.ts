import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { bundleNodeEntry } from '../lib/bundle.js';
import { DOCKERFILE, IMAGE_CONTEXT_EXCLUDE } from '../lib/fargate-worker.js';
import { LAMBDA_ENTRY } from '../lib/lambda-worker.js';
import { logicalId, repoRoot, resource, resourcesOfType, synth } from './support.js';

describe('the Lambda worker', () => {
  it('runs the bundled SQS entry on Node 24 with the service configuration', () => {
    const { template } = synth({
      adminSecretArns: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/admin-AbCdEf'],
      atlasBaseUrl: 'https://cloud.mongodb.com',
      secretExpiresAfterHours: 720,
      logLevel: 'debug',
      environment: { ATLAS_REQUEST_TIMEOUT_MS: '5000' },
    });
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    const role = logicalId(template, 'AWS::IAM::Role', 'AtlasRotatorLambdaWorkerRole');
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorLambdaWorkerLogGroup');
    const fn = resource(template, 'AWS::Lambda::Function', 'AtlasRotatorLambdaWorkerFunction');
    expect(fn).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 300,
      MemorySize: 512,
      Role: { 'Fn::GetAtt': [role, 'Arn'] },
      LoggingConfig: { LogGroup: { Ref: logGroup } },
    });
    expect(fn.VpcConfig).toBeUndefined();
    expect((fn.Environment as { Variables: unknown }).Variables).toEqual({
      ATLAS_REQUEST_TIMEOUT_MS: '5000',
      ROTATION_QUEUE_URL: { Ref: queue },
      EVENT_BUS_NAME: { Ref: bus },
      EVENT_SOURCE: 'atlas-rotator',
      MAX_CONCURRENCY: '4',
      MAX_RECEIVE_COUNT: '5',
      VISIBILITY_TIMEOUT_SECONDS: '1800',
      LOG_LEVEL: 'debug',
      METRICS_NAMESPACE: 'AtlasRotator',
      METRICS_SERVICE: 'Test',
      ADMIN_SECRET_ARNS: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas/admin-AbCdEf',
      ATLAS_BASE_URL: 'https://cloud.mongodb.com',
      SECRET_EXPIRES_AFTER_HOURS: '720',
      NODE_OPTIONS: '--enable-source-maps',
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('consumes the queue with partial batch responses and bounded concurrency', () => {
    const { template } = synth({ lambda: { batchSize: 2, maxConcurrency: 5 }, maxConcurrency: 8 });
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const fn = logicalId(template, 'AWS::Lambda::Function', 'AtlasRotatorLambdaWorkerFunction');
    expect(resource(template, 'AWS::Lambda::EventSourceMapping', 'AtlasRotatorLambdaWorker')).toEqual({
      BatchSize: 2,
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionName: { Ref: fn },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MAX_CONCURRENCY: '8' }) },
    });
    expect(() => synth({ lambda: { maxConcurrency: 1 } })).toThrow(/maxConcurrency must be 2..1000/);
  });

  it('defaults to batches of 4 and two concurrent invocations', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 4,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('runs in private subnets of a created VPC when asked', () => {
    const { template } = synth({ vpc: 'create', lambda: { timeout: Duration.minutes(1) } });
    const fn = resource(template, 'AWS::Lambda::Function', 'AtlasRotatorLambdaWorkerFunction');
    expect(fn.VpcConfig).toMatchObject({
      SubnetIds: [{ Ref: expect.stringMatching(/workersSubnet1/) }, expect.anything()],
    });
    template.hasOutput('EgressIp', {});
  });

  it('bundles an ESM entry that exports handler, with its source map, no Docker involved', async () => {
    const dir = bundleNodeEntry(repoRoot, LAMBDA_ENTRY);
    expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(code).toMatch(/export\s*{[^}]*\bhandler\b[^}]*}/);
    expect(code).not.toContain('/work/');
    // The bundle loads: every import resolves and the module evaluates without configuration.
    const module = (await import(join(dir, 'index.mjs'))) as { handler: unknown };
    expect(typeof module.handler).toBe('function');
  });
});

describe('the Fargate worker', () => {
  it('runs `atlas-rotator worker` as a service in private subnets with the service configuration', () => {
    const { template } = synth({ runtime: 'fargate', imageUri: 'example.com/atlas-rotator:1.0.0' });
    const queue = logicalId(template, 'AWS::SQS::Queue', 'AtlasRotatorRequestsQueue');
    const bus = logicalId(template, 'AWS::Events::EventBus', 'AtlasRotatorBus');
    const logGroup = logicalId(template, 'AWS::Logs::LogGroup', 'AtlasRotatorFargateWorkerLogGroup');
    const task = resource(template, 'AWS::ECS::TaskDefinition', 'AtlasRotatorFargateWorkerTask');
    expect(task).toMatchObject({
      Cpu: '256',
      Memory: '512',
      NetworkMode: 'awsvpc',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
    });
    const [container] = task.ContainerDefinitions as [Record<string, unknown>];
    expect(container).toMatchObject({
      Image: 'example.com/atlas-rotator:1.0.0',
      Command: ['worker'],
      Essential: true,
      ReadonlyRootFilesystem: true,
      StopTimeout: 120,
      LogConfiguration: {
        LogDriver: 'awslogs',
        Options: { 'awslogs-group': { Ref: logGroup }, 'awslogs-stream-prefix': 'worker' },
      },
    });
    const environment = Object.fromEntries(
      (container.Environment as { Name: string; Value: unknown }[]).map(({ Name, Value }) => [Name, Value]),
    );
    expect(environment).toEqual({
      ROTATION_QUEUE_URL: { Ref: queue },
      EVENT_BUS_NAME: { Ref: bus },
      EVENT_SOURCE: 'atlas-rotator',
      MAX_CONCURRENCY: '4',
      MAX_RECEIVE_COUNT: '5',
      VISIBILITY_TIMEOUT_SECONDS: '120',
      LOG_LEVEL: 'info',
      METRICS_NAMESPACE: 'AtlasRotator',
      METRICS_SERVICE: 'Test',
      AWS_REGION: 'eu-west-1',
      SHUTDOWN_GRACE_SECONDS: '110',
    });
    expect(resource(template, 'AWS::ECS::Service', 'AtlasRotatorFargateWorkerService')).toMatchObject({
      LaunchType: 'FARGATE',
      DesiredCount: 1,
      DeploymentConfiguration: {
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          AssignPublicIp: 'DISABLED',
          Subnets: [
            { Ref: expect.stringMatching(/workersSubnet1/) },
            { Ref: expect.stringMatching(/workersSubnet2/) },
          ],
        },
      },
    });
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
  });

  it('creates a VPC with one NAT gateway on a fixed Elastic IP, reported as EgressIp, and flow logs', () => {
    const { template } = synth({ runtime: 'fargate', imageUri: 'example.com/atlas-rotator:1.0.0' });
    const eip = logicalId(template, 'AWS::EC2::EIP', 'AtlasRotatorEgressIp');
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.hasResourceProperties('AWS::EC2::NatGateway', {
      AllocationId: { 'Fn::GetAtt': [eip, 'AllocationId'] },
    });
    template.hasOutput('EgressIp', { Value: { Ref: eip } });
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      TrafficType: 'REJECT',
      LogDestinationType: 'cloud-watch-logs',
    });
    expect(resourcesOfType(template, 'AWS::EC2::Subnet')).toHaveLength(4);
  });

  it('builds the image from infra/docker/Dockerfile at deploy time by default, staging only what it needs', () => {
    const { app, template } = synth({ runtime: 'fargate' });
    const task = resource(template, 'AWS::ECS::TaskDefinition', 'AtlasRotatorFargateWorkerTask');
    expect(JSON.stringify(task.ContainerDefinitions)).toContain('container-assets');
    const assembly = app.synth();
    const manifest = JSON.parse(readFileSync(join(assembly.directory, 'Test.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform: string } }>;
    };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    const source = images[0]?.source;
    expect(source?.dockerFile).toBe(DOCKERFILE);
    expect(source?.platform).toBe('linux/amd64');
    const staged = join(assembly.directory, source?.directory ?? '');
    for (const needed of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      DOCKERFILE,
    ]) {
      expect(existsSync(join(staged, needed)), needed).toBe(true);
    }
    expect(existsSync(join(staged, 'src/adapters/bootstrap/main.ts'))).toBe(true);
    for (const excluded of ['node_modules', 'infra/node_modules', 'infra/lib', 'test', '.git', 'dist']) {
      expect(existsSync(join(staged, excluded)), excluded).toBe(false);
    }
    expect(IMAGE_CONTEXT_EXCLUDE[0]).toBe('*');
  });

  it('uses an existing VPC when given one', () => {
    const { template } = synth({
      runtime: 'fargate',
      imageUri: 'example/a:1',
      vpcId: 'vpc-0123456789abcdef0',
    });
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    expect(Object.keys(template.findOutputs('EgressIp'))).toEqual([]);
  });
});
