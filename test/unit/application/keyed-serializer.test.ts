import { describe, expect, it } from 'vitest';
import { KeyedSerializer } from '../../../src/application/keyed-serializer.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedSerializer', () => {
  it('runs tasks of one key one at a time, in arrival order, even when one fails', async () => {
    const serializer = new KeyedSerializer();
    const log: string[] = [];
    let releaseFirst: () => void = () => {};
    const first = serializer.run('s1', async () => {
      log.push('first:start');
      await new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      log.push('first:end');
      throw new Error('boom');
    });
    const second = serializer.run('s1', async () => {
      log.push('second');
      return 2;
    });
    await tick();
    expect(log).toEqual(['first:start']);
    releaseFirst();
    await expect(first).rejects.toThrow('boom');
    await expect(second).resolves.toBe(2);
    expect(log).toEqual(['first:start', 'first:end', 'second']);
  });

  it('runs different keys concurrently and forgets idle keys', async () => {
    const serializer = new KeyedSerializer();
    const running: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const a = serializer.run('a', async () => {
      running.push('a');
      await gate;
    });
    const b = serializer.run('b', async () => {
      running.push('b');
      await gate;
    });
    await tick();
    expect(running).toEqual(['a', 'b']);
    release();
    await Promise.all([a, b]);
    await tick();
    expect(serializer.activeKeys).toBe(0);
  });
});
