/**
 * The feed spool's file descriptor is closed once. Destroying an fs read stream closes its descriptor
 * even with `autoClose: false`; the spool then closed it again, and a descriptor number is reused at
 * once, so the second close could shut whatever the process had opened meanwhile — on the embedded
 * database, one of PGlite's relation files ("could not seek to end of file … Bad file descriptor",
 * then a damaged data directory; found by test/e2e/journeys/demo-twice.test.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FeedSpool } from '../../src/ingest/feed-spool';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-spool-fd-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('when a spool on disk is read and disposed, then its descriptor is closed exactly once', async () => {
  const spool = new FeedSpool(dir, 0);
  await new Promise<void>((resolve, reject) =>
    spool.write(Buffer.from('{"settlements":[]}'), (e) => (e ? reject(e) : resolve())),
  );
  expect(spool.onDisk).toBe(true);
  const fd = (spool as unknown as { fd: number }).fd;
  const reader = spool.reader();
  reader.resume();
  await new Promise((r) => reader.once('end', r));

  // Observed, not replaced: every close still reaches the real fs.
  const closes = jest.spyOn(fs, 'close');
  try {
    await spool.dispose();
    expect(closes.mock.calls.filter(([n]) => n === fd)).toHaveLength(1);
  } finally {
    closes.mockRestore();
  }
});
