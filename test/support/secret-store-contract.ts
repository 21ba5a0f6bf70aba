/**
 * The compare-and-swap part of the SecretStore contract that the rotation protocol of ADR 0007 stands on, as one
 * set of expectations run against the in-memory fake (test/unit/support) and against the Secrets Manager adapter
 * on the AWS endpoint behind the semantics layer (test/integration/secrets-manager-secret-store.test.ts): the fake
 * must refuse what AWS refuses.
 */
import { describe, expect, it } from 'vitest';
import { SecretVersionExistsError, StageMovedError } from '../../src/application/infrastructure-errors.js';
import type { SecretStore } from '../../src/application/ports/secret-store.js';
import { SecretValue } from '../../src/domain/secret-value.js';

export interface SecretStoreContractSubject {
  readonly store: SecretStore;
  /** A new secret whose one version `current` holds CURRENT, labelled AWSCURRENT. */
  aSecret(): Promise<{ readonly arn: string; readonly current: string }>;
  /** What RotateSecret does: enables native rotation with a function and registers `token`'s placeholder. */
  rotateSecret(arn: string, token: string): Promise<{ readonly lambdaArn: string }>;
  /** A fresh VersionId (32–64 characters). */
  newId(): string;
}

export const CURRENT = '{"clientId":"current"}';
const A = SecretValue.of('{"clientId":"a"}');
const B = SecretValue.of('{"clientId":"b"}');
const CLAIM = 'atlas-rotator:claim';
/** A label of the test's own: the protocol never writes a version without a label, so neither does the test. */
const OTHER = 'contract:other';

async function labels(store: SecretStore, arn: string): Promise<Record<string, string[]>> {
  return Object.fromEntries((await store.listVersions(arn)).map((v) => [v.versionId, [...v.stages].sort()]));
}

export function secretStoreContract(name: string, subject: () => SecretStoreContractSubject): void {
  describe(`${name}: the SecretStore compare-and-swap contract`, () => {
    it('describes a plain secret with native rotation off and no type', async () => {
      const { store, aSecret } = subject();
      const { arn } = await aSecret();
      const described = await store.describe(arn);
      expect(described.nativeRotation).toEqual({ enabled: false, lambdaArn: undefined });
      expect(described.type).toBeUndefined();
    });

    it('putVersion creates a version with its labels, moving a label from the version that held it; the old one stays listed, unlabelled, with its CreatedDate', async () => {
      const { store, aSecret, newId } = subject();
      const { arn, current } = await aSecret();
      const [first, second] = [newId(), newId()];

      await store.putVersion(arn, first, A, [CLAIM]);
      await store.putVersion(arn, second, B, [CLAIM]);

      expect(await labels(store, arn)).toEqual({
        [current]: ['AWSCURRENT'],
        [first]: [],
        [second]: [CLAIM],
      });
      const listed = await store.listVersions(arn);
      for (const v of listed) expect(Number.isNaN(Date.parse(v.createdAt))).toBe(false);
      expect(listed.map((v) => v.createdAt)).toEqual([...listed.map((v) => v.createdAt)].sort());
      expect((await store.getValue(arn, { versionId: first })).reveal()).toBe(A.reveal());
    });

    it('putVersion with an existing id: the same value changes nothing (labels neither), another value is refused with SecretVersionExistsError, also for an unlabelled version', async () => {
      const { store, aSecret, newId } = subject();
      const { arn, current } = await aSecret();
      const [first, second] = [newId(), newId()];
      await store.putVersion(arn, first, A, [CLAIM]);
      await store.putVersion(arn, second, B, [CLAIM]);

      await store.putVersion(arn, first, A, [CLAIM]);
      const refused = await store.putVersion(arn, first, B, ['AWSPENDING']).catch((e: unknown) => e);
      const refusedLabelled = await store.putVersion(arn, second, A, [CLAIM]).catch((e: unknown) => e);

      expect(refused).toBeInstanceOf(SecretVersionExistsError);
      expect(refused).toMatchObject({ code: 'SECRET_VERSION_EXISTS', retryable: false, versionId: first });
      expect(String((refused as Error).message)).not.toContain('clientId');
      expect(refusedLabelled).toBeInstanceOf(SecretVersionExistsError);
      expect(await labels(store, arn)).toEqual({ [current]: ['AWSCURRENT'], [first]: [], [second]: [CLAIM] });
      expect((await store.getValue(arn, { versionId: first })).reveal()).toBe(A.reveal());
    });

    it('of two putVersion calls at once with one id and two values, exactly one wins', async () => {
      const { store, aSecret, newId } = subject();
      const { arn } = await aSecret();
      const id = newId();

      const results = await Promise.allSettled([
        store.putVersion(arn, id, A, [CLAIM]),
        store.putVersion(arn, id, B, [CLAIM]),
      ]);

      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const loser = results.find((r) => r.status === 'rejected');
      expect((loser as PromiseRejectedResult).reason).toBeInstanceOf(SecretVersionExistsError);
      const winner = results[0]?.status === 'fulfilled' ? A : B;
      expect((await store.getValue(arn, { versionId: id })).reveal()).toBe(winner.reveal());
    });

    it('putVersion fills the valueless placeholder RotateSecret registered, once; describe then shows native rotation on', async () => {
      const { store, aSecret, rotateSecret, newId } = subject();
      const { arn, current } = await aSecret();
      const token = newId();
      const { lambdaArn } = await rotateSecret(arn, token);
      expect((await labels(store, arn))[token]).toEqual(['AWSPENDING']);
      await expect(store.getValue(arn, { versionId: token })).rejects.toMatchObject({
        code: 'SECRET_NOT_FOUND',
      });

      await store.putVersion(arn, token, A, ['AWSPENDING']);

      expect((await store.getValue(arn, { versionId: token })).reveal()).toBe(A.reveal());
      await expect(store.putVersion(arn, token, B, ['AWSPENDING'])).rejects.toBeInstanceOf(
        SecretVersionExistsError,
      );
      expect(await labels(store, arn)).toEqual({ [current]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
      expect((await store.describe(arn)).nativeRotation).toEqual({ enabled: true, lambdaArn });
    });

    it('moveStage swaps AWSCURRENT only from the version that holds it (AWSPREVIOUS follows); a repeat or a stale expectation is refused with StageMovedError and changes nothing', async () => {
      const { store, aSecret, newId } = subject();
      const { arn, current } = await aSecret();
      const [next, other] = [newId(), newId()];
      await store.putVersion(arn, next, A, ['AWSPENDING']);
      await store.putVersion(arn, other, B, [OTHER]);

      await store.moveStage(arn, 'AWSCURRENT', next, current);
      const repeat = await store.moveStage(arn, 'AWSCURRENT', next, current).catch((e: unknown) => e);
      const stale = await store.moveStage(arn, 'AWSCURRENT', other, current).catch((e: unknown) => e);

      expect(repeat).toBeInstanceOf(StageMovedError);
      expect(repeat).toMatchObject({ code: 'SECRET_STAGE_MOVED', retryable: false });
      expect(stale).toBeInstanceOf(StageMovedError);
      expect(await labels(store, arn)).toEqual({
        [current]: ['AWSPREVIOUS'],
        [next]: ['AWSCURRENT', 'AWSPENDING'].sort(),
        [other]: [OTHER],
      });
      expect((await store.getValue(arn, { stage: 'AWSCURRENT' })).reveal()).toBe(A.reveal());
    });

    it('moveStage of a label nobody holds needs no expectation; of a label held elsewhere it does', async () => {
      const { store, aSecret, newId } = subject();
      const { arn, current } = await aSecret();
      const [first, second] = [newId(), newId()];
      await store.putVersion(arn, first, A, [OTHER]);
      await store.putVersion(arn, second, B, ['contract:second']);

      await store.moveStage(arn, CLAIM, first, undefined);
      const refused = await store.moveStage(arn, CLAIM, second, undefined).catch((e: unknown) => e);

      expect(refused).toBeInstanceOf(StageMovedError);
      expect(await labels(store, arn)).toEqual({
        [current]: ['AWSCURRENT'],
        [first]: [CLAIM, OTHER].sort(),
        [second]: ['contract:second'],
      });
    });
  });
}
