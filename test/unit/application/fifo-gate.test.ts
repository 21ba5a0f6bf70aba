import { describe, expect, it } from 'vitest';
import { FifoGate } from '../../../src/application/fifo-gate.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A task that runs until the test releases it; `log` records its start. */
function held(log: string[], name: string) {
  let release: (fail?: boolean) => void = () => {};
  const task = () => {
    log.push(name);
    return new Promise<string>((resolve, reject) => {
      release = (fail = false) => (fail ? reject(new Error(`${name} failed`)) : resolve(name));
    });
  };
  return { task, release: (fail?: boolean) => release(fail) };
}

describe('FifoGate', () => {
  it('runs at most `limit` tasks at once and the rest in arrival order, a failed task freeing its slot', async () => {
    const gate = new FifoGate(2);
    const log: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => held(log, name)) as [
      ReturnType<typeof held>,
      ReturnType<typeof held>,
      ReturnType<typeof held>,
      ReturnType<typeof held>,
    ];
    const runs = [gate.run(a.task), gate.run(b.task), gate.run(c.task), gate.run(d.task)];
    await tick();
    expect(log).toEqual(['a', 'b']);
    expect(gate.waiting).toBe(2);

    b.release(true);
    await expect(runs[1]).rejects.toThrow('b failed');
    await tick();
    expect(log).toEqual(['a', 'b', 'c']);

    a.release();
    await expect(runs[0]).resolves.toBe('a');
    await tick();
    expect(log).toEqual(['a', 'b', 'c', 'd']);
    c.release();
    d.release();
    await expect(Promise.all([runs[2], runs[3]])).resolves.toEqual(['c', 'd']);
    expect(gate.waiting).toBe(0);
  });

  it('gives a freed slot to the task that waited, not to one arriving the moment the slot is freed', async () => {
    const gate = new FifoGate(1);
    const log: string[] = [];
    let releaseFirst: () => void = () => {};
    const firstResult = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const running = gate.run(() => firstResult);
    const waited = held(log, 'waited');
    const waiting = gate.run(waited.task);
    await tick();
    // This reaction runs right after the gate's own (registered first, when the task was started): after the
    // slot was freed, before the waiter resumes. A gate that freed the slot for anyone to take would let it in.
    let late: Promise<string> | undefined;
    void firstResult.then(() => {
      late = gate.run(async () => {
        log.push('late');
        return 'late';
      });
    });
    releaseFirst();
    await running;
    await tick();
    expect(late).toBeDefined();
    expect(log).toEqual(['waited']);
    waited.release();
    await expect(Promise.all([waiting, late])).resolves.toEqual(['waited', 'late']);
    expect(log).toEqual(['waited', 'late']);
  });

  it('refuses a limit below 1', () => {
    expect(() => new FifoGate(0)).toThrow(RangeError);
    expect(() => new FifoGate(1.5)).toThrow(RangeError);
  });
});
