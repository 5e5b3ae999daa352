/**
 * Fund-year statements in the database: the only module that sends SQL to `fund_statements`. A
 * statement is created with its job in the outbox (one transaction), so a 202 always means "will be
 * computed"; the relay queues it on 'reconciliation' (kind fund_statement, jobId = statement_id).
 *
 * Two clocks as reconciliation runs (spec §5): a statement asked for without known_at gets the start
 * of its computation; one whose known_at lies before that start is `report_only` (it reproduces the
 * figures and changes no case).
 */
import { v7 as uuidv7 } from 'uuid';
import type { Sql } from '../db/db';
import { RECONCILIATION_QUEUE } from '../queue/queue-names';
import { enqueueJob } from '../queue/outbox';

export type StatementStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface StatementRow {
  statement_id: string;
  admdvs: string;
  fund_year: number;
  as_of: Date;
  known_at: Date | null;
  report_only: boolean;
  opening_balance: string | null;
  status: StatementStatus;
  trigger: 'api' | 'nightly' | 'cli';
  requested_by: string;
  figures: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface NewStatement {
  admdvs: string;
  fundYear: number;
  asOf: Date;
  knownAt?: Date;
  openingBalance?: string;
  trigger: StatementRow['trigger'];
  requestedBy: string;
  at: Date;
}

/** The job a statement's outbox row carries (the reconciliation queue's `fund_statement` kind). */
export interface FundStatementJob {
  kind: 'fund_statement';
  statement_id: string;
}

const COLUMNS = `statement_id, admdvs, fund_year, as_of, known_at, report_only, opening_balance::text AS opening_balance, status, trigger,
  requested_by, figures, summary, error, created_at, started_at, finished_at`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function createStatement(
  db: { tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> },
  s: NewStatement,
): Promise<StatementRow> {
  return db.tx(async (q) => {
    const id = uuidv7();
    const { rows } = await q.query<StatementRow>(
      `INSERT INTO fund_statements (statement_id, admdvs, fund_year, as_of, known_at, opening_balance, status, trigger, requested_by, created_at)
       VALUES ($1,$2,$3,$4,$5,$6,'queued',$7,$8,$9) RETURNING ${COLUMNS}`,
      [id, s.admdvs, s.fundYear, s.asOf, s.knownAt ?? null, s.openingBalance ?? null, s.trigger, s.requestedBy, s.at],
    );
    const job: FundStatementJob & { job_id: string } = { kind: 'fund_statement', statement_id: id, job_id: id };
    await enqueueJob(q, RECONCILIATION_QUEUE, job, id);
    return rows[0]!;
  });
}

export async function getStatement(q: Sql, id: string): Promise<StatementRow | undefined> {
  if (!UUID.test(id)) return undefined;
  const { rows } = await q.query<StatementRow>(`SELECT ${COLUMNS} FROM fund_statements WHERE statement_id = $1`, [id]);
  return rows[0];
}

/**
 * Claims a statement for the worker (a completed or failed one is not claimed again). The default
 * known_at is the start rounded up to the second, as a run's (the wire form has whole seconds).
 */
export async function startStatement(q: Sql, id: string, at: Date): Promise<StatementRow | undefined> {
  const knownAt = new Date(Math.ceil(at.getTime() / 1000) * 1000);
  const { rows } = await q.query<StatementRow>(
    `UPDATE fund_statements SET status = 'running', started_at = coalesce(started_at, $2), error = NULL,
            known_at = coalesce(known_at, $3), report_only = coalesce(known_at < coalesce(started_at, $2), false)
      WHERE statement_id = $1 AND status IN ('queued','running') RETURNING ${COLUMNS}`,
    [id, at, knownAt],
  );
  return rows[0];
}

export async function completeStatement(q: Sql, id: string, figures: object, summary: object, at: Date): Promise<void> {
  await q.query(
    `UPDATE fund_statements SET status = 'completed', figures = $2, summary = $3, finished_at = $4, error = NULL WHERE statement_id = $1`,
    [id, JSON.stringify(figures), JSON.stringify(summary), at],
  );
}

/**
 * The nightly run asks for two statements a night per region (this fund year and the last): each one
 * completed replaces the region-year's earlier nightly statements (completed or failed; one still
 * queued or running is left to finish), so the table holds one nightly statement per region-year
 * however many nights pass. Statements asked for through the API or the CLI are kept: someone may
 * hold their id. Runs in the completing statement's transaction; returns how many went.
 */
export async function replaceEarlierNightly(
  q: Sql,
  st: Pick<StatementRow, 'statement_id' | 'admdvs' | 'fund_year' | 'created_at'>,
): Promise<number> {
  const r = await q.query(
    `DELETE FROM fund_statements
      WHERE trigger = 'nightly' AND admdvs = $1 AND fund_year = $2 AND statement_id <> $3
        AND status IN ('completed','failed') AND created_at <= $4`,
    [st.admdvs, st.fund_year, st.statement_id, st.created_at],
  );
  return r.rowCount ?? 0;
}

export async function failStatement(q: Sql, id: string, error: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE fund_statements SET status = 'failed', error = $2, finished_at = $3 WHERE statement_id = $1 AND status <> 'completed'`,
    [id, error.slice(0, 2000), at],
  );
}

/** The closing balance of the latest completed statement of the region's fund year (the next year's opening balance). */
export async function previousClosingBalance(q: Sql, admdvs: string, fundYear: number): Promise<string | undefined> {
  const { rows } = await q.query<{ closing: string | null }>(
    `SELECT figures->'region'->>'closing_balance' AS closing FROM fund_statements
      WHERE admdvs = $1 AND fund_year = $2 AND status = 'completed' ORDER BY finished_at DESC LIMIT 1`,
    [admdvs, fundYear],
  );
  return rows[0]?.closing ?? undefined;
}

/**
 * The latest completed statement of each region-year (GET /v1/fund-statements, the console's fund-year
 * page), newest fund year first: inside `admdvsPrefixes` (the caller's scope; undefined: all), under
 * the `admdvs` prefix and of the `fundYear` asked for, when given.
 */
export async function latestStatements(
  q: Sql,
  admdvsPrefixes: readonly string[] | undefined,
  filter: { admdvs?: string; fundYear?: number } = {},
  limit = 50,
): Promise<StatementRow[]> {
  const { rows } = await q.query<StatementRow>(
    `SELECT * FROM (
       SELECT DISTINCT ON (admdvs, fund_year) ${COLUMNS} FROM fund_statements
        WHERE status = 'completed' AND ($1::text[] IS NULL OR admdvs LIKE ANY($1::text[]))
          AND ($2::text IS NULL OR admdvs LIKE $2) AND ($3::int IS NULL OR fund_year = $3)
        ORDER BY admdvs, fund_year, finished_at DESC) latest
      ORDER BY fund_year DESC, admdvs LIMIT $4`,
    [
      admdvsPrefixes ? admdvsPrefixes.map((p) => `${p}%`) : null,
      filter.admdvs ? `${filter.admdvs}%` : null,
      filter.fundYear ?? null,
      limit,
    ],
  );
  return rows;
}
