/**
 * Worker process of the 'reconciliation' queue alone (`tsx workers/reconciliation.ts`):
 * reconciliation runs and the nightly scheduler's jobs (src/reconciliation/reconciliation-worker.ts).
 */
import { RECONCILIATION_QUEUE } from '../src/queue/queues';
import { runWorkers } from './run-workers';

runWorkers([RECONCILIATION_QUEUE]);
