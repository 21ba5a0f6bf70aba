import { describe, expect, it } from 'vitest';
import { NodeCryptoIdGenerator } from '../../../src/adapters/outbound/crypto/node-crypto-id-generator.js';
import { HandleRotationRequest } from '../../../src/application/handle-rotation-request.js';
import { KeyedSerializer } from '../../../src/application/keyed-serializer.js';
import { RotateSecret } from '../../../src/application/rotate-secret.js';
import { aSettings, aToken, SECRET_ARN, SECRET_NAME, seedManagedSecret } from '../../support/builders.js';
import { AtlasWorld, InMemoryAtlasServiceAccounts } from '../../support/fake-atlas.js';
import { FixedClock } from '../../support/fixed-clock.js';
import { InMemorySecretStore } from '../../support/in-memory-secret-store.js';
import { RecordingLogger } from '../../support/recording-logger.js';
import { RecordingRotationEventPublisher } from '../../support/recording-publisher.js';

describe('HandleRotationRequest', () => {
  it('runs the rotations of one secret one after the other, whether it is named by name or by ARN', async () => {
    const clock = new FixedClock();
    const world = new AtlasWorld(() => clock.now());
    const store = new InMemorySecretStore();
    seedManagedSecret(store, world);
    const rotate = new RotateSecret(
      store,
      new InMemoryAtlasServiceAccounts(world),
      clock,
      new RecordingLogger(),
      aSettings({ verifyRetryDelaysMs: [] }),
      new NodeCryptoIdGenerator(),
    );
    const publisher = new RecordingRotationEventPublisher();
    const handle = new HandleRotationRequest(rotate, publisher, new KeyedSerializer(), {
      backoffBaseSeconds: 30,
      backoffMaxSeconds: 900,
    });
    const delivery = { attempt: 1, lastAttempt: false };

    const [byName, byArn] = await Promise.all([
      handle.execute(
        { secretId: SECRET_NAME, requestId: 'by-name', token: aToken(1), reason: undefined },
        delivery,
      ),
      handle.execute(
        { secretId: SECRET_ARN, requestId: 'by-arn', token: aToken(2), reason: undefined },
        delivery,
      ),
    ]);

    // Run side by side, the second would find the first one's rotation in progress and be sent back.
    expect(byName.outcome.status).toBe('completed');
    expect(byArn.outcome.status).toBe('completed');
    expect(publisher.events.map((e) => e.detailType)).toEqual([
      'Atlas Secret Rotation Completed',
      'Atlas Secret Rotation Completed',
    ]);
  });
});
