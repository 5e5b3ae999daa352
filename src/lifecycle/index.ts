/** Data lifecycle (issue 7 of 7 §5): raw-body partitions and the purge. */
export { ensureBodyPartitions, listBodyPartitions, MONTHS_AHEAD, type BodyPartition } from './partitions';
export { purge, purgeDb, formatPurgeReport, type PurgeOptions, type PurgeReport } from './purge';
