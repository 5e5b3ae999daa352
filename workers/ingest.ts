/**
 * Worker process of the 'ingest' queue alone (`tsx workers/ingest.ts`):
 * accepted messages, each handed to the handler of its kind (matching), its outcome recorded in the
 * message log (src/queue/ingest-worker.ts; the handler map is in src/composition-root.ts).
 */
import { INGEST_QUEUE } from '../src/queue/queues';
import { runWorkers } from './run-workers';

runWorkers([INGEST_QUEUE]);
