/**
 * Worker process of the 'notifications' queue alone (`tsx workers/notifications.ts`):
 * critical cases and run digests, fanned out to subscribers (src/notifications/fan-out.ts).
 */
import { NOTIFICATIONS_QUEUE } from '../src/queue/queues';
import { runWorkers } from './run-workers';

runWorkers([NOTIFICATIONS_QUEUE]);
