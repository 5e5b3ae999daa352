/**
 * Monthly partitions of `message_bodies` (migration 060). The message log owns them
 * (src/ingest/message-store.ts); the lifecycle creates them ahead and drops expired ones through it.
 */
export { ensureBodyPartitions, listBodyPartitions, MONTHS_AHEAD, type BodyPartition } from '../ingest/message-store';
