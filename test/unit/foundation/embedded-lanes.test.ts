import { EmbeddedLanes } from '../../../src/db/embedded-lanes';

/** An operation that records when it starts and finishes only when the test says so. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const done = new Promise<void>((r) => {
    open = r;
  });
  return {
    f: async () => {
      log.push(name);
      await done;
      return name;
    },
    open,
  };
}

/** Lets the lanes start what is next (they start each operation from a macrotask). */
const tick = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

test('when transactions are queued behind a running one, then a statement submitted later runs before them', async () => {
  const lanes = new EmbeddedLanes(1_000, () => 0);
  const log: string[] = [];
  const t1 = gate(log, 'tx1'),
    t2 = gate(log, 'tx2'),
    s = gate(log, 'read');
  const p1 = lanes.run('tx', t1.f),
    p2 = lanes.run('tx', t2.f),
    p3 = lanes.run('statement', s.f);
  await tick();
  expect(log).toEqual(['tx1']);
  t1.open();
  await p1;
  await tick();
  expect(log).toEqual(['tx1', 'read']);
  s.open();
  await p3;
  await tick();
  expect(log).toEqual(['tx1', 'read', 'tx2']);
  t2.open();
  await p2;
});

test('when a transaction has waited the longest wait, then it runs before statements queued with it', async () => {
  let now = 0;
  const lanes = new EmbeddedLanes(1_000, () => now);
  const log: string[] = [];
  const running = gate(log, 'tx1'),
    starving = gate(log, 'tx2'),
    r1 = gate(log, 'read1'),
    r2 = gate(log, 'read2');
  const p1 = lanes.run('tx', running.f),
    p2 = lanes.run('tx', starving.f);
  const p3 = lanes.run('statement', r1.f),
    p4 = lanes.run('statement', r2.f);
  now = 1_500;
  running.open();
  await p1;
  await tick();
  expect(log).toEqual(['tx1', 'tx2']);
  starving.open();
  r1.open();
  r2.open();
  await Promise.all([p2, p3, p4]);
  expect(log).toEqual(['tx1', 'tx2', 'read1', 'read2']);
});

test('when an operation fails or throws at once, then its caller gets the error and the next one runs', async () => {
  const lanes = new EmbeddedLanes();
  await expect(
    lanes.run('tx', async () => {
      throw new Error('rolled back');
    }),
  ).rejects.toThrow('rolled back');
  await expect(
    lanes.run('statement', () => {
      throw new Error('sync');
    }),
  ).rejects.toThrow('sync');
  await expect(lanes.run('statement', async () => 42)).resolves.toBe(42);
  expect(lanes.waiting).toEqual({ statements: 0, txs: 0 });
});

test('when many operations are submitted at once, then they run one at a time and each exactly once', async () => {
  const lanes = new EmbeddedLanes(5);
  let running = 0,
    most = 0;
  const ran: number[] = [];
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      lanes.run(i % 3 ? 'statement' : 'tx', async () => {
        running++;
        most = Math.max(most, running);
        await tick();
        ran.push(i);
        running--;
      }),
    ),
  );
  expect(most).toBe(1);
  expect([...ran].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
});

test('when operations follow one another, then timers and I/O get a turn between them', async () => {
  const lanes = new EmbeddedLanes();
  let timerRan = false;
  let seenBeforeLast = false;
  setTimeout(() => {
    timerRan = true;
  }, 0);
  const ops = Array.from({ length: 50 }, (_, i) =>
    lanes.run('tx', async () => {
      // PGlite-like: settles at once, no I/O.
      if (i === 49) seenBeforeLast = timerRan;
    }),
  );
  await Promise.all(ops);
  expect(seenBeforeLast).toBe(true);
});
