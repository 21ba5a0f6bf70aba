import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export type QueueType = 'fifo' | 'standard';
export type QueueEncryption = 'sqs-managed' | 'kms';

export interface RequestQueueProps {
  readonly queueType: QueueType;
  readonly encryption: QueueEncryption;
  /** Deliveries of a request before SQS moves it to the DLQ (the worker publishes a final failure on the last). */
  readonly maxReceiveCount: number;
  readonly visibilityTimeout: Duration;
}

/** The rotation request queue and its dead-letter queue: same type, same encryption, TLS only. */
export class RequestQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** The customer managed key of both queues, with `encryption: 'kms'`. */
  readonly key: kms.Key | undefined;

  constructor(scope: Construct, id: string, props: RequestQueueProps) {
    super(scope, id);
    if (
      !Number.isInteger(props.maxReceiveCount) ||
      props.maxReceiveCount < 1 ||
      props.maxReceiveCount > 1000
    ) {
      throw new Error(`maxReceiveCount must be a whole number from 1 to 1000 (got ${props.maxReceiveCount})`);
    }
    const fifo = props.queueType === 'fifo';
    this.key =
      props.encryption === 'kms'
        ? new kms.Key(this, 'Key', {
            description: 'atlas-rotator request queue and dead-letter queue',
            enableKeyRotation: true,
            removalPolicy: RemovalPolicy.RETAIN,
          })
        : undefined;
    const encryption =
      this.key === undefined
        ? { encryption: sqs.QueueEncryption.SQS_MANAGED }
        : { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: this.key };
    const type = fifo ? { fifo: true, contentBasedDeduplication: true } : {};

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...type,
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...type,
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
