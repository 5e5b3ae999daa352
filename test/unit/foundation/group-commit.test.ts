/**
 * The group committer of the write path (src/ingest/group-commit.ts), with fake commit functions:
 * what arrives together is written together, items sharing a key never travel together and keep
 * their order, limits hold, and a failed group is retried item by item.
 */
import { GroupCommit, type GroupLimits, type ItemShape } from '../../../src/ingest/group-commit';

interface Item {
  id: string;
  group?: string;
  keys?: string[];
  bytes?: number;
  bad?: boolean;
}

const shape = (it: Item): ItemShape => ({ group: it.group ?? 'g', keys: it.keys ?? [it.id], bytes: it.bytes ?? 1 });
const limits = (o: Partial<GroupLimits> = {}): GroupLimits => ({
  maxItems: 64,
  maxBytes: 1 << 20,
  maxInFlight: 1,
  ...o,
});

function committer(o: Partial<GroupLimits> = {}, delayMs = 5) {
  const groups: string[][] = [];
  const singles: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const gc = new GroupCommit<Item, string>(
    async (items) => {
      groups.push(items.map((i) => i.id));
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, delayMs));
      running--;
      if (items.length > 1 && items.some((i) => i.bad)) throw new Error('the group failed');
      return items.map((i) => (i.bad ? new Error(`${i.id} is bad`) : `ok:${i.id}`));
    },
    async (item) => {
      singles.push(item.id);
      if (item.bad) throw new Error(`${item.id} is bad`);
      return `one:${item.id}`;
    },
    shape,
    limits(o),
  );
  return { gc, groups, singles, maxRunning: () => maxRunning };
}

describe('GroupCommit', () => {
  test('items submitted in the same turn are written as one group, each gets its own outcome', async () => {
    const c = committer();
    const out = await Promise.all(['a', 'b', 'c'].map((id) => c.gc.submit({ id })));
    expect(out).toEqual(['ok:a', 'ok:b', 'ok:c']);
    expect(c.groups).toEqual([['a', 'b', 'c']]);
  });

  test('items that arrive while a group is in flight leave together as the next group', async () => {
    const c = committer({ maxInFlight: 1 }, 20);
    const first = c.gc.submit({ id: 'a' });
    await new Promise((r) => setTimeout(r, 5));
    const later = ['b', 'c', 'd'].map((id) => c.gc.submit({ id }));
    await Promise.all([first, ...later]);
    expect(c.groups).toEqual([['a'], ['b', 'c', 'd']]);
  });

  test('two items sharing a key are never in one group, and the later one waits for the earlier', async () => {
    const c = committer({ maxInFlight: 2 });
    const order: string[] = [];
    const items: Item[] = [
      { id: 'a1', keys: ['K'] },
      { id: 'b', keys: ['B'] },
      { id: 'a2', keys: ['K'] },
      { id: 'c', keys: ['C'] },
      { id: 'a3', keys: ['X', 'K'] },
    ];
    await Promise.all(items.map((it) => c.gc.submit(it).then(() => order.push(it.id))));
    expect(c.groups).toEqual([['a1', 'b', 'c'], ['a2'], ['a3']]);
    expect(order.indexOf('a1')).toBeLessThan(order.indexOf('a2'));
    expect(order.indexOf('a2')).toBeLessThan(order.indexOf('a3'));
  });

  test('an item passed over keeps later items with its keys behind it', async () => {
    const c = committer({ maxInFlight: 2 });
    // p1 goes first; q (another group) is passed over; r shares q's key, so it must not overtake q.
    const items: Item[] = [
      { id: 'p1', group: 'P' },
      { id: 'q', group: 'Q', keys: ['S'] },
      { id: 'r', group: 'P', keys: ['S'] },
    ];
    await Promise.all(items.map((it) => c.gc.submit(it)));
    expect(c.groups).toEqual([['p1'], ['q'], ['r']]);
  });

  test('items of different groups are never written together', async () => {
    const c = committer({ maxInFlight: 1 });
    await Promise.all(
      [
        { id: 'a', group: 'x' },
        { id: 'b', group: 'y' },
        { id: 'c', group: 'x' },
      ].map((it) => c.gc.submit(it)),
    );
    expect(c.groups).toEqual([['a', 'c'], ['b']]);
  });

  test('a group never exceeds its item or byte limit, and an oversized item goes alone', async () => {
    const c = committer({ maxItems: 3, maxBytes: 10 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => c.gc.submit({ id: `m${i}`, bytes: 1 })));
    expect(c.groups.map((g) => g.length)).toEqual([3, 3, 1]);
    const d = committer({ maxBytes: 10 });
    await Promise.all(
      [
        { id: 'big', bytes: 50 },
        { id: 's1', bytes: 4 },
        { id: 's2', bytes: 4 },
        { id: 's3', bytes: 4 },
      ].map((it) => d.gc.submit(it)),
    );
    expect(d.groups).toEqual([['big'], ['s1', 's2'], ['s3']]);
  });

  test('no more groups than allowed are in flight at once', async () => {
    const c = committer({ maxItems: 1, maxInFlight: 2 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => c.gc.submit({ id: `m${i}` })));
    expect(c.groups).toHaveLength(8);
    expect(c.maxRunning()).toBe(2);
  });

  test('when a group fails, each of its items is written alone in arrival order and only the bad one fails', async () => {
    const c = committer();
    const out = await Promise.allSettled(['a', 'bad', 'c'].map((id) => c.gc.submit({ id, bad: id === 'bad' })));
    expect(out.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
      'one:a',
      'bad is bad',
      'one:c',
    ]);
    expect(c.groups).toEqual([['a', 'bad', 'c']]);
    expect(c.singles).toEqual(['a', 'bad', 'c']);
  });

  test('when a group of one fails, its item fails without a second attempt', async () => {
    const gc = new GroupCommit<Item, string>(
      async () => {
        throw new Error('down');
      },
      async () => 'never',
      shape,
      limits(),
    );
    await expect(gc.submit({ id: 'a' })).rejects.toThrow('down');
  });

  test('an Error outcome fails that item alone', async () => {
    const gc = new GroupCommit<Item, string>(
      async (items) => items.map((i) => (i.id === 'b' ? new Error('no such key') : i.id)),
      async () => 'never',
      shape,
      limits(),
    );
    const out = await Promise.allSettled(['a', 'b', 'c'].map((id) => gc.submit({ id })));
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  test('keys are released after a group, so the next item with the same key is written', async () => {
    const c = committer();
    expect(await c.gc.submit({ id: 'a', keys: ['K'] })).toBe('ok:a');
    expect(await c.gc.submit({ id: 'b', keys: ['K'] })).toBe('ok:b');
    const failed = committer();
    await Promise.allSettled([
      failed.gc.submit({ id: 'x', keys: ['K'], bad: true }),
      failed.gc.submit({ id: 'y', keys: ['L'] }),
    ]);
    expect(await failed.gc.submit({ id: 'z', keys: ['K'] })).toBe('ok:z');
  });
});
