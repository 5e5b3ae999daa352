/**
 * Worker process of the 'recheck' queue alone (`tsx workers/recheck.ts`):
 * settlement re-checks when a due date lapses or a grace period expires (src/matching/matching-service.ts).
 */
import { RECHECK_QUEUE } from '../src/queue/queues';
import { runWorkers } from './run-workers';

runWorkers([RECHECK_QUEUE]);
