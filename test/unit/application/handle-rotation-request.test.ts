import { describe, expect, it } from 'vitest';
import { HandleRotationRequest } from '../../../src/application/handle-rotation-request.js';
import { KeyedSerializer } from '../../../src/application/keyed-serializer.js';
import { aRotationOnFakes, aToken, SECRET_ARN, SECRET_NAME } from '../../support/builders.js';
import { RecordingRotationEventPublisher } from '../../support/recording-publisher.js';

describe('HandleRotationRequest', () => {
  it('runs the rotations of one secret one after the other, whether it is named by name or by ARN', async () => {
    const { rotate } = aRotationOnFakes();
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
