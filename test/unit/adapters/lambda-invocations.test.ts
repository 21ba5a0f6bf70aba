import { describe, expect, it } from 'vitest';
import { LambdaInvocations } from '../../../src/adapters/inbound/lambda/lambda-invocations.js';
import { JsonLogger } from '../../../src/adapters/outbound/system/json-logger.js';

function aLogger(invocations: LambdaInvocations) {
  const lines: string[] = [];
  const logger = new JsonLogger(
    'debug',
    (line) => lines.push(line),
    {},
    () => new Date('2026-12-01T00:00:00.000Z'),
    () => invocations.fields(),
  );
  return { logger, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>), lines };
}

const context = (n: number) => ({ awsRequestId: `req-${n}`, functionName: 'atlas-rotator-worker' });

describe('LambdaInvocations on every log line', () => {
  it('tags each line with its invocation: request id, function name, and a cold start only on the first', async () => {
    const invocations = new LambdaInvocations();
    const { logger, parsed } = aLogger(invocations);
    logger.info('initialising');
    await invocations.run(context(1), async () => {
      logger.info('first');
      await new Promise((r) => setTimeout(r, 1));
      logger.error('first, later', { errorCode: 'ATLAS_UNAVAILABLE' });
    });
    await invocations.run(context(2), async () => logger.debug('second'));
    expect(
      parsed().map(({ message, lambdaRequestId, functionName, coldStart }) => ({
        message,
        lambdaRequestId,
        functionName,
        coldStart,
      })),
    ).toEqual([
      { message: 'initialising', lambdaRequestId: undefined, functionName: undefined, coldStart: undefined },
      { message: 'first', lambdaRequestId: 'req-1', functionName: 'atlas-rotator-worker', coldStart: true },
      {
        message: 'first, later',
        lambdaRequestId: 'req-1',
        functionName: 'atlas-rotator-worker',
        coldStart: true,
      },
      { message: 'second', lambdaRequestId: 'req-2', functionName: 'atlas-rotator-worker', coldStart: false },
    ]);
  });

  it('keeps concurrent invocations of one environment apart', async () => {
    const invocations = new LambdaInvocations();
    const { logger, parsed } = aLogger(invocations);
    const gate = Promise.withResolvers<void>();
    const a = invocations.run(context(1), async () => {
      await gate.promise;
      logger.info('a');
    });
    const b = invocations.run(context(2), async () => {
      logger.info('b');
      gate.resolve();
    });
    await Promise.all([a, b]);
    expect(parsed().map((l) => [l.message, l.lambdaRequestId, l.coldStart])).toEqual([
      ['b', 'req-2', false],
      ['a', 'req-1', true],
    ]);
  });

  it('leaves the line fields and their order: the line own fields win, nothing secret slips in', async () => {
    const invocations = new LambdaInvocations();
    const { logger, lines } = aLogger(invocations);
    await invocations.run(
      { awsRequestId: 'req-9', functionName: 'fn mdb_sa_sk_should_never_be_here' },
      async () => logger.info('line', { requestId: 'rotation-request-1' }),
    );
    const [line] = lines;
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      requestId: 'rotation-request-1',
      lambdaRequestId: 'req-9',
    });
    expect(line).not.toContain('mdb_sa_sk_should_never_be_here');
  });

  it('runs a call without a context (a direct call in a test) untagged', async () => {
    const invocations = new LambdaInvocations();
    const { logger, parsed } = aLogger(invocations);
    await invocations.run(undefined, async () => logger.info('direct'));
    expect(parsed()[0]).not.toHaveProperty('lambdaRequestId');
  });
});
