import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ServiceIdentifier } from 'inversify';
import type { HandleRotationRequest } from '../../application/handle-rotation-request.js';
import type { PlanRotation } from '../../application/plan-rotation.js';
import type { Clock } from '../../application/ports/clock.js';
import type { Logger } from '../../application/ports/logger.js';
import type { SecretStore } from '../../application/ports/secret-store.js';
import type { RejectRotationRequest } from '../../application/reject-rotation-request.js';
import type { ReportStatus } from '../../application/report-status.js';
import type { RotateSecret } from '../../application/rotate-secret.js';
import type { SweepSecrets } from '../../application/sweep-secrets.js';
import type { Config } from '../config/load-config.js';
import type { RotationFunctionEvent } from '../inbound/lambda/rotation-function-handler.js';
import type { SqsBatchResponse, SqsEvent } from '../inbound/lambda/sqs-lambda-handler.js';
import type { RotationMessageProcessor } from '../inbound/sqs/rotation-message-processor.js';
import type { SqsRotationWorker } from '../inbound/sqs/sqs-rotation-worker.js';
import type { AtlasAdminApiClient } from '../outbound/atlas/atlas-admin-api-client.js';
import type { EventBridgeRotationEventPublisher } from '../outbound/aws/event-bridge-rotation-event-publisher.js';
import type { EmfRotationMetrics } from '../outbound/metrics/emf-rotation-metrics.js';
import type { Tracing } from './tracing.js';

const token = <T>(name: string) => Symbol.for(`atlas-rotator.${name}`) as ServiceIdentifier<T>;

/** Typed container tokens: the only service identifiers in the project. */
export const TOKENS = {
  config: token<Config>('Config'),
  clock: token<Clock>('Clock'),
  logger: token<Logger>('Logger'),
  tracing: token<Tracing>('Tracing'),
  metrics: token<EmfRotationMetrics>('RotationMetrics'),
  secretsManagerClient: token<SecretsManagerClient>('SecretsManagerClient'),
  sqsClient: token<SQSClient>('SQSClient'),
  eventBridgeClient: token<EventBridgeClient>('EventBridgeClient'),
  secretStore: token<SecretStore>('SecretStore'),
  publisher: token<EventBridgeRotationEventPublisher>('RotationEventPublisher'),
  atlas: token<AtlasAdminApiClient>('AtlasServiceAccounts'),
  rotateSecret: token<RotateSecret>('RotateSecret'),
  handleRotationRequest: token<HandleRotationRequest>('HandleRotationRequest'),
  rejectRotationRequest: token<RejectRotationRequest>('RejectRotationRequest'),
  messageProcessor: token<RotationMessageProcessor>('RotationMessageProcessor'),
  worker: token<SqsRotationWorker>('SqsRotationWorker'),
  rotationFunctionHandler: token<(event: RotationFunctionEvent) => Promise<void>>('RotationFunctionHandler'),
  lambdaHandler: token<(event: SqsEvent) => Promise<SqsBatchResponse>>('SqsLambdaHandler'),
  sweepSecrets: token<SweepSecrets>('SweepSecrets'),
  planRotation: token<PlanRotation>('PlanRotation'),
  reportStatus: token<ReportStatus>('ReportStatus'),
} as const;
