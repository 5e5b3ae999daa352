/**
 * Worker process entry point (`npm run start:worker`, docker-compose's `worker` service): every
 * queue's worker, no API. workers/<queue>.ts runs one queue's worker alone, to scale it apart.
 */
import { runWorkers } from './run-workers';

runWorkers();
