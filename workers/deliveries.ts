/**
 * Worker process of the 'deliveries' queue alone (`tsx workers/deliveries.ts`):
 * webhook deliveries with their retry schedule (src/notifications/delivery-worker.ts).
 */
import { DELIVERIES_QUEUE } from '../src/queue/queues';
import { runWorkers } from './run-workers';

runWorkers([DELIVERIES_QUEUE]);
