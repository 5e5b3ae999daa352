/**
 * The benefit audit (spec §7) over the ledger: re-evaluates whole person-years and syncs one
 * discrepancy group per person-year. Re-evaluating the whole year is what makes arrival order
 * irrelevant: a late, earlier settlement or a reversal changes later settlements' cumulative base,
 * and their cases open, update or auto-resolve in the same pass. Running it twice changes nothing.
 */
import crypto from 'node:crypto';
import type { Db, Sql } from '../db/db';
import { syncGroups, type CaseGroup } from '../discrepancies/case-store';
import { evaluatePersonYear } from './engine';
import { databaseClock, lockAll, runChunks, tryLockAll } from '../db/advisory-locks';
import { UNREVERSED_MONTH } from '../ledger/benefit-read-model';
import { analyzeIfStale } from '../ledger/settlement-store';
import { loadPersonYears, parsePersonYear, personYearsOfMessages, type PersonYear } from './audit-records';
import { auditPersonYear, type SettlementBenefitRow } from './audit-findings';
import { derivationEvidence } from './findings';
import type { RegionPolicies } from './region-policy';

/** What the audit needs of the gateway (the composition root's Gateway has both). */
export interface AuditDeps {
  db: Db;
  regions: RegionPolicies;
}

export interface AuditOutcome {
  /** Person-years audited (not counting those found up to date). */
  person_years: number;
  /** Person-years another audit had read after the messages' facts were committed (left as they are). */
  up_to_date?: number;
  settlements: number;
  opened: number;
  updated: number;
  resolved: number;
}

const ADMDVS_PREFIX = /^[0-9]{2,6}$/;

/**
 * Person-years per transaction: few round trips for a 100,000-record feed, short lock holds (a chunk
 * of 250 commits in tens of milliseconds; each person-year's advisory lock is one of the lock
 * table's slots, ~6,400 by default for everyone); on the embedded database, whose one connection a
 * transaction holds, fewer (issue 12: reads got in only between chunks).
 */
const chunkFor = (db: Pick<Db, 'kind'>): number => (db.kind === 'pglite' ? 25 : 250);

/**
 * Re-evaluates the given person-years (subject keys `person:<region prefix>:<psn_no>:<year>`), in
 * key order, a chunk per transaction, each person-year under an advisory lock on its key so two
 * workers never interleave on one (locks taken in key order: no deadlock between chunks). Keys of
 * unknown regions, or of regions without benefit rules, are skipped. `asOf` stamps the cases and
 * the stored results.
 *
 * `factsAfter` (the audit of messages: a database time after their records were committed): a
 * person-year whose records another audit read after that time is left as it is (its results and
 * findings are what this audit would give: person_year_audits, migration 220). On PostgreSQL a
 * chunk whose locks another audit holds is then put off until the chunks nobody holds are done, by
 * when it is mostly up to date: two worker processes auditing the same people go on side by side,
 * each auditing what the other has not.
 */
export async function auditPersonYears(
  deps: AuditDeps,
  keys: readonly string[],
  asOf: Date,
  factsAfter?: string,
): Promise<AuditOutcome> {
  const out: AuditOutcome = { person_years: 0, up_to_date: 0, settlements: 0, opened: 0, updated: 0, resolved: 0 };
  const years = new Map<string, PersonYear>();
  for (const k of keys) {
    const py = parsePersonYear(deps.regions, k);
    if (py && py.policy.benefits !== null) years.set(py.key, py);
  }
  const sorted = [...years.keys()].sort().map((k) => years.get(k)!);
  if (sorted.length && deps.db.kind === 'pg') {
    // The person-year reads plan on settlement_records' statistics too: this job may come before matching's refresh.
    await analyzeIfStale(deps.db);
    await analyzeResultsIfStale(deps.db);
  }
  const size = chunkFor(deps.db);
  const chunks: PersonYear[][] = [];
  for (let i = 0; i < sorted.length; i += size) chunks.push(sorted.slice(i, i + size));
  const defer = factsAfter !== undefined && deps.db.kind === 'pg';
  // Lanes of every other chunk side by side (each chunk its own transaction and connection), so that
  // one chunk's rules run while PostgreSQL stores another's: a single lane left a core idle in turn.
  const lanes = deps.db.kind === 'pg' ? Math.min(AUDIT_LANES, chunks.length) : 1;
  await Promise.all(
    Array.from({ length: lanes }, (_, lane) =>
      runChunks(
        chunks.filter((_, i) => i % lanes === lane),
        (chunk, wait) => auditChunk(deps, chunk, asOf, factsAfter, out, defer && !wait),
      ),
    ),
  );
  return out;
}

/**
 * Chunks of one audit in flight at once on PostgreSQL. Their person-years are disjoint and each
 * takes its locks in lock-key order, as two worker processes' audits already do side by side.
 */
const AUDIT_LANES = 2;

/** One chunk in one transaction; false (and nothing done) if `tryOnly` and another audit holds one of its locks. */
async function auditChunk(
  deps: AuditDeps,
  all: readonly PersonYear[],
  asOf: Date,
  factsAfter: string | undefined,
  out: AuditOutcome,
  tryOnly: boolean,
): Promise<boolean> {
  return deps.db.tx(async (q) => {
    const keys = all.map((py) => py.key);
    const locks = keys.map((k) => `py:${k}`);
    if (tryOnly) {
      if (!(await tryLockAll(q, locks))) return false;
    } else await lockAll(q, locks);
    const marks = await readAuditMarks(q, keys, factsAfter);
    const chunk = marks.fresh.size ? all.filter((py) => !marks.fresh.has(py.key)) : all;
    out.up_to_date = (out.up_to_date ?? 0) + all.length - chunk.length;
    if (!chunk.length) return true;
    const records = await loadPersonYears(q, deps.regions, chunk);
    const results: PersonYearRows[] = [];
    const groups: CaseGroup[] = [];
    for (const py of chunk) {
      const recs = records.get(py.key)!;
      const result = evaluatePersonYear(py.policy, py.year, recs);
      const audit = auditPersonYear(py, recs, result);
      groups.push({ groupKey: py.key, findings: audit.findings });
      results.push({ py, rows: audit.rows });
      out.person_years++;
      out.settlements += recs.length;
    }
    // One sync for the chunk: every case row locked first, the audit chain's lock last (one lock order).
    const sync = await syncGroups(q, groups, asOf);
    out.opened += sync.opened.length;
    out.updated += sync.updated.length;
    out.resolved += sync.resolved.length;
    await storeResults(q, chunk, results, asOf);
    await writeAuditMarks(
      q,
      chunk.map((py) => py.key),
      marks.readAt,
    );
    return true;
  });
}

/**
 * Under the person-years' locks, before their records are read: which of them another audit read
 * after `factsAfter` (none without it), and the database's clock now (this audit's facts_read_at;
 * as PostgreSQL prints it, exact to the microsecond).
 */
async function readAuditMarks(
  q: Sql,
  keys: readonly string[],
  factsAfter: string | undefined,
): Promise<{ fresh: Set<string>; readAt: string }> {
  const { rows } = await q.query<{ person_year: string | null; read_at: string }>(
    `SELECT a.person_year, c.read_at FROM (SELECT clock_timestamp()::text AS read_at) c
       LEFT JOIN person_year_audits a ON $2::timestamptz IS NOT NULL AND a.person_year = ANY($1::text[]) AND a.facts_read_at > $2::timestamptz`,
    [keys, factsAfter ?? null],
  );
  return {
    fresh: new Set(rows.flatMap((r) => (r.person_year === null ? [] : [r.person_year]))),
    readAt: rows[0]!.read_at,
  };
}

async function writeAuditMarks(q: Sql, keys: readonly string[], readAt: string): Promise<void> {
  await q.query(
    `INSERT INTO person_year_audits (person_year, facts_read_at) SELECT k, $2::timestamptz FROM unnest($1::text[]) AS k
     ON CONFLICT (person_year) DO UPDATE SET facts_read_at = EXCLUDED.facts_read_at`,
    [keys, readAt],
  );
}

/**
 * The audit of agency feed messages: every person-year their records touched, each once.
 * `factsAfter`: a database time after the messages' records were committed (databaseClock when their
 * jobs arrived); else the clock now, which is after them too.
 */
export async function auditMessages(
  deps: AuditDeps,
  messageIds: readonly string[],
  asOf: Date,
  factsAfter?: string,
): Promise<AuditOutcome> {
  const after = factsAfter ?? (deps.db.kind === 'pg' ? await databaseClock(deps.db) : undefined);
  const keys = await personYearsOfMessages(deps.db, deps.regions, messageIds);
  return auditPersonYears(deps, keys, asOf, after);
}

/** The latest of database times (as databaseClock gives them). */
export async function latestTime(db: Pick<Db, 'query'>, times: readonly string[]): Promise<string> {
  if (times.length === 1) return times[0]!;
  return (await db.query<{ t: string }>('SELECT max(t)::text AS t FROM unnest($1::timestamptz[]) AS t', [times]))
    .rows[0]!.t;
}

/** The audit of one agency feed message: every person-year its records touched. */
export function auditMessage(deps: AuditDeps, messageId: string, asOf: Date): Promise<AuditOutcome> {
  return auditMessages(deps, [messageId], asOf);
}

/** A person-year's rows as the audit computed them. */
interface PersonYearRows {
  py: PersonYear;
  rows: SettlementBenefitRow[];
}

/**
 * A month's feed grows settlement_benefits faster than autovacuum analyses it: until then the
 * planner takes the young table for the empty one it was and reads it by sequential scan per chunk
 * (a 100k month: the stored-result read of storeResults was its most sampled statement). Its
 * statistics are refreshed when the rows changed since the last ANALYZE outnumber those it counted
 * (and 10,000): a plan's shape changes with the order of magnitude, not with 20% more rows.
 */
async function analyzeResultsIfStale(db: Db): Promise<void> {
  const { rows } = await db.query(
    `SELECT 1 FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.relid = 'settlement_benefits'::regclass AND s.n_mod_since_analyze > greatest(10000, c.reltuples)`,
  );
  if (!rows.length) return;
  // One at a time: a worker that finds another one analysing goes on without.
  await db.tx(async (q) => {
    const lock = await q.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_xact_lock(hashtextextended('analyze:settlement_benefits', 0)) AS ok`,
    );
    if (lock.rows[0]!.ok) await q.query('ANALYZE settlement_benefits');
  });
}

/**
 * A stored result as a JSON object: every column but evaluated_at, result_sha and derivation (the
 * fields STORED_RECORD names). With the derivation's JSON, what the digest covers.
 */
const resultJson = (r: SettlementBenefitRow, py: PersonYear): string =>
  JSON.stringify({
    setl_id: r.setl_id,
    person_year: py.key,
    region: py.policy.id,
    benefit_year: py.year,
    admdvs: r.admdvs,
    period: r.period,
    checked: r.checked,
    unchecked_reason: r.unchecked_reason,
    expected_amount: r.expected_amount,
    actual_amount: r.actual_amount,
    difference: r.difference,
    tolerance: r.tolerance,
    deviates: r.deviates,
  });

/** The fields of a row of the JSON parameter: resultJson's, then result_sha and the derivation. */
const STORED_RECORD = `v(setl_id text, person_year text, region text, benefit_year int, admdvs text, period text, checked boolean,
  unchecked_reason text, expected_amount numeric, actual_amount numeric, difference numeric, tolerance numeric, deviates boolean,
  result_sha text, derivation text)`;

/**
 * Replaces the stored results of the person-years (settlements that left one lose theirs), writing
 * only what changed: a re-audited person-year mostly gives the rows it gave last time (migration 170).
 * Afterwards the table holds exactly `rows` for these person-years and setl_ids, as a DELETE of
 * them all and an INSERT of `rows` would leave it, but for evaluated_at of the unchanged rows.
 * Equal digests (every column but evaluated_at), equal rows: such a row is left as it is.
 *
 * The stored digests are read by person-year only: a row stored under another person-year has
 * another digest (person_year is part of what it covers), so it is written either way — the upsert
 * on setl_id moves it — and it is not one of these person-years' rows to delete.
 */
async function storeResults(q: Sql, pys: readonly PersonYear[], results: PersonYearRows[], at: Date): Promise<void> {
  const { rows: stored } = await q.query<{ setl_id: string; result_sha: string | null }>(
    'SELECT setl_id, result_sha FROM settlement_benefits WHERE person_year = ANY($1::text[])',
    [pys.map((p) => p.key)],
  );
  const storedSha = new Map(stored.map((s) => [s.setl_id, s.result_sha]));
  const fresh = new Set(results.flatMap((x) => x.rows.map((r) => r.setl_id)));
  const gone = stored.filter((s) => !fresh.has(s.setl_id)).map((s) => s.setl_id);
  if (gone.length) await q.query('DELETE FROM settlement_benefits WHERE setl_id = ANY($1::text[])', [gone]);
  // The changed rows as one JSON parameter (node-pg would escape every element of 15 array
  // parameters in JavaScript, and PostgreSQL reads a jsonb[] parameter 3-5x slower than json). The
  // derivation is read as text and cast: a jsonb column of json_to_recordset is ~5x slower (1,000
  // rows: 45 against 9 ms; the insert 163 against 35-57 ms).
  let changed = '';
  for (const { py, rows } of results) {
    for (const r of rows) {
      const head = resultJson(r, py);
      const derivation = r.derivation === null ? 'null' : JSON.stringify(derivationEvidence(r.derivation));
      // The digest of the object's JSON followed by the derivation's (as taken since migration 170).
      const sha = crypto.hash('sha256', head + derivation, 'base64url');
      if (storedSha.get(r.setl_id) !== sha)
        changed += `${changed ? ',' : ''}${head.slice(0, -1)},"result_sha":"${sha}","derivation":${derivation}}`;
    }
  }
  if (!changed) return;
  await q.query(
    `INSERT INTO settlement_benefits (setl_id, person_year, region, benefit_year, admdvs, period, checked, unchecked_reason,
       expected_amount, actual_amount, difference, tolerance, deviates, derivation, result_sha, evaluated_at)
     SELECT setl_id, person_year, region, benefit_year, admdvs, period, checked, unchecked_reason, expected_amount, actual_amount,
       difference, tolerance, deviates, derivation::jsonb, result_sha, $1::timestamptz FROM json_to_recordset($2::json) AS ${STORED_RECORD}
     ON CONFLICT (setl_id) DO UPDATE SET person_year = EXCLUDED.person_year, region = EXCLUDED.region, benefit_year = EXCLUDED.benefit_year,
       admdvs = EXCLUDED.admdvs, period = EXCLUDED.period, checked = EXCLUDED.checked, unchecked_reason = EXCLUDED.unchecked_reason,
       expected_amount = EXCLUDED.expected_amount, actual_amount = EXCLUDED.actual_amount, difference = EXCLUDED.difference,
       tolerance = EXCLUDED.tolerance, deviates = EXCLUDED.deviates, derivation = EXCLUDED.derivation, result_sha = EXCLUDED.result_sha,
       evaluated_at = EXCLUDED.evaluated_at`,
    [at, `[${changed}]`],
  );
}

export interface BenefitSummary {
  checked: number;
  unchecked: number;
  deviations: number;
}

/**
 * Counts for a reconciliation run (spec §7): the region-period's valid settlements, checked by the
 * rules or not (no large-expense setldetail entry, a region without rules, or not audited yet), and
 * those whose hifob_pay deviates. Reversed settlements are not counted: they owe nothing.
 */
export async function benefitSummary(db: Sql, admdvsPrefix: string, period: string): Promise<BenefitSummary> {
  if (!ADMDVS_PREFIX.test(admdvsPrefix))
    throw new RangeError(`admdvs prefix must be 2–6 digits (got "${admdvsPrefix}")`);
  // One statement: the month (the ledger's fragment) left-joined with its stored results.
  const { rows } = await db.query<{ total: string; checked: string; deviations: string }>(
    `SELECT count(*) AS total, count(*) FILTER (WHERE b.checked) AS checked, count(*) FILTER (WHERE b.deviates) AS deviations
       FROM (${UNREVERSED_MONTH}) m LEFT JOIN settlement_benefits b ON b.setl_id = m.setl_id`,
    [admdvsPrefix, period],
  );
  const r = rows[0]!;
  const [total, checked, deviations] = [Number(r.total), Number(r.checked), Number(r.deviations)];
  return { checked, unchecked: total - checked, deviations };
}
