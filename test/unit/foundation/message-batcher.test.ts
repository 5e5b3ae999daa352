/**
 * The ingest worker's micro-batching (src/queue/ingest-worker.ts): messages submitted together are
 * applied together, a failing batch is retried message by message so that only the bad message fails,
 * and no more batches than allowed run at once.
 */
import { MessageBatcher, type Outcome } from '../../../src/queue/ingest-worker';

const tick = () => new Promise((r) => setImmediate(r));

function recorder(fail: (ids: string[]) => boolean = () => false, delayMs = 5) {
  const calls: string[][] = [];
  let running = 0;
  let maxRunning = 0;
  const apply = async (ids: string[]): Promise<Map<string, Outcome>> => {
    calls.push(ids);
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, delayMs));
    running--;
    if (fail(ids)) throw new Error(`cannot apply ${ids.join(',')}`);
    return new Map(ids.map((id) => [id, id.startsWith('done') ? 'skipped' : 'processed']));
  };
  return { apply, calls, maxRunning: () => maxRunning };
}

describe('MessageBatcher', () => {
  test('messages submitted in the same turn are applied as one batch, each gets its own outcome', async () => {
    const r = recorder();
    const b = new MessageBatcher(r.apply, 10);
    const out = await Promise.all(['a', 'b', 'done-c'].map((id) => b.submit(id)));
    expect(out).toEqual(['processed', 'processed', 'skipped']);
    expect(r.calls).toEqual([['a', 'b', 'done-c']]);
  });

  test('a batch never exceeds the batch size', async () => {
    const r = recorder();
    const b = new MessageBatcher(r.apply, 3);
    await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit(`m${i}`)));
    expect(r.calls.map((c) => c.length)).toEqual([3, 3, 3, 1]);
    expect(r.calls.flat().sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
  });

  test('messages arriving while batches run wait for the next one; at most maxInFlight run at once', async () => {
    const r = recorder(() => false, 20);
    const b = new MessageBatcher(r.apply, 100, 2);
    const first = [b.submit('a1'), b.submit('a2')];
    await tick();
    await tick();
    const second = [b.submit('b1')];
    await tick();
    await tick();
    const third = [b.submit('c1'), b.submit('c2')];
    await Promise.all([...first, ...second, ...third]);
    expect(r.maxRunning()).toBeLessThanOrEqual(2);
    expect(r.calls).toEqual([['a1', 'a2'], ['b1'], ['c1', 'c2']]);
  });

  test('a failing batch is retried one message at a time: only the bad message fails', async () => {
    const r = recorder((ids) => ids.includes('bad'));
    const b = new MessageBatcher(r.apply, 10);
    const settled = await Promise.allSettled(['x', 'bad', 'y'].map((id) => b.submit(id)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason.message).toBe('cannot apply bad');
    expect(r.calls).toEqual([['x', 'bad', 'y'], ['x'], ['bad'], ['y']]);
  });

  test('the same message twice in a batch (a job and its retry) is applied once and answers both', async () => {
    const r = recorder();
    const b = new MessageBatcher(r.apply, 10);
    expect(await Promise.all([b.submit('m'), b.submit('m')])).toEqual(['processed', 'processed']);
    expect(r.calls).toEqual([['m']]);
  });

  test('a lone failing message is rejected without a retry loop', async () => {
    const r = recorder(() => true);
    const b = new MessageBatcher(r.apply, 10);
    await expect(b.submit('only')).rejects.toThrow('cannot apply only');
    expect(r.calls).toEqual([['only']]);
  });
});
