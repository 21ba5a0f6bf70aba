import { InMemorySecretStore } from '../../support/in-memory-secret-store.js';
import { CURRENT, secretStoreContract } from '../../support/secret-store-contract.js';

let ids = 0;
/** Distinct, ordered CreatedDates: one second per version, as a real store would space them. */
let tick = Date.parse('2025-06-02T09:00:00.000Z');

function nextTick(): Date {
  tick += 1000;
  return new Date(tick);
}

secretStoreContract('InMemorySecretStore', () => {
  const store = new InMemorySecretStore(new Map(), nextTick);
  return {
    store,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    async aSecret() {
      const current = `00000000-0000-4000-9000-${String(++ids).padStart(12, '0')}`;
      const arn = `arn:aws:secretsmanager:us-east-1:111122223333:secret:contract-${ids}-AbCdEf`;
      store.seed({
        arn,
        name: `contract-${ids}`,
        versions: [{ versionId: current, value: CURRENT, stages: ['AWSCURRENT'] }],
      });
      return { arn, current };
    },
    async rotateSecret(arn, token) {
      const lambdaArn = 'arn:aws:lambda:us-east-1:111122223333:function:atlas-rotator';
      store.registerRotation(arn, token, lambdaArn);
      return { lambdaArn };
    },
  };
});
