/** The one worker wrapper (src/queue/start-worker.ts) and the worker entry points (workers/). */
import fs from 'node:fs';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { failedForGood } from '../../../src/queue/start-worker';
import { QUEUE_NAMES } from '../../../src/queue/queue-names';

const job = (attemptsMade: number, attempts?: number) =>
  ({ attemptsMade, opts: attempts === undefined ? {} : { attempts } }) as unknown as Job;
const STALLED = new Error('job stalled more than allowable limit');

describe('a failed job', () => {
  it('will be retried while it has attempts left', () => {
    expect(failedForGood(job(1, 3), new Error('boom'))).toBe(false);
  });
  it('failed for good once its last attempt failed, or with one attempt only', () => {
    expect(failedForGood(job(3, 3), new Error('boom'))).toBe(true);
    expect(failedForGood(job(1), new Error('boom'))).toBe(true);
  });
  it('failed for good at once when unrecoverable', () => {
    expect(failedForGood(job(1, 10), new UnrecoverableError('no such message'))).toBe(true);
  });
  it('failed as stalled is judged by its attempts, and never final where something else re-queues it (ingest: the outbox relay)', () => {
    expect(failedForGood(job(1, 10), STALLED)).toBe(false);
    expect(failedForGood(job(10, 10), STALLED)).toBe(true);
    expect(failedForGood(job(10, 10), STALLED, true)).toBe(false);
  });
});

describe('workers/', () => {
  const dir = path.resolve(__dirname, '../../../workers');
  it.each([...QUEUE_NAMES])('has an entry point that starts the %s queue alone', (name) => {
    const file = path.join(dir, `${name}.ts`);
    expect(fs.existsSync(file)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/runWorkers\(\[[A-Z_]+_QUEUE\]\)/);
  });
  it('has all.ts, which starts every queue', () => {
    expect(fs.readFileSync(path.join(dir, 'all.ts'), 'utf8')).toMatch(/runWorkers\(\)/);
  });
});
