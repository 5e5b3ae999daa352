/**
 * Worker process of the 'benefits' queue alone (`tsx workers/benefits.ts`):
 * the benefit audit of each agency settlement feed (src/benefits/benefit-worker.ts).
 */
import { BENEFITS_QUEUE } from '../src/queue/queues';
import { runWorkers } from './run-workers';

runWorkers([BENEFITS_QUEUE]);
