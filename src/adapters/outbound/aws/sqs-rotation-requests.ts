import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type {
  RotationRequestMessage,
  RotationRequests,
} from '../../../application/ports/rotation-requests.js';
import { RotatorError } from '../../../domain/errors.js';

/** SQS did not accept a rotation request. Keeps the SDK exception's name, never the message body. */
export class RotationRequestError extends RotatorError {
  readonly code = 'ROTATION_REQUEST_FAILED';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly awsErrorCode: string,
  ) {
    super(message);
  }
}

const PERMANENT = new Set([
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'AccessDenied',
  'AccessDeniedException',
  'InvalidAddress',
  'InvalidSecurity',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidParameterValue',
  'InvalidMessageContents',
  'MissingParameter',
  'UnsupportedOperation',
  'KmsAccessDenied',
  'KmsDisabled',
  'KmsNotFound',
]);

/** SQS allows 128 characters in a MessageGroupId; a longer ARN is grouped by its digest. */
const MAX_GROUP_ID = 128;

function groupIdFor(secretArn: string): string {
  if (secretArn.length <= MAX_GROUP_ID) return secretArn;
  return `sha256:${createHash('sha256').update(secretArn).digest('hex')}`;
}

function errorName(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (error instanceof Error && error.name === 'Error' && typeof code === 'string') return code;
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Rotation requests as SQS messages in the direct shape `{secretId, requestId, reason}`, the body the worker
 * parses. On a FIFO queue (`.fifo`) the group is the secret (its requests in order) and the deduplication id
 * is the request id, so a repeat within five minutes is dropped by SQS itself.
 */
export class SqsRotationRequests implements RotationRequests {
  readonly #fifo: boolean;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {
    this.#fifo = queueUrl.endsWith('.fifo');
  }

  async send(request: RotationRequestMessage): Promise<void> {
    const body = JSON.stringify({
      secretId: request.secretId,
      requestId: request.requestId,
      reason: request.reason,
    });
    try {
      const sent = await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: body,
          ...(this.#fifo
            ? { MessageGroupId: groupIdFor(request.secretId), MessageDeduplicationId: request.requestId }
            : {}),
        }),
      );
      if (sent.MessageId === undefined) {
        throw new RotationRequestError('SQS SendMessage returned no MessageId', true, 'NoMessageId');
      }
    } catch (error) {
      if (error instanceof RotationRequestError) throw error;
      const name = errorName(error);
      const retryable = !PERMANENT.has(name);
      throw new RotationRequestError(
        `SQS SendMessage of rotation request ${request.requestId} failed with ${name}` +
          (retryable ? '; it can be retried' : ': check ROTATION_QUEUE_URL and the IAM permissions'),
        retryable,
        name,
      );
    }
  }
}
