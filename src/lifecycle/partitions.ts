/**
 * Monthly partitions of `message_bodies` (migration 060): created ahead by a maintenance function in
 * the database, so a month's raw bodies always land in their own partition and can be dropped whole.
 */
import type { Sql } from '../db/db';

/** Months created ahead of the month of `at` (the month before it is created too). */
export const MONTHS_AHEAD = 3;

/** Create the partitions from the month before `at` to MONTHS_AHEAD months after it; returns how many were new. */
export async function ensureBodyPartitions(q: Sql, at: Date, monthsAhead = MONTHS_AHEAD): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT message_bodies_ensure_partitions($1, $2) AS n', [at, monthsAhead]);
  return Number(rows[0]?.n ?? 0);
}

export interface BodyPartition { name: string; from: Date; to: Date }

/** The monthly partitions of message_bodies with their bounds (the default partition is not listed). */
export async function listBodyPartitions(q: Sql): Promise<BodyPartition[]> {
  const { rows } = await q.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'message_bodies'::regclass ORDER BY c.relname`,
  );
  const out: BodyPartition[] = [];
  for (const r of rows) {
    const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(r.bound);
    if (m) out.push({ name: r.name, from: new Date(m[1]!), to: new Date(m[2]!) });
  }
  return out;
}
