/**
 * Worker thread of the agency feed (started by feed-workers.ts): checks NDJSON batches with the same
 * code the main thread would run (feed-records.ts) and answers each with its prepared rows. Holds no
 * state between batches but the compiled schemas.
 */
import { parentPort } from 'node:worker_threads';
import { SchemaValidator } from '../schemas/validator';
import { prepareLines } from './feed-records';
import type { FeedJob, FeedReply } from './feed-workers';

const validator = new SchemaValidator();
const validate = validator.validate.bind(validator);

parentPort!.on('message', (job: FeedJob & { id: number }) => {
  let reply: FeedReply;
  try {
    const text = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength).toString('utf8');
    reply = { id: job.id, batch: prepareLines(text, job.start, job.client, validate, job.lang) };
  } catch (e) {
    reply = { id: job.id, error: (e as Error).stack ?? String(e) };
  }
  parentPort!.postMessage(reply);
});
