import { describe, expect, it } from 'vitest';
import {
  type RetryPolicy,
  RotationMessageProcessor,
} from '../../../src/adapters/inbound/sqs/rotation-message-processor.js';
import { NodeCryptoIdGenerator } from '../../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { HandleRotationRequest } from '../../../src/application/handle-rotation-request.js';
import { AtlasApiError } from '../../../src/application/infrastructure-errors.js';
import { KeyedSerializer } from '../../../src/application/keyed-serializer.js';
import { RejectRotationRequest } from '../../../src/application/reject-rotation-request.js';
import { RotateSecret } from '../../../src/application/rotate-secret.js';
import type { RotationCompletedDetail, RotationFailedDetail } from '../../../src/domain/rotation-events.js';
import { CLAIM_LABEL, claimVersionId } from '../../../src/domain/rotation-protocol.js';
import { SecretValue } from '../../../src/domain/secret-value.js';
import { aSettings, CLIENT_ID, SECRET_ARN, SECRET_NAME, seedManagedSecret } from '../../support/builders.js';
import { AtlasWorld, InMemoryAtlasServiceAccounts } from '../../support/fake-atlas.js';
import { FixedClock } from '../../support/fixed-clock.js';
import { InMemorySecretStore } from '../../support/in-memory-secret-store.js';
import { RecordingLogger } from '../../support/recording-logger.js';
import { RecordingRotationEventPublisher } from '../../support/recording-publisher.js';

const MESSAGE_ID = '9c3b2a10-0000-4000-8000-000000000001';
const POLICY: RetryPolicy = { backoffBaseSeconds: 30, backoffMaxSeconds: 900, maxReceiveCount: 3 };

function aProcessor(options: { managed?: boolean; nativeRotationBy?: string } = {}) {
  const clock = new FixedClock();
  const world = new AtlasWorld(() => clock.now());
  const store = new InMemorySecretStore(new Map(), () => clock.now());
  seedManagedSecret(store, world, {
    ...(options.managed === false ? { tags: { 'atlas-rotator:managed': 'false' } } : {}),
    ...(options.nativeRotationBy === undefined
      ? {}
      : { nativeRotation: { enabled: true, lambdaArn: options.nativeRotationBy } }),
  });
  const atlas = new InMemoryAtlasServiceAccounts(world);
  const logger = new RecordingLogger();
  const publisher = new RecordingRotationEventPublisher();
  const rotate = new RotateSecret(
    store,
    atlas,
    clock,
    logger,
    aSettings({ verifyRetryDelaysMs: [] }),
    new NodeCryptoIdGenerator(),
  );
  const processor = new RotationMessageProcessor(
    new HandleRotationRequest(rotate, publisher, new KeyedSerializer(), POLICY),
    new RejectRotationRequest(publisher, clock),
    logger,
    POLICY,
  );
  return { processor, publisher, atlas, store };
}

const request = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ secretId: SECRET_NAME, requestId: 'change-42', ...fields });

describe('RotationMessageProcessor', () => {
  it('deletes the message once the rotation completed and its event was accepted', async () => {
    const { processor, publisher } = aProcessor();

    const decision = await processor.process({ messageId: MESSAGE_ID, body: request(), receiveCount: 2 });

    expect(decision).toEqual({ kind: 'ack' });
    expect(publisher.events).toHaveLength(1);
    expect(publisher.events[0]?.detailType).toBe('Atlas Secret Rotation Completed');
    expect(publisher.events[0]?.resources).toEqual([SECRET_ARN]);
    expect(publisher.events[0]?.detail).toMatchObject({
      requestId: 'change-42',
      attempts: 2,
      schemaVersion: 1,
    });
  });

  it('publishes one final INVALID_REQUEST failure for a malformed message and deletes it', async () => {
    const { processor, publisher } = aProcessor();

    const decision = await processor.process({ messageId: MESSAGE_ID, body: '{nope', receiveCount: 1 });

    expect(decision).toEqual({ kind: 'ack' });
    const detail = publisher.events[0]?.detail as RotationFailedDetail;
    expect(detail).toMatchObject({
      errorCode: 'INVALID_REQUEST',
      stage: 'request',
      final: true,
      retryable: false,
      requestId: MESSAGE_ID,
    });
    expect(publisher.events[0]?.resources).toEqual([]);
  });

  it('publishes a final failure for a permanent error and deletes the message', async () => {
    const { processor, publisher } = aProcessor({ managed: false });

    const decision = await processor.process({ messageId: MESSAGE_ID, body: request(), receiveCount: 1 });

    expect(decision).toEqual({ kind: 'ack' });
    expect(publisher.events.map((e) => (e.detail as RotationFailedDetail).errorCode)).toEqual([
      'SECRET_NOT_MANAGED',
    ]);
  });

  it('leaves a retryable failure for redelivery with a growing backoff and publishes nothing', async () => {
    const { processor, publisher, atlas } = aProcessor();
    atlas.failOn(
      'token',
      new AtlasApiError('ATLAS_UNAVAILABLE', 'Atlas 503', true, 503, 'SERVICE_UNAVAILABLE'),
    );

    const decision = await processor.process({ messageId: MESSAGE_ID, body: request(), receiveCount: 2 });

    expect(decision).toEqual({ kind: 'retry-after', seconds: 60 });
    expect(publisher.events).toEqual([]);
  });

  it('says final on the last attempt and lets the redrive policy take the message', async () => {
    const { processor, publisher, atlas } = aProcessor();
    atlas.failOn(
      'token',
      new AtlasApiError('ATLAS_UNAVAILABLE', 'Atlas 503', true, 503, 'SERVICE_UNAVAILABLE'),
    );

    const decision = await processor.process({ messageId: MESSAGE_ID, body: request(), receiveCount: 3 });

    expect(decision).toEqual({ kind: 'dead-letter' });
    expect(publisher.events[0]?.detail).toMatchObject({
      errorCode: 'ATLAS_UNAVAILABLE',
      retryable: true,
      final: true,
      attempts: 3,
      atlasStatus: 503,
    });
  });

  it('refuses a secret under native rotation for good: one final ROTATION_CONFLICT event, message deleted, nothing written', async () => {
    const { processor, publisher, store, atlas } = aProcessor({
      nativeRotationBy: 'arn:aws:lambda:eu-west-1:123456789012:function:other-rotator',
    });
    const before = store.stagesOf(SECRET_ARN);

    const decision = await processor.process({ messageId: MESSAGE_ID, body: request(), receiveCount: 1 });

    expect(decision).toEqual({ kind: 'ack' });
    expect(publisher.events.map((e) => e.detail)).toMatchObject([
      { errorCode: 'ROTATION_CONFLICT', retryable: false, final: true },
    ]);
    expect(store.stagesOf(SECRET_ARN)).toEqual(before);
    expect(atlas.calls).toEqual([]);
  });

  it("retries a request that meets another run's fresh claim only once that claim goes stale", async () => {
    const { processor, publisher, store } = aProcessor();
    // Another run claimed an attempt 5 minutes ago (the lease is 15 minutes) and is still at work.
    store.secret(SECRET_ARN).versions.push({
      versionId: claimVersionId('7a7a7a7a-0000-4000-8000-000000000009'),
      value: SecretValue.of('{"atlasRotatorClaim":{"token":"t","attempt":1,"execution":"e","basedOn":"b"}}'),
      stages: [CLAIM_LABEL],
      createdAt: '2025-06-02T08:55:00.000Z',
    });

    const decision = await processor.process({ messageId: MESSAGE_ID, body: request(), receiveCount: 1 });

    // Not after the 30 s backoff, which would only spend a delivery attempt: after the claim's 10 minutes left.
    expect(decision).toEqual({ kind: 'retry-after', seconds: 601 });
    expect(publisher.events).toEqual([]);
  });

  it('does not acknowledge a completion whose event was refused, and reports it again on redelivery', async () => {
    const { processor, publisher, atlas } = aProcessor();
    publisher.failNext();

    const first = await processor.process({ messageId: MESSAGE_ID, body: request(), receiveCount: 1 });
    expect(first.kind).toBe('retry-after');
    expect(publisher.events).toEqual([]);

    const createsBefore = atlas.ops().filter((op) => op === 'create').length;
    const secretsBefore = atlas.world.secretIds(CLIENT_ID);
    const second = await processor.process({ messageId: MESSAGE_ID, body: request(), receiveCount: 2 });
    expect(second).toEqual({ kind: 'ack' });
    // The redelivery finishes the rotation again (ADR 0007: it may re-delete the replaced secret), creating nothing.
    expect(atlas.ops().filter((op) => op === 'create')).toHaveLength(createsBefore);
    expect(atlas.world.secretIds(CLIENT_ID)).toEqual(secretsBefore);
    expect((publisher.events[0]?.detail as RotationCompletedDetail | undefined)?.attempts).toBe(2);
  });

  it('turns a duplicate request into the same rotation: the same rotationId, one Atlas secret created', async () => {
    const { processor, publisher, atlas } = aProcessor();

    await processor.process({ messageId: MESSAGE_ID, body: request(), receiveCount: 1 });
    await processor.process({
      messageId: 'another-message-id-0000000000000000',
      body: request(),
      receiveCount: 1,
    });

    const ids = publisher.events.map((e) => (e.detail as RotationCompletedDetail).rotationId);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
    expect(atlas.calls.filter((c) => c.op === 'create')).toHaveLength(1);
  });
});
