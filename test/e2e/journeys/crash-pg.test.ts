/** Journey: kill -9 in the middle of a stream of signed payments, on the PostgreSQL database (crash-journey.ts). */
import { crashJourney } from './crash-journey';

// Generous: a fresh embedded database takes a while to initialise on a loaded machine, and after the
// kill BullMQ takes about a minute to find the dead worker's jobs stalled.
jest.setTimeout(400_000);

describe('on the pg database', () => crashJourney('pg'));
