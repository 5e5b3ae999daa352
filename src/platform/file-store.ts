/**
 * The platform's stored files (table platform_files, migration 120; spec §9, 9101/3202/9102): a 9101
 * upload, or a 3202's result. The only file that sends SQL to platform_files.
 */
import type { Sql } from '../db/db';

export interface PlatformFile {
  file_qury_no: string;
  kind: 'upload' | 'result';
  fixmedins_code: string;
  client_id: string;
  filename: string;
  zipped: boolean;
  content: Buffer;
  sha256: string;
  row_count: number;
  source_file: string | null;
  statement: Record<string, unknown> | null;
  created_at: Date;
  dld_endtime: Date;
}

export async function insertPlatformFile(q: Sql, f: PlatformFile): Promise<void> {
  await q.query(
    `INSERT INTO platform_files (file_qury_no, kind, fixmedins_code, client_id, filename, zipped, content, bytes, sha256, row_count, source_file, statement, created_at, dld_endtime)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      f.file_qury_no,
      f.kind,
      f.fixmedins_code,
      f.client_id,
      f.filename,
      f.zipped,
      f.content,
      f.content.length,
      f.sha256,
      f.row_count,
      f.source_file,
      f.statement === null ? null : JSON.stringify(f.statement),
      f.created_at,
      f.dld_endtime,
    ],
  );
}

export async function loadPlatformFile(q: Sql, fileQuryNo: string): Promise<PlatformFile | undefined> {
  const { rows } = await q.query<PlatformFile & { content: Buffer | Uint8Array }>(
    `SELECT file_qury_no, kind, fixmedins_code, client_id, filename, zipped, content, sha256, row_count, source_file, statement, created_at, dld_endtime
       FROM platform_files WHERE file_qury_no = $1`,
    [fileQuryNo],
  );
  const r = rows[0];
  // PGlite answers bytea as a Uint8Array, pg as a Buffer.
  return r ? { ...r, content: Buffer.isBuffer(r.content) ? r.content : Buffer.from(r.content) } : undefined;
}

/**
 * One 3202 at a time per statement group (an institution's dates): a transaction-scoped advisory
 * lock on the group key, the same kind of lock matching takes on its groups.
 */
export async function lockStatementGroup(q: Sql, groupKey: string): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [groupKey]);
}

/**
 * `gateway purge`: the files past their download deadline (dld_endtime before `asOf`; a 9102 answers
 * −1 for them already), in batches of `o.batch`, each its own short statement. Results first, then
 * uploads: an upload a result still downloadable names (source_file) stays until that result goes.
 * A dry run counts what would go and changes nothing.
 */
export async function purgeExpiredFiles(
  q: Sql,
  asOf: Date,
  o: { dryRun: boolean; batch: number; maxBatches: number },
): Promise<number> {
  // An upload may go when no result that stays (not expired) names it.
  const uploadGoes = `p.kind = 'upload' AND p.dld_endtime < $1 AND NOT EXISTS (SELECT 1 FROM platform_files r WHERE r.source_file = p.file_qury_no AND r.dld_endtime >= $1)`;
  if (o.dryRun) {
    const { rows } = await q.query<{ n: string }>(
      `SELECT count(*) AS n FROM platform_files p WHERE (p.kind = 'result' AND p.dld_endtime < $1) OR (${uploadGoes})`,
      [asOf],
    );
    return Number(rows[0]!.n);
  }
  let total = 0;
  for (const which of [`p.kind = 'result' AND p.dld_endtime < $1`, uploadGoes]) {
    for (let i = 0; i < o.maxBatches; i++) {
      const r = await q.query(
        `DELETE FROM platform_files WHERE file_qury_no IN (SELECT p.file_qury_no FROM platform_files p WHERE ${which} LIMIT $2)`,
        [asOf, o.batch],
      );
      total += r.rowCount;
      if (r.rowCount < o.batch) break;
    }
  }
  return total;
}
